/*
 * Guest stub: the shared-memory pool (shared.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_SHARED_H
#define GUEST_SHARED_H

#include <stdint.h>

#define PAGE                4096

/* Convert the pool to shared with TDG.VP.VMCALL<MapGPA>; 1 on success */
int shared_init(void);

/* @pages zeroed shared pages from the pool (never freed); 0 if used up */
void *shared_alloc(unsigned pages);

/* The GPA the VMM is given for a shared buffer: with the shared bit */
uint64_t shared_gpa(const void *p);

#endif
