/*
 * tdx-emu: what the quote backends share: the abstract tdx-quote-backend
 * type, the QGS message layout (spec §3.3; prior-art §1.8) and answering
 * in the main loop.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "block/aio.h"
#include "quote.h"

#define QGS_COLLATERAL_MAJOR    3
#define QGS_COLLATERAL_MINOR    0

void tdx_qgs_header(GByteArray *msg, uint32_t type, uint32_t size)
{
    uint8_t hdr[QGS_HDR_SIZE];

    stw_le_p(hdr, QGS_MSG_MAJOR);
    stw_le_p(hdr + 2, QGS_MSG_MINOR);
    stl_le_p(hdr + 4, type);
    stl_le_p(hdr + 8, size);
    stl_le_p(hdr + 12, 0);              /* error_code */
    g_byte_array_append(msg, hdr, sizeof(hdr));
}

static void put_le32(GByteArray *out, uint32_t v)
{
    uint8_t b[4];

    stl_le_p(b, v);
    g_byte_array_append(out, b, sizeof(b));
}

/* GET_QUOTE_REQ {header, u32 report_size, u32 id_list_size, report} */
GByteArray *tdx_qgs_quote_req(const uint8_t *report)
{
    GByteArray *msg = g_byte_array_sized_new(QGS_HDR_SIZE + 8 +
                                             TDX_TDREPORT_SIZE);

    tdx_qgs_header(msg, QGS_GET_QUOTE_REQ,
                   QGS_HDR_SIZE + 8 + TDX_TDREPORT_SIZE);
    put_le32(msg, TDX_TDREPORT_SIZE);
    put_le32(msg, 0);
    g_byte_array_append(msg, report, TDX_TDREPORT_SIZE);
    return msg;
}

const uint8_t *tdx_qgs_quote_req_report(const uint8_t *msg, size_t len)
{
    if (len < QGS_HDR_SIZE + 8 + TDX_TDREPORT_SIZE ||
        ldl_le_p(msg + QGS_HDR_SIZE) != TDX_TDREPORT_SIZE) {
        return NULL;
    }
    return msg + QGS_HDR_SIZE + 8;
}

/* GET_QUOTE_RESP {header, u32 selected_id_size, u32 quote_size, quote} */
void tdx_qgs_quote_resp(GByteArray *msg, const uint8_t *quote, uint32_t len)
{
    tdx_qgs_header(msg, QGS_GET_QUOTE_RESP, QGS_HDR_SIZE + 8 + len);
    put_le32(msg, 0);
    put_le32(msg, len);
    g_byte_array_append(msg, quote, len);
}

const uint8_t *tdx_qgs_quote_resp_quote(const uint8_t *resp, size_t len,
                                        uint32_t *quote_len)
{
    uint32_t id_len, q_len;

    if (len < QGS_HDR_SIZE + 8 ||
        ldl_le_p(resp + 4) != QGS_GET_QUOTE_RESP ||
        ldl_le_p(resp + 12) != 0) {
        return NULL;
    }
    id_len = ldl_le_p(resp + QGS_HDR_SIZE);
    q_len = ldl_le_p(resp + QGS_HDR_SIZE + 4);
    if ((uint64_t)QGS_HDR_SIZE + 8 + id_len + q_len > len || !q_len) {
        return NULL;
    }
    *quote_len = q_len;
    return resp + QGS_HDR_SIZE + 8 + id_len;
}

/* GET_COLLATERAL_RESP {header, u16 major, u16 minor, 7 sizes, blobs} */
void tdx_qgs_collateral_resp(GByteArray *msg,
                             const void *const blobs[QGS_COLLATERAL_BLOBS],
                             const uint32_t sizes[QGS_COLLATERAL_BLOBS])
{
    uint32_t total = QGS_HDR_SIZE + 4 + 4 * QGS_COLLATERAL_BLOBS;
    uint8_t version[4];
    int i;

    for (i = 0; i < QGS_COLLATERAL_BLOBS; i++) {
        total += sizes[i];
    }
    tdx_qgs_header(msg, QGS_GET_COLLATERAL_RESP, total);
    stw_le_p(version, QGS_COLLATERAL_MAJOR);
    stw_le_p(version + 2, QGS_COLLATERAL_MINOR);
    g_byte_array_append(msg, version, sizeof(version));
    for (i = 0; i < QGS_COLLATERAL_BLOBS; i++) {
        put_le32(msg, sizes[i]);
    }
    for (i = 0; i < QGS_COLLATERAL_BLOBS; i++) {
        g_byte_array_append(msg, blobs[i], sizes[i]);
    }
}

typedef struct QuoteAnswer {
    uint64_t status;
    GByteArray *resp;
    TdxQuoteDone *done;
    void *opaque;
} QuoteAnswer;

static void quote_answer_bh(void *opaque)
{
    QuoteAnswer *a = opaque;

    a->done(a->opaque, a->status,
            a->status == GET_QUOTE_SUCCESS ? a->resp->data : NULL,
            a->resp->len);
    g_byte_array_free(a->resp, true);
    g_free(a);
}

void tdx_quote_answer(uint64_t status, GByteArray *resp, TdxQuoteDone *done,
                      void *opaque)
{
    QuoteAnswer *a = g_new(QuoteAnswer, 1);

    *a = (QuoteAnswer) {
        .status = status, .resp = resp, .done = done, .opaque = opaque,
    };
    aio_bh_schedule_oneshot(qemu_get_aio_context(), quote_answer_bh, a);
}

static const TypeInfo quote_backend_types[] = {
    {
        .name = TYPE_TDX_QUOTE_BACKEND,
        .parent = TYPE_OBJECT,
        .abstract = true,
        .instance_size = sizeof(TdxQuoteBackend),
        .class_size = sizeof(TdxQuoteBackendClass),
    },
};

DEFINE_TYPES(quote_backend_types)
