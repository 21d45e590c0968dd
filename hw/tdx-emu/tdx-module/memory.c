/*
 * tdx-emu: private and shared memory of the TD
 *
 * - The shared bit is GPA bit GPAW-1 (GHCI 1.5). The TD's page tables map
 *   shared pages at GPA | S, so guest RAM is also reachable there: an alias
 *   of system memory at 2^(GPAW-1).
 * - Each 4 KiB page of RAM is private-unaccepted, private-accepted or shared.
 *   TDG.MEM.PAGE.ACCEPT accepts private pages (4 KiB, 2 MiB or 1 GiB,
 *   zeroing them as the TDX module does); TDG.VP.VMCALL<MapGPA> converts
 *   ranges between private and shared, after which a private page must be
 *   accepted again.
 * - An access through the alias to a GPA where nothing is (no RAM, no
 *   device) is an EPT violation: a #VE (ve.c).
 * - With ve=on, the TD's accesses to private RAM it has not accepted (never,
 *   or not since MapGPA took the page away) are EPT violations too: ve.c
 *   asks tdx_emu_page_pending() as the vCPU maps each page into its TLB
 *   (qemu-patches/0011), and MapGPA flushes the TLBs when it takes away
 *   pages the TD had accepted, as the VMM's TDH.MEM.TRACK and the module's
 *   TLB tracking do before the pages go.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/cputlb.h"
#include "hw/core/cpu.h"
#include "system/tcg.h"
#include "qemu/bitmap.h"
#include "qemu/cutils.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "exec/address-spaces.h"
#include "hw/boards.h"
#include "hw/i386/x86.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "tdx-module.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "trace.h"

#define PAGE_4K             (4 * KiB)
#define PAGE_2M             (2 * MiB)
#define PAGE_1G             (1 * GiB)
#define PAGES_PER_2M        (PAGE_2M / PAGE_4K)
#define PAGES_PER_1G        (PAGE_1G / PAGE_4K)
#define ACCEPT_LEVEL_1G     2
#define ACCEPT_LEVEL_MASK   0x7ULL
#define ACCEPT_RSVD_MASK    0xff8ULL    /* RCX[11:3] */

uint64_t tdx_emu_shared_bit(TdxEmuState *s)
{
    return 1ULL << (s->gpaw - 1);
}

void tdx_emu_memory_realize(TdxEmuState *s)
{
    X86MachineState *x86ms = X86_MACHINE(qdev_get_machine());
    uint64_t shared = tdx_emu_shared_bit(s);

    memory_region_init_alias(&s->mem.shared_alias, OBJECT(s),
                             "tdx-emu-shared-alias", get_system_memory(), 0,
                             shared);
    memory_region_add_subregion(get_system_memory(), shared,
                                &s->mem.shared_alias);

    /* RAM ends below 4 GiB, or above it when there is more */
    s->mem.nr_pages = (x86ms->above_4g_mem_size ?
                       4 * GiB + x86ms->above_4g_mem_size :
                       x86ms->below_4g_mem_size) / PAGE_4K;
    s->mem.accepted = bitmap_new(s->mem.nr_pages);
    s->mem.shared = bitmap_new(s->mem.nr_pages);
    s->mem.split_2m = bitmap_new(DIV_ROUND_UP(s->mem.nr_pages, PAGES_PER_2M));
    s->mem.split_1g = bitmap_new(DIV_ROUND_UP(s->mem.nr_pages, PAGES_PER_1G));
    s->mem.below_4g_pages = x86ms->below_4g_mem_size / PAGE_4K;
}

/* A new TD: all of its RAM is private and not yet accepted (PAGE.AUG) */
void tdx_emu_memory_reset(TdxEmuState *s)
{
    bitmap_zero(s->mem.accepted, s->mem.nr_pages);
    bitmap_zero(s->mem.shared, s->mem.nr_pages);
    bitmap_zero(s->mem.split_2m, DIV_ROUND_UP(s->mem.nr_pages, PAGES_PER_2M));
    bitmap_zero(s->mem.split_1g, DIV_ROUND_UP(s->mem.nr_pages, PAGES_PER_1G));
}

/*
 * Whether [gpa, gpa + len) is the TD's RAM: the machine's RAM below and
 * above 4 GiB, 0xA0000-0xFFFFF included (legacy.c).
 */
bool tdx_emu_ram_range(TdxEmuState *s, uint64_t gpa, uint64_t len)
{
    X86MachineState *x86ms = X86_MACHINE(qdev_get_machine());
    uint64_t end = gpa + len;

    if (end < gpa) {
        return false;
    }
    return end <= x86ms->below_4g_mem_size ||
           (gpa >= 4 * GiB && end <= 4 * GiB + x86ms->above_4g_mem_size);
}

/*
 * Zero [gpa, gpa + len) as TDH.MEM.PAGE.ADD and ACCEPT leave it, writing
 * only the pages that are not zero already, so RAM nobody touched stays
 * uncommitted on the host whatever size the TD or its image declares.
 */
void tdx_emu_zero_range(uint64_t gpa, uint64_t len)
{
    static const uint8_t zeros[PAGE_4K];
    uint8_t page[PAGE_4K];
    uint64_t off, n;

    for (off = 0; off < len; off += n) {
        n = MIN(PAGE_4K, len - off);
        if (address_space_read(&address_space_memory, gpa + off,
                               MEMTXATTRS_UNSPECIFIED, page, n) == MEMTX_OK &&
            buffer_is_zero(page, n)) {
            continue;
        }
        address_space_write(&address_space_memory, gpa + off,
                            MEMTXATTRS_UNSPECIFIED, zeros, n);
    }
}

/* @page lies in a 1 GiB page the TD accepted whole */
static bool accepted_as_1g(TdxEmuState *s, uint64_t page)
{
    return test_bit(page, s->mem.accepted) &&
           !test_bit(page / PAGES_PER_1G, s->mem.split_1g);
}

static uint64_t accept_4k(TdxEmuState *s, uint64_t page)
{
    uint64_t block = page / PAGES_PER_2M;

    if (accepted_as_1g(s, page)) {
        return TDX_PAGE_SIZE_MISMATCH | ACCEPT_LEVEL_1G;
    }
    if (test_bit(page, s->mem.accepted)) {
        /* Accepted as part of a 2 MiB page, or on its own */
        return test_bit(block, s->mem.split_2m) ?
               TDX_PAGE_ALREADY_ACCEPTED : TDX_PAGE_SIZE_MISMATCH | 1;
    }
    set_bit(block, s->mem.split_2m);
    set_bit(page / PAGES_PER_1G, s->mem.split_1g);
    tdx_emu_zero_range(page * PAGE_4K, PAGE_4K);
    set_bit(page, s->mem.accepted);
    clear_bit(page, s->mem.shared);
    return TDX_SUCCESS;
}

static uint64_t accept_2m(TdxEmuState *s, uint64_t page)
{
    uint64_t block = page / PAGES_PER_2M;

    if (accepted_as_1g(s, page)) {
        return TDX_PAGE_SIZE_MISMATCH | ACCEPT_LEVEL_1G;
    }
    if (test_bit(block, s->mem.split_2m)) {
        /* Mapped in 4 KiB pages already: the TD must accept those */
        return TDX_PAGE_SIZE_MISMATCH | 1;
    }
    if (test_bit(page, s->mem.accepted)) {
        return TDX_PAGE_ALREADY_ACCEPTED | 1;
    }
    set_bit(page / PAGES_PER_1G, s->mem.split_1g);
    tdx_emu_zero_range(page * PAGE_4K, PAGE_2M);
    bitmap_set(s->mem.accepted, page, PAGES_PER_2M);
    bitmap_clear(s->mem.shared, page, PAGES_PER_2M);
    return TDX_SUCCESS;
}

/*
 * A 1 GiB page: already accepted whole, or mapped as smaller pages (some
 * accepted or added at 2 MiB or 4 KiB: the TD must accept at those sizes)
 */
static uint64_t accept_1g(TdxEmuState *s, uint64_t page)
{
    if (accepted_as_1g(s, page)) {
        return TDX_PAGE_ALREADY_ACCEPTED | ACCEPT_LEVEL_1G;
    }
    if (test_bit(page / PAGES_PER_1G, s->mem.split_1g) ||
        find_next_bit(s->mem.accepted, page + PAGES_PER_1G, page) <
        page + PAGES_PER_1G) {
        return TDX_PAGE_SIZE_MISMATCH | ACCEPT_LEVEL_1G;
    }
    tdx_emu_zero_range(page * PAGE_4K, PAGE_1G);
    bitmap_set(s->mem.accepted, page, PAGES_PER_1G);
    bitmap_clear(s->mem.shared, page, PAGES_PER_1G);
    return TDX_SUCCESS;
}

/*
 * Whether @gpa is private RAM the TD may not touch: not accepted, or
 * converted to shared. Called by each vCPU, without the BQL, as it maps a
 * page: a bitmap lookup.
 */
bool tdx_emu_page_pending(TdxEmuState *s, uint64_t gpa)
{
    uint64_t page = gpa / PAGE_4K;

    if (gpa & ~(tdx_emu_shared_bit(s) - 1) || page >= s->mem.nr_pages ||
        (page >= s->mem.below_4g_pages && gpa < 4 * GiB)) {
        return false;       /* shared, or not RAM */
    }
    return !test_bit(page, s->mem.accepted);
}

static void flush_tlb_work(CPUState *cs, run_on_cpu_data data)
{
    tlb_flush(cs);
}

/* No vCPU may keep a page the TD can no longer touch in its TLB */
static void flush_tlbs(void)
{
    CPUState *cs;

    if (!tcg_enabled()) {
        return;
    }
    CPU_FOREACH(cs) {
        if (cs == current_cpu) {
            tlb_flush(cs);
        } else {
            async_run_on_cpu(cs, flush_tlb_work, RUN_ON_CPU_NULL);
        }
    }
}

static uint64_t (*const accept_level[])(TdxEmuState *s, uint64_t page) = {
    accept_4k, accept_2m, accept_1g,
};

/*
 * TDG.MEM.PAGE.ACCEPT (leaf 6, TDX module ABI): RCX = GPA | level (0 =
 * 4 KiB, 1 = 2 MiB, 2 = 1 GiB); bits 11:3 reserved. The GPA must be
 * private, aligned to the level, and RAM. A page accepted at another size
 * is TDX_PAGE_SIZE_MISMATCH with the level it is mapped at, so the TD
 * retries smaller (Linux arch/x86/coco/tdx/tdx-shared.c try_accept_one,
 * edk2 TdxLib TdAcceptPages).
 */
uint64_t tdx_emu_mem_page_accept(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    uint64_t level = regs[R_ECX] & ACCEPT_LEVEL_MASK;
    uint64_t gpa = regs[R_ECX] & ~(ACCEPT_LEVEL_MASK | ACCEPT_RSVD_MASK);
    uint64_t size = PAGE_4K << (9 * MIN(level, ACCEPT_LEVEL_1G));
    uint64_t status;

    if (level > ACCEPT_LEVEL_1G || (regs[R_ECX] & ACCEPT_RSVD_MASK) ||
        !QEMU_IS_ALIGNED(gpa, size) || (gpa & tdx_emu_shared_bit(s)) ||
        !tdx_emu_ram_range(s, gpa, size)) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: TDG.MEM.PAGE.ACCEPT: bad "
                      "operand RCX=0x%" PRIx64 "\n", regs[R_ECX]);
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_RCX;
    }
    status = accept_level[level](s, gpa / PAGE_4K);
    trace_tdx_emu_page_accept(gpa, level, status);
    return status;
}

/* map-gpa-max: 0 (a whole range per call), or a multiple of 4 KiB */
bool tdx_emu_memory_check(TdxEmuState *s, Error **errp)
{
    if (!QEMU_IS_ALIGNED(s->map_gpa_max, PAGE_4K)) {
        error_setg(errp, "%s: map-gpa-max must be a multiple of 4 KiB, not "
                   "0x%" PRIx64, TYPE_TDX_EMU, s->map_gpa_max);
        return false;
    }
    return true;
}

/*
 * MapGPA (GHCI 1.5, R11 = 0x10001): R12 = start GPA, with the shared bit to
 * make the range shared or without it to make it private; R13 = length.
 * Both page-aligned, non-empty, not crossing the shared bit, within the
 * TD's GPA space. With map-gpa-max set, a longer range is converted
 * map-gpa-max bytes at a time: TDG.VP.VMCALL_RETRY with R11 = the GPA to
 * go on from (shared bit as given), as a VMM may answer (GHCI 1.5 MapGPA;
 * Linux arch/x86/coco/tdx/tdx.c tdx_map_gpa retries from it).
 */
uint64_t tdx_emu_vmcall_map_gpa(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint64_t shared = tdx_emu_shared_bit(s);
    uint64_t start = vmm[R_R12], len = vmm[R_R13];
    uint64_t gpa = start & ~shared, first, count;
    bool retry;

    if (!QEMU_IS_ALIGNED(start, PAGE_4K) || !QEMU_IS_ALIGNED(len, PAGE_4K)) {
        return TDVMCALL_ALIGN_ERROR;
    }
    if (!len || gpa >= shared || len > shared - gpa) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: MapGPA: bad range 0x%" PRIx64
                      " + 0x%" PRIx64 "\n", start, len);
        return TDVMCALL_INVALID_OPERAND;
    }
    retry = s->map_gpa_max && len > s->map_gpa_max;
    if (retry) {
        len = s->map_gpa_max;
    }
    first = gpa / PAGE_4K;
    count = MIN(len / PAGE_4K, s->mem.nr_pages > first ?
                               s->mem.nr_pages - first : 0);
    /* Converting either way discards the page from the private set */
    if (find_next_bit(s->mem.accepted, first + count, first) <
        first + count) {
        bitmap_clear(s->mem.accepted, first, count);
        flush_tlbs();
    }
    if (start & shared) {
        bitmap_set(s->mem.shared, first, count);
    } else {
        bitmap_clear(s->mem.shared, first, count);
    }
    trace_tdx_emu_map_gpa(gpa, len, !!(start & shared));
    if (retry) {
        vmm[R_R11] = start + len;
        return TDVMCALL_RETRY;
    }
    return TDVMCALL_SUCCESS;
}

/*
 * Pages the VMM added with TDH.MEM.PAGE.ADD before the TD started are
 * private and accepted (only RAM is tracked; the firmware window is not).
 */
void tdx_emu_mark_added(TdxEmuState *s, uint64_t gpa, uint64_t len)
{
    uint64_t first = gpa / PAGE_4K;
    uint64_t end = MIN((gpa + len) / PAGE_4K, s->mem.nr_pages);

    if (first < end) {
        bitmap_set(s->mem.accepted, first, end - first);
    }
}

uint64_t tdx_emu_accepted_pages(TdxEmuState *s)
{
    return bitmap_count_one(s->mem.accepted, s->mem.nr_pages);
}

uint64_t tdx_emu_shared_pages(TdxEmuState *s)
{
    return bitmap_count_one(s->mem.shared, s->mem.nr_pages);
}
