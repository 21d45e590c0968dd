#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Send the guest stub's MigTD stand-in each non-migration request over
QMP and check what comes back in TDX_EMU_REQUEST_COMPLETE.

Usage: requests.py QEMU FIRMWARE LOGDIR; exits 0 if every check passed.
"""

import base64
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "scripts"))
from qmp import Qemu  # noqa: E402
from run import qemu_args  # noqa: E402


def complete(vm, request_id, deadline):
    while time.monotonic() < deadline:
        vm.command("query-tdx-emu")
        for ev in vm.events:
            if ev["event"] == "TDX_EMU_REQUEST_COMPLETE" and \
                    ev["data"]["request-id"] == request_id:
                return ev["data"]
        time.sleep(0.02)
    raise AssertionError(f"request {request_id} did not complete")


def main():
    qemu, firmware, log_dir = sys.argv[1:4]
    vm = Qemu(qemu, qemu_args(firmware, os.path.join(log_dir, "serial.log"),
                              1, "32M"))
    deadline = time.monotonic() + 60
    try:
        vm.command("cont")
        while "wait-for-request" not in vm.command("query-tdx-emu"):
            assert time.monotonic() < deadline, "no WaitForRequest"
            time.sleep(0.02)

        vm.command("tdx-emu-request", type="get-td-report",
                   **{"request-id": 11})
        ev = complete(vm, 11, deadline)
        report = base64.b64decode(ev["data"])
        assert ev["status"] == "success", ev
        assert len(report) == 1024 and report[0] == 0x81, len(report)
        assert report[128:152] == b"HostRequestedMigTDReport", report[128:152]
        info = vm.command("query-tdx-emu")
        assert report[528:576].hex() == info["mrtd"], "MRTD"
        # The 72-byte form: the host's REPORTDATA is ignored (MigTD 06d9cab)
        vm.command("tdx-emu-request", type="get-td-report",
                   **{"request-id": 14, "reportdata": "cd" * 64})
        ev = complete(vm, 14, deadline)
        report = base64.b64decode(ev["data"])
        assert report[128:192] == b"HostRequestedMigTDReport".ljust(64,
                                                                    b"\0")

        vm.command("tdx-emu-request", type="get-migtd-data",
                   **{"request-id": 12, "reportdata": "ab" * 64})
        ev = complete(vm, 12, deadline)
        tdinfo = base64.b64decode(ev["data"])
        assert len(tdinfo) == 512 and tdinfo[16:64].hex() == info["mrtd"]

        vm.command("tdx-emu-request", type="enable-log-area",
                   **{"request-id": 13, "log-level": 3})
        ev = complete(vm, 13, deadline)
        data = base64.b64decode(ev["data"])
        vcpus, _, gpa, size = struct.unpack_from("<IIQQ", data)
        assert (vcpus, size) == (1, 4096) and gpa % 4096 == 0, data
        assert not gpa >> 47, "the log page GPA has no shared bit"
    finally:
        vm.quit()
    print("requests: get-td-report, get-migtd-data, enable-log-area ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
