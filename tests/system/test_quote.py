# SPDX-License-Identifier: GPL-2.0-or-later
"""The guest stub's GetQuote through each backend: QGS
(scripts/fake-qgs.py) and IMDS (scripts/fake-imds.py) in each of their
moods, IMDS with the report from a vTPM (swtpm), and the test PKI,
whose quotes pass check-quote.py and an independent DCAP verifier
(@phala/dcap-qvl) in each platform state it can be set to."""

import hashlib
import os
import re
import socket
import subprocess
import time

import pytest

from tdxtest import PYTHON, ROOT, python, read, run

QUOTE_CPU = ["-cpu", "max,phys-bits=48,vendor=GenuineIntel"]
DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=1"]
QVL_NODE_MODULES = os.environ.get("QVL_NODE_MODULES",
                                  str(ROOT / "build/qvl/node_modules"))


def quote_guest(qemu, guest_args, serial, backend):
    """The stub with the quote backend -object backend; its serial log"""
    run([qemu, *guest_args, *QUOTE_CPU, "-object", backend,
         "-device", "tdx-emu,quote=q", *DEBUG_EXIT,
         "-serial", f"file:{serial}"])
    return read(serial)


def wait_for(path, test):
    for _ in range(50):
        if test(path):
            return
        time.sleep(0.1)


def expect_get_quote(serial, want):
    """The guest's serial log says "GetQuote: want" """
    assert f"GetQuote: {want}" in serial, \
        "\n".join(line for line in serial.splitlines() if "GetQuote" in line)


@pytest.mark.parametrize("mode,want,props", [
    ("ok", "quote of 58 bytes", ""),
    ("slow", "quote of 58 bytes", ""),
    ("error", "status 0x8000000000000000", ""),
    ("garbage", "status 0x8000000000000000", ""),
    ("disconnect", "status 0x8000000000000001", ""),
    ("drip", "status 0x8000000000000001", ",timeout-ms=2000")],
    ids=["ok", "slow", "error", "garbage", "disconnect",
         "drip-timeout-ms=2000"])
def test_get_quote_qgs(mode, want, props, qemu, guest_args, tmp_path):
    """guest GetQuote, QGS backend, against fake-qgs.py in mode MODE (one
    byte a second when it drips): the guest prints what its buffer said"""
    sock = tmp_path / "qgs.sock"
    qgs = subprocess.Popen([PYTHON, ROOT / "scripts/fake-qgs.py", sock,
                            "--mode", mode, "--delay", "1", "--count", "1"])
    try:
        wait_for(sock, lambda p: p.is_socket())
        serial = quote_guest(qemu, guest_args, tmp_path / "serial.log",
                             f"tdx-quote-qgs,id=q,addr={sock}{props}")
    finally:
        qgs.kill()
        qgs.wait()
    expect_get_quote(serial, want)


def imds_guest(qemu, guest_args, tmp_path, mode, props, name="serial.log"):
    """The stub with tdx-quote-imds (extra properties props) against
    fake-imds.py in mode, serving one request; its serial log"""
    port = tmp_path / f"{name}.port"
    imds = subprocess.Popen([PYTHON, ROOT / "scripts/fake-imds.py", "0",
                             "--port-file", port, "--mode", mode,
                             "--delay", "1", "--count", "1"])
    try:
        wait_for(port, lambda p: p.exists() and p.stat().st_size > 0)
        url = f"http://127.0.0.1:{read(port).strip()}/acc/tdquote"
        return quote_guest(qemu, guest_args, tmp_path / name,
                           f"tdx-quote-imds,id=q,url={url}{props}")
    finally:
        imds.kill()
        imds.wait()


@pytest.mark.parametrize("mode,want,props", [
    ("ok", "quote of 58 bytes", ""),
    ("slow", "quote of 58 bytes", ""),
    ("refuse", "status 0x8000000000000000", ""),
    ("outage", "status 0x8000000000000001", ""),
    ("garbage", "status 0x8000000000000000", ""),
    ("disconnect", "status 0x8000000000000001", ""),
    ("slow", "status 0x8000000000000001", ",timeout-ms=300"),
    ("huge", "status 0x8000000000000000", "")],
    ids=["ok", "slow", "refuse", "outage", "garbage", "disconnect",
         "slow-timeout-ms=300", "huge"])
def test_get_quote_imds(mode, want, props, qemu, guest_args, tmp_path):
    """guest GetQuote, IMDS backend, against fake-imds.py in mode MODE"""
    serial = imds_guest(qemu, guest_args, tmp_path, mode, props)
    expect_get_quote(serial, want)


def free_port_pair():
    """port, port + 1 both free (the swtpm TCTI takes the control channel
    at port + 1)"""
    for port in range(23000, 24000, 2):
        try:
            for p in (port, port + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    pytest.fail("no two free ports in 23000-24000")


def test_get_quote_imds_vtpm(qemu, guest_args, tmp_path):
    """guest GetQuote, IMDS backend, report from the vTPM (swtpm): the
    quoted report is the one in NV index 0x01400001, not the guest's;
    without that index the quote is unavailable"""
    port = free_port_pair()
    state = tmp_path / "swtpm"
    state.mkdir()
    log = open(tmp_path / "swtpm.log", "w")
    tpm = subprocess.Popen(
        ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={state}",
         "--server", f"type=tcp,port={port},bindaddr=127.0.0.1",
         "--ctrl", f"type=tcp,port={port + 1},bindaddr=127.0.0.1",
         "--flags", "not-need-init,startup-clear"], stdout=log, stderr=log)
    env = dict(os.environ, TPM2TOOLS_TCTI=f"swtpm:host=127.0.0.1,port={port}")
    try:
        hw = bytes(range(256)) * 4
        hcl = b"HCLA" + bytes([2, 0, 0, 0, 0xc0, 4, 0, 0, 4, 0, 0, 0]) + \
            bytes(16)
        (tmp_path / "hcl.bin").write_bytes(hcl + hw + bytes(160))
        for _ in range(50):
            if run(["tpm2_getcap", "properties-fixed"], timeout=10,
                   env=env).status == 0:
                break
            time.sleep(0.1)
        r = run(["tpm2_nvdefine", "0x01400001", "-C", "o", "-s", "1216",
                 "-a", "ownerwrite|ownerread|authread"], timeout=30, env=env)
        assert r.status == 0, r
        r = run(["tpm2_nvwrite", "0x01400001", "-C", "o", "-i",
                 tmp_path / "hcl.bin"], timeout=30, env=env)
        assert r.status == 0, r
        props = f",report-source=vtpm,tcti=swtpm:host=127.0.0.1,,port={port}"
        with_index = imds_guest(qemu, guest_args, tmp_path, "ok", props,
                                "vtpm.1")
        run(["tpm2_nvundefine", "0x01400001", "-C", "o"], timeout=30, env=env)
        without = imds_guest(qemu, guest_args, tmp_path, "ok", props,
                             "vtpm.2")
    finally:
        tpm.kill()
        tpm.wait()
        log.close()
    want = (b"FAKE-QUOTE" + hashlib.sha384(hw).digest()).hex()
    assert any(line.startswith(f"QUOTE {want}")
               for line in with_index.splitlines()), \
        with_index[-2000:] + read(tmp_path / "swtpm.log")
    assert "GetQuote: status 0x8000000000000001" in without, without[-2000:]


@pytest.fixture(scope="module")
def testpki(qemu, guest_args, tmp_path_factory):
    """Two stub runs on one test PKI: (its dir, the first run's root CA,
    the second run's serial log path)"""
    d = tmp_path_factory.mktemp("testpki")
    pki = d / "pki"
    roots = []
    for n in (1, 2):
        quote_guest(qemu, guest_args, d / f"testpki.log.{n}",
                    f"tdx-quote-testpki,id=q,dir={pki}")
        roots.append((pki / "root-ca.der").read_bytes()
                     if (pki / "root-ca.der").exists() else None)
    return pki, roots, d / "testpki.log.2"


def flip(src, at, dst):
    data = bytearray(src.read_bytes())
    data[at] ^= 1
    dst.write_bytes(data)
    return dst


@pytest.mark.xdist_group("testpki")
def test_get_quote_testpki(testpki, tmp_path):
    """guest GetQuote, test PKI: the quote passes check-quote.py, a flipped
    bit fails it (MRSIGNERSEAM in the signed body, the QE report the PCK
    key signed, the report's MRTD); a second VM reuses the same PKI"""
    pki, roots, serial = testpki
    lines = dict(line.split(" ", 1) for line in read(serial).splitlines()
                 if " " in line)
    q, r = tmp_path / "quote.bin", tmp_path / "tdreport.bin"
    q.write_bytes(bytes.fromhex(lines["QUOTE"].strip()))
    r.write_bytes(bytes.fromhex(lines["TDREPORT"].strip()))
    root = pki / "root-ca.der"
    assert roots[0] is not None and roots[0] == roots[1], "PKI not reused"

    def check(*args):
        return python(ROOT / "scripts/check-quote.py", *args,
                      "--root-ca", root, timeout=60)
    ok = check(q, "--report", r)
    assert ok.status == 0, ok
    assert check(flip(q, 200, tmp_path / "q.body")).status != 0
    assert check(flip(q, 840, tmp_path / "q.qe")).status != 0
    assert check(q, "--report", flip(r, 530, tmp_path / "r.mrtd")) \
        .status != 0


def qvl_verify(serial, root, *expect):
    assert os.path.isdir(f"{QVL_NODE_MODULES}/@phala/dcap-qvl"), \
        f"no verifier in {QVL_NODE_MODULES}: ./tdx-emu test installs it"
    return run(["node", ROOT / "tests/tools/qvl-verify.js", serial, root,
                *expect], timeout=120,
               env=dict(os.environ, NODE_PATH=QVL_NODE_MODULES))


@pytest.mark.xdist_group("testpki")
def test_get_quote_dcap_qvl(testpki):
    """guest GetQuote + GetCollateral, test PKI: dcap-qvl verifies the
    quote (UpToDate) trusting only the test root
    (tests/tools/qvl-verify.js)"""
    pki, _, serial = testpki
    r = qvl_verify(serial, pki / "root-ca.der")
    assert r.status == 0, r
    assert re.search(r"GetCollateral: [0-9]* bytes for the platform CA",
                     read(serial)), read(serial)[-2000:]


PLATFORM_STATES = [
    ("tcb-status=SWHardeningNeeded", "SWHardeningNeeded"),
    ("tcb-status=ConfigurationNeeded", "ConfigurationNeeded"),
    ("tcb-status=OutOfDate", "OutOfDate"),
    ("tcb-status=Revoked", "dcap-qvl: TCB status is invalid: Revoked"),
    ("pck-revoked=on", "dcap-qvl: Certificate is revoked"),
    ("collateral-expired=on", "dcap-qvl: TCBInfo expired"),
    ("tdx-module-svn=5",
     "policy: TDX module: TDXModuleSVN 5 is not greater-or-equal 6"),
    ("tdx-module-svn=7", "module: no TDX_01 level at or below SVN 6")]


@pytest.mark.xdist_group("testpki")
@pytest.mark.parametrize("props,want", PLATFORM_STATES,
                         ids=[p for p, _ in PLATFORM_STATES])
def test_testpki_platform_state(props, want, testpki, qemu, guest_args,
                                tmp_path):
    """test PKI, PROPS: what the verifiers make of each platform state
    (docs/quote.md): dcap-qvl's TCB status or error, Intel's TDX module
    check, MigTD's policy on what Intel's QvE reports"""
    pki = testpki[0]
    serial = tmp_path / "state.log"
    quote_guest(qemu, guest_args, serial,
                f"tdx-quote-testpki,id=q,dir={pki},{props}")
    r = qvl_verify(serial, pki / "root-ca.der", want)
    assert r.status == 0, r
