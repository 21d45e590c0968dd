/*
 * Guest stub: the fuzz mode, random TDCALLs from guest code
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_FUZZ_H
#define GUEST_FUZZ_H

#include <stdint.h>

/*
 * Whether the host asked for the fuzz mode: the fw_cfg file
 * opt/tdx-emu/fuzz holds "SEED[:CALLS]" (decimal or 0x hex)
 */
int fuzz_requested(uint64_t *seed, uint64_t *calls);

/* Make @calls random TDCALLs from a PRNG seeded with @seed */
void fuzz_run(uint64_t seed, uint64_t calls);

#endif
