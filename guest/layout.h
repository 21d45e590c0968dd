/*
 * Guest stub: the addresses boot.S and the payload share (boot.ld has the
 * image's own layout)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

/* TDX entry registers, 8 x u32 saved by boot.S in TempMem */
#define ENTRY_REGS_ADDR     0xFFFC6000

/*
 * td-shim's AP mailbox (td-shim ResetVector/Main.asm ParkAp, td-shim
 * src/bin/td-shim/td/tdx_mailbox.rs), in TempMem: the APs park on it
 */
#define AP_MAILBOX_ADDR     0xFFFC7000
#define AP_MAILBOX_COMMAND  0x00        /* u32 */
#define AP_MAILBOX_APIC_ID  0x04        /* u32: vCPU index, or: */
#define AP_MAILBOX_INVALID  0xffffffff  /* the AP took the command */
#define AP_MAILBOX_BROADCAST 0xfffffffe
#define AP_MAILBOX_VECTOR   0x08        /* u32 wake-up vector */
#define AP_MAILBOX_FW_ARGS  0x800       /* u64 arguments */
#define AP_CMD_NOOP         0
#define AP_CMD_WAKEUP       1
#define AP_CMD_ASSIGN_WORK  3           /* call VECTOR(index), stack arg 0 */
#define AP_CMD_CHECK        4           /* answer: APIC_ID invalid */
#define AP_CMD_SET_CR3      5
#define AP_CMD_SET_IDT      6
/* ap_relocated[] entries: one per vCPU the stub brings up (smp.h) */
#define AP_RELOCATED_MAX    16
/* Set by the BSP once its page tables are built: the APs may page */
#define AP_PAGING_READY     0xFFFC6100

/*
 * The STUB_TEMPMEM_RAM layout's TempMem in RAM (MigTD #894's place), where
 * boot.S builds its page tables
 */
#define TEMPMEM_RAM_BASE    0x7DF000
#define TEMPMEM_RAM_END     0x800000
#define TEMPMEM_RAM_SIZE    (TEMPMEM_RAM_END-TEMPMEM_RAM_BASE)

/* Where boot.S loads the payload ELF (its link base is 0) */
#define PAYLOAD_BASE        0x100000

/*
 * Where the ELF starts in the Payload section's firmware volume (mkfv.py:
 * FV header 0x48, FFS file header 0x18, PE32 section header 4)
 */
#define PAYLOAD_ELF_IN_FV   0x64

#endif
