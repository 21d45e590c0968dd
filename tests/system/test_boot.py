# SPDX-License-Identifier: GPL-2.0-or-later
"""Booting TDs: the guest stub's checks, its image layouts and MRTD,
./tdx-emu run (until ready, SMP, crashes, dead TDs), OVMF, where the
payload is found, and the stub's transports."""

import json
import os
import re

import pytest

from tdxtest import ROOT, patched, python, read, run

TD_CPU = ["-cpu", "max,phys-bits=48"]
DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=1"]
STUB_CFV = 0xf000
IMAGE_BASE = 0xfffc0000
STUB_PAYLOAD_ELF = 0xfffd0000 - IMAGE_BASE + 0x64   # in the Payload FV
AP_LOOP = ("ok - every AP arrives at td-shim's mailbox, checks in and "
           "moves to the relocated AP loop")
OVMF = os.environ.get("OVMF", "/usr/share/ovmf/OVMF.fd")
STUB_PASSED = re.compile(r"tdx-emu guest: [1-9][0-9]* passed, 0 failed")


def guest_exit(qemu, guest_args, serial, *args):
    """The stub run to its isa-debug-exit: status (code << 1) | 1, see
    guest/result.h; its serial console in serial."""
    return run([qemu, *guest_args, *DEBUG_EXIT, "-serial", f"file:{serial}",
                *args])


@pytest.fixture(scope="module")
def stub_run(qemu, guest_args, tmp_path_factory):
    """The stub on tdx-emu to its exit: (Result, serial log text)."""
    serial = tmp_path_factory.mktemp("stub") / "serial.log"
    r = guest_exit(qemu, guest_args, serial, *TD_CPU, "-device", "tdx-emu")
    return r, read(serial)


def test_guest_passes(stub_run):
    """guest stub passes its TDCALL checks (isa-debug-exit)"""
    r, serial = stub_run
    assert r.status == 33 and "RESULT: PASS" in serial, f"{r}\n{serial[-2000:]}"


def test_guest_without_device_ud(qemu, guest_args, tmp_path):
    """guest stub without tdx-emu: TDCALL raises #UD"""
    serial = tmp_path / "serial.log"
    r = guest_exit(qemu, guest_args, serial, *TD_CPU)
    assert r.status == 37 and "TDCALL raised #UD" in read(serial), \
        f"{r}\n{read(serial)[-2000:]}"


def mrtd_of(tdx_emu, image):
    inspected = tdx_emu("inspect", image, timeout=60)
    assert inspected.status == 0, inspected
    independent = python(ROOT / "tests/tools/mrtd.py", image, timeout=60)
    assert independent.status == 0, independent
    return json.loads(inspected.out), independent.out.strip()


def test_mrtd(tdx_emu, guest, stub_run):
    """MRTD: ./tdx-emu inspect = independent computation = guest TDREPORT"""
    inspected, independent = mrtd_of(tdx_emu, guest)
    m = re.search(r"^  MRTD ([0-9a-f]*)", stub_run[1], re.M)
    reported = m[1] if m else None
    assert inspected["mrtd"] and \
        inspected["mrtd"] == independent == reported, \
        (inspected["mrtd"], independent, reported)


@pytest.mark.parametrize("variant", ["tempmem-ram", "gpaw52"])
def test_image_layout(variant, tdx_emu, guest_dir, tmp_path):
    """image layout VARIANT: boots, MRTD = inspect = tests/tools/mrtd.py
    (TempMem in RAM with a split PermMem, MigTD #894; a TdParams section
    asking for GPAW 52, which runs with GPAW 52)"""
    img = guest_dir / f"tdx-emu-guest-{variant}.bin"
    inspected, mrtd = mrtd_of(tdx_emu, img)
    r = tdx_emu("run", "--firmware", img, "--smp", "2", "--until-ready",
                "--timeout", "60", "--log-dir", tmp_path)
    assert r.status == 0, r
    serial = read(tmp_path / "serial.log")
    assert STUB_PASSED.search(serial), serial[-2000:]
    assert inspected["mrtd"] == r.json["mrtd"] == mrtd, \
        (inspected["mrtd"], r.json, mrtd)
    kinds = [(s["name"], s["address"], s["size"])
             for s in inspected["sections"]]
    if variant == "tempmem-ram":
        assert ("TempMem", 0x7DF000, 0x21000) in kinds, kinds
        assert [k for k in kinds if k[0] == "PermMem"] == [
            ("PermMem", 0, 0x7DF000), ("PermMem", 0x800000, 0x1800000)], \
            kinds
    if variant == "gpaw52":
        assert ("TdParams", 0, 0) in kinds, kinds
        assert inspected["td_params"]["gpaw"] == 52, inspected["td_params"]
        assert "TDG.VP.INFO: gpaw 52," in serial, "not GPAW 52"


def test_gpaw52_refused(tdx_emu, guest_dir):
    """an image whose TD_PARAMS asks for GPAW 52 is refused at gpaw=48"""
    r = tdx_emu("qemu", "-M", "q35", "-accel", "tcg", "-cpu",
                "max,phys-bits=52", "-display", "none", "-nodefaults", "-S",
                "-bios", guest_dir / "tdx-emu-guest-gpaw52.bin",
                "-device", "tdx-emu", timeout=60)
    assert r.status not in (0, 124), f"started: {r}"
    assert ("TD_PARAMS (TdParams section) asks for GPAW 52, the device "
            "has gpaw=48") in r.out + r.err, r


def test_inspect_not_tdvf(tdx_emu):
    """./tdx-emu inspect of a non-TDVF image fails clearly"""
    r = tdx_emu("inspect", "/usr/share/seabios/bios-256k.bin", timeout=60)
    assert r.status != 0, f"succeeded: {r}"
    assert "has no TDVF metadata" in r.out + r.err, r


def test_run_until_ready(tdx_emu, guest, tmp_path):
    """./tdx-emu run --until-ready: the TD waits for a request"""
    r = tdx_emu("run", "--until-ready", "--timeout", "60", "--log-dir",
                tmp_path)
    assert r.status == 0, r
    run_ = r.json
    mrtd = python(ROOT / "tests/tools/mrtd.py", guest).out
    assert run_["ready"] is True, run_
    assert run_["mrtd"] == mrtd.strip(), (run_["mrtd"], mrtd)
    assert run_["tdcalls"]["TDG.VP.VMCALL<MigTD>"] == 1, run_["tdcalls"]
    assert run_["tdcalls"]["TDG.MEM.PAGE.ACCEPT"] >= 2048, run_["tdcalls"]
    assert len(run_["rtmr"]) == 4


@pytest.mark.timeout(300)
def test_ovmf_shell(tdx_emu, tmp_path):
    """Debian trixie's OVMF (edk2 2025.02, firmware/ovmf_image.py) boots as
    a TD, with NO_RBP_MOD and #VE as KVM and the TDX module give it, to the
    UEFI shell on its TDX path: CPUID 0x21, accepted memory,
    #VE.RequestMMIO, its #VE handler, RTMR measurements"""
    ovmf = python(ROOT / "firmware/ovmf_image.py", timeout=900)
    assert ovmf.status == 0, ovmf
    r = tdx_emu("run", "--firmware", ovmf.out.strip(), "--memory", "1G",
                "--until-serial", "Shell>", "--timeout", "180",
                "--log-dir", tmp_path, timeout=240)
    assert r.status == 0, r
    run_ = r.json
    calls = run_["tdcalls"]
    assert run_["ready"] is True, run_
    assert calls["TDG.VP.INFO"] > 0, calls
    assert calls["TDG.VP.VEINFO.GET"] > 0, calls
    assert calls["TDG.MR.RTMR.EXTEND"] > 0, calls
    assert calls["TDG.MEM.PAGE.ACCEPT"] > 0, calls
    assert calls["TDG.VP.VMCALL<#VE.RequestMMIO>"] > 0, calls
    assert calls["TDG.VP.VMCALL<Instruction.RDMSR>"] > 0, calls
    assert calls["TDG.VP.VMCALL<MapGPA>"] > 0, calls


def test_ovmf_no_rbp_mod(tdx_emu, tmp_path):
    """Debian 12's OVMF (edk2 2022.11, $OVMF) still exposes RBP to
    TDG.VP.VMCALL (mask 0xffec): with NO_RBP_MOD, as KVM creates every TD,
    its first TDG.VP.VMCALL is refused and run names the cause at once;
    with --rbp-mod it reaches the shell"""
    r = tdx_emu("run", "--firmware", OVMF, "--memory", "1G", "--rbp-mod",
                "--until-serial", "Shell>", "--timeout", "180",
                "--log-dir", tmp_path, timeout=240)
    assert r.status == 0 and r.json["ready"] is True, r
    r = tdx_emu("run", "--firmware", OVMF, "--memory", "1G",
                "--until-serial", "Shell>", "--timeout", "180",
                "--log-dir", tmp_path, timeout=240)
    assert r.status != 0, r
    assert not r.json["ready"], r.json
    assert "RCX exposing RBP (NO_RBP_MOD)" in r.json["reason"], r.json
    assert "0xc000010000000001" in r.json["reason"], r.json


def stub_moved_to(guest, guest_dir, dst, base):
    """The stub told (one word patched) to load its payload at base."""
    nm = run(["nm", guest_dir / "tdx-emu-boot.elf"], timeout=30)
    m = re.search(r"^([0-9a-f]+) T payload_load_base$", nm.out, re.M)
    assert m, nm
    return patched(guest, dst, int(m[1], 16) - IMAGE_BASE,
                   base.to_bytes(4, "little"))


def stub_not_elf(guest, dst):
    """A Payload without an x86-64 ELF64 (the ELF class byte changed,
    which the stub's loader does not check)"""
    return patched(guest, dst, STUB_PAYLOAD_ELF + 4, b"\x01")


@pytest.mark.parametrize("base", [0x100000, 0x300000], ids=hex)
def test_payload_found(base, tdx_emu, guest, guest_dir, tmp_path):
    """query-tdx-emu payload: found where the firmware loaded it"""
    firmware = guest if base == 0x100000 else \
        stub_moved_to(guest, guest_dir, tmp_path / "moved.bin", base)
    r = tdx_emu("run", "--firmware", firmware, "--until-ready",
                "--timeout", "60")
    assert r.status == 0, r
    (tmp_path / "payload.json").write_text(r.out)
    check = python(ROOT / "tests/tools/payload.py", tmp_path / "payload.json",
                   guest_dir / "tdx-emu-payload.elf", hex(base))
    assert check.status == 0, f"{check}\n{r.out}"


def tool(name, qemu, guest, tmp_path):
    """A check that is one tool of tests/tools: TOOL QEMU GUEST LOGDIR"""
    r = python(ROOT / "tests/tools" / name, qemu, guest, tmp_path)
    assert r.status == 0, r


def test_payload_reset(qemu, guest, tmp_path):
    """query-tdx-emu payload: a reset forgets the base, the next boot
    finds it"""
    tool("payload_reset.py", qemu, guest, tmp_path)


def test_stub_requests(qemu, guest, tmp_path):
    """guest stub MigTD: get-td-report, get-migtd-data, enable-log-area"""
    tool("requests.py", qemu, guest, tmp_path)


def test_payload_not_elf(tdx_emu, guest, tmp_path):
    """query-tdx-emu payload: none for a Payload that is not an ELF64"""
    img = stub_not_elf(guest, tmp_path / "not-elf.bin")
    r = tdx_emu("run", "--firmware", img, "--until-ready", "--timeout", "60")
    assert r.status == 0, r
    assert re.search(r'"ready": true, .*"payload": null', r.out + r.err), r


@pytest.mark.parametrize("n", [2, 4])
def test_run_smp(n, tdx_emu, tmp_path):
    """./tdx-emu run --smp N --until-ready: the N-1 APs check in through
    td-shim's mailbox in TempMem, every check passes"""
    r = tdx_emu("run", "--smp", str(n), "--until-ready", "--timeout", "60",
                "--log-dir", tmp_path)
    serial = read(tmp_path / "serial.log")
    assert r.status == 0 and '"ready": true' in r.out, r
    aps = re.findall(r"^  AP [0-9]* checked in: x2APIC ID", serial, re.M)
    assert len(aps) == n - 1, serial[-3000:]
    assert AP_LOOP in serial, serial[-3000:]
    assert STUB_PASSED.search(serial), serial[-3000:]


def crash_image(guest, tmp_path):
    """The stub in crash mode (CFV "tdx-emu crash")"""
    return patched(guest, tmp_path / "crash.bin", STUB_CFV, b"tdx-emu crash")


def test_run_crash(tdx_emu, guest, tmp_path):
    """./tdx-emu run: a MigTD panic reaches the JSON (crash MSRs with
    --crash-msrs, else ReportFatalError with no message)"""
    img = crash_image(guest, tmp_path)
    r_on = tdx_emu("run", "--firmware", img, "--until-ready", "--timeout",
                   "60", "--crash-msrs")
    r_off = tdx_emu("run", "--firmware", img, "--until-ready", "--timeout",
                    "60")
    on, off = r_on.json, r_off.json
    assert on and off, f"{r_on}\n{r_off}"
    assert on["ready"] is False, on
    assert on["crash"]["parameters"][0] == 0xFF, on
    assert on["crash"]["message"].startswith(
        "Panic: msg: tdx-emu guest stub crash mode"), on
    assert "Panic: msg: tdx-emu guest stub" in on["reason"], on
    assert on["fatal_error"] is None, on        # paused at the crash MSRs
    assert off["crash"] is None, off
    assert off["fatal_error"] == {"code": 0, "message": ""}, off


def test_run_pending_killed(tdx_emu, guest, tmp_path):
    """./tdx-emu run/migrate: with SEPT_VE_DISABLE (the default attributes)
    a load from a private page never accepted kills the TD, as KVM does:
    QEMU stops (internal-error) and the JSON names the vCPU and GPA"""
    img = patched(guest, tmp_path / "pending.bin", STUB_CFV,
                  b"tdx-emu pending")
    why = "vCPU 0 accessed GPA 0xc01000 before accepting it (SEPT_VE_DISABLE)"
    r = tdx_emu("run", "--firmware", img, "--until-ready", "--timeout", "60")
    assert r.status == 1 and r.json, r
    assert r.json["reason"] == f"the VMM killed the TD: {why}", r
    m = tdx_emu("migrate", "--dst-firmware", img, "--timeout", "60")
    j = m.json
    assert j and j["result"] == "failure" and \
        j["failed_vm"] == "destination" and j["step"] == "boot" and \
        f"the destination TD is dead: the VMM killed it: {why}" in \
        j["error"], m


def test_migrate_crash(tdx_emu, guest, tmp_path):
    """./tdx-emu migrate --crash-msrs: a MigTD panic is the error, with
    its text"""
    img = crash_image(guest, tmp_path)
    r = tdx_emu("migrate", "--firmware", img, "--crash-msrs", "--timeout",
                "60")
    out = r.out.strip().splitlines()[-1] if r.out.strip() else ""
    assert '"result": "failure"' in out, r
    assert ("VM stopped: GUEST_PANICKED: P0 0xff: Panic: msg: tdx-emu "
            "guest stub crash mode") in out, r
    assert '"step": "boot"' in out, r


def test_run_triple_fault(tdx_emu, tmp_path):
    """./tdx-emu run: a triple-faulting TD fails with the reason (lidt of
    the zeros at the image's start, an empty IDT, then ud2)"""
    img = tmp_path / "ud2.bin"
    img.write_bytes(bytes(65520) + bytes.fromhex("0f011d0000ffff0f0b") +
                    bytes(7))
    r = tdx_emu("run", "--firmware", img, "--until-ready", "--timeout", "30")
    assert r.status not in (0, 124), f"succeeded: {r}"
    assert "triple fault" in r.out + r.err, r


@pytest.mark.parametrize("mode,want", [
    ("triple-fault", "triple fault (the guest reset itself)"),
    ("power-off", "the guest powered itself off")])
def test_dead_td(mode, want, tdx_emu, tmp_path):
    """./tdx-emu run/migrate: a TD that dies (tests/tools/dead-td.py) is
    reported at once, naming the last failed VMCALL"""
    img = tmp_path / f"dead-{mode}.bin"
    call = ("the last failed TDG.VP.VMCALL: unknown (R11 0x0) returned "
            "0x8000000000000000")
    made = python(ROOT / "tests/tools/dead-td.py", mode, img)
    assert made.status == 0, made
    r = tdx_emu("run", "--firmware", img, "--until-ready", "--timeout", "30",
                timeout=60)
    assert r.status != 0, f"run succeeded: {r}"
    assert f"tdx-emu run: {want}; {call}" in r.out + r.err, r
    m = tdx_emu("migrate", "--dst-firmware", img, "--timeout", "30",
                timeout=60)
    j = m.json
    assert j and j["result"] == "failure" and \
        j["failed_vm"] == "destination" and j["step"] == "boot" and \
        f"the destination TD is dead: {want}; {call}" in j["error"], m


def test_dead_td_reason():
    """run/migrate: vCPU 0 parked reads as a dead TD naming the last
    failed VMCALL (the device side is qtest mailbox/vcpu-parked)"""
    from run import failure         # scripts/run.py

    class VM:
        events = [{"event": "TDX_EMU_VCPU_PARKED", "data": {"cpu-index": 1}}]
    assert failure(VM, {}) is None
    VM.events.append({"event": "TDX_EMU_VCPU_PARKED", "data": {
        "cpu-index": 0, "last-failed-vmcall": {
            "cpu-index": 0, "name": "#VE.RequestMMIO", "subfunction": 0x30,
            "status": 0x8000000000000000}}})
    why = failure(VM, {})
    assert why.startswith("the TD is dead: vCPU 0 halted"), why
    assert "#VE.RequestMMIO (R11 0x30) returned 0x8000000000000000" in why, \
        why


def test_virtio_td(qemu, guest, vm):
    """tdx-emu: virtio devices are modern-only with ACCESS_PLATFORM
    (default after it, refused before it)"""
    base = ["-machine", "q35,smm=off", "-accel", "tcg", "-m", "32M",
            "-nodefaults", "-display", "none", "-S", "-bios", guest, *TD_CPU]
    v = vm([*base, "-device", "tdx-emu", "-device",
            "virtio-serial-pci,id=vs"])
    assert v.command("qom-get", path="/machine/peripheral/vs",
                     property="disable-legacy") == "on"
    assert v.command("qom-get", path="/machine/peripheral/vs/virtio-backend",
                     property="iommu_platform") is True
    r = run([qemu, *base, "-device", "virtio-serial-pci", "-device",
             "tdx-emu"], timeout=30)
    assert r.status not in (0, 124), r
    assert "must be modern-only and offer ACCESS_PLATFORM" in r.out + r.err, r


def test_image_transport_marks(guest_dir, tmp_path):
    """migrate: an image's transport from the stub's mark or a MigTD
    payload's transport crate, none when unsure (migtd/transports.py)"""
    from transports import TRANSPORTS, image_transport, stub_image
    for t in TRANSPORTS:
        assert image_transport(stub_image(str(guest_dir), t))[0] == t, t

    def fake(*paths):
        img = tmp_path / "fake-migtd.bin"
        img.write_bytes(b"\xff" * 4096 +
                        b"\0".join(p.encode() for p in paths))
        return image_transport(str(img))[0]
    assert fake("src/devices/virtio_serial/src/lib.rs",
                "src/devices/virtio/src/virtqueue.rs") == "virtio-serial"
    assert fake("src/devices/vsock/src/transport/vmcall.rs",
                "src/devices/vsock/src/stream.rs") == "vmcall-vsock"
    assert fake("src/devices/vsock/src/transport/virtio_pci.rs") == \
        "virtio-vsock"
    assert fake("src/devices/vmcall_raw/src/stream.rs") == "vmcall-raw"
    assert fake("src/migtd/src/main.rs") is None
    assert fake("src/devices/vmcall_raw/src/stream.rs",
                "src/devices/virtio_serial/src/lib.rs") is None


def test_vsock_stream(tmp_path):
    """guest stub vsock stream (guest/vsock.c) on the host against a
    scripted peer: connect, credit, a foreign stream's packets dropped,
    credit request, SHUTDOWN/RST, refused connect"""
    exe = tmp_path / "vsock-stream-test"
    cc = run(["cc", "-Wall", "-Wextra", "-Werror", f"-I{ROOT}/guest",
              "-DSTUB_TRANSPORT=2", '-DSTUB_TRANSPORT_NAME="virtio-vsock"',
              "-o", exe, ROOT / "tests/tools/vsock-stream-test.c",
              ROOT / "guest/vsock.c"], timeout=120)
    assert cc.status == 0, cc
    r = run([exe], timeout=60)
    assert r.status == 0 and "vsock stream: all checks passed" in r.out + r.err, r
