/*
 * tdx-emu: the virtualization exception (#VE) and the instructions the TDX
 * module intercepts in a TD
 *
 * In a TD, CPUID, RDMSR/WRMSR, port I/O, HLT, MONITOR/MWAIT, WBINVD and
 * VMCALL exit to the TDX module, which answers CPUID leaves and MSRs it
 * virtualizes itself and turns the rest into a #VE (vector 20) (TDX module
 * ABI, "Virtualization Exception", and its CPUID and MSR virtualization
 * tables); so does an EPT violation: an access to a shared GPA the VMM
 * has not mapped (KVM maps RAM there and leaves emulated devices unmapped,
 * so that the TD asks for MMIO with TDG.VP.VMCALL<#VE.RequestMMIO>), and
 * one to private RAM the TD has not accepted (a PENDING page in the secure
 * EPT; with SEPT_VE_DISABLE the module exits to the VMM instead, and KVM
 * kills the TD: arch/x86/kvm/vmx/tdx.c tdx_handle_ept_violation(), "Guest
 * access before accepting"). The TD reads why with TDG.VP.VEINFO.GET and
 * asks the VMM with TDG.VP.VMCALL (GHCI 1.5, "#VE"), as Linux
 * arch/x86/coco/tdx/tdx.c virt_exception_kernel(), edk2 OvmfPkg CcExitLib
 * CcExitHandleVe() and td-shim td-exception do. A #VE the module would
 * inject while the vCPU's #VE info is still valid (not yet read) becomes a
 * #DF, as in the module's tdx_inject_ve().
 *
 * qemu-patches/0010 hands these instructions, and 0011 each page a vCPU is
 * about to map and each paging-structure entry it walks, to
 * tdx_emu_ve_exit() when the device has ve=on (the default); TDCALL memory
 * operands come through tdx_emu_ve_operand().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/rcu.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "system/runstate.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "tdx-module.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "trace.h"

/*
 * How the module treats an MSR it intercepts (TDX module ABI, "MSR
 * Virtualization"): the TD reads and writes it natively or the module
 * virtualizes it (here: TCG runs it), it gets #GP(0), or #VE. MSRs not
 * listed are #VE.
 */
typedef struct TdMsrRange {
    uint32_t first, last;
    X86TdExitAction action;
} TdMsrRange;

static const TdMsrRange td_msrs[] = {
    /* TSC; FEATURE_CONTROL, TSC_ADJUST; SPEC_CTRL, PRED_CMD */
    { 0x00000010, 0x00000010, X86_TD_EXIT_NATIVE },
    { 0x0000003a, 0x0000003b, X86_TD_EXIT_NATIVE },
    { 0x00000048, 0x00000049, X86_TD_EXIT_NATIVE },
    { 0x0000009e, 0x0000009e, X86_TD_EXIT_GP },      /* IA32_SMBASE */
    /* Read-only: XAPIC_DISABLE_STATUS, ARCH_CAPABILITIES (td_msr_read_virt) */
    { 0x000000bd, 0x000000bd, X86_TD_EXIT_GP },
    { 0x0000010a, 0x0000010a, X86_TD_EXIT_GP },
    /* FLUSH_CMD; SYSENTER_*; MISC_ENABLE; DEBUGCTL; PAT */
    { 0x0000010b, 0x0000010b, X86_TD_EXIT_NATIVE },
    { 0x00000174, 0x00000176, X86_TD_EXIT_NATIVE },
    { 0x000001a0, 0x000001a0, X86_TD_EXIT_NATIVE },
    { 0x000001d9, 0x000001d9, X86_TD_EXIT_NATIVE },
    { 0x00000277, 0x00000277, X86_TD_EXIT_NATIVE },
    { 0x00000480, 0x00000492, X86_TD_EXIT_GP },      /* IA32_VMX_*: no VMX */
    /* x2APIC the CPU virtualizes: TPR, PPR, EOI, ISR-IRR, SELF_IPI */
    { 0x00000808, 0x00000808, X86_TD_EXIT_NATIVE },
    { 0x0000080a, 0x0000080b, X86_TD_EXIT_NATIVE },
    { 0x00000810, 0x00000827, X86_TD_EXIT_NATIVE },
    { 0x0000083f, 0x0000083f, X86_TD_EXIT_NATIVE },
    { 0x00000da0, 0x00000da0, X86_TD_EXIT_NATIVE },  /* IA32_XSS */
    /* EFER, STAR..FMASK; FS/GS/KERNEL_GS_BASE, TSC_AUX */
    { 0xc0000080, 0xc0000084, X86_TD_EXIT_NATIVE },
    { 0xc0000100, 0xc0000103, X86_TD_EXIT_NATIVE },
};

/*
 * MSRs the module answers itself. A TD's local APIC is in x2APIC mode for
 * good: IA32_ARCH_CAPABILITIES.XAPIC_DISABLE_STATUS (bit 21) is set and
 * IA32_XAPIC_DISABLE_STATUS says LEGACY_XAPIC_DISABLED, so Linux keeps
 * x2APIC (arch/x86/kernel/apic/apic.c x2apic_state X2APIC_ON_LOCKED)
 * instead of switching to the xAPIC MMIO a TD cannot use.
 */
#define MSR_XAPIC_DISABLE_STATUS        0xbd
#define ARCH_CAP_XAPIC_DISABLE_STATUS   (1ULL << 21)
#define LEGACY_XAPIC_DISABLED           1

static bool td_msr_read_virt(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    switch (msr) {
    case MSR_IA32_ARCH_CAPABILITIES:
        *val = env->features[FEAT_ARCH_CAPABILITIES] |
               ARCH_CAP_XAPIC_DISABLE_STATUS;
        return true;
    case MSR_XAPIC_DISABLE_STATUS:
        *val = LEGACY_XAPIC_DISABLED;
        return true;
    }
    return false;
}

static X86TdExitAction td_msr_action(uint32_t msr)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(td_msrs); i++) {
        if (msr >= td_msrs[i].first && msr <= td_msrs[i].last) {
            return td_msrs[i].action;
        }
    }
    return X86_TD_EXIT_VE;
}

/* Record the #VE info (or find it still valid: #DF) */
static X86TdExitAction ve_inject(TdxEmuState *s, X86CPU *cpu,
                                 const X86TdExit *exit)
{
    int cpu_index = CPU(cpu)->cpu_index;
    TdxEmuVeInfo *ve = &s->ve_info[cpu_index];

    if (ve->valid) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: cpu %d: #VE (exit reason %u)"
                      " while the last #VE's info is unread: #DF\n",
                      cpu_index, exit->reason);
        trace_tdx_emu_ve_df(cpu_index, exit->reason);
        return X86_TD_EXIT_DF;
    }
    ve->exit = *exit;
    ve->valid = true;
    qatomic_set(&ve->count, ve->count + 1);     /* only this vCPU's */
    trace_tdx_emu_ve(cpu_index, exit->reason, exit->qualification, exit->gpa,
                     exit->insn_len);
    return X86_TD_EXIT_VE;
}

/* EPT violation exit qualification: the access (Intel SDM vol. 3) */
#define EPT_QUAL_READ       (1 << 0)
#define EPT_QUAL_WRITE      (1 << 1)

/* Whether the VMM maps @gpa in the shared EPT: RAM, or ROM read as RAM */
static bool shared_gpa_mapped(uint64_t gpa)
{
    MemoryRegion *mr;
    hwaddr xlat, len = 1;

    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(&address_space_memory, gpa, &xlat, &len,
                                 false, MEMTXATTRS_UNSPECIFIED);
    return memory_region_is_ram(mr) || memory_region_is_romd(mr);
}

/*
 * As KVM on an exit for a pending page: the TD is dead (its vCPUs never
 * run again) and QEMU stops as on a failed KVM_RUN (internal-error)
 */
static X86TdExitAction kill_td(TdxEmuState *s, X86CPU *cpu,
                               const X86TdExit *exit)
{
    char *why = g_strdup_printf("vCPU %d accessed GPA 0x%" PRIx64
                                " before accepting it (SEPT_VE_DISABLE)",
                                CPU(cpu)->cpu_index, exit->gpa);

    if (qatomic_cmpxchg(&s->killed, NULL, why) == NULL) {
        error_report("tdx-emu: the TD is dead: %s", why);
        trace_tdx_emu_td_killed(CPU(cpu)->cpu_index, exit->gpa);
        qemu_system_vmstop_request_prepare();
        qemu_system_vmstop_request(RUN_STATE_INTERNAL_ERROR);
    } else {
        g_free(why);
    }
    return X86_TD_EXIT_STOP;
}

/* An access to a page the TD has not accepted */
static X86TdExitAction ve_pending(TdxEmuState *s, X86CPU *cpu,
                                  const X86TdExit *exit)
{
    if (s->attributes & TDX_TD_ATTR_SEPT_VE_DISABLE) {
        return kill_td(s, cpu, exit);
    }
    return ve_inject(s, cpu, exit);
}

/*
 * A vCPU is about to map the page of an access, or its page walk reads a
 * paging-structure entry (qemu-patches/0011)
 */
static X86TdExitAction ve_ept_violation(TdxEmuState *s, X86CPU *cpu,
                                        const X86TdExit *exit)
{
    if (exit->gpa & tdx_emu_shared_bit(s)) {
        return shared_gpa_mapped(exit->gpa) ? X86_TD_EXIT_NATIVE :
               ve_inject(s, cpu, exit);
    }
    return tdx_emu_page_pending(s, exit->gpa) ? ve_pending(s, cpu, exit) :
           X86_TD_EXIT_NATIVE;
}

/*
 * The module walks a TDCALL's memory operand as the CPU would (its
 * check_walk_and_map_guest_side_gpa()): a page the TD has not accepted is
 * an EPT violation on the TDCALL, which does not complete; the #VE reports
 * the operand's GPA, the access (read, or read and write) and no GLA.
 * Whether it is one, setting the TDCALL's action (tdcall.c puts the
 * registers back). Only with ve=on, as for the TD's own accesses.
 */
bool tdx_emu_ve_operand(TdxEmuState *s, X86CPU *cpu, uint64_t gpa,
                        uint64_t len, bool write)
{
    static const X86TdcallAction tdcall_action[] = {
        [X86_TD_EXIT_VE] = X86_TDCALL_VE,
        [X86_TD_EXIT_DF] = X86_TDCALL_DF,
        [X86_TD_EXIT_STOP] = X86_TDCALL_STOP,
    };
    X86TdExit exit = {
        .reason = X86_TD_EXIT_EPT_VIOLATION,
        .qualification = EPT_QUAL_READ | (write ? EPT_QUAL_WRITE : 0),
    };
    uint64_t page;

    if (!s->ve) {
        return false;
    }
    for (page = QEMU_ALIGN_DOWN(gpa, TARGET_PAGE_SIZE); page < gpa + len;
         page += TARGET_PAGE_SIZE) {
        if (tdx_emu_page_pending(s, page)) {
            exit.gpa = MAX(gpa, page);
            s->halt = tdcall_action[ve_pending(s, cpu, &exit)];
            return true;
        }
    }
    return false;
}

static X86TdExitAction tdx_emu_ve_exit(void *opaque, X86CPU *cpu,
                                       const X86TdExit *exit)
{
    TdxEmuState *s = opaque;
    CPUX86State *env = &cpu->env;
    X86TdExitAction action = X86_TD_EXIT_VE;
    uint64_t value;

    switch (exit->reason) {
    case X86_TD_EXIT_CPUID:
        if (tdx_emu_cpuid_virt(s, cpu)) {
            return X86_TD_EXIT_DONE;
        }
        break;
    case X86_TD_EXIT_RDMSR:
        if (td_msr_read_virt(env, env->regs[R_ECX], &value)) {
            env->regs[R_EAX] = (uint32_t)value;
            env->regs[R_EDX] = value >> 32;
            return X86_TD_EXIT_DONE;
        }
        /* fall through */
    case X86_TD_EXIT_WRMSR:
        action = td_msr_action(env->regs[R_ECX]);
        break;
    case X86_TD_EXIT_EPT_VIOLATION:
        return ve_ept_violation(s, cpu, exit);
    }
    return action == X86_TD_EXIT_VE ? ve_inject(s, cpu, exit) : action;
}

/*
 * TDG.VP.VEINFO.GET (TDX module ABI, leaf 3): RCX = exit reason, RDX = exit
 * qualification, R8 = GLA, R9 = GPA, R10 = instruction length | information
 * << 32, and the info is no longer valid; without valid info all of them
 * are 0 and the status is TDX_NO_VALID_VE_INFO.
 */
uint64_t tdx_emu_veinfo_get(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    TdxEmuVeInfo *ve = &s->ve_info[CPU(cpu)->cpu_index];

    regs[R_ECX] = regs[R_EDX] = regs[R_R8] = regs[R_R9] = regs[R_R10] = 0;
    if (!ve->valid) {
        return TDX_NO_VALID_VE_INFO;
    }
    regs[R_ECX] = ve->exit.reason;
    regs[R_EDX] = ve->exit.qualification;
    regs[R_R8] = ve->exit.gla;
    regs[R_R9] = ve->exit.gpa;
    regs[R_R10] = ve->exit.insn_len | (uint64_t)ve->exit.insn_info << 32;
    ve->valid = false;
    return TDX_SUCCESS;
}

void tdx_emu_ve_realize(TdxEmuState *s)
{
    s->ve_info = g_new0(TdxEmuVeInfo, s->max_vcpus);
    if (s->ve) {
        x86_td_exit_set_handler(tdx_emu_ve_exit, s);
    }
}

/* A new TD: no #VE pending on any vCPU, not killed */
void tdx_emu_ve_reset(TdxEmuState *s)
{
    uint32_t i;

    g_free(qatomic_xchg(&s->killed, NULL));

    for (i = 0; i < s->max_vcpus; i++) {
        s->ve_info[i].valid = false;
    }
}

uint64_t tdx_emu_ve_total(TdxEmuState *s)
{
    uint64_t sum = 0;
    uint32_t i;

    for (i = 0; i < s->max_vcpus; i++) {
        sum += qatomic_read(&s->ve_info[i].count);
    }
    return sum;
}
