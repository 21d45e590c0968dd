/*
 * Guest stub: the vsock stream layer of MigTD's vsock builds (MigTD
 * src/devices/vsock/src/stream.rs, protocol.rs; virtio 1.2 section 5.10),
 * over whichever packet transport the stub has (virtio-vsock.c,
 * vmcall-vsock.c):
 *
 * - connect: REQUEST from a fresh local port (from 40001 up) with
 *   buf_alloc 256 KiB, then the first packet must be the RESPONSE from
 *   the address connected to, or the connection is refused;
 * - send: OP_RW packets of at most the transport's size, within the
 *   peer's credit (buf_alloc - (tx_cnt - fwd_cnt)), reading packets while
 *   it has none;
 * - receive: packets for this connection only (others are dropped, as
 *   MigTD drops packets for no stream): OP_RW data, CREDIT_UPDATE,
 *   CREDIT_REQUEST (answered with our credit), SHUTDOWN (answered with
 *   ours), RST (the connection is gone: VmmCanceled); our credit is sent
 *   again when less than a packet's worth of room is left;
 * - shutdown: SHUTDOWN with both flags; the peer's RST is answered.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "tdx.h"
#include "bytes.h"
#include "transport.h"
#include "vsock.h"

#define TYPE_STREAM         1
#define OP_REQUEST          1
#define OP_RESPONSE         2
#define OP_RST              3
#define OP_SHUTDOWN         4
#define OP_RW               5
#define OP_CREDIT_UPDATE    6
#define OP_CREDIT_REQUEST   7
#define SHUTDOWN_BOTH       3
#define BUF_ALLOC           0x40000
#define FIRST_PORT          40000
#define CLOSE_WAIT_MS       1000

enum { CLOSED, ESTABLISHED, CLOSING };

static struct {
    const struct vsock_packets *p;
    uint64_t local_cid, remote_cid;
    uint32_t local_port, remote_port;
    uint32_t rx_cnt, tx_cnt, last_fwd_cnt, peer_fwd_cnt, peer_buf_alloc;
    int state;
} s;
static uint32_t next_port = FIRST_PORT;

static uint32_t ld32(const uint8_t *p)
{
    return ld64(p) & 0xffffffff;
}

static uint16_t ld16(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

static int send_op(uint16_t op, uint32_t flags, const uint8_t *data,
                   uint32_t len)
{
    uint8_t h[VSOCK_HDR] = { 0 };

    st64(h, s.local_cid);
    st64(h + 8, s.remote_cid);
    st32(h + 16, s.local_port);
    st32(h + 20, s.remote_port);
    st32(h + 24, len);
    h[28] = TYPE_STREAM;
    h[30] = op;
    st32(h + 32, flags);
    st32(h + 36, BUF_ALLOC);
    st32(h + 40, s.rx_cnt);
    s.last_fwd_cnt = s.rx_cnt;
    return s.p->send(h, data, len);
}

/* The next packet of this connection (MigTD Packet::check on it) */
static int next_packet(uint8_t *h, const uint8_t **data, uint32_t *len,
                       uint64_t timeout_ms)
{
    int res;

    for (;;) {
        res = s.p->recv(h, data, len, timeout_ms);
        if (res != RESULT_SUCCESS) {
            return res;
        }
        if (ld16(h + 28) != TYPE_STREAM || !h[30] || h[30] > 7 || h[31]) {
            return RESULT_INVALID_PARAMETER;
        }
        if (ld64(h) == s.remote_cid && ld64(h + 8) == s.local_cid &&
            ld32(h + 16) == s.remote_port && ld32(h + 20) == s.local_port) {
            return RESULT_SUCCESS;
        }
        guest_printf("migtd-stub: vsock packet for another stream dropped\n");
    }
}

int vsock_connect(const struct vsock_packets *p, uint64_t local_cid,
                  uint64_t cid, uint32_t port)
{
    uint8_t h[VSOCK_HDR];
    const uint8_t *data;
    uint32_t len;
    int res;

    s.p = p;
    s.local_cid = local_cid;
    s.local_port = ++next_port;
    s.remote_cid = cid;
    s.remote_port = port;
    s.rx_cnt = s.tx_cnt = s.peer_fwd_cnt = s.peer_buf_alloc = 0;
    s.state = CLOSED;
    res = send_op(OP_REQUEST, 0, 0, 0);
    if (res == RESULT_SUCCESS) {
        res = next_packet(h, &data, &len, EXCHANGE_TIMEOUT_MS);
    }
    if (res != RESULT_SUCCESS) {
        return res;
    }
    if (h[30] != OP_RESPONSE) {
        guest_printf("migtd-stub: vsock connect to %lu:%u refused\n", cid,
                     port);
        return RESULT_NETWORK_ERROR;
    }
    s.peer_buf_alloc = ld32(h + 36);
    s.peer_fwd_cnt = ld32(h + 40);
    s.state = ESTABLISHED;
    return RESULT_SUCCESS;
}

/* Read and act on one packet; data, if it carries some, in the view */
static int process(const uint8_t **data, uint32_t *len, uint64_t timeout_ms)
{
    uint8_t h[VSOCK_HDR];
    int res;

    *len = 0;
    res = next_packet(h, data, len, timeout_ms);
    if (res != RESULT_SUCCESS) {
        return res;
    }
    s.peer_buf_alloc = ld32(h + 36);
    s.peer_fwd_cnt = ld32(h + 40);
    switch (h[30]) {
    case OP_RW:
        *len = ld32(h + 24) < *len ? ld32(h + 24) : *len;
        s.rx_cnt += *len;
        if (BUF_ALLOC - (s.rx_cnt - s.last_fwd_cnt) < s.p->max_data) {
            return send_op(OP_CREDIT_UPDATE, 0, 0, 0);
        }
        return RESULT_SUCCESS;
    case OP_CREDIT_UPDATE:
        *len = 0;
        return RESULT_SUCCESS;
    case OP_CREDIT_REQUEST:
        *len = 0;
        return send_op(OP_CREDIT_UPDATE, 0, 0, 0);
    case OP_SHUTDOWN:
    case OP_RST:
        guest_printf("migtd-stub: the vsock peer closed the stream\n");
        if (h[30] == OP_SHUTDOWN) {
            send_op(OP_SHUTDOWN, SHUTDOWN_BOTH, 0, 0);
        }
        s.state = CLOSING;
        return RESULT_VMM_CANCELED;
    default:
        return RESULT_INVALID_PARAMETER;
    }
}

static uint32_t peer_free(void)
{
    uint32_t in_flight = s.tx_cnt - s.peer_fwd_cnt;

    return in_flight < s.peer_buf_alloc ? s.peer_buf_alloc - in_flight : 0;
}

int vsock_send(const uint8_t *data, uint32_t len)
{
    const uint8_t *in;
    uint32_t n, in_len;
    int res;

    while (len) {
        if (s.state != ESTABLISHED) {
            return RESULT_NETWORK_ERROR;
        }
        if (!peer_free()) {
            res = process(&in, &in_len, EXCHANGE_TIMEOUT_MS);
            if (res != RESULT_SUCCESS) {
                return res;
            }
            if (in_len) {
                guest_printf("migtd-stub: vsock data dropped while sending\n");
            }
            continue;
        }
        n = len < s.p->max_data ? len : s.p->max_data;
        n = n < peer_free() ? n : peer_free();
        res = send_op(OP_RW, 0, data, n);
        if (res != RESULT_SUCCESS) {
            return res;
        }
        s.tx_cnt += n;
        data += n;
        len -= n;
    }
    return RESULT_SUCCESS;
}

int vsock_recv(const uint8_t **data, uint32_t *len, uint64_t timeout_ms)
{
    int res;

    do {
        if (s.state != ESTABLISHED) {
            return RESULT_NETWORK_ERROR;
        }
        res = process(data, len, timeout_ms);
    } while (res == RESULT_SUCCESS && !*len);
    return res;
}

void vsock_shutdown(void)
{
    uint8_t h[VSOCK_HDR];
    const uint8_t *data;
    uint32_t len;

    if (s.state != ESTABLISHED ||
        send_op(OP_SHUTDOWN, SHUTDOWN_BOTH, 0, 0) != RESULT_SUCCESS) {
        s.state = CLOSED;
        return;
    }
    s.state = CLOSING;
    if (next_packet(h, &data, &len, CLOSE_WAIT_MS) == RESULT_SUCCESS &&
        h[30] == OP_RST) {
        send_op(OP_RST, 0, 0, 0);
    }
    s.state = CLOSED;
}
