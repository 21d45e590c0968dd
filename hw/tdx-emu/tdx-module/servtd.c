/*
 * tdx-emu: target TDs bound to the MigTD and the service-TD leaves
 *
 * A MigTD reads and writes fields of the target TDs it is bound to with
 * TDG.SERVTD.RD/WR, naming each by its binding handle and target TD UUID
 * (TDX module ABI, metadata fields). The migration session keys live here:
 * reading element 0 of MIG_ENC_KEY makes the module generate a fresh key;
 * MIG_DEC_KEY takes the peer's key.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "tdx-module.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "metadata.h"
#include "trace.h"

#define ALL_ONES    UINT64_MAX

/* MIG_ENC_KEY: element 0 read by the MigTD makes a new key */
static uint64_t enc_key_get(void *ctx, const TdxMdField *f, unsigned elem,
                            uint64_t *value)
{
    TdxEmuTarget *t = ctx;

    if (elem == 0) {
        if (qcrypto_random_bytes(t->mig_enc_key, sizeof(t->mig_enc_key),
                                 NULL) < 0) {
            return TDX_RND_NO_ENTROPY;
        }
        t->enc_key_generations++;
        t->enc_key_read = 0;
    }
    t->enc_key_read |= 1u << elem;
    *value = t->mig_enc_key[elem];
    return TDX_SUCCESS;
}

static uint64_t dec_key_set(void *ctx, const TdxMdField *f, unsigned elem,
                            uint64_t value)
{
    TdxEmuTarget *t = ctx;

    t->mig_dec_key[elem] = value;
    t->dec_key_written |= 1u << elem;
    return TDX_SUCCESS;
}

/* MIG_VERSION must be in both the export and the import range */
static uint64_t mig_version_set(void *ctx, const TdxMdField *f, unsigned elem,
                                uint64_t value)
{
    TdxEmuTarget *t = ctx;
    const TdxEmuSysFields *sys = &t->dev->sys;

    if (value < sys->min_export_version || value > sys->max_export_version ||
        value < sys->min_import_version || value > sys->max_import_version) {
        return TDX_METADATA_FIELD_VALUE_NOT_VALID;
    }
    t->mig_version = value;
    t->mig_version_written = true;
    return TDX_SUCCESS;
}

#define TARGET_FIELD(_name, _id, _n, _rd, _wr, _member)          \
    { .name = _name, .id = _id, .nr_elems = _n, .rd_mask = _rd,  \
      .wr_mask = _wr, .offset = offsetof(TdxEmuTarget, _member) }

/* What a MigTD may access in a target's TDCS, in field ID order */
static const TdxMdField target_fields[] = {
    TARGET_FIELD("INIT_CPUSVN", 0x1110000300000060ULL, 2, ALL_ONES, 0,
                 init_cpusvn),
    TARGET_FIELD("INIT_TEE_TCB_SVN", 0x1110000300000062ULL, 2, ALL_ONES, 0,
                 init_tee_tcb_svn),
    TARGET_FIELD("INIT_TEE_MODEL", 0x1110000200000064ULL, 3, UINT32_MAX, 0,
                 init_tee_model),
    {
        .name = "MIG_DEC_KEY", .id = 0x9810000300000010ULL, .nr_elems = 4,
        .rd_mask = ALL_ONES, .wr_mask = ALL_ONES,
        .offset = offsetof(TdxEmuTarget, mig_dec_key), .set = dec_key_set,
    },
    {
        .name = "MIG_ENC_KEY", .id = 0x9810000300000018ULL, .nr_elems = 4,
        .rd_mask = ALL_ONES, .wr_mask = 0, .get = enc_key_get,
    },
    {
        .name = "MIG_VERSION", .id = 0x9810000100000020ULL, .nr_elems = 1,
        .rd_mask = UINT16_MAX, .wr_mask = UINT16_MAX,
        .offset = offsetof(TdxEmuTarget, mig_version),
        .set = mig_version_set,
    },
    TARGET_FIELD("SERVTD_ATTR", 0x1910000300000202ULL, 1, ALL_ONES, 0,
                 servtd_attr),
    TARGET_FIELD("SERVTD_INFO_HASH", 0x1910000300000207ULL, 6, ALL_ONES, 0,
                 servtd_info_hash),
    TARGET_FIELD("SERVTD_INIT_ATTR", 0x191000030000020DULL, 1, ALL_ONES, 0,
                 servtd_init_attr),
    TARGET_FIELD("SERVTD_INIT_SERVTD_INFO_HASH", 0x191000030000020EULL, 6,
                 ALL_ONES, 0, servtd_init_info_hash),
};

static const TdxMdContext target_md = {
    .fields = target_fields,
    .nr_fields = ARRAY_SIZE(target_fields),
};

/*
 * SERVTD_ATTR bits 32..41 IGNORE_ATTRIBUTES, _XFAM, _MRTD, _MRCONFIGID,
 * _MROWNER, _MROWNERCONFIG, _RTMR0.._RTMR3 leave these TDINFO_STRUCT fields
 * out of a service TD's info hash (TDX module ABI; MigTD
 * src/migtd/src/mig_policy.rs verify_servtd_info_hash)
 */
#define SERVTD_ATTR_IGNORE_SHIFT    32

static const struct {
    uint16_t offset, size;
} servtd_ignore_fields[] = {
    { 0, 8 }, { 8, 8 }, { 16, 48 }, { 64, 48 }, { 112, 48 }, { 160, 48 },
    { 208, 48 }, { 256, 48 }, { 304, 48 }, { 352, 48 },
};

void tdx_emu_servtd_info_hash(const uint8_t *tdinfo, uint64_t servtd_attr,
                              uint64_t *hash)
{
    uint8_t masked[TDX_TDINFO_SIZE];
    g_autofree uint8_t *digest = NULL;
    size_t digest_len = 0;
    unsigned i;

    memcpy(masked, tdinfo, sizeof(masked));
    for (i = 0; i < ARRAY_SIZE(servtd_ignore_fields); i++) {
        if (servtd_attr >> (SERVTD_ATTR_IGNORE_SHIFT + i) & 1) {
            memset(masked + servtd_ignore_fields[i].offset, 0,
                   servtd_ignore_fields[i].size);
        }
    }
    qcrypto_hash_bytes(QCRYPTO_HASH_ALGO_SHA384, masked, sizeof(masked),
                       &digest, &digest_len, &error_abort);
    memcpy(hash, digest, TDX_SHA384_SIZE);
}

TdxEmuTarget *tdx_emu_target_find(TdxEmuState *s, uint64_t handle)
{
    TdxEmuTarget *t;

    QTAILQ_FOREACH(t, &s->targets, next) {
        if (t->handle == handle) {
            return t;
        }
    }
    return NULL;
}

bool tdx_emu_target_bind(TdxEmuState *s, TdxEmuTarget *t, Error **errp)
{
    if (tdx_emu_target_find(s, t->handle)) {
        error_setg(errp, "binding handle 0x%" PRIx64 " is already bound",
                   t->handle);
        return false;
    }
    if (QTAILQ_COUNT(&s->targets, next) >= TDX_EMU_MAX_TARGETS) {
        error_setg(errp, "%d target TDs are bound already",
                   TDX_EMU_MAX_TARGETS);
        return false;
    }
    t->dev = s;
    QTAILQ_INSERT_TAIL(&s->targets, t, next);
    trace_tdx_emu_target_bind(t->handle, t->uuid[0], t->uuid[1], t->uuid[2],
                              t->uuid[3]);
    return true;
}

/*
 * RCX = binding handle, R10..R13 = target TD UUID. An unknown handle is an
 * invalid RCX; a handle bound to another TD is a UUID mismatch.
 */
static uint64_t servtd_target(TdxEmuState *s, const uint64_t *regs,
                              TdxEmuTarget **target)
{
    TdxEmuTarget *t = tdx_emu_target_find(s, regs[R_ECX]);

    if (!t) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: no target TD is bound with "
                      "handle 0x%" PRIx64 "\n", regs[R_ECX]);
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_RCX;
    }
    if (memcmp(t->uuid, &regs[R_R10], sizeof(t->uuid))) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: target TD UUID does not "
                      "match binding handle 0x%" PRIx64 "\n", regs[R_ECX]);
        return TDX_TARGET_UUID_MISMATCH;
    }
    *target = t;
    return TDX_SUCCESS;
}

/*
 * TDG.SERVTD.RD (leaf 18, TDX module ABI): RDX = field ID; R8 = value, RDX =
 * the next field ID.
 */
uint64_t tdx_emu_servtd_rd(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    TdxEmuTarget *t;
    uint64_t field_id = regs[R_EDX];
    uint64_t status = servtd_target(s, regs, &t);

    if (status != TDX_SUCCESS) {
        regs[R_R8] = 0;
        regs[R_EDX] = TDX_MD_NULL_FIELD_ID;
        return status;
    }
    status = tdx_md_read_leaf(&target_md, t, regs);
    trace_tdx_emu_servtd_rd(t->handle, field_id, status);
    return status;
}

/*
 * TDG.SERVTD.WR (leaf 20, TDX module ABI): RDX = field ID, R8 = value, R9 =
 * write mask; R8 = the previous value.
 */
uint64_t tdx_emu_servtd_wr(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    TdxEmuTarget *t;
    uint64_t status = servtd_target(s, regs, &t);

    if (status != TDX_SUCCESS) {
        regs[R_R8] = 0;
        return status;
    }
    status = tdx_md_write(&target_md, t, regs[R_EDX], regs[R_R8], regs[R_R9],
                          &regs[R_R8]);
    trace_tdx_emu_servtd_wr(t->handle, regs[R_EDX], status);
    return status;
}

/*
 * TDG.SERVTD.REBIND.APPROVE (leaf 33, TDX module ABI): RCX = the current
 * binding handle, the 32-byte token in RDX, R8, R9, R14, R10..R13 = target
 * UUID. The approval is recorded for the host (query-tdx-emu), which completes
 * the rebinding.
 */
uint64_t tdx_emu_servtd_rebind_approve(TdxEmuState *s, X86CPU *cpu,
                                       uint64_t *regs)
{
    TdxEmuTarget *t;
    uint64_t status = servtd_target(s, regs, &t);

    if (status != TDX_SUCCESS) {
        return status;
    }
    t->rebind_token[0] = regs[R_EDX];
    t->rebind_token[1] = regs[R_R8];
    t->rebind_token[2] = regs[R_R9];
    t->rebind_token[3] = regs[R_R14];
    t->rebind_approved = true;
    return TDX_SUCCESS;
}
