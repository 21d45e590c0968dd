/*
 * Guest stub: what a quote's PCK certificate says about the platform
 *
 * No ASN.1 parser: the PEM body is base64-decoded and the DER searched
 * for the FMSPC extension (OID 1.2.840.113741.1.13.1.4, then an OCTET
 * STRING of 6 bytes) and for the issuer's "Processor CA" common name.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "bytes.h"
#include "pck.h"

#define PEM_BEGIN   "-----BEGIN CERTIFICATE-----"
#define PEM_END     '-'
#define DER_MAX     4096

static const uint8_t fmspc_oid[] = {
    0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01, 0x04,
    0x04, FMSPC_SIZE,
};
static const char processor_ca[] = "Processor CA";

static uint8_t der[DER_MAX];

/* Offset of @needle in @hay, or -1 */
static int64_t find(const volatile uint8_t *hay, uint64_t len,
                    const void *needle, uint64_t nlen)
{
    const uint8_t *n = needle;
    uint64_t i, j;

    for (i = 0; i + nlen <= len; i++) {
        for (j = 0; j < nlen && hay[i + j] == n[j]; j++) {
        }
        if (j == nlen) {
            return i;
        }
    }
    return -1;
}

static int base64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    } else if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode base64 up to the END line into der[]; returns its length */
static uint64_t base64_decode(const volatile uint8_t *p, uint64_t len)
{
    uint64_t out = 0, i;
    uint32_t acc = 0;
    int bits = 0;

    for (i = 0; i < len && p[i] != PEM_END && out < DER_MAX; i++) {
        int v = base64_value(p[i]);

        if (v < 0) {
            continue;                   /* newlines and '=' padding */
        }
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            der[out++] = acc >> bits;
        }
    }
    return out;
}

int pck_identify(const volatile uint8_t *quote, uint64_t len,
                 uint8_t fmspc[FMSPC_SIZE], const char **ca)
{
    int64_t begin = find(quote, len, PEM_BEGIN, sizeof(PEM_BEGIN) - 1);
    int64_t oid;
    uint64_t der_len, body;

    if (begin < 0) {
        return 0;
    }
    body = begin + sizeof(PEM_BEGIN) - 1;
    der_len = base64_decode(quote + body, len - body);
    oid = find(der, der_len, fmspc_oid, sizeof(fmspc_oid));
    if (oid < 0 || oid + sizeof(fmspc_oid) + FMSPC_SIZE > der_len) {
        return 0;
    }
    copy(fmspc, der + oid + sizeof(fmspc_oid), FMSPC_SIZE);
    *ca = find(der, der_len, processor_ca, sizeof(processor_ca) - 1) >= 0 ?
          "processor" : "platform";
    return 1;
}
