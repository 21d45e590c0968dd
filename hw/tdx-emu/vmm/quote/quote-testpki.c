/*
 * tdx-emu: the test-PKI quote backend, "-object tdx-quote-testpki,id=q,dir=D"
 *
 * Plays the TD Quoting Enclave and the collateral service with a test PKI
 * (testpki.c) kept in D: GET_QUOTE_REQ gets a DCAP TDX v4 quote of the
 * TDREPORT, signed by a fresh attestation key that a QE report signed by
 * the PCK key vouches for; GET_COLLATERAL_REQ gets CRLs, TCB info and QE
 * identity signed by the test keys. D/root-ca.der is the root a MigTD
 * image must have enrolled to accept these quotes (GHCI 1.5 GetQuote; DCAP
 * QuoteGeneration/quote_wrapper/qgs_msg_lib).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <openssl/sha.h>
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qemu/bswap.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qom/object_interfaces.h"
#include "hw/tdx-emu/hexstr.h"
#include "quote.h"
#include "testpki.h"

#define TYPE_TDX_QUOTE_TESTPKI "tdx-quote-testpki"
OBJECT_DECLARE_SIMPLE_TYPE(TdxQuoteTestPki, TDX_QUOTE_TESTPKI)


/* DCAP quote v4 (ECDSA-256 P-256 attestation key, TDX) */
#define QUOTE_VERSION           4
#define QUOTE_KEY_ECDSA_P256    2
#define QUOTE_TEE_TDX           0x81
#define QUOTE_HEADER_SIZE       48
#define QUOTE_BODY_SIZE         584
#define CERT_TYPE_PCK_CHAIN     5
#define CERT_TYPE_QE_REPORT     6
#define QE_REPORT_SIZE          384
#define QE_AUTH_SIZE            32
#define TD_QE_PROD_ID           2
#define TD_QE_SVN               8
#define TCB_EVAL_NUMBER         17

static const uint8_t intel_qe_vendor_id[16] = {
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
    0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
};

/*
 * MRSIGNER of Intel's TD quoting enclave, in Intel's TD_QE identity and
 * in MigTD's production policy (config/policy_production_fmspc.json)
 */
#define QE_MRSIGNER \
    "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5"

/*
 * The TDX module the TDREPORT names (report.c, TEE_TCB_SVN[1] = major
 * version 1, TEE_TCB_SVN[0] = SVN 6): the TCB info's module identity is
 * TDX_01, its level's SVN the tdx-module-svn property.
 */
#define TDX_MODULE_MAJOR        1
#define TDX_MODULE_SVN          6

#define DAY                     (24L * 3600)

/* TCB statuses a TCB info level may have (Intel PCS API v4) */
static const char *const tcb_statuses[] = {
    "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded", "OutOfDate",
    "OutOfDateConfigurationNeeded", "Revoked",
};

/* TD report body v1.0: {TDREPORT offset, size}, in quote order */
static const struct {
    uint16_t off, size;
} td_body_fields[] = {
    { 264, 16 },                        /* TEE_TCB_SVN */
    { 280, 48 }, { 328, 48 },           /* MRSEAM, MRSIGNERSEAM */
    { 376, 8 },                         /* SEAM ATTRIBUTES */
    { 512, 8 }, { 520, 8 },             /* TD ATTRIBUTES, XFAM */
    { 528, 48 }, { 576, 48 },           /* MRTD, MRCONFIGID */
    { 624, 48 }, { 672, 48 },           /* MROWNER, MROWNERCONFIG */
    { 720, 192 },                       /* RTMR0..3 */
    { 128, 64 },                        /* REPORTDATA */
};

struct TdxQuoteTestPki {
    TdxQuoteBackend parent_obj;
    char *dir;
    TestPki pki;
    EVP_PKEY *attestation_key;          /* the QE's, fresh per run */
    /* Platform state, for negative tests (docs/quote.md) */
    char *tcb_status;                   /* of the platform's TCB level */
    bool pck_revoked;                   /* the PCK's serial in the PCK CRL */
    bool collateral_expired;            /* nextUpdate 30 days ago */
    uint8_t tdx_module_svn;             /* the TDX_01 level's SVN */
};

static void put_le16(GByteArray *out, uint16_t v)
{
    uint8_t b[2];

    stw_le_p(b, v);
    g_byte_array_append(out, b, sizeof(b));
}

static void put_le32(GByteArray *out, uint32_t v)
{
    uint8_t b[4];

    stl_le_p(b, v);
    g_byte_array_append(out, b, sizeof(b));
}

/* The QE's own SGX report, binding the attestation key (DCAP QE report) */
static void qe_report(const uint8_t ak[64], const uint8_t *auth,
                      uint8_t report[QE_REPORT_SIZE])
{
    uint8_t bound[64 + QE_AUTH_SIZE];

    memset(report, 0, QE_REPORT_SIZE);
    /*
     * ATTRIBUTES: INIT | MODE64BIT, XFRM 0: MigTD's policy compares all
     * 16 bytes with 11000000000000000000000000000000 (the QE identity
     * masks XFRM out)
     */
    report[48] = 0x11;
    memset(report + 64, 0x7e, 32);      /* MRENCLAVE of the test QE */
    tdx_emu_hex_parse("QE MRSIGNER", QE_MRSIGNER, report + 128, 32,
                      &error_abort);
    stw_le_p(report + 256, TD_QE_PROD_ID);
    stw_le_p(report + 258, TD_QE_SVN);
    memcpy(bound, ak, 64);
    memcpy(bound + 64, auth, QE_AUTH_SIZE);
    SHA256(bound, sizeof(bound), report + 320);   /* REPORTDATA, zeros */
}

/* The ECDSA signature data: sig, key, QE report certification data */
static bool signature_data(TdxQuoteTestPki *t, const uint8_t *signed_part,
                           GByteArray *out)
{
    g_autofree char *pem = testpki_pem(3, t->pki.pck, t->pki.pck_ca,
                                       t->pki.root);
    uint8_t sig[64], ak[64], report[QE_REPORT_SIZE], report_sig[64];
    uint8_t auth[QE_AUTH_SIZE];
    size_t i;

    for (i = 0; i < sizeof(auth); i++) {
        auth[i] = i;
    }
    if (!pem ||
        !testpki_sign(t->attestation_key, signed_part,
                      QUOTE_HEADER_SIZE + QUOTE_BODY_SIZE, sig) ||
        !testpki_public_xy(t->attestation_key, ak)) {
        return false;
    }
    qe_report(ak, auth, report);
    if (!testpki_sign(t->pki.pck_key, report, sizeof(report), report_sig)) {
        return false;
    }
    g_byte_array_append(out, sig, sizeof(sig));
    g_byte_array_append(out, ak, sizeof(ak));
    put_le16(out, CERT_TYPE_QE_REPORT);
    put_le32(out, QE_REPORT_SIZE + 64 + 2 + QE_AUTH_SIZE + 2 + 4 +
                  strlen(pem));
    g_byte_array_append(out, report, sizeof(report));
    g_byte_array_append(out, report_sig, sizeof(report_sig));
    put_le16(out, QE_AUTH_SIZE);
    g_byte_array_append(out, auth, sizeof(auth));
    put_le16(out, CERT_TYPE_PCK_CHAIN);
    put_le32(out, strlen(pem));
    g_byte_array_append(out, (const uint8_t *)pem, strlen(pem));
    return true;
}

/* A DCAP TDX v4 quote of @tdreport */
static GByteArray *make_quote(TdxQuoteTestPki *t, const uint8_t *tdreport)
{
    g_autoptr(GByteArray) quote = g_byte_array_new();
    g_autoptr(GByteArray) sig = g_byte_array_new();
    uint8_t header[QUOTE_HEADER_SIZE] = { 0 };
    size_t i;

    stw_le_p(header, QUOTE_VERSION);
    stw_le_p(header + 2, QUOTE_KEY_ECDSA_P256);
    stl_le_p(header + 4, QUOTE_TEE_TDX);
    memcpy(header + 12, intel_qe_vendor_id, sizeof(intel_qe_vendor_id));
    g_byte_array_append(quote, header, sizeof(header));
    for (i = 0; i < ARRAY_SIZE(td_body_fields); i++) {
        g_byte_array_append(quote, tdreport + td_body_fields[i].off,
                            td_body_fields[i].size);
    }
    if (!signature_data(t, quote->data, sig)) {
        return NULL;
    }
    put_le32(quote, sig->len);
    g_byte_array_append(quote, sig->data, sig->len);
    return g_steal_pointer(&quote);
}

static bool answer_quote(TdxQuoteTestPki *t, const uint8_t *msg, size_t len,
                         GByteArray *resp)
{
    TdxQuoteBackend *b = TDX_QUOTE_BACKEND(t);
    const uint8_t *report = tdx_qgs_quote_req_report(msg, len);
    g_autoptr(GByteArray) quote = NULL;

    if (!report) {
        return false;
    }
    /* The QE quotes only a TDREPORT this platform made */
    if (b->report_genuine && !b->report_genuine(b->report_opaque, report)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: the TDREPORT's MAC or hashes do "
                      "not verify; no quote\n", TYPE_TDX_QUOTE_TESTPKI);
        return false;
    }
    quote = make_quote(t, report);
    if (!quote) {
        return false;
    }
    tdx_qgs_quote_resp(resp, quote->data, quote->len);
    return true;
}

/* "{"<name>":<body>,"signature":"<hex r||s over body>"}", NUL-terminated */
static char *signed_json(TdxQuoteTestPki *t, const char *name,
                         const char *body)
{
    g_autofree char *hex = NULL;
    uint8_t sig[64];

    if (!testpki_sign(t->pki.signing_key, body, strlen(body), sig)) {
        return NULL;
    }
    hex = tdx_emu_hex_format(sig, sizeof(sig));
    return g_strdup_printf("{\"%s\":%s,\"signature\":\"%s\"}", name, body,
                           hex);
}

static char *json_tcb_components(const uint8_t svn[16])
{
    GString *s = g_string_new("[");
    int i;

    for (i = 0; i < 16; i++) {
        g_string_append_printf(s, "%s{\"svn\":%u}", i ? "," : "", svn[i]);
    }
    g_string_append_c(s, ']');
    return g_string_free(s, false);
}

/*
 * TCB info v3 for the PCK's FMSPC: the TDX module (MRSIGNERSEAM zero,
 * attributes 0) with its identity TDX_<major> and one module level, and
 * the platform's one TCB level, rated tcb-status
 */
static char *tcb_info(TdxQuoteTestPki *t, const char *issued,
                      const char *next)
{
    g_autofree char *sgx = json_tcb_components(testpki_sgx_tcb);
    g_autofree char *tdx = json_tcb_components(testpki_tdx_tcb);
    g_autofree char *module = g_strdup_printf(
        "\"mrsigner\":\"%0*d\",\"attributes\":\"0000000000000000\","
        "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"", 96, 0);
    g_autofree char *body = g_strdup_printf(
        "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"%s\","
        "\"nextUpdate\":\"%s\",\"fmspc\":\"%s\",\"pceId\":\"%s\","
        "\"tcbType\":0,\"tcbEvaluationDataNumber\":%d,"
        "\"tdxModule\":{%s},\"tdxModuleIdentities\":[{\"id\":\"TDX_%02X\","
        "%s,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%u},\"tcbDate\":\"%s\","
        "\"tcbStatus\":\"UpToDate\"}]}],"
        "\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":%s,\"pcesvn\":%d,"
        "\"tdxtcbcomponents\":%s},\"tcbDate\":\"%s\","
        "\"tcbStatus\":\"%s\"}]}",
        issued, next, TESTPKI_FMSPC, TESTPKI_PCE_ID, TCB_EVAL_NUMBER,
        module, TDX_MODULE_MAJOR, module, t->tdx_module_svn, issued,
        sgx, TESTPKI_PCESVN, tdx, issued, t->tcb_status);

    return signed_json(t, "tcbInfo", body);
}

/* QE identity v2 of the TD QE that signs the QE reports above */
static char *qe_identity(TdxQuoteTestPki *t, const char *issued,
                         const char *next)
{
    g_autofree char *body = g_strdup_printf(
        "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"%s\","
        "\"nextUpdate\":\"%s\",\"tcbEvaluationDataNumber\":%d,"
        "\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
        "\"attributes\":\"11000000000000000000000000000000\","
        "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
        "\"mrsigner\":\"%s\",\"isvprodid\":%d,\"tcbLevels\":[{\"tcb\":"
        "{\"isvsvn\":%d},\"tcbDate\":\"%s\",\"tcbStatus\":\"UpToDate\"}]}",
        issued, next, TCB_EVAL_NUMBER, QE_MRSIGNER, TD_QE_PROD_ID,
        TD_QE_SVN, issued);

    return signed_json(t, "enclaveIdentity", body);
}

static char *iso_date(GDateTime *when)
{
    return g_date_time_format(when, "%Y-%m-%dT%H:%M:%SZ");
}

/* Collateral for the PCK and QE above; every blob a C string */
static bool answer_collateral(TdxQuoteTestPki *t, GByteArray *resp)
{
    long from = t->collateral_expired ? -60 * DAY : 0;
    long to = t->collateral_expired ? -30 * DAY : 30 * DAY;
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autoptr(GDateTime) first = g_date_time_add_seconds(now, from);
    g_autoptr(GDateTime) last = g_date_time_add_seconds(now, to);
    g_autofree char *issued = iso_date(first), *next = iso_date(last);
    X509 *revoked = t->pck_revoked ? t->pki.pck : NULL;
    char *blobs[QGS_COLLATERAL_BLOBS] = {
        testpki_pem(2, t->pki.pck_ca, t->pki.root),
        testpki_crl_pem(t->pki.root, t->pki.root_key, NULL, from, to),
        testpki_crl_pem(t->pki.pck_ca, t->pki.pck_ca_key, revoked, from, to),
        testpki_pem(2, t->pki.signing, t->pki.root),
        tcb_info(t, issued, next),
        testpki_pem(2, t->pki.signing, t->pki.root),
        qe_identity(t, issued, next),
    };
    uint32_t sizes[QGS_COLLATERAL_BLOBS];
    bool ok = true;
    size_t i;

    for (i = 0; i < QGS_COLLATERAL_BLOBS; i++) {
        ok = ok && blobs[i];
        sizes[i] = blobs[i] ? strlen(blobs[i]) + 1 : 0;  /* with the NUL */
    }
    if (ok) {
        tdx_qgs_collateral_resp(resp, (const void *const *)blobs, sizes);
    }
    for (i = 0; i < QGS_COLLATERAL_BLOBS; i++) {
        g_free(blobs[i]);
    }
    return ok;
}

/*
 * GET_COLLATERAL_REQ {header, u32 fmspc_size, u32 pckca_size, FMSPC, CA
 * string} (GHCI 1.5 GetQuote; DCAP
 * QuoteGeneration/quote_wrapper/qgs_msg_lib). Like a collateral service, the
 * test PKI has collateral only for the platforms it knows: its one PCK's
 * FMSPC, issued by the Platform CA. Anything else gets no collateral.
 */
#define TESTPKI_PCK_CA          "platform"

static bool collateral_request_ok(const uint8_t *req, size_t len)
{
    const size_t fixed = QGS_HDR_SIZE + 8;
    g_autofree char *fmspc = NULL;
    const char *ca;
    uint32_t fmspc_size, ca_size;

    if (len < fixed) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-quote-testpki: "
                      "GET_COLLATERAL_REQ of %zu bytes\n", len);
        return false;
    }
    fmspc_size = ldl_le_p(req + QGS_HDR_SIZE);
    ca_size = ldl_le_p(req + QGS_HDR_SIZE + 4);
    if (fmspc_size != TESTPKI_FMSPC_SIZE || !ca_size ||
        len - fixed != (uint64_t)fmspc_size + ca_size ||
        req[len - 1] != '\0') {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-quote-testpki: "
                      "GET_COLLATERAL_REQ sizes %u + %u do not make its "
                      "%zu bytes, or the CA is not a C string\n",
                      fmspc_size, ca_size, len);
        return false;
    }
    fmspc = tdx_emu_hex_format(req + fixed, fmspc_size);
    ca = (const char *)req + fixed + fmspc_size;
    if (g_ascii_strcasecmp(fmspc, TESTPKI_FMSPC) ||
        strcmp(ca, TESTPKI_PCK_CA)) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-quote-testpki: no collateral "
                      "for FMSPC %s from the %s CA (only %s, %s)\n",
                      fmspc, ca, TESTPKI_FMSPC, TESTPKI_PCK_CA);
        return false;
    }
    return true;
}

/* Signing takes well under a millisecond: answer now, call back later */
static void testpki_request(TdxQuoteBackend *b, const uint8_t *req,
                            size_t len, TdxQuoteDone *done, void *opaque)
{
    TdxQuoteTestPki *t = TDX_QUOTE_TESTPKI(b);
    GByteArray *resp = g_byte_array_new();
    uint32_t type = len >= QGS_HDR_SIZE ? ldl_le_p(req + 4) : ~0u;
    bool ok = false;

    if (type == QGS_GET_QUOTE_REQ) {
        ok = answer_quote(t, req, len, resp);
    } else if (type == QGS_GET_COLLATERAL_REQ) {
        ok = collateral_request_ok(req, len) && answer_collateral(t, resp);
    }
    tdx_quote_answer(ok ? GET_QUOTE_SUCCESS : GET_QUOTE_ERROR, resp, done,
                     opaque);
}

static void testpki_complete_object(UserCreatable *uc, Error **errp)
{
    TdxQuoteTestPki *t = TDX_QUOTE_TESTPKI(uc);

    if (!t->dir) {
        error_setg(errp, "%s: the 'dir' property (the PKI's state "
                   "directory) is required", TYPE_TDX_QUOTE_TESTPKI);
        return;
    }
    if (!testpki_open(&t->pki, t->dir, errp)) {
        return;
    }
    t->attestation_key = testpki_new_key(errp);
}

static char *testpki_get_dir(Object *obj, Error **errp)
{
    return g_strdup(TDX_QUOTE_TESTPKI(obj)->dir);
}

static void testpki_set_dir(Object *obj, const char *value, Error **errp)
{
    TdxQuoteTestPki *t = TDX_QUOTE_TESTPKI(obj);

    g_free(t->dir);
    t->dir = g_strdup(value);
}

static char *testpki_get_tcb_status(Object *obj, Error **errp)
{
    return g_strdup(TDX_QUOTE_TESTPKI(obj)->tcb_status);
}

static void testpki_set_tcb_status(Object *obj, const char *value,
                                   Error **errp)
{
    TdxQuoteTestPki *t = TDX_QUOTE_TESTPKI(obj);
    size_t i;

    for (i = 0; i < ARRAY_SIZE(tcb_statuses); i++) {
        if (!strcmp(value, tcb_statuses[i])) {
            g_free(t->tcb_status);
            t->tcb_status = g_strdup(value);
            return;
        }
    }
    error_setg(errp, "%s: tcb-status '%s' is none of UpToDate, "
               "SWHardeningNeeded, ConfigurationNeeded, "
               "ConfigurationAndSWHardeningNeeded, OutOfDate, "
               "OutOfDateConfigurationNeeded, Revoked",
               TYPE_TDX_QUOTE_TESTPKI, value);
}

static bool testpki_get_pck_revoked(Object *obj, Error **errp)
{
    return TDX_QUOTE_TESTPKI(obj)->pck_revoked;
}

static void testpki_set_pck_revoked(Object *obj, bool value, Error **errp)
{
    TDX_QUOTE_TESTPKI(obj)->pck_revoked = value;
}

static bool testpki_get_expired(Object *obj, Error **errp)
{
    return TDX_QUOTE_TESTPKI(obj)->collateral_expired;
}

static void testpki_set_expired(Object *obj, bool value, Error **errp)
{
    TDX_QUOTE_TESTPKI(obj)->collateral_expired = value;
}

static void testpki_get_module_svn(Object *obj, Visitor *v,
                                   const char *name, void *opaque,
                                   Error **errp)
{
    visit_type_uint8(v, name, &TDX_QUOTE_TESTPKI(obj)->tdx_module_svn, errp);
}

static void testpki_set_module_svn(Object *obj, Visitor *v,
                                   const char *name, void *opaque,
                                   Error **errp)
{
    TdxQuoteTestPki *t = TDX_QUOTE_TESTPKI(obj);
    uint8_t svn;

    if (visit_type_uint8(v, name, &svn, errp)) {
        t->tdx_module_svn = svn;
    }
}

static void testpki_init(Object *obj)
{
    TdxQuoteTestPki *t = TDX_QUOTE_TESTPKI(obj);

    t->tcb_status = g_strdup("UpToDate");
    t->tdx_module_svn = TDX_MODULE_SVN;
}

static void testpki_finalize(Object *obj)
{
    TdxQuoteTestPki *t = TDX_QUOTE_TESTPKI(obj);

    g_free(t->tcb_status);
    testpki_close(&t->pki);
    EVP_PKEY_free(t->attestation_key);
    g_free(t->dir);
}

static void testpki_class_init(ObjectClass *oc, void *data)
{
    TdxQuoteBackendClass *bc = TDX_QUOTE_BACKEND_CLASS(oc);
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    bc->request = testpki_request;
    ucc->complete = testpki_complete_object;
    object_class_property_add_str(oc, "dir", testpki_get_dir,
                                  testpki_set_dir);
    object_class_property_set_description(oc, "dir",
        "state directory of the test PKI (created, then reused); "
        "root-ca.der there is the root to enroll");
    object_class_property_add_str(oc, "tcb-status", testpki_get_tcb_status,
                                  testpki_set_tcb_status);
    object_class_property_set_description(oc, "tcb-status",
        "TCB status of the platform's TCB level in the TCB info "
        "(default UpToDate)");
    object_class_property_add_bool(oc, "pck-revoked",
                                   testpki_get_pck_revoked,
                                   testpki_set_pck_revoked);
    object_class_property_set_description(oc, "pck-revoked",
        "list the PCK certificate in the PCK CRL (default off)");
    object_class_property_add_bool(oc, "collateral-expired",
                                   testpki_get_expired, testpki_set_expired);
    object_class_property_set_description(oc, "collateral-expired",
        "CRLs, TCB info and QE identity issued 60 days ago, expired 30 "
        "days ago (default off)");
    object_class_property_add(oc, "tdx-module-svn", "uint8",
                              testpki_get_module_svn,
                              testpki_set_module_svn, NULL, NULL);
    object_class_property_set_description(oc, "tdx-module-svn",
        "SVN of the TCB info's TDX_01 module level, what the verifier "
        "reports as the module's SVN (default 6; above 6 no level "
        "matches the TDREPORT's module)");
}

static const TypeInfo testpki_types[] = {
    {
        .name = TYPE_TDX_QUOTE_TESTPKI,
        .parent = TYPE_TDX_QUOTE_BACKEND,
        .instance_size = sizeof(TdxQuoteTestPki),
        .instance_init = testpki_init,
        .instance_finalize = testpki_finalize,
        .class_init = testpki_class_init,
        .interfaces = (InterfaceInfo[]) {
            { TYPE_USER_CREATABLE },
            { }
        },
    },
};

DEFINE_TYPES(testpki_types)
