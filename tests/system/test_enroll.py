# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu enroll (migtd/enroll.py) on the stub, whose CFV is an empty
firmware volume: a root CA and MigTD's policy go in as td-shim-enroll
puts them (FFS RAW files from CFV offset 0x78, data after a 24-byte
header, 8-byte aligned); inspect reads them back; enrolling again
replaces a file of the same GUID in place and keeps the others; nothing
outside the CFV changes, so MRTD does not; the image still boots. Bad
images and inputs fail with their message and leave the image as it
was."""

import base64
import datetime
import hashlib
import json
import shutil
import struct
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tdxtest import ROOT, patched

STUB_CFV = 0xf000
POLICY = ROOT / "migtd/policy-testpki.json"
P = "0BE92DC3-6221-4C98-87C1-8EEFFD70DE5A"     # policy
C = "CA437832-4C51-4322-B13D-A21BD0C8FFF6"     # root CA
I = "3F2FB27A-9596-431C-A68D-D3EAB39F8AEB"     # issuer chain


def root_ca(path, cn):
    """A self-signed P-384 certificate (DER) with common name cn"""
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(1))
            .sign(key, hashes.SHA384()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    return path


def enroll_expect(tdx_emu, guest, img, *want):
    """The CFV of img holds, in order, the files want ((GUID, path)...),
    as ./tdx-emu inspect reports them and at td-shim-enroll's offsets;
    MRTD is the stub's. Returns the subject inspect read, if any."""
    got, stub = (tdx_emu("inspect", i, timeout=60) for i in (img, guest))
    assert got.status == 0 and stub.status == 0, f"{got}\n{stub}"
    got, stub = json.loads(got.out), json.loads(stub.out)
    data = img.read_bytes()
    want = [(g, p.read_bytes()) for g, p in want]
    assert got["mrtd"] == stub["mrtd"], "MRTD changed"
    files = got["cfv"]["files"]
    assert [f["guid"] for f in files] == [g for g, _ in want], files
    off = STUB_CFV + 0x78
    for f, (guid, body) in zip(files, want):
        assert f["size"] == len(body) and f["type"] == 1, f
        assert f["sha384"] == hashlib.sha384(body).hexdigest(), f
        assert data[off:off + 16] == uuid.UUID(guid).bytes_le, hex(off)
        assert data[off + 17] == 0xAA and data[off + 23] == 0x07, hex(off)
        assert data[off + 24:off + 24 + len(body)] == body, hex(off)
        off = (off + 24 + len(body) + 7) & ~7
    assert not any(data[off:STUB_CFV + 0x1000]), "free space not zero"
    return next((f["subject"] for f in files if "subject" in f), None)


def test_enroll(tdx_emu, guest, tmp_path):
    """./tdx-emu enroll: root CA + policy into the stub's CFV, read back,
    replaced, boots"""
    out = tmp_path / "enrolled.bin"
    root1 = root_ca(tmp_path / "root1.der", "tdx-emu enroll root 1")
    root2 = root_ca(tmp_path / "root2.der", "tdx-emu enroll root 2")
    policy2 = tmp_path / "policy2.json"
    policy2.write_text('{"id": "00000000-0000-0000-0000-000000000000", '
                       '"policy": []}\n')
    chain = tmp_path / "chain.pem"
    cert = x509.load_der_x509_certificate(root1.read_bytes())
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM) * 2)
    r = tdx_emu("enroll", guest, "--root-ca", root1, "--policy", POLICY,
                "-o", out, timeout=60)
    assert r.status == 0, r
    assert enroll_expect(tdx_emu, guest, out, (P, POLICY), (C, root1)) == \
        "CN=tdx-emu enroll root 1"
    r = tdx_emu("enroll", out, "--policy", policy2, "--issuer-chain", chain,
                timeout=60)
    assert r.status == 0, r
    enroll_expect(tdx_emu, guest, out, (P, policy2), (C, root1), (I, chain))
    r = tdx_emu("enroll", out, "--root-ca", root2, timeout=60)
    assert r.status == 0, r
    assert enroll_expect(tdx_emu, guest, out, (P, policy2), (C, root2),
                         (I, chain)) == "CN=tdx-emu enroll root 2"
    r = tdx_emu("run", "--firmware", out, "--until-ready", "--timeout", "60")
    assert r.status == 0 and '"ready": true' in r.out, r


def test_enroll_testpki(tdx_emu, guest, tmp_path):
    """./tdx-emu enroll --root-ca testpki: the test PKI's root, made once
    in --pki DIR (by QEMU's tdx-quote-testpki) and reused after"""
    out, pki = tmp_path / "enrolled-testpki.bin", tmp_path / "pki"
    r = tdx_emu("enroll", guest, "--root-ca", "testpki", "--pki", pki,
                "-o", out, timeout=120)
    assert r.status == 0, r
    first = (pki / "root-ca.der").read_bytes()
    r = tdx_emu("enroll", out, "--root-ca", "testpki", "--pki", pki,
                timeout=120)
    assert r.status == 0, r
    assert (pki / "root-ca.der").read_bytes() == first
    subject = enroll_expect(tdx_emu, guest, out, (C, pki / "root-ca.der"))
    assert "CN=Intel SGX Root CA" in subject, subject


def cfv_type_at(guest):
    """Where the CFV section's type is in the stub's TDVF descriptor"""
    import enroll                   # migtd/enroll.py
    img = guest.read_bytes()
    d = enroll.tdvf_descriptor(img)
    return next(d + 40 + 32 * i
                for i in range(struct.unpack_from("<I", img, d + 12)[0])
                if struct.unpack_from("<I", img, d + 40 + 32 * i)[0] == 1)


def bad_image(kind, guest, tdx_emu, tmp):
    """The image of each refusal case"""
    img = tmp / "enroll-bad.bin"
    if kind == "seabios":
        shutil.copyfile("/usr/share/seabios/bios-256k.bin", img)
    elif kind == "no-cfv":      # the CFV section's type made TempMem (3)
        patched(guest, img, cfv_type_at(guest), b"\x03")
    elif kind == "fv-length":   # FvLength 0x1000 -> 0
        patched(guest, img, STUB_CFV + 0x21, b"\x00")
    elif kind == "checksum":    # HeaderLength, unsummed
        patched(guest, img, STUB_CFV + 0x30, b"\x79")
    elif kind == "signature":   # "_FVH"
        patched(guest, img, STUB_CFV + 0x28, b"\x00")
    elif kind == "past":        # the first file's size + 64 KiB
        r = tdx_emu("enroll", guest, "--policy", POLICY, "-o", img,
                    timeout=60)
        assert r.status == 0, r
        with open(img, "r+b") as f:
            f.seek(STUB_CFV + 0x78 + 22)
            f.write(b"\x01")
    else:
        shutil.copyfile(guest, img)
    return img


def inputs(tmp):
    """Files the refusal cases pass"""
    ca = root_ca(tmp / "root1.der", "tdx-emu enroll root 1")
    (tmp / "big.json").write_text(json.dumps({"id": "x", "pad": "p" * 4000}))
    (tmp / "root.pem").write_text(
        "-----BEGIN CERTIFICATE-----\n" +
        base64.encodebytes(ca.read_bytes()).decode() +
        "-----END CERTIFICATE-----\n")
    return {"CA": ca, "BIG": tmp / "big.json", "PEM": tmp / "root.pem",
            "POLICY": POLICY}


REFUSALS = [
    ("a non-TDVF image", "seabios", "is not a TDVF image", ["--root-ca", "CA"]),
    ("an image without a CFV", "no-cfv", "has no CFV section",
     ["--root-ca", "CA"]),
    ("files larger than the CFV", "stub", "the CFV is too small: 4096 bytes",
     ["--root-ca", "CA", "--policy", "BIG"]),
    ("a CFV whose FvLength is not its size", "fv-length",
     "malformed firmware volume: FvLength 0x0", ["--root-ca", "CA"]),
    ("a CFV with a bad header checksum", "checksum",
     "malformed firmware volume: bad header checksum", ["--root-ca", "CA"]),
    ("a CFV that is not a firmware volume", "signature",
     "not a firmware volume", ["--root-ca", "CA"]),
    ("a CFV file that runs past the volume", "past", "past the volume",
     ["--root-ca", "CA"]),
    ("a PEM root CA", "stub", "is PEM; MigTD wants DER", ["--root-ca", "PEM"]),
    ("a policy that is not JSON", "stub", "is not JSON", ["--policy", "CA"]),
    ("an issuer chain without a certificate", "stub",
     "holds no PEM certificate", ["--issuer-chain", "POLICY"]),
    ("nothing to enroll", "stub", "nothing to enroll", []),
]


@pytest.mark.parametrize("what,image,want,args", REFUSALS,
                         ids=[c[0].replace(" ", "-") for c in REFUSALS])
def test_enroll_refuses(what, image, want, args, tdx_emu, guest, tmp_path):
    """./tdx-emu enroll refuses WHAT with its message and leaves the image
    as it was"""
    img = bad_image(image, guest, tdx_emu, tmp_path)
    files = inputs(tmp_path)
    before = img.read_bytes()
    r = tdx_emu("enroll", img, *[files.get(a, a) for a in args], timeout=60)
    assert r.status != 0, f"succeeded: {r}"
    assert any(line.startswith("tdx-emu enroll: ") and want in line
               for line in (r.out + r.err).splitlines()), r
    assert img.read_bytes() == before, "the image changed"


def test_inspect_malformed_cfv(tdx_emu, guest, tmp_path):
    """./tdx-emu inspect names what is wrong with a malformed CFV"""
    img = bad_image("checksum", guest, tdx_emu, tmp_path)
    r = tdx_emu("inspect", img, timeout=60)
    assert ('"cfv": {"error": "the CFV is a malformed firmware volume: '
            'bad header checksum"}') in r.out + r.err, r
