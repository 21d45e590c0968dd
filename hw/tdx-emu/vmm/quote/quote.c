/*
 * tdx-emu: TDG.VP.VMCALL<GetQuote> (GHCI 1.5)
 *
 * R12 = GPA (| S) of a 4 KiB aligned buffer, R13 = its size. The buffer
 * starts with {u64 version = 1; u64 status; u32 in_len; u32 out_len}, the
 * data follows. The data is either a QGS message behind a 4-byte
 * big-endian length (MigTD's DCAP library frames its messages so) or a
 * bare 1024-byte TDREPORT; either is answered in the same form. The VMM
 * marks the buffer IN_FLIGHT, lets the quote backend answer off the vCPU
 * thread, writes the payload and then the header, and raises the TD's
 * event-notify vector.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "exec/address-spaces.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"
#include "hw/tdx-emu/vmm/vmm.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "quote.h"
#include "trace.h"

#define GET_QUOTE_HDR           24
#define GET_QUOTE_MAX_SIZE      (128 * KiB)
#define GET_QUOTE_MAX_IN_FLIGHT 16
#define GET_QUOTE_VERSION       1
#define FRAME_SIZE              4

typedef struct QuoteRequest {
    TdxEmuState *s;
    uint64_t generation;        /* a reset since: the answer is dropped */
    uint64_t gpa;
    uint64_t size;
    bool framed;
} QuoteRequest;

static void quote_write_header(uint64_t gpa, uint64_t status,
                               uint32_t out_len)
{
    uint8_t le[8];

    stl_le_p(le, out_len);
    address_space_write(&address_space_memory, gpa + 20,
                        MEMTXATTRS_UNSPECIFIED, le, 4);
    /* The TD reads out_len and the payload once the status has changed */
    smp_wmb();
    stq_le_p(le, status);
    address_space_write(&address_space_memory, gpa + 8,
                        MEMTXATTRS_UNSPECIFIED, le, 8);
}

static void quote_done(void *opaque, uint64_t status, const uint8_t *resp,
                       size_t len)
{
    QuoteRequest *q = opaque;
    TdxEmuState *s = q->s;
    uint64_t room = q->size - GET_QUOTE_HDR;
    const uint8_t *out = resp;
    uint32_t out_len = len;
    uint8_t frame[FRAME_SIZE];

    s->quotes_in_flight--;
    if (q->generation != s->quote_generation ||
        !tdx_emu_ram_range(s, q->gpa, q->size)) {
        g_free(q);
        return;
    }
    if (status == GET_QUOTE_SUCCESS && !q->framed) {
        out = tdx_qgs_quote_resp_quote(resp, len, &out_len);
        status = out ? status : GET_QUOTE_ERROR;
    }
    if (status == GET_QUOTE_SUCCESS &&
        out_len + (q->framed ? FRAME_SIZE : 0) > room) {
        status = GET_QUOTE_ERROR;           /* the answer does not fit */
    }
    if (status != GET_QUOTE_SUCCESS) {
        out_len = 0;
    } else if (q->framed) {
        stl_be_p(frame, out_len);
        address_space_write(&address_space_memory, q->gpa + GET_QUOTE_HDR,
                            MEMTXATTRS_UNSPECIFIED, frame, FRAME_SIZE);
        address_space_write(&address_space_memory,
                            q->gpa + GET_QUOTE_HDR + FRAME_SIZE,
                            MEMTXATTRS_UNSPECIFIED, out, out_len);
        out_len += FRAME_SIZE;
    } else {
        address_space_write(&address_space_memory, q->gpa + GET_QUOTE_HDR,
                            MEMTXATTRS_UNSPECIFIED, out, out_len);
    }
    trace_tdx_emu_get_quote_done(q->gpa, status, out_len);
    quote_write_header(q->gpa, status, out_len);
    tdx_emu_notify_event(s);
    g_free(q);
}

/*
 * The request message for the backend: a framed QGS message as it is, a
 * bare TDREPORT wrapped into GET_QUOTE_REQ. NULL if the data is neither.
 */
static GByteArray *quote_message(const uint8_t *data, uint32_t in_len,
                                 bool *framed)
{
    GByteArray *msg;

    *framed = in_len >= FRAME_SIZE + QGS_HDR_SIZE &&
              ldl_be_p(data) == in_len - FRAME_SIZE;
    if (*framed) {
        msg = g_byte_array_new();
        g_byte_array_append(msg, data + FRAME_SIZE, in_len - FRAME_SIZE);
        return msg;
    }
    return in_len == TDX_TDREPORT_SIZE ? tdx_qgs_quote_req(data) : NULL;
}

uint64_t tdx_emu_vmcall_get_quote(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint64_t gpa = vmm[R_R12] & ~tdx_emu_shared_bit(s), size = vmm[R_R13];
    g_autoptr(GByteArray) msg = NULL;
    g_autofree uint8_t *data = NULL;
    uint8_t hdr[GET_QUOTE_HDR];
    QuoteRequest *q;
    uint32_t in_len;
    bool framed;

    if (!QEMU_IS_ALIGNED(vmm[R_R12], 4 * KiB) ||
        !QEMU_IS_ALIGNED(size, 4 * KiB)) {
        return TDVMCALL_ALIGN_ERROR;
    }
    if (!size || size > GET_QUOTE_MAX_SIZE ||
        !tdx_emu_ram_range(s, gpa, size)) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: GetQuote: bad buffer 0x%"
                      PRIx64 " + 0x%" PRIx64 "\n", vmm[R_R12], size);
        return TDVMCALL_INVALID_OPERAND;
    }
    address_space_read(&address_space_memory, gpa, MEMTXATTRS_UNSPECIFIED,
                       hdr, sizeof(hdr));
    in_len = ldl_le_p(hdr + 16);
    if (ldq_le_p(hdr) != GET_QUOTE_VERSION ||
        in_len > size - GET_QUOTE_HDR) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: GetQuote: version %" PRIu64
                      ", in_len %u\n", ldq_le_p(hdr), in_len);
        return TDVMCALL_INVALID_OPERAND;
    }
    if (!s->quote) {
        quote_write_header(gpa, GET_QUOTE_SERVICE_UNAVAILABLE, 0);
        return TDVMCALL_SUCCESS;
    }
    if (s->quotes_in_flight >= GET_QUOTE_MAX_IN_FLIGHT) {
        return TDVMCALL_RETRY;
    }
    data = g_malloc(in_len);
    address_space_read(&address_space_memory, gpa + GET_QUOTE_HDR,
                       MEMTXATTRS_UNSPECIFIED, data, in_len);
    msg = quote_message(data, in_len, &framed);
    if (!msg) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: GetQuote: %u bytes are "
                      "neither a framed QGS message nor a TDREPORT\n",
                      in_len);
        return TDVMCALL_INVALID_OPERAND;
    }
    quote_write_header(gpa, GET_QUOTE_IN_FLIGHT, 0);
    q = g_new0(QuoteRequest, 1);
    *q = (QuoteRequest) {
        .s = s, .generation = s->quote_generation, .gpa = gpa, .size = size,
        .framed = framed,
    };
    s->quotes_in_flight++;
    trace_tdx_emu_get_quote(gpa, in_len, framed);
    TDX_QUOTE_BACKEND_GET_CLASS(s->quote)->request(s->quote, msg->data,
                                                   msg->len, quote_done, q);
    return TDVMCALL_SUCCESS;
}
