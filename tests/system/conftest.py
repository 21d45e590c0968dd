# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures of tdx-emu's system tests (tests/system/README.md)."""

import os
import time
from pathlib import Path

import pytest

import tdxtest
from tdxtest import ROOT, qmp, run

# A guest that hangs fails its test instead of stalling the run
GUEST_TIMEOUT_S = 300


def _built(env, default):
    path = Path(os.environ.get(env, ROOT / default))
    if not path.exists():
        pytest.fail(f"{path} is not built: run ./tdx-emu build "
                    f"(or set {env})", pytrace=False)
    return path


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    tdxtest.COMMANDS.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report (or a failed fixture's) ends with each
    command it ran, whole"""
    report = (yield).get_result()
    if report.failed:
        for cmd, r in tdxtest.COMMANDS:
            report.sections.append((f"command: {' '.join(cmd)}",
                                    f"exit {r.status}\n--- stdout\n{r.out}"
                                    f"\n--- stderr\n{r.err}"))


@pytest.fixture(scope="session")
def qemu():
    """The patched qemu-system-x86_64 (TDX_EMU_QEMU overrides)."""
    return _built("TDX_EMU_QEMU", "build/qemu/qemu-system-x86_64")


@pytest.fixture(scope="session")
def qemu_san():
    """The ASan+UBSan QEMU the fuzzer runs on (TDX_EMU_QEMU_SAN)."""
    return _built("TDX_EMU_QEMU_SAN", "build/qemu-san/qemu-system-x86_64")


@pytest.fixture(scope="session")
def guest_dir():
    """build/guest/guest: the guest stub's images and ELFs
    (TDX_EMU_GUEST_DIR overrides)."""
    return _built("TDX_EMU_GUEST_DIR", "build/guest/guest")


@pytest.fixture(scope="session")
def guest(guest_dir):
    """The guest stub's default image (vmcall-raw)."""
    return guest_dir / "tdx-emu-guest.bin"


@pytest.fixture(scope="session")
def guest_args(guest):
    """QEMU arguments booting the stub as a TD's firmware, without
    -cpu or the device."""
    return ["-machine", "q35", "-accel", "tcg", "-m", "64M", "-nodefaults",
            "-display", "none", "-global", "apic-common.vapic=off",
            "-bios", str(guest)]


@pytest.fixture
def tdx_emu():
    """./tdx-emu ARGS...: tdx_emu("run", "--until-ready", timeout=60)
    returns a Result (status, out, err)."""
    def tdx_emu(*args, timeout=GUEST_TIMEOUT_S, **kw):
        return run([ROOT / "tdx-emu", *args], timeout=timeout, **kw)
    return tdx_emu


@pytest.fixture
def vm(qemu):
    """vm(args, timeout=30): a QEMU with QMP on stdio (scripts/qmp.py's
    Qemu), quit at the end of the test."""
    vms = []

    def start(args, timeout=30, name="the VM"):
        vms.append(qmp.Qemu(str(qemu), [str(a) for a in args], name,
                            time.monotonic() + timeout))
        return vms[-1]
    yield start
    for v in vms:
        v.quit()

