# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu gdb (scripts/gdb.py): breakpoints in the stub's C code,
payload symbols where the device found the payload, catchpoints on
TDCALLs; and ./tdx-emu bench end to end."""

import re

from test_boot import stub_moved_to, stub_not_elf


def gdb_session(tdx_emu, *args):
    """./tdx-emu gdb ARGS: the Result, with gdb's output in .err; asserts
    gdb succeeded and the TD then reached WaitForRequest"""
    r = tdx_emu("gdb", *args, timeout=300)
    assert '"gdb_exit": 0, "ready": true' in r.out, r
    return r


def test_gdb(tdx_emu):
    """./tdx-emu gdb --batch: break in C, backtrace, then the TD boots on"""
    r = gdb_session(tdx_emu, "--batch", "hbreak check_vp_info; continue; "
                    "bt; info registers rip; delete")
    assert re.search(r"check_vp_info \(\) at .*guest/main.c", r.err), r
    assert re.search(r"#1  .*guest_main", r.err), r
    assert re.search(r"^rip  *0x[0-9a-f]* *0x[0-9a-f]* <guest_main", r.err,
                     re.M), r


def test_gdb_moved_payload(tdx_emu, guest, guest_dir, tmp_path):
    """./tdx-emu gdb: payload symbols at the base query-tdx-emu reports
    (3 MiB)"""
    img = stub_moved_to(guest, guest_dir, tmp_path / "moved-gdb.bin",
                        0x300000)
    r = gdb_session(tdx_emu, "--firmware", img, "--symbols",
                    guest_dir / "tdx-emu-boot.elf",
                    guest_dir / "tdx-emu-payload.elf", "--batch",
                    "hbreak check_vp_info; continue; info registers rip; "
                    "delete")
    assert re.search(r"^symbols: .*tdx-emu-payload.elf -o 0x300000 \(the "
                     r"payload base query-tdx-emu reported\)", r.err,
                     re.M), r
    assert re.search(r"check_vp_info \(\) at .*guest/main.c", r.err), r
    assert re.search(r"^rip  *0x30[0-9a-f]{4} *0x30[0-9a-f]{4} <guest_main",
                     r.err, re.M), r


def test_gdb_catch(tdx_emu):
    """./tdx-emu gdb --catch-vmcall 0x10002: stops right after the
    GetQuote TDCALL (66 0f 01 cc), R11 still names the sub-function"""
    r = gdb_session(tdx_emu, "--catch-vmcall", "0x10002", "--batch",
                    "continue; info symbol $pc; x/4xb $pc-4; p/x $r11")
    assert "SIGTRAP" in r.err, r
    assert re.search(r"^tdcall_insn \+ 4 in section .text", r.err, re.M), r
    assert re.search(r"<tdcall_insn>:.0x66.0x0f.0x01.0xcc", r.err), r
    assert re.search(r"^\$1 = 0x10002", r.err, re.M), r


def test_gdb_symbol_places(tdx_emu, guest, guest_dir, tmp_path):
    """./tdx-emu gdb: another PIE at 1 MiB (td-shim's IPL); @payload with
    an image without a payload ELF refused, saying why"""
    r = gdb_session(tdx_emu, "--symbols", guest_dir / "tdx-emu-boot.elf",
                    "/usr/bin/true", "--batch", "info symbol 0x100000")
    assert re.search(r"^symbols: /usr/bin/true -o 0x100000 \(td-shim's IPL",
                     r.err, re.M), r
    not_elf = stub_not_elf(guest, tmp_path / "not-elf-gdb.bin")
    r = tdx_emu("gdb", "--firmware", not_elf, "--symbols",
                f"{guest_dir / 'tdx-emu-payload.elf'}@payload", "--batch",
                "info registers rip", timeout=300)
    assert r.status != 0, r
    assert re.search(r"no payload base for .*\(no payload ELF in it\); "
                     r"pass --symbols", r.out + r.err), r


def test_bench_smoke(tdx_emu):
    """./tdx-emu bench --runs 1 reports every figure (no timing goal)"""
    b = tdx_emu("bench", "--runs", "1", timeout=600)
    assert b.status == 0, b
    r = b.json
    assert r["tdcall"]["ratio"]["runs"] == 1 and \
        r["tdcall"]["tdcall_ns"]["min"] > 0, r
    # a timeout never ends early (the bench reports how late)
    assert r["timeout_1ms"]["real_ms"]["min"] >= 1 and \
        r["timeout_1ms"]["guest_ms"]["min"] >= 1, r
    assert r["boot_stub_s"]["runs"] == 1 and \
        r["premigration_s"]["runs"] == 1, r
    assert r["stream_mb_s"]["runs"] == 1, r
    assert sorted(r["getquote_s"]) == ["fake IMDS", "fake QGS", "test PKI"]
    assert all(q["min"] > 0 for q in r["getquote_s"].values()), r
