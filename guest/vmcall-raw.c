/*
 * Guest stub: the vmcall-raw transport, MigTD's Send (3) and Receive (4)
 * over TDG.VP.VMCALL<0x10006> (MigTD src/devices/vmcall_raw/src/
 * transport/vmcall.rs, td-shim tdx-tdcall/src/tdx.rs tdvmcall_migtd_*).
 * Both complete asynchronously: the VMM writes the buffer's data_status
 * and raises vector 0x52.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cpu.h"
#include "tdx.h"
#include "bytes.h"
#include "shared.h"
#include "transport.h"

#define SEND                3
#define RECEIVE             4
#define BUF_PAGES           16          /* MigTD's MTU: 16 pages */

static uint8_t *send_buf, *recv_buf;
static uint64_t request_id;

uint64_t migtd_vmcall(struct tdx_regs *r)
{
    r->rax = TDG_VP_VMCALL;
    r->rcx = 0xfc88;
    r->r10 = 0;
    r->r11 = TDVMCALL_MIGTD;
    tdcall(r);
    return r->r10;
}

static int raw_init(void)
{
    send_buf = shared_alloc(BUF_PAGES);
    recv_buf = shared_alloc(BUF_PAGES);
    return send_buf && recv_buf ? RESULT_SUCCESS : RESULT_OUT_OF_RESOURCE;
}

/* No VMCALL: the stream is the request's (MigTD VmcallRaw::connect) */
static int raw_open(const struct migration_info *mi)
{
    request_id = mi->id;
    return RESULT_SUCCESS;
}

/* Issue @leaf on @buf and wait for its completion; VMM_CANCEL if not 1 */
static int raw_transfer(uint64_t leaf, uint8_t *buf, uint64_t len,
                        uint64_t timeout_ms)
{
    struct tdx_regs r = {
        .r12 = MIGTD_LEAF(leaf), .r13 = request_id, .r14 = len,
        .r15 = shared_gpa(buf), .rbx = STREAM_VECTOR,
    };

    stream_signalled = 0;
    if (migtd_vmcall(&r) != TDVMCALL_SUCCESS) {
        return RESULT_NETWORK_ERROR;
    }
    if (!idle_until(&stream_signalled, timeout_ms)) {
        guest_printf("migtd-stub: request %lu: the peer is silent\n",
                     request_id);
        return RESULT_NETWORK_ERROR;
    }
    return buf[0] == VMM_SUCCESS ? RESULT_SUCCESS : RESULT_VMM_CANCELED;
}

static int raw_send(const uint8_t *data, uint32_t len)
{
    st64(send_buf, 0);
    st32(send_buf + 8, len);
    copy(send_buf + VMCALL_RAW_HDR, data, len);
    return raw_transfer(SEND, send_buf, VMCALL_RAW_HDR + len,
                        EXCHANGE_TIMEOUT_MS);
}

static int raw_recv(const uint8_t **data, uint32_t *len, uint64_t timeout_ms)
{
    uint32_t n;
    int res;

    st64(recv_buf, 0);
    res = raw_transfer(RECEIVE, recv_buf, BUF_PAGES * PAGE, timeout_ms);
    if (res != RESULT_SUCCESS) {
        return res;
    }
    n = ld64(recv_buf + 8) & 0xffffffff;
    if (!n || n > BUF_PAGES * PAGE - VMCALL_RAW_HDR) {
        guest_printf("migtd-stub: request %lu: bad Receive length %u\n",
                     request_id, n);
        return RESULT_INVALID_PARAMETER;
    }
    *data = recv_buf + VMCALL_RAW_HDR;
    *len = n;
    return RESULT_SUCCESS;
}

static void raw_close(void)
{
}

const struct transport vmcall_raw_transport = {
    .name = "vmcall-raw",
    .init = raw_init,
    .init_failed = "out of shared memory",
    .open = raw_open,
    .send = raw_send,
    .recv = raw_recv,
    .close = raw_close,
    .max_send = BUF_PAGES * PAGE - VMCALL_RAW_HDR,
};
