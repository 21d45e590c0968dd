/*
 * Guest stub: the TDCALL round-trip benchmark (bench.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_BENCH_H
#define GUEST_BENCH_H

/* Whether the CFV asks for the benchmarks */
int bench_requested(void);

/* Time TDG.VP.INFO against CPUID, and 1 ms timeouts, if the CFV asks */
void bench_run(void);

#endif
