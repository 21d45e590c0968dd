#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The payload base belongs to one boot: a system reset forgets it, and the
next boot finds it again.

Usage: payload_reset.py QEMU FIRMWARE LOGDIR; exits 0 if every check passed.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "scripts"))
from qmp import Qemu  # noqa: E402
from run import qemu_args  # noqa: E402


def payload(vm):
    return vm.command("query-tdx-emu").get("payload", {})


def wait_for_base(vm, timeout=60):
    deadline = time.monotonic() + timeout
    while "base" not in payload(vm):
        assert time.monotonic() < deadline, "no payload base"
        time.sleep(0.02)
    return payload(vm)


def main():
    qemu, firmware, log_dir = sys.argv[1:4]
    args = qemu_args(firmware, os.path.join(log_dir, "serial.log"), 1, "32M")
    args.remove("-no-reboot")           # which turns system_reset into quit
    vm = Qemu(qemu, args)
    try:
        before = payload(vm)
        assert before and "base" not in before, before     # nothing ran yet
        vm.command("cont")
        first = wait_for_base(vm)
        vm.command("stop")
        vm.command("system_reset")
        after_reset = payload(vm)
        assert "base" not in after_reset, after_reset
        assert after_reset["image-offset"] == first["image-offset"]
        vm.command("cont")
        second = wait_for_base(vm)
        assert second == first, (first, second)
    finally:
        vm.quit()
    print(f"payload base {first['base']:#x} forgotten at reset, found again")


if __name__ == "__main__":
    main()
