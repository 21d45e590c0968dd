# SPDX-License-Identifier: GPL-2.0-or-later
"""#VE (docs/tdx-module.md "#VE"): the guest stub's #VE handler sees
CPUID, RDMSR, port I/O and an EPT violation as the TDX module reports
them (VEINFO.GET), the device traces each, and ve=off turns #VE off. A
private page the TD has not accepted is a #VE without SEPT_VE_DISABLE;
with it the VMM kills the TD (test_boot.py)."""

import re
import time

import pytest

from tdxtest import read, run

TD_CPU = ["-cpu", "max,phys-bits=48,vendor=GenuineIntel"]
DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=1"]
VE_CHECKS = ["#VE: CPUID 0x40000000", "#VE: RDMSR IA32_APIC_BASE",
             "#VE: OUT imm8", "#VE: IN DX",
             "#VE: a load from an unbacked shared GPA",
             "#VE: a load from a device at a shared GPA",
             "TDG.VP.VEINFO.GET after the handler read it",
             "#VE while the last #VE's info is unread: #DF(0)"]
PENDING_CHECKS = ["#VE: a load from private RAM not accepted yet, EPT "
                  "violation 48 with GLA and GPA",
                  "once accepted, the page reads as zeros",
                  "#VE: a load through the private mapping of a page MapGPA "
                  "made shared",
                  "#VE: TDG.MR.REPORT into a page not accepted yet, on the "
                  "TDCALL; accepted, the TDCALL runs again",
                  "#VE: a page walk through a page table not accepted yet"]


def stub(qemu, guest_args, tmp_path, device, *args):
    """The stub on tdx-emu to its exit: (Result, serial log text)"""
    serial = tmp_path / "serial.log"
    r = run([qemu, *guest_args, *DEBUG_EXIT, *TD_CPU, "-serial",
             f"file:{serial}", "-device", device, *args])
    return r, read(serial)


def stub_passes(qemu, guest_args, tmp_path, device, checks):
    """The stub on @device passes, each of @checks among its ok lines; its
    serial log"""
    r, serial = stub(qemu, guest_args, tmp_path, device)
    assert r.status == 33 and "RESULT: PASS" in serial, \
        f"{r}\n{serial[-2000:]}"
    for check in checks:
        assert re.search(r"^ok - " + re.escape(check), serial, re.M), \
            f"{check}: {serial[-2000:]}"
    return serial


def test_stub_ve(qemu, guest_args, tmp_path):
    """ve=on (default): each #VE kind reaches the stub's handler with the
    exit reason, qualification, length, GLA and GPA it checks"""
    serial = stub_passes(qemu, guest_args, tmp_path, "tdx-emu", VE_CHECKS)
    # the default attributes have SEPT_VE_DISABLE: no pending page touched
    assert "pending pages: not touched (SEPT_VE_DISABLE" in serial, \
        serial[-2000:]


def test_stub_ve_pending(qemu, guest_args, tmp_path):
    """attributes=0 (no SEPT_VE_DISABLE, as MigTD): a load from private RAM
    never accepted, one through the private mapping of a page MapGPA made
    shared, and a TDCALL whose memory operand lies in a page not accepted
    are EPT-violation #VEs with the GPA; once accepted the page reads as
    zeros, and the TDCALL runs again"""
    stub_passes(qemu, guest_args, tmp_path, "tdx-emu,attributes=0",
                PENDING_CHECKS)


def test_stub_ve_off(qemu, guest_args, tmp_path):
    """ve=off: no #VE; TCG runs CPUID, RDMSR and port I/O, and the stub
    still passes"""
    serial = stub_passes(qemu, guest_args, tmp_path, "tdx-emu,ve=off", [])
    assert "#VE: none (the device has ve=off)" in serial, serial[-2000:]


@pytest.mark.parametrize("reason", [10, 30, 31, 48])
def test_ve_traced(reason, qemu, guest_args, tmp_path):
    """tdx_emu_ve traces each #VE with its exit reason"""
    trace = tmp_path / "trace.log"
    r, serial = stub(qemu, guest_args, tmp_path, "tdx-emu", "-trace",
                     "tdx_emu_ve", "-D", trace)
    assert r.status == 33, f"{r}\n{serial[-2000:]}"
    log = read(trace)
    assert re.search(rf"tdx_emu_ve cpu 0 exit reason {reason} ", log), \
        log[-2000:]


@pytest.mark.parametrize("device,more", [("tdx-emu", True),
                                         ("tdx-emu,ve=off", False)],
                         ids=["ve-on", "ve-off"])
def test_ve_count(device, more, guest_args, vm):
    """query-tdx-emu ve-count: the #VEs the stub took (its 6 checks' and
    more), 0 with ve=off"""
    v = vm([*guest_args, *TD_CPU, "-serial", "null", "-device", device])
    deadline = time.monotonic() + 30
    while True:
        info = v.command("query-tdx-emu")
        done = info["tdcall-counts"] and any(
            c["name"] == "TDG.MR.REPORT" for c in info["tdcall-counts"])
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert done, info
    assert (info["ve-count"] >= 6) if more else info["ve-count"] == 0, info
