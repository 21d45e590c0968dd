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

/* Where boot.S loads the payload ELF (its link base is 0) */
#define PAYLOAD_BASE        0x100000

/*
 * Where the ELF starts in the Payload section's firmware volume (mkfv.py:
 * FV header 0x48, FFS file header 0x18, PE32 section header 4)
 */
#define PAYLOAD_ELF_IN_FV   0x64

#endif
