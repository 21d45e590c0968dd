/*
 * tdx-emu: measurements, TDG.MR.REPORT and TDG.MR.VERIFYREPORT
 *
 * The TDREPORT layout is the TDX module ABI's TDREPORT_STRUCT. The
 * REPORTMACSTRUCT MAC, computed by the CPU on real hardware, is HMAC-SHA256
 * over bytes 0..223 of the REPORTMACSTRUCT with a key drawn at every VM
 * reset, so that
 * TDG.MR.VERIFYREPORT accepts exactly the reports this VM boot produced.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "crypto/hash.h"
#include "crypto/hmac.h"
#include "crypto/random.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "tdx-module.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "hw/tdx-emu/hexstr.h"
#include "trace.h"

#define REPORTMACSTRUCT_SIZE    256
#define REPORTDATA_SIZE         64
#define MAC_SIZE                32

#define REPORTTYPE_TDX          0x81

/*
 * TEE_TCB_SVN of the emulated TDX module: SVN 6 of major version 1, TDX
 * TCB component 2 (its late microcode update) at 8. MigTD's production
 * policy wants major 1 with SVN >= 6; tdx-quote-testpki's TCB info names
 * module TDX_01 and a TCB level this matches (docs/quote.md). No
 * TD-preserving update happened: TEE_TCB_SVN2 is the same.
 */
static const uint8_t tee_tcb_svn[16] = { 6, 1, 8 };

/*
 * TEE_TCB_INFO.VALID: bit i set when its bytes 8i..8i+7 are valid. A TDX
 * module 1.5+ (Intel's own, no MRSIGNERSEAM or ATTRIBUTES) fills VALID,
 * TEE_TCB_SVN and MRSEAM (bits 0-8) and TEE_TCB_SVN2 (bits 16-17): ff 01 03
 * (Intel's tdx-tools tests, utility.py TCB_INFO_VALID_VAL_1_5).
 */
#define TEE_TCB_INFO_VALID      0x301ffULL

/* TDX module ABI, TDREPORT_STRUCT */
typedef struct QEMU_PACKED TdxReportMac {
    uint8_t type, subtype, version, reserved0;
    uint8_t reserved1[12];
    uint8_t cpusvn[16];
    uint8_t tee_tcb_info_hash[TDX_SHA384_SIZE];
    uint8_t tee_info_hash[TDX_SHA384_SIZE];
    uint8_t reportdata[REPORTDATA_SIZE];
    uint8_t reserved2[32];
    uint8_t mac[MAC_SIZE];
} TdxReportMac;

typedef struct QEMU_PACKED TdxTeeTcbInfo {
    uint64_t valid;
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[TDX_SHA384_SIZE];
    uint8_t mrsignerseam[TDX_SHA384_SIZE];
    uint64_t attributes;
    uint8_t tee_tcb_svn2[16];
    uint8_t reserved[95];
} TdxTeeTcbInfo;

typedef struct QEMU_PACKED TdxTdInfo {
    uint64_t attributes;
    uint64_t xfam;
    uint8_t mrtd[TDX_SHA384_SIZE];
    uint8_t mrconfigid[TDX_SHA384_SIZE];
    uint8_t mrowner[TDX_SHA384_SIZE];
    uint8_t mrownerconfig[TDX_SHA384_SIZE];
    uint8_t rtmr[TDX_NR_RTMRS][TDX_SHA384_SIZE];
    uint8_t servtd_hash[TDX_SHA384_SIZE];
    uint8_t reserved[64];
} TdxTdInfo;

typedef struct QEMU_PACKED TdxReport {
    TdxReportMac mac;
    TdxTeeTcbInfo tee_tcb_info;
    uint8_t reserved[17];
    TdxTdInfo tdinfo;
} TdxReport;

QEMU_BUILD_BUG_ON(sizeof(TdxReportMac) != REPORTMACSTRUCT_SIZE);
QEMU_BUILD_BUG_ON(sizeof(TdxTeeTcbInfo) != 239);
QEMU_BUILD_BUG_ON(sizeof(TdxTdInfo) != 512);
QEMU_BUILD_BUG_ON(sizeof(TdxReport) != TDX_TDREPORT_SIZE);

static void sha384(const void *buf, size_t len, uint8_t *digest)
{
    g_autofree uint8_t *result = NULL;
    size_t result_len = 0;

    qcrypto_hash_bytes(QCRYPTO_HASH_ALGO_SHA384, buf, len, &result,
                       &result_len, &error_abort);
    memcpy(digest, result, TDX_SHA384_SIZE);
}

/* The MAC over everything in the REPORTMACSTRUCT before the MAC itself */
static void report_mac(TdxEmuState *s, const TdxReportMac *rm, uint8_t *mac)
{
    g_autoptr(QCryptoHmac) hmac = NULL;
    g_autofree uint8_t *result = NULL;
    size_t result_len = 0;

    hmac = qcrypto_hmac_new(QCRYPTO_HASH_ALGO_SHA256, s->mr.report_mac_key,
                            sizeof(s->mr.report_mac_key), &error_abort);
    qcrypto_hmac_bytes(hmac, (const char *)rm, offsetof(TdxReportMac, mac),
                       &result, &result_len, &error_abort);
    memcpy(mac, result, MAC_SIZE);
}

static bool parse_mr(const char *name, const char *hex, uint8_t *mr,
                     Error **errp)
{
    return !hex || tdx_emu_hex_parse(name, hex, mr, TDX_SHA384_SIZE, errp);
}

bool tdx_emu_measurements_realize(TdxEmuState *s, Error **errp)
{
    if (!qcrypto_hash_supports(QCRYPTO_HASH_ALGO_SHA384) ||
        !qcrypto_hmac_supports(QCRYPTO_HASH_ALGO_SHA256)) {
        error_setg(errp, "%s needs SHA-384 and HMAC-SHA256 support in this "
                   "QEMU's crypto backend", TYPE_TDX_EMU);
        return false;
    }
    return parse_mr("mrconfigid", s->mrconfigid_hex, s->mr.mrconfigid, errp) &&
           parse_mr("mrowner", s->mrowner_hex, s->mr.mrowner, errp) &&
           parse_mr("mrownerconfig", s->mrownerconfig_hex,
                    s->mr.mrownerconfig, errp);
}

/* A VM reset starts a new TD: fresh RTMRs and a fresh report MAC key */
void tdx_emu_measurements_reset(TdxEmuState *s)
{
    memset(s->mr.rtmr, 0, sizeof(s->mr.rtmr));
    qcrypto_random_bytes(s->mr.report_mac_key, sizeof(s->mr.report_mac_key),
                         &error_abort);
}

/*
 * TDG.MR.RTMR.EXTEND (leaf 2, TDX module ABI): RCX = GPA of a 64-byte aligned
 * SHA-384 digest, RDX = RTMR index 0..3; RTMR = SHA384(RTMR || digest).
 */
uint64_t tdx_emu_rtmr_extend(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    uint8_t buf[2 * TDX_SHA384_SIZE];
    uint64_t index = regs[R_EDX];

    if (!QEMU_IS_ALIGNED(regs[R_ECX], 64) ||
        !tdx_emu_read_private(s, cpu, regs[R_ECX], buf + TDX_SHA384_SIZE,
                              TDX_SHA384_SIZE)) {
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_RCX;
    }
    if (index >= TDX_NR_RTMRS) {
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_RDX;
    }
    memcpy(buf, s->mr.rtmr[index], TDX_SHA384_SIZE);
    sha384(buf, sizeof(buf), s->mr.rtmr[index]);
    trace_tdx_emu_rtmr_extend(index);
    return TDX_SUCCESS;
}

static void build_report(TdxEmuState *s, const uint8_t *reportdata,
                         TdxReport *r)
{
    memset(r, 0, sizeof(*r));
    r->tdinfo.attributes = cpu_to_le64(s->attributes);
    r->tdinfo.xfam = cpu_to_le64(s->xfam);
    memcpy(r->tdinfo.mrtd, s->mr.mrtd, TDX_SHA384_SIZE);
    memcpy(r->tdinfo.mrconfigid, s->mr.mrconfigid, TDX_SHA384_SIZE);
    memcpy(r->tdinfo.mrowner, s->mr.mrowner, TDX_SHA384_SIZE);
    memcpy(r->tdinfo.mrownerconfig, s->mr.mrownerconfig, TDX_SHA384_SIZE);
    memcpy(r->tdinfo.rtmr, s->mr.rtmr, sizeof(r->tdinfo.rtmr));
    r->tee_tcb_info.valid = cpu_to_le64(TEE_TCB_INFO_VALID);
    memcpy(r->tee_tcb_info.tee_tcb_svn, tee_tcb_svn, sizeof(tee_tcb_svn));
    memcpy(r->tee_tcb_info.tee_tcb_svn2, tee_tcb_svn, sizeof(tee_tcb_svn));

    /* No service TD is bound to this TD: REPORTTYPE.VERSION 0 */
    r->mac.type = REPORTTYPE_TDX;
    sha384(&r->tee_tcb_info, sizeof(r->tee_tcb_info),
           r->mac.tee_tcb_info_hash);
    sha384(&r->tdinfo, sizeof(r->tdinfo), r->mac.tee_info_hash);
    memcpy(r->mac.reportdata, reportdata, REPORTDATA_SIZE);
    report_mac(s, &r->mac, r->mac.mac);
}

/*
 * TDG.MR.REPORT (leaf 4, TDX module ABI): RCX = GPA of the 1024-byte aligned
 * TDREPORT to write, RDX = GPA of the 64-byte aligned REPORTDATA, R8 =
 * report subtype (0). Both GPAs private or shared, REPORTDATA walked first
 * (the TDX module's tdg_mr_report.c).
 */
uint64_t tdx_emu_mr_report(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    uint8_t reportdata[REPORTDATA_SIZE];
    TdxReport report;

    if (!QEMU_IS_ALIGNED(regs[R_ECX], TDX_TDREPORT_SIZE)) {
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_RCX;
    }
    if (!QEMU_IS_ALIGNED(regs[R_EDX], REPORTDATA_SIZE) ||
        !tdx_emu_read_td(s, cpu, regs[R_EDX], reportdata,
                         sizeof(reportdata))) {
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_RDX;
    }
    if (regs[R_R8]) {
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_R8;
    }
    build_report(s, reportdata, &report);
    if (!tdx_emu_write_td(s, cpu, regs[R_ECX], &report, sizeof(report))) {
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_RCX;
    }
    return TDX_SUCCESS;
}

static bool mac_equal(const uint8_t *a, const uint8_t *b)
{
    uint8_t diff = 0;
    int i;

    for (i = 0; i < MAC_SIZE; i++) {
        diff |= a[i] ^ b[i];
    }
    return !diff;
}

/*
 * Whether @tdreport is a TDREPORT this VM boot made: its MAC, and the two
 * hashes the MAC covers (what a QE checks with EVERIFYREPORT2, TDX module ABI,
 * TDREPORT_STRUCT).
 */
bool tdx_emu_report_genuine(void *opaque, const uint8_t *tdreport)
{
    TdxEmuState *s = opaque;
    TdxReport r;
    uint8_t mac[MAC_SIZE], hash[TDX_SHA384_SIZE];

    memcpy(&r, tdreport, sizeof(r));
    report_mac(s, &r.mac, mac);
    if (!mac_equal(mac, r.mac.mac)) {
        return false;
    }
    sha384(&r.tee_tcb_info, sizeof(r.tee_tcb_info), hash);
    if (memcmp(hash, r.mac.tee_tcb_info_hash, sizeof(hash))) {
        return false;
    }
    sha384(&r.tdinfo, sizeof(r.tdinfo), hash);
    return !memcmp(hash, r.mac.tee_info_hash, sizeof(hash));
}

/*
 * TDG.MR.VERIFYREPORT (leaf 22, TDX module ABI): RCX = GPA of a 256-byte
 * aligned REPORTMACSTRUCT; succeeds if its MAC is one this VM boot made.
 */
uint64_t tdx_emu_verify_report(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    TdxReportMac rm;
    uint8_t mac[MAC_SIZE];

    if (!QEMU_IS_ALIGNED(regs[R_ECX], REPORTMACSTRUCT_SIZE) ||
        !tdx_emu_read_private(s, cpu, regs[R_ECX], &rm, sizeof(rm))) {
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_RCX;
    }
    report_mac(s, &rm, mac);
    return mac_equal(mac, rm.mac) ? TDX_SUCCESS : TDX_INVALID_REPORTMACSTRUCT;
}
