/*
 * tdx-emu: TDG.VP.VMCALL, the TD's calls into the VMM (GHCI)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"
#include "vmm.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "trace.h"

/*
 * A sub-function sees the VMM's view of the registers (only those the guest
 * exposed, the rest zero), returns the GHCI status for R10 and writes its
 * other outputs into @vmm.
 */
typedef uint64_t TdvmcallFn(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);

typedef struct Tdvmcall {
    uint64_t subfn;
    const char *name;
    TdvmcallFn *fn;
} Tdvmcall;

static const Tdvmcall *tdvmcall_find(uint64_t subfn);

/*
 * GetTdVmCallInfo (GHCI, R11 = 0x10000): R12 = 0 asks whether the base GHCI
 * sub-functions are there (R11..R14 = 0 means yes); R12 = 1 returns in R11
 * the bitmap of the optional ones this VMM implements.
 */
static uint64_t tdvmcall_get_info(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint64_t optional = 0;

    switch (vmm[R_R12]) {
    case 0:
        break;
    case 1:
        if (tdvmcall_find(TDVMCALL_GET_QUOTE)) {
            optional |= TDVMCALL_INFO_GET_QUOTE;
        }
        if (tdvmcall_find(TDVMCALL_SETUP_EVENT_NOTIFY)) {
            optional |= TDVMCALL_INFO_SETUP_EVENT_NOTIFY;
        }
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tdx-emu: GetTdVmCallInfo: unknown leaf %" PRIu64 "\n",
                      vmm[R_R12]);
        return TDVMCALL_INVALID_OPERAND;
    }
    vmm[R_R11] = optional;
    vmm[R_R12] = 0;
    vmm[R_R13] = 0;
    vmm[R_R14] = 0;
    return TDVMCALL_SUCCESS;
}

static const Tdvmcall tdvmcalls[] = {
    { TDVMCALL_CPUID, "Instruction.CPUID", tdx_emu_vmcall_cpuid },
    { TDVMCALL_HLT, "Instruction.HLT", tdx_emu_vmcall_hlt },
    { TDVMCALL_IO, "Instruction.IO", tdx_emu_vmcall_io },
    { TDVMCALL_MMIO, "#VE.RequestMMIO", tdx_emu_vmcall_mmio },
    { TDVMCALL_RDMSR, "Instruction.RDMSR", tdx_emu_vmcall_rdmsr },
    { TDVMCALL_WRMSR, "Instruction.WRMSR", tdx_emu_vmcall_wrmsr },
    { TDVMCALL_GET_TD_VM_CALL_INFO, "GetTdVmCallInfo", tdvmcall_get_info },
    { TDVMCALL_MAP_GPA, "MapGPA", tdx_emu_vmcall_map_gpa },
    { TDVMCALL_GET_QUOTE, "GetQuote", tdx_emu_vmcall_get_quote },
    { TDVMCALL_REPORT_FATAL_ERROR, "ReportFatalError",
      tdx_emu_vmcall_report_fatal_error },
    { TDVMCALL_SETUP_EVENT_NOTIFY, "SetupEventNotifyInterrupt",
      tdx_emu_vmcall_setup_event_notify },
    { TDVMCALL_SERVICE, "Service", tdx_emu_vmcall_service },
    { TDVMCALL_MIGTD, "MigTD", tdx_emu_vmcall_migtd },
};

QEMU_BUILD_BUG_ON(ARRAY_SIZE(tdvmcalls) + 1 > TDX_EMU_NR_VMCALL_SLOTS);

static const Tdvmcall *tdvmcall_find(uint64_t subfn)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(tdvmcalls); i++) {
        if (tdvmcalls[i].subfn == subfn) {
            return &tdvmcalls[i];
        }
    }
    return NULL;
}

/*
 * The VMM side: R10 = 0 selects a standard GHCI call, numbered by R11
 * (GHCI 1.5). Anything else is unknown to this VMM.
 */
static void tdvmcall_dispatch(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    int cpu_index = CPU(cpu)->cpu_index;
    uint64_t subfn = vmm[R_R11];
    const Tdvmcall *call = vmm[R_R10] ? NULL : tdvmcall_find(subfn);
    const char *name = call ? call->name : "unknown";

    s->vmcall_counts[call ? call - tdvmcalls : ARRAY_SIZE(tdvmcalls)]++;
    trace_tdx_emu_vmcall(cpu_index, name, vmm[R_R11], vmm[R_R12], vmm[R_R13],
                         vmm[R_R14], vmm[R_R15]);
    if (call) {
        vmm[R_R10] = call->fn(s, cpu, vmm);
    } else {
        qemu_log_mask(LOG_UNIMP,
                      "tdx-emu: cpu %d: unsupported TDG.VP.VMCALL R10=0x%"
                      PRIx64 " R11=0x%" PRIx64 "\n",
                      cpu_index, vmm[R_R10], vmm[R_R11]);
        vmm[R_R10] = TDVMCALL_INVALID_OPERAND;
    }
    if (vmm[R_R10] != TDVMCALL_SUCCESS) {
        tdx_emu_vmcall_failed(s, cpu_index, name, subfn, vmm[R_R10]);
    }
    trace_tdx_emu_vmcall_done(cpu_index, name, vmm[R_R10], vmm[R_R11]);
}

/*
 * TDG.VP.VMCALL (TDCALL leaf 0, GHCI 1.5), as the TDX module runs it: RCX
 * selects the GPRs the VMM may see and change; RAX, RCX and RSP can never
 * be exposed, nor RBP in a TD with CONFIG_FLAGS.NO_RBP_MOD (which KVM
 * gives every TD: Linux arch/x86/kvm/vmx/tdx.c setup_tdparams; td-shim
 * e3a692b), and RCX[63:32] is reserved. The VMM gets the selected GPRs and
 * zeroes elsewhere; on return only the selected GPRs take the VMM's values.
 */
uint64_t tdx_emu_vmcall(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    uint64_t control = regs[R_ECX];
    uint64_t select = control & TDVMCALL_GPR_SELECT_MASK;
    uint64_t forbidden = TDVMCALL_GPR_FORBIDDEN |
                         (s->no_rbp_mod ? 1ULL << R_EBP : 0);
    uint64_t vmm[TDX_EMU_NR_GPRS] = { 0 };
    int i;

    if ((control & TDVMCALL_RESERVED_MASK) || (select & forbidden)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tdx-emu: TDG.VP.VMCALL: invalid GPR select RCX=0x%"
                      PRIx64 "\n", control);
        tdx_emu_vmcall_failed(s, CPU(cpu)->cpu_index,
                              select & forbidden & (1ULL << R_EBP) ?
                              "RCX exposing RBP (NO_RBP_MOD)" : "RCX",
                              regs[R_R11],
                              TDX_OPERAND_INVALID | TDX_OPERAND_ID_RCX);
        return TDX_OPERAND_INVALID | TDX_OPERAND_ID_RCX;
    }
    for (i = 0; i < TDX_EMU_NR_GPRS; i++) {
        if (select & (1ULL << i)) {
            vmm[i] = regs[i];
        }
    }
    tdvmcall_dispatch(s, cpu, vmm);
    for (i = 0; i < TDX_EMU_NR_GPRS; i++) {
        if (select & (1ULL << i)) {
            regs[i] = vmm[i];
        }
    }
    return TDX_SUCCESS;
}

void tdx_emu_foreach_vmcall_count(TdxEmuState *s, TdxEmuCountFn *fn,
                                  void *opaque)
{
    size_t i;

    for (i = 0; i <= ARRAY_SIZE(tdvmcalls); i++) {
        if (s->vmcall_counts[i]) {
            fn(i < ARRAY_SIZE(tdvmcalls) ? tdvmcalls[i].name : "unknown",
               s->vmcall_counts[i], opaque);
        }
    }
}
