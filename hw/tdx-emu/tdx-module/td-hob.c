/*
 * tdx-emu: the TD HOB, for TDVF images that have a TD_HOB section
 *
 * The VMM describes the TD's memory to its firmware in a HOB list at the
 * TD_HOB section (td-shim td-shim-interface/src/td_uefi_pi/hob.rs): a PHIT,
 * then one resource descriptor per range of RAM, SYSTEM_MEMORY where it added
 * pages (TDH.MEM.PAGE.ADD) and MEMORY_UNACCEPTED elsewhere, then the end of
 * the list.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/units.h"
#include "exec/address-spaces.h"
#include "hw/boards.h"
#include "hw/i386/x86.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "tdx-module.h"

#define HOB_TYPE_HANDOFF            0x0001
#define HOB_TYPE_RESOURCE           0x0003
#define HOB_TYPE_END                0xffff
#define HOB_HANDOFF_VERSION         9
#define HOB_PHIT_SIZE               56
#define HOB_RESOURCE_SIZE           48
#define HOB_END_SIZE                8
#define RESOURCE_SYSTEM_MEMORY      0
#define RESOURCE_MEMORY_UNACCEPTED  7
#define RESOURCE_PRESENT_INIT_TESTED 0x7

typedef struct HobWriter {
    GByteArray *buf;
    uint64_t gpa;
} HobWriter;

static uint8_t *hob_append(HobWriter *w, uint16_t type, uint16_t len)
{
    uint8_t *hob;

    g_byte_array_set_size(w->buf, w->buf->len + len);
    hob = w->buf->data + w->buf->len - len;
    memset(hob, 0, len);
    stw_le_p(hob, type);
    stw_le_p(hob + 2, len);
    return hob;
}

static void hob_resource(HobWriter *w, uint32_t type, uint64_t start,
                         uint64_t end)
{
    uint8_t *hob;

    if (start >= end) {
        return;
    }
    hob = hob_append(w, HOB_TYPE_RESOURCE, HOB_RESOURCE_SIZE);
    stl_le_p(hob + 24, type);
    stl_le_p(hob + 28, RESOURCE_PRESENT_INIT_TESTED);
    stq_le_p(hob + 32, start);
    stq_le_p(hob + 40, end - start);
}

static bool section_added_in(const TdvfSection *sec, uint64_t start,
                             uint64_t end)
{
    return sec->size && !(sec->attributes & TDVF_ATTR_PAGE_AUG) &&
           sec->type != TDVF_TD_INFO && sec->type != TDVF_TD_PARAMS &&
           sec->address < end && sec->address + sec->size > start;
}

static gint section_by_address(gconstpointer a, gconstpointer b)
{
    const TdvfSection *x = *(const TdvfSection *const *)a;
    const TdvfSection *y = *(const TdvfSection *const *)b;

    return x->address < y->address ? -1 : x->address > y->address;
}

/* One RAM range, split where the VMM added pages */
static void hob_ram_range(HobWriter *w, const TdxEmuFirmware *fw,
                          uint64_t start, uint64_t end)
{
    g_autoptr(GPtrArray) added = g_ptr_array_new();
    uint64_t cursor = start;
    guint i;

    for (i = 0; i < fw->nr_sections; i++) {
        if (section_added_in(&fw->sections[i], start, end)) {
            g_ptr_array_add(added, &fw->sections[i]);
        }
    }
    g_ptr_array_sort(added, section_by_address);
    for (i = 0; i < added->len; i++) {
        const TdvfSection *sec = g_ptr_array_index(added, i);
        uint64_t s = MAX(sec->address, cursor);
        uint64_t e = MIN(sec->address + sec->size, end);

        hob_resource(w, RESOURCE_MEMORY_UNACCEPTED, cursor, s);
        hob_resource(w, RESOURCE_SYSTEM_MEMORY, s, e);
        cursor = MAX(cursor, e);
    }
    hob_resource(w, RESOURCE_MEMORY_UNACCEPTED, cursor, end);
}

/* The largest HOB list for @nr_sections sections: it must fit TD_HOB */
uint64_t tdx_emu_td_hob_max_size(uint32_t nr_sections)
{
    /* two RAM ranges, each split around every section at most */
    return HOB_PHIT_SIZE + HOB_END_SIZE +
           2 * (2 * (uint64_t)nr_sections + 1) * HOB_RESOURCE_SIZE;
}

void tdx_emu_td_hob_build(TdxEmuState *s, const TdvfSection *hob_sec)
{
    X86MachineState *x86ms = X86_MACHINE(qdev_get_machine());
    g_autoptr(GByteArray) buf = g_byte_array_new();
    HobWriter w = { .buf = buf, .gpa = hob_sec->address };
    uint8_t *phit;
    uint64_t end_of_list;

    hob_append(&w, HOB_TYPE_HANDOFF, HOB_PHIT_SIZE);
    hob_ram_range(&w, &s->fw, 0, x86ms->below_4g_mem_size);
    hob_ram_range(&w, &s->fw, 4 * GiB, 4 * GiB + x86ms->above_4g_mem_size);
    hob_append(&w, HOB_TYPE_END, HOB_END_SIZE);
    end_of_list = w.gpa + buf->len;

    phit = buf->data;
    stl_le_p(phit + 8, HOB_HANDOFF_VERSION);
    stq_le_p(phit + 16, hob_sec->address + hob_sec->size); /* MemoryTop */
    stq_le_p(phit + 24, hob_sec->address);                 /* MemoryBottom */
    stq_le_p(phit + 32, hob_sec->address + hob_sec->size); /* FreeTop */
    /*
     * Both just past the END_OF_HOB_LIST HOB, as QEMU's hw/i386/tdvf-hob.c
     * writes them and td-shim's check_hob_length (td-shim-interface
     * src/td_uefi_pi/hob.rs) requires.
     */
    stq_le_p(phit + 40, end_of_list);                      /* FreeBottom */
    stq_le_p(phit + 48, end_of_list);                      /* EndOfHobList */
    address_space_write(&address_space_memory, hob_sec->address,
                        MEMTXATTRS_UNSPECIFIED, buf->data, buf->len);
}
