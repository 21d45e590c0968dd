/*
 * tdx-emu: CPUID as the TDX module virtualizes it for a TD
 *
 * The module answers the CPUID leaves of its CPUID virtualization table
 * itself (TDX module ABI, "CPUID Virtualization"): the basic leaves up to
 * the TD's maximum and the extended leaves 0x80000000-0x80000008, with
 * some bits fixed to 0 (features a TD cannot use: VMX, SMX, SGX, SVM) or
 * to 1 (what every TD has: x2APIC, the TSC-deadline timer, the
 * hypervisor bit), and leaf 0x21 with the TDX signature
 * (qemu-patches/0008). Any other leaf (the hypervisor range
 * 0x40000000-0x4FFFFFFF included) is a #VE, which Linux
 * (arch/x86/coco/tdx/tdx.c handle_cpuid) forwards to the VMM for the
 * hypervisor range and answers with zeros otherwise.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "tdx-module.h"

#define CPUID_EXT_LEAF_FIRST    0x80000000u
#define CPUID_EXT_LEAF_LAST     0x80000008u
#define ANY_SUBLEAF             UINT32_MAX

enum { EAX, EBX, ECX, EDX };

typedef struct TdCpuidFixed {
    uint32_t leaf, subleaf;
    uint8_t reg;
    uint32_t fixed0, fixed1;
} TdCpuidFixed;

static const TdCpuidFixed td_cpuid_fixed[] = {
    /* VMX, SMX 0; x2APIC, TSC-deadline, hypervisor 1 */
    { 0x1, ANY_SUBLEAF, ECX, CPUID_EXT_VMX | CPUID_EXT_SMX,
      CPUID_EXT_X2APIC | CPUID_EXT_TSC_DEADLINE_TIMER |
      CPUID_EXT_HYPERVISOR },
    { 0x7, 0, EBX, CPUID_7_0_EBX_SGX, 0 },
    { 0x7, 0, ECX, CPUID_7_0_ECX_SGX_LC, 0 },
    { 0x80000001, ANY_SUBLEAF, ECX, CPUID_EXT3_SVM, 0 },
};

/* Whether the module answers @leaf itself (else: #VE) */
bool tdx_emu_cpuid_leaf_virtualized(CPUX86State *env, uint32_t leaf)
{
    return leaf <= env->cpuid_level ||
           (leaf >= CPUID_EXT_LEAF_FIRST &&
            leaf <= MIN(env->cpuid_xlevel, CPUID_EXT_LEAF_LAST));
}

/* CPUID @leaf/@subleaf as the TD sees it; false: a #VE */
bool tdx_emu_cpuid(CPUX86State *env, uint32_t leaf, uint32_t subleaf,
                   uint32_t *r)
{
    size_t i;

    if (!tdx_emu_cpuid_leaf_virtualized(env, leaf)) {
        return false;
    }
    cpu_x86_cpuid(env, leaf, subleaf, &r[EAX], &r[EBX], &r[ECX], &r[EDX]);
    for (i = 0; i < ARRAY_SIZE(td_cpuid_fixed); i++) {
        const TdCpuidFixed *f = &td_cpuid_fixed[i];

        if (f->leaf == leaf &&
            (f->subleaf == ANY_SUBLEAF || f->subleaf == subleaf)) {
            r[f->reg] = (r[f->reg] & ~f->fixed0) | f->fixed1;
        }
    }
    return true;
}

/* The TD executed CPUID: answer it in its registers, or false for a #VE */
bool tdx_emu_cpuid_virt(TdxEmuState *s, X86CPU *cpu)
{
    CPUX86State *env = &cpu->env;
    uint32_t r[4];

    if (!tdx_emu_cpuid(env, env->regs[R_EAX], env->regs[R_ECX], r)) {
        return false;
    }
    env->regs[R_EAX] = r[EAX];
    env->regs[R_EBX] = r[EBX];
    env->regs[R_ECX] = r[ECX];
    env->regs[R_EDX] = r[EDX];
    return true;
}
