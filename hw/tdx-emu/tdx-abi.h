/*
 * tdx-emu: TDX module and GHCI ABI constants
 *
 * Values are from the Intel TDX Module ABI specification and the GHCI 1.5
 * specification (Intel's TDX Guest-Hypervisor Communication Interface), as
 * td-shim's tdx-tdcall crate and Linux's arch/x86/include/asm/shared/tdx.h
 * also define them.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_TDX_ABI_H
#define HW_TDX_EMU_TDX_ABI_H

/* TDG.MR.REPORT's TDREPORT_STRUCT (TDX module ABI) */
#define TDX_TDREPORT_SIZE           1024

/* TD ATTRIBUTES bits */
#define TDX_TD_ATTR_SEPT_VE_DISABLE (1ULL << 28)

/* TDCALL leaf numbers, RAX[15:0]; RAX[23:16] is the leaf version */
#define TDG_VP_VMCALL               0
#define TDG_VP_INFO                 1
#define TDG_MR_RTMR_EXTEND          2
#define TDG_VP_VEINFO_GET           3
#define TDG_MR_REPORT               4
#define TDG_MEM_PAGE_ACCEPT         6
#define TDG_VM_RD                   7
#define TDG_VM_WR                   8
#define TDG_SYS_RD                  11
#define TDG_SERVTD_RD               18
#define TDG_SERVTD_WR               20
#define TDG_MR_VERIFYREPORT         22
#define TDG_SERVTD_REBIND_APPROVE   33

#define TDCALL_LEAF_MASK            0xffffULL
#define TDCALL_VERSION_SHIFT        16
#define TDCALL_VERSION_MASK         0xffULL
#define TDCALL_RESERVED_SHIFT       24

/* TDX module completion status in RAX (upper 32 bits: the class) */
#define TDX_SUCCESS                 0x0000000000000000ULL
#define TDX_OPERAND_INVALID         0xC000010000000000ULL
#define TDX_OPERAND_BUSY            0x8000020000000000ULL
#define TDX_RND_NO_ENTROPY          0x8000020300000000ULL
#define TDX_NO_VALID_VE_INFO        0xC000070400000000ULL
#define TDX_METADATA_FIELD_ID_INCORRECT     0xC0000C0000000000ULL
#define TDX_METADATA_FIELD_NOT_WRITABLE     0xC0000C0100000000ULL
#define TDX_METADATA_FIELD_NOT_READABLE     0xC0000C0200000000ULL
#define TDX_METADATA_FIELD_VALUE_NOT_VALID  0xC0000C0300000000ULL
#define TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT 0x00000C0B00000000ULL
#define TDX_TARGET_UUID_MISMATCH    0xC0000D0700000000ULL
#define TDX_PAGE_ALREADY_ACCEPTED   0x00000B0A00000000ULL
#define TDX_PAGE_SIZE_MISMATCH      0xC0000B0B00000000ULL
#define TDX_INVALID_REPORTMACSTRUCT 0xC000100100000000ULL

/* The module adds the offending operand's number (its GPR number) */
#define TDX_OPERAND_ID_RCX          1
#define TDX_OPERAND_ID_RDX          2
#define TDX_OPERAND_ID_R8           8

/* TDG.VP.INFO outputs (leaf 1) */
#define TDX_GPAW_48                 48
#define TDX_GPAW_52                 52
#define TDG_VP_INFO_SYS_RD_AVAILABLE (1ULL << 0)   /* R10 bit 0 */

/*
 * TDG.VP.VMCALL control in RCX (GHCI 1.5): bits 15:0 select the GPRs the
 * VMM sees, bits 31:16 the XMM registers; bits 63:32 are reserved. RAX, RCX
 * and RSP can never be exposed.
 */
#define TDVMCALL_GPR_SELECT_MASK    0xffffULL
#define TDVMCALL_RESERVED_MASK      0xffffffff00000000ULL
#define TDVMCALL_GPR_FORBIDDEN      ((1ULL << R_EAX) | (1ULL << R_ECX) | \
                                     (1ULL << R_ESP))

/* TDG.VP.VMCALL sub-functions in R11 (GHCI 1.5) */
#define TDVMCALL_CPUID              0x0a
#define TDVMCALL_HLT                0x0c
#define TDVMCALL_IO                 0x1e
#define TDVMCALL_MMIO               0x30
#define TDVMCALL_RDMSR              0x1f
#define TDVMCALL_WRMSR              0x20
#define TDVMCALL_GET_TD_VM_CALL_INFO 0x10000
#define TDVMCALL_MAP_GPA            0x10001
#define TDVMCALL_GET_QUOTE          0x10002
#define TDVMCALL_REPORT_FATAL_ERROR 0x10003
#define TDVMCALL_SETUP_EVENT_NOTIFY 0x10004
#define TDVMCALL_SERVICE            0x10005
#define TDVMCALL_MIGTD              0x10006

/* TDG.VP.VMCALL status in R10 (GHCI 1.5) */
#define TDVMCALL_SUCCESS            0x0000000000000000ULL
#define TDVMCALL_RETRY              0x0000000000000001ULL
#define TDVMCALL_INVALID_OPERAND    0x8000000000000000ULL
#define TDVMCALL_ALIGN_ERROR        0x8000000000000002ULL

/* GetTdVmCallInfo leaf 1, R11 bitmap of optional sub-functions (GHCI 1.5) */
#define TDVMCALL_INFO_GET_QUOTE             (1ULL << 0)
#define TDVMCALL_INFO_SETUP_EVENT_NOTIFY    (1ULL << 1)

/* SetupEventNotifyInterrupt: vectors below 32 are exceptions */
#define TDX_EVENT_NOTIFY_MIN_VECTOR 32

/* Instruction.IO direction in R13 */
#define TDVMCALL_IO_READ            0
#define TDVMCALL_IO_WRITE           1

#endif
