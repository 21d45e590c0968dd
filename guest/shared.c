/*
 * Guest stub: the shared-memory pool
 *
 * Like td-payload's shared pool (MigTD src/migtd/src/lib.rs sets it up,
 * td-shim td-payload/src/mm/shared.rs hands it out), one range converted
 * to shared with TDG.VP.VMCALL<MapGPA> at start, from which every buffer
 * the VMM or a device reads or writes comes: the vmcall-raw and Service
 * buffers, the virtqueues and their DMA pages. The VMM is given their
 * GPAs with the shared bit, devices without it (DMA addresses carry no
 * shared bit, as in MigTD's virtio drivers). The stub reaches the pool
 * through its private mapping, which tdx-emu does not police.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "tdx.h"
#include "shared.h"

#define POOL_PAGES          256

static uint8_t pool[POOL_PAGES * PAGE] __attribute__((aligned(PAGE)));
static unsigned pool_used;

uint64_t shared_gpa(const void *p)
{
    return (uint64_t)p | SHARED_BIT;
}

int shared_init(void)
{
    return tdvmcall(TDVMCALL_MAP_GPA, shared_gpa(pool), sizeof(pool)) ==
           TDVMCALL_SUCCESS;
}

void *shared_alloc(unsigned pages)
{
    uint8_t *p = pool + (uint64_t)pool_used * PAGE;
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
