# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu linux: Debian's OVMF and cloud kernel boot as a TD to the
initramfs's checks (firmware/linux-check.c): TDX guest detected,
TDX_CMD_GET_REPORT0, a configfs-tsm quote the host verifies against the
test PKI (docs/linux-td.md). The kernel is fetched once into the cache."""

import socket
import subprocess
import time

import pytest
from tdxtest import ROOT

CHECKS = ["guest-detected", "td-info", "report", "quote", "quote-verify"]


@pytest.mark.parametrize("args", [["--smp", "1"], ["--smp", "2"]],
                         ids=["smp1", "smp2"])
def test_linux_td_attestation(args, tdx_emu, tmp_path):
    """Linux as a TD reaches its init; a TDREPORT echoes the REPORTDATA
    the checker chose; its configfs-tsm quote (GetQuote with a raw
    TDREPORT, polled) verifies with dcap-qvl against the test root only"""
    r = tdx_emu("linux", *args, "--log-dir", tmp_path, "--pki",
                tmp_path / "pki", "--timeout", "240", timeout=300)
    assert r.status == 0, (r.json or {}).get("checks", r)
    out = r.json
    assert out["ok"] is True and out["init_s"] > 0, out
    for name in CHECKS:
        assert out["checks"][name].startswith("ok"), out["checks"]
    assert out["tdcalls"]["TDG.MR.REPORT"] >= 2, out["tdcalls"]
    assert out["tdcalls"]["TDG.VP.VMCALL<GetQuote>"] == 1, out["tdcalls"]
    # the VMM's KVM signature keeps the TD in x2APIC mode (vmm/instr.c)
    log = open(out["serial_log"], errors="replace").read()
    assert "Hypervisor detected: KVM" in log and "x2apic disabled" not in log
    assert "APIC ID mismatch" not in log
    # every MSR the kernel touches is served (vmm/msr.c)
    assert "unchecked MSR access error" not in log


def test_linux_td_timeout(tdx_emu, tmp_path):
    """--timeout: a TD that has not finished its checks in time is a
    failure that says so (exit 1, "ok": false)"""
    r = tdx_emu("linux", "--log-dir", tmp_path, "--pki", tmp_path / "pki",
                "--timeout", "1", timeout=120)
    assert r.status == 1, r
    assert r.json["ok"] is False and \
        r.json["reason"] == "timeout after 1.0 s", r.json


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_linux_td_gdb(tmp_path):
    """--gdb PORT: the TD waits at the reset vector (RIP 0xfffffff0, the
    TDX entry state's) for gdb; once gdb detaches it boots on to its
    checks"""
    port = free_port()
    td = subprocess.Popen([ROOT / "tdx-emu", "linux", "--gdb", str(port),
                           "--log-dir", tmp_path, "--pki", tmp_path / "pki",
                           "--timeout", "240"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(120):        # until QEMU's gdbstub listens
            gdb = subprocess.run(
                ["gdb", "-nx", "-batch", "-ex",
                 "set architecture i386:x86-64", "-ex",
                 f"target remote 127.0.0.1:{port}", "-ex", "p/x $pc",
                 "-ex", "detach"], capture_output=True, text=True,
                timeout=60)
            if "$1 = " in gdb.stdout:
                break
            time.sleep(0.5)
        assert "$1 = 0xfffffff0" in gdb.stdout, gdb
        out, err = td.communicate(timeout=300)
    finally:
        td.kill()
    assert td.returncode == 0, out + err
    assert '"ok": true' in out, out
