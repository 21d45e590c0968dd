#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A 64 KiB firmware whose TD dies at once, for run's and migrate's
dead-TD reports: it makes a TDG.VP.VMCALL that fails (sub-function 0,
unknown: TDG.VP.VMCALL_INVALID_OPERAND), then, per MODE,
  triple-fault  ud2 with an empty IDT (limit 0: #UD, #GP and #DF find no
                gate; a TD's IDT at GPA 0, which it never accepted, would
                instead get it killed for touching a pending page)
  power-off     ACPI S5 as a TD reaches it: in long mode (page tables and
                a GDT in the image), TDG.VP.VMCALL<Instruction.IO> sets the
                ICH9 LPC's PMBASE to 0x600 and enables ACPI (0:1f.0
                registers 0x40/0x44 through 0xCF8/0xCFC), then SLP_EN in
                PM1a_CNT (QEMU hw/acpi/core.c acpi_pm1_cnt_write); a TD's
                own IN/OUT would raise #VE (docs/tdx-module.md)
The code starts at the reset vector in the TDX entry state, 32-bit flat
protected mode with EFER.LME set (docs/td-boot.md).

Usage: dead-td.py MODE OUT
"""

import struct
import sys

BASE = 0xFFFF0000
PML4, PDPT, GDT, GDTR, EMPTY_IDTR = 0x0000, 0x1000, 0x2000, 0x2010, 0x2020
CODE64 = 0xE000
CODE32 = 0xFF80
RESET = 0xFFF0

FAILING_VMCALL_32 = bytes.fromhex(
    "31c0"              # xor eax, eax       TDG.VP.VMCALL
    "31c9"              # xor ecx, ecx       no GPR exposed: R10 = R11 = 0
    "660f01cc")         # tdcall
TRIPLE_FAULT = (bytes.fromhex("0f011d") +               # lidt [EMPTY_IDTR]
                struct.pack("<I", BASE + EMPTY_IDTR) +
                bytes.fromhex("0f0b"))                  # ud2

# 32-bit: GDT, CR3, CR4.PAE, CR0.PG, far jump to 64-bit code
TO_LONG_MODE = (bytes.fromhex("0f0115") + struct.pack("<I", BASE + GDTR) +
                bytes.fromhex("b8") + struct.pack("<I", BASE + PML4) +
                bytes.fromhex("0f22d8"          # mov cr3, eax
                              "0f20e0" "83c820" "0f22e0"    # cr4 |= PAE
                              "0f20c0" "0d00000080" "0f22c0"  # cr0 |= PG
                              "ea") +
                struct.pack("<IH", BASE + CODE64, 8))

FAILING_VMCALL_64 = bytes.fromhex(
    "31c0" "31c9"       # xor eax, eax; xor ecx, ecx
    "4531d2" "4531db"   # xor r10d, r10d; xor r11d, r11d
    "660f01cc")         # tdcall


def io_write(size, port, value):
    """TDG.VP.VMCALL<Instruction.IO> (R11 0x1E): write @value to @port"""
    return (bytes.fromhex("31c0") +                         # RAX = 0
            b"\xb9" + struct.pack("<I", 0xFC00) +           # R10-R15 seen
            bytes.fromhex("4531d2") +                       # R10 = 0
            b"\x41\xbb" + struct.pack("<I", 0x1E) +         # R11 = IO
            b"\x41\xbc" + struct.pack("<I", size) +         # R12 = size
            b"\x41\xbd" + struct.pack("<I", 1) +            # R13 = write
            b"\x41\xbe" + struct.pack("<I", port) +         # R14 = port
            b"\x41\xbf" + struct.pack("<I", value) +        # R15 = value
            bytes.fromhex("660f01cc"))                      # tdcall


POWER_OFF_64 = (FAILING_VMCALL_64 +
                io_write(4, 0xCF8, 0x8000F840) +    # 0:1f.0 reg 0x40
                io_write(4, 0xCFC, 0x601) +         # PMBASE = 0x600 | 1
                io_write(4, 0xCF8, 0x8000F844) +    # 0:1f.0 reg 0x44
                io_write(1, 0xCFC, 0x80) +          # ACPI_CNTL: ACPI_EN
                io_write(2, 0x604, 0x2000) +        # PM1a_CNT: SLP_EN
                bytes.fromhex("ebfe"))              # jmp $


def put(image, at, data):
    image[at:at + len(data)] = data


def main():
    mode, out = sys.argv[1:3]
    image = bytearray(0x10000)
    if mode == "triple-fault":
        put(image, CODE32, FAILING_VMCALL_32 + TRIPLE_FAULT)
    elif mode == "power-off":
        # identity map of 4 GiB in 1 GiB pages, accessed and dirty preset
        put(image, PML4, struct.pack("<Q", BASE + PDPT | 0x23))
        for i in range(4):
            put(image, PDPT + 8 * i, struct.pack("<Q", i << 30 | 0xE3))
        put(image, GDT + 8, struct.pack("<Q", 0x00AF9A000000FFFF))
        put(image, GDTR, struct.pack("<HI", 15, BASE + GDT))
        put(image, CODE32, TO_LONG_MODE)
        put(image, CODE64, POWER_OFF_64)
    else:
        sys.exit(f"dead-td.py: unknown mode {mode}")
    # jmp short from the reset vector back to the code
    put(image, RESET, bytes([0xEB, (CODE32 - RESET - 2) & 0xFF]))
    with open(out, "wb") as f:
        f.write(image)


if __name__ == "__main__":
    main()
