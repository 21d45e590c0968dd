/*
 * tdx-emu: the host end of MigTD's vsock stream (virtio 1.2 section 5.10;
 * MigTD src/devices/vsock/src/stream.rs), for every vsock transport
 *
 * The MigTD connects (REQUEST) to the CID and port its STREAM_SOCKET_INFO
 * HOB names; the running migration request with that vsock-cid and
 * vsock-port accepts (RESPONSE) and its stream (stream.c) carries the
 * connection's bytes to and from the peer VM. Credit both ways: the guest
 * may have at most the stream's send queue (buf_alloc) unwritten, and gets
 * no more data than its own buf_alloc - (tx_cnt - fwd_cnt) allows. A
 * packet for no connection is answered RST; a guest that overruns its
 * credit is reset. Packets for the guest other than data wait in a
 * bounded queue.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/log.h"
#include "qemu/queue.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "vmm.h"
#include "trace.h"

#define TYPE_STREAM         1
#define OP_REQUEST          1
#define OP_RESPONSE         2
#define OP_RST              3
#define OP_SHUTDOWN         4
#define OP_RW               5
#define OP_CREDIT_UPDATE    6
#define OP_CREDIT_REQUEST   7
#define SHUTDOWN_BOTH       3
#define HDR                 TDX_EMU_VSOCK_HDR
#define CTL_MAX             64      /* control packets waiting */

typedef struct VsockAddr {
    uint64_t cid;
    uint32_t port;
} VsockAddr;

typedef struct VsockConn {
    TdxEmuVsock *v;
    uint64_t request_id;
    VsockAddr host, guest;
    uint32_t peer_buf_alloc, peer_fwd_cnt;
    uint32_t tx_cnt;            /* bytes sent to the guest */
    uint32_t rx_cnt;            /* bytes received from the guest */
    uint32_t fwd_sent;          /* the fwd_cnt the guest was last told */
    bool shutdown_sent;
    QTAILQ_ENTRY(VsockConn) next;
} VsockConn;

struct TdxEmuVsock {
    TdxEmuState *s;
    TdxEmuVsockKick *kick;
    void *kick_opaque;
    QTAILQ_HEAD(, VsockConn) conns;
    GQueue ctl;                 /* 44-byte headers for the guest */
};

static TdxEmuVsock *vsock_of(TdxEmuState *s)
{
    if (!s->vsock) {
        s->vsock = g_new0(TdxEmuVsock, 1);
        s->vsock->s = s;
        QTAILQ_INIT(&s->vsock->conns);
        g_queue_init(&s->vsock->ctl);
    }
    return s->vsock;
}

void tdx_emu_vsock_set_kick(TdxEmuState *s, TdxEmuVsockKick *kick,
                            void *opaque)
{
    vsock_of(s)->kick = kick;
    vsock_of(s)->kick_opaque = opaque;
}

static void vsock_kick(TdxEmuVsock *v)
{
    if (v->kick) {
        v->kick(v->kick_opaque);
    }
}

static TdxEmuStream *conn_stream(VsockConn *c)
{
    TdxEmuMigReq *req = tdx_emu_request_running(c->v->s, c->request_id);

    return req ? req->stream : NULL;
}

/* What the guest may still send: the room in the stream's send queue */
static uint32_t conn_fwd_cnt(VsockConn *c)
{
    TdxEmuStream *st = conn_stream(c);

    return c->rx_cnt - (st ? tdx_emu_stream_queued(st) : 0);
}

static void hdr_fill(uint8_t *h, const VsockAddr *src, const VsockAddr *dst,
                     uint16_t op, uint32_t flags, uint32_t len,
                     uint32_t buf_alloc, uint32_t fwd_cnt)
{
    memset(h, 0, HDR);
    stq_le_p(h, src->cid);
    stq_le_p(h + 8, dst->cid);
    stl_le_p(h + 16, src->port);
    stl_le_p(h + 20, dst->port);
    stl_le_p(h + 24, len);
    stw_le_p(h + 28, TYPE_STREAM);
    stw_le_p(h + 30, op);
    stl_le_p(h + 32, flags);
    stl_le_p(h + 36, buf_alloc);
    stl_le_p(h + 40, fwd_cnt);
}

static void ctl_push(TdxEmuVsock *v, const VsockAddr *src,
                     const VsockAddr *dst, uint16_t op, uint32_t flags,
                     uint32_t buf_alloc, uint32_t fwd_cnt)
{
    uint8_t *h;

    if (g_queue_get_length(&v->ctl) >= CTL_MAX) {
        trace_tdx_emu_vsock_ctl_drop(op);
        return;
    }
    h = g_malloc(HDR);
    hdr_fill(h, src, dst, op, flags, 0, buf_alloc, fwd_cnt);
    g_queue_push_tail(&v->ctl, h);
}

static void conn_ctl(VsockConn *c, uint16_t op, uint32_t flags)
{
    TdxEmuStream *st = conn_stream(c);
    uint32_t alloc = st ? tdx_emu_stream_queued(st) +
                          tdx_emu_stream_room(st) : 0;

    c->fwd_sent = conn_fwd_cnt(c);
    ctl_push(c->v, &c->host, &c->guest, op, flags, alloc, c->fwd_sent);
}

static void conn_free(VsockConn *c)
{
    TdxEmuStream *st = conn_stream(c);

    trace_tdx_emu_vsock_close(c->request_id, c->guest.port);
    if (st) {
        tdx_emu_stream_bind(st, NULL, NULL);
    }
    QTAILQ_REMOVE(&c->v->conns, c, next);
    g_free(c);
}

static void conn_reset(VsockConn *c)
{
    conn_ctl(c, OP_RST, 0);
    conn_free(c);
}

/* The stream moved: bytes arrived, went out, or the peer is gone */
static void conn_notify(void *opaque)
{
    VsockConn *c = opaque;
    TdxEmuStream *st = conn_stream(c);

    /* The guest may wait for credit: tell it once half was used */
    if (st && c->rx_cnt - c->fwd_sent >= (tdx_emu_stream_queued(st) +
                                          tdx_emu_stream_room(st)) / 2 &&
        conn_fwd_cnt(c) != c->fwd_sent) {
        conn_ctl(c, OP_CREDIT_UPDATE, 0);
    }
    vsock_kick(c->v);
}

static VsockConn *conn_find(TdxEmuVsock *v, const VsockAddr *host,
                            const VsockAddr *guest)
{
    VsockConn *c;

    QTAILQ_FOREACH(c, &v->conns, next) {
        if (c->host.cid == host->cid && c->host.port == host->port &&
            c->guest.cid == guest->cid && c->guest.port == guest->port) {
            return c;
        }
    }
    return NULL;
}

/* The running migration listening on @host, with a stream not yet bound */
static TdxEmuMigReq *listener(TdxEmuVsock *v, const VsockAddr *host)
{
    TdxEmuMigReq *req;
    VsockConn *c;

    QTAILQ_FOREACH(req, &v->s->requests, next) {
        if (req->delivered && req->stream && req->mig_td_cid == host->cid &&
            req->mig_channel_port == host->port) {
            QTAILQ_FOREACH(c, &v->conns, next) {
                if (c->request_id == req->id) {
                    return NULL;
                }
            }
            return req;
        }
    }
    return NULL;
}

static void conn_accept(TdxEmuVsock *v, TdxEmuMigReq *req,
                        const VsockAddr *host, const VsockAddr *guest,
                        const uint8_t *h)
{
    VsockConn *c = g_new0(VsockConn, 1);

    c->v = v;
    c->request_id = req->id;
    c->host = *host;
    c->guest = *guest;
    c->peer_buf_alloc = ldl_le_p(h + 36);
    c->peer_fwd_cnt = ldl_le_p(h + 40);
    QTAILQ_INSERT_TAIL(&v->conns, c, next);
    tdx_emu_stream_bind(req->stream, conn_notify, c);
    trace_tdx_emu_vsock_accept(req->id, guest->cid, guest->port);
    conn_ctl(c, OP_RESPONSE, 0);
}

/* Data from the guest, within the credit it was given */
static void conn_rw(VsockConn *c, const uint8_t *data, uint32_t len)
{
    TdxEmuStream *st = conn_stream(c);

    if (!st || len > tdx_emu_stream_room(st)) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: vsock port %u: %u bytes "
                      "beyond the credit given, connection reset\n",
                      c->guest.port, len);
        conn_reset(c);
        return;
    }
    c->rx_cnt += len;
    if (!tdx_emu_stream_put(st, data, len)) {
        conn_reset(c);
    }
}

/* A packet of a connection */
static void conn_packet(VsockConn *c, uint16_t op, const uint8_t *h,
                        const uint8_t *data, uint32_t len)
{
    c->peer_buf_alloc = ldl_le_p(h + 36);
    c->peer_fwd_cnt = ldl_le_p(h + 40);
    switch (op) {
    case OP_RW:
        conn_rw(c, data, len);
        break;
    case OP_CREDIT_REQUEST:
        conn_ctl(c, OP_CREDIT_UPDATE, 0);
        break;
    case OP_CREDIT_UPDATE:
        break;
    case OP_RST:
        conn_free(c);
        break;
    default:            /* SHUTDOWN, or what a connection must not get */
        conn_reset(c);
        break;
    }
}

bool tdx_emu_vsock_from_guest(TdxEmuState *s, const uint8_t *pkt,
                              uint32_t len)
{
    TdxEmuVsock *v = vsock_of(s);
    VsockAddr guest, host;
    uint32_t data_len;
    uint16_t op;
    VsockConn *c;
    TdxEmuMigReq *req;

    if (len < HDR || ldl_le_p(pkt + 24) > len - HDR) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: vsock packet of %u bytes "
                      "malformed\n", len);
        return false;
    }
    guest = (VsockAddr) { ldq_le_p(pkt), ldl_le_p(pkt + 16) };
    host = (VsockAddr) { ldq_le_p(pkt + 8), ldl_le_p(pkt + 20) };
    data_len = ldl_le_p(pkt + 24);
    op = lduw_le_p(pkt + 30);
    trace_tdx_emu_vsock_packet("in", op, guest.port, host.port, data_len);
    c = conn_find(v, &host, &guest);
    req = c ? NULL : listener(v, &host);
    if (c && lduw_le_p(pkt + 28) == TYPE_STREAM) {
        conn_packet(c, op, pkt, pkt + HDR, data_len);
    } else if (req && op == OP_REQUEST &&
               lduw_le_p(pkt + 28) == TYPE_STREAM) {
        conn_accept(v, req, &host, &guest, pkt);
    } else if (op != OP_RST) {
        if (c) {
            conn_free(c);
        }
        ctl_push(v, &host, &guest, OP_RST, 0, 0, 0);
    }
    vsock_kick(v);
    return true;
}

/* The connection's next data packet into @buf, or 0 */
static uint32_t conn_data(VsockConn *c, uint8_t *buf, uint32_t max)
{
    TdxEmuStream *st = conn_stream(c);
    uint32_t credit = c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt);
    uint32_t n;

    if (!st) {
        return 0;
    }
    if (credit > c->peer_buf_alloc) {   /* the guest's counters went bad */
        credit = 0;
    }
    n = tdx_emu_stream_take(st, NULL, MIN(credit, max - HDR));
    if (!n) {
        return 0;
    }
    tdx_emu_stream_take(st, buf + HDR, n);
    c->tx_cnt += n;
    c->fwd_sent = conn_fwd_cnt(c);
    hdr_fill(buf, &c->host, &c->guest, OP_RW, 0, n,
             tdx_emu_stream_queued(st) + tdx_emu_stream_room(st),
             c->fwd_sent);
    return HDR + n;
}

/*
 * Streams whose peer is gone and drained: SHUTDOWN to the guest. A
 * connection whose request ended is forgotten then (its later packets
 * are answered RST), so that none outlives its request and the guest may
 * connect from the same port again.
 */
static void conns_closing(TdxEmuVsock *v)
{
    TdxEmuStream *st;
    VsockConn *c, *c_next;

    QTAILQ_FOREACH_SAFE(c, &v->conns, next, c_next) {
        st = conn_stream(c);
        if (!c->shutdown_sent && (!st || (tdx_emu_stream_closed(st) &&
                                          !tdx_emu_stream_take(st, NULL, 1)))) {
            c->shutdown_sent = true;
            conn_ctl(c, OP_SHUTDOWN, SHUTDOWN_BOTH);
        }
        if (!st) {
            conn_free(c);
        }
    }
}

uint32_t tdx_emu_vsock_to_guest(TdxEmuState *s, uint8_t *buf, uint32_t max)
{
    TdxEmuVsock *v = vsock_of(s);
    g_autofree uint8_t *h = NULL;
    VsockConn *c;
    uint32_t n;

    conns_closing(v);
    h = g_queue_pop_head(&v->ctl);
    if (h) {
        memcpy(buf, h, HDR);
        trace_tdx_emu_vsock_packet("out", lduw_le_p(h + 30),
                                   ldl_le_p(h + 20), ldl_le_p(h + 16), 0);
        return HDR;
    }
    QTAILQ_FOREACH(c, &v->conns, next) {
        n = conn_data(c, buf, max);
        if (n) {
            trace_tdx_emu_vsock_packet("out", OP_RW, c->guest.port,
                                       c->host.port, n - HDR);
            return n;
        }
    }
    return 0;
}

/* The TD is reset: its connections are gone */
void tdx_emu_vsock_reset(TdxEmuState *s)
{
    TdxEmuVsock *v = s->vsock;
    VsockConn *c, *c_next;

    if (!v) {
        return;
    }
    QTAILQ_FOREACH_SAFE(c, &v->conns, next, c_next) {
        conn_free(c);
    }
    g_queue_clear_full(&v->ctl, g_free);
}
