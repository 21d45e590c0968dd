/*
 * tdx-emu: migration streams, and MigTD's Send and Receive over them
 *
 * A start-migration request names a character device (a socket to the
 * peer VM's tdx-emu, typically) that carries the bytes between the two
 * MigTDs (docs/migration.md). Send hands bytes to it; Receive is completed
 * from bytes that arrived, split or merged freely but never with length 0;
 * both sides may send first, so arriving bytes are queued until the TD
 * asks. Both queues are bounded: a full receive queue stops reading the
 * chardev, and a Send that does not fit the send queue is held until the
 * chardev has taken enough. Both are completed asynchronously, header then
 * vector, as MigTD expects (src/devices/vmcall_raw/src/transport/vmcall.rs
 * waits for the vector, then reads data_status). When the peer goes away or
 * the request ends, pending and later operations complete with
 * NOT_COMPLETED | VMM_CANCEL << 8.
 *
 * A vsock transport (vsock.c) binds the stream instead: it is told when
 * bytes arrived, the chardev took bytes or the peer went away, and moves
 * bytes with tdx_emu_stream_take/put within the same bounds.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "chardev/char-fe.h"
#include "exec/address-spaces.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"
#include "vmm.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "vmcall-raw.h"
#include "trace.h"

/* Limits, listed in docs/migration.md */
#define STREAM_RX_MAX           (1 * MiB)   /* arrived, not yet received */
#define STREAM_TX_MAX           (1 * MiB)   /* sent, not yet written out */
/*
 * One Send or Receive buffer, header included: MigTD's MTU of 16 pages,
 * so a Send carries at most 65,524 bytes (MigTD commit 11156b8 chunks its
 * Sends to that)
 */
#define BUFFER_MAX              (16 * 4 * KiB)

struct TdxEmuStream {
    TdxEmuState *dev;
    uint64_t request_id;
    CharBackend chr;
    GByteArray *rx;             /* arrived, not yet received by the TD */
    GByteArray *tx;             /* sent by the TD, not yet written out */
    guint tx_watch;
    QEMUTimer *drain_timer;     /* a finished stream goes then at the latest */
    bool closed;
    bool finished;              /* the request is over: drain, then free */
    bool rx_pending;
    bool tx_pending;            /* a Send waits for room in tx */
    TdxEmuRawBuf rx_buf;
    TdxEmuRawBuf tx_buf;
    TdxEmuStreamNotify *notify; /* bound by a vsock connection */
    void *opaque;
};

/* Tell the vsock connection bound to the stream, if any */
static bool stream_notify(TdxEmuStream *st)
{
    if (st->notify) {
        st->notify(st->opaque);
    }
    return st->notify;
}

static void stream_cancel(TdxEmuStream *st, const TdxEmuRawBuf *buf)
{
    trace_tdx_emu_stream_cancel(st->request_id,
                                buf == &st->rx_buf ? "Receive" : "Send");
    tdx_emu_raw_complete(st->dev, buf, VMCALL_RAW_NOT_COMPLETED,
                         VMCALL_RAW_VMM_CANCEL, NULL, 0);
}

/* Complete the pending Receive if there is data, or the peer is gone */
static void stream_try_receive(TdxEmuStream *st)
{
    uint32_t n;

    if (stream_notify(st) || !st->rx_pending || (!st->rx->len && !st->closed)) {
        return;
    }
    st->rx_pending = false;
    if (!st->rx->len) {
        stream_cancel(st, &st->rx_buf);
        return;
    }
    n = MIN(st->rx->len, st->rx_buf.len - VMCALL_RAW_HDR_SIZE);
    trace_tdx_emu_stream_receive(st->request_id, n);
    tdx_emu_raw_complete(st->dev, &st->rx_buf, VMCALL_RAW_VMM_SUCCESS, 0,
                         st->rx->data, n);
    g_byte_array_remove_range(st->rx, 0, n);
    qemu_chr_fe_accept_input(&st->chr);
}

/*
 * Take the pending Send into tx if it fits, or cancel it if the peer is
 * gone. True if it added bytes to write out.
 */
static bool stream_try_send(TdxEmuStream *st)
{
    uint32_t n = st->tx_buf.len - VMCALL_RAW_HDR_SIZE;

    if (!st->tx_pending || (!st->closed && st->tx->len + n > STREAM_TX_MAX)) {
        return false;
    }
    st->tx_pending = false;
    if (st->closed) {
        stream_cancel(st, &st->tx_buf);
        return false;
    }
    g_byte_array_set_size(st->tx, st->tx->len + n);
    address_space_read(&address_space_memory,
                       st->tx_buf.gpa + VMCALL_RAW_HDR_SIZE,
                       MEMTXATTRS_UNSPECIFIED,
                       st->tx->data + st->tx->len - n, n);
    trace_tdx_emu_stream_send(st->request_id, n);
    tdx_emu_raw_complete(st->dev, &st->tx_buf, VMCALL_RAW_VMM_SUCCESS, 0,
                         NULL, 0);
    return true;
}

/* The peer is gone: nothing more goes out, pending operations end */
static void stream_closed(TdxEmuStream *st)
{
    st->closed = true;
    g_byte_array_set_size(st->tx, 0);
    stream_try_receive(st);
    stream_try_send(st);
}

static int stream_can_read(void *opaque)
{
    TdxEmuStream *st = opaque;

    return STREAM_RX_MAX - st->rx->len;
}

static void stream_read(void *opaque, const uint8_t *buf, int size)
{
    TdxEmuStream *st = opaque;

    g_byte_array_append(st->rx, buf, size);
    stream_try_receive(st);
}

static void stream_event(void *opaque, QEMUChrEvent event)
{
    TdxEmuStream *st = opaque;

    if (event == CHR_EVENT_CLOSED) {
        qemu_log_mask(LOG_UNIMP, "tdx-emu: migration stream of request %"
                      PRIu64 ": peer disconnected\n", st->request_id);
        stream_closed(st);
    }
}

/* Write out what the chardev takes now; a write error means it is gone */
static void stream_write(TdxEmuStream *st)
{
    int n;

    while (st->tx->len) {
        n = qemu_chr_fe_write(&st->chr, st->tx->data, st->tx->len);
        if (n < 0 && errno != EAGAIN) {
            st->closed = true;
            g_byte_array_set_size(st->tx, 0);
        } else if (n <= 0) {
            return;
        } else {
            g_byte_array_remove_range(st->tx, 0, n);
            stream_notify(st);
        }
    }
}

static void stream_flush(TdxEmuStream *st);

static gboolean stream_writable(void *do_not_use, GIOCondition cond,
                                void *opaque)
{
    TdxEmuStream *st = opaque;

    st->tx_watch = 0;
    stream_flush(st);
    return G_SOURCE_REMOVE;
}

static void stream_destroy(TdxEmuStream *st)
{
    if (st->tx_watch) {
        g_source_remove(st->tx_watch);
    }
    timer_free(st->drain_timer);
    qemu_chr_fe_deinit(&st->chr, false);
    g_byte_array_free(st->rx, true);
    g_byte_array_free(st->tx, true);
    g_free(st);
}

/*
 * Write out what the chardev takes, with the pending Send once it fits,
 * and wait for the chardev to take the rest. A finished stream goes once
 * empty.
 */
static void stream_flush(TdxEmuStream *st)
{
    do {
        stream_write(st);
    } while (stream_try_send(st));
    if (!st->tx->len && st->finished) {
        stream_destroy(st);
    } else if (st->tx->len && !st->tx_watch) {
        st->tx_watch = qemu_chr_fe_add_watch(&st->chr, G_IO_OUT | G_IO_HUP,
                                             stream_writable, st);
    }
}

/* The drain bound passed: what the peer did not take is dropped */
static void stream_drain_expired(void *opaque)
{
    TdxEmuStream *st = opaque;

    trace_tdx_emu_stream_drop(st->request_id, st->tx->len);
    stream_destroy(st);
}

TdxEmuStream *tdx_emu_stream_new(TdxEmuState *s, uint64_t request_id,
                                 const char *chardev, Error **errp)
{
    Chardev *chr = qemu_chr_find(chardev);
    TdxEmuStream *st;

    if (!chr) {
        error_setg(errp, "no chardev '%s'", chardev);
        return NULL;
    }
    st = g_new0(TdxEmuStream, 1);
    if (!qemu_chr_fe_init(&st->chr, chr, errp)) {
        g_free(st);
        return NULL;
    }
    st->dev = s;
    st->request_id = request_id;
    st->rx = g_byte_array_new();
    st->tx = g_byte_array_new();
    qemu_chr_fe_set_handlers(&st->chr, stream_can_read, stream_read,
                             stream_event, NULL, st, NULL, true);
    return st;
}

/* The TD is being reset: its pending operations get no completion */
void tdx_emu_stream_forget(TdxEmuStream *st)
{
    if (st) {
        st->rx_pending = false;
        st->tx_pending = false;
    }
}

/*
 * The request is over: pending operations are canceled, the TD gets
 * nothing more from the stream, but what it sent still goes out, for at
 * most stream-drain-ms, before the chardev is let go.
 */
void tdx_emu_stream_free(TdxEmuStream *st)
{
    if (!st) {
        return;
    }
    qemu_chr_fe_set_handlers(&st->chr, NULL, NULL, NULL, NULL, NULL, NULL,
                             true);
    /* A bound vsock connection is told (its request is gone: SHUTDOWN) */
    stream_notify(st);
    st->notify = NULL;
    if (st->rx_pending) {
        stream_cancel(st, &st->rx_buf);
    }
    if (st->tx_pending) {
        stream_cancel(st, &st->tx_buf);
    }
    tdx_emu_stream_forget(st);
    st->finished = true;
    g_byte_array_set_size(st->rx, 0);
    st->drain_timer = timer_new_ms(QEMU_CLOCK_REALTIME,
                                   stream_drain_expired, st);
    timer_mod(st->drain_timer, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
              st->dev->stream_drain_ms);
    stream_flush(st);
}

/*
 * The VMM cancels the stream (tdx-emu-cancel-request): nothing more is
 * read from the peer or written to it, and pending and later Sends and
 * Receives complete with NOT_COMPLETED | VMM_CANCEL << 8.
 */
void tdx_emu_stream_abort(TdxEmuStream *st)
{
    qemu_chr_fe_set_handlers(&st->chr, NULL, NULL, NULL, NULL, NULL, NULL,
                             true);
    g_byte_array_set_size(st->rx, 0);
    stream_closed(st);
}

/* A vsock connection takes the stream's bytes (NULL @notify: lets go) */
void tdx_emu_stream_bind(TdxEmuStream *st, TdxEmuStreamNotify *notify,
                         void *opaque)
{
    st->notify = notify;
    st->opaque = opaque;
}

/* Up to @max arrived bytes into @buf (NULL: only how many there are) */
uint32_t tdx_emu_stream_take(TdxEmuStream *st, void *buf, uint32_t max)
{
    uint32_t n = MIN(st->rx->len, max);

    if (buf && n) {
        memcpy(buf, st->rx->data, n);
        g_byte_array_remove_range(st->rx, 0, n);
        qemu_chr_fe_accept_input(&st->chr);
    }
    return n;
}

/* Bytes waiting to be written out: at most STREAM_TX_MAX */
uint32_t tdx_emu_stream_queued(TdxEmuStream *st)
{
    return st->tx->len;
}

uint32_t tdx_emu_stream_room(TdxEmuStream *st)
{
    return STREAM_TX_MAX - st->tx->len;
}

/* @len bytes (at most the room) out to the peer; false once it is gone */
bool tdx_emu_stream_put(TdxEmuStream *st, const void *buf, uint32_t len)
{
    if (st->closed) {
        return false;
    }
    assert(len <= tdx_emu_stream_room(st));
    g_byte_array_append(st->tx, buf, len);
    trace_tdx_emu_stream_send(st->request_id, len);
    stream_flush(st);
    return true;
}

bool tdx_emu_stream_closed(TdxEmuStream *st)
{
    return st->closed;
}

/* R13 = request id naming a running migration, with its stream */
static TdxEmuStream *stream_of(TdxEmuState *s, uint64_t request_id)
{
    TdxEmuMigReq *req = tdx_emu_request_running(s, request_id);

    return req ? req->stream : NULL;
}

/*
 * R14/R15/RBX of Send and Receive: length, buffer GPA | S (4 KiB aligned),
 * vector. Returns the TDVMCALL status.
 */
static uint64_t stream_buffer(TdxEmuState *s, X86CPU *cpu, const uint64_t *vmm,
                              TdxEmuRawBuf *buf)
{
    *buf = (TdxEmuRawBuf) {
        .gpa = vmm[R_R15] & ~tdx_emu_shared_bit(s), .len = vmm[R_R14],
        .vector = vmm[R_EBX], .apic_id = cpu->apic_id,
    };
    if (!QEMU_IS_ALIGNED(vmm[R_R15], 4 * KiB)) {
        return TDVMCALL_ALIGN_ERROR;
    }
    if (vmm[R_EBX] < TDX_EVENT_NOTIFY_MIN_VECTOR || vmm[R_EBX] > 255 ||
        buf->len <= VMCALL_RAW_HDR_SIZE || buf->len > BUFFER_MAX ||
        !tdx_emu_ram_range(s, buf->gpa, buf->len)) {
        return TDVMCALL_INVALID_OPERAND;
    }
    return TDVMCALL_SUCCESS;
}

/*
 * Send (leaf 3, tdvmcall_migtd_send in td-shim tdx-tdcall/src/tdx.rs): R13
 * = request id, R14 = 12 + n exactly, R15 = buffer GPA | S holding {status
 * 0, length n, data}, RBX = vector. Completed once the bytes fit the send
 * queue, now or later; one Send may be pending per stream.
 */
uint64_t tdx_emu_migtd_send(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    TdxEmuStream *st = stream_of(s, vmm[R_R13]);
    uint64_t status;
    TdxEmuRawBuf buf;
    uint8_t hdr[VMCALL_RAW_HDR_SIZE];
    uint32_t n;

    status = stream_buffer(s, cpu, vmm, &buf);
    if (status != TDVMCALL_SUCCESS || !st || st->tx_pending) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: Send for request %" PRIu64
                      ": %s\n", vmm[R_R13],
                      !st ? "no such migration running" :
                      st->tx_pending ? "a Send is already pending" :
                      "bad buffer");
        return st && !st->tx_pending ? status : TDVMCALL_INVALID_OPERAND;
    }
    address_space_read(&address_space_memory, buf.gpa,
                       MEMTXATTRS_UNSPECIFIED, hdr, sizeof(hdr));
    n = ldl_le_p(hdr + 8);
    if (n + VMCALL_RAW_HDR_SIZE != buf.len) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: Send: length %u does not "
                      "match the buffer length %" PRIu64 "\n", n, buf.len);
        return TDVMCALL_INVALID_OPERAND;
    }
    st->tx_pending = true;
    st->tx_buf = buf;
    stream_flush(st);
    return TDVMCALL_SUCCESS;
}

/*
 * Receive (leaf 4, tdvmcall_migtd_receive there): R13 = request id, R14 =
 * buffer length, R15 = buffer GPA | S, RBX = vector; completed when bytes
 * are there. One Receive may be pending per stream.
 */
uint64_t tdx_emu_migtd_receive(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    TdxEmuStream *st = stream_of(s, vmm[R_R13]);
    uint64_t status;
    TdxEmuRawBuf buf;

    status = stream_buffer(s, cpu, vmm, &buf);
    if (status != TDVMCALL_SUCCESS || !st || st->rx_pending) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: Receive for request %"
                      PRIu64 ": %s\n", vmm[R_R13],
                      !st ? "no such migration running" :
                      st->rx_pending ? "a Receive is already pending" :
                      "bad buffer");
        return st && !st->rx_pending ? status : TDVMCALL_INVALID_OPERAND;
    }
    st->rx_pending = true;
    st->rx_buf = buf;
    stream_try_receive(st);
    return TDVMCALL_SUCCESS;
}
