/*
 * tdx-emu: MigTD's vmcall-raw TDG.VP.VMCALL (R11 = 0x10006)
 *
 * R12[15:0] is the MigTD leaf, R12[23:16] its API version (1), the rest of
 * R12 is reserved (GHCI 1.5; MigTD src/devices/vmcall_raw). WaitForRequest
 * hands the VMM a shared buffer that it keeps until it has a request to
 * deliver into it (request.c); ReportStatus completes a request; Send and
 * Receive carry a migration's bytes (stream.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"
#include "vmm.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "trace.h"

#define MIGTD_LEAF_MASK         0xffffULL
#define MIGTD_VERSION_SHIFT     16
#define MIGTD_VERSION           1
#define MIGTD_WAIT_FOR_REQUEST  1
#define MIGTD_REPORT_STATUS     2
#define MIGTD_SEND              3
#define MIGTD_RECEIVE           4
#define MIGTD_BUFFER_MAX        (1 * MiB)

/*
 * WaitForRequest (MigTD src/devices/vmcall_raw, leaf 1): R13 = buffer length,
 * R14 = buffer GPA | S (4 KiB aligned), R15 = the vector to raise when a
 * request is written there. The newest buffer is the one requests go into.
 */
static uint64_t migtd_wait_for_request(TdxEmuState *s, X86CPU *cpu,
                                       uint64_t *vmm)
{
    uint64_t len = vmm[R_R13], gpa = vmm[R_R14] & ~tdx_emu_shared_bit(s);
    uint64_t vector = vmm[R_R15];

    if (!QEMU_IS_ALIGNED(vmm[R_R14], 4 * KiB)) {
        return TDVMCALL_ALIGN_ERROR;
    }
    if (!len || len > MIGTD_BUFFER_MAX ||
        vector < TDX_EVENT_NOTIFY_MIN_VECTOR || vector > 255 ||
        !tdx_emu_ram_range(s, gpa, len)) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: WaitForRequest: bad buffer "
                      "0x%" PRIx64 " + 0x%" PRIx64 " or vector %" PRIu64
                      "\n", vmm[R_R14], len, vector);
        return TDVMCALL_INVALID_OPERAND;
    }
    s->wfr.pending = true;
    s->wfr.buf = (TdxEmuRawBuf) {
        .gpa = gpa, .len = len, .vector = vector, .apic_id = cpu->apic_id,
    };
    s->wfr.count++;
    trace_tdx_emu_wait_for_request(gpa, len, vector);
    tdx_emu_requests_deliver(s);
    return TDVMCALL_SUCCESS;
}

uint64_t tdx_emu_vmcall_migtd(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint64_t leaf = vmm[R_R12] & MIGTD_LEAF_MASK;

    if (vmm[R_R12] >> MIGTD_VERSION_SHIFT != MIGTD_VERSION) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: MigTD VMCALL: R12=0x%" PRIx64
                      " is not API version 1\n", vmm[R_R12]);
        return TDVMCALL_INVALID_OPERAND;
    }
    switch (leaf) {
    case MIGTD_WAIT_FOR_REQUEST:
        return migtd_wait_for_request(s, cpu, vmm);
    case MIGTD_REPORT_STATUS:
        return tdx_emu_migtd_report_status(s, cpu, vmm);
    case MIGTD_SEND:
        return tdx_emu_migtd_send(s, cpu, vmm);
    case MIGTD_RECEIVE:
        return tdx_emu_migtd_receive(s, cpu, vmm);
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: no MigTD VMCALL leaf %"
                      PRIu64 "\n", leaf);
        return TDVMCALL_INVALID_OPERAND;
    }
}
