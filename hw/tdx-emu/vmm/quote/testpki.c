/*
 * tdx-emu: the test PKI behind tdx-quote-testpki (OpenSSL)
 *
 * The certificates carry the common names Intel's verifiers look for
 * (the PCK CA type is read from the issuer's CN) but the organization
 * "tdx-emu test PKI": nothing here is Intel's, and only an image with
 * this root enrolled (MigTD --root-ca) trusts it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <openssl/ec.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "qapi/error.h"
#include "hw/tdx-emu/hexstr.h"
#include "testpki.h"

#define TESTPKI_ORG         "tdx-emu test PKI"
#define TESTPKI_YEARS       10
#define SGX_EXT_OID         "1.2.840.113741.1.13.1"

/*
 * The certificate profile: bump when the certificates change, and a state
 * dir of an older profile gets new certificates for its keys (a MigTD
 * image compares only the root's public key, so its enrolment stays).
 */
#define TESTPKI_PROFILE         "2"
#define TESTPKI_PROFILE_FILE    "profile"

/* The CRL distribution points Intel's certificates name */
#define CRL_DP_ROOT \
    "URI:https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
#define CRL_DP_PLATFORM \
    "URI:https://api.trustedservices.intel.com/sgx/certification/v4/" \
    "pckcrl?ca=platform&encoding=der"

/* The platform's TCB: what its PCK certificate and its TCB level carry */
const uint8_t testpki_sgx_tcb[16] = { 8, 8, 2, 2, 4, 1, 0, 6 };
const uint8_t testpki_tdx_tcb[16] = { 5, 0, 8 };

typedef struct PkiPart {
    const char *name;           /* file stem in the state dir */
    const char *cn;
    const char *crl_dp;
    size_t key, cert;           /* offsets into TestPki */
    size_t issuer_key, issuer;  /* the root signs itself */
    bool ca, pck;
} PkiPart;

#define KEY(f)  offsetof(TestPki, f)
#define CERT(f) offsetof(TestPki, f)

/* In creation order: every issuer comes before what it signs */
static const PkiPart pki_parts[] = {
    { "root-ca", "Intel SGX Root CA", CRL_DP_ROOT, KEY(root_key),
      CERT(root), KEY(root_key), CERT(root), true, false },
    { "pck-ca", "Intel SGX PCK Platform CA", CRL_DP_ROOT, KEY(pck_ca_key),
      CERT(pck_ca), KEY(root_key), CERT(root), true, false },
    { "pck", "Intel SGX PCK Certificate", CRL_DP_PLATFORM, KEY(pck_key),
      CERT(pck), KEY(pck_ca_key), CERT(pck_ca), false, true },
    { "tcb-signing", "Intel SGX TCB Signing", CRL_DP_ROOT, KEY(signing_key),
      CERT(signing), KEY(root_key), CERT(root), false, false },
};

#define PART_KEY(pki, off)  (*(EVP_PKEY **)((char *)(pki) + (off)))
#define PART_CERT(pki, off) (*(X509 **)((char *)(pki) + (off)))

EVP_PKEY *testpki_new_key(Error **errp)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");

    if (!key) {
        error_setg(errp, "tdx-quote-testpki: cannot generate a P-256 key");
    }
    return key;
}

/* DER: tag, definite length, value */
static void der_put(GByteArray *out, uint8_t tag, const uint8_t *val,
                    size_t len)
{
    uint8_t hdr[4] = { tag };
    size_t n = 2;

    if (len < 0x80) {
        hdr[1] = len;
    } else if (len < 0x100) {
        hdr[1] = 0x81;
        hdr[2] = len;
        n = 3;
    } else {
        hdr[1] = 0x82;
        hdr[2] = len >> 8;
        hdr[3] = len;
        n = 4;
    }
    g_byte_array_append(out, hdr, n);
    g_byte_array_append(out, val, len);
}

/* SEQUENCE { OID SGX_EXT_OID.@arc[.@sub], value } */
static void sgx_ext_item(GByteArray *out, uint8_t arc, uint8_t sub,
                         uint8_t tag, const uint8_t *val, size_t len)
{
    static const uint8_t base[] = {
        0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01,
    };
    g_autoptr(GByteArray) oid = g_byte_array_new();
    g_autoptr(GByteArray) item = g_byte_array_new();

    g_byte_array_append(oid, base, sizeof(base));
    g_byte_array_append(oid, &arc, 1);
    if (sub) {
        g_byte_array_append(oid, &sub, 1);
    }
    der_put(item, 0x06, oid->data, oid->len);
    der_put(item, tag, val, len);
    der_put(out, 0x30, item->data, item->len);
}

/* SEQUENCE { OID SGX_EXT_OID.@arc.@sub, BOOLEAN @val } */
static void sgx_ext_bool(GByteArray *out, uint8_t arc, uint8_t sub, bool val)
{
    uint8_t b = val ? 0xff : 0;

    sgx_ext_item(out, arc, sub, 0x01, &b, 1);
}

/*
 * The SGX extension of a Platform-CA PCK certificate, as Intel issues it
 * (Intel SGX PCK Certificate and CRL Profile): PPID, TCB (16 component
 * SVNs, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX type 1 (scalable),
 * PlatformInstanceId and Configuration (dynamic platform, cached keys,
 * SMT). The SVNs are the TCB info's platform level (testpki_sgx_tcb).
 */
static X509_EXTENSION *sgx_extension(void)
{
    g_autoptr(GByteArray) tcb = g_byte_array_new();
    g_autoptr(GByteArray) conf = g_byte_array_new();
    g_autoptr(GByteArray) items = g_byte_array_new();
    g_autoptr(GByteArray) ext = g_byte_array_new();
    uint8_t zeros[16] = { 0 }, fmspc[6], pce_id[2];
    uint8_t pcesvn = TESTPKI_PCESVN, sgx_type = 1;
    ASN1_OCTET_STRING *data = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *oid = OBJ_txt2obj(SGX_EXT_OID, 1);
    X509_EXTENSION *x;
    uint8_t i;

    for (i = 1; i <= 16; i++) {
        sgx_ext_item(tcb, 2, i, 0x02, &testpki_sgx_tcb[i - 1], 1);
    }
    sgx_ext_item(tcb, 2, 17, 0x02, &pcesvn, 1);
    sgx_ext_item(tcb, 2, 18, 0x04, testpki_sgx_tcb, 16);    /* CPUSVN */
    sgx_ext_bool(conf, 7, 1, false);
    sgx_ext_bool(conf, 7, 2, true);
    sgx_ext_bool(conf, 7, 3, true);
    sgx_ext_item(items, 1, 0, 0x04, zeros, 16);         /* PPID */
    sgx_ext_item(items, 2, 0, 0x30, tcb->data, tcb->len);
    tdx_emu_hex_parse("PCE ID", TESTPKI_PCE_ID, pce_id, sizeof(pce_id),
                      &error_abort);
    tdx_emu_hex_parse("FMSPC", TESTPKI_FMSPC, fmspc, sizeof(fmspc),
                      &error_abort);
    sgx_ext_item(items, 3, 0, 0x04, pce_id, sizeof(pce_id));
    sgx_ext_item(items, 4, 0, 0x04, fmspc, sizeof(fmspc));
    sgx_ext_item(items, 5, 0, 0x0a, &sgx_type, 1);      /* ENUMERATED */
    sgx_ext_item(items, 6, 0, 0x04, zeros, 16);         /* instance ID */
    sgx_ext_item(items, 7, 0, 0x30, conf->data, conf->len);
    der_put(ext, 0x30, items->data, items->len);
    ASN1_OCTET_STRING_set(data, ext->data, ext->len);
    x = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, data);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(data);
    return x;
}

static bool add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    bool ok;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static X509 *make_cert(const PkiPart *part, EVP_PKEY *key, X509 *issuer,
                       EVP_PKEY *issuer_key)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    uint64_t serial = g_random_int() | (uint64_t)g_random_int() << 32;
    bool ok;

    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const uint8_t *)part->cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               (const uint8_t *)TESTPKI_ORG, -1, -1, 0);
    ok = X509_set_version(cert, X509_VERSION_3) &&
         ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert),
                                 serial >> 1) &&
         X509_gmtime_adj(X509_getm_notBefore(cert), -24 * 3600) &&
         X509_gmtime_adj(X509_getm_notAfter(cert),
                         TESTPKI_YEARS * 365L * 24 * 3600) &&
         X509_set_subject_name(cert, name) &&
         X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer)
                                           : name) &&
         X509_set_pubkey(cert, key) &&
         add_ext(cert, issuer ?: cert, NID_basic_constraints,
                 part->ca ? "critical,CA:TRUE,pathlen:0" : "critical,CA:FALSE")
         && add_ext(cert, issuer ?: cert, NID_key_usage, part->ca ?
                    "critical,keyCertSign,cRLSign" :
                    "critical,digitalSignature,nonRepudiation") &&
         add_ext(cert, issuer ?: cert, NID_subject_key_identifier, "hash") &&
         add_ext(cert, issuer ?: cert, NID_authority_key_identifier,
                 "keyid:always") &&
         add_ext(cert, issuer ?: cert, NID_crl_distribution_points,
                 part->crl_dp);
    if (ok && part->pck) {
        X509_EXTENSION *sgx = sgx_extension();

        ok = sgx && X509_add_ext(cert, sgx, -1);
        X509_EXTENSION_free(sgx);
    }
    ok = ok && X509_sign(cert, issuer_key, EVP_sha256());
    X509_NAME_free(name);
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

static char *part_path(const char *dir, const PkiPart *part, const char *ext)
{
    g_autofree char *file = g_strconcat(part->name, ext, NULL);

    return g_build_filename(dir, file, NULL);
}

/* Load @part's key and, if there, its certificate; false without a key */
static bool load_part(TestPki *pki, const char *dir, const PkiPart *part)
{
    g_autofree char *key_path = part_path(dir, part, ".key.pem");
    g_autofree char *cert_path = part_path(dir, part, ".pem");
    FILE *kf = fopen(key_path, "r");
    FILE *cf = fopen(cert_path, "r");

    if (kf) {
        PART_KEY(pki, part->key) = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
        fclose(kf);
    }
    if (cf) {
        PART_CERT(pki, part->cert) = PEM_read_X509(cf, NULL, NULL, NULL);
        fclose(cf);
    }
    return PART_KEY(pki, part->key);
}

static bool write_file(const char *path, const void *data, size_t len,
                       int mode, Error **errp)
{
    g_autoptr(GError) err = NULL;

    if (!g_file_set_contents_full(path, data, len,
                                  G_FILE_SET_CONTENTS_CONSISTENT, mode,
                                  &err)) {
        error_setg(errp, "tdx-quote-testpki: %s", err->message);
        return false;
    }
    return true;
}

static char *key_pem(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL, *data;
    long len;

    if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
        len = BIO_get_mem_data(bio, &data);
        text = g_strndup(data, len);
    }
    BIO_free(bio);
    return text;
}

static bool save_key(TestPki *pki, const char *dir, const PkiPart *part,
                     Error **errp)
{
    g_autofree char *path = part_path(dir, part, ".key.pem");
    g_autofree char *text = key_pem(PART_KEY(pki, part->key));

    return text && write_file(path, text, strlen(text), 0600, errp);
}

static bool save_cert(TestPki *pki, const char *dir, const PkiPart *part,
                      Error **errp)
{
    g_autofree char *path = part_path(dir, part, ".pem");
    g_autofree char *text = testpki_pem(1, PART_CERT(pki, part->cert));

    return text && write_file(path, text, strlen(text), 0644, errp);
}

static bool save_root_der(TestPki *pki, const char *dir, Error **errp)
{
    g_autofree char *path = g_build_filename(dir, TESTPKI_ROOT_CA_DER, NULL);
    uint8_t *der = NULL;
    int len = i2d_X509(pki->root, &der);
    bool ok = len > 0 && write_file(path, der, len, 0644, errp);

    OPENSSL_free(der);
    return ok;
}

static bool generate_keys(TestPki *pki, const char *dir, Error **errp)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(pki_parts); i++) {
        PART_KEY(pki, pki_parts[i].key) = testpki_new_key(errp);
        if (!PART_KEY(pki, pki_parts[i].key) ||
            !save_key(pki, dir, &pki_parts[i], errp)) {
            return false;
        }
    }
    return true;
}

/* Whether every certificate is there, of the current profile */
static bool certs_current(TestPki *pki, const char *dir)
{
    g_autofree char *path = g_build_filename(dir, TESTPKI_PROFILE_FILE,
                                             NULL);
    g_autofree char *profile = NULL;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(pki_parts); i++) {
        if (!PART_CERT(pki, pki_parts[i].cert)) {
            return false;
        }
    }
    return g_file_get_contents(path, &profile, NULL, NULL) &&
           !strcmp(g_strstrip(profile), TESTPKI_PROFILE);
}

/* (Re)issue every certificate for the keys in @pki */
static bool issue_certs(TestPki *pki, const char *dir, Error **errp)
{
    g_autofree char *path = g_build_filename(dir, TESTPKI_PROFILE_FILE,
                                             NULL);
    size_t i;

    for (i = 0; i < ARRAY_SIZE(pki_parts); i++) {
        const PkiPart *part = &pki_parts[i];
        bool self = part->cert == part->issuer;
        X509 **cert = &PART_CERT(pki, part->cert);

        X509_free(*cert);
        *cert = make_cert(part, PART_KEY(pki, part->key),
                          self ? NULL : PART_CERT(pki, part->issuer),
                          PART_KEY(pki, part->issuer_key));
        if (!*cert) {
            error_setg(errp, "tdx-quote-testpki: cannot make the %s "
                       "certificate", part->name);
            return false;
        }
        if (!save_cert(pki, dir, part, errp)) {
            return false;
        }
    }
    return save_root_der(pki, dir, errp) &&
           write_file(path, TESTPKI_PROFILE "\n",
                      strlen(TESTPKI_PROFILE) + 1, 0644, errp);
}

bool testpki_open(TestPki *pki, const char *dir, Error **errp)
{
    size_t i, keys = 0;
    bool ok;

    memset(pki, 0, sizeof(*pki));
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        error_setg_errno(errp, errno, "tdx-quote-testpki: cannot create %s",
                         dir);
        return false;
    }
    for (i = 0; i < ARRAY_SIZE(pki_parts); i++) {
        keys += load_part(pki, dir, &pki_parts[i]);
    }
    if (keys && keys != ARRAY_SIZE(pki_parts)) {
        error_setg(errp, "tdx-quote-testpki: %s holds part of a test PKI; "
                   "remove it or name an empty directory", dir);
        testpki_close(pki);
        return false;
    }
    ok = (keys || generate_keys(pki, dir, errp)) &&
         (certs_current(pki, dir) || issue_certs(pki, dir, errp));
    if (!ok) {
        testpki_close(pki);
    }
    return ok;
}

void testpki_close(TestPki *pki)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(pki_parts); i++) {
        EVP_PKEY_free(PART_KEY(pki, pki_parts[i].key));
        X509_free(PART_CERT(pki, pki_parts[i].cert));
    }
    memset(pki, 0, sizeof(*pki));
}

bool testpki_sign(EVP_PKEY *key, const void *data, size_t len,
                  uint8_t sig[64])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t der[80];
    const uint8_t *p = der;
    size_t der_len = sizeof(der);
    ECDSA_SIG *ecdsa = NULL;
    bool ok;

    ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestSign(ctx, der, &der_len, data, len) == 1 &&
         (ecdsa = d2i_ECDSA_SIG(NULL, &p, der_len)) != NULL &&
         BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), sig, 32) == 32 &&
         BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), sig + 32, 32) == 32;
    ECDSA_SIG_free(ecdsa);
    EVP_MD_CTX_free(ctx);
    return ok;
}

bool testpki_public_xy(EVP_PKEY *key, uint8_t xy[64])
{
    uint8_t point[65];
    size_t len = 0;

    if (!EVP_PKEY_get_octet_string_param(key,
                                         OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                         point, sizeof(point), &len) ||
        len != sizeof(point) || point[0] != 0x04) {
        return false;
    }
    memcpy(xy, point + 1, 64);
    return true;
}

static char *bio_text(BIO *bio)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    char *text = g_strndup(data, len);

    BIO_free(bio);
    return text;
}

char *testpki_pem(size_t n, ...)
{
    BIO *bio = BIO_new(BIO_s_mem());
    bool ok = true;
    va_list ap;

    va_start(ap, n);
    while (n--) {
        ok = ok && PEM_write_bio_X509(bio, va_arg(ap, X509 *));
    }
    va_end(ap);
    if (!ok) {
        BIO_free(bio);
        return NULL;
    }
    return bio_text(bio);
}

/* Revoke @cert in @crl as of @when */
static bool crl_revoke(X509_CRL *crl, X509 *cert, const ASN1_TIME *when)
{
    X509_REVOKED *r = X509_REVOKED_new();
    bool ok = r &&
              X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(cert)) &&
              X509_REVOKED_set_revocationDate(r, (ASN1_TIME *)when) &&
              X509_CRL_add0_revoked(crl, r);

    if (!ok) {
        X509_REVOKED_free(r);
    }
    return ok;
}

/* The Authority Key Identifier of @issuer into @crl */
static bool crl_add_aki(X509_CRL *crl, X509 *issuer)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    bool ok;

    X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
                              "keyid:always");
    ok = ext && X509_CRL_add_ext(crl, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

char *testpki_crl_pem(X509 *issuer, EVP_PKEY *key, X509 *revoked,
                      long this_update, long next_update)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = X509_gmtime_adj(NULL, this_update);
    ASN1_TIME *next = X509_gmtime_adj(NULL, next_update);
    ASN1_INTEGER *number = ASN1_INTEGER_new();
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;

    if (ASN1_INTEGER_set(number, TESTPKI_CRL_NUMBER) &&
        X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) &&
        X509_CRL_set1_lastUpdate(crl, last) &&
        X509_CRL_set1_nextUpdate(crl, next) &&
        (!revoked || crl_revoke(crl, revoked, last)) &&
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) &&
        crl_add_aki(crl, issuer) &&
        X509_CRL_sort(crl) &&
        X509_CRL_sign(crl, key, EVP_sha256()) &&
        PEM_write_bio_X509_CRL(bio, crl)) {
        text = bio_text(bio);
        bio = NULL;
    }
    BIO_free(bio);
    ASN1_INTEGER_free(number);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    return text;
}
