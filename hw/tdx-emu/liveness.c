/*
 * tdx-emu: whether the TD can still run
 *
 * A vCPU that executes TDG.VP.VMCALL<Instruction.HLT> with R12 bit 0 set
 * (interrupts blocked, GHCI 1.5) is parked: under KVM only an NMI wakes
 * it (tdx_protected_apic_has_interrupt in arch/x86/kvm/vmx/tdx.c), and a
 * MigTD does it when it gives up. The device tells the host at once, with
 * the last TDG.VP.VMCALL that failed, which is usually why: QMP event
 * TDX_EMU_VCPU_PARKED and query-tdx-emu's parked-vcpus and
 * last-failed-vmcall. A vCPU that makes another TDCALL runs again.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/qapi-events-tdx-emu-target.h"
#include "tdx-emu.h"
#include "trace.h"

void tdx_emu_liveness_realize(TdxEmuState *s)
{
    s->live.parked = g_new0(bool, s->max_vcpus);
}

void tdx_emu_liveness_reset(TdxEmuState *s)
{
    memset(s->live.parked, 0, s->max_vcpus * sizeof(bool));
    s->live.failed = (TdxEmuFailedCall) { 0 };
}

void tdx_emu_vmcall_failed(TdxEmuState *s, int cpu_index, const char *name,
                           uint64_t subfn, uint64_t status)
{
    s->live.failed = (TdxEmuFailedCall) {
        .valid = true, .cpu_index = cpu_index, .name = name,
        .subfn = subfn, .status = status,
    };
}

TdxEmuFailedVmcall *tdx_emu_last_failed_vmcall(TdxEmuState *s)
{
    const TdxEmuFailedCall *f = &s->live.failed;
    TdxEmuFailedVmcall *info;

    if (!f->valid) {
        return NULL;
    }
    info = g_new0(TdxEmuFailedVmcall, 1);
    info->cpu_index = f->cpu_index;
    info->name = g_strdup(f->name);
    info->subfunction = f->subfn;
    info->status = f->status;
    return info;
}

void tdx_emu_vcpu_parked(TdxEmuState *s, int cpu_index)
{
    g_autoptr(TdxEmuFailedVmcall) failed = tdx_emu_last_failed_vmcall(s);

    s->live.parked[cpu_index] = true;
    trace_tdx_emu_vcpu_parked(cpu_index, failed ? failed->name : "none");
    qapi_event_send_tdx_emu_vcpu_parked(cpu_index, failed);
}

void tdx_emu_vcpu_running(TdxEmuState *s, int cpu_index)
{
    s->live.parked[cpu_index] = false;
}

uint32List *tdx_emu_parked_vcpus(TdxEmuState *s)
{
    uint32List *head = NULL, **tail = &head;
    uint32_t i;

    for (i = 0; i < s->max_vcpus; i++) {
        if (s->live.parked[i]) {
            QAPI_LIST_APPEND(tail, i);
        }
    }
    return head;
}
