# SPDX-License-Identifier: GPL-2.0-or-later
"""The command line: ./tdx-emu itself, and the device's options and
start-up errors."""

import re

import pytest

from tdxtest import run

TD_CPU = ["-cpu", "max,phys-bits=48"]


def test_help_and_unknown_command(tdx_emu):
    """./tdx-emu --help lists the commands; unknown commands fail"""
    help = tdx_emu("--help")
    assert help.status == 0, help
    lines = help.out.splitlines()
    assert any(line.startswith("  test") for line in lines), help
    assert any(line.startswith("  migrate") for line in lines), help
    assert tdx_emu("no-such-command").status != 0


@pytest.mark.parametrize("args,why", [
    (("run", "--smp", "0"), "argument --smp: 0 must be above 0"),
    (("run", "--timeout", "-1"), "argument --timeout: -1 must be above 0"),
    (("migrate", "--smp", "x"), "argument --smp: 'x' is not a whole number"),
    (("linux", "--timeout", "0"), "argument --timeout: 0 must be above 0"),
    (("gdb", "--timeout", "nan"), "argument --timeout: nan must be above 0"),
    (("bench", "--runs", "0"), "argument --runs: 0 must be above 0")],
    ids=["run-smp", "run-timeout", "migrate-smp", "linux-timeout",
         "gdb-timeout", "bench-runs"])
def test_bad_counts_and_timeouts(args, why, tdx_emu):
    """A count or a timeout that is not a positive number: argparse says
    which (no traceback, no QEMU started)"""
    r = tdx_emu(*args, timeout=60)
    assert r.status == 2 and why in r.err and "Traceback" not in r.err, r


def test_phys_bits_message(tdx_emu):
    """tdx-emu without enough phys-bits: error says how to fix it"""
    r = tdx_emu("qemu", "-M", "q35", "-accel", "tcg", "-display", "none",
                "-nodefaults", "-device", "tdx-emu", timeout=60)
    assert r.status not in (0, 124), f"QEMU started: {r}"
    assert "phys-bits=40" in r.out + r.err, r
    assert "-cpu max,phys-bits=48" in r.out + r.err, r


def test_starts_with_phys_bits(vm):
    """tdx-emu with -cpu max,phys-bits=48: QEMU starts (QMP answers)"""
    qemu = vm(["-M", "q35", "-accel", "tcg", *TD_CPU, "-S", "-display",
               "none", "-nodefaults", "-device", "tdx-emu"])
    assert qemu.command("query-status")["status"] == "prelaunch"
    qemu.command("quit")
    assert qemu.wait_event("SHUTDOWN")["data"]["reason"] == "host-qmp-quit"
    assert qemu.proc.wait(timeout=30) == 0


def test_trace_events(qemu, guest_args, tmp_path):
    """-trace tdx_emu_*: every TDCALL and VMCALL is traced"""
    trace = tmp_path / "trace.log"
    r = run([qemu, *guest_args, *TD_CPU, "-device", "tdx-emu",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
             "-serial", "null", "-trace", "tdx_emu_*", "-D", trace])
    assert r.status != 124, r
    log = trace.read_text(errors="replace")
    for line in (r"tdx_emu_tdcall .*TDG\.VP\.INFO",
                 r"tdx_emu_vmcall .*Instruction\.IO",
                 r"tdx_emu_tdcall_done .*unknown status=0xc000010000000000"):
        assert re.search(line, log), (line, log[-2000:])
