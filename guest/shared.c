/*
 * Guest stub: the shared window and the shared-memory pool
 *
 * A page converted to shared with TDG.VP.VMCALL<MapGPA> is no longer the
 * TD's private page: the TD reaches it only through a mapping with the
 * shared bit (through its private mapping it is an EPT violation, a #VE),
 * as td-shim maps its shared memory (td-payload src/mm/shared.rs). The
 * stub keeps one such mapping, the shared window: virtual addresses
 * SHARED_WINDOW + x map GPA x | shared bit for the first GiB, in 2 MiB
 * pages under a fourth PDPT entry of boot.S's identity map.
 *
 * Like td-payload's shared pool (MigTD src/migtd/src/lib.rs sets it up,
 * td-shim td-payload/src/mm/shared.rs hands it out), one range converted
 * to shared at start, from which every buffer the VMM or a device reads or
 * writes comes: the vmcall-raw and Service buffers, the virtqueues and
 * their DMA pages, the log area. The VMM is given their GPAs with the
 * shared bit, devices without it (DMA addresses carry no shared bit, as in
 * MigTD's virtio drivers).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "tdx.h"
#include "shared.h"

#define POOL_PAGES          256
#define SHARED_WINDOW       (4ULL << 30)    /* PDPT entry 4 */
#define PTE_ADDR            0x000ffffffffff000ULL
#define PDE_2M_RW           0x83            /* P | RW | PS */
#define PDPTE_P_RW          0x3
#define ENTRIES             512

static uint8_t pool[POOL_PAGES * PAGE] __attribute__((aligned(PAGE)));
static uint64_t window_pd[ENTRIES] __attribute__((aligned(PAGE)));
static unsigned pool_used;

void shared_window_init(void)
{
    uint64_t cr3, *pml4, *pdpt, i;

    asm volatile("mov %%cr3, %0" : "=r"(cr3));
    pml4 = (uint64_t *)(cr3 & PTE_ADDR);
    pdpt = (uint64_t *)(pml4[0] & PTE_ADDR);
    for (i = 0; i < ENTRIES; i++) {
        window_pd[i] = (i << 21) | SHARED_BIT | PDE_2M_RW;
    }
    pdpt[SHARED_WINDOW >> 30] = (uint64_t)window_pd | PDPTE_P_RW;
    asm volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

void *shared_va(const void *p)
{
    return (void *)((uint64_t)p + SHARED_WINDOW);
}

uint64_t shared_gpa(const volatile void *p)
{
    return shared_dma(p) | SHARED_BIT;
}

uint64_t shared_dma(const volatile void *p)
{
    return (uint64_t)p - SHARED_WINDOW;
}

int shared_init(void)
{
    return tdvmcall(TDVMCALL_MAP_GPA, shared_gpa(shared_va(pool)),
                    sizeof(pool)) == TDVMCALL_SUCCESS;
}

void *shared_alloc(unsigned pages)
{
    uint8_t *p = shared_va(pool + (uint64_t)pool_used * PAGE);
    uint64_t i;

    if (pages > POOL_PAGES - pool_used) {
        guest_printf("migtd-stub: the shared pool is used up\n");
        return 0;
    }
    pool_used += pages;
    for (i = 0; i < (uint64_t)pages * PAGE; i++) {
        p[i] = 0;
    }
    return p;
}
