/*
 * tdx-emu: the Hyper-V guest crash MSRs, with crash-msrs=on
 *
 * MigTD's vmcall-raw builds look for them (MigTD src/migtd/src/driver/
 * crash.rs): CPUID 0x40000000 must report a maximum leaf above 0x40000003
 * and CPUID 0x40000003 EDX bit 10 must be set (Hyper-V TLFS, "Guest crash
 * MSRs available"); on a panic MigTD then writes the error code to
 * HV_X64_MSR_CRASH_P0 (0x40000100), the GPA and length of a text message to
 * P3 and P4 (0x40000103, 0x40000104) and the notify and message bits to
 * HV_X64_MSR_CRASH_CTL (0x40000105). In a TD every CPUID leaf and MSR of
 * the hypervisor range raises #VE, and the TD asks the VMM with
 * TDG.VP.VMCALL<Instruction.CPUID/RDMSR/WRMSR> (GHCI 1.5): this is the
 * VMM's side of those calls.
 *
 * CRASH_CTL's notify and message bits are 63 and 62 in the TLFS (as KVM and
 * QEMU's hyperv code have them); MigTD's crash.rs writes bits 0 and 1. Both
 * are taken. A notify reports the crash as QEMU reports a Hyper-V one
 * (GUEST_PANICKED with the hyper-v information P0..P4) and keeps the
 * message for query-tdx-emu.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qapi/qapi-types-run-state.h"
#include "system/runstate.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "vmm.h"
#include "trace.h"

#define HV_CPUID_VENDOR         0x40000000
#define HV_CPUID_INTERFACE      0x40000001
#define HV_CPUID_FEATURES       0x40000003
#define HV_CPUID_LAST           0x40000005      /* implementation limits */
#define HV_INTERFACE_HV1        0x31237648      /* "Hv#1" */
#define HV_GUEST_CRASH_MSRS     (1u << 10)      /* CPUID 0x40000003 EDX */

#define HV_MSR_CRASH_P0         0x40000100
#define HV_MSR_CRASH_P3         0x40000103
#define HV_MSR_CRASH_P4         0x40000104
#define HV_MSR_CRASH_CTL        0x40000105

#define HV_CRASH_NOTIFY         (1ULL << 63)
#define HV_CRASH_MESSAGE        (1ULL << 62)
#define MIGTD_CRASH_NOTIFY      (1ULL << 0)     /* MigTD driver/crash.rs */
#define MIGTD_CRASH_MESSAGE     (1ULL << 1)

/* MigTD sends messages shorter than a page; longer ones are cut there */
#define CRASH_MESSAGE_MAX       4096

/*
 * Instruction.CPUID for the Hyper-V leaves: "Microsoft Hv", interface
 * "Hv#1", and only the crash MSRs among the features. False: not one of
 * them (or crash-msrs=off), the vCPU's CPUID answers.
 */
bool tdx_emu_crash_cpuid(TdxEmuState *s, uint32_t leaf, uint32_t *regs)
{
    if (!s->crash_msrs || leaf < HV_CPUID_VENDOR || leaf > HV_CPUID_LAST) {
        return false;
    }
    memset(regs, 0, 4 * sizeof(*regs));
    switch (leaf) {
    case HV_CPUID_VENDOR:
        regs[0] = HV_CPUID_LAST;
        memcpy(&regs[1], "Microsoft Hv", 12);       /* EBX, ECX, EDX */
        break;
    case HV_CPUID_INTERFACE:
        regs[0] = HV_INTERFACE_HV1;
        break;
    case HV_CPUID_FEATURES:
        regs[3] = HV_GUEST_CRASH_MSRS;
        break;
    }
    return true;
}

static bool crash_msr(TdxEmuState *s, uint64_t msr)
{
    return s->crash_msrs && msr >= HV_MSR_CRASH_P0 && msr <= HV_MSR_CRASH_CTL;
}

/* RDMSR: P0..P4 as written; CRASH_CTL reads the bits it supports (TLFS) */
bool tdx_emu_crash_rdmsr(TdxEmuState *s, uint64_t msr, uint64_t *value)
{
    if (!crash_msr(s, msr)) {
        return false;
    }
    *value = msr == HV_MSR_CRASH_CTL ? HV_CRASH_NOTIFY | HV_CRASH_MESSAGE
                                     : s->crash.params[msr - HV_MSR_CRASH_P0];
    return true;
}

static char *crash_message(TdxEmuState *s)
{
    uint64_t gpa = s->crash.params[HV_MSR_CRASH_P3 - HV_MSR_CRASH_P0];
    uint64_t len = s->crash.params[HV_MSR_CRASH_P4 - HV_MSR_CRASH_P0];
    g_autofree char *buf = NULL;

    if (!len) {
        return g_strdup("");
    }
    len = MIN(len, CRASH_MESSAGE_MAX);
    buf = g_malloc0(len);
    if (!tdx_emu_read_shared(s, gpa, buf, len)) {
        return g_strdup("(message GPA is not RAM)");
    }
    return tdx_emu_printable(buf, len);
}

/*
 * The first crash of a TD is a guest panic; later ones (a TD that goes on,
 * with -action panic=none) only update query-tdx-emu and the trace, so a
 * TD writing CRASH_CTL in a loop cannot flood stderr or the QMP events
 */
static void crash_report(TdxEmuState *s, bool has_message)
{
    GuestPanicInformation *info;
    bool first = !s->crash.reported;

    g_free(s->crash.message);
    s->crash.message = has_message ? crash_message(s) : NULL;
    s->crash.reported = true;
    trace_tdx_emu_crash(s->crash.params[0], s->crash.message ?: "");
    if (!first) {
        return;
    }
    error_report("tdx-emu: TD crashed (Hyper-V crash MSRs) with P0 0x%"
                 PRIx64 "%s%s", s->crash.params[0],
                 has_message ? ": " : "", has_message ? s->crash.message : "");
    info = g_new0(GuestPanicInformation, 1);
    info->type = GUEST_PANIC_INFORMATION_TYPE_HYPER_V;
    info->u.hyper_v.arg1 = s->crash.params[0];
    info->u.hyper_v.arg2 = s->crash.params[1];
    info->u.hyper_v.arg3 = s->crash.params[2];
    info->u.hyper_v.arg4 = s->crash.params[3];
    info->u.hyper_v.arg5 = s->crash.params[4];
    qemu_system_guest_panicked(info);
}

/*
 * WRMSR: P0..P4 keep any value; CRASH_CTL with a notify bit reports the
 * crash, with the message at P3 (P4 bytes) if a message bit is set too.
 * As under KVM, the vCPU goes on unless the panic action stops the VM.
 */
bool tdx_emu_crash_wrmsr(TdxEmuState *s, uint64_t msr, uint64_t value)
{
    if (!crash_msr(s, msr)) {
        return false;
    }
    if (msr != HV_MSR_CRASH_CTL) {
        s->crash.params[msr - HV_MSR_CRASH_P0] = value;
    } else if (value & (HV_CRASH_NOTIFY | MIGTD_CRASH_NOTIFY)) {
        crash_report(s, value & (HV_CRASH_MESSAGE | MIGTD_CRASH_MESSAGE));
    }
    return true;
}

void tdx_emu_crash_reset(TdxEmuState *s)
{
    g_free(s->crash.message);
    memset(&s->crash, 0, sizeof(s->crash));
}
