#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A 64 KiB firmware whose TD dies at once, for run's and migrate's
dead-TD reports: it makes a TDG.VP.VMCALL that fails (sub-function 0,
unknown: TDG.VP.VMCALL_INVALID_OPERAND), then, per MODE,
  triple-fault  ud2 with no IDT
  power-off     ACPI S5: the ICH9 LPC's PMBASE at 0x600 and ACPI enabled
                (0:1f.0 registers 0x40/0x44 through 0xCF8/0xCFC), then
                SLP_EN in PM1a_CNT (QEMU hw/acpi/core.c acpi_pm1_cnt_write)
The code runs at the reset vector in the TDX entry state, 32-bit flat
protected mode (docs/td-boot.md).

Usage: dead-td.py MODE OUT
"""

import sys

FAILING_VMCALL = bytes.fromhex(
    "31c0"              # xor eax, eax       TDG.VP.VMCALL
    "31c9"              # xor ecx, ecx       no GPR exposed: R10 = R11 = 0
    "660f01cc")         # tdcall
TRIPLE_FAULT = bytes.fromhex("0f0b")                    # ud2
POWER_OFF = bytes.fromhex(
    "b840f80080" "66baf80c" "ef"    # CONFIG_ADDRESS = 0:1f.0 reg 0x40
    "b801060000" "66bafc0c" "ef"    # PMBASE = 0x600 | 1
    "b844f80080" "66baf80c" "ef"    # CONFIG_ADDRESS = 0:1f.0 reg 0x44
    "b080" "66bafc0c" "ee"          # ACPI_CNTL: ACPI_EN
    "66ba0406" "66b80020" "66ef"    # PM1a_CNT (0x604) = SLP_EN, type 0
    "f4" "ebfd")                    # hlt; jmp to hlt
CODE_AT = 0xff80
RESET_AT = 0xfff0


def main():
    mode, out = sys.argv[1:3]
    code = FAILING_VMCALL + {"triple-fault": TRIPLE_FAULT,
                             "power-off": POWER_OFF}[mode]
    image = bytearray(0x10000)
    image[CODE_AT:CODE_AT + len(code)] = code
    # jmp short from the reset vector back to the code
    image[RESET_AT:RESET_AT + 2] = bytes([0xeb,
                                          (CODE_AT - RESET_AT - 2) & 0xff])
    with open(out, "wb") as f:
        f.write(image)


if __name__ == "__main__":
    main()
