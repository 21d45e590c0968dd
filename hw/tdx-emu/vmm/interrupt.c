/*
 * tdx-emu: SetupEventNotifyInterrupt and interrupt injection into the TD
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "exec/address-spaces.h"
#include "hw/i386/apic-msidef.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "vmm.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "trace.h"

#define APIC_MSI_BASE       0xfee00000ULL
#define MSI_MAX_DEST_ID     0xff

/*
 * The one injection path of the device: a fixed, edge-triggered interrupt
 * to @apic_id, written into the local APICs' MSI window the way a PCI
 * device's MSI reaches them under TCG. Needs the BQL (vCPU helpers and the
 * main loop both hold it when they get here).
 */
void tdx_emu_inject_interrupt(TdxEmuState *s, uint32_t apic_id,
                              uint8_t vector)
{
    uint64_t addr = APIC_MSI_BASE | (apic_id << MSI_ADDR_DEST_ID_SHIFT);
    MemTxResult res;

    assert(bql_locked());
    if (apic_id > MSI_MAX_DEST_ID) {
        qemu_log_mask(LOG_UNIMP, "tdx-emu: cannot inject vector 0x%x into "
                      "APIC ID %u (above 255)\n", vector, apic_id);
        return;
    }
    trace_tdx_emu_inject_interrupt(apic_id, vector);
    address_space_stl_le(&address_space_memory, addr,
                         vector << MSI_DATA_VECTOR_SHIFT,
                         MEMTXATTRS_UNSPECIFIED, &res);
    if (res != MEMTX_OK) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: MSI write for vector 0x%x "
                      "to APIC ID %u failed\n", vector, apic_id);
    }
}

/*
 * SetupEventNotifyInterrupt (GHCI 1.5, R11 = 0x10004): R12 = the vector
 * the VMM raises on the calling vCPU when an asynchronous service (e.g.
 * GetQuote) completes. Vectors 0-31 are exceptions: INVALID_OPERAND.
 */
uint64_t tdx_emu_vmcall_setup_event_notify(TdxEmuState *s, X86CPU *cpu,
                                           uint64_t *vmm)
{
    uint64_t vector = vmm[R_R12];

    if (vector < TDX_EVENT_NOTIFY_MIN_VECTOR || vector > 255) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: SetupEventNotifyInterrupt: "
                      "vector %" PRIu64 " is not in 32..255\n", vector);
        return TDVMCALL_INVALID_OPERAND;
    }
    s->event_notify.vector = vector;
    s->event_notify.apic_id = cpu->apic_id;
    return TDVMCALL_SUCCESS;
}

/* Raise the registered event-notify interrupt, if the TD registered one */
void tdx_emu_notify_event(TdxEmuState *s)
{
    if (!s->event_notify.vector) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: event to notify, but the TD "
                      "has not called SetupEventNotifyInterrupt\n");
        return;
    }
    tdx_emu_inject_interrupt(s, s->event_notify.apic_id,
                             s->event_notify.vector);
}
