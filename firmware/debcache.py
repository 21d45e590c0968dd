# SPDX-License-Identifier: GPL-2.0-or-later
"""What the firmware fetchers share (firmware/README.md): their cache under
${TDX_EMU_CACHE:-~/.cache/tdx-emu}, apt-get, one lock per cached item so
that concurrent runs take turns, and .debs unpacked into a tree."""

import contextlib
import fcntl
import glob
import os
import shutil
import subprocess

CACHE = os.environ.get("TDX_EMU_CACHE") or \
    os.path.expanduser("~/.cache/tdx-emu")


class FetchError(Exception):
    pass


def apt(*args, cwd=None):
    """apt-get ARGS; FetchError with its last words if it fails"""
    r = subprocess.run(["apt-get", *args], cwd=cwd, capture_output=True,
                       text=True, timeout=600)
    if r.returncode:
        raise FetchError(f"apt-get {' '.join(args)}: "
                         f"{r.stderr.strip()[-500:]}")
    return r.stdout


@contextlib.contextmanager
def locked(item):
    """The cache directory of ITEM, held for this process alone"""
    path = os.path.join(CACHE, item)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield path


def unpack(debs, root, needed):
    """dpkg-deb -x every .deb of DEBS into ROOT, replacing it only once
    the tree has NEEDED (a relative path)"""
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for deb in sorted(glob.glob(os.path.join(debs, "*.deb"))):
        subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True, timeout=300)
    if not os.path.exists(os.path.join(tmp, needed)):
        raise FetchError(f"the packages in {debs} have no /{needed}")
    shutil.rmtree(root, ignore_errors=True)
    os.rename(tmp, root)
