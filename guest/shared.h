/*
 * Guest stub: the shared window and the shared-memory pool (shared.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_SHARED_H
#define GUEST_SHARED_H

#include <stdint.h>

#define PAGE                4096

/* Map the shared window: the first GiB of GPAs with the shared bit */
void shared_window_init(void);

/* The shared view of private-mapped @p (below 1 GiB), in the window */
void *shared_va(const void *p);

/* Convert the pool to shared with TDG.VP.VMCALL<MapGPA>; 1 on success */
int shared_init(void);

/* @pages zeroed shared pages from the pool (never freed), in the window */
void *shared_alloc(unsigned pages);

/* For @p in the window: the GPA the VMM is given, with the shared bit */
uint64_t shared_gpa(const volatile void *p);

/* For @p in the window: the address a device DMAs to, without it */
uint64_t shared_dma(const volatile void *p);

#endif
