/*
 * Guest stub: TDCALL, TDG.VP.VMCALL and the console
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_TDX_H
#define GUEST_TDX_H

#include <stdarg.h>
#include <stdint.h>
#include "result.h"

/* TDCALL leaves and status codes (TDX module ABI, GHCI 1.5) */
#define TDG_VP_VMCALL               0
#define TDG_VP_INFO                 1
#define TDG_MR_REPORT               4
#define TDG_MEM_PAGE_ACCEPT         6
#define TDX_SUCCESS                 0ULL
#define TDX_OPERAND_INVALID         0xC000010000000000ULL
#define TDX_OPERAND_INVALID_RCX     0xC000010000000001ULL

#define TDVMCALL_EXPOSE_R10_R15     0xfc00ULL

/* The stub's TD's GPAW (48, or 52 for the GPAW-52 layout) and shared bit */
#ifndef GUEST_GPAW
#define GUEST_GPAW                  48
#endif
#define SHARED_BIT                  (1ULL << (GUEST_GPAW - 1))
#define TDVMCALL_CPUID              0x0a
#define TDVMCALL_HLT                0x0c
#define TDVMCALL_IO                 0x1e
#define TDVMCALL_RDMSR              0x1f
#define TDVMCALL_WRMSR              0x20
#define TDVMCALL_MMIO               0x30
#define TDVMCALL_MAP_GPA            0x10001
#define TDVMCALL_GET_TD_VM_CALL_INFO 0x10000
#define TDVMCALL_GET_QUOTE          0x10002
#define TDVMCALL_REPORT_FATAL_ERROR 0x10003
#define TDVMCALL_SETUP_EVENT_NOTIFY 0x10004
#define TDVMCALL_SERVICE            0x10005
#define TDVMCALL_MIGTD              0x10006
#define TDVMCALL_SUCCESS            0ULL
#define TDVMCALL_INVALID_OPERAND    0x8000000000000000ULL
#define TDVMCALL_ALIGN_ERROR        0x8000000000000002ULL
#define TDX_PAGE_ALREADY_ACCEPTED   0x00000B0A00000000ULL
#define TDX_PAGE_SIZE_MISMATCH      0xC0000B0B00000000ULL

/* Every GPR but RSP, in the order entry.S expects */
struct tdx_regs {
    uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/* entry.S */
void tdcall_regs(struct tdx_regs *r);
void tdvmcall_sti_hlt(void);

/* MigTD's idle, "sti; TDG.VP.VMCALL<HLT>", counted as a TDCALL */
void idle_hlt(void);
extern const char tdcall_insn[];

/* Run one TDCALL and count it (it reached the TDX module) */
void tdcall(struct tdx_regs *r);

/* TDG.VP.VMCALL<@subfn> with R12 and R13; returns the R10 status */
uint64_t tdvmcall(uint64_t subfn, uint64_t r12, uint64_t r13);

/* TDG.VP.VMCALL<Instruction.IO>; returns the R10 status */
uint64_t tdvmcall_io(unsigned size, int write, uint16_t port,
                     uint64_t *data);

/* The console and the result: TDVMCALL<IO> when TDCALL works, else OUT */
void guest_set_tdcall_available(int available);
void guest_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* guest_printf's formatting, each character through @put */
void guest_vformat(void (*put)(char c, void *opaque), void *opaque,
                   const char *fmt, va_list ap);
/* ... into @buf, cut to @size - 1 characters and NUL-terminated; length */
uint32_t guest_vsnprintf(char *buf, uint32_t size, const char *fmt,
                         va_list ap);
uint32_t guest_snprintf(char *buf, uint32_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct guest_result *guest_result(void);
void guest_finish(enum guest_state state) __attribute__((noreturn));

#endif
