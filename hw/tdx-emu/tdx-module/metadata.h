/*
 * tdx-emu: TDX module metadata fields (field IDs, elements, masks)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_METADATA_H
#define HW_TDX_EMU_METADATA_H

/*
 * One field of a metadata context (SYS, or a TD's TDCS): its canonical field
 * ID (element 0), how many elements it has, and what a service TD or the TD
 * itself may read and write. @get/@set access one element of the context
 * object @ctx; @set may refuse a value with a status (e.g. MIG_VERSION out of
 * range).
 */
typedef struct TdxMdField TdxMdField;

typedef uint64_t TdxMdGetFn(void *ctx, const TdxMdField *f, unsigned elem,
                            uint64_t *value);
typedef uint64_t TdxMdSetFn(void *ctx, const TdxMdField *f, unsigned elem,
                            uint64_t value);

struct TdxMdField {
    const char *name;
    uint64_t id;
    unsigned nr_elems;
    uint64_t rd_mask;           /* 0: not readable */
    uint64_t wr_mask;           /* 0: not writable */
    size_t offset;              /* of element 0 in the context object */
    TdxMdGetFn *get;            /* NULL: plain load from @offset */
                                /* (may fail with a status) */
    TdxMdSetFn *set;            /* NULL: plain store to @offset */
};

typedef struct TdxMdContext {
    const TdxMdField *fields;
    size_t nr_fields;
} TdxMdContext;

/* The field ID that TDG.SYS.RD / TDG.VM.RD take as "give me the first one" */
#define TDX_MD_NULL_FIELD_ID    UINT64_MAX

/* Element size in bytes of a field ID (bits 33:32) */
unsigned tdx_md_elem_size(uint64_t field_id);

/*
 * Resolve @field_id to a field and element of @md. Returns TDX_SUCCESS or
 * the module's status (TDX_METADATA_FIELD_ID_INCORRECT).
 */
uint64_t tdx_md_lookup(const TdxMdContext *md, uint64_t field_id,
                       const TdxMdField **f, unsigned *elem);

/* Read one element; *value is 0 on error */
uint64_t tdx_md_read(const TdxMdContext *md, void *ctx, uint64_t field_id,
                     uint64_t *value);

/*
 * Write one element under @mask: new = (old & ~m) | (value & m) with
 * m = mask & the field's write mask. *old gets the previous value.
 */
uint64_t tdx_md_write(const TdxMdContext *md, void *ctx, uint64_t field_id,
                      uint64_t value, uint64_t mask, uint64_t *old);

/*
 * The readable field element after @field_id (TDX_MD_NULL_FIELD_ID: the
 * first one); TDX_MD_NULL_FIELD_ID at the end.
 */
uint64_t tdx_md_next(const TdxMdContext *md, uint64_t field_id);

/*
 * The register side of a metadata read leaf (TDG.SYS.RD, TDG.SERVTD.RD):
 * RDX = field ID in, next field ID out; R8 = value. A null field ID asks
 * for the first field (status TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT).
 */
uint64_t tdx_md_read_leaf(const TdxMdContext *md, void *ctx, uint64_t *regs);

#endif
