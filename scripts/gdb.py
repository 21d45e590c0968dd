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
linked; a position-independent one (ET_DYN: MigTD's payload, the guest
stub's) goes where the firmware loads its payload at run time. That base
is the device's: before the debug session, a first boot of the same VM
runs until query-tdx-emu reports "payload" (the device finds it at the
payload's first TDCALL; td-shim's layout, and so the base, depends only on
the image and the memory size). ELF@OFFSET loads at a given offset (e.g.
td-shim's IPL, which runs at 1 MiB: @0x100000), ELF@payload at the
payload base whatever the ELF's type.

With --batch "CMD; CMD; ..." gdb runs those commands without a terminal
(hardware breakpoints survive the firmware copying itself; use hbreak),
then detaches and the VM goes on; the script waits until the TD has a
WaitForRequest outstanding and prints one JSON line.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import Qemu, QmpError  # noqa: E402
from run import qemu_args  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STUB_DIR = os.path.join(HERE, "..", "build", "guest", "guest")
STUB_SYMBOLS = [os.path.join(STUB_DIR, "tdx-emu-boot.elf"),
                os.path.join(STUB_DIR, "tdx-emu-payload.elf")]
STUB_IMAGE = os.path.join(STUB_DIR, "tdx-emu-guest.bin")
ET_DYN = 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def symbol_offsets(symbols):
    """[(path, offset or None for link addresses or "payload")]"""
    out = []
    for sym in symbols:
        path, _, where = sym.partition("@")
        try:
            with open(path, "rb") as f:
                head = f.read(18)
        except OSError as err:
            raise SystemExit(f"tdx-emu gdb: {err}")
        if head[:4] != b"\x7fELF":
            raise SystemExit(f"tdx-emu gdb: {path} is not an ELF file")
        if not where:
            is_pie = int.from_bytes(head[16:18], "little") == ET_DYN
            where = "payload" if is_pie else None
        elif where != "payload":
            try:
                where = int(where, 0)
            except ValueError:
                raise SystemExit(f"tdx-emu gdb: {sym}: the offset must be "
                                 "a number or 'payload'")
        out.append((path, where))
    return out


def find_payload_base(qemu, firmware, log_dir, timeout):
    """Boot the VM once, without gdb, until the device found the payload."""
    serial_log = os.path.join(log_dir, "serial-first-boot.log")
    vm = Qemu(qemu, qemu_args(firmware, serial_log, 1, "32M"))
    try:
        vm.command("cont")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = vm.command("query-tdx-emu")
            if "base" in info.get("payload", {}):
                return info["payload"]["base"]
            if "payload" not in info or "wait-for-request" in info or \
                    "fatal-error" in info:
                break       # no ELF in the image, or it never showed up
            time.sleep(0.02)
    finally:
        vm.quit()
    raise SystemExit("tdx-emu gdb: the device found no payload of "
                     f"{firmware} (serial log: {serial_log}); "
                     "pass --symbols ELF@OFFSET")


def gdb_script(port, symbols, payload_base):
    lines = ["set pagination off", "set confirm off",
             "set architecture i386:x86-64",
             f"target remote 127.0.0.1:{port}",
             "hbreak *0xfffffff0"]
    for i, (path, where) in enumerate(symbols):
        offset = payload_base if where == "payload" else where
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
    parser.add_argument("--batch", help="gdb commands separated by ';'")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--log-dir")
    args = parser.parse_args()
    symbols = symbol_offsets(args.symbols if args.symbols is not None else (
        STUB_SYMBOLS if args.firmware == STUB_IMAGE else []))

    log_dir = args.log_dir or tempfile.mkdtemp(prefix="tdx-emu-gdb-")
    os.makedirs(log_dir, exist_ok=True)
    payload_base = None
    if any(where == "payload" for _, where in symbols):
        payload_base = find_payload_base(args.qemu, args.firmware, log_dir,
                                         args.timeout)
        print(f"payload base {payload_base:#x} (query-tdx-emu, first boot)",
              file=sys.stderr)
    port = free_port()
    serial_log = os.path.join(log_dir, "serial.log")
    cmdline = qemu_args(args.firmware, serial_log, 1, "32M") + \
        ["-gdb", f"tcp:127.0.0.1:{port}"]
    vm = Qemu(args.qemu, cmdline)
    script = os.path.join(log_dir, "tdx-emu.gdb")
    with open(script, "w") as f:
        f.write(gdb_script(port, symbols, payload_base))
    print(f"gdb script: {script}; serial log: {serial_log}",
          file=sys.stderr)
    try:
        if not args.batch:
            return subprocess.call(["gdb", "-q", "-x", script])
        cmds = [c.strip() for c in args.batch.split(";") if c.strip()]
        gdb = subprocess.run(
            ["gdb", "-q", "-batch", "-x", script,
             *sum((["-ex", c] for c in cmds + ["detach"]), [])],
            capture_output=True, text=True, timeout=args.timeout)
        sys.stderr.write(gdb.stdout + gdb.stderr)
        if vm.command("query-status")["status"] != "running":
            vm.command("cont")
        deadline = time.monotonic() + args.timeout
        ready = False
        while time.monotonic() < deadline and not ready:
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
