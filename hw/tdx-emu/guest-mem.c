/*
 * tdx-emu: access to TD-private buffers that TDCALL operands point to
 *
 * TDCALL buffer operands are private GPAs (spec §2: "without the shared
 * bit") and must be backed by the TD's memory. A GPA with the shared bit,
 * or one that reaches MMIO or unbacked space, is an invalid operand.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "tdx-emu.h"

static bool private_range_is_ram(TdxEmuState *s, uint64_t gpa, size_t len,
                                 bool write)
{
    uint64_t shared_bit = 1ULL << (s->gpaw - 1);
    MemoryRegionSection section;
    bool ok;

    if (gpa & shared_bit || len > shared_bit - gpa) {
        return false;
    }
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

bool tdx_emu_read_private(TdxEmuState *s, uint64_t gpa, void *buf,
                          size_t len)
{
    return private_range_is_ram(s, gpa, len, false) &&
           address_space_read(&address_space_memory, gpa,
                              MEMTXATTRS_UNSPECIFIED, buf, len) == MEMTX_OK;
}

bool tdx_emu_write_private(TdxEmuState *s, uint64_t gpa, const void *buf,
                           size_t len)
{
    return private_range_is_ram(s, gpa, len, true) &&
           address_space_write(&address_space_memory, gpa,
                               MEMTXATTRS_UNSPECIFIED, buf, len) == MEMTX_OK;
}
