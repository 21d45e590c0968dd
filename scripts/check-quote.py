#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check an Intel DCAP TDX v4 quote signed by a test PKI.

Usage:
  check-quote.py QUOTE_FILE --root-ca ROOT.der [--report TDREPORT_FILE]
                 [--report-data HEX]

QUOTE_FILE is a raw quote (version 4, ECDSA P-256 attestation key, TDX,
QE report certification data holding a 3-certificate PEM PCK chain).
No Intel certificate is built in: the chain in the quote must end in a
root CA byte-identical to the DER file given with --root-ca.

Checks, in order: header fields; lengths and structure; root CA equal to
--root-ca and self-signed; intermediate CA signed by the root; PCK leaf
signed by the intermediate; all three certificates valid now; Intel's
certificate profile, which Intel's QVL insists on (every certificate has
an Authority Key Identifier equal to its issuer's Subject Key Identifier
and CRL Distribution Points; the PCK leaf has the SGX extension); QE
report signed by the PCK leaf key; QE report data equal to
SHA-256(attestation key || QE auth data) followed by 32 zero bytes; the
QE report from Intel's TD QE (MRSIGNER DC9E2A7C..., ISVPRODID 2), as
MigTD's policy wants; quote signed by the attestation key; TEE_TCB_SVN
naming a TDX module (major version, byte 1, not 0), as MigTD's policy
wants. With --report, a raw 1024-byte TDREPORT must hold the same values
as the quote's TD report body; with --report-data, the body's report
data must equal HEX, zero-padded to 64 bytes.

Prints "ok: <what>" for each check passed and stops at the first failure
with "FAIL: <reason>".  Exit status: 0 when every check passed, 1 when one
failed, 2 on a usage error or an unreadable file.

Needs only the standard library and python3-cryptography (38 or newer).
"""

import argparse
import dataclasses
import datetime
import hashlib
import re
import struct
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
)

HEADER_SIZE = 48
BODY_SIZE = 584
QUOTE_VERSION = 4
ATT_KEY_ECDSA_P256 = 2
TEE_TYPE_TDX = 0x81
INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")
CERT_DATA_PCK_CHAIN = 5
CERT_DATA_QE_REPORT = 6
ECDSA_SIGNATURE_SIZE = 64
P256_POINT_SIZE = 64
QE_REPORT_SIZE = 384
QE_REPORT_DATA_OFFSET = 320
REPORT_DATA_SIZE = 64
TDREPORT_SIZE = 1024
# Intel's TD quoting enclave (its TD_QE identity; MigTD's production
# policy, config/policy_production_fmspc.json in intel/MigTD)
TD_QE_MRSIGNER = bytes.fromhex(
    "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5")
TD_QE_ISVPRODID = 2
QE_REPORT_MRSIGNER_OFFSET = 128
QE_REPORT_ISVPRODID_OFFSET = 256
SGX_EXTENSION = x509.ObjectIdentifier("1.2.840.113741.1.13.1")

BODY_FIELDS = (
    ("tee_tcb_svn", 16), ("mr_seam", 48), ("mr_signer_seam", 48),
    ("seam_attributes", 8), ("td_attributes", 8), ("xfam", 8),
    ("mr_td", 48), ("mr_config_id", 48), ("mr_owner", 48),
    ("mr_owner_config", 48), ("rtmr0", 48), ("rtmr1", 48), ("rtmr2", 48),
    ("rtmr3", 48), ("report_data", 64),
)

# (quote body field, TDREPORT field name, offset in the TDREPORT);
# each field has the same size in both.
TDREPORT_FIELDS = (
    ("report_data", "REPORTDATA", 128),
    ("tee_tcb_svn", "TEE_TCB_SVN", 264),
    ("mr_seam", "MRSEAM", 280),
    ("mr_signer_seam", "MRSIGNERSEAM", 328),
    ("seam_attributes", "TEE_TCB_INFO.ATTRIBUTES", 376),
    ("td_attributes", "TDINFO.ATTRIBUTES", 512),
    ("xfam", "XFAM", 520),
    ("mr_td", "MRTD", 528),
    ("mr_config_id", "MRCONFIGID", 576),
    ("mr_owner", "MROWNER", 624),
    ("mr_owner_config", "MROWNERCONFIG", 672),
    ("rtmr0", "RTMR0", 720),
    ("rtmr1", "RTMR1", 768),
    ("rtmr2", "RTMR2", 816),
    ("rtmr3", "RTMR3", 864),
)

CHAIN_NAMES = ("PCK leaf", "intermediate CA", "root CA")
PEM_CERT = re.compile(
    rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL)
# What may surround the PEM certificates (DCAP chains end with a NUL).
PEM_FILLER = b" \t\r\n\0"


class CheckFailed(Exception):
    """A check did not pass; the message says why."""


@dataclasses.dataclass
class Quote:
    signed: bytes               # header and body: what the quote signs
    body: dict
    signature: bytes
    attest_key: bytes
    qe_report: bytes
    qe_report_signature: bytes
    qe_auth_data: bytes
    certs: list                 # leaf, intermediate, root


@dataclasses.dataclass
class Cert:
    name: str
    der: bytes
    subject: x509.Name
    issuer: x509.Name
    key: object
    hash_algorithm: object      # None for signatures without a hash
    signature: bytes
    tbs: bytes
    not_before: datetime.datetime   # naive, UTC
    not_after: datetime.datetime
    extensions: x509.Extensions


class Reader:
    """Takes fields in order from bytes, failing on truncation."""

    def __init__(self, data, what):
        self.data = data
        self.what = what
        self.pos = 0

    def take(self, size, field):
        left = len(self.data) - self.pos
        if size > left:
            raise CheckFailed(
                f"{self.what} truncated: {field} needs {size} bytes at "
                f"offset {self.pos}, only {left} left")
        self.pos += size
        return self.data[self.pos - size:self.pos]

    def u16(self, field):
        return struct.unpack("<H", self.take(2, field))[0]

    def u32(self, field):
        return struct.unpack("<I", self.take(4, field))[0]

    def finish(self):
        left = len(self.data) - self.pos
        if left:
            raise CheckFailed(f"{left} unexpected bytes after {self.what}")


def ok(what):
    print(f"ok: {what}", flush=True)


def expect(condition, reason):
    if not condition:
        raise CheckFailed(reason)


def check_header(data):
    header = Reader(data, "quote").take(HEADER_SIZE, "header")
    version, key_type, tee_type = struct.unpack_from("<HHI", header)
    expect(version == QUOTE_VERSION,
           f"quote version {version}, expected {QUOTE_VERSION}")
    expect(key_type == ATT_KEY_ECDSA_P256,
           f"attestation key type {key_type}, expected "
           f"{ATT_KEY_ECDSA_P256} (ECDSA-256 P-256)")
    expect(tee_type == TEE_TYPE_TDX,
           f"TEE type {tee_type:#x}, expected {TEE_TYPE_TDX:#x} (TDX)")
    expect(header[12:28] == INTEL_QE_VENDOR_ID,
           f"QE vendor id {header[12:28].hex()}, expected "
           f"{INTEL_QE_VENDOR_ID.hex()}")
    ok("header: version 4, ECDSA P-256 attestation key, TDX, "
       "Intel QE vendor id")


def take_cert_data(reader, expected_type, what):
    cert_type = reader.u16(f"{what} certification data type")
    expect(cert_type == expected_type,
           f"{what} certification data type {cert_type}, "
           f"expected {expected_type}")
    size = reader.u32(f"{what} certification data size")
    return reader.take(size, f"{what} certification data")


def split_body(body):
    reader = Reader(body, "TD report body")
    return {name: reader.take(size, name) for name, size in BODY_FIELDS}


def load_chain(pem):
    blocks = PEM_CERT.findall(pem)
    expect(not PEM_CERT.sub(b"", pem).strip(PEM_FILLER),
           "PCK certificate chain has data outside PEM certificates")
    expect(len(blocks) == len(CHAIN_NAMES),
           f"PCK certificate chain has {len(blocks)} certificates, "
           f"expected {len(CHAIN_NAMES)}")
    return [load_cert(block, name) for block, name in zip(blocks, CHAIN_NAMES)]


def load_cert(block, name):
    # Malformed DER raises assorted exception types, some only when a field
    # is first read: read here every field the checks use.
    try:
        cert = x509.load_pem_x509_certificate(block)
        return Cert(name, cert.public_bytes(Encoding.DER), cert.subject,
                    cert.issuer, cert.public_key(),
                    cert.signature_hash_algorithm, cert.signature,
                    cert.tbs_certificate_bytes, cert.not_valid_before,
                    cert.not_valid_after, cert.extensions)
    except Exception as err:
        raise CheckFailed(f"{name} certificate unusable "
                          f"({type(err).__name__}: {err})")


def parse_quote(data):
    reader = Reader(data, "quote")
    signed = reader.take(HEADER_SIZE + BODY_SIZE, "header and TD report body")
    sig_size = reader.u32("signature data size")
    sig = Reader(reader.take(sig_size, "signature data"), "signature data")
    reader.finish()
    signature = sig.take(ECDSA_SIGNATURE_SIZE, "quote signature")
    attest_key = sig.take(P256_POINT_SIZE, "attestation key")
    qe = Reader(take_cert_data(sig, CERT_DATA_QE_REPORT, "QE report"),
                "QE report certification data")
    sig.finish()
    qe_report = qe.take(QE_REPORT_SIZE, "QE report")
    qe_report_signature = qe.take(ECDSA_SIGNATURE_SIZE, "QE report signature")
    qe_auth_data = qe.take(qe.u16("QE auth data size"), "QE auth data")
    pem = take_cert_data(qe, CERT_DATA_PCK_CHAIN, "PCK chain")
    qe.finish()
    quote = Quote(signed, split_body(signed[HEADER_SIZE:]), signature,
                  attest_key, qe_report, qe_report_signature, qe_auth_data,
                  load_chain(pem))
    ok(f"structure: {len(data)}-byte quote, {sig_size} bytes of signature "
       f"data, {len(qe_auth_data)} bytes of QE auth data, "
       f"{len(quote.certs)} PEM certificates")
    return quote


def check_ec_key(cert):
    expect(isinstance(cert.key, ec.EllipticCurvePublicKey),
           f"{cert.name} public key is not an EC key")


def check_issued_by(cert, issuer):
    expect(cert.issuer == issuer.subject,
           f"{cert.name} issuer is not the {issuer.name} subject")
    check_ec_key(issuer)
    expect(cert.hash_algorithm is not None,
           f"{cert.name} signature algorithm is not ECDSA with a hash")
    try:
        issuer.key.verify(cert.signature, cert.tbs,
                          ec.ECDSA(cert.hash_algorithm))
    except InvalidSignature:
        raise CheckFailed(f"{cert.name} signature does not verify with "
                          f"the {issuer.name} key")


def check_chain(certs, root_der):
    leaf, intermediate, root = certs
    expect(root.der == root_der, "root CA in the quote differs from --root-ca")
    check_issued_by(root, root)
    ok("root CA equals --root-ca and is self-signed")
    check_issued_by(intermediate, root)
    ok("intermediate CA signed by root CA")
    check_issued_by(leaf, intermediate)
    ok("PCK leaf signed by intermediate CA")


def check_validity(certs, now):
    for cert in certs:
        expect(cert.not_before <= now <= cert.not_after,
               f"{cert.name} certificate valid from {cert.not_before} to "
               f"{cert.not_after} UTC, not now "
               f"({now:%Y-%m-%d %H:%M:%S} UTC)")
    ok(f"certificates valid now ({now:%Y-%m-%d %H:%M:%S} UTC)")


def extension(cert, oid, what):
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        raise CheckFailed(f"{cert.name} certificate has no {what}")


def check_intel_profile(certs):
    for cert, issuer in zip(certs, certs[1:] + certs[-1:]):
        aki = extension(cert, x509.OID_AUTHORITY_KEY_IDENTIFIER,
                        "Authority Key Identifier")
        ski = extension(issuer, x509.OID_SUBJECT_KEY_IDENTIFIER,
                        "Subject Key Identifier")
        expect(aki.key_identifier == ski.digest,
               f"{cert.name} Authority Key Identifier is not the "
               f"{issuer.name} Subject Key Identifier")
        extension(cert, x509.OID_CRL_DISTRIBUTION_POINTS,
                  "CRL Distribution Points")
    extension(certs[0], SGX_EXTENSION, "SGX extension")
    ok("Intel's profile: Authority Key Identifiers and CRL Distribution "
       "Points, the PCK leaf's SGX extension")


def p256_signature_valid(key, raw_signature, data):
    half = ECDSA_SIGNATURE_SIZE // 2
    r = int.from_bytes(raw_signature[:half], "big")
    s = int.from_bytes(raw_signature[half:], "big")
    try:
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def check_qe_report_signature(quote):
    leaf = quote.certs[0]
    check_ec_key(leaf)
    expect(isinstance(leaf.key.curve, ec.SECP256R1),
           f"PCK leaf key is on {leaf.key.curve.name}, expected P-256")
    expect(p256_signature_valid(leaf.key, quote.qe_report_signature,
                                quote.qe_report),
           "QE report signature does not verify with the PCK leaf key")
    ok("QE report signed by PCK leaf key")


def check_qe_report_data(quote):
    report_data = quote.qe_report[QE_REPORT_DATA_OFFSET:]
    digest = hashlib.sha256(quote.attest_key + quote.qe_auth_data).digest()
    expect(report_data[:32] == digest,
           "QE report data is not SHA-256(attestation key || QE auth data)")
    expect(not any(report_data[32:]),
           "QE report data bytes 32..63 are not zero")
    ok("QE report data binds attestation key and QE auth data")


def check_qe_identity(quote):
    report = quote.qe_report
    mrsigner = report[QE_REPORT_MRSIGNER_OFFSET:QE_REPORT_MRSIGNER_OFFSET + 32]
    prodid = struct.unpack_from("<H", report, QE_REPORT_ISVPRODID_OFFSET)[0]
    expect(mrsigner == TD_QE_MRSIGNER,
           f"QE report MRSIGNER {mrsigner.hex()} is not Intel's TD QE's "
           f"{TD_QE_MRSIGNER.hex()}")
    expect(prodid == TD_QE_ISVPRODID,
           f"QE report ISVPRODID {prodid}, expected {TD_QE_ISVPRODID}")
    ok("QE report from Intel's TD QE (MRSIGNER, ISVPRODID 2)")


def check_tee_tcb_svn(body):
    svn = body["tee_tcb_svn"]
    expect(svn[1] != 0, f"TEE_TCB_SVN {svn.hex()} names no TDX module "
           "(major version 0)")
    ok(f"TEE_TCB_SVN {svn.hex()}: TDX module {svn[1]}.x, SVN {svn[0]}")


def check_quote_signature(quote):
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b"\x04" + quote.attest_key)
    except ValueError:
        raise CheckFailed("attestation key is not a P-256 point")
    expect(p256_signature_valid(key, quote.signature, quote.signed),
           "quote signature does not verify with the attestation key")
    ok("quote signed by attestation key")


def check_tdreport(report, body):
    expect(len(report) == TDREPORT_SIZE,
           f"TDREPORT is {len(report)} bytes, expected {TDREPORT_SIZE}")
    for field, report_field, offset in TDREPORT_FIELDS:
        value = body[field]
        expect(report[offset:offset + len(value)] == value,
               f"TDREPORT {report_field} (offset {offset}) differs from "
               f"quote body {field}")
    ok("TDREPORT matches quote body")


def check_report_data(expected, body):
    expect(body["report_data"] == expected,
           f"quote report_data {body['report_data'].hex()} differs from "
           f"--report-data {expected.hex()}")
    ok("quote report_data equals --report-data")


def report_data_arg(text):
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hex: {text!r}")
    if len(value) > REPORT_DATA_SIZE:
        raise argparse.ArgumentTypeError(
            f"{len(value)} bytes, at most {REPORT_DATA_SIZE}")
    return value.ljust(REPORT_DATA_SIZE, b"\0")


def parse_args():
    parser = argparse.ArgumentParser(
        description="Check a DCAP TDX v4 quote signed by a test PKI.")
    parser.add_argument("quote", metavar="QUOTE_FILE",
                        help="raw quote")
    parser.add_argument("--root-ca", required=True, metavar="ROOT.der",
                        help="root CA certificate (DER) to trust")
    parser.add_argument("--report", metavar="TDREPORT_FILE",
                        help="raw 1024-byte TDREPORT the quote must match")
    parser.add_argument("--report-data", type=report_data_arg, metavar="HEX",
                        help="expected report data, zero-padded to 64 bytes")
    args = parser.parse_args()
    for name in ("quote", "root_ca", "report"):
        path = getattr(args, name)
        if path is not None:
            setattr(args, name, read_file(parser, path))
    return args


def read_file(parser, path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        parser.error(f"cannot read {path}: {err.strerror}")


def run_checks(args):
    check_header(args.quote)
    quote = parse_quote(args.quote)
    check_chain(quote.certs, args.root_ca)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    check_validity(quote.certs, now)
    check_intel_profile(quote.certs)
    check_qe_report_signature(quote)
    check_qe_report_data(quote)
    check_qe_identity(quote)
    check_quote_signature(quote)
    check_tee_tcb_svn(quote.body)
    if args.report is not None:
        check_tdreport(args.report, quote.body)
    if args.report_data is not None:
        check_report_data(args.report_data, quote.body)


def main():
    args = parse_args()
    try:
        run_checks(args)
    except CheckFailed as err:
        print(f"FAIL: {err}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
