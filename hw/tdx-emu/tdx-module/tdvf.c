/*
 * tdx-emu: the TD's firmware image in TDVF format (td-shim, MigTD)
 *
 * At realize: find the TDVF metadata (td-shim doc/tdshim_spec.md, QEMU
 * hw/i386/tdvf.c) through the OVMF GUID table at the end of the -bios image,
 * or else td-shim's pointer at image end - 0x20; validate every section as
 * td-shim does (td-shim td-shim-interface/src/metadata.rs); compute MRTD as
 * the TDX module would while adding and extending the pages. At every reset:
 * place the sections in the TD's memory (copy BFV, CFV and payload data, zero
 * the rest), mark the pages added with TDH.MEM.PAGE.ADD as accepted, and build
 * the TD HOB when the image has a TD_HOB section.
 *
 * An image without TDVF metadata (SeaBIOS, a test blob) is accepted and
 * left alone; a TDVF image with a bad section is refused at realize.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "qemu/datadir.h"
#include "qemu/units.h"
#include "crypto/hash.h"
#include "exec/address-spaces.h"
#include "hw/boards.h"
#include "hw/i386/x86.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "tdx-module.h"
#include "tdvf.h"

#define TDVF_SIGNATURE          0x46564454      /* "TDVF" */
#define TDVF_VERSION            1
#define TDVF_DESC_SIZE          16
#define TDVF_SECTION_SIZE       32
#define OVMF_FOOTER_OFFSET      0x30            /* footer GUID, from end */
#define TDSHIM_POINTER_OFFSET   0x20            /* td-shim's u32, from end */
#define TDVF_PAGE               (4 * KiB)
#define MR_EXTEND_CHUNK         256
#define MRTD_RECORD_SIZE        128
/* TD_PARAMS (TDX module ABI): CONFIG_FLAGS at 32, bit 0 GPAW (52 if set) */
#define TD_PARAMS_SIZE          1024
#define TD_PARAMS_CONFIG_FLAGS  32
#define TD_PARAMS_GPAW          (1ULL << 0)

/* GUIDs in their in-memory byte order */
static const uint8_t ovmf_footer_guid[16] = {           /* 96b582de-... */
    0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
    0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d,
};
static const uint8_t ovmf_tdx_metadata_guid[16] = {     /* e47a6535-... */
    0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
    0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2,
};
static const uint8_t tdvf_metadata_guid[16] = {         /* e9eaf9f3-... */
    0xf3, 0xf9, 0xea, 0xe9, 0x8e, 0x16, 0xd5, 0x44,
    0xa8, 0xeb, 0x7f, 0x4d, 0x87, 0x38, 0xf6, 0xae,
};

static const char *const section_names[TDVF_NR_TYPES] = {
    [TDVF_BFV] = "BFV", [TDVF_CFV] = "CFV", [TDVF_TD_HOB] = "TD_HOB",
    [TDVF_TEMP_MEM] = "TempMem", [TDVF_PERM_MEM] = "PermMem",
    [TDVF_PAYLOAD] = "Payload", [TDVF_PAYLOAD_PARAM] = "PayloadParam",
    [TDVF_TD_INFO] = "TdInfo", [TDVF_TD_PARAMS] = "TdParams",
};

const char *tdx_emu_tdvf_section_name(uint32_t type)
{
    return type < TDVF_NR_TYPES ? section_names[type] : "unknown";
}

/*
 * The descriptor's offset from image start, or -1 if the image carries no
 * TDVF metadata. The OVMF table (QEMU's convention) counts from the end of
 * the image; td-shim's own pointer counts from its start.
 */
static int64_t ovmf_table_find_tdx(const uint8_t *img, size_t size)
{
    size_t footer = size - OVMF_FOOTER_OFFSET;
    size_t table_len = lduw_le_p(img + footer - 2);
    size_t start, pos = footer - 2;         /* end of the entries */
    uint32_t off;

    if (table_len < 18 || table_len > footer + 16) {
        return -1;
    }
    start = footer + 16 - table_len;
    /* Entries, walked from the end: [data][u16 length][GUID] */
    while (pos >= start + 18) {
        size_t len = lduw_le_p(img + pos - 18);

        if (len < 18 || len > pos - start) {
            return -1;
        }
        if (!memcmp(img + pos - 16, ovmf_tdx_metadata_guid, 16)) {
            if (len < 22) {
                return -1;
            }
            off = ldl_le_p(img + pos - 22);
            return off <= size ? (int64_t)(size - off) : -1;
        }
        pos -= len;
    }
    return -1;
}

static int64_t tdvf_find_descriptor(const uint8_t *img, size_t size)
{
    uint32_t off;

    if (size < OVMF_FOOTER_OFFSET + 2) {
        return -1;
    }
    if (!memcmp(img + size - OVMF_FOOTER_OFFSET, ovmf_footer_guid, 16)) {
        return ovmf_table_find_tdx(img, size);
    }
    off = ldl_le_p(img + size - TDSHIM_POINTER_OFFSET);
    if (off >= 16 && (uint64_t)off + TDVF_DESC_SIZE <= size &&
        !memcmp(img + off - 16, tdvf_metadata_guid, 16) &&
        ldl_le_p(img + off) == TDVF_SIGNATURE) {
        return off;
    }
    return -1;
}

static bool range_in(uint64_t addr, uint64_t len, uint64_t start,
                     uint64_t end)
{
    return addr >= start && len <= end - addr && addr + len <= end;
}

/* Where sections may go: the TD's RAM, or the firmware window below 4 GiB */
static bool section_placed_ok(const TdvfSection *sec, size_t image_size)
{
    X86MachineState *x86ms = X86_MACHINE(qdev_get_machine());

    return range_in(sec->address, sec->size, 0, x86ms->below_4g_mem_size) ||
           range_in(sec->address, sec->size, 4 * GiB,
                    4 * GiB + x86ms->above_4g_mem_size) ||
           range_in(sec->address, sec->size, 4 * GiB - image_size, 4 * GiB);
}

/* TdInfo and TdParams: data in the image, no memory of their own */
static bool tdvf_no_memory(const TdvfSection *sec)
{
    return sec->type == TDVF_TD_INFO || sec->type == TDVF_TD_PARAMS;
}

static const char *no_memory_error(const TdvfSection *sec)
{
    return sec->attributes ? "must have no attributes" :
           !sec->raw_size ? "has no data" :
           sec->address || sec->size ?
           "must have MemoryAddress and MemoryDataSize 0" : NULL;
}

static void section_error(const TdvfSection *sec, unsigned i,
                          const char *why, Error **errp)
{
    error_setg(errp, "%s: TDVF section %u (%s, type %u) at 0x%" PRIx64 " %s",
               TYPE_TDX_EMU, i, tdx_emu_tdvf_section_name(sec->type),
               sec->type, sec->address, why);
}

/* How many sections of each type came so far (some may come once) */
typedef struct TdvfCounts {
    int hobs, payloads, td_infos, td_params;
} TdvfCounts;

/* td-shim's validate_sections rules, per type (metadata.rs) */
static const char *section_type_error(const TdvfSection *sec, TdvfCounts *n)
{
    switch (sec->type) {
    case TDVF_BFV:
        return !sec->raw_size ? "has no data" :
               sec->attributes != TDVF_ATTR_MR_EXTEND ?
               "must have exactly the MR.EXTEND attribute" : NULL;
    case TDVF_CFV:
        return !sec->raw_size ? "has no data" :
               sec->attributes ? "must have no attributes" : NULL;
    case TDVF_TD_HOB:
        return ++n->hobs > 1 ? "is the second TD_HOB" :
               sec->raw_size ? "must have no data" :
               sec->attributes ? "must have no attributes" : NULL;
    case TDVF_TEMP_MEM:
        return sec->raw_size ? "must have no data" :
               sec->attributes ? "must have no attributes" : NULL;
    case TDVF_PERM_MEM:
        return sec->raw_size ? "must have no data" :
               sec->attributes != TDVF_ATTR_PAGE_AUG ?
               "must have exactly the PAGE.AUG attribute" : NULL;
    case TDVF_PAYLOAD:
        return ++n->payloads > 1 ? "is the second Payload" :
               sec->attributes & ~TDVF_ATTR_MR_EXTEND ?
               "may only have the MR.EXTEND attribute" : NULL;
    case TDVF_TD_INFO:
        return ++n->td_infos > 1 ? "is the second TdInfo" :
               no_memory_error(sec);
    case TDVF_TD_PARAMS:
        return ++n->td_params > 1 ? "is the second TdParams" :
               no_memory_error(sec);
    case TDVF_PAYLOAD_PARAM:
        return NULL;
    default:
        return "has an unknown type";
    }
}

static bool section_check(const TdvfSection *sec, unsigned i,
                          size_t image_size, TdvfCounts *n, Error **errp)
{
    const char *why = section_type_error(sec, n);

    if (!why && (!QEMU_IS_ALIGNED(sec->address, TDVF_PAGE) ||
                 !QEMU_IS_ALIGNED(sec->size, TDVF_PAGE))) {
        why = "is not 4 KiB aligned";
    }
    if (!why && !tdvf_no_memory(sec) && sec->raw_size > sec->size) {
        why = "has more data than memory";
    }
    if (!why && (uint64_t)sec->data_offset + sec->raw_size > image_size) {
        why = "has data beyond the end of the image";
    }
    if (!why && sec->size && !section_placed_ok(sec, image_size)) {
        why = "lies outside the TD's RAM and firmware window";
    }
    if (why) {
        section_error(sec, i, why, errp);
        return false;
    }
    return true;
}

/*
 * TdInfo and TdParams data lie inside a BFV's data (td-shim metadata.rs;
 * the BFV measures them)
 */
static bool tdvf_in_bfv_check(const TdxEmuFirmware *fw, Error **errp)
{
    uint32_t i, j;

    for (i = 0; i < fw->nr_sections; i++) {
        const TdvfSection *sec = &fw->sections[i];
        bool inside = false;

        if (!tdvf_no_memory(sec)) {
            continue;
        }
        for (j = 0; j < fw->nr_sections; j++) {
            const TdvfSection *bfv = &fw->sections[j];

            inside |= bfv->type == TDVF_BFV &&
                      range_in(sec->data_offset, sec->raw_size,
                               bfv->data_offset,
                               (uint64_t)bfv->data_offset + bfv->raw_size);
        }
        if (!inside) {
            section_error(sec, i, "has data outside every BFV", errp);
            return false;
        }
    }
    return true;
}

static int section_by_address(const void *a, const void *b)
{
    const TdvfSection *x = *(const TdvfSection * const *)a;
    const TdvfSection *y = *(const TdvfSection * const *)b;

    return x->address < y->address ? -1 : x->address > y->address;
}

/*
 * No page in two sections: the TDX module adds a GPA once (a second
 * TDH.MEM.PAGE.ADD or AUG of it fails). Sorted, so that a table of many
 * sections costs n log n.
 */
static bool tdvf_overlap_check(const TdxEmuFirmware *fw, Error **errp)
{
    g_autofree const TdvfSection **by_addr = g_new(const TdvfSection *,
                                                   fw->nr_sections);
    uint32_t i, n = 0;

    for (i = 0; i < fw->nr_sections; i++) {
        if (fw->sections[i].size) {
            by_addr[n++] = &fw->sections[i];
        }
    }
    qsort(by_addr, n, sizeof(*by_addr), section_by_address);
    for (i = 1; i < n; i++) {
        if (by_addr[i - 1]->address + by_addr[i - 1]->size >
            by_addr[i]->address) {
            section_error(by_addr[i], by_addr[i] - fw->sections,
                          "overlaps another section's memory", errp);
            return false;
        }
    }
    return true;
}

/*
 * The GPAW a TD_PARAMS in the TdParams section asks for (td-shim
 * td-shim-tools td-shim-patch writes it, TDX module ABI TD_PARAMS), or 0
 * if there is none or it is still all zeros (not filled in yet)
 */
static uint32_t tdvf_td_params_gpaw(const TdxEmuFirmware *fw)
{
    static const uint8_t zeros[TD_PARAMS_SIZE];
    uint32_t i;

    for (i = 0; i < fw->nr_sections; i++) {
        const TdvfSection *sec = &fw->sections[i];
        const uint8_t *p = fw->image + sec->data_offset;

        if (sec->type == TDVF_TD_PARAMS && sec->raw_size >= TD_PARAMS_SIZE &&
            memcmp(p, zeros, TD_PARAMS_SIZE)) {
            return ldq_le_p(p + TD_PARAMS_CONFIG_FLAGS) & TD_PARAMS_GPAW ?
                   TDX_GPAW_52 : TDX_GPAW_48;
        }
    }
    return 0;
}

static bool tdvf_td_params_check(TdxEmuState *s, Error **errp)
{
    uint32_t gpaw = tdvf_td_params_gpaw(&s->fw);

    if (gpaw && gpaw != s->gpaw) {
        error_setg(errp, "%s: the firmware's TD_PARAMS (TdParams section) "
                   "asks for GPAW %u, the device has gpaw=%u", TYPE_TDX_EMU,
                   gpaw, s->gpaw);
        error_append_hint(errp, "Use -device %s,gpaw=%u with -cpu "
                          "...,phys-bits=%u.\n", TYPE_TDX_EMU, gpaw, gpaw);
        return false;
    }
    return true;
}

static bool tdvf_parse(TdxEmuFirmware *fw, Error **errp)
{
    int64_t desc = tdvf_find_descriptor(fw->image, fw->size);
    uint32_t len, n, i;
    TdvfCounts counts = { 0 };

    if (desc < 0) {
        return true;                        /* not a TDVF image */
    }
    if (desc + TDVF_DESC_SIZE > fw->size ||
        ldl_le_p(fw->image + desc) != TDVF_SIGNATURE) {
        error_setg(errp, "%s: the TDVF metadata pointer of the firmware does "
                   "not point at a 'TDVF' descriptor", TYPE_TDX_EMU);
        return false;
    }
    len = ldl_le_p(fw->image + desc + 4);
    n = ldl_le_p(fw->image + desc + 12);
    if (ldl_le_p(fw->image + desc + 8) != TDVF_VERSION || !n ||
        len != TDVF_DESC_SIZE + (uint64_t)n * TDVF_SECTION_SIZE ||
        desc + len > fw->size) {
        error_setg(errp, "%s: bad TDVF descriptor (version %u, length %u, "
                   "%u sections)", TYPE_TDX_EMU,
                   ldl_le_p(fw->image + desc + 8), len, n);
        return false;
    }
    fw->sections = g_new0(TdvfSection, n);
    for (i = 0; i < n; i++) {
        const uint8_t *p = fw->image + desc + TDVF_DESC_SIZE +
                           i * TDVF_SECTION_SIZE;
        TdvfSection *sec = &fw->sections[i];

        sec->data_offset = ldl_le_p(p);
        sec->raw_size = ldl_le_p(p + 4);
        sec->address = ldq_le_p(p + 8);
        sec->size = ldq_le_p(p + 16);
        sec->type = ldl_le_p(p + 24);
        sec->attributes = ldl_le_p(p + 28);
        if (!section_check(sec, i, fw->size, &counts, errp)) {
            return false;
        }
        if (sec->type == TDVF_TD_HOB) {
            fw->td_hob = sec;
        }
    }
    fw->nr_sections = n;
    if (!tdvf_in_bfv_check(fw, errp) || !tdvf_overlap_check(fw, errp)) {
        return false;
    }
    if (fw->td_hob && fw->td_hob->size < tdx_emu_td_hob_max_size(n)) {
        error_setg(errp, "%s: the TD_HOB section (0x%" PRIx64 " bytes) is "
                   "too small for the HOB list (0x%" PRIx64 " bytes)",
                   TYPE_TDX_EMU, fw->td_hob->size,
                   tdx_emu_td_hob_max_size(n));
        return false;
    }
    return true;
}

/* A page of a section's initial contents: its data, then zeros */
static const uint8_t *section_page(const TdxEmuFirmware *fw,
                                   const TdvfSection *sec, uint64_t off,
                                   uint8_t *page)
{
    uint64_t avail = sec->raw_size > off ? sec->raw_size - off : 0;

    memset(page, 0, TDVF_PAGE);
    memcpy(page, fw->image + sec->data_offset + off, MIN(avail, TDVF_PAGE));
    return page;
}

static void mrtd_record(QCryptoHash *hash, const char *op, uint64_t gpa)
{
    uint8_t rec[MRTD_RECORD_SIZE] = { 0 };

    memcpy(rec, op, strlen(op));
    stq_le_p(rec + 16, gpa);
    qcrypto_hash_update(hash, (const char *)rec, sizeof(rec), &error_abort);
}

/*
 * MRTD, as the TDX module builds it (TDX module base spec, TDH.MEM.PAGE.ADD
 * and TDH.MR.EXTEND; td-shim's td-shim-tools tee_info_hash): SHA-384 over,
 * section by section and page by page, a 128-byte MEM.PAGE.ADD record
 * {"MEM.PAGE.ADD", GPA} unless the section is PAGE.AUG, then for MR.EXTEND
 * sections a 128-byte MR.EXTEND record and the 256 bytes it measures, for each
 * 256-byte chunk. Hashed as it goes, so memory stays constant whatever size
 * the sections declare.
 */
static void tdvf_compute_mrtd(const TdxEmuFirmware *fw, uint8_t *mrtd)
{
    g_autoptr(QCryptoHash) hash = qcrypto_hash_new(QCRYPTO_HASH_ALGO_SHA384,
                                                   &error_abort);
    g_autofree uint8_t *digest = NULL;
    uint8_t page[TDVF_PAGE];
    size_t digest_len = 0;
    uint32_t i;
    uint64_t off, c;

    for (i = 0; i < fw->nr_sections; i++) {
        const TdvfSection *sec = &fw->sections[i];

        for (off = 0; off < sec->size; off += TDVF_PAGE) {
            if (!(sec->attributes & TDVF_ATTR_PAGE_AUG)) {
                mrtd_record(hash, "MEM.PAGE.ADD", sec->address + off);
            }
            if (!(sec->attributes & TDVF_ATTR_MR_EXTEND)) {
                continue;
            }
            section_page(fw, sec, off, page);
            for (c = 0; c < TDVF_PAGE; c += MR_EXTEND_CHUNK) {
                mrtd_record(hash, "MR.EXTEND", sec->address + off + c);
                qcrypto_hash_update(hash, (const char *)page + c,
                                    MR_EXTEND_CHUNK, &error_abort);
            }
        }
    }
    qcrypto_hash_finalize_bytes(hash, &digest, &digest_len, &error_abort);
    memcpy(mrtd, digest, TDX_SHA384_SIZE);
}

static bool tdvf_read_image(TdxEmuFirmware *fw, Error **errp)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    const char *name = ms->firmware ?: "bios-256k.bin";
    g_autofree char *path = qemu_find_file(QEMU_FILE_TYPE_BIOS, name);
    g_autoptr(GError) gerr = NULL;
    gsize size;

    if (!path) {
        return true;            /* the machine reports a missing -bios */
    }
    if (!g_file_get_contents(path, (gchar **)&fw->image, &size, &gerr)) {
        error_setg(errp, "%s: cannot read firmware '%s': %s", TYPE_TDX_EMU,
                   path, gerr->message);
        return false;
    }
    fw->size = size;
    return true;
}

bool tdx_emu_tdvf_realize(TdxEmuState *s, Error **errp)
{
    TdxEmuFirmware *fw = &s->fw;

    if (!tdvf_read_image(fw, errp)) {
        return false;
    }
    if (fw->image && (!tdvf_parse(fw, errp) ||
                      !tdvf_td_params_check(s, errp))) {
        return false;
    }
    if (fw->nr_sections) {
        tdvf_compute_mrtd(fw, s->mr.mrtd);
    }
    return true;
}

/*
 * A new TD: each section's pages as the VMM adds them (data where the
 * section has some, zeros elsewhere), then the TD HOB.
 */
void tdx_emu_tdvf_reset(TdxEmuState *s)
{
    TdxEmuFirmware *fw = &s->fw;
    uint32_t i;

    for (i = 0; i < fw->nr_sections; i++) {
        const TdvfSection *sec = &fw->sections[i];

        if (tdvf_no_memory(sec)) {
            continue;
        }
        address_space_write(&address_space_memory, sec->address,
                            MEMTXATTRS_UNSPECIFIED,
                            fw->image + sec->data_offset, sec->raw_size);
        tdx_emu_zero_range(sec->address + sec->raw_size,
                           sec->size - sec->raw_size);
        if (!(sec->attributes & TDVF_ATTR_PAGE_AUG)) {
            tdx_emu_mark_added(s, sec->address, sec->size);
        }
    }
    if (fw->td_hob) {
        tdx_emu_td_hob_build(s, fw->td_hob);
    }
}
