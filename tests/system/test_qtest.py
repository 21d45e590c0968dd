# SPDX-License-Identifier: GPL-2.0-or-later
"""The C qtests (tests/qtest): one test per GLib test case. Each binary
runs once (on one xdist worker: its cases share an xdist_group), and
every case reports what its TAP line said; a case with no line (the
binary crashed) or a skipped one fails."""

import os
import re

import pytest

from tdxtest import ROOT, run

QTEST_DIR = ROOT / "build/qemu/tests/qtest"
QEMU = os.environ.get("TDX_EMU_QEMU",
                      ROOT / "build/qemu/qemu-system-x86_64")
GUEST = ROOT / "build/guest/guest/tdx-emu-guest.bin"
ENV = dict(os.environ, QTEST_QEMU_BINARY=str(QEMU),
           TDX_EMU_GUEST_IMAGE=str(GUEST))
TAP = re.compile(r"^(ok|not ok) \d+ (\S+)(.*)$")
_results = {}


def _cases():
    """(binary, case path) for every case each binary lists; a binary
    that lists none is one failing case (""), and so is no binary."""
    binaries = sorted(QTEST_DIR.glob("tdx-emu-*test"))
    if not binaries:
        yield pytest.param(QTEST_DIR / "tdx-emu-*test", "",
                           id="no qtest binaries: run ./tdx-emu build")
    for binary in binaries:
        listed = run([binary, "-l"], timeout=60, env=ENV)
        paths = [line for line in listed.out.splitlines()
                 if line.startswith("/")]
        for path in paths or [""]:
            yield pytest.param(binary, path, id=f"{binary.name}:{path}",
                               marks=pytest.mark.xdist_group(binary.name))


def _tap(binary):
    if binary not in _results:
        result = run([binary, "--tap", "-k"], timeout=900, env=ENV)
        cases = {}
        for line in result.out.splitlines():
            m = TAP.match(line)
            if m:
                cases[m[2]] = (m[1], m[3])
        _results[binary] = cases, result
    return _results[binary]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("binary,path", list(_cases()))
def test_qtest(binary, path):
    assert path, f"{binary.name} lists no test cases"
    cases, result = _tap(binary)
    assert path in cases, \
        f"{binary.name} gave no result for {path} (crashed?)\n{result}"
    status, rest = cases[path]
    assert status == "ok", f"{path}: not ok{rest}\n{result.err[-3000:]}"
    assert "# SKIP" not in rest, f"{path}: skipped{rest}"
