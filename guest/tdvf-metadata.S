/*
 * The guest stub's TDVF metadata (TDVF design guide, td-shim's
 * doc/tdshim_spec.md), shaped like MigTD's: BFV, TdInfo, Payload, CFV,
 * TempMem, PermMem, plus a TD_HOB as td-shim's own images have. Offsets
 * and addresses come from boot.ld. Layout variants (guest/meson.build):
 * STUB_TEMPMEM_RAM adds a TempMem in RAM below 8 MiB with PermMem split
 * around it, as MigTD #894 places TempMem at 0x7DF000-0x800000;
 * STUB_TD_PARAMS_GPAW52 adds a TdParams section, a TD_PARAMS in the BFV
 * (as td-shim-patch td-params writes one) whose CONFIG_FLAGS asks for
 * GPAW 52.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define TDVF_BFV        0
#define TDVF_CFV        1
#define TDVF_TD_HOB     2
#define TDVF_TEMP_MEM   3
#define TDVF_PERM_MEM   4
#define TDVF_PAYLOAD    5
#define TDVF_TD_INFO    7
#define TDVF_TD_PARAMS  8
#define MR_EXTEND       1
#define PAGE_AUG        2

#include "layout.h"

#if defined(STUB_TEMPMEM_RAM)
#define NR_SECTIONS     9
#elif defined(STUB_TD_PARAMS_GPAW52)
#define NR_SECTIONS     8
#else
#define NR_SECTIONS     7
#endif

    .macro SECTION data_offset, raw_size, address, size, type, attributes
    .long \data_offset, \raw_size
    .quad \address, \size
    .long \type, \attributes
    .endm

    .section .boot.metadata, "a"
#ifdef STUB_TD_PARAMS_GPAW52
    /* TD_PARAMS (TDX module ABI), 1024 bytes, 1024-aligned */
    .balign 1024
    .globl td_params
td_params:
    .quad 0x10000000                /* ATTRIBUTES: SEPT_VE_DISABLE */
    .quad 0x3                       /* XFAM: x87, SSE */
    .word 4                         /* MAX_VCPUS */
    .byte 0, 0                      /* NUM_L2_VMS, MSR_CONFIG_CTLS */
    .long 0
    .quad 0                         /* EPTP_CONTROLS */
    .quad 1                         /* CONFIG_FLAGS: GPAW (52) */
    .balign 1024, 0
#endif
    .balign 16
    /* TDVF metadata GUID e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae */
    .byte 0xf3, 0xf9, 0xea, 0xe9, 0x8e, 0x16, 0xd5, 0x44
    .byte 0xa8, 0xeb, 0x7f, 0x4d, 0x87, 0x38, 0xf6, 0xae
    .globl tdvf_descriptor
tdvf_descriptor:
    .ascii "TDVF"
    .long 16 + 32 * NR_SECTIONS
    .long 1
    .long NR_SECTIONS
    SECTION bfv_offset, 0x1000, 0xfffff000, 0x1000, TDVF_BFV, MR_EXTEND
    SECTION bfv_offset, 0x1000, 0, 0, TDVF_TD_INFO, 0
    SECTION payload_lma_offset, payload_raw_size, PAYLOAD_LMA, \
            PAYLOAD_MEM_SIZE, TDVF_PAYLOAD, MR_EXTEND
    SECTION cfv_offset, 0x1000, CFV_BASE, 0x1000, TDVF_CFV, 0
    SECTION 0, 0, TEMPMEM_BASE, TEMPMEM_SIZE, TDVF_TEMP_MEM, 0
#ifdef STUB_TEMPMEM_RAM
    SECTION 0, 0, TEMPMEM_RAM_BASE, TEMPMEM_RAM_SIZE, TDVF_TEMP_MEM, 0
    SECTION 0, 0, 0, TEMPMEM_RAM_BASE, TDVF_PERM_MEM, PAGE_AUG
    SECTION 0, 0, TEMPMEM_RAM_END, PERMMEM_SIZE-TEMPMEM_RAM_END, \
            TDVF_PERM_MEM, PAGE_AUG
#else
    SECTION 0, 0, 0, PERMMEM_SIZE, TDVF_PERM_MEM, PAGE_AUG
#endif
    SECTION 0, 0, TD_HOB_BASE, TD_HOB_SIZE, TDVF_TD_HOB, 0
#ifdef STUB_TD_PARAMS_GPAW52
    SECTION td_params_offset, 1024, 0, 0, TDVF_TD_PARAMS, 0
#endif

    /*
     * The OVMF GUID table QEMU reads (40 bytes ending at image end - 0x20)
     * and td-shim's own pointer at image end - 0x20.
     */
    .section .resetvec.tdvf, "a"
    .long tdvf_desc_from_end
    .word 22
    /* TDX metadata offset GUID e47a6535-984a-4798-865e-4685a7bf8ec2 */
    .byte 0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47
    .byte 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2
    .word 40
    /* OVMF table footer GUID 96b582de-1fb2-45f7-baea-a366c55a082d */
    .byte 0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45
    .byte 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d
    .long tdvf_desc_offset
