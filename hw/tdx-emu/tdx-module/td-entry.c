/*
 * tdx-emu: what the TDX module sets up before a TD's first instruction
 *
 * At every reset, each vCPU starts as TDH.VP.INIT leaves it (TDX module
 * 1.5 source, td_vmcs_init.c): 32-bit flat protected mode at 0xFFFFFFF0,
 * paging off, EFER.LME and NXE already set, RBX = GPAW, RCX = R8 = the TD HOB
 * GPA, RSI = vCPU index, the local APIC in x2APIC mode, and every vCPU
 * running (TDX has no INIT-SIPI).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/i386/x86.h"
#include "hw/i386/apic.h"
#include "hw/i386/apic_internal.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "tdx-module.h"

#define TD_ENTRY_RIP        0xfffffff0
#define TD_ENTRY_RFLAGS     0x2
#define TD_ENTRY_CR0        (CR0_PE_MASK | CR0_NE_MASK)         /* 0x21 */
#define TD_ENTRY_CR4        CR4_MCE_MASK                        /* 0x40 */
#define TD_ENTRY_EFER       (MSR_EFER_SCE | MSR_EFER_LME | MSR_EFER_NXE)
#define TD_CODE_AR          0xc09b  /* present, 32-bit, code, read, acc. */
#define TD_DATA_AR          0xc093  /* present, 32-bit, data, write, acc. */
#define TD_CODE_SEL         0x08
#define TD_DATA_SEL         0x10

/* QEMU keeps a descriptor's access rights in bits 8..23 of its flags */
static void load_flat_segment(CPUX86State *env, int seg, int sel, int ar)
{
    cpu_x86_load_seg_cache(env, seg, sel, 0, 0xffffffff, ar << 8);
}

static void td_entry_vcpu(CPUState *cs, run_on_cpu_data data)
{
    TdxEmuState *s = data.host_ptr;
    X86CPU *cpu = X86_CPU(cs);
    CPUX86State *env = &cpu->env;
    uint64_t cpuid_version = env->regs[R_EDX];     /* CPUID(1).EAX */
    APICCommonState *apic = APIC_COMMON(cpu->apic_state);

    load_flat_segment(env, R_CS, TD_CODE_SEL, TD_CODE_AR);
    load_flat_segment(env, R_DS, TD_DATA_SEL, TD_DATA_AR);
    load_flat_segment(env, R_ES, TD_DATA_SEL, TD_DATA_AR);
    load_flat_segment(env, R_FS, TD_DATA_SEL, TD_DATA_AR);
    load_flat_segment(env, R_GS, TD_DATA_SEL, TD_DATA_AR);
    load_flat_segment(env, R_SS, TD_DATA_SEL, TD_DATA_AR);
    cpu_x86_update_cr0(env, TD_ENTRY_CR0);
    cpu_x86_update_cr4(env, TD_ENTRY_CR4);
    cpu_load_efer(env, TD_ENTRY_EFER);
    env->eip = TD_ENTRY_RIP;
    env->eflags = TD_ENTRY_RFLAGS;

    memset(env->regs, 0, sizeof(env->regs));
    env->regs[R_EBX] = s->gpaw;
    env->regs[R_ECX] = s->fw.td_hob ? s->fw.td_hob->address : 0;
    env->regs[R_R8] = env->regs[R_ECX];
    env->regs[R_EDX] = cpuid_version;
    env->regs[R_ESI] = cs->cpu_index;

    /* x2APIC from the first instruction, no wait for SIPI */
    cpu_set_apic_base(cpu->apic_state, apic->apicbase |
                      MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD);
    apic->wait_for_sipi = 0;
    /* The VMM's local APIC is KVM's: the SVR keeps bits 0-9 */
    apic->sv_keeps_focus_bit = true;
    cs->halted = 0;
}

/*
 * The PC machine resets the local APICs once more after every device, so
 * the entry state is loaded by each vCPU itself, after the whole reset and
 * before its first instruction.
 */
void tdx_emu_td_entry_reset(TdxEmuState *s)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        async_run_on_cpu(cs, td_entry_vcpu, RUN_ON_CPU_HOST_PTR(s));
    }
}
