# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu migrate: MigTD pre-migration between two guest stubs
(transports, SMP, rebinding, the log area, bad peers, lost VMs,
GetQuote backends)."""

import base64
import os
import re
import signal
import threading
import time

import pytest

from tdxtest import misbehaving_peer, read, run

AP_LOOP = ("ok - every AP arrives at td-shim's mailbox, checks in and "
           "moves to the relocated AP loop")


def migrate(tdx_emu, *args, timeout=300):
    """./tdx-emu migrate ARGS: (its JSON line or None, the Result)"""
    r = tdx_emu("migrate", *args, timeout=timeout)
    try:
        return r.json, r
    except ValueError:
        return None, r


def test_migrate(tdx_emu, tmp_path):
    """./tdx-emu migrate: pre-migration succeeds, keys match"""
    j, r = migrate(tdx_emu, "--timeout", "120", "--log-dir", tmp_path)
    assert j and j["result"] == "success" and j["keys_match"] and \
        j["source"]["result"] == 0 and j["destination"]["result"] == 0, r


def test_migrate_version_mismatch(tdx_emu):
    """./tdx-emu migrate: mismatched versions fail on both sides"""
    j, r = migrate(tdx_emu, "--timeout", "120", "--dst-device-props",
                   "min-import-version=1,max-import-version=1")
    assert j and j["result"] == "failure" and \
        j["source"]["result_name"] == "InvalidParameter" and \
        j["destination"]["result_name"] == "InvalidParameter" and \
        not j["keys_match"], r


def test_migrate_smp(tdx_emu, tmp_path):
    """./tdx-emu migrate --smp 2: APs check in on both sides, keys match"""
    j, r = migrate(tdx_emu, "--smp", "2", "--timeout", "120", "--log-dir",
                   tmp_path)
    assert j and j["result"] == "success" and j["keys_match"] is True, r
    for side in ("source", "destination"):
        assert AP_LOOP in read(tmp_path / f"{side}-serial.log"), side


def test_migrate_rebind(tdx_emu, tmp_path):
    """./tdx-emu migrate --rebind: token approved (REBIND.APPROVE) and
    accepted (TDG.VM.WR), attributes and SERVTD_EXT hash agree"""
    j, r = migrate(tdx_emu, "--rebind", "--timeout", "120", "--log-dir",
                   tmp_path)
    assert j and j["result"] == "success" and j["rebinding"]["rebound"] \
        and j["rebinding"]["token_match"] \
        and j["rebinding"]["ext_hash_match"] \
        and j["rebinding"]["init_tdinfo_from"] == "get-migtd-data" \
        and j["source"]["result"] == j["destination"]["result"] == 0, r


def test_migrate_rebind_bad_init_hash(tdx_emu):
    """./tdx-emu migrate --rebind: an init TDINFO that does not match
    INIT_SERVTD_INFO_HASH fails the new MigTD (PolicyUnsatisfiedError),
    nothing accepted"""
    j, r = migrate(tdx_emu, "--rebind", "--timeout", "120",
                   "--init-servtd-info-hash", "0" * 96)
    assert j and j["result"] == "failure" and \
        j["destination"]["result_name"] == "PolicyUnsatisfiedError" and \
        j["destination"]["reason"].startswith("Error: start_rebinding()") \
        and not j["rebinding"]["rebound"] \
        and not j["rebinding"]["token_match"], r


def test_rebind_init_tdinfo_fallback():
    """migrate --rebind: GetMigtdData answered UnsupportedOperationError is
    a result: the TDINFO comes from GetTDReport (MigTD PR #911); any
    other failure ends the rebinding"""
    import migrate as mig           # scripts/migrate.py
    tdinfo = bytes(range(256)) * 2
    answers = {
        "get-migtd-data": {"status": "failure", "data": "", "result-name":
                           "UnsupportedOperationError"},
        "get-td-report": {"status": "success", "result-name": "Success",
                          "data": base64.b64encode(bytes(512) + tdinfo)
                          .decode()},
    }
    side = mig.Side.__new__(mig.Side)
    side.name = "source"
    side.ask = lambda request_id, kind, deadline: answers[kind]
    assert mig.Side.init_tdinfo(side, 3, 0) == (tdinfo.hex(),
                                                "get-td-report")
    for kind in answers:
        answers[kind] = {"status": "failure", "data": "",
                         "result-name": "TdxModuleError"}
        with pytest.raises(mig.QmpError, match="TdxModuleError"):
            mig.Side.init_tdinfo(side, 3, 0)


def test_logarea_lines(tdx_emu, tmp_path):
    """./tdx-emu migrate --log-dir: NAME-logarea.log with a line per
    log-area entry, each with its request id"""
    d = tmp_path / "debug"
    j, r = migrate(tdx_emu, "--timeout", "120", "--log-level", "debug",
                   "--log-dir", d)
    assert r.status == 0, r
    for side in ("source", "destination"):
        log = read(d / f"{side}-logarea.log")
        for line in (
                r"^entry=[0-9]* vcpu=0 request=1 level=INFO migtd-stub: "
                rf"request 1: start migration as {side}$",
                r"^entry=[0-9]* vcpu=0 request=1 level=DEBUG migtd-stub: "
                r"request 1: operation 1, 56 bytes$",
                r"^entry=1 vcpu=0 request=- level=INFO migtd-stub: "
                r"waiting for requests$"):
            assert re.search(line, log, re.M), (side, line, log[-2000:])
    # At the default level (info) the debug entry of request 1, made
    # after EnableLogArea, is not there
    j, r = migrate(tdx_emu, "--timeout", "120", "--log-dir",
                   tmp_path / "info")
    assert r.status == 0, r
    log = read(tmp_path / "info/source-logarea.log")
    assert "request=1 level=INFO migtd-stub: request 1: start migration" \
        in log, log[-2000:]
    assert "request=1 level=DEBUG" not in log, log[-2000:]


def test_run_logarea(tdx_emu, tmp_path):
    """./tdx-emu run --until-ready --log-dir: td-logarea.log, EnableLogArea
    answered, the level applied from then on (a debug entry before it
    is kept: provisional logs, MigTD a1da894)"""
    r = tdx_emu("run", "--until-ready", "--timeout", "60", "--log-dir",
                tmp_path)
    assert r.status == 0 and '"log_area_result": "Success"' in r.out, r
    log = read(tmp_path / "td-logarea.log")
    assert re.search(r"^entry=[0-9]* vcpu=0 request=1 level=INFO "
                     r"migtd-stub: request 1: log area enabled at level 3$",
                     log, re.M), log
    assert re.search(r"^entry=[0-9]* vcpu=0 request=1 level=DEBUG "
                     r"migtd-stub: request 1: operation 4, 16 bytes$",
                     log, re.M), log
    assert log.count("level=DEBUG") == 1, log


@pytest.mark.parametrize("transport", ["virtio-serial", "virtio-vsock",
                                       "vmcall-vsock"])
def test_migrate_transport(transport, tdx_emu):
    """./tdx-emu migrate --transport T: pre-migration succeeds, keys
    match"""
    j, r = migrate(tdx_emu, "--transport", transport, "--timeout", "120")
    assert j and j["result"] == "success" and j["keys_match"] and \
        j["transport"] == transport, r


def test_vsock_device(qemu, guest, vm):
    """-device tdx-emu-vsock-pci: modern-only with ACCESS_PLATFORM after
    tdx-emu, its guest-cid; refused without tdx-emu or with a reserved
    CID"""
    base = ["-machine", "q35,smm=off", "-accel", "tcg", "-m", "32M",
            "-nodefaults", "-display", "none", "-S", "-bios", guest,
            "-cpu", "max,phys-bits=48"]
    v = vm([*base, "-device", "tdx-emu", "-device",
            "tdx-emu-vsock-pci,id=vv,guest-cid=7"])
    assert v.command("qom-get", path="/machine/peripheral/vv",
                     property="disable-legacy") == "on"
    back = "/machine/peripheral/vv/virtio-backend"
    assert v.command("qom-get", path=back, property="iommu_platform") is True
    assert v.command("qom-get", path=back, property="guest-cid") == 7
    for dev, want in [(["-device", "tdx-emu-vsock-pci"], "needs -device"),
                      (["-device", "tdx-emu", "-device",
                        "tdx-emu-vsock-pci,guest-cid=2"], "is reserved")]:
        r = run([qemu, *base, *dev], timeout=30)
        assert r.status not in (0, 124) and want in r.out + r.err, r


def test_migrate_image_transport(tdx_emu, guest_dir):
    """./tdx-emu migrate --firmware IMG: the transport IMG is built for
    (virtio-serial)"""
    j, r = migrate(tdx_emu, "--firmware",
                   guest_dir / "tdx-emu-guest-virtio-serial.bin",
                   "--timeout", "120")
    assert j and j["result"] == "success" and j["keys_match"] and \
        j["transport"] == "virtio-serial", r


@pytest.mark.parametrize("mode,want,transport", [
    ("disconnect", "VmmCanceled", "vmcall-raw"),
    ("silent", "NetworkError", "vmcall-raw"),
    ("garbage", "InvalidParameter", "vmcall-raw"),
    ("garbage", "InvalidParameter", "virtio-serial"),
    ("garbage", "InvalidParameter", "virtio-vsock"),
    ("garbage", "InvalidParameter", "vmcall-vsock"),
    ("disconnect", "VmmCanceled", "virtio-vsock"),
    ("disconnect", "VmmCanceled", "vmcall-vsock")])
def test_migrate_bad_peer(mode, want, transport, tdx_emu):
    """./tdx-emu migrate --side source against a misbehaving peer
    (tests/tools/peer.py)"""
    with misbehaving_peer(mode) as port:
        j, r = migrate(tdx_emu, "--side", "source", "--peer",
                       f"127.0.0.1:{port}", "--transport", transport,
                       "--timeout", "60")
    assert j and j["result"] == "failure" and \
        j["source"]["result_name"] == want, r


@pytest.mark.parametrize("sig,want", [("STOP", "did not answer"),
                                      ("KILL", "killed by signal 9")])
def test_migrate_vm_lost(sig, want, tdx_emu, tmp_path):
    """./tdx-emu migrate --timeout 20, the destination's QEMU gets SIG
    once both have written their -pidfile: migrate ends (well before the
    60 s kill), its JSON names the destination and WANT; no QEMU is left
    behind"""
    d = tmp_path / "mig"
    stop = threading.Event()

    def watcher():
        for _ in range(1000):
            if stop.is_set():
                return
            try:
                if (d / "source.pid").read_text().strip():
                    pid = int((d / "destination.pid").read_text())
                    os.kill(pid, getattr(signal, f"SIG{sig}"))
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
    w = threading.Thread(target=watcher)
    w.start()
    r = tdx_emu("migrate", "--timeout", "20", "--log-dir", d, timeout=60)
    stop.set()
    w.join()
    left = []
    for pidfile in d.glob("*.pid"):
        try:
            pid = int(pidfile.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            continue
        left.append(pid)
        os.kill(pid, signal.SIGKILL)
    assert r.status not in (0, 124) and not left, \
        f"QEMUs left: {left or 'none'}\n{r}"
    j = r.json
    assert j and j["result"] == "failure" and \
        j["failed_vm"] == "destination" and want in j["error"], r


def test_migrate_quote(tdx_emu, tmp_path):
    """./tdx-emu migrate --quote testpki: both VMs share one test PKI; a
    bad --quote is refused"""
    pki = tmp_path / "pki"
    r = tdx_emu("migrate", "--quote", "testpki", "--pki", pki, timeout=120)
    assert r.status == 0 and '"result": "success"' in r.out, r
    assert sum(f"tdx-quote-testpki,id=q,dir={pki} " in line
               for line in r.err.splitlines()) == 2, r
    assert (pki / "root-ca.der").stat().st_size > 0
    bad = tdx_emu("migrate", "--quote", "qgs", timeout=60)
    assert bad.status != 0, bad
    assert "want testpki, qgs:ADDR or imds" in bad.err, bad
