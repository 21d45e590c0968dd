/*
 * Guest stub: a StartRebinding request, as a policy v2 MigTD without SPDM
 * does it (MigTD src/migtd/src/migration/rebinding.rs, servtd_ext.rs,
 * mig_policy.rs; one phase since commit 433dd79). The MigTD bound to the
 * target so far ("old", migration_source = 1) hands the new one a rebind
 * token and approves it; the new one accepts it in its own TDCS. MigTD
 * carries the SERVTD_EXT and the initial MigTD's TDINFO in its RA-TLS
 * certificate and the token inside TLS; the stub sends them in the clear,
 * as it does the migration keys (docs/migration.md):
 *
 *   old  SERVTD_EXT of the target (TDG.SERVTD.RD: INIT_SERVTD_INFO_HASH,
 *        INIT_ATTR, INIT_CPUSVN, INIT_TEE_TCB_SVN, INIT_TEE_MODEL,
 *        SERVTD_INFO_HASH, SERVTD_ATTR, which must be 0); the init TDINFO:
 *        the VMM's (has_init_data), else its own TDREPORT's; a random
 *        32-byte token; sends {SERVTD_EXT, init TDINFO, token}, then
 *        TDG.SERVTD.REBIND.APPROVE(binding handle, token, target UUID)
 *   new  checks that the init TDINFO, with the fields INIT_ATTR's IGNORE
 *        bits name zeroed, hashes to INIT_SERVTD_INFO_HASH
 *        (PolicyUnsatisfiedError otherwise); then TDG.VM.WR of
 *        SERVTD_REBIND_ACCEPT_TOKEN (4 x u64), SERVTD_REBIND_ATTR (the
 *        old binding's SERVTD_ATTR) and SERVTD_ACCEPT_SERVTD_EXT_HASH (6 x
 *        u64: SHA-384 of SERVTD_EXT with its two current fields zeroed)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "tdx.h"
#include "bytes.h"
#include "sha384.h"
#include "logarea.h"
#include "migtd-stub.h"

#define TDG_VM_WR                   8
#define TDG_SERVTD_RD               18
#define TDG_SERVTD_REBIND_APPROVE   33

#define REBIND_ACCEPT_TOKEN     0x191000030000021EULL
#define REBIND_ATTR             0x1910000300000222ULL
#define ACCEPT_SERVTD_EXT_HASH  0x1910000300000214ULL

/* ServtdExt (servtd_ext.rs), 272 bytes: where each field lies */
#define EXT_SIZE                272
#define EXT_INIT_INFO_HASH      0
#define EXT_INIT_ATTR           48
#define EXT_CUR_INFO_HASH       112
#define EXT_CUR_ATTR            160
#define TOKEN_SIZE              32
#define MESSAGE_SIZE            (EXT_SIZE + TDINFO_SIZE + TOKEN_SIZE)

static const struct {
    uint64_t field;
    uint16_t offset;
    uint8_t elems, size;
} ext_fields[] = {
    { 0x191000030000020EULL, EXT_INIT_INFO_HASH, 6, 8 },
    { 0x191000030000020DULL, EXT_INIT_ATTR, 1, 8 },
    { 0x1110000300000060ULL, 64, 2, 8 },        /* INIT_CPUSVN */
    { 0x1110000300000062ULL, 80, 2, 8 },        /* INIT_TEE_TCB_SVN */
    { 0x1110000200000064ULL, 96, 3, 4 },        /* INIT_TEE_MODEL */
    { 0x1910000300000207ULL, EXT_CUR_INFO_HASH, 6, 8 },
    { 0x1910000300000202ULL, EXT_CUR_ATTR, 1, 8 },
};

/*
 * The TDINFO_STRUCT fields SERVTD_ATTR bits 32..41 (IGNORE_ATTRIBUTES ..
 * IGNORE_RTMR3) leave out of an info hash (mig_policy.rs)
 */
static const struct {
    uint16_t offset, size;
} ignore_fields[] = {
    { 0, 8 }, { 8, 8 }, { 16, 48 }, { 64, 48 }, { 112, 48 }, { 160, 48 },
    { 208, 48 }, { 256, 48 }, { 304, 48 }, { 352, 48 },
};

/* The rebinding's message, {SERVTD_EXT, init TDINFO, token} */
static uint8_t message[MESSAGE_SIZE];

static int read_servtd_ext(const struct migration_info *mi, uint8_t *ext)
{
    uint64_t v;
    unsigned i, j;

    for (i = 0; i < EXT_SIZE; i++) {
        ext[i] = 0;
    }
    for (i = 0; i < sizeof(ext_fields) / sizeof(ext_fields[0]); i++) {
        for (j = 0; j < ext_fields[i].elems; j++) {
            v = 0;
            if (migtd_servtd(TDG_SERVTD_RD, mi, ext_fields[i].field + j,
                             &v)) {
                return RESULT_TDX_MODULE_ERROR;
            }
            copy(ext + ext_fields[i].offset + j * ext_fields[i].size, &v,
                 ext_fields[i].size);
        }
    }
    /* EXPECTED_SERVTD_ATTR (servtd_ext.rs) */
    return ld64(ext + EXT_CUR_ATTR) ? RESULT_INVALID_PARAMETER :
                                      RESULT_SUCCESS;
}

static int random64(uint64_t *v)
{
    unsigned char ok;
    int i;

    for (i = 0; i < 10; i++) {
        asm volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
        if (ok) {
            return 1;
        }
    }
    return 0;
}

static uint64_t approve(const struct migration_info *mi, const uint8_t *tok)
{
    struct tdx_regs r = {
        .rax = TDG_SERVTD_REBIND_APPROVE, .rcx = mi->binding_handle,
        .rdx = ld64(tok), .r8 = ld64(tok + 8), .r9 = ld64(tok + 16),
        .r14 = ld64(tok + 24),
        .r10 = mi->uuid[0], .r11 = mi->uuid[1],
        .r12 = mi->uuid[2], .r13 = mi->uuid[3],
    };

    tdcall(&r);
    return r.rax;
}

/* The old MigTD's half */
static int rebind_old(const struct migration_info *mi,
                      const uint8_t *init_tdinfo)
{
    uint8_t *tdinfo = message + EXT_SIZE, *token = tdinfo + TDINFO_SIZE;
    const uint8_t *report;
    uint64_t v;
    int i, res = read_servtd_ext(mi, message);

    if (res != RESULT_SUCCESS) {
        return res;
    }
    if (!init_tdinfo) {
        report = migtd_tdreport("", 0);
        if (!report) {
            return RESULT_TDX_MODULE_ERROR;
        }
        init_tdinfo = report + 512;
    }
    copy(tdinfo, init_tdinfo, TDINFO_SIZE);
    for (i = 0; i < TOKEN_SIZE / 8; i++) {
        if (!random64(&v)) {
            return RESULT_INVALID_PARAMETER;    /* create_rebind_token */
        }
        st64(token + 8 * i, v);
    }
    res = migtd_stream_send(message, MESSAGE_SIZE);
    if (res == RESULT_SUCCESS && approve(mi, token) != TDX_SUCCESS) {
        res = RESULT_TDX_MODULE_ERROR;
    }
    return res;
}

static uint64_t vm_wr(uint64_t field, uint64_t value)
{
    struct tdx_regs r = {
        .rax = TDG_VM_WR, .rcx = 0, .rdx = field, .r8 = value, .r9 = ~0ULL,
    };

    tdcall(&r);
    return r.rax;
}

/* The init TDINFO's hash, with INIT_ATTR's IGNORE fields zeroed */
static int init_tdinfo_matches(const uint8_t *ext, uint8_t *tdinfo)
{
    uint64_t attr = ld64(ext + EXT_INIT_ATTR);
    uint8_t digest[SHA384_SIZE];
    unsigned i, j;

    for (i = 0; i < sizeof(ignore_fields) / sizeof(ignore_fields[0]); i++) {
        for (j = 0; attr >> (32 + i) & 1 && j < ignore_fields[i].size;
             j++) {
            tdinfo[ignore_fields[i].offset + j] = 0;
        }
    }
    sha384(tdinfo, TDINFO_SIZE, digest);
    for (i = 0; i < SHA384_SIZE; i++) {
        if (digest[i] != ext[EXT_INIT_INFO_HASH + i]) {
            return 0;
        }
    }
    return 1;
}

/* The new MigTD's half */
static int rebind_new(const struct migration_info *mi)
{
    uint8_t *ext = message, *token = message + EXT_SIZE + TDINFO_SIZE;
    uint8_t digest[SHA384_SIZE];
    int i, res = migtd_stream_receive(message, MESSAGE_SIZE);

    if (res != RESULT_SUCCESS) {
        return res;
    }
    if (!init_tdinfo_matches(ext, message + EXT_SIZE)) {
        migtd_log(LOG_ERROR, mi->id, "migtd-stub: request %lu: the init "
                  "TDINFO does not match INIT_SERVTD_INFO_HASH\n", mi->id);
        return RESULT_POLICY_UNSATISFIED;
    }
    for (i = 0; i < TOKEN_SIZE / 8; i++) {
        if (vm_wr(REBIND_ACCEPT_TOKEN + i, ld64(token + 8 * i))) {
            return RESULT_TDX_MODULE_ERROR;
        }
    }
    if (vm_wr(REBIND_ATTR, ld64(ext + EXT_CUR_ATTR))) {
        return RESULT_TDX_MODULE_ERROR;
    }
    for (i = 0; i < 48 + 8; i++) {
        ext[EXT_CUR_INFO_HASH + i] = 0;     /* info hash, then attr */
    }
    sha384(ext, EXT_SIZE, digest);
    for (i = 0; i < SHA384_SIZE / 8; i++) {
        if (vm_wr(ACCEPT_SERVTD_EXT_HASH + i, ld64(digest + 8 * i))) {
            return RESULT_TDX_MODULE_ERROR;
        }
    }
    return RESULT_SUCCESS;
}

int migtd_rebind(const struct migration_info *mi, const uint8_t *init_tdinfo)
{
    int res = migtd_stream_open(mi);

    if (res == RESULT_SUCCESS) {
        res = mi->source ? rebind_old(mi, init_tdinfo) : rebind_new(mi);
        migtd_stream_close();
    }
    if (res == RESULT_SUCCESS) {
        migtd_log(LOG_INFO, mi->id, "migtd-stub: request %lu: rebinding "
                  "complete\n", mi->id);
    }
    return res;
}
