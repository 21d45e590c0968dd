#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Compute a TDVF image's MRTD independently of tdx-emu, for the tests.

MRTD is the SHA-384 the TDX module accumulates while the VMM adds and
extends the TD's initial pages (td-shim td-shim-interface/src/metadata.rs, TDX module TDH.MEM.PAGE.ADD and TDH.MR.EXTEND): per
section and per 4 KiB page, a 128-byte MEM.PAGE.ADD record {ASCII, GPA}
unless the section is PAGE.AUG; for MR.EXTEND sections, per 256 bytes, a
128-byte MR.EXTEND record followed by those bytes. Only td-shim's pointer
at image end - 0x20 is followed here, on purpose a different route to the
metadata than the device's OVMF-table walk.

TdInfo and TdParams (types 7, 8) occupy no memory: the BFV they lie in
measures their bytes, nothing else does. TempMem may lie in RAM as well as
in the firmware window, and PermMem may be split (MigTD #894): any layout
whose sections' memory does not overlap, since the TDX module adds a page
once (a second TDH.MEM.PAGE.ADD or AUG of a GPA fails).
"""

import hashlib
import struct
import sys

PAGE = 4096
CHUNK = 256
NO_MEMORY = (7, 8)              # TdInfo, TdParams


def record(op, gpa):
    return op.ljust(16, b"\0") + struct.pack("<Q", gpa) + bytes(104)


def sections(image):
    desc = struct.unpack_from("<I", image, len(image) - 0x20)[0]
    sig, _length, _version, count = struct.unpack_from("<4sIII", image, desc)
    assert sig == b"TDVF", "no TDVF descriptor"
    for i in range(count):
        yield struct.unpack_from("<IIQQII", image, desc + 16 + 32 * i)


def check_layout(image):
    spans = sorted((address, address + size)
                   for _off, _raw, address, size, kind, _attr in sections(image)
                   if kind not in NO_MEMORY and size)
    for (start, end), (next_start, _) in zip(spans, spans[1:]):
        assert end <= next_start, \
            f"sections overlap at {next_start:#x} ({start:#x}-{end:#x})"


def mrtd(image):
    check_layout(image)
    h = hashlib.sha384()
    for offset, raw, address, size, kind, attributes in sections(image):
        if kind in NO_MEMORY:
            continue
        data = image[offset:offset + raw].ljust(size, b"\0")
        for page in range(0, size, PAGE):
            if not attributes & 2:
                h.update(record(b"MEM.PAGE.ADD", address + page))
            if attributes & 1:
                for chunk in range(page, page + PAGE, CHUNK):
                    h.update(record(b"MR.EXTEND", address + chunk))
                    h.update(data[chunk:chunk + CHUNK])
    return h.hexdigest()


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as f:
        print(mrtd(f.read()))
