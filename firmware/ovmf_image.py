#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Debian trixie's OVMF (edk2 2025.02, with its TDX path), fetched once.

The machine runs Debian 12, whose own `ovmf` (edk2 2022.11) still exposes
RBP to TDG.VP.VMCALL (mask 0xffec) and so dies in a TD with NO_RBP_MOD, as
KVM creates every TD; edk2 has used 0xffcc since. trixie's package is
downloaded with apt itself, signature-checked against the system's Debian
keyring, through a private sources list, lists and cache under
${TDX_EMU_CACHE:-~/.cache/tdx-emu}/ovmf (the system's apt sources are not
touched), and unpacked with `dpkg-deb -x`; later calls use the cache.

    python3 firmware/ovmf_image.py      # prints the path of OVMF.fd
"""

import os
import shutil
import subprocess
import sys

from debcache import FetchError, apt, locked, unpack

SOURCE = "deb http://deb.debian.org/debian trixie main\n"
OVMF_FD = os.path.join("usr", "share", "ovmf", "OVMF.fd")


def private_apt(cache):
    """apt-get options for trixie's sources list, lists and cache in
    CACHE, none of the system's"""
    return [f"-oDir::Etc::SourceList={cache}/sources.list",
            "-oDir::Etc::SourceParts=/nonexistent",
            f"-oDir::State::Lists={cache}/lists",
            f"-oDir::Cache={cache}/apt-cache", "-q"]


def fetch(cache):
    """The path of trixie's OVMF.fd (download and unpack once)"""
    root = os.path.join(cache, "root")
    fd = os.path.join(root, OVMF_FD)
    if os.path.exists(fd):
        return fd
    os.makedirs(os.path.join(cache, "lists", "partial"), exist_ok=True)
    with open(os.path.join(cache, "sources.list"), "w") as f:
        f.write(SOURCE)
    apt(*private_apt(cache), "update")
    debs = os.path.join(cache, "debs")
    shutil.rmtree(debs, ignore_errors=True)
    os.makedirs(debs)
    apt(*private_apt(cache), "download", "ovmf", cwd=debs)
    unpack(debs, root, OVMF_FD)
    return fd


def prepare():
    """OVMF.fd's path, fetching once; concurrent runs take turns"""
    with locked("ovmf") as cache:
        return fetch(cache)


if __name__ == "__main__":
    try:
        print(prepare())
    except (FetchError, subprocess.SubprocessError, OSError) as err:
        print(f"firmware/ovmf_image.py: {err}", file=sys.stderr)
        sys.exit(1)
