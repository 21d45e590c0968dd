/*
 * tdx-emu: finding the firmware's payload where the firmware loaded it
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_PAYLOAD_H
#define HW_TDX_EMU_PAYLOAD_H

#define TDX_EMU_PAYLOAD_MAX_SEGMENTS    16
#define TDX_EMU_PAYLOAD_MISSED_PAGES    8

/* A PT_LOAD segment of the payload ELF, as the firmware image holds it */
typedef struct TdxEmuPayloadSegment {
    uint64_t vaddr;
    uint64_t filesz;
    const uint8_t *bytes;       /* in TdxEmuFirmware.image */
    bool exec;
} TdxEmuPayloadSegment;

typedef struct TdxEmuPayload {
    /* The ELF in the Payload section; nr_segs 0 if there is none */
    TdxEmuPayloadSegment segs[TDX_EMU_PAYLOAD_MAX_SEGMENTS];
    unsigned nr_segs;
    uint64_t elf_offset;        /* in the image */
    uint64_t entry;             /* e_entry */
    uint64_t size;              /* PT_LOAD span, in whole pages */

    /* This boot */
    bool found;
    uint64_t base;              /* load bias: where vaddr 0 went */
    uint64_t found_rip;         /* the TDCALL that showed it */
    /* The last code pages whose TDCALLs matched no base, as page + 1 */
    uint64_t missed[TDX_EMU_PAYLOAD_MISSED_PAGES];
    unsigned next_missed;
} TdxEmuPayload;

#endif
