#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu gdb: debug a TD's firmware with QEMU's gdbstub and gdb.

Starts the VM paused (the firmware has not run a single instruction),
writes a gdb script that connects, copes with the TD starting in 32-bit
mode (the gdbstub of qemu-system-x86_64 always sends 64-bit registers, so
gdb must be told i386:x86-64 before it connects, or it fails with "'g'
packet reply is too long"), sets a hardware breakpoint at the reset vector
and loads symbols, then runs gdb on it.

Symbols (--symbols ELF[@WHERE] ...): an executable ELF goes where it is
linked. A position-independent one (ET_DYN) goes where the firmware
loaded its payload if it is the image's payload ELF (same e_entry and
PT_LOAD span as query-tdx-emu's "payload": MigTD's, the guest stub's),
else at 1 MiB, where td-shim's reset vector copies its IPL. The payload
base is the device's: before the debug session, a first boot of the same
VM runs until query-tdx-emu reports it (the device finds it at the
payload's first TDCALL; td-shim's layout, and so the base, depends only
on the image and the memory size). ELF@OFFSET loads at a given offset,
ELF@payload at the payload base whatever the ELF.

--catch-tdcall LEAF and --catch-vmcall SUBFN (repeatable) set TDCALL
catchpoints (QMP tdx-emu-catch): the vCPU stops right after such a
TDCALL, and gdb reports SIGTRAP there with the leaf's outputs in the
registers.

With --batch "CMD; CMD; ..." gdb runs those commands without a terminal
(hardware breakpoints survive the firmware copying itself; use hbreak),
then detaches and the VM goes on; the script waits until the TD has a
WaitForRequest outstanding and prints one JSON line. The commands run as
a gdb script: the first one that fails stops gdb with its error and a
non-zero "gdb_exit" (gdb -ex would carry on and exit with the status of
the last command only).
"""

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli  # noqa: E402
from qmp import Qemu, QmpError  # noqa: E402
from run import qemu_args  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STUB_DIR = os.path.join(HERE, "..", "build", "guest", "guest")
STUB_SYMBOLS = [os.path.join(STUB_DIR, "tdx-emu-boot.elf"),
                os.path.join(STUB_DIR, "tdx-emu-payload.elf")]
STUB_IMAGE = os.path.join(STUB_DIR, "tdx-emu-guest.bin")
ET_DYN = 3
PT_LOAD = 1
PAGE = 0x1000
IPL_BASE = 0x100000     # where td-shim's reset vector copies its IPL


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_elf(path):
    """{"pie": bool, "entry": e_entry, "size": PT_LOAD span in pages}"""
    try:
        with open(path, "rb") as f:
            elf = f.read()
    except OSError as err:
        raise SystemExit(f"tdx-emu gdb: {err}")
    if elf[:5] != b"\x7fELF\x02" or len(elf) < 64:
        raise SystemExit(f"tdx-emu gdb: {path} is not an ELF64 file")
    etype, = struct.unpack_from("<H", elf, 16)
    entry, phoff = struct.unpack_from("<QQ", elf, 0x18)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    try:
        loads = [struct.unpack_from("<IIQQQQQ", elf, phoff + i * phentsize)
                 for i in range(phnum)]
    except struct.error:
        raise SystemExit(f"tdx-emu gdb: {path}: program headers past the "
                         "end of the file")
    loads = [(vaddr, memsz) for ptype, _, _, vaddr, _, _, memsz in loads
             if ptype == PT_LOAD]
    lo = min((v for v, _ in loads), default=0) // PAGE * PAGE
    hi = -(-max((v + m for v, m in loads), default=0) // PAGE) * PAGE
    return {"pie": etype == ET_DYN, "entry": entry, "size": hi - lo}


def symbol_places(symbols):
    """[(path, ELF info, where)]: where is None (link addresses), an
    offset, "payload" or "auto" (a PIE: the payload if it is the image's,
    else td-shim's IPL)"""
    out = []
    for sym in symbols:
        path, _, where = sym.partition("@")
        elf = read_elf(path)
        if not where:
            where = "auto" if elf["pie"] else None
        elif where != "payload":
            try:
                where = int(where, 0)
            except ValueError:
                raise SystemExit(f"tdx-emu gdb: {sym}: the offset must be "
                                 "a number or 'payload'")
        out.append((path, elf, where))
    return out


def first_boot_payload(qemu, firmware, log_dir, timeout):
    """Boot the VM once, without gdb, until the device found the payload:
    query-tdx-emu's "payload" (without "base" if it never found it), or
    None when the image has no payload ELF."""
    serial_log = os.path.join(log_dir, "serial-first-boot.log")
    vm = Qemu(qemu, qemu_args(firmware, serial_log, 1, "32M"))
    try:
        vm.command("cont")
        deadline = time.monotonic() + timeout
        while True:
            info = vm.command("query-tdx-emu")
            payload = info.get("payload")
            if not payload or "base" in payload or \
                    "wait-for-request" in info or "fatal-error" in info or \
                    time.monotonic() > deadline:
                return payload
            time.sleep(0.02)
    finally:
        vm.quit()


def is_image_payload(elf, payload):
    return payload is not None and elf["entry"] == payload["elf-entry"] \
        and elf["size"] == payload["size"]


def resolve(places, payload, firmware):
    """[(path, offset or None)], saying where each ELF goes"""
    out = []
    for path, elf, where in places:
        why = "given"
        if where == "auto":
            where = "payload" if is_image_payload(elf, payload) else IPL_BASE
            why = "td-shim's IPL runs at 1 MiB"
        if where == "payload":
            if not payload or "base" not in payload:
                reason = "no TDCALL from its payload" if payload else \
                    "no payload ELF in it"
                raise SystemExit(f"tdx-emu gdb: no payload base for "
                                 f"{firmware} ({reason}); pass --symbols "
                                 f"{path}@OFFSET")
            where = payload["base"]
            why = "the payload base query-tdx-emu reported"
        if where is not None:
            print(f"symbols: {path} -o {where:#x} ({why})", file=sys.stderr)
        out.append((path, where))
    return out


# gdb's default of 2 s for a reply is short for a loaded 2-core host
REMOTE_TIMEOUT_S = 30


def gdb_script(port, symbols):
    lines = ["set pagination off", "set confirm off",
             f"set remotetimeout {REMOTE_TIMEOUT_S}",
             "set architecture i386:x86-64",
             f"target remote 127.0.0.1:{port}",
             "hbreak *0xfffffff0"]
    for i, (path, offset) in enumerate(symbols):
        if offset is not None:
            lines.append(f"add-symbol-file {path} -o {offset:#x}")
        else:
            lines.append(f"{'file' if i == 0 else 'add-symbol-file'} {path}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(prog="./tdx-emu gdb")
    parser.add_argument("--qemu", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--firmware", default=STUB_IMAGE)
    parser.add_argument("--symbols", nargs="*", default=None,
                        help="ELF files: ELF, ELF@OFFSET or ELF@payload")
    parser.add_argument("--catch-tdcall", type=lambda v: int(v, 0),
                        action="append", default=[], metavar="LEAF",
                        help="stop after every TDCALL of this leaf")
    parser.add_argument("--catch-vmcall", type=lambda v: int(v, 0),
                        action="append", default=[], metavar="SUBFN",
                        help="stop after every TDG.VP.VMCALL<SUBFN>")
    parser.add_argument("--batch", help="gdb commands separated by ';'")
    parser.add_argument("--timeout", type=cli.seconds, default=60)
    parser.add_argument("--log-dir")
    args = parser.parse_args()
    places = symbol_places(args.symbols if args.symbols is not None else (
        STUB_SYMBOLS if args.firmware == STUB_IMAGE else []))

    log_dir = args.log_dir or tempfile.mkdtemp(prefix="tdx-emu-gdb-")
    os.makedirs(log_dir, exist_ok=True)
    payload = None
    port = free_port()
    serial_log = os.path.join(log_dir, "serial.log")
    cmdline = qemu_args(args.firmware, serial_log, 1, "32M") + \
        ["-gdb", f"tcp:127.0.0.1:{port}"]
    try:
        if any(where in ("auto", "payload") for _, _, where in places):
            payload = first_boot_payload(args.qemu, args.firmware, log_dir,
                                         args.timeout)
        symbols = resolve(places, payload, args.firmware)
        vm = Qemu(args.qemu, cmdline)
        vm.command("tdx-emu-catch", leaves=args.catch_tdcall,
                   vmcalls=args.catch_vmcall)
    except QmpError as err:
        print(f"tdx-emu gdb: {err}", file=sys.stderr)
        return 1
    script = os.path.join(log_dir, "tdx-emu.gdb")
    with open(script, "w") as f:
        f.write(gdb_script(port, symbols))
    print(f"gdb script: {script}; serial log: {serial_log}",
          file=sys.stderr)
    try:
        if not args.batch:
            return subprocess.call(["gdb", "-q", "-x", script])
        batch = os.path.join(log_dir, "batch.gdb")
        with open(batch, "w") as f:
            f.writelines(c.strip() + "\n" for c in args.batch.split(";")
                         + ["detach"] if c.strip())
        gdb = subprocess.run(["gdb", "-q", "-batch", "-x", script, "-x",
                              batch], capture_output=True, text=True,
                             timeout=args.timeout)
        sys.stderr.write(gdb.stdout + gdb.stderr)
        # gdb has gone: no more catchpoints; one may have stopped the VM
        # since (in the "debug" state), and the TD is to run on
        vm.command("tdx-emu-catch")
        deadline = time.monotonic() + args.timeout
        ready = False
        while time.monotonic() < deadline and not ready:
            if vm.command("query-status")["status"] != "running":
                vm.command("cont")
            ready = "wait-for-request" in vm.command("query-tdx-emu")
            time.sleep(0.02)
        print(json.dumps({"gdb_exit": gdb.returncode, "ready": ready}))
        return 0 if gdb.returncode == 0 and ready else 1
    except (QmpError, subprocess.TimeoutExpired) as err:
        print(f"tdx-emu gdb: {err}", file=sys.stderr)
        return 1
    finally:
        vm.quit()


if __name__ == "__main__":
    sys.exit(main())
