/*
 * tdx-emu: access to TD-private buffers that TDCALL operands point to
 *
 * TDCALL buffer operands are private GPAs (TDX module ABI: "without the
 * shared bit") and must be backed by the TD's memory. A GPA with the shared
 * bit, or one that reaches MMIO or unbacked space, is an invalid operand.
 * A page the TD has not accepted is an EPT violation on the TDCALL, as the
 * module walks the operand (ve.c, tdx_emu_ve_operand()).
 * Buffers a TD shares with the VMM through a TDG.VP.VMCALL are read the
 * same way, from RAM only.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"

/* Whether [gpa, gpa + len) is one RAM region (writable if @write) */
static bool range_is_ram(uint64_t gpa, size_t len, bool write)
{
    MemoryRegionSection section;
    bool ok;

    section = memory_region_find(get_system_memory(), gpa, len);
    if (!section.mr) {
        return false;
    }
    ok = memory_region_is_ram(section.mr) &&
         !(write && memory_region_is_rom(section.mr)) &&
         int128_get64(section.size) == len;
    memory_region_unref(section.mr);
    return ok;
}

static bool private_range_is_ram(TdxEmuState *s, X86CPU *cpu, uint64_t gpa,
                                 size_t len, bool write)
{
    uint64_t shared_bit = tdx_emu_shared_bit(s);

    return !(gpa & shared_bit) && len <= shared_bit - gpa &&
           range_is_ram(gpa, len, write) &&
           !tdx_emu_ve_operand(s, cpu, gpa, len, write);
}

bool tdx_emu_read_private(TdxEmuState *s, X86CPU *cpu, uint64_t gpa,
                          void *buf, size_t len)
{
    return private_range_is_ram(s, cpu, gpa, len, false) &&
           address_space_read(&address_space_memory, gpa,
                              MEMTXATTRS_UNSPECIFIED, buf, len) == MEMTX_OK;
}

bool tdx_emu_write_private(TdxEmuState *s, X86CPU *cpu, uint64_t gpa,
                           const void *buf, size_t len)
{
    return private_range_is_ram(s, cpu, gpa, len, true) &&
           address_space_write(&address_space_memory, gpa,
                               MEMTXATTRS_UNSPECIFIED, buf, len) == MEMTX_OK;
}

/*
 * A buffer the TD shares with the VMM (GPA with or without the shared
 * bit): read or written only if it is RAM, never a device.
 */
static bool shared_range_is_ram(TdxEmuState *s, uint64_t gpa, size_t len,
                                bool write)
{
    uint64_t shared_bit = tdx_emu_shared_bit(s);

    gpa &= ~shared_bit;
    return gpa < shared_bit && len <= shared_bit - gpa &&
           range_is_ram(gpa, len, write);
}

bool tdx_emu_read_shared(TdxEmuState *s, uint64_t gpa, void *buf, size_t len)
{
    return shared_range_is_ram(s, gpa, len, false) &&
           address_space_read(&address_space_memory,
                              gpa & ~tdx_emu_shared_bit(s),
                              MEMTXATTRS_UNSPECIFIED, buf, len) == MEMTX_OK;
}

bool tdx_emu_write_shared(TdxEmuState *s, uint64_t gpa, const void *buf,
                          size_t len)
{
    return shared_range_is_ram(s, gpa, len, true) &&
           address_space_write(&address_space_memory,
                               gpa & ~tdx_emu_shared_bit(s),
                               MEMTXATTRS_UNSPECIFIED, buf, len) == MEMTX_OK;
}

/*
 * An operand the module walks in either EPT (its
 * check_walk_and_map_guest_side_gpa() with PRIVATE_OR_SHARED:
 * TDG.MR.REPORT's TDREPORT and REPORTDATA): private as above, or shared
 * RAM
 */
bool tdx_emu_read_td(TdxEmuState *s, X86CPU *cpu, uint64_t gpa, void *buf,
                     size_t len)
{
    return gpa & tdx_emu_shared_bit(s) ?
           tdx_emu_read_shared(s, gpa, buf, len) :
           tdx_emu_read_private(s, cpu, gpa, buf, len);
}

bool tdx_emu_write_td(TdxEmuState *s, X86CPU *cpu, uint64_t gpa,
                      const void *buf, size_t len)
{
    return gpa & tdx_emu_shared_bit(s) ?
           tdx_emu_write_shared(s, gpa, buf, len) :
           tdx_emu_write_private(s, cpu, gpa, buf, len);
}
