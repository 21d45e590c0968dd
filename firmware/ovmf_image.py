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

import fcntl
import glob
import os
import shutil
import subprocess
import sys

CACHE = os.path.join(os.environ.get("TDX_EMU_CACHE") or
                     os.path.expanduser("~/.cache/tdx-emu"), "ovmf")
SOURCE = "deb http://deb.debian.org/debian trixie main\n"
OVMF_FD = os.path.join("usr", "share", "ovmf", "OVMF.fd")


class FetchError(Exception):
    pass


def apt(*args, cwd=None):
    """apt-get on the private sources list, lists and cache"""
    opts = [f"-oDir::Etc::SourceList={CACHE}/sources.list",
            "-oDir::Etc::SourceParts=/nonexistent",
            f"-oDir::State::Lists={CACHE}/lists",
            f"-oDir::Cache={CACHE}/apt-cache"]
    r = subprocess.run(["apt-get", "-q", *opts, *args], cwd=cwd,
                       capture_output=True, text=True, timeout=600)
    if r.returncode:
        raise FetchError(f"apt-get {' '.join(args)}: "
                         f"{r.stderr.strip()[-500:]}")


def fetch():
    """The path of trixie's OVMF.fd (download and unpack once)"""
    root = os.path.join(CACHE, "root")
    fd = os.path.join(root, OVMF_FD)
    if os.path.exists(fd):
        return fd
    os.makedirs(os.path.join(CACHE, "lists", "partial"), exist_ok=True)
    with open(os.path.join(CACHE, "sources.list"), "w") as f:
        f.write(SOURCE)
    apt("update")
    debs = os.path.join(CACHE, "debs")
    shutil.rmtree(debs, ignore_errors=True)
    os.makedirs(debs)
    apt("download", "ovmf", cwd=debs)
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for deb in glob.glob(os.path.join(debs, "ovmf_*.deb")):
        subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True, timeout=300)
    if not os.path.exists(os.path.join(tmp, OVMF_FD)):
        raise FetchError(f"trixie's ovmf package has no /{OVMF_FD}")
    shutil.rmtree(root, ignore_errors=True)
    os.rename(tmp, root)
    return fd


def prepare():
    """OVMF.fd's path, fetching once; concurrent runs take turns"""
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return fetch()


if __name__ == "__main__":
    try:
        print(prepare())
    except (FetchError, subprocess.SubprocessError, OSError) as err:
        print(f"firmware/ovmf_image.py: {err}", file=sys.stderr)
        sys.exit(1)
