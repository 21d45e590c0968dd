/*
 * tdx-emu: what the quote backends share: the abstract tdx-quote-backend
 * type, the QGS message layout (DCAP's
 * QuoteGeneration/quote_wrapper/qgs_msg_lib), answering in the main loop,
 * the request deadline and rate-limited failure reports (docs/quote.md).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "qemu/lockable.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "block/aio.h"
#include "quote.h"
#include "trace.h"

#define QGS_COLLATERAL_MAJOR    3
#define QGS_COLLATERAL_MINOR    0

#define QUOTE_TIMEOUT_MS        30000
/* Failure reports: the first QUOTE_LOG_BURST, then one a period at most */
#define QUOTE_LOG_BURST         5
#define QUOTE_LOG_PERIOD_MS     60000

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

static void quote_get_timeout(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    visit_type_uint32(v, name, &TDX_QUOTE_BACKEND(obj)->timeout_ms, errp);
}

static void quote_set_timeout(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    uint32_t value;

    if (!visit_type_uint32(v, name, &value, errp)) {
        return;
    }
    if (!value || value > INT_MAX) {
        error_setg(errp, "%s: timeout-ms must be 1 to %d, not %" PRIu32,
                   object_get_typename(obj), INT_MAX, value);
        return;
    }
    TDX_QUOTE_BACKEND(obj)->timeout_ms = value;
}

void tdx_quote_class_add_timeout(ObjectClass *oc)
{
    object_class_property_add(oc, "timeout-ms", "uint32", quote_get_timeout,
                              quote_set_timeout, NULL, NULL);
    object_class_property_set_description(oc, "timeout-ms",
        "deadline of one request (connection, request and the whole "
        "answer), in milliseconds (default " stringify(QUOTE_TIMEOUT_MS)
        ")");
}

int64_t tdx_quote_deadline(TdxQuoteBackend *b)
{
    return qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + b->timeout_ms;
}

int64_t tdx_quote_time_left(int64_t deadline)
{
    return MAX(deadline - qemu_clock_get_ms(QEMU_CLOCK_REALTIME), 0);
}

static struct {
    QemuMutex lock;
    unsigned reported;          /* of the burst */
    unsigned skipped;           /* since the last report */
    int64_t quiet_until;        /* ms, QEMU_CLOCK_REALTIME */
} quote_log;

/*
 * Whether to report this failure; @skipped: how many were not since the
 * last report, @last: whether this one ends the burst
 */
static bool quote_log_admit(unsigned *skipped, bool *last)
{
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);

    QEMU_LOCK_GUARD(&quote_log.lock);
    if (quote_log.reported < QUOTE_LOG_BURST) {
        *last = ++quote_log.reported == QUOTE_LOG_BURST;
    } else if (now < quote_log.quiet_until) {
        quote_log.skipped++;
        return false;
    }
    *skipped = quote_log.skipped;
    quote_log.skipped = 0;
    quote_log.quiet_until = now + QUOTE_LOG_PERIOD_MS;
    return true;
}

void tdx_quote_warn(const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    unsigned skipped = 0;
    bool last = false;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    trace_tdx_emu_quote_failure(msg);
    if (!quote_log_admit(&skipped, &last)) {
        return;
    }
    if (skipped) {
        warn_report("%s (%u more quote backend failures not reported)",
                    msg, skipped);
    } else if (last) {
        warn_report("%s (further quote backend failures: one report a "
                    "minute at most)", msg);
    } else {
        warn_report("%s", msg);
    }
}

static void quote_backend_init(Object *obj)
{
    TDX_QUOTE_BACKEND(obj)->timeout_ms = QUOTE_TIMEOUT_MS;
}

static void quote_backend_class_init(ObjectClass *oc, void *data)
{
    qemu_mutex_init(&quote_log.lock);
}

static const TypeInfo quote_backend_types[] = {
    {
        .name = TYPE_TDX_QUOTE_BACKEND,
        .parent = TYPE_OBJECT,
        .abstract = true,
        .instance_size = sizeof(TdxQuoteBackend),
        .instance_init = quote_backend_init,
        .class_size = sizeof(TdxQuoteBackendClass),
        .class_init = quote_backend_class_init,
    },
};

DEFINE_TYPES(quote_backend_types)
