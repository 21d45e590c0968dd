/*
 * Guest stub: MigTD's panic report through the Hyper-V crash MSRs
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_CRASH_H
#define GUEST_CRASH_H

/*
 * Whether the VMM offers the Hyper-V guest crash MSRs, asked as MigTD's
 * driver/crash.rs does (CPUID 0x40000000 and 0x40000003 EDX[10])
 */
int crash_msrs_offered(void);

/*
 * The crash mode, when the configuration volume starts with
 * "tdx-emu crash": panic as a vmcall-raw MigTD does, never returning
 */
void crash_if_requested(void);

#endif
