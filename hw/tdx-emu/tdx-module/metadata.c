/*
 * tdx-emu: TDX module metadata fields (field IDs, elements, masks)
 *
 * The rules are those of the TDX module's metadata access functions, as
 * used by TDG.SYS.RD, TDG.VM.WR and TDG.SERVTD.RD/WR (TDX module ABI metadata
 * fields).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "cpu.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "metadata.h"

/* Field ID layout (TDX module ABI, MD_FIELD_ID) */
#define MD_CODE_MASK            0x0000000000ffffffULL
#define MD_SIZE_SHIFT           32
#define MD_SIZE_MASK            0x3ULL
#define MD_CONTEXT_MASK         0x0070000000000000ULL
#define MD_CLASS_MASK           0x3f00000000000000ULL
/* reserved 31:24, 49:47, 55, 62; last element 37:34; last field 46:38 */
#define MD_MUST_BE_ZERO         0x4083fffcff000000ULL

unsigned tdx_md_elem_size(uint64_t field_id)
{
    return 1u << ((field_id >> MD_SIZE_SHIFT) & MD_SIZE_MASK);
}

static bool md_is_null(uint64_t field_id)
{
    return (field_id | MD_CONTEXT_MASK) == TDX_MD_NULL_FIELD_ID;
}

uint64_t tdx_md_lookup(const TdxMdContext *md, uint64_t field_id,
                       const TdxMdField **f, unsigned *elem)
{
    uint64_t code = field_id & MD_CODE_MASK;
    size_t i;

    if (field_id & MD_MUST_BE_ZERO) {
        return TDX_METADATA_FIELD_ID_INCORRECT;
    }
    for (i = 0; i < md->nr_fields; i++) {
        const TdxMdField *cand = &md->fields[i];
        uint64_t base = cand->id & MD_CODE_MASK;

        if ((cand->id & MD_CLASS_MASK) == (field_id & MD_CLASS_MASK) &&
            code >= base && code < base + cand->nr_elems) {
            *f = cand;
            *elem = code - base;
            return TDX_SUCCESS;
        }
    }
    return TDX_METADATA_FIELD_ID_INCORRECT;
}

static uint64_t md_get(void *ctx, const TdxMdField *f, unsigned elem,
                       uint64_t *value)
{
    unsigned size = tdx_md_elem_size(f->id);

    if (f->get) {
        return f->get(ctx, f, elem, value);
    }
    *value = ldn_le_p((uint8_t *)ctx + f->offset + elem * size, size);
    return TDX_SUCCESS;
}

static uint64_t md_set(void *ctx, const TdxMdField *f, unsigned elem,
                       uint64_t value)
{
    unsigned size = tdx_md_elem_size(f->id);

    if (f->set) {
        return f->set(ctx, f, elem, value);
    }
    stn_le_p((uint8_t *)ctx + f->offset + elem * size, size, value);
    return TDX_SUCCESS;
}

uint64_t tdx_md_read(const TdxMdContext *md, void *ctx, uint64_t field_id,
                     uint64_t *value)
{
    const TdxMdField *f;
    unsigned elem;
    uint64_t status = tdx_md_lookup(md, field_id, &f, &elem);

    *value = 0;
    if (status != TDX_SUCCESS) {
        return status;
    }
    if (!f->rd_mask) {
        return TDX_METADATA_FIELD_NOT_READABLE;
    }
    status = md_get(ctx, f, elem, value);
    *value = status == TDX_SUCCESS ? *value & f->rd_mask : 0;
    return status;
}

uint64_t tdx_md_write(const TdxMdContext *md, void *ctx, uint64_t field_id,
                      uint64_t value, uint64_t mask, uint64_t *old)
{
    const TdxMdField *f;
    unsigned elem;
    uint64_t status = tdx_md_lookup(md, field_id, &f, &elem);
    uint64_t prev, writable, fixed;

    *old = 0;
    if (status != TDX_SUCCESS) {
        return status;
    }
    writable = mask & f->wr_mask;
    if (!writable) {
        return TDX_METADATA_FIELD_NOT_WRITABLE;
    }
    status = md_get(ctx, f, elem, &prev);
    if (status != TDX_SUCCESS) {
        return status;
    }
    /* Bits the mask covers but the field does not let change must match */
    fixed = mask & ~f->wr_mask;
    if ((prev & fixed) != (value & fixed)) {
        return TDX_METADATA_FIELD_VALUE_NOT_VALID;
    }
    status = md_set(ctx, f, elem, (prev & ~writable) | (value & writable));
    if (status == TDX_SUCCESS) {
        *old = prev & f->rd_mask;
    }
    return status;
}

static uint64_t md_first_readable(const TdxMdContext *md, size_t from)
{
    size_t i;

    for (i = from; i < md->nr_fields; i++) {
        if (md->fields[i].rd_mask) {
            return md->fields[i].id;
        }
    }
    return TDX_MD_NULL_FIELD_ID;
}

uint64_t tdx_md_next(const TdxMdContext *md, uint64_t field_id)
{
    const TdxMdField *f;
    unsigned elem;

    if (md_is_null(field_id)) {
        return md_first_readable(md, 0);
    }
    if (tdx_md_lookup(md, field_id, &f, &elem) != TDX_SUCCESS) {
        return TDX_MD_NULL_FIELD_ID;
    }
    if (elem + 1 < f->nr_elems) {
        return f->id + elem + 1;
    }
    return md_first_readable(md, f - md->fields + 1);
}

uint64_t tdx_md_read_leaf(const TdxMdContext *md, void *ctx, uint64_t *regs)
{
    uint64_t field_id = regs[R_EDX];
    uint64_t status;

    regs[R_R8] = 0;
    regs[R_EDX] = TDX_MD_NULL_FIELD_ID;
    if (md_is_null(field_id)) {
        regs[R_EDX] = tdx_md_next(md, field_id);
        return TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT;
    }
    status = tdx_md_read(md, ctx, field_id, &regs[R_R8]);
    if (status == TDX_SUCCESS) {
        regs[R_EDX] = tdx_md_next(md, field_id);
    }
    return status;
}
