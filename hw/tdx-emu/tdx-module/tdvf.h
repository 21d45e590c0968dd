/*
 * tdx-emu: the TD's firmware image in TDVF format
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_TDVF_H
#define HW_TDX_EMU_TDVF_H

/* TDVF_SECTION types (td-shim td-shim-interface/src/metadata.rs) */
enum {
    TDVF_BFV = 0,
    TDVF_CFV = 1,
    TDVF_TD_HOB = 2,
    TDVF_TEMP_MEM = 3,
    TDVF_PERM_MEM = 4,
    TDVF_PAYLOAD = 5,
    TDVF_PAYLOAD_PARAM = 6,
    TDVF_TD_INFO = 7,
    TDVF_TD_PARAMS = 8,
    TDVF_NR_TYPES,
};

#define TDVF_ATTR_MR_EXTEND     (1u << 0)
#define TDVF_ATTR_PAGE_AUG      (1u << 1)

typedef struct TdvfSection {
    uint32_t data_offset;
    uint32_t raw_size;
    uint64_t address;
    uint64_t size;
    uint32_t type;
    uint32_t attributes;
} TdvfSection;

typedef struct TdxEmuFirmware {
    uint8_t *image;             /* the -bios file; NULL if there is none */
    size_t size;
    TdvfSection *sections;      /* none: not a TDVF image */
    uint32_t nr_sections;
    const TdvfSection *td_hob;
} TdxEmuFirmware;

const char *tdx_emu_tdvf_section_name(uint32_t type);

#endif
