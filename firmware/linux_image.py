#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A Linux TD's kernel and initramfs (firmware/README.md).

fetch(): Debian's cloud kernel (bookworm-backports, CONFIG_INTEL_TDX_GUEST)
and busybox-static, downloaded once with `apt-get download` into
${TDX_EMU_CACHE:-~/.cache/tdx-emu}/linux/debs and unpacked with
`dpkg-deb -x` into .../linux/root; later calls use the cache and never
ask apt again.

initrd(): build/linux/initrd.img, a gzip'd cpio (newc, written here, so no
root is needed for /dev/console): busybox, the kernel's configfs, tsm and
tdx-guest modules (decompressed), firmware/linux-check (gcc -static) and an
/init that loads them, mounts configfs and runs the checker.

    python3 firmware/linux_image.py     # prints {"kernel": ..., "initrd": ...}
"""

import glob
import gzip
import json
import lzma
import os
import subprocess
import sys

from debcache import FetchError, apt, locked, unpack

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "linux")
# The kernel's metapackage (its Depends names the versioned image)
KERNEL_META = "linux-image-cloud-amd64"
KERNEL_SUITE = "bookworm-backports"
# Loaded in this order: tdx-guest needs tsm, tsm needs configfs
MODULES = ["fs/configfs/configfs.ko.xz", "drivers/virt/coco/tsm.ko.xz",
           "drivers/virt/coco/tdx-guest/tdx-guest.ko.xz"]
INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in configfs tsm tdx-guest; do insmod /lib/modules/$m.ko; done
mount -t configfs configfs /sys/kernel/config
/bin/linux-check
poweroff -f
"""


def kernel_package():
    """The versioned image package the metapackage depends on"""
    out = subprocess.run(["apt-cache", "depends", "-t", KERNEL_SUITE,
                          KERNEL_META], capture_output=True, text=True,
                         timeout=60).stdout
    for line in out.splitlines():
        dep = line.strip().removeprefix("Depends: ")
        if dep.startswith("linux-image-") and dep != KERNEL_META:
            return dep
    raise FetchError(f"apt-cache: no {KERNEL_META} in {KERNEL_SUITE} "
                     "(scripts/deps.sh adds that suite)")


def fetch(cache):
    """The unpacked tree (download and unpack once)"""
    root = os.path.join(cache, "root")
    if glob.glob(os.path.join(root, "boot", "vmlinuz-*")) and \
            os.path.exists(os.path.join(root, "bin", "busybox")):
        return root
    debs = os.path.join(cache, "debs")
    os.makedirs(debs, exist_ok=True)
    apt("download", "-t", KERNEL_SUITE, kernel_package(), "busybox-static",
        cwd=debs)
    unpack(debs, root, os.path.join("bin", "busybox"))
    return root


def kernel(root):
    return sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))[-1]


def checker():
    """firmware/linux-check.c, static, rebuilt when the source is newer"""
    src = os.path.join(ROOT, "firmware", "linux-check.c")
    out = os.path.join(BUILD, "linux-check")
    if not os.path.exists(out) or \
            os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(BUILD, exist_ok=True)
        subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Werror", "-o",
                        out, src], check=True, timeout=120)
    return out


def cpio_entry(name, mode, data=b"", rdev=(0, 0)):
    """One cpio "newc" record (Linux Documentation/
    driver-api/early-userspace/buffer-format.rst)"""
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
              len(name) + 1, 0]
    head = b"070701" + b"".join(b"%08X" % f for f in fields)
    pad = lambda n: b"\0" * (-n % 4)  # noqa: E731
    rec = head + name.encode() + b"\0"
    return rec + pad(len(rec)) + data + pad(len(data))


def initrd(root):
    """build/linux/initrd.img (rebuilt every time: it takes well under 1 s)"""
    entries = [cpio_entry(d, 0o40755) for d in
               ("bin", "dev", "proc", "sys", "lib", "lib/modules")]
    entries.append(cpio_entry("dev/console", 0o20600, rdev=(5, 1)))
    entries.append(cpio_entry("init", 0o100755, INIT.encode()))
    with open(os.path.join(root, "bin", "busybox"), "rb") as f:
        entries.append(cpio_entry("bin/busybox", 0o100755, f.read()))
    with open(checker(), "rb") as f:
        entries.append(cpio_entry("bin/linux-check", 0o100755, f.read()))
    moddir = glob.glob(os.path.join(root, "lib", "modules", "*"))[0]
    for mod in MODULES:
        with open(os.path.join(moddir, "kernel", mod), "rb") as f:
            name = os.path.basename(mod).removesuffix(".xz")
            entries.append(cpio_entry(f"lib/modules/{name}", 0o100644,
                                      lzma.decompress(f.read())))
    entries.append(cpio_entry("TRAILER!!!", 0))
    out = os.path.join(BUILD, "initrd.img")
    os.makedirs(BUILD, exist_ok=True)
    with gzip.open(out + ".tmp", "wb", compresslevel=1) as f:
        f.write(b"".join(entries))
    os.replace(out + ".tmp", out)     # a running QEMU keeps the old one
    return out


def prepare():
    """{"kernel": PATH, "initrd": PATH}, fetching once; runs at the same
    time (the tests' two workers) take turns"""
    with locked("linux") as cache:
        root = fetch(cache)
        return {"kernel": kernel(root), "initrd": initrd(root)}


if __name__ == "__main__":
    try:
        print(json.dumps(prepare()))
    except (FetchError, subprocess.SubprocessError, OSError) as err:
        print(f"firmware/linux_image.py: {err}", file=sys.stderr)
        sys.exit(1)
