/*
 * tdx-emu: the MSRs the VMM serves through TDG.VP.VMCALL<Instruction.RDMSR>
 * and <Instruction.WRMSR> (GHCI 1.5, R11 = 0x1F / 0x20)
 *
 * A TD reaches the VMM for the MSRs the TDX module does not virtualize
 * itself. The set and the rules follow KVM's TDX support
 * (arch/x86/kvm/vmx/tdx.c tdx_has_emulated_msr): the APIC base, PAT,
 * MTRRs, the TSC deadline, machine-check banks, a few feature MSRs and
 * the x2APIC registers the CPU does not virtualize (not TPR, PPR, EOI,
 * ISR, TMR or IRR), and with crash-msrs=on the Hyper-V crash MSRs
 * (crash.c). Values come from the vCPU's own state, as TCG's
 * RDMSR/WRMSR keep it. Any other MSR, or a write KVM would refuse, is
 * TDG.VP.VMCALL_INVALID_OPERAND.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "hw/i386/apic.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "vmm.h"
#include "hw/tdx-emu/tdx-abi.h"

#define MSR_PLATFORM_ID         0x17
#define MSR_BIOS_SIGN_ID        0x8b
#define MSR_PLATFORM_INFO       0xce
#define MSR_POWER_CTL           0x1fc
#define MSR_X2APIC_FIRST        0x800
#define MSR_X2APIC_LAST         0x8ff
#define MCE_BANK_MSRS           (MCE_BANKS_DEF * 4)

typedef bool MsrRead(CPUX86State *env, uint32_t msr, uint64_t *val);
typedef bool MsrWrite(CPUX86State *env, uint32_t msr, uint64_t val);

typedef struct TdMsr {
    uint32_t first, last;
    MsrRead *read;
    MsrWrite *write;            /* NULL: read-only */
} TdMsr;

static bool read_zero(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    *val = 0;
    return true;
}

static bool read_apic_base(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    *val = cpu_get_apic_base(env_archcpu(env)->apic_state);
    return true;
}

/* A TD's APIC stays enabled in x2APIC mode at its base: no change */
static bool write_apic_base(CPUX86State *env, uint32_t msr, uint64_t val)
{
    return val == cpu_get_apic_base(env_archcpu(env)->apic_state);
}

static bool read_x2apic(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    return apic_msr_read(msr - MSR_X2APIC_FIRST, val) >= 0;
}

static bool write_x2apic(CPUX86State *env, uint32_t msr, uint64_t val)
{
    return apic_msr_write(msr - MSR_X2APIC_FIRST, val) >= 0;
}

static bool read_ucode_rev(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    *val = env_archcpu(env)->ucode_rev;
    return true;
}

/*
 * The guest's write before reading the revision (SDM vol. 3, "Microcode
 * Update Signature"), which KVM accepts and ignores
 * (arch/x86/kvm/x86.c kvm_set_msr_common: only the host sets it)
 */
static bool write_ucode_rev(CPUX86State *env, uint32_t msr, uint64_t val)
{
    return true;
}

static bool read_arch_caps(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    *val = env->features[FEAT_ARCH_CAPABILITIES];
    return true;
}

static bool read_misc_enable(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    *val = env->msr_ia32_misc_enable;
    return true;
}

static bool read_feat_ctl(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    *val = env->msr_ia32_feature_control;
    return true;
}

static bool read_efer(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    *val = env->efer;
    return true;
}

/* PAT: eight memory types, each 0, 1, 4, 5, 6 or 7 */
static bool pat_valid(uint64_t val)
{
    int i;

    for (i = 0; i < 8; i++) {
        uint8_t type = val >> (8 * i);

        if (type > 7 || type == 2 || type == 3) {
            return false;
        }
    }
    return true;
}

static bool read_pat(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    *val = env->pat;
    return true;
}

static bool write_pat(CPUX86State *env, uint32_t msr, uint64_t val)
{
    if (!pat_valid(val)) {
        return false;
    }
    env->pat = val;
    return true;
}

static bool read_mtrr_cap(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    *val = (env->features[FEAT_1_EDX] & CPUID_MTRR) ?
           MSR_MTRRcap_VCNT | MSR_MTRRcap_FIXRANGE_SUPPORT |
           MSR_MTRRcap_WC_SUPPORTED : 0;
    return true;
}

/* Where an MTRR lives in CPUX86State, or NULL for a hole in the range */
static uint64_t *mtrr_slot(CPUX86State *env, uint32_t msr)
{
    uint32_t var = msr - MSR_MTRRphysBase(0);

    if (msr == MSR_MTRRdefType) {
        return &env->mtrr_deftype;
    }
    if (var < 2 * MSR_MTRRcap_VCNT) {
        return var & 1 ? &env->mtrr_var[var / 2].mask
                       : &env->mtrr_var[var / 2].base;
    }
    if (msr == MSR_MTRRfix64K_00000) {
        return &env->mtrr_fixed[0];
    }
    if (msr >= MSR_MTRRfix16K_80000 && msr <= MSR_MTRRfix16K_A0000) {
        return &env->mtrr_fixed[1 + msr - MSR_MTRRfix16K_80000];
    }
    if (msr >= MSR_MTRRfix4K_C0000 && msr <= MSR_MTRRfix4K_F8000) {
        return &env->mtrr_fixed[3 + msr - MSR_MTRRfix4K_C0000];
    }
    return NULL;
}

static bool read_mtrr(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    uint64_t *slot = mtrr_slot(env, msr);

    if (!slot || !(env->features[FEAT_1_EDX] & CPUID_MTRR)) {
        return false;
    }
    *val = *slot;
    return true;
}

static bool write_mtrr(CPUX86State *env, uint32_t msr, uint64_t val)
{
    uint64_t *slot = mtrr_slot(env, msr);

    if (!slot || !(env->features[FEAT_1_EDX] & CPUID_MTRR)) {
        return false;
    }
    *slot = val;
    return true;
}

static bool read_tsc_deadline(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    *val = apic_get_tsc_deadline(env_archcpu(env)->apic_state);
    return true;
}

static bool write_tsc_deadline(CPUX86State *env, uint32_t msr, uint64_t val)
{
    apic_set_tsc_deadline(env_archcpu(env)->apic_state, val);
    return true;
}

static bool read_mcg(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    switch (msr) {
    case MSR_MCG_CAP:
        *val = env->mcg_cap;
        return true;
    case MSR_MCG_STATUS:
        *val = env->mcg_status;
        return true;
    case MSR_MCG_CTL:
        *val = env->mcg_ctl;
        return true;
    default:
        *val = env->mcg_ext_ctl;
        return true;
    }
}

static bool write_mcg(CPUX86State *env, uint32_t msr, uint64_t val)
{
    switch (msr) {
    case MSR_MCG_STATUS:
        env->mcg_status = val;
        return true;
    case MSR_MCG_CTL:
        /* As the architecture has it: all 0s or all 1s */
        if (val && val != ~0ULL) {
            return false;
        }
        env->mcg_ctl = val;
        return true;
    default:
        return false;
    }
}

static bool read_mce_bank(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    uint32_t i = msr - MSR_MC0_CTL;

    if (i >= (env->mcg_cap & 0xff) * 4) {
        return false;
    }
    *val = env->mce_banks[i];
    return true;
}

static bool write_mce_bank(CPUX86State *env, uint32_t msr, uint64_t val)
{
    uint32_t i = msr - MSR_MC0_CTL;

    if (i >= (env->mcg_cap & 0xff) * 4) {
        return false;
    }
    env->mce_banks[i] = val;
    return true;
}

/* x2APIC registers the CPU virtualizes: the VMM cannot reach them */
static bool x2apic_virtualized(uint32_t msr)
{
    uint32_t reg = msr - MSR_X2APIC_FIRST;

    return reg == 0x08 || reg == 0x0a || reg == 0x0b ||  /* TPR, PPR, EOI */
           (reg >= 0x10 && reg <= 0x27);                 /* ISR, TMR, IRR */
}

static const TdMsr td_msrs[] = {
    { MSR_PLATFORM_ID, MSR_PLATFORM_ID, read_zero, NULL },
    { MSR_IA32_APICBASE, MSR_IA32_APICBASE, read_apic_base,
      write_apic_base },
    { MSR_IA32_FEATURE_CONTROL, MSR_IA32_FEATURE_CONTROL, read_feat_ctl,
      NULL },
    { MSR_BIOS_SIGN_ID, MSR_BIOS_SIGN_ID, read_ucode_rev, write_ucode_rev },
    { MSR_IA32_ARCH_CAPABILITIES, MSR_IA32_ARCH_CAPABILITIES, read_arch_caps,
      NULL },
    { MSR_PLATFORM_INFO, MSR_PLATFORM_INFO, read_zero, NULL },
    { MSR_MTRRcap, MSR_MTRRcap, read_mtrr_cap, NULL },
    { MSR_MCG_CAP, MSR_MCG_CTL, read_mcg, write_mcg },
    { MSR_IA32_MISC_ENABLE, MSR_IA32_MISC_ENABLE, read_misc_enable, NULL },
    { MSR_POWER_CTL, MSR_POWER_CTL, read_zero, NULL },
    { MSR_MTRRphysBase(0), MSR_MTRRfix4K_F8000, read_mtrr, write_mtrr },
    { MSR_PAT, MSR_PAT, read_pat, write_pat },
    { MSR_MTRRdefType, MSR_MTRRdefType, read_mtrr, write_mtrr },
    { MSR_MC0_CTL, MSR_MC0_CTL + MCE_BANK_MSRS - 1, read_mce_bank,
      write_mce_bank },
    { MSR_MCG_EXT_CTL, MSR_MCG_EXT_CTL, read_mcg, NULL },
    { MSR_IA32_TSCDEADLINE, MSR_IA32_TSCDEADLINE, read_tsc_deadline,
      write_tsc_deadline },
    { MSR_X2APIC_FIRST, MSR_X2APIC_LAST, read_x2apic, write_x2apic },
    { MSR_EFER, MSR_EFER, read_efer, NULL },
};

static const TdMsr *td_msr_find(uint64_t msr)
{
    size_t i;

    if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST &&
        x2apic_virtualized(msr)) {
        return NULL;
    }
    for (i = 0; i < ARRAY_SIZE(td_msrs); i++) {
        if (msr >= td_msrs[i].first && msr <= td_msrs[i].last) {
            return &td_msrs[i];
        }
    }
    return NULL;
}

/* Instruction.RDMSR: R12 = MSR; R11 = its value */
uint64_t tdx_emu_vmcall_rdmsr(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    const TdMsr *m = td_msr_find(vmm[R_R12]);
    uint64_t value;

    if (tdx_emu_crash_rdmsr(s, vmm[R_R12], &value)) {
        vmm[R_R11] = value;
        return TDVMCALL_SUCCESS;
    }
    if (!m || !m->read(&cpu->env, vmm[R_R12], &value)) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: RDMSR 0x%" PRIx64
                      " refused\n", vmm[R_R12]);
        return TDVMCALL_INVALID_OPERAND;
    }
    vmm[R_R11] = value;
    return TDVMCALL_SUCCESS;
}

/* Instruction.WRMSR: R12 = MSR, R13 = value */
uint64_t tdx_emu_vmcall_wrmsr(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    const TdMsr *m = td_msr_find(vmm[R_R12]);

    if (tdx_emu_crash_wrmsr(s, vmm[R_R12], vmm[R_R13])) {
        return TDVMCALL_SUCCESS;
    }
    if (!m || !m->write || !m->write(&cpu->env, vmm[R_R12], vmm[R_R13])) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: WRMSR 0x%" PRIx64
                      " refused\n", vmm[R_R12]);
        return TDVMCALL_INVALID_OPERAND;
    }
    return TDVMCALL_SUCCESS;
}
