/*
 * Helpers for the tdx-emu qtests: the test mailbox and QMP
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_QTEST_TDX_EMU_UTIL_H
#define TESTS_QTEST_TDX_EMU_UTIL_H

#include "libqtest.h"

#define MAILBOX_GPA         0xfe000000ULL
#define MAILBOX_DOORBELL    0x80
#define MAILBOX_COUNT       0x88
#define MAILBOX_NOTIFY      0x90
#define MAILBOX_NOTIFY_VEC  0x98

/* GPR numbers, in mailbox order */
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
       R8, R9, R10, R11, R12, R13, R14, R15, NR_GPRS };

#define OUT(r) (1u << (r))

#define TDG_MEM_PAGE_ACCEPT         6
#define TDX_SUCCESS                 0ULL
#define TDX_OPERAND_INVALID         0xC000010000000000ULL
#define TDX_OPERAND_INVALID_RCX     (TDX_OPERAND_INVALID + RCX)
#define TDX_OPERAND_INVALID_RDX     (TDX_OPERAND_INVALID + RDX)
#define TDX_OPERAND_INVALID_R8      (TDX_OPERAND_INVALID + R8)
#define TDVMCALL_SUCCESS            0ULL
#define TDVMCALL_INVALID_OPERAND    0x8000000000000000ULL

/* TDG.VP.VMCALL exposing R10-R15 (mask 0xFC00), as td-shim does */
#define VMCALL_OUTPUTS (OUT(RAX) | OUT(R10) | OUT(R11) | OUT(R12) | \
                        OUT(R13) | OUT(R14) | OUT(R15))

/* q35 with 2 vCPUs, phys-bits=52 and tdx-emu,mailbox=MAILBOX_GPA@extra */
QTestState *mailbox_init(const char *extra);

void set_regs(QTestState *qts, const uint64_t *regs);
void get_regs(QTestState *qts, uint64_t *regs);
uint64_t tdcall_count(QTestState *qts);

/* A register file with a distinct sentinel in every GPR */
void sentinel_regs(uint64_t *regs);

/*
 * Run one TDCALL on @in as @vcpu; @out gets every register back. Asserts
 * that no register outside @outputs (a mask of OUT(GPR)) changed.
 */
void tdcall(QTestState *qts, int vcpu, const uint64_t *in, uint64_t *out,
            uint32_t outputs);

/*
 * TDG.MEM.PAGE.ACCEPT of @rcx (GPA | level) as vCPU 0: its RAX. TDCALL
 * memory operands must lie in accepted pages, as a TD's do.
 */
uint64_t page_accept(QTestState *qts, uint64_t rcx);

/* Sentinels, then RAX = TDG.VP.VMCALL, RCX = 0xFC00, R10 = 0, R11 = @subfn */
void vmcall_regs(uint64_t *regs, uint64_t subfn);

/* The "return" dictionary of query-tdx-emu (qobject_unref it) */
QDict *query_tdx_emu(QTestState *qts);

/* The non-empty lines of file @path that contain @needle */
unsigned count_lines(const char *path, const char *needle);

/* Send a QMP command and assert that it fails */
void expect_qmp_error(QTestState *qts, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

#endif
