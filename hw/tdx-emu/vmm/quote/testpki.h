/*
 * tdx-emu: the test PKI behind tdx-quote-testpki (OpenSSL)
 *
 * A root CA, a PCK platform CA under it and a PCK leaf under that (the
 * chain a DCAP quote carries), and a TCB-signing certificate under the
 * root (the signer of TCB info and QE identity), generated once into a
 * state directory and reused from there.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_TESTPKI_H
#define HW_TDX_EMU_TESTPKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/* The root CA's DER certificate in the state dir, to enroll into MigTD */
#define TESTPKI_ROOT_CA_DER     "root-ca.der"

/* FMSPC and PCE ID the PCK certificate and the TCB info name */
#define TESTPKI_FMSPC           "00806F050000"
#define TESTPKI_FMSPC_SIZE      6
#define TESTPKI_PCE_ID          "0000"

/*
 * The platform's TCB level: its 16 SGX and 16 TDX TCB component SVNs and
 * PCESVN, the values MigTD's production policy wants at least for this
 * FMSPC (config/policy_production_fmspc.json in MigTD). The PCK
 * certificate carries the SGX ones, the TCB info a level with all three.
 */
extern const uint8_t testpki_sgx_tcb[16];
extern const uint8_t testpki_tdx_tcb[16];
#define TESTPKI_PCESVN          11

/*
 * Every CRL's CRL Number (RFC 5280 5.2.3); with the Authority Key
 * Identifier, the CRL extensions Intel's QVL requires
 */
#define TESTPKI_CRL_NUMBER      1

typedef struct TestPki {
    EVP_PKEY *root_key, *pck_ca_key, *pck_key, *signing_key;
    X509 *root, *pck_ca, *pck, *signing;
} TestPki;

/* Load the PKI from @dir, or generate it there if @dir has none */
bool testpki_open(TestPki *pki, const char *dir, Error **errp);
void testpki_close(TestPki *pki);

/* A fresh P-256 key (the QE's attestation key) */
EVP_PKEY *testpki_new_key(Error **errp);

/* ECDSA P-256/SHA-256 of @data as r||s (64 bytes) */
bool testpki_sign(EVP_PKEY *key, const void *data, size_t len,
                  uint8_t sig[64]);

/* The public key as x||y (64 bytes) */
bool testpki_public_xy(EVP_PKEY *key, uint8_t xy[64]);

/* PEM text of @n certificates (X509 *), concatenated */
char *testpki_pem(size_t n, ...);

/*
 * A CRL of @issuer, PEM, revoking @revoked if not NULL; thisUpdate and
 * nextUpdate are @this_update and @next_update seconds from now
 */
char *testpki_crl_pem(X509 *issuer, EVP_PKEY *key, X509 *revoked,
                      long this_update, long next_update);

#endif
