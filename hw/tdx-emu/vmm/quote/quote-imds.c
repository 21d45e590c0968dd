/*
 * tdx-emu: the Azure IMDS quote backend,
 * "-object tdx-quote-imds,id=q[,url=URL][,collateral-dir=DIR]
 * [,report-source=guest|vtpm][,tcti=TCTI][,timeout-ms=MS]"
 *
 * Azure's Instance Metadata Service quotes a TDREPORT: POST
 * {"report": base64url(TDREPORT)} to /acc/tdquote, answer {"quote":
 * base64url(quote)} (as azure-cvm-tooling's
 * az-cvm-vtpm/az-tdx-vtpm/src/imds.rs does). GET_QUOTE_REQ messages are
 * answered with a GET_QUOTE_RESP around that quote; IMDS has no
 * collateral endpoint, so GET_COLLATERAL_REQ is answered from the files
 * in collateral-dir.
 * IMDS only quotes a genuine TDREPORT of the platform it runs on; with
 * report-source=vtpm the platform's own report, read from the Azure vTPM
 * (azure-vtpm.c), is quoted in place of the guest's. A request has one
 * deadline (timeout-ms, docs/quote.md): what the vTPM read leaves of it
 * bounds the whole HTTP exchange (CURLOPT_TIMEOUT_MS).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <curl/curl.h>
#include "qapi/error.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qemu/thread.h"
#include "qom/object_interfaces.h"
#include "azure-vtpm.h"
#include "quote.h"

#define TYPE_TDX_QUOTE_IMDS "tdx-quote-imds"
OBJECT_DECLARE_SIMPLE_TYPE(TdxQuoteImds, TDX_QUOTE_IMDS)

#define IMDS_DEFAULT_URL    "http://169.254.169.254/acc/tdquote"
#define IMDS_RESPONSE_MAX   (1024 * 1024)

/* GET_COLLATERAL_RESP blobs, in order (DCAP qgs_msg_lib) */
static const char *const collateral_files[QGS_COLLATERAL_BLOBS] = {
    "pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain",
    "tcb_info", "qe_identity_issuer_chain", "qe_identity",
};

struct TdxQuoteImds {
    TdxQuoteBackend parent_obj;
    char *url;
    char *collateral_dir;
    bool report_from_vtpm;
    char *tcti;
};

typedef struct ImdsJob {
    char *url;
    char *collateral_dir;
    bool report_from_vtpm;
    char *tcti;
    int64_t deadline;
    GByteArray *req;            /* the QGS message */
    GByteArray *resp;
    uint64_t status;
    TdxQuoteDone *done;
    void *opaque;
} ImdsJob;

static char *base64url_encode(const uint8_t *data, size_t len)
{
    char *b64 = g_base64_encode(data, len);
    char *p;

    for (p = b64; *p; p++) {
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
    return b64;
}

static uint8_t *base64url_decode(const char *text, size_t *len)
{
    g_autoptr(GString) b64 = g_string_new(text);
    size_t i;

    for (i = 0; i < b64->len; i++) {
        b64->str[i] = b64->str[i] == '-' ? '+' :
                      b64->str[i] == '_' ? '/' : b64->str[i];
    }
    while (b64->len % 4) {
        g_string_append_c(b64, '=');
    }
    return g_base64_decode(b64->str, len);
}

typedef struct ImdsBody {
    GByteArray *data;
    bool too_big;               /* over IMDS_RESPONSE_MAX: dropped */
} ImdsBody;

static size_t imds_write(char *ptr, size_t size, size_t n, void *opaque)
{
    ImdsBody *body = opaque;

    if (body->data->len + size * n > IMDS_RESPONSE_MAX) {
        body->too_big = true;
        return 0;               /* libcurl stops: CURLE_WRITE_ERROR */
    }
    g_byte_array_append(body->data, (const uint8_t *)ptr, size * n);
    return size * n;
}

/* POST @json to job->url within the deadline: the libcurl result */
static CURLcode imds_post(ImdsJob *job, const char *json, ImdsBody *body,
                          long *http)
{
    int64_t left = tdx_quote_time_left(job->deadline);
    struct curl_slist *headers;
    CURL *curl;
    CURLcode rc;

    if (!left) {
        return CURLE_OPERATION_TIMEDOUT;    /* 0 would mean no timeout */
    }
    curl = curl_easy_init();
    if (!curl) {
        return CURLE_FAILED_INIT;
    }
    headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, job->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
    /* The whole transfer: resolving, connecting, sending, the answer */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)left);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, imds_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, http);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}

/* POST the report; the decoded quote, or NULL with job->status set */
static uint8_t *imds_quote(ImdsJob *job, const uint8_t *report,
                           size_t *quote_len)
{
    g_autofree char *b64 = base64url_encode(report, TDX_TDREPORT_SIZE);
    g_autofree char *json = g_strdup_printf("{\"report\":\"%s\"}", b64);
    g_autoptr(GByteArray) data = g_byte_array_new();
    ImdsBody body = { .data = data };
    g_autoptr(QDict) answer = NULL;
    const char *quote;
    long http = 0;
    CURLcode rc = imds_post(job, json, &body, &http);

    if (body.too_big) {
        tdx_quote_warn("tdx-quote-imds: %s: an answer over %d bytes",
                       job->url, IMDS_RESPONSE_MAX);
        job->status = GET_QUOTE_ERROR;
        return NULL;
    }
    if (rc != CURLE_OK || http != 200) {
        tdx_quote_warn("tdx-quote-imds: %s: %s (HTTP %ld)", job->url,
                       curl_easy_strerror(rc), http);
        /* IMDS refuses the report itself with a 4xx: that is no outage */
        job->status = rc == CURLE_OK && http >= 400 && http < 500 ?
                      GET_QUOTE_ERROR : GET_QUOTE_SERVICE_UNAVAILABLE;
        return NULL;
    }
    job->status = GET_QUOTE_ERROR;
    g_byte_array_append(data, (const uint8_t *)"", 1);
    answer = qobject_to(QDict, qobject_from_json((char *)data->data, NULL));
    quote = answer ? qdict_get_try_str(answer, "quote") : NULL;
    if (!quote) {
        tdx_quote_warn("tdx-quote-imds: %s: an answer without a quote",
                       job->url);
        return NULL;
    }
    return base64url_decode(quote, quote_len);
}

static void imds_get_quote(ImdsJob *job, const uint8_t *msg, size_t len)
{
    const uint8_t *report = tdx_qgs_quote_req_report(msg, len);
    g_autofree uint8_t *quote = NULL;
    uint8_t genuine[TDX_TDREPORT_SIZE];
    size_t quote_len = 0;
    Error *err = NULL;

    job->status = GET_QUOTE_ERROR;
    if (!report) {
        return;
    }
    if (job->report_from_vtpm) {
        if (!azure_vtpm_read_tdreport(job->tcti, genuine, &err)) {
            tdx_quote_warn("tdx-quote-imds: %s", error_get_pretty(err));
            error_free(err);
            job->status = GET_QUOTE_SERVICE_UNAVAILABLE;
            return;
        }
        report = genuine;
    }
    quote = imds_quote(job, report, &quote_len);
    if (!quote || !quote_len) {
        return;
    }
    tdx_qgs_quote_resp(job->resp, quote, quote_len);
    job->status = GET_QUOTE_SUCCESS;
}

/* IMDS has no collateral endpoint: the blobs are files in collateral-dir */
static void imds_get_collateral(ImdsJob *job)
{
    char *blobs[QGS_COLLATERAL_BLOBS] = { NULL };
    uint32_t sizes[QGS_COLLATERAL_BLOBS];
    size_t i;

    job->status = GET_QUOTE_SERVICE_UNAVAILABLE;
    for (i = 0; job->collateral_dir && i < QGS_COLLATERAL_BLOBS; i++) {
        g_autofree char *path = g_build_filename(job->collateral_dir,
                                                 collateral_files[i], NULL);
        gsize n;

        if (!g_file_get_contents(path, &blobs[i], &n, NULL)) {
            tdx_quote_warn("tdx-quote-imds: cannot read %s", path);
            break;
        }
        sizes[i] = n;
    }
    if (i == QGS_COLLATERAL_BLOBS) {
        tdx_qgs_collateral_resp(job->resp, (const void *const *)blobs, sizes);
        job->status = GET_QUOTE_SUCCESS;
    }
    for (i = 0; i < QGS_COLLATERAL_BLOBS; i++) {
        g_free(blobs[i]);
    }
}

static void *imds_thread(void *opaque)
{
    ImdsJob *job = opaque;
    const uint8_t *msg = job->req->data;
    uint32_t type = job->req->len >= QGS_HDR_SIZE ? ldl_le_p(msg + 4) : ~0u;

    if (type == QGS_GET_QUOTE_REQ) {
        imds_get_quote(job, msg, job->req->len);
    } else if (type == QGS_GET_COLLATERAL_REQ) {
        imds_get_collateral(job);
    } else {
        job->status = GET_QUOTE_ERROR;
    }
    tdx_quote_answer(job->status, job->resp, job->done, job->opaque);
    g_free(job->url);
    g_free(job->collateral_dir);
    g_free(job->tcti);
    g_byte_array_free(job->req, true);
    g_free(job);
    return NULL;
}

static void imds_request(TdxQuoteBackend *b, const uint8_t *req, size_t len,
                         TdxQuoteDone *done, void *opaque)
{
    TdxQuoteImds *imds = TDX_QUOTE_IMDS(b);
    ImdsJob *job = g_new0(ImdsJob, 1);
    QemuThread thread;

    job->url = g_strdup(imds->url ?: IMDS_DEFAULT_URL);
    job->collateral_dir = g_strdup(imds->collateral_dir);
    job->report_from_vtpm = imds->report_from_vtpm;
    job->tcti = g_strdup(imds->tcti);
    job->deadline = tdx_quote_deadline(b);
    job->req = g_byte_array_new();
    g_byte_array_append(job->req, req, len);
    job->resp = g_byte_array_new();
    job->done = done;
    job->opaque = opaque;
    qemu_thread_create(&thread, "tdx-quote-imds", imds_thread, job,
                       QEMU_THREAD_DETACHED);
}

static void imds_complete_object(UserCreatable *uc, Error **errp)
{
    if (TDX_QUOTE_IMDS(uc)->report_from_vtpm) {
        /* Failures are reported rate-limited by tdx_quote_warn() */
        azure_vtpm_quiet_log();
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        error_setg(errp, "%s: libcurl does not initialize",
                   TYPE_TDX_QUOTE_IMDS);
    }
}

static char *imds_get_url(Object *obj, Error **errp)
{
    return g_strdup(TDX_QUOTE_IMDS(obj)->url ?: IMDS_DEFAULT_URL);
}

static void imds_set_url(Object *obj, const char *value, Error **errp)
{
    TdxQuoteImds *imds = TDX_QUOTE_IMDS(obj);

    g_free(imds->url);
    imds->url = g_strdup(value);
}

static char *imds_get_collateral_dir(Object *obj, Error **errp)
{
    return g_strdup(TDX_QUOTE_IMDS(obj)->collateral_dir);
}

static void imds_set_collateral_dir(Object *obj, const char *value,
                                    Error **errp)
{
    TdxQuoteImds *imds = TDX_QUOTE_IMDS(obj);

    g_free(imds->collateral_dir);
    imds->collateral_dir = g_strdup(value);
}

static char *imds_get_report_source(Object *obj, Error **errp)
{
    return g_strdup(TDX_QUOTE_IMDS(obj)->report_from_vtpm ? "vtpm" : "guest");
}

static void imds_set_report_source(Object *obj, const char *value,
                                   Error **errp)
{
    if (strcmp(value, "guest") && strcmp(value, "vtpm")) {
        error_setg(errp, "%s: report-source is 'guest' or 'vtpm', not '%s'",
                   TYPE_TDX_QUOTE_IMDS, value);
        return;
    }
    TDX_QUOTE_IMDS(obj)->report_from_vtpm = !strcmp(value, "vtpm");
}

static char *imds_get_tcti(Object *obj, Error **errp)
{
    return g_strdup(TDX_QUOTE_IMDS(obj)->tcti);
}

static void imds_set_tcti(Object *obj, const char *value, Error **errp)
{
    TdxQuoteImds *imds = TDX_QUOTE_IMDS(obj);

    g_free(imds->tcti);
    imds->tcti = g_strdup(value);
}

static void imds_finalize(Object *obj)
{
    TdxQuoteImds *imds = TDX_QUOTE_IMDS(obj);

    g_free(imds->url);
    g_free(imds->collateral_dir);
    g_free(imds->tcti);
}

static void imds_class_init(ObjectClass *oc, void *data)
{
    TdxQuoteBackendClass *bc = TDX_QUOTE_BACKEND_CLASS(oc);
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    bc->request = imds_request;
    ucc->complete = imds_complete_object;
    object_class_property_add_str(oc, "url", imds_get_url, imds_set_url);
    object_class_property_set_description(oc, "url",
        "the IMDS quote endpoint (default " IMDS_DEFAULT_URL ")");
    object_class_property_add_str(oc, "collateral-dir",
                                  imds_get_collateral_dir,
                                  imds_set_collateral_dir);
    object_class_property_set_description(oc, "collateral-dir",
        "directory of the collateral files GET_COLLATERAL_REQ is answered "
        "from");
    object_class_property_add_str(oc, "report-source",
                                  imds_get_report_source,
                                  imds_set_report_source);
    object_class_property_set_description(oc, "report-source",
        "the TDREPORT to quote: 'guest' (the TD's own) or 'vtpm' (the "
        "platform's, from the Azure vTPM's NV index 0x01400001)");
    object_class_property_add_str(oc, "tcti", imds_get_tcti, imds_set_tcti);
    object_class_property_set_description(oc, "tcti",
        "tpm2-tss TCTI of the vTPM for report-source=vtpm (default: "
        "tpm2-tss's, e.g. device:/dev/tpmrm0)");
    tdx_quote_class_add_timeout(oc);
}

static const TypeInfo imds_types[] = {
    {
        .name = TYPE_TDX_QUOTE_IMDS,
        .parent = TYPE_TDX_QUOTE_BACKEND,
        .instance_size = sizeof(TdxQuoteImds),
        .instance_finalize = imds_finalize,
        .class_init = imds_class_init,
        .interfaces = (InterfaceInfo[]) {
            { TYPE_USER_CREATABLE },
            { }
        },
    },
};

DEFINE_TYPES(imds_types)
