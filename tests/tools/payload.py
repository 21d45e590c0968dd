#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check the "payload" that ./tdx-emu run reported against the payload ELF.

Usage: payload.py RUN_JSON PAYLOAD_ELF EXPECTED_BASE

Independent of the device's code: reads the ELF with its own parser and
checks that the reported base is the one the firmware used, that entry
and size follow from the ELF's header and PT_LOAD segments, and that the
reported TDCALL address is a TDCALL (66 0f 01 cc) of an executable
segment. Exits non-zero with the reason otherwise.
"""

import json
import struct
import sys

PT_LOAD, PF_X, PAGE = 1, 1, 0x1000
TDCALL = bytes.fromhex("660f01cc")


def segments(elf):
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        ptype, flags, off, vaddr, _, filesz, memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", elf, phoff + i * phentsize)
        if ptype == PT_LOAD:
            yield flags, off, vaddr, filesz, memsz


def main():
    payload = json.load(open(sys.argv[1]))["payload"]
    elf = open(sys.argv[2], "rb").read()
    base = int(sys.argv[3], 0)
    assert payload is not None, "no payload reported"
    assert payload["base"] == base, f"base {payload['base']:#x}, want {base:#x}"
    entry, = struct.unpack_from("<Q", elf, 0x18)
    assert payload["elf-entry"] == entry, payload
    assert payload["entry"] == base + entry, payload
    segs = list(segments(elf))
    lo = min(v for _, _, v, _, _ in segs) // PAGE * PAGE
    hi = -(-max(v + m for _, _, v, _, m in segs) // PAGE) * PAGE
    assert payload["size"] == hi - lo, (payload, hex(hi - lo))
    at = payload["rip"] - base
    assert any(flags & PF_X and v <= at and at + 4 <= v + filesz and
               elf[off + at - v:off + at - v + 4] == TDCALL
               for flags, off, v, filesz, _ in segs), \
        f"no TDCALL at payload offset {at:#x}"
    print(f"payload at {base:#x}: entry, size and TDCALL site agree")


if __name__ == "__main__":
    main()
