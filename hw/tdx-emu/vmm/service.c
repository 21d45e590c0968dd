/*
 * tdx-emu: TDG.VP.VMCALL<Service> (R11 = 0x10005), the control path of
 * MigTD's non-vmcall-raw builds (virtio-vsock, virtio-serial, vmcall-vsock)
 *
 * GHCI 1.5 Service: R12 = command buffer GPA | S, R13 = response buffer
 * GPA | S (both 4 KiB aligned), R14 = the vector to raise when the
 * response is written (0: none), R15 = timeout. Command {GUID; u32 length;
 * u32 reserved} + data, response {GUID; u32 length (the buffer's size on
 * input); u32 status} + data (MigTD src/migtd/src/migration/data.rs
 * VmcallServiceCommand/Response, td-shim tdx-tdcall/src/tdx.rs
 * tdvmcall_service). The commands MigTD sends are in
 * src/migtd/src/migration/session.rs (query, wait_for_request,
 * report_status, shutdown); docs/migration.md has the layouts.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"
#include "vmm.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "trace.h"

#define SVC_HDR_SIZE            24
#define SVC_BUF_MAX             (64 * KiB)  /* MigTD's largest: 16 pages */
#define SVC_VERSION             0

/* Response status (GHCI 1.5 Service response buffer) */
#define SVC_SUCCESS             0
#define SVC_TIME_OUT            2
#define SVC_RSP_BUF_TOO_SMALL   3
#define SVC_BAD_CMD_BUF_SIZE    4
#define SVC_BAD_RSP_BUF_SIZE    5
#define SVC_INVALID_OPERAND     7
#define SVC_UNSUPPORTED         0xfffffffe

/* Commands: data[1] (MigTD migration/data.rs) */
#define SVC_QUERY               0   /* common GUID */
#define SVC_SHUTDOWN            0   /* MigTD GUID */
#define SVC_WAIT_FOR_REQUEST    1
#define SVC_REPORT_STATUS       2
#define SVC_VSOCK_SEND          3   /* vmcall-vsock */
#define SVC_VSOCK_RECV          4
#define SVC_VSOCK_HDR           12  /* {ver, command, rsv[2], u64 id} */

/* WaitForRequest response operation */
#define WFR_NONE                0
#define WFR_START_MIGRATION     1

/* GUID HOBs (UEFI PI; td-shim td-shim-interface td_uefi_pi/pi/hob.rs) */
#define HOB_TYPE_GUID_EXTENSION 0x0004
#define HOB_TYPE_END            0xffff
#define HOB_HDR_SIZE            8
#define GUID_HOB_HDR_SIZE       24
#define RAW_MIG_INFO_SIZE       56  /* request.c's payload */
#define MIG_INFO_SIZE           72  /* + mig_policy_id, communication_id */
#define SOCKET_INFO_SIZE        24
#define POLICY_INFO_SIZE        16  /* {u64 id; u32 size}, padded */

/* EFI GUIDs in memory order (MigTD src/migtd/src/migration/mod.rs) */
static const uint8_t common_guid[16] = {     /* fb6fc5e1-3378-4acb-... */
    0xe1, 0xc5, 0x6f, 0xfb, 0x78, 0x33, 0xcb, 0x4a,
    0x89, 0x64, 0xfa, 0x5e, 0xe4, 0x3b, 0x9c, 0x8a,
};
static const uint8_t migtd_guid[16] = {      /* e60e6330-1e09-4387-... */
    0x30, 0x63, 0x0e, 0xe6, 0x09, 0x1e, 0x87, 0x43,
    0xa4, 0x44, 0x8f, 0x32, 0xb8, 0xd6, 0x11, 0xe5,
};
static const uint8_t mig_info_guid[16] = {   /* 42b5e398-a199-4d30-... */
    0x98, 0xe3, 0xb5, 0x42, 0x99, 0xa1, 0x30, 0x4d,
    0xbe, 0xfc, 0xc7, 0x5a, 0xc3, 0xda, 0x5d, 0x7c,
};
static const uint8_t socket_info_guid[16] = { /* 7a103b9d-552b-485f-... */
    0x9d, 0x3b, 0x10, 0x7a, 0x2b, 0x55, 0x5f, 0x48,
    0xbb, 0x4c, 0x2f, 0x3d, 0x2e, 0x8b, 0x1e, 0x0e,
};
static const uint8_t policy_guid[16] = {     /* d64f771a-f0c9-4d33-... */
    0x1a, 0x77, 0x4f, 0xd6, 0xc9, 0xf0, 0x33, 0x4d,
    0x99, 0x8b, 0x0e, 0x3d, 0x8b, 0x94, 0x0a, 0x61,
};

/*
 * Answer into @rsp: the data, then the header (a polling TD reads the
 * header first), then @rsp's vector. Data that does not fit is not
 * written: RSP_BUF_TOO_SMALL, with the length it needs.
 */
static void svc_complete(TdxEmuState *s, const TdxEmuServiceRsp *rsp,
                         uint32_t status, const void *data, uint32_t len)
{
    uint8_t hdr[SVC_HDR_SIZE];
    uint64_t total = SVC_HDR_SIZE + (uint64_t)len;

    if (total > rsp->len) {
        status = SVC_RSP_BUF_TOO_SMALL;
    } else if (len) {
        tdx_emu_write_shared(s, rsp->gpa + SVC_HDR_SIZE, data, len);
    }
    memcpy(hdr, rsp->guid, sizeof(rsp->guid));
    stl_le_p(hdr + 16, total);
    stl_le_p(hdr + 20, status);
    /* A polling TD reads the header first: the data goes before it */
    smp_wmb();
    tdx_emu_write_shared(s, rsp->gpa, hdr, sizeof(hdr));
    trace_tdx_emu_service_complete(rsp->gpa, status, total);
    if (rsp->vector) {
        tdx_emu_inject_interrupt(s, rsp->apic_id, rsp->vector);
    }
}

/* {ver, command, rsv[2]}: the data of most answers */
static void svc_ack(TdxEmuState *s, const TdxEmuServiceRsp *rsp,
                    uint32_t status, uint8_t command, uint8_t operation)
{
    uint8_t out[4] = { SVC_VERSION, command, operation, 0 };

    svc_complete(s, rsp, status, out, sizeof(out));
}

static void svc_wfr_drop(TdxEmuState *s)
{
    s->svc_wfr.pending = false;
    s->svc_wfr.polling = false;
    if (s->svc_wfr.timer) {
        timer_del(s->svc_wfr.timer);
    }
}

static void svc_recv_drop(TdxEmuState *s)
{
    s->svc_recv.pending = false;
    if (s->svc_recv.timer) {
        timer_del(s->svc_recv.timer);
    }
}

void tdx_emu_service_reset(TdxEmuState *s)
{
    svc_wfr_drop(s);
    svc_recv_drop(s);
    tdx_emu_vsock_reset(s);
}

/* A GUID HOB: header, GUID, @len bytes of @data, padded to 8 bytes */
static void guid_hob(GByteArray *hobs, const uint8_t *guid,
                     const void *data, size_t len)
{
    static const uint8_t pad[8];
    uint8_t hdr[GUID_HOB_HDR_SIZE] = { 0 };

    stw_le_p(hdr, HOB_TYPE_GUID_EXTENSION);
    stw_le_p(hdr + 2, GUID_HOB_HDR_SIZE + len);
    memcpy(hdr + HOB_HDR_SIZE, guid, 16);
    g_byte_array_append(hobs, hdr, sizeof(hdr));
    g_byte_array_append(hobs, data, len);
    g_byte_array_append(hobs, pad, ROUND_UP(len, 8) - len);
}

/*
 * The WaitForRequest answer for StartMigration (MigTD migration/data.rs
 * read_mig_info): {ver, 1, operation 1, rsv}, then the HOB list
 * MIGRATION_INFORMATION, STREAM_SOCKET_INFO, MIGPOLICY if there is a
 * policy, END. With an init TDINFO (has_init_data = 1), its 512 bytes
 * follow the 72-byte MIGRATION_INFORMATION (MigTD mod.rs
 * MigtdMigrationInformation::read_from_bytes, policy_v2).
 */
static GByteArray *wfr_start(TdxEmuMigReq *req)
{
    GByteArray *out = g_byte_array_new();
    uint8_t head[4] = { SVC_VERSION, SVC_WAIT_FOR_REQUEST,
                        WFR_START_MIGRATION, 0 };
    uint8_t info[MIG_INFO_SIZE + TDX_TDINFO_SIZE], sock[SOCKET_INFO_SIZE];
    uint32_t info_len = MIG_INFO_SIZE;
    uint8_t end[HOB_HDR_SIZE] = { 0 };

    g_byte_array_append(out, head, sizeof(head));
    memcpy(info, req->payload, RAW_MIG_INFO_SIZE);
    stq_le_p(info + RAW_MIG_INFO_SIZE, req->mig_policy_id);
    stq_le_p(info + RAW_MIG_INFO_SIZE + 8, req->communication_id);
    if (req->payload_len > RAW_MIG_INFO_SIZE) {
        memcpy(info + MIG_INFO_SIZE, req->payload + RAW_MIG_INFO_SIZE,
               TDX_TDINFO_SIZE);
        info_len += TDX_TDINFO_SIZE;
    }
    guid_hob(out, mig_info_guid, info, info_len);
    stq_le_p(sock, req->communication_id);
    stq_le_p(sock + 8, req->mig_td_cid);
    stl_le_p(sock + 16, req->mig_channel_port);
    stl_le_p(sock + 20, req->quote_service_port);
    guid_hob(out, socket_info_guid, sock, sizeof(sock));
    if (req->mig_policy) {
        g_autofree uint8_t *pol = g_malloc0(POLICY_INFO_SIZE +
                                            req->mig_policy_len);

        stq_le_p(pol, req->mig_policy_id);
        stl_le_p(pol + 8, req->mig_policy_len);
        memcpy(pol + POLICY_INFO_SIZE, req->mig_policy, req->mig_policy_len);
        guid_hob(out, policy_guid, pol,
                 POLICY_INFO_SIZE + req->mig_policy_len);
    }
    stw_le_p(end, HOB_TYPE_END);
    stw_le_p(end + 2, HOB_HDR_SIZE);
    g_byte_array_append(out, end, sizeof(end));
    return out;
}

/*
 * A request into the held WaitForRequest response (request.c). Only
 * StartMigration exists for these MigTDs; MigTD's HOB walk needs room
 * after the END HOB, so the list must end before the buffer does.
 */
void tdx_emu_service_deliver(TdxEmuState *s, TdxEmuMigReq *req)
{
    TdxEmuServiceRsp rsp = s->svc_wfr.rsp;
    g_autoptr(GByteArray) out = NULL;

    if (req->type != TDX_EMU_REQUEST_TYPE_START_MIGRATION) {
        qemu_log_mask(LOG_UNIMP, "tdx-emu: request %" PRIu64 ": a MigTD "
                      "on TDG.VP.VMCALL<Service> only takes start-migration\n",
                      req->id);
        tdx_emu_request_fail(s, req, TDX_EMU_MIG_UNSUPPORTED_OP);
        return;
    }
    out = wfr_start(req);
    if (SVC_HDR_SIZE + out->len >= rsp.len) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: request %" PRIu64
                      " does not fit the WaitForRequest buffer\n", req->id);
        tdx_emu_request_fail(s, req, TDX_EMU_MIG_VMM_INTERNAL);
        return;
    }
    req->delivered = true;
    svc_wfr_drop(s);
    trace_tdx_emu_request_deliver(req->id, req->operation);
    svc_complete(s, &rsp, SVC_SUCCESS, out->data, out->len);
}

/* The timeout of a held WaitForRequest: answered "none yet", TIME_OUT */
static void svc_wfr_timeout(void *opaque)
{
    TdxEmuState *s = opaque;

    if (s->svc_wfr.pending) {
        svc_wfr_drop(s);
        svc_ack(s, &s->svc_wfr.rsp, SVC_TIME_OUT, SVC_WAIT_FOR_REQUEST,
                WFR_NONE);
    }
}

/*
 * WaitForRequest: the oldest waiting request, at once. With no request
 * and no vector (polling) the answer is operation 0, "none yet"; with a
 * vector the device keeps the buffer (the newest one wins) until a request
 * arrives, or for at most R15 ms, then answers and raises the vector.
 */
static void svc_wait_for_request(TdxEmuState *s, const TdxEmuServiceRsp *rsp,
                                 const uint8_t *cmd, uint32_t len,
                                 uint64_t timeout)
{
    svc_wfr_drop(s);
    s->wfr.count++;
    s->svc_wfr.pending = true;
    s->svc_wfr.rsp = *rsp;
    tdx_emu_requests_deliver(s);
    if (!s->svc_wfr.pending) {
        return;
    }
    if (!rsp->vector) {
        svc_wfr_drop(s);
        s->svc_wfr.polling = true;
        svc_ack(s, rsp, SVC_SUCCESS, SVC_WAIT_FOR_REQUEST, WFR_NONE);
        return;
    }
    if (timeout) {
        if (!s->svc_wfr.timer) {
            s->svc_wfr.timer = timer_new_ms(QEMU_CLOCK_VIRTUAL,
                                            svc_wfr_timeout, s);
        }
        timer_mod(s->svc_wfr.timer, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
                  MIN(timeout, INT32_MAX));
    }
}

/*
 * Query {ver, 0, rsv[2], GUID}: answered {ver, 0, status (0 = supported,
 * 1 = not), rsv, GUID}. This VMM serves the MigTD service (and Query).
 */
static void svc_query(TdxEmuState *s, const TdxEmuServiceRsp *rsp,
                      const uint8_t *cmd, uint32_t len, uint64_t timeout)
{
    uint8_t out[20] = { SVC_VERSION, SVC_QUERY };

    out[2] = memcmp(cmd + 4, migtd_guid, 16) &&
             memcmp(cmd + 4, common_guid, 16);
    memcpy(out + 4, cmd + 4, 16);
    svc_complete(s, rsp, SVC_SUCCESS, out, sizeof(out));
}

/*
 * ReportStatus {ver, 2, operation 1, u8 status (MigrationResult), u64
 * request id}: completes the request (TDX_EMU_REQUEST_COMPLETE). An
 * unknown request or operation is INVALID_OPERAND.
 */
static void svc_report_status(TdxEmuState *s, const TdxEmuServiceRsp *rsp,
                              const uint8_t *cmd, uint32_t len,
                              uint64_t timeout)
{
    uint8_t code = cmd[3];
    uint64_t id = ldq_le_p(cmd + 4);
    bool ok = cmd[2] == 1 &&
              tdx_emu_request_report(s, id, (code != 0) | code << 8);

    if (!ok) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: Service ReportStatus: "
                      "operation %u for request %" PRIu64 " (not running?)\n",
                      cmd[2], id);
    }
    svc_ack(s, rsp, ok ? SVC_SUCCESS : SVC_INVALID_OPERAND,
            SVC_REPORT_STATUS, 0);
}

/* Shutdown {ver, 0, rsv[2]}: the MigTD waits for nothing any more */
static void svc_shutdown(TdxEmuState *s, const TdxEmuServiceRsp *rsp,
                         const uint8_t *cmd, uint32_t len, uint64_t timeout)
{
    svc_wfr_drop(s);
    svc_ack(s, rsp, SVC_SUCCESS, SVC_SHUTDOWN, 0);
}

/*
 * vmcall-vsock (MigTD src/devices/vsock/src/transport/vmcall.rs): the
 * answer's data is {ver, command, rsv[2], u64 request id}, a Recv's then
 * one packet for the guest from vsock.c
 */
static void svc_vsock_answer(TdxEmuState *s, const TdxEmuServiceRsp *rsp,
                             uint32_t status, uint8_t command, uint64_t id,
                             bool packet)
{
    uint32_t max = rsp->len - MIN(rsp->len, SVC_HDR_SIZE + SVC_VSOCK_HDR);
    g_autofree uint8_t *out = g_malloc0(SVC_VSOCK_HDR + MAX(max, 1));
    uint32_t n = 0;

    out[1] = command;
    stq_le_p(out + 4, id);
    if (packet) {
        n = tdx_emu_vsock_to_guest(s, out + SVC_VSOCK_HDR, max);
    }
    svc_complete(s, rsp, status, out, SVC_VSOCK_HDR + n);
}

/* A packet for the guest: into the held Recv */
static void svc_vsock_kick(void *opaque)
{
    TdxEmuState *s = opaque;

    if (s->svc_recv.pending) {
        TdxEmuServiceRsp rsp = s->svc_recv.rsp;
        uint32_t max = rsp.len - SVC_HDR_SIZE - SVC_VSOCK_HDR;
        g_autofree uint8_t *pkt = g_malloc(max);
        uint32_t n = tdx_emu_vsock_to_guest(s, pkt, max);

        if (n) {
            uint8_t *out = g_malloc0(SVC_VSOCK_HDR + n);

            svc_recv_drop(s);
            out[1] = SVC_VSOCK_RECV;
            stq_le_p(out + 4, s->svc_recv_id);
            memcpy(out + SVC_VSOCK_HDR, pkt, n);
            svc_complete(s, &rsp, SVC_SUCCESS, out, SVC_VSOCK_HDR + n);
            g_free(out);
        }
    }
}

/* The timeout of a held Recv: answered TIME_OUT without a packet */
static void svc_recv_timeout(void *opaque)
{
    TdxEmuState *s = opaque;

    if (s->svc_recv.pending) {
        svc_recv_drop(s);
        svc_vsock_answer(s, &s->svc_recv.rsp, SVC_TIME_OUT, SVC_VSOCK_RECV,
                         s->svc_recv_id, false);
    }
}

/*
 * Send {0, 3, rsv[2], u64 request id} + a 44-byte virtio-vsock header and
 * its data: into vsock.c, answered at once. A packet shorter than its
 * header says, or a request that is not running, is INVALID_OPERAND.
 */
static void svc_vsock_send(TdxEmuState *s, const TdxEmuServiceRsp *rsp,
                           const uint8_t *cmd, uint32_t len, uint64_t timeout)
{
    uint64_t id = ldq_le_p(cmd + 4);
    bool ok = tdx_emu_request_running(s, id) &&
              tdx_emu_vsock_from_guest(s, cmd + SVC_VSOCK_HDR,
                                       len - SVC_VSOCK_HDR);

    tdx_emu_vsock_set_kick(s, svc_vsock_kick, s);
    svc_vsock_answer(s, rsp, ok ? SVC_SUCCESS : SVC_INVALID_OPERAND,
                     SVC_VSOCK_SEND, id, false);
}

/*
 * Recv {0, 4, rsv[2], u64 request id}: the next packet for the guest, at
 * once or when there is one (the newest Recv is held), or TIME_OUT after
 * R15 ms. A response buffer without room for a header and a byte is
 * RSP_BUF_TOO_SMALL; a request that is not running INVALID_OPERAND.
 */
static void svc_vsock_recv(TdxEmuState *s, const TdxEmuServiceRsp *rsp,
                           const uint8_t *cmd, uint32_t len, uint64_t timeout)
{
    uint64_t id = ldq_le_p(cmd + 4);

    tdx_emu_vsock_set_kick(s, svc_vsock_kick, s);
    svc_recv_drop(s);
    if (rsp->len <= SVC_HDR_SIZE + SVC_VSOCK_HDR + TDX_EMU_VSOCK_HDR) {
        svc_complete(s, rsp, SVC_RSP_BUF_TOO_SMALL, NULL,
                     SVC_VSOCK_HDR + TDX_EMU_VSOCK_HDR + 1);
        return;
    }
    if (!tdx_emu_request_running(s, id)) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: vmcall-vsock Recv for "
                      "request %" PRIu64 ", which is not running\n", id);
        svc_vsock_answer(s, rsp, SVC_INVALID_OPERAND, SVC_VSOCK_RECV, id,
                         false);
        return;
    }
    s->svc_recv.pending = true;
    s->svc_recv.rsp = *rsp;
    s->svc_recv_id = id;
    svc_vsock_kick(s);
    if (s->svc_recv.pending && timeout) {
        if (!s->svc_recv.timer) {
            s->svc_recv.timer = timer_new_ms(QEMU_CLOCK_VIRTUAL,
                                             svc_recv_timeout, s);
        }
        timer_mod(s->svc_recv.timer, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
                  MIN(timeout, INT32_MAX));
    }
}

typedef void SvcFn(TdxEmuState *s, const TdxEmuServiceRsp *rsp,
                   const uint8_t *cmd, uint32_t len, uint64_t timeout);

typedef struct SvcCommand {
    const uint8_t *guid;
    uint8_t command;
    uint32_t len;               /* of the command data, at least */
    const char *name;
    SvcFn *fn;
} SvcCommand;

static const SvcCommand svc_commands[] = {
    { common_guid, SVC_QUERY, 20, "Query", svc_query },
    { migtd_guid, SVC_SHUTDOWN, 4, "Shutdown", svc_shutdown },
    { migtd_guid, SVC_WAIT_FOR_REQUEST, 4, "WaitForRequest",
      svc_wait_for_request },
    { migtd_guid, SVC_REPORT_STATUS, 12, "ReportStatus", svc_report_status },
    { migtd_guid, SVC_VSOCK_SEND, SVC_VSOCK_HDR, "Send", svc_vsock_send },
    { migtd_guid, SVC_VSOCK_RECV, SVC_VSOCK_HDR, "Recv", svc_vsock_recv },
};

/*
 * Every command starts {u8 version (0); u8 command; ...}. An unknown GUID,
 * version or command is UNSUPPORTED, a short command BAD_CMD_BUF_SIZE.
 */
static void svc_dispatch(TdxEmuState *s, const TdxEmuServiceRsp *rsp,
                         const uint8_t *cmd, uint32_t len, uint64_t timeout)
{
    const SvcCommand *c = NULL;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(svc_commands) && len >= 2; i++) {
        if (!memcmp(rsp->guid, svc_commands[i].guid, 16) &&
            cmd[1] == svc_commands[i].command) {
            c = &svc_commands[i];
        }
    }
    if (len < 4 && (!memcmp(rsp->guid, common_guid, 16) ||
                    !memcmp(rsp->guid, migtd_guid, 16))) {
        svc_complete(s, rsp, SVC_BAD_CMD_BUF_SIZE, NULL, 0);
    } else if (!c || cmd[0] != SVC_VERSION) {
        qemu_log_mask(LOG_UNIMP, "tdx-emu: TDG.VP.VMCALL<Service>: unknown "
                      "GUID, version or command\n");
        svc_complete(s, rsp, SVC_UNSUPPORTED, NULL, 0);
    } else if (len < c->len) {
        svc_complete(s, rsp, SVC_BAD_CMD_BUF_SIZE, NULL, 0);
    } else {
        trace_tdx_emu_service(c->name, len, rsp->vector, timeout);
        c->fn(s, rsp, cmd, len, timeout);
    }
}

/*
 * The call itself. Buffers that are not 4 KiB aligned are ALIGN_ERROR; a
 * vector in 1..31, or headers that are not in RAM, INVALID_OPERAND.
 * Everything else is answered in the response buffer's status.
 */
uint64_t tdx_emu_vmcall_service(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint64_t shared_bit = tdx_emu_shared_bit(s);
    uint64_t cmd_gpa = vmm[R_R12] & ~shared_bit, vector = vmm[R_R14];
    TdxEmuServiceRsp rsp = {
        .gpa = vmm[R_R13] & ~shared_bit, .vector = vector,
        .apic_id = cpu->apic_id,
    };
    uint8_t cmd_hdr[SVC_HDR_SIZE], rsp_hdr[SVC_HDR_SIZE];
    g_autofree uint8_t *cmd = NULL;
    uint32_t cmd_len;

    if (!QEMU_IS_ALIGNED(vmm[R_R12] | vmm[R_R13], 4 * KiB)) {
        return TDVMCALL_ALIGN_ERROR;
    }
    if ((vector && vector < TDX_EVENT_NOTIFY_MIN_VECTOR) || vector > 255 ||
        !tdx_emu_ram_range(s, cmd_gpa, SVC_HDR_SIZE) ||
        !tdx_emu_ram_range(s, rsp.gpa, SVC_HDR_SIZE) ||
        !tdx_emu_read_shared(s, cmd_gpa, cmd_hdr, sizeof(cmd_hdr)) ||
        !tdx_emu_read_shared(s, rsp.gpa, rsp_hdr, sizeof(rsp_hdr))) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: TDG.VP.VMCALL<Service>: "
                      "buffers 0x%" PRIx64 "/0x%" PRIx64 " not in RAM or "
                      "vector %" PRIu64 "\n", vmm[R_R12], vmm[R_R13], vector);
        return TDVMCALL_INVALID_OPERAND;
    }
    memcpy(rsp.guid, cmd_hdr, sizeof(rsp.guid));
    rsp.len = ldl_le_p(rsp_hdr + 16);
    cmd_len = ldl_le_p(cmd_hdr + 16);
    if (rsp.len < SVC_HDR_SIZE || rsp.len > SVC_BUF_MAX ||
        !tdx_emu_ram_range(s, rsp.gpa, rsp.len)) {
        rsp.len = SVC_HDR_SIZE;
        svc_complete(s, &rsp, SVC_BAD_RSP_BUF_SIZE, NULL, 0);
    } else if (cmd_len < SVC_HDR_SIZE || cmd_len > SVC_BUF_MAX ||
               !tdx_emu_ram_range(s, cmd_gpa, cmd_len)) {
        svc_complete(s, &rsp, SVC_BAD_CMD_BUF_SIZE, NULL, 0);
    } else {
        cmd_len -= SVC_HDR_SIZE;
        cmd = g_malloc(cmd_len);
        tdx_emu_read_shared(s, cmd_gpa + SVC_HDR_SIZE, cmd, cmd_len);
        svc_dispatch(s, &rsp, cmd, cmd_len, vmm[R_R15]);
    }
    return TDVMCALL_SUCCESS;
}
