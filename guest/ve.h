/*
 * Guest stub: the #VE handler (vector 20), as td-shim's td-exception and
 * Linux's virt_exception_kernel() have one
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_VE_H
#define GUEST_VE_H

#include <stdint.h>
#include "cpu.h"

#define VE_VECTOR               20
#define TDG_VP_VEINFO_GET       3

/* Basic exit reasons TDG.VP.VEINFO.GET reports (Intel SDM appendix C) */
#define EXIT_REASON_CPUID       10
#define EXIT_REASON_HLT         12
#define EXIT_REASON_IO          30
#define EXIT_REASON_RDMSR       31
#define EXIT_REASON_WRMSR       32
#define EXIT_REASON_EPT_VIOLATION 48

/* What TDG.VP.VEINFO.GET returned for the last #VE */
struct ve_info {
    uint64_t exit_reason, exit_qual, gla, gpa;
    uint32_t insn_len, insn_info;
};

/* Handle the #VE in @f (emulate through TDG.VP.VMCALL, skip it) */
void ve_handle(struct exception_frame *f);

/*
 * The next EPT-violation #VE is expected on an instruction of @len bytes
 * that loads into RAX: it reads all ones, as from a GPA nothing backs
 */
void ve_expect_ept_violation(unsigned len);

/*
 * The next #VE is taken on an instruction of @len bytes and skipped
 * without TDG.VP.VEINFO.GET, so that its info stays valid (for the #DF
 * the module raises on a #VE due while it is)
 */
void ve_leave_unread(unsigned len);

/*
 * While @on, an EPT-violation #VE at a private GPA is taken as a TD that
 * accepts memory when first touched would: the handler accepts the page
 * and the instruction (a TDCALL whose operand it was) runs again
 */
void ve_accept_pending(int on);

/* How many #VEs the stub took, and the last one's info */
uint64_t ve_count(void);
const struct ve_info *ve_last(void);

#endif
