/*
 * tdx-emu: the CPU a TD sees
 *
 * A TD runs on an Intel CPU whose CPUID the TDX module shapes; TD firmware
 * relies on parts of it that a TCG CPU model may lack:
 * - CPUID leaf 0x21 "IntelTDX    ", the hypervisor bit CPUID.1:ECX[31] and
 *   a CPUID level of at least 0x21: how OVMF (OvmfPkg ResetVector
 *   IntelTdx.asm IsTdx) and Linux (arch/x86/coco/tdx/tdx.c) know they are
 *   in a TD (qemu-patches/0008);
 * - CPUID.1:ECX[24], a working TSC-deadline timer: MigTD panics without it
 *   (MigTD src/migtd/src/driver/timer.rs);
 * - CPUID leaf 0x15 (and a CPUID level that reaches it) describing the TSC
 *   rate: MigTD divides by it to program its 1 ms tick;
 * - the GenuineIntel vendor: MigTD's RDRAND path refuses older AMD families.
 * What the device can provide it adds; a CPU model that explicitly removes
 * what a TD must have is refused, naming the property.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "hw/core/cpu.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "tdx-module.h"

#define TD_MIN_CPUID_LEVEL      0x21
#define TD_DEFAULT_TSC_KHZ      2000000     /* 2 GHz, when none is set */

static bool td_cpu_check(X86CPU *cpu, Error **errp)
{
    CPUX86State *env = &cpu->env;

    if ((env->user_features[FEAT_1_ECX] & CPUID_EXT_TSC_DEADLINE_TIMER) &&
        !(env->features[FEAT_1_ECX] & CPUID_EXT_TSC_DEADLINE_TIMER)) {
        error_setg(errp, "%s: a TD needs the TSC-deadline timer, but the "
                   "CPU model has tsc-deadline=off", TYPE_TDX_EMU);
        error_append_hint(errp, "Drop -tsc-deadline from -cpu.\n");
        return false;
    }
    return true;
}

static void td_cpu_setup(X86CPU *cpu)
{
    CPUX86State *env = &cpu->env;

    env->features[FEAT_1_ECX] |= CPUID_EXT_TSC_DEADLINE_TIMER |
                                 CPUID_EXT_HYPERVISOR;
    env->cpuid_level = MAX(env->cpuid_level, TD_MIN_CPUID_LEVEL);
    cpu->tdx_guest_leaf = true;
    if (!env->tsc_khz) {
        env->tsc_khz = TD_DEFAULT_TSC_KHZ;
    }
}

bool tdx_emu_cpu_realize(TdxEmuState *s, Error **errp)
{
    X86CPU *bsp = X86_CPU(first_cpu);
    CPUState *cs;

    CPU_FOREACH(cs) {
        if (!td_cpu_check(X86_CPU(cs), errp)) {
            return false;
        }
    }
    CPU_FOREACH(cs) {
        td_cpu_setup(X86_CPU(cs));
    }
    if (!IS_INTEL_CPU(&bsp->env)) {
        warn_report("%s: a TD runs on a GenuineIntel CPU; MigTD's RDRAND "
                    "needs one (add vendor=GenuineIntel to -cpu)",
                    TYPE_TDX_EMU);
    }
    return true;
}
