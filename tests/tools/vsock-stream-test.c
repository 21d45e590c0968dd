/*
 * Host test of the guest stub's vsock stream layer (guest/vsock.c) against
 * a scripted peer: connect, sending within the peer's credit, packets of
 * another stream dropped, a credit request answered, data, SHUTDOWN and
 * the peer's RST answered, a peer's RST mid-stream, a refused connect.
 * Built and run by tests/system/test_boot.py (test_vsock_stream) with cc.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tdx.h"
#include "bytes.h"
#include "transport.h"
#include "vsock.h"

#define LOCAL_CID       18
#define PEER_CID        2
#define PEER_PORT       1234
#define PEER_ALLOC      100         /* the peer's buffer: credit runs out */
#define MAX_DATA        64

enum { REQUEST = 1, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE,
       CREDIT_REQUEST };

static struct {
    uint8_t pkt[VSOCK_HDR + 64];
    uint32_t len;
} queue[64];
static unsigned head, tail;
static uint32_t local_port, peer_rx, sent_ops[8];
static uint8_t sent[1024];
static int refuse;

void guest_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

/* Queue a packet from the peer to @port */
static void peer_sends(uint16_t op, uint32_t port, const char *data,
                       uint32_t fwd_cnt)
{
    uint8_t *h = queue[tail % 64].pkt;
    uint32_t len = data ? strlen(data) : 0;

    memset(h, 0, VSOCK_HDR);
    st64(h, PEER_CID);
    st64(h + 8, LOCAL_CID);
    st32(h + 16, PEER_PORT);
    st32(h + 20, port);
    st32(h + 24, len);
    h[28] = 1;
    h[30] = op;
    st32(h + 36, PEER_ALLOC);
    st32(h + 40, fwd_cnt);
    memcpy(h + VSOCK_HDR, data, len);
    queue[tail++ % 64].len = len;
}

/* The peer: answers REQUEST, acknowledges RW, SHUTDOWN with RST */
static int send_pkt(const uint8_t *h, const uint8_t *data, uint32_t len)
{
    assert(ld64(h) == LOCAL_CID && ld64(h + 8) == PEER_CID);
    assert((ld64(h + 20) & 0xffffffff) == PEER_PORT);
    assert((ld64(h + 24) & 0xffffffff) == len && len <= MAX_DATA);
    local_port = ld64(h + 16) & 0xffffffff;
    sent_ops[h[30]]++;
    if (h[30] == REQUEST) {
        peer_sends(refuse ? RST : RESPONSE, local_port, NULL, 0);
    } else if (h[30] == RW) {
        assert(peer_rx + len <= sizeof(sent));
        memcpy(sent + peer_rx, data, len);
        peer_rx += len;
        peer_sends(CREDIT_UPDATE, local_port, NULL, peer_rx);
    } else if (h[30] == SHUTDOWN) {
        peer_sends(RST, local_port, NULL, peer_rx);
    }
    return RESULT_SUCCESS;
}

static int recv_pkt(uint8_t *h, const uint8_t **data, uint32_t *len,
                    uint64_t timeout_ms)
{
    (void)timeout_ms;
    if (head == tail) {
        return RESULT_NETWORK_ERROR;            /* silent */
    }
    memcpy(h, queue[head % 64].pkt, VSOCK_HDR);
    *data = queue[head % 64].pkt + VSOCK_HDR;
    *len = queue[head++ % 64].len;
    return RESULT_SUCCESS;
}

static const struct vsock_packets peer = {
    .send = send_pkt, .recv = recv_pkt, .max_data = MAX_DATA,
};

int main(void)
{
    uint8_t msg[300];
    const uint8_t *data;
    uint32_t len, i;

    for (i = 0; i < sizeof(msg); i++) {
        msg[i] = i;
    }
    assert(vsock_connect(&peer, LOCAL_CID, PEER_CID, PEER_PORT) == 0);
    assert(local_port == 40001);
    assert(vsock_send(msg, sizeof(msg)) == RESULT_SUCCESS);
    assert(peer_rx == sizeof(msg) && !memcmp(sent, msg, sizeof(msg)));

    head = tail;
    peer_sends(RW, local_port + 1, "other", 0);
    peer_sends(CREDIT_REQUEST, local_port, NULL, peer_rx);
    peer_sends(RW, local_port, "hello", peer_rx);
    assert(vsock_recv(&data, &len, 1) == RESULT_SUCCESS);
    assert(len == 5 && !memcmp(data, "hello", 5));
    assert(sent_ops[CREDIT_UPDATE] == 1);
    assert(vsock_recv(&data, &len, 1) == RESULT_NETWORK_ERROR);
    vsock_shutdown();
    assert(sent_ops[SHUTDOWN] == 1 && sent_ops[RST] == 1);

    assert(vsock_connect(&peer, LOCAL_CID, PEER_CID, PEER_PORT) == 0);
    assert(local_port == 40002);
    head = tail;
    peer_sends(RST, local_port, NULL, 0);
    assert(vsock_recv(&data, &len, 1) == RESULT_VMM_CANCELED);
    assert(vsock_send(msg, 1) == RESULT_NETWORK_ERROR);

    refuse = 1;
    assert(vsock_connect(&peer, LOCAL_CID, PEER_CID, PEER_PORT) ==
           RESULT_NETWORK_ERROR);
    printf("vsock stream: all checks passed\n");
    return 0;
}
