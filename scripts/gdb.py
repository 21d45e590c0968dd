#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu gdb: debug a TD's firmware with QEMU's gdbstub and gdb.

Starts the VM paused (the firmware has not run a single instruction),
writes a gdb script that connects, copes with the TD starting in 32-bit
mode (the gdbstub of qemu-system-x86_64 always sends 64-bit registers, so
gdb must be told i386:x86-64 before it connects, or it fails with "'g'
packet reply is too long"), sets a hardware breakpoint at the reset vector
and loads symbols, then runs gdb on it.

Symbols: the guest stub's ELF (the default firmware) runs where it is
linked. For an image whose payload is relocated at run time (td-shim puts
MigTD's at its "image_base"), pass --symbols ELF@ADDRESS.

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
STUB_ELF = os.path.join(HERE, "..", "build", "guest", "guest",
                        "tdx-emu-guest.elf")
STUB_IMAGE = os.path.join(HERE, "..", "build", "guest", "guest",
                          "tdx-emu-guest.bin")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gdb_script(port, symbols):
    lines = ["set pagination off", "set confirm off",
             "set architecture i386:x86-64",
             f"target remote 127.0.0.1:{port}",
             "hbreak *0xfffffff0"]
    for i, sym in enumerate(symbols):
        path, _, offset = sym.partition("@")
        if offset:
            lines.append(f"add-symbol-file {path} -o {offset}")
        else:
            lines.append(f"{'file' if i == 0 else 'add-symbol-file'} {path}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(prog="./tdx-emu gdb")
    parser.add_argument("--qemu", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--firmware", default=STUB_IMAGE)
    parser.add_argument("--symbols", nargs="*", default=None,
                        help="ELF files, each ELF or ELF@OFFSET")
    parser.add_argument("--batch", help="gdb commands separated by ';'")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--log-dir")
    args = parser.parse_args()
    symbols = args.symbols if args.symbols is not None else (
        [STUB_ELF] if args.firmware == STUB_IMAGE else [])

    log_dir = args.log_dir or tempfile.mkdtemp(prefix="tdx-emu-gdb-")
    os.makedirs(log_dir, exist_ok=True)
    port = free_port()
    serial_log = os.path.join(log_dir, "serial.log")
    cmdline = qemu_args(args.firmware, serial_log, 1, "32M") + \
        ["-gdb", f"tcp:127.0.0.1:{port}"]
    vm = Qemu(args.qemu, cmdline)
    script = os.path.join(log_dir, "tdx-emu.gdb")
    with open(script, "w") as f:
        f.write(gdb_script(port, symbols))
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
