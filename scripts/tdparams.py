# SPDX-License-Identifier: GPL-2.0-or-later
"""The TD_PARAMS a TDVF image carries in its TdParams section.

td-shim's td-shim-patch td-params writes a 1024-byte TD_PARAMS (TDX module
ABI) into the image's TdParams section (type 8, data inside the BFV, no
memory: td-shim td-shim-interface/src/metadata.rs) for the VMM that
creates the TD from it. An all-zero one is not filled in yet. tdx-emu
takes the GPAW from CONFIG_FLAGS bit 0 (hw/tdx-emu/tdx-module/tdvf.c
refuses a device whose gpaw= differs); run, migrate and inspect start
QEMU with it.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "migtd"))
from enroll import tdvf_descriptor  # noqa: E402

TDVF_SECTION_TD_PARAMS = 8
TD_PARAMS_SIZE = 1024
CONFIG_FLAGS_GPAW = 1 << 0


def td_params(img):
    """{"attributes", "xfam", "max_vcpus", "gpaw"} or None"""
    desc = tdvf_descriptor(img)
    if desc is None or desc + 16 > len(img):
        return None
    count = struct.unpack_from("<I", img, desc + 12)[0]
    for i in range(min(count, (len(img) - desc - 16) // 32)):
        off, raw, _addr, _size, kind, _attr = struct.unpack_from(
            "<IIQQII", img, desc + 16 + 32 * i)
        if kind != TDVF_SECTION_TD_PARAMS or raw < TD_PARAMS_SIZE or \
                off + TD_PARAMS_SIZE > len(img):
            continue
        params = img[off:off + TD_PARAMS_SIZE]
        if not any(params):
            return None
        attributes, xfam, max_vcpus = struct.unpack_from("<QQH", params, 0)
        config_flags = struct.unpack_from("<Q", params, 32)[0]
        return {"attributes": attributes, "xfam": xfam,
                "max_vcpus": max_vcpus,
                "gpaw": 52 if config_flags & CONFIG_FLAGS_GPAW else 48}
    return None


def image_gpaw(path):
    """The GPAW the image's TD_PARAMS asks for; 48 without one"""
    try:
        with open(path, "rb") as f:
            params = td_params(f.read())
    except OSError:
        return 48
    return params["gpaw"] if params else 48
