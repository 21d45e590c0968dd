/*
 * tdx-emu: migration streams, and MigTD's Send and Receive over them
 *
 * A start-migration request names a character device (a socket to the
 * peer VM's tdx-emu, typically) that carries the bytes between the two
 * MigTDs (spec §5.1). Send hands bytes to it; Receive is completed from
 * bytes that arrived, split or merged freely but never with length 0; both
 * sides may send first, so arriving bytes are queued until the TD asks.
 * When the peer goes away, pending and later operations complete with
 * NOT_COMPLETED | VMM_CANCEL << 8.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "chardev/char-fe.h"
#include "exec/address-spaces.h"
#include "tdx-emu.h"
#include "tdx-abi.h"
#include "vmcall-raw.h"
#include "trace.h"

#define STREAM_RX_MAX           (1 * MiB)   /* queued before backpressure */
#define SEND_MAX                (64 * KiB)

struct TdxEmuStream {
    TdxEmuState *dev;
    uint64_t request_id;
    CharBackend chr;
    GByteArray *rx;             /* arrived, not yet received by the TD */
    GByteArray *tx;             /* sent by the TD, not yet written out */
    guint tx_watch;
    bool closed;
    bool finished;              /* the request is over: drain, then free */
    bool rx_pending;
    TdxEmuRawBuf rx_buf;
};

static void stream_cancel(TdxEmuStream *st, const TdxEmuRawBuf *buf)
{
    tdx_emu_raw_complete(st->dev, buf, VMCALL_RAW_NOT_COMPLETED,
                         VMCALL_RAW_VMM_CANCEL, NULL, 0);
}

/* Complete the pending Receive if there is data, or the peer is gone */
static void stream_try_receive(TdxEmuStream *st)
{
    uint32_t n;

    if (!st->rx_pending || (!st->rx->len && !st->closed)) {
        return;
    }
    st->rx_pending = false;
    if (!st->rx->len) {
        trace_tdx_emu_stream_cancel(st->request_id);
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
        st->closed = true;
        stream_try_receive(st);
    }
}

static void stream_flush(TdxEmuStream *st);
static void stream_destroy(TdxEmuStream *st);

static gboolean stream_writable(void *do_not_use, GIOCondition cond,
                                void *opaque)
{
    TdxEmuStream *st = opaque;

    st->tx_watch = 0;
    stream_flush(st);
    return G_SOURCE_REMOVE;
}

/*
 * Write out what the chardev takes now; wait for it to take the rest. A
 * peer that is gone takes nothing more. A finished stream goes once empty.
 */
static void stream_flush(TdxEmuStream *st)
{
    int n;

    while (st->tx->len) {
        n = qemu_chr_fe_write(&st->chr, st->tx->data, st->tx->len);
        if (n < 0 && errno != EAGAIN) {
            g_byte_array_set_size(st->tx, 0);
            break;
        }
        if (n <= 0) {
            break;
        }
        g_byte_array_remove_range(st->tx, 0, n);
    }
    if (!st->tx->len && st->finished) {
        stream_destroy(st);
    } else if (st->tx->len && !st->tx_watch) {
        st->tx_watch = qemu_chr_fe_add_watch(&st->chr, G_IO_OUT | G_IO_HUP,
                                             stream_writable, st);
    }
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

static void stream_destroy(TdxEmuStream *st)
{
    if (st->tx_watch) {
        g_source_remove(st->tx_watch);
    }
    qemu_chr_fe_deinit(&st->chr, false);
    g_byte_array_free(st->rx, true);
    g_byte_array_free(st->tx, true);
    g_free(st);
}

/*
 * The request is over: the TD gets nothing more from the stream, but what
 * it sent still goes out before the chardev is let go.
 */
void tdx_emu_stream_free(TdxEmuStream *st)
{
    if (!st) {
        return;
    }
    st->finished = true;
    st->rx_pending = false;
    qemu_chr_fe_set_handlers(&st->chr, NULL, NULL, NULL, NULL, NULL, NULL,
                             true);
    stream_flush(st);
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
        buf->len <= VMCALL_RAW_HDR_SIZE ||
        buf->len > VMCALL_RAW_HDR_SIZE + SEND_MAX ||
        !tdx_emu_ram_range(s, buf->gpa, buf->len)) {
        return TDVMCALL_INVALID_OPERAND;
    }
    return TDVMCALL_SUCCESS;
}

/*
 * Send (spec §3.4, leaf 3): R13 = request id, R14 = 12 + n exactly, R15 =
 * buffer GPA | S holding {status 0, length n, data}, RBX = vector.
 */
uint64_t tdx_emu_migtd_send(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    TdxEmuStream *st = stream_of(s, vmm[R_R13]);
    uint64_t status;
    TdxEmuRawBuf buf;
    uint8_t hdr[VMCALL_RAW_HDR_SIZE];
    uint32_t n;

    status = stream_buffer(s, cpu, vmm, &buf);
    if (status != TDVMCALL_SUCCESS || !st) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: Send for request %" PRIu64
                      ": %s\n", vmm[R_R13], st ? "bad buffer" :
                      "no such migration running");
        return st ? status : TDVMCALL_INVALID_OPERAND;
    }
    address_space_read(&address_space_memory, buf.gpa,
                       MEMTXATTRS_UNSPECIFIED, hdr, sizeof(hdr));
    n = ldl_le_p(hdr + 8);
    if (n + VMCALL_RAW_HDR_SIZE != buf.len) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: Send: length %u does not "
                      "match the buffer length %" PRIu64 "\n", n, buf.len);
        return TDVMCALL_INVALID_OPERAND;
    }
    if (st->closed) {
        stream_cancel(st, &buf);
        return TDVMCALL_SUCCESS;
    }
    g_byte_array_set_size(st->tx, st->tx->len + n);
    address_space_read(&address_space_memory, buf.gpa + VMCALL_RAW_HDR_SIZE,
                       MEMTXATTRS_UNSPECIFIED,
                       st->tx->data + st->tx->len - n, n);
    trace_tdx_emu_stream_send(st->request_id, n);
    stream_flush(st);
    tdx_emu_raw_complete(s, &buf, VMCALL_RAW_VMM_SUCCESS, 0, NULL, 0);
    return TDVMCALL_SUCCESS;
}

/*
 * Receive (spec §3.4, leaf 4): R13 = request id, R14 = buffer length, R15
 * = buffer GPA | S, RBX = vector; completed when bytes are there.
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
