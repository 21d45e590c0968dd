/*
 * QTest cases for tdx-emu's TDX module as a service TD sees it: target TD
 * bindings and TDCS fields, TDG.SYS.RD, TDG.VM.WR, reports and RTMRs, and
 * the QMP view of all of it. Everything runs through the test mailbox.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qstring.h"
#include "qemu/bswap.h"
#include "libqtest.h"
#include "tdx-emu-util.h"

#define TDG_VP_VEINFO_GET       3
#define TDG_MR_RTMR_EXTEND      2
#define TDG_MR_REPORT           4
#define TDG_VM_RD               7
#define TDG_VM_WR               8
#define TDG_SYS_RD              11
#define TDG_SERVTD_RD           18
#define TDG_SERVTD_WR           20
#define TDG_MR_VERIFYREPORT     22
#define TDG_SERVTD_REBIND_APPROVE 33

#define TDX_NO_VALID_VE_INFO            0xC000070400000000ULL
#define TDX_FIELD_ID_INCORRECT          0xC0000C0000000000ULL
#define TDX_FIELD_NOT_WRITABLE          0xC0000C0100000000ULL
#define TDX_FIELD_VALUE_NOT_VALID       0xC0000C0300000000ULL
#define TDX_FIRST_FIELD_ID_IN_CONTEXT   0x00000C0B00000000ULL
#define TDX_TARGET_UUID_MISMATCH        0xC0000D0700000000ULL
#define TDX_INVALID_REPORTMACSTRUCT     0xC000100100000000ULL

/* Field IDs (TDX module ABI metadata fields) */
#define INIT_CPUSVN             0x1110000300000060ULL
#define MIG_DEC_KEY             0x9810000300000010ULL
#define MIG_ENC_KEY             0x9810000300000018ULL
#define MIG_VERSION             0x9810000100000020ULL
#define SERVTD_ATTR             0x1910000300000202ULL
#define SERVTD_INFO_HASH        0x1910000300000207ULL
#define MIN_EXPORT_VERSION      0x2000000100000001ULL
#define MAX_EXPORT_VERSION      0x2000000100000002ULL
#define MIN_IMPORT_VERSION      0x2000000100000003ULL
#define MAX_IMPORT_VERSION      0x2000000100000004ULL
#define REBIND_ACCEPT_TOKEN     0x191000030000021EULL
#define NULL_FIELD_ID           UINT64_MAX
/* The TDCS fields Linux uses (arch/x86/include/asm/shared/tdx.h) */
#define TDCS_CONFIG_FLAGS       0x1110000300000016ULL
#define TDCS_TD_CTLS            0x1110000300000017ULL
#define TDCS_NOTIFY_ENABLES     0x9100000000000010ULL
#define TDCS_TOPOLOGY_ENUM_CONFIGURED 0x9100000000000019ULL
#define CONFIG_FLAGS_NO_RBP_MOD (1ULL << 2)
#define TD_CTLS_PENDING_VE_DISABLE (1ULL << 0)
#define TD_CTLS_ENUM_TOPOLOGY   (1ULL << 1)
#define TD_CTLS_REDUCE_VE       (1ULL << 3)

#define HANDLE                  0x4242000ULL
static const uint64_t uuid[4] = {
    0x0123456789abcdefULL, 0x1111111111111111ULL,
    0x2222222222222222ULL, 0x3333333333333333ULL,
};
#define UUID_HEX "efcdab89674523011111111111111111" \
                 "22222222222222223333333333333333"

#define SERVTD_OUTPUTS  (OUT(RAX) | OUT(RDX) | OUT(R8))

/* ------------------------------------------------------------------ */
/* Helpers                                                            */

static QTestState *servtd_init(const char *extra)
{
    g_autofree char *props = g_strdup_printf(",expose-keys=on%s",
                                             extra ? extra : "");
    QTestState *qts = mailbox_init(props);

    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-add-target', "
                             "'arguments': {'handle': %u, 'uuid': %s, "
                             "'servtd-info-hash': %s, 'servtd-attr': 0}}",
                             (unsigned)HANDLE, UUID_HEX,
                             "01000000000000000200000000000000"
                             "03000000000000000400000000000000"
                             "05000000000000000600000000000000");
    return qts;
}

static uint64_t servtd_rd(QTestState *qts, uint64_t field, uint64_t *value,
                          uint64_t *next)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    sentinel_regs(in);
    in[RAX] = TDG_SERVTD_RD;
    in[RCX] = HANDLE;
    in[RDX] = field;
    memcpy(&in[R10], uuid, sizeof(uuid));
    tdcall(qts, 0, in, out, SERVTD_OUTPUTS);
    *value = out[R8];
    if (next) {
        *next = out[RDX];
    }
    return out[RAX];
}

static uint64_t servtd_wr(QTestState *qts, uint64_t field, uint64_t value,
                          uint64_t mask, uint64_t *old)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    sentinel_regs(in);
    in[RAX] = TDG_SERVTD_WR;
    in[RCX] = HANDLE;
    in[RDX] = field;
    in[R8] = value;
    in[R9] = mask;
    memcpy(&in[R10], uuid, sizeof(uuid));
    tdcall(qts, 0, in, out, OUT(RAX) | OUT(R8));
    *old = out[R8];
    return out[RAX];
}

/* Target 0 of query-tdx-emu (qobject_unref the result) */
static QDict *query_target(QTestState *qts, QDict **info)
{
    QDict *ret = query_tdx_emu(qts);
    QList *targets = qdict_get_qlist(ret, "targets");
    QDict *t = qobject_to(QDict, qlist_peek(targets));

    g_assert(t);
    *info = ret;
    return t;
}

static char *qwords_hex(const uint64_t *q, int n)
{
    GString *s = g_string_new(NULL);
    int i, b;

    for (i = 0; i < n; i++) {
        for (b = 0; b < 8; b++) {
            g_string_append_printf(s, "%02x", (unsigned)(q[i] >> (8 * b)) &
                                   0xff);
        }
    }
    return g_string_free(s, false);
}

static void sha384(const void *buf, size_t len, uint8_t *digest)
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA384);
    gsize dlen = 48;

    g_checksum_update(c, buf, len);
    g_checksum_get_digest(c, digest, &dlen);
    g_checksum_free(c);
}

static char *bytes_hex(const uint8_t *b, size_t n)
{
    GString *s = g_string_new(NULL);
    size_t i;

    for (i = 0; i < n; i++) {
        g_string_append_printf(s, "%02x", b[i]);
    }
    return g_string_free(s, false);
}

/* ------------------------------------------------------------------ */
/* Target TDs and TDCS fields                                         */

static void test_unbound(void)
{
    QTestState *qts = servtd_init(NULL);
    uint64_t in[NR_GPRS], out[NR_GPRS];
    QDict *info, *t;

    /* Unknown handle: invalid RCX, outputs cleared */
    sentinel_regs(in);
    in[RAX] = TDG_SERVTD_RD;
    in[RCX] = HANDLE + 0x1000;
    in[RDX] = MIG_ENC_KEY;
    memcpy(&in[R10], uuid, sizeof(uuid));
    tdcall(qts, 0, in, out, SERVTD_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_OPERAND_INVALID_RCX);
    g_assert_cmphex(out[R8], ==, 0);
    g_assert_cmphex(out[RDX], ==, NULL_FIELD_ID);

    /* Known handle, another TD's UUID */
    in[RCX] = HANDLE;
    in[R13] ^= 1;
    tdcall(qts, 0, in, out, SERVTD_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_TARGET_UUID_MISMATCH);

    /* Neither reached the target: no key was generated */
    t = query_target(qts, &info);
    g_assert_cmpuint(qdict_get_int(t, "enc-key-generations"), ==, 0);
    qobject_unref(info);
    qtest_quit(qts);
}

static void test_enc_key(void)
{
    QTestState *qts = servtd_init(NULL);
    uint64_t key[4], key2[4], next, old;
    g_autofree char *hex = NULL;
    QDict *info, *t;
    int i;

    for (i = 0; i < 4; i++) {
        g_assert_cmphex(servtd_rd(qts, MIG_ENC_KEY + i, &key[i], &next), ==,
                        TDX_SUCCESS);
        g_assert_cmphex(next, ==, i < 3 ? MIG_ENC_KEY + i + 1 : MIG_VERSION);
    }
    t = query_target(qts, &info);
    hex = qwords_hex(key, 4);
    g_assert_cmpstr(qdict_get_str(t, "enc-key"), ==, hex);
    g_assert_cmpuint(qdict_get_int(t, "enc-key-generations"), ==, 1);
    g_assert_true(qdict_get_bool(t, "enc-key-read"));
    qobject_unref(info);

    /* Element 0 again: a fresh key; elements 1-3 follow the new key */
    g_assert_cmphex(servtd_rd(qts, MIG_ENC_KEY, &key2[0], NULL), ==,
                    TDX_SUCCESS);
    g_assert_cmphex(key2[0], !=, key[0]);
    t = query_target(qts, &info);
    g_assert_false(qdict_get_bool(t, "enc-key-read"));
    qobject_unref(info);
    for (i = 1; i < 4; i++) {
        servtd_rd(qts, MIG_ENC_KEY + i, &key2[i], NULL);
    }
    t = query_target(qts, &info);
    g_free(hex);
    hex = qwords_hex(key2, 4);
    g_assert_cmpstr(qdict_get_str(t, "enc-key"), ==, hex);
    g_assert_cmpuint(qdict_get_int(t, "enc-key-generations"), ==, 2);
    qobject_unref(info);

    /* The MigTD cannot write its own encryption key */
    g_assert_cmphex(servtd_wr(qts, MIG_ENC_KEY, 1, ~0ULL, &old), ==,
                    TDX_FIELD_NOT_WRITABLE);
    g_assert_cmphex(old, ==, 0);
    qtest_quit(qts);
}

static void test_dec_key(void)
{
    static const uint64_t peer[4] = {
        0xa1a2a3a4a5a6a7a8ULL, 0xb1b2b3b4b5b6b7b8ULL,
        0xc1c2c3c4c5c6c7c8ULL, 0xd1d2d3d4d5d6d7d8ULL,
    };
    QTestState *qts = servtd_init(NULL);
    g_autofree char *hex = qwords_hex(peer, 4);
    uint64_t old, value;
    QDict *info, *t;
    int i;

    for (i = 0; i < 4; i++) {
        g_assert_cmphex(servtd_wr(qts, MIG_DEC_KEY + i, peer[i], ~0ULL, &old),
                        ==, TDX_SUCCESS);
        g_assert_cmphex(old, ==, 0);
        t = query_target(qts, &info);
        g_assert_cmpint(qdict_get_bool(t, "dec-key-written"), ==, i == 3);
        qobject_unref(info);
    }
    t = query_target(qts, &info);
    g_assert_cmpstr(qdict_get_str(t, "dec-key"), ==, hex);
    qobject_unref(info);

    /* A second write returns the previous value; a partial mask merges */
    g_assert_cmphex(servtd_wr(qts, MIG_DEC_KEY, 0x1234, 0xffff, &old), ==,
                    TDX_SUCCESS);
    g_assert_cmphex(old, ==, peer[0]);
    servtd_rd(qts, MIG_DEC_KEY, &value, NULL);
    g_assert_cmphex(value, ==, (peer[0] & ~0xffffULL) | 0x1234);

    /* A mask of 0 writes nothing */
    g_assert_cmphex(servtd_wr(qts, MIG_DEC_KEY, 0, 0, &old), ==,
                    TDX_FIELD_NOT_WRITABLE);
    qtest_quit(qts);
}

static void test_mig_version(void)
{
    QTestState *qts = servtd_init(",min-export-version=1,max-export-version=3,"
                                  "min-import-version=2,max-import-version=4");
    uint64_t old, value;
    QDict *info, *t;

    /* Must be in both the export and the import range */
    g_assert_cmphex(servtd_wr(qts, MIG_VERSION, 1, ~0ULL, &old), ==,
                    TDX_FIELD_VALUE_NOT_VALID);
    g_assert_cmphex(servtd_wr(qts, MIG_VERSION, 4, ~0ULL, &old), ==,
                    TDX_FIELD_VALUE_NOT_VALID);
    t = query_target(qts, &info);
    g_assert_false(qdict_get_bool(t, "mig-version-written"));
    qobject_unref(info);
    g_assert_cmphex(servtd_wr(qts, MIG_VERSION, 3, ~0ULL, &old), ==,
                    TDX_SUCCESS);
    g_assert_cmphex(servtd_rd(qts, MIG_VERSION, &value, NULL), ==,
                    TDX_SUCCESS);
    g_assert_cmphex(value, ==, 3);

    /* A 16-bit field: bits above it under the mask must stay 0 */
    g_assert_cmphex(servtd_wr(qts, MIG_VERSION, 0x10002, ~0ULL, &old), ==,
                    TDX_FIELD_VALUE_NOT_VALID);
    g_assert_cmphex(servtd_wr(qts, MIG_VERSION, 0x10002, 0xffff, &old), ==,
                    TDX_SUCCESS);
    g_assert_cmphex(old, ==, 3);
    t = query_target(qts, &info);
    g_assert_cmpuint(qdict_get_int(t, "mig-version"), ==, 2);
    g_assert_true(qdict_get_bool(t, "mig-version-written"));
    qobject_unref(info);
    qtest_quit(qts);

    /* Default devices: the TDX module 1.5 ranges, all 0 */
    qts = servtd_init(NULL);
    g_assert_cmphex(servtd_wr(qts, MIG_VERSION, 1, ~0ULL, &old), ==,
                    TDX_FIELD_VALUE_NOT_VALID);
    g_assert_cmphex(servtd_wr(qts, MIG_VERSION, 0, ~0ULL, &old), ==,
                    TDX_SUCCESS);
    qtest_quit(qts);
}

static void test_field_ids(void)
{
    QTestState *qts = servtd_init(NULL);
    uint64_t value, next, old;
    int i;

    /* Reserved bits, last-element bits, an unknown field */
    g_assert_cmphex(servtd_rd(qts, MIG_VERSION | (1ULL << 24), &value, &next),
                    ==, TDX_FIELD_ID_INCORRECT);
    g_assert_cmphex(next, ==, NULL_FIELD_ID);
    g_assert_cmphex(servtd_rd(qts, MIG_VERSION | (1ULL << 34), &value, NULL),
                    ==, TDX_FIELD_ID_INCORRECT);
    g_assert_cmphex(servtd_rd(qts, MIG_ENC_KEY + 4, &value, NULL), ==,
                    TDX_FIELD_ID_INCORRECT);
    g_assert_cmphex(servtd_rd(qts, 0x9810000300000777ULL, &value, NULL), ==,
                    TDX_FIELD_ID_INCORRECT);

    /* The null field ID asks for the first field */
    g_assert_cmphex(servtd_rd(qts, NULL_FIELD_ID, &value, &next), ==,
                    TDX_FIRST_FIELD_ID_IN_CONTEXT);
    g_assert_cmphex(next, ==, INIT_CPUSVN);

    /* SERVTD_ATTR reads 0 (MigTD requires it), configured values read */
    g_assert_cmphex(servtd_rd(qts, SERVTD_ATTR, &value, NULL), ==,
                    TDX_SUCCESS);
    g_assert_cmphex(value, ==, 0);
    for (i = 0; i < 6; i++) {
        g_assert_cmphex(servtd_rd(qts, SERVTD_INFO_HASH + i, &value, NULL),
                        ==, TDX_SUCCESS);
        g_assert_cmphex(value, ==, i + 1);
    }
    g_assert_cmphex(servtd_wr(qts, SERVTD_ATTR, 1, ~0ULL, &old), ==,
                    TDX_FIELD_NOT_WRITABLE);
    qtest_quit(qts);
}

static void test_sys_rd(void)
{
    static const uint64_t chain[] = {
        MIN_EXPORT_VERSION, MAX_EXPORT_VERSION, MIN_IMPORT_VERSION,
        MAX_IMPORT_VERSION, NULL_FIELD_ID,
    };
    static const uint64_t values[] = { 1, 5, 2, 6 };
    QTestState *qts = mailbox_init(",min-export-version=1,"
                                   "max-export-version=5,"
                                   "min-import-version=2,"
                                   "max-import-version=6");
    uint64_t in[NR_GPRS], out[NR_GPRS];
    size_t i;

    for (i = 0; i + 1 < ARRAY_SIZE(chain); i++) {
        sentinel_regs(in);
        in[RAX] = TDG_SYS_RD;
        in[RDX] = chain[i];
        tdcall(qts, 0, in, out, SERVTD_OUTPUTS);
        g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
        g_assert_cmpuint(out[R8], ==, values[i]);
        g_assert_cmphex(out[RDX], ==, chain[i + 1]);
    }
    in[RDX] = NULL_FIELD_ID;
    tdcall(qts, 0, in, out, SERVTD_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_FIRST_FIELD_ID_IN_CONTEXT);
    g_assert_cmphex(out[RDX], ==, MIN_EXPORT_VERSION);

    in[RDX] = MIG_VERSION;          /* a TD field is not a SYS field */
    tdcall(qts, 0, in, out, SERVTD_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_FIELD_ID_INCORRECT);
    g_assert_cmphex(out[R8], ==, 0);
    g_assert_cmphex(out[RDX], ==, NULL_FIELD_ID);
    qtest_quit(qts);
}

static void test_vm_wr(void)
{
    static const uint64_t token[4] = { 11, 22, 33, 44 };
    QTestState *qts = mailbox_init(NULL);
    g_autofree char *hex = qwords_hex(token, 4);
    uint64_t in[NR_GPRS], out[NR_GPRS];
    QDict *info;
    int i;

    for (i = 0; i < 4; i++) {
        sentinel_regs(in);
        in[RAX] = TDG_VM_WR;
        in[RCX] = 0;
        in[RDX] = REBIND_ACCEPT_TOKEN + i;
        in[R8] = token[i];
        in[R9] = ~0ULL;
        tdcall(qts, 0, in, out, OUT(RAX) | OUT(R8));
        g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
        g_assert_cmphex(out[R8], ==, 0);
    }
    info = query_tdx_emu(qts);
    g_assert_cmpstr(qdict_get_str(info, "rebind-accept-token"), ==, hex);
    qobject_unref(info);

    in[RDX] = REBIND_ACCEPT_TOKEN;
    in[R8] = 99;
    tdcall(qts, 0, in, out, OUT(RAX) | OUT(R8));
    g_assert_cmphex(out[R8], ==, 11);            /* the previous value */

    in[RCX] = 1;                                 /* no L2 VM 1 */
    tdcall(qts, 0, in, out, OUT(RAX) | OUT(R8));
    g_assert_cmphex(out[RAX], ==, TDX_OPERAND_INVALID_RCX);
    in[RCX] = 0;
    in[RDX] = MIG_VERSION;                       /* not a VM.WR field */
    tdcall(qts, 0, in, out, OUT(RAX) | OUT(R8));
    g_assert_cmphex(out[RAX], ==, TDX_FIELD_ID_INCORRECT);
    qtest_quit(qts);
}

static uint64_t vm_rd(QTestState *qts, uint64_t vm, uint64_t field,
                      uint64_t *value)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    sentinel_regs(in);
    in[RAX] = TDG_VM_RD;
    in[RCX] = vm;
    in[RDX] = field;
    tdcall(qts, 0, in, out, OUT(RAX) | OUT(R8));
    *value = out[R8];
    return out[RAX];
}

static uint64_t vm_wr(QTestState *qts, uint64_t field, uint64_t value,
                      uint64_t mask, uint64_t *old)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    sentinel_regs(in);
    in[RAX] = TDG_VM_WR;
    in[RCX] = 0;
    in[RDX] = field;
    in[R8] = value;
    in[R9] = mask;
    tdcall(qts, 0, in, out, OUT(RAX) | OUT(R8));
    *old = out[R8];
    return out[RAX];
}

/*
 * What Linux's tdx_setup() does (arch/x86/coco/tdx/tdx.c): NOTIFY_ENABLES
 * cleared; CONFIG_FLAGS without FLEXIBLE_PENDING_VE, so SEPT_VE_DISABLE
 * (in ATTRIBUTES and TD_CTLS) decides; REDUCE_VE refused, so it enables
 * ENUM_TOPOLOGY once TOPOLOGY_ENUM_CONFIGURED says so.
 */
static void test_vm_rd_linux(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t v;

    g_assert_cmphex(vm_wr(qts, TDCS_NOTIFY_ENABLES, 0, ~0ULL, &v), ==,
                    TDX_SUCCESS);
    g_assert_cmphex(v, ==, 0);
    g_assert_cmphex(vm_rd(qts, 0, TDCS_CONFIG_FLAGS, &v), ==, TDX_SUCCESS);
    g_assert_cmphex(v, ==, CONFIG_FLAGS_NO_RBP_MOD);
    g_assert_cmphex(vm_rd(qts, 0, TDCS_TD_CTLS, &v), ==, TDX_SUCCESS);
    g_assert_cmphex(v, ==, TD_CTLS_PENDING_VE_DISABLE);
    g_assert_cmphex(vm_wr(qts, TDCS_TD_CTLS, TD_CTLS_REDUCE_VE,
                          TD_CTLS_REDUCE_VE, &v), ==,
                    TDX_FIELD_NOT_WRITABLE);
    g_assert_cmphex(vm_rd(qts, 0, TDCS_TOPOLOGY_ENUM_CONFIGURED, &v), ==,
                    TDX_SUCCESS);
    g_assert_cmphex(v, ==, 1);
    g_assert_cmphex(vm_wr(qts, TDCS_TD_CTLS, TD_CTLS_ENUM_TOPOLOGY,
                          TD_CTLS_ENUM_TOPOLOGY, &v), ==, TDX_SUCCESS);
    g_assert_cmphex(v, ==, TD_CTLS_PENDING_VE_DISABLE);
    g_assert_cmphex(vm_rd(qts, 0, TDCS_TD_CTLS, &v), ==, TDX_SUCCESS);
    g_assert_cmphex(v, ==, TD_CTLS_PENDING_VE_DISABLE | TD_CTLS_ENUM_TOPOLOGY);

    g_assert_cmphex(vm_wr(qts, TDCS_CONFIG_FLAGS, 0, ~0ULL, &v), ==,
                    TDX_FIELD_NOT_WRITABLE);
    g_assert_cmphex(vm_rd(qts, 0, TDCS_CONFIG_FLAGS + 0x80, &v), ==,
                    TDX_FIELD_ID_INCORRECT);
    g_assert_cmphex(v, ==, 0);
    g_assert_cmphex(vm_rd(qts, 1, TDCS_TD_CTLS, &v), ==,
                    TDX_OPERAND_INVALID_RCX);
    g_assert_cmphex(v, ==, 0);
    qtest_quit(qts);
}

static void test_rebind_approve(void)
{
    QTestState *qts = servtd_init(NULL);
    uint64_t in[NR_GPRS], out[NR_GPRS];
    QDict *info, *t;

    sentinel_regs(in);
    in[RAX] = TDG_SERVTD_REBIND_APPROVE;
    in[RCX] = HANDLE;
    memcpy(&in[R10], uuid, sizeof(uuid));
    in[RDX] = 1;
    in[R8] = 2;
    in[R9] = 3;
    in[R14] = 4;
    t = query_target(qts, &info);
    g_assert_false(qdict_get_bool(t, "rebind-approved"));
    qobject_unref(info);
    tdcall(qts, 0, in, out, OUT(RAX));
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    t = query_target(qts, &info);
    g_assert_true(qdict_get_bool(t, "rebind-approved"));
    g_assert_cmpstr(qdict_get_str(t, "rebind-token"), ==,
                    "01000000000000000200000000000000"
                    "03000000000000000400000000000000");
    qobject_unref(info);

    in[RCX] = 7;
    tdcall(qts, 0, in, out, OUT(RAX));
    g_assert_cmphex(out[RAX], ==, TDX_OPERAND_INVALID_RCX);
    qtest_quit(qts);
}

/*
 * A target bound with the initial MigTD's TDINFO (init-tdinfo) and no
 * init-servtd-info-hash: SERVTD_INIT_SERVTD_INFO_HASH is the SHA-384 of
 * that TDINFO with the fields init-attr's IGNORE bits name zeroed (here
 * IGNORE_MRTD, bit 34: bytes 16..63), as MigTD's mig_policy.rs
 * verify_servtd_info_hash recomputes it
 */
#define SERVTD_INIT_INFO_HASH   0x191000030000020EULL
#define TDINFO_SIZE             512

static void test_init_tdinfo(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint8_t tdinfo[TDINFO_SIZE], want[48];
    g_autofree char *hex = NULL;
    uint64_t value;
    int i;

    for (i = 0; i < TDINFO_SIZE; i++) {
        tdinfo[i] = i * 7 + 1;
    }
    hex = bytes_hex(tdinfo, TDINFO_SIZE);
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-add-target', "
                             "'arguments': {'handle': %u, 'uuid': %s, "
                             "'init-attr': %" PRIu64 ", 'init-tdinfo': %s}}",
                             (unsigned)HANDLE, UUID_HEX, 1ULL << 34, hex);
    memset(tdinfo + 16, 0, 48);
    sha384(tdinfo, sizeof(tdinfo), want);
    for (i = 0; i < 6; i++) {
        g_assert_cmphex(servtd_rd(qts, SERVTD_INIT_INFO_HASH + i, &value,
                                  NULL), ==, TDX_SUCCESS);
        g_assert_cmphex(value, ==, ldq_le_p(want + 8 * i));
    }
    expect_qmp_error(qts, "{'execute': 'tdx-emu-add-target', 'arguments': "
                     "{'handle': 1, 'uuid': %s, 'init-tdinfo': 'abcd'}}",
                     UUID_HEX);
    qtest_quit(qts);
}

/* ------------------------------------------------------------------ */
/* Reports, RTMRs, #VE info                                           */

#define REPORT_GPA      0x100000ULL
#define REPORTDATA_GPA  0x101000ULL
#define DIGEST_GPA      0x102000ULL

/* The TD accepted the pages its report and digest buffers lie in */
static void accept_buffers(QTestState *qts)
{
    g_assert_cmphex(page_accept(qts, REPORT_GPA), ==, TDX_SUCCESS);
    g_assert_cmphex(page_accept(qts, REPORTDATA_GPA), ==, TDX_SUCCESS);
    g_assert_cmphex(page_accept(qts, DIGEST_GPA), ==, TDX_SUCCESS);
}

static uint64_t mr_report(QTestState *qts, uint64_t out_gpa, uint64_t rd_gpa,
                          uint64_t subtype)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    sentinel_regs(in);
    in[RAX] = TDG_MR_REPORT;
    in[RCX] = out_gpa;
    in[RDX] = rd_gpa;
    in[R8] = subtype;
    tdcall(qts, 0, in, out, OUT(RAX));
    return out[RAX];
}

static uint64_t verify_report(QTestState *qts, uint64_t gpa)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    sentinel_regs(in);
    in[RAX] = TDG_MR_VERIFYREPORT;
    in[RCX] = gpa;
    tdcall(qts, 0, in, out, OUT(RAX));
    return out[RAX];
}

static void test_report(void)
{
    QTestState *qts = mailbox_init(",attributes=0x10000000,mrowner="
                                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    uint8_t reportdata[64], report[1024], digest[48];
    int i;

    for (i = 0; i < 64; i++) {
        reportdata[i] = i * 3;
    }
    accept_buffers(qts);
    qtest_memwrite(qts, REPORTDATA_GPA, reportdata, sizeof(reportdata));
    g_assert_cmphex(mr_report(qts, REPORT_GPA, REPORTDATA_GPA, 0), ==,
                    TDX_SUCCESS);
    qtest_memread(qts, REPORT_GPA, report, sizeof(report));
    g_assert_cmphex(report[0], ==, 0x81);                 /* TDX report */
    g_assert_cmpmem(report + 128, 64, reportdata, 64);    /* REPORTDATA */
    g_assert_cmphex(ldq_le_p(report + 512), ==, 0x10000000); /* ATTRIBUTES */
    g_assert_cmphex(ldq_le_p(report + 520), ==, 3);          /* XFAM */
    g_assert_cmphex(report[624], ==, 0xaa);                  /* MROWNER */
    sha384(report + 512, 512, digest);                   /* TEE_INFO_HASH */
    g_assert_cmpmem(report + 80, 48, digest, 48);
    sha384(report + 256, 239, digest);               /* TEE_TCB_INFO_HASH */
    g_assert_cmpmem(report + 32, 48, digest, 48);

    /* VERIFYREPORT: this boot's MAC passes, one flipped bit fails */
    g_assert_cmphex(verify_report(qts, REPORT_GPA), ==, TDX_SUCCESS);
    report[130] ^= 0x10;
    qtest_memwrite(qts, REPORT_GPA, report, 256);
    g_assert_cmphex(verify_report(qts, REPORT_GPA), ==,
                    TDX_INVALID_REPORTMACSTRUCT);
    report[130] ^= 0x10;
    report[255] ^= 0x01;                                  /* the MAC */
    qtest_memwrite(qts, REPORT_GPA, report, 256);
    g_assert_cmphex(verify_report(qts, REPORT_GPA), ==,
                    TDX_INVALID_REPORTMACSTRUCT);
    report[255] ^= 0x01;
    qtest_memwrite(qts, REPORT_GPA, report, 256);
    g_assert_cmphex(verify_report(qts, REPORT_GPA), ==, TDX_SUCCESS);

    /* Operand checks */
    g_assert_cmphex(verify_report(qts, REPORT_GPA + 0x80), ==,
                    TDX_OPERAND_INVALID_RCX);
    g_assert_cmphex(verify_report(qts, REPORT_GPA | (1ULL << 47)), ==,
                    TDX_OPERAND_INVALID_RCX);       /* shared bit, gpaw 48 */
    /* TDG.MR.REPORT's GPAs may be shared (the module walks either EPT) */
    qtest_memset(qts, DIGEST_GPA, 0, 1024);
    g_assert_cmphex(mr_report(qts, DIGEST_GPA | (1ULL << 47),
                              REPORTDATA_GPA | (1ULL << 47), 0), ==,
                    TDX_SUCCESS);
    g_assert_cmphex(qtest_readb(qts, DIGEST_GPA), ==, 0x81);
    g_assert_cmphex(qtest_readb(qts, DIGEST_GPA + 128), ==, 0);
    g_assert_cmphex(qtest_readb(qts, DIGEST_GPA + 129), ==, 3);
    g_assert_cmphex(mr_report(qts, REPORT_GPA + 0x200, REPORTDATA_GPA, 0), ==,
                    TDX_OPERAND_INVALID_RCX);
    g_assert_cmphex(mr_report(qts, REPORT_GPA, REPORTDATA_GPA + 8, 0), ==,
                    TDX_OPERAND_INVALID_RDX);
    g_assert_cmphex(mr_report(qts, REPORT_GPA, REPORTDATA_GPA, 1), ==,
                    TDX_OPERAND_INVALID_R8);
    g_assert_cmphex(mr_report(qts, MAILBOX_GPA, REPORTDATA_GPA, 0), ==,
                    TDX_OPERAND_INVALID_RCX);       /* not RAM */

    /* A new boot has a new MAC key: the old report no longer verifies */
    qtest_system_reset(qts);
    accept_buffers(qts);                    /* the new TD's memory */
    qtest_memwrite(qts, REPORT_GPA, report, 256);
    g_assert_cmphex(verify_report(qts, REPORT_GPA), ==,
                    TDX_INVALID_REPORTMACSTRUCT);
    qtest_quit(qts);
}

static uint64_t rtmr_extend(QTestState *qts, uint64_t gpa, uint64_t index)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    sentinel_regs(in);
    in[RAX] = TDG_MR_RTMR_EXTEND;
    in[RCX] = gpa;
    in[RDX] = index;
    tdcall(qts, 0, in, out, OUT(RAX));
    return out[RAX];
}

static void test_rtmr_extend(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint8_t digest[48], buf[96] = { 0 }, expect[48], report[1024];
    g_autofree char *hex = NULL;
    g_autofree char *zeros = g_strnfill(96, '0');
    QDict *info;
    QList *rtmrs;
    int i;

    for (i = 0; i < 48; i++) {
        digest[i] = 0xc0 + i;
    }
    accept_buffers(qts);
    qtest_memwrite(qts, DIGEST_GPA, digest, sizeof(digest));
    g_assert_cmphex(rtmr_extend(qts, DIGEST_GPA, 2), ==, TDX_SUCCESS);

    /* RTMR2 = SHA384(zeros || digest) */
    memcpy(buf + 48, digest, 48);
    sha384(buf, sizeof(buf), expect);
    hex = bytes_hex(expect, 48);
    info = query_tdx_emu(qts);
    rtmrs = qdict_get_qlist(info, "rtmr");
    g_assert_cmpint(qlist_size(rtmrs), ==, 4);
    for (i = 0; i < 4; i++) {
        QString *r = qobject_to(QString, qlist_pop(rtmrs));

        g_assert_cmpstr(qstring_get_str(r), ==, i == 2 ? hex : zeros);
        qobject_unref(r);
    }
    qobject_unref(info);

    /* The TDREPORT carries it */
    g_assert_cmphex(mr_report(qts, REPORT_GPA, REPORTDATA_GPA, 0), ==,
                    TDX_SUCCESS);
    qtest_memread(qts, REPORT_GPA, report, sizeof(report));
    g_assert_cmpmem(report + 816, 48, expect, 48);

    g_assert_cmphex(rtmr_extend(qts, DIGEST_GPA, 4), ==,
                    TDX_OPERAND_INVALID_RDX);
    g_assert_cmphex(rtmr_extend(qts, DIGEST_GPA + 32, 0), ==,
                    TDX_OPERAND_INVALID_RCX);
    qtest_quit(qts);
}

/*
 * The module walks a TDCALL's memory operand as the CPU would: in a page
 * the TD has not accepted it is an EPT violation on the TDCALL, which does
 * not complete (every register as it was) and leaves #VE info: exit
 * reason 48, the access (1 read, 3 read and write), no GLA, the GPA
 */
static void expect_operand_ve(QTestState *qts, const uint64_t *in,
                              uint64_t qual, uint64_t gpa)
{
    uint64_t out[NR_GPRS], ve_in[NR_GPRS];

    tdcall(qts, 0, in, out, 0);
    sentinel_regs(ve_in);
    ve_in[RAX] = TDG_VP_VEINFO_GET;
    tdcall(qts, 0, ve_in, out,
           OUT(RAX) | OUT(RCX) | OUT(RDX) | OUT(R8) | OUT(R9) | OUT(R10));
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    g_assert_cmphex(out[RCX], ==, 48);
    g_assert_cmphex(out[RDX], ==, qual);
    g_assert_cmphex(out[R8], ==, 0);
    g_assert_cmphex(out[R9], ==, gpa);
}

static void test_operand_pending(void)
{
    QTestState *qts = mailbox_init(",attributes=0");
    uint64_t in[NR_GPRS];

    sentinel_regs(in);
    in[RAX] = TDG_MR_REPORT;
    in[RCX] = REPORT_GPA;
    in[RDX] = REPORTDATA_GPA;
    in[R8] = 0;
    expect_operand_ve(qts, in, 1, REPORTDATA_GPA);
    g_assert_cmphex(page_accept(qts, REPORTDATA_GPA), ==, TDX_SUCCESS);
    expect_operand_ve(qts, in, 3, REPORT_GPA);
    g_assert_cmphex(page_accept(qts, REPORT_GPA), ==, TDX_SUCCESS);
    g_assert_cmphex(mr_report(qts, REPORT_GPA, REPORTDATA_GPA, 0), ==,
                    TDX_SUCCESS);

    sentinel_regs(in);
    in[RAX] = TDG_MR_RTMR_EXTEND;
    in[RCX] = DIGEST_GPA;
    in[RDX] = 2;
    expect_operand_ve(qts, in, 1, DIGEST_GPA);
    qtest_quit(qts);
}

/* With SEPT_VE_DISABLE the VMM kills the TD instead, as KVM does */
static void test_operand_pending_killed(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t in[NR_GPRS], out[NR_GPRS];
    QDict *info, *status;

    sentinel_regs(in);
    in[RAX] = TDG_MR_RTMR_EXTEND;
    in[RCX] = DIGEST_GPA;
    in[RDX] = 2;
    tdcall(qts, 0, in, out, 0);
    info = query_tdx_emu(qts);
    g_assert_cmpstr(qdict_get_str(info, "killed"), ==,
                    "vCPU 0 accessed GPA 0x102000 before accepting it "
                    "(SEPT_VE_DISABLE)");
    qobject_unref(info);
    status = qtest_qmp_assert_success_ref(qts,
                                          "{'execute': 'query-status'}");
    g_assert_cmpstr(qdict_get_str(status, "status"), ==, "internal-error");
    qobject_unref(status);
    qtest_quit(qts);
}

static void test_veinfo_get(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t in[NR_GPRS], out[NR_GPRS];

    sentinel_regs(in);
    in[RAX] = TDG_VP_VEINFO_GET;
    tdcall(qts, 0, in, out,
           OUT(RAX) | OUT(RCX) | OUT(RDX) | OUT(R8) | OUT(R9) | OUT(R10));
    g_assert_cmphex(out[RAX], ==, TDX_NO_VALID_VE_INFO);
    g_assert_cmphex(out[RCX] | out[RDX] | out[R8] | out[R9] | out[R10], ==, 0);
    qtest_quit(qts);
}

/* ------------------------------------------------------------------ */
/* QMP                                                                */

static void test_qmp(void)
{
    QTestState *qts = mailbox_init(NULL);
    QDict *info, *t;
    uint64_t key;
    int i;

    /* Malformed and duplicate targets are refused */
    expect_qmp_error(qts, "{'execute': 'tdx-emu-add-target', 'arguments': "
                     "{'handle': 1, 'uuid': '0011'}}");
    expect_qmp_error(qts, "{'execute': 'tdx-emu-add-target', 'arguments': "
                     "{'handle': 1, 'uuid': %s, 'init-cpusvn': 'zz'}}",
                     UUID_HEX);
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-add-target', "
                             "'arguments': {'handle': %u, 'uuid': %s}}",
                             (unsigned)HANDLE, UUID_HEX);
    expect_qmp_error(qts, "{'execute': 'tdx-emu-add-target', 'arguments': "
                     "{'handle': %u, 'uuid': %s}}", (unsigned)HANDLE,
                     UUID_HEX);

    /* At most 1,024 bound targets (docs/security.md) */
    for (i = 1; i < 1024; i++) {
        qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-add-target', "
                                 "'arguments': {'handle': %u, 'uuid': %s}}",
                                 (unsigned)HANDLE + i, UUID_HEX);
    }
    expect_qmp_error(qts, "{'execute': 'tdx-emu-add-target', 'arguments': "
                     "{'handle': %u, 'uuid': %s}}", (unsigned)HANDLE + i,
                     UUID_HEX);

    /* Keys are secrets: not shown without expose-keys=on */
    servtd_rd(qts, MIG_ENC_KEY, &key, NULL);
    t = query_target(qts, &info);
    g_assert_cmpstr(qdict_get_str(t, "uuid"), ==, UUID_HEX);
    g_assert_cmpuint(qdict_get_int(t, "handle"), ==, HANDLE);
    g_assert_false(qdict_haskey(t, "enc-key"));
    g_assert_false(qdict_haskey(t, "dec-key"));
    g_assert_cmpuint(qdict_get_int(t, "enc-key-generations"), ==, 1);
    g_assert_cmpuint(qdict_get_int(info, "tdcalls"), ==, 1);
    g_assert_cmpuint(qdict_get_int(info, "gpaw"), ==, 48);
    qobject_unref(info);
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    if (!qtest_has_device("tdx-emu")) {
        return 0;
    }
    qtest_add_func("/tdx-emu/servtd/unbound", test_unbound);
    qtest_add_func("/tdx-emu/servtd/enc-key", test_enc_key);
    qtest_add_func("/tdx-emu/servtd/dec-key", test_dec_key);
    qtest_add_func("/tdx-emu/servtd/mig-version", test_mig_version);
    qtest_add_func("/tdx-emu/servtd/field-ids", test_field_ids);
    qtest_add_func("/tdx-emu/servtd/rebind-approve", test_rebind_approve);
    qtest_add_func("/tdx-emu/servtd/init-tdinfo", test_init_tdinfo);
    qtest_add_func("/tdx-emu/sys-rd", test_sys_rd);
    qtest_add_func("/tdx-emu/vm-wr", test_vm_wr);
    qtest_add_func("/tdx-emu/vm-rd-linux", test_vm_rd_linux);
    qtest_add_func("/tdx-emu/report", test_report);
    qtest_add_func("/tdx-emu/rtmr-extend", test_rtmr_extend);
    qtest_add_func("/tdx-emu/veinfo-get", test_veinfo_get);
    qtest_add_func("/tdx-emu/operand-pending", test_operand_pending);
    qtest_add_func("/tdx-emu/operand-pending-killed",
                   test_operand_pending_killed);
    qtest_add_func("/tdx-emu/qmp", test_qmp);
    return g_test_run();
}
