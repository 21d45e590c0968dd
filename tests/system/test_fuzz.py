# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/fuzz.py on the ASan+UBSan QEMU (docs/security.md): the saved
cases in tests/fuzz-cases replay clean, seed 1 runs without a finding,
and the guest mode (random TDCALLs from the stub) too."""

import json
import re

import pytest

from tdxtest import ROOT, python

FUZZ_CALLS = 100000
GUEST_FUZZ_CALLS = 200000
CASES = sorted((ROOT / "tests/fuzz-cases").glob("*.fuzz"))


def fuzz(qemu_san, out, *args, timeout):
    return python(ROOT / "scripts/fuzz.py", "--qemu", qemu_san, *args,
                  "--out", out, timeout=timeout)


def fuzz_check(qemu_san, tmp_path, want, *args, timeout):
    """fuzz.py with seed 1 and args made want TDCALLs without a finding
    (its JSON and any case file stay in tmp_path)"""
    r = fuzz(qemu_san, tmp_path / "out", "--calls", str(want), "--seed",
             "1", *args, timeout=timeout)
    try:
        calls = json.loads(r.out)["calls"]
    except (ValueError, KeyError, TypeError):
        calls = 0
    clean = calls >= want and '"findings": []' in r.out
    cases = "".join(p.read_text(errors="replace")
                    for p in (tmp_path / "out").glob("*.fuzz"))
    assert clean, f"{r}\n" + "\n".join(cases.splitlines()[-40:])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fuzz_case(case, qemu_san):
    """fuzz case CASE replays clean"""
    r = python(ROOT / "scripts/fuzz.py", "--qemu", qemu_san, "--replay",
               case, timeout=600)
    assert r.status == 0, r


@pytest.mark.timeout(1000)
def test_fuzz(qemu_san, tmp_path):
    """fuzz: 100000 TDCALLs, QMP commands and resets, seed 1: no sanitizer
    report, exit or hang"""
    fuzz_check(qemu_san, tmp_path, FUZZ_CALLS, "--seconds", "900",
               timeout=960)


@pytest.mark.timeout(700)
def test_fuzz_guest(qemu_san, guest, tmp_path):
    """fuzz --guest: 200000 TDCALLs from the guest stub, seed 1: no
    sanitizer report, bad exit or hang"""
    fuzz_check(qemu_san, tmp_path, GUEST_FUZZ_CALLS, "--guest",
               "--guest-image", guest, "--seconds", "600", timeout=660)


def test_fuzz_guest_replay(qemu_san, guest, tmp_path):
    """fuzz --replay of a guest case ("guest SEED CALLS"): clean on the
    stub's TD, a finding when the stub cannot pass (no tdx-emu: it
    exits 37)"""
    args = ('"-machine", "q35,smm=off", "-accel", "tcg", "-display", '
            '"none", "-cpu", "max,phys-bits=48", "-smp", "2", "-m", "64M", '
            '"-nodefaults", "-no-reboot", "-device", '
            '"isa-debug-exit,iobase=0xf4,iosize=1"')
    td, no_td = tmp_path / "td.fuzz", tmp_path / "no-td.fuzz"
    td.write_text(f'args [{args}, "-device", "tdx-emu,attributes=0"]\n'
                  'guest 5 1000\n')
    no_td.write_text(f"args [{args}]\nguest 5 1000\n")

    def replay(case):
        return python(ROOT / "scripts/fuzz.py", "--qemu", qemu_san,
                      "--guest-image", guest, "--replay", case, timeout=300)
    clean = replay(td)
    assert clean.status == 0, clean
    finding = replay(no_td)
    assert finding.status != 0, finding
    said = re.search(r"FAIL: .*no-td.fuzz: the stub exited 37",
                     finding.out + finding.err)
    assert said, finding
