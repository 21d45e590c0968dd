/*
 * Guest stub: the vmcall-vsock transport, vsock packets through
 * TDG.VP.VMCALL<Service> (MigTD src/devices/vsock/src/transport/vmcall.rs,
 * docs/migration.md "vmcall-vsock's Send and Recv"):
 *
 * - Send: the MigTD GUID, command data {0, 3, rsv[2], u64 request id},
 *   then the 44-byte packet header and the data; Recv: {0, 4, rsv[2],
 *   u64 request id} and a 16-page response buffer;
 * - the response status is preset to 0xFFFFFFFF, "not answered yet"; the
 *   call names vector 0x52 and MigTD polls the status until the VMM has
 *   written it; an answer must have status 0, the MigTD GUID, version 0,
 *   the command and the request id, then (Recv) one packet;
 * - the local CID is the one STREAM_SOCKET_INFO names (MigTD's
 *   VsockStream::new_with_cid), the stream runs over vsock.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cpu.h"
#include "tdx.h"
#include "bytes.h"
#include "shared.h"
#include "service.h"
#include "transport.h"
#include "vsock.h"

#define CMD_SEND            3
#define CMD_RECV            4
#define MTU                 (16 * PAGE)
#define REPLY_HDR           12      /* {0, command, rsv[2], u64 id} */
#define COMMON_HDR          (SERVICE_HDR + REPLY_HDR)
#define STATUS_RESERVED     0xffffffff
#define CALL_TIMEOUT_MS     8000    /* MigTD's DEFAULT_TIMEOUT */

static uint8_t *cmd, *rsp;
static uint64_t request_id;

static int mv_init(void)
{
    cmd = shared_alloc(MTU / PAGE + 1);
    rsp = shared_alloc(MTU / PAGE);
    return cmd && rsp ? RESULT_SUCCESS : RESULT_OUT_OF_RESOURCE;
}

/*
 * Issue command @c with @len bytes after its reply header, wait for the
 * answer; its data after the reply header (and their length), or 0
 */
static const uint8_t *call(uint8_t c, const uint8_t *hdr, const uint8_t *data,
                           uint32_t len, uint32_t rsp_size, uint32_t *got,
                           uint64_t timeout_ms)
{
    uint8_t head[REPLY_HDR] = { 0, c };
    uint64_t end = rdtsc() + tsc_hz() / 1000 * timeout_ms;
    const uint8_t *r;

    st64(head + 4, request_id);
    service_command(cmd, service_migtd_guid, head, REPLY_HDR);
    if (hdr) {
        copy(cmd + COMMON_HDR, hdr, VSOCK_HDR);
        copy(cmd + COMMON_HDR + VSOCK_HDR, data, len);
        st32(cmd + 16, COMMON_HDR + VSOCK_HDR + len);
    }
    service_response(rsp, service_migtd_guid, rsp_size, STATUS_RESERVED);
    if (service_call(cmd, rsp, STREAM_VECTOR, CALL_TIMEOUT_MS) !=
        TDVMCALL_SUCCESS) {
        return 0;
    }
    while ((ld64(rsp + 16) >> 32) == STATUS_RESERVED && rdtsc() < end) {
        stream_signalled = 0;
        idle_until(&stream_signalled, 1);
    }
    r = service_reply(rsp, rsp_size, service_migtd_guid, REPLY_HDR);
    if (!r || ld64(rsp + 16) >> 32 || r[0] || r[1] != c ||
        ld64(r + 4) != request_id) {
        return 0;
    }
    *got = (ld64(rsp + 16) & 0xffffffff) - COMMON_HDR;
    return r + REPLY_HDR;
}

static int mv_send(const uint8_t *hdr, const uint8_t *data, uint32_t len)
{
    uint32_t got;

    return call(CMD_SEND, hdr, data, len, PAGE, &got, EXCHANGE_TIMEOUT_MS) ?
           RESULT_SUCCESS : RESULT_NETWORK_ERROR;
}

static int mv_recv(uint8_t *hdr, const uint8_t **data, uint32_t *len,
                   uint64_t timeout_ms)
{
    const uint8_t *pkt;
    uint32_t got, data_len;

    pkt = call(CMD_RECV, 0, 0, 0, MTU, &got, timeout_ms);
    if (!pkt) {
        guest_printf("migtd-stub: vmcall-vsock Recv failed\n");
        return RESULT_NETWORK_ERROR;
    }
    if (got < VSOCK_HDR) {
        return RESULT_INVALID_PARAMETER;
    }
    copy(hdr, pkt, VSOCK_HDR);
    data_len = ld64(hdr + 24) & 0xffffffff;
    if (data_len > got - VSOCK_HDR) {
        return RESULT_INVALID_PARAMETER;
    }
    *data = pkt + VSOCK_HDR;
    *len = data_len;
    return RESULT_SUCCESS;
}

static const struct vsock_packets packets = {
    .send = mv_send,
    .recv = mv_recv,
    .max_data = MTU - COMMON_HDR - VSOCK_HDR,
};

static int mv_open(const struct migration_info *mi)
{
    request_id = mi->id;
    return vsock_connect(&packets, mi->cid, mi->cid, mi->port);
}

const struct transport vmcall_vsock_transport = {
    .name = "vmcall-vsock",
    .init = mv_init,
    .init_failed = "out of shared memory",
    .open = mv_open,
    .send = vsock_send,
    .recv = vsock_recv,
    .close = vsock_shutdown,
    .max_send = MTU - COMMON_HDR - VSOCK_HDR,
};
