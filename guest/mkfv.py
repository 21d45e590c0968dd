#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The guest stub's firmware volumes.

Usage: mkfv.py PAYLOAD_ELF OUTPUT
       mkfv.py --cfv SIZE OUTPUT

The payload FV wraps the payload ELF as MigTD's image carries its payload
(td-shim td-shim-tools/src/linker.rs: an FFS file of type DXE_CORE in the
payload FV, its PE32 section holding the ELF). Layout (PI spec, volume
3): the FV header with a one-entry block map (0x48 bytes), the FFS file
header (0x18), the section header (4), then the ELF at 0x64
(guest/layout.h PAYLOAD_ELF_IN_FV), padded with 0xFF (the erase polarity)
to whole 4 KiB blocks.

--cfv makes an empty configuration volume of SIZE bytes as td-shim-enroll
writes it (migtd/enroll.py), for ./tdx-emu enroll to fill.
"""

import os
import struct
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "migtd"))
from enroll import build_cfv, sum16, size24  # noqa: E402

FFS2_GUID = uuid.UUID("8c8ce578-8a3d-4f1c-9935-896185c32dd3")
PAYLOAD_FILE_GUID = uuid.UUID("7c99c3b7-9e73-4b53-b85f-5b1d8e0a2a01")
FV_HEADER_LEN = 0x48
FV_ATTRIBUTES = 0x0004FEFF
FV_REVISION = 2
FV_FILETYPE_DXE_CORE = 0x05
FFS_FILE_STATE = 0xF8           # header and data valid, erase polarity 1
FFS_FIXED_CHECKSUM = 0xAA       # the file checksum without FFS_ATTRIB_CHECKSUM
SECTION_PE32 = 0x10
BLOCK = 0x1000
ELF_OFFSET = 0x64


def ffs_file(body):
    assert 28 + len(body) < 1 << 24, "payload too large for a 24-bit FFS size"
    section = size24(4 + len(body)) + bytes([SECTION_PE32]) + body
    size = 24 + len(section)
    header = PAYLOAD_FILE_GUID.bytes_le + bytes([0, 0]) + \
        bytes([FV_FILETYPE_DXE_CORE, 0]) + size24(size) + bytes([0])
    header_sum = (-sum(header)) & 0xFF
    header = header[:16] + bytes([header_sum, FFS_FIXED_CHECKSUM]) + \
        header[18:23] + bytes([FFS_FILE_STATE])
    return header + section


def firmware_volume(elf):
    file = ffs_file(elf)
    length = -(-(FV_HEADER_LEN + len(file)) // BLOCK) * BLOCK
    header = bytes(16) + FFS2_GUID.bytes_le + struct.pack(
        "<Q4sIHHHBB", length, b"_FVH", FV_ATTRIBUTES, FV_HEADER_LEN, 0, 0,
        0, FV_REVISION) + struct.pack("<IIII", length // BLOCK, BLOCK, 0, 0)
    assert len(header) == FV_HEADER_LEN
    header = header[:0x32] + struct.pack("<H", -sum16(header) & 0xFFFF) + \
        header[0x34:]
    fv = header + file
    assert fv[ELF_OFFSET:ELF_OFFSET + 4] == b"\x7fELF"
    return fv + b"\xff" * (length - len(fv))


def main():
    if sys.argv[1] == "--cfv":
        fv = build_cfv(int(sys.argv[2], 0), [])
    else:
        with open(sys.argv[1], "rb") as f:
            fv = firmware_volume(f.read())
    with open(sys.argv[-1], "wb") as f:
        f.write(fv)


if __name__ == "__main__":
    main()
