/*
 * tdx-emu: quote backends for TDG.VP.VMCALL<GetQuote>
 *
 * A backend turns one QGS request message (GET_QUOTE_REQ, GET_COLLATERAL_REQ
 * ...) into the QGS response message, asynchronously, and calls back in
 * the main loop.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_QUOTE_H
#define HW_TDX_EMU_QUOTE_H

#include "qom/object.h"
#include "hw/tdx-emu/tdx-abi.h"

#define TYPE_TDX_QUOTE_BACKEND "tdx-quote-backend"
OBJECT_DECLARE_TYPE(TdxQuoteBackend, TdxQuoteBackendClass, TDX_QUOTE_BACKEND)

/* GetQuote status (GHCI 1.5, TDG.VP.VMCALL<GetQuote>) */
#define GET_QUOTE_SUCCESS               0ULL
#define GET_QUOTE_IN_FLIGHT             UINT64_MAX
#define GET_QUOTE_ERROR                 0x8000000000000000ULL
#define GET_QUOTE_SERVICE_UNAVAILABLE   0x8000000000000001ULL

/* @resp is a QGS response message (NULL unless @status is SUCCESS) */
typedef void TdxQuoteDone(void *opaque, uint64_t status, const uint8_t *resp,
                          size_t len);

/* Whether @tdreport is one this platform made (a QE's EVERIFYREPORT2) */
typedef bool TdxReportCheck(void *opaque, const uint8_t *tdreport);

struct TdxQuoteBackend {
    Object parent_obj;
    /* Set by the device; a backend that plays the QE calls it */
    TdxReportCheck *report_genuine;
    void *report_opaque;
    /* One request's deadline, from GetQuote to the whole answer */
    uint32_t timeout_ms;
};

struct TdxQuoteBackendClass {
    ObjectClass parent_class;
    /* Answer the QGS message @req; @done runs later, in the main loop */
    void (*request)(TdxQuoteBackend *b, const uint8_t *req, size_t len,
                    TdxQuoteDone *done, void *opaque);
};

/*
 * QGS messages (DCAP QuoteGeneration/quote_wrapper/qgs_msg_lib): a 16-byte
 * little-endian header, then a body
 */
#define QGS_HDR_SIZE            16
#define QGS_MSG_MAJOR           1
#define QGS_MSG_MINOR           1
#define QGS_GET_QUOTE_REQ       0
#define QGS_GET_QUOTE_RESP      1
#define QGS_GET_COLLATERAL_REQ  2
#define QGS_GET_COLLATERAL_RESP 3
#define QGS_COLLATERAL_BLOBS    7

/* quote-backend.c: the QGS message layout, appended to @msg */
void tdx_qgs_header(GByteArray *msg, uint32_t type, uint32_t size);
GByteArray *tdx_qgs_quote_req(const uint8_t *report);
void tdx_qgs_quote_resp(GByteArray *msg, const uint8_t *quote, uint32_t len);
void tdx_qgs_collateral_resp(GByteArray *msg,
                             const void *const blobs[QGS_COLLATERAL_BLOBS],
                             const uint32_t sizes[QGS_COLLATERAL_BLOBS]);

/* The TDREPORT in a GET_QUOTE_REQ, the quote in a GET_QUOTE_RESP, or NULL */
const uint8_t *tdx_qgs_quote_req_report(const uint8_t *msg, size_t len);
const uint8_t *tdx_qgs_quote_resp_quote(const uint8_t *resp, size_t len,
                                        uint32_t *quote_len);

/*
 * Call @done with @status and @resp in the main loop, then free @resp;
 * from any thread
 */
void tdx_quote_answer(uint64_t status, GByteArray *resp, TdxQuoteDone *done,
                      void *opaque);

/* The "timeout-ms" property, for a backend that talks to a service */
void tdx_quote_class_add_timeout(ObjectClass *oc);

/* The deadline of a request @b starts now; the milliseconds left to it */
int64_t tdx_quote_deadline(TdxQuoteBackend *b);
int64_t tdx_quote_time_left(int64_t deadline);

/*
 * Report a backend failure on stderr, rate-limited (a guest can fail
 * GetQuotes as often as it likes); each one is traced. From any thread.
 */
void tdx_quote_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

#endif
