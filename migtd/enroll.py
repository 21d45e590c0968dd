#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu enroll: put a root CA, a policy and a policy issuer chain into
a MigTD image's configuration firmware volume (CFV), as MigTD's build does
with td-shim's td-shim-enroll (intel/MigTD xtask/src/build.rs and
sh_script/build_final.sh), so a release migtd.bin can trust another root
without being rebuilt.

Usage: enroll.py [--qemu QEMU] IMAGE [--root-ca DER|testpki] [--pki DIR]
                 [--policy JSON] [--issuer-chain PEM] [-o OUT]

--root-ca testpki enrolls the root of tdx-emu's test PKI (docs/quote.md)
in DIR (default build/testpki), which QEMU's tdx-quote-testpki object
makes there first if it is not there yet.

The CFV is the TDVF section of type CFV (found through the image's TDVF
metadata, not td-shim's build-time layout). Its format is what
td-shim-enroll writes (td-shim td-shim-tools/src/enroller.rs,
td-shim/src/fv.rs) and what MigTD reads (intel/MigTD src/migtd/src/config.rs
through td-shim td-shim-interface/src/td_uefi_pi/fv.rs):

- a 0x78-byte header: the PI firmware volume header (FFS3 file system,
  attributes 0x0004F6FF, so erase polarity 0, HeaderLength 0x78, the 16-bit
  checksum over its first 0x38 bytes only, ExtHeaderOffset 0x60), a block
  map of 4 KiB blocks, a zero-named pad file header (type 0xF0, size 0x2C,
  state 0x07) and an extended header (zero name, size 0x14);
- then each file at the next 8-byte boundary: an FFS file of type RAW
  (0x01), attributes 0, no sections (the data follows the 24-byte header),
  size = header + data, header checksum as the PI spec has it, file
  checksum 0xAA (FFS_FIXED_CHECKSUM), state 0x07 (construction, header
  valid, data valid at erase polarity 0), data padded with zeros;
- zeros after the last file (the free space of a volume erased to 0).

A file already in the CFV under one of the GUIDs is replaced in place;
other files (e.g. a secure-boot trust anchor) are kept; new files follow
in MigTD's order, policy first. On a fresh CFV this gives td-shim-enroll's
bytes (td-shim leaves a re-enrolled CFV's old bytes after its last file;
this zeroes them).
"""

import argparse
import hashlib
import json
import os
import struct
import sys
import tempfile
import uuid

from cryptography import x509

HERE = os.path.dirname(os.path.abspath(__file__))
TESTPKI = "testpki"
DEFAULT_PKI = os.path.join(HERE, "..", "build", "testpki")
POLICY_GUID = uuid.UUID("0BE92DC3-6221-4C98-87C1-8EEFFD70DE5A")
ROOT_CA_GUID = uuid.UUID("CA437832-4C51-4322-B13D-A21BD0C8FFF6")
ISSUER_CHAIN_GUID = uuid.UUID("3F2FB27A-9596-431C-A68D-D3EAB39F8AEB")
# td-shim td-shim/src/secure_boot.rs CFV_FFS_HEADER_TRUST_ANCHOR_GUID
TRUST_ANCHOR_GUID = uuid.UUID("77A2742E-9340-4AC9-8F85-B7B978580021")
FILE_NAMES = {
    POLICY_GUID: "policy",
    ROOT_CA_GUID: "root-ca",
    ISSUER_CHAIN_GUID: "policy-issuer-chain",
    TRUST_ANCHOR_GUID: "secure-boot-trust-anchor",
}

# TDVF metadata (TDX Virtual Firmware Design Guide; td-shim
# doc/tdshim_spec.md): the OVMF GUID table QEMU reads, or td-shim's pointer
OVMF_FOOTER_GUID = uuid.UUID("96b582de-1fb2-45f7-baea-a366c55a082d")
OVMF_TDX_METADATA_GUID = uuid.UUID("e47a6535-984a-4798-865e-4685a7bf8ec2")
TDVF_METADATA_GUID = uuid.UUID("e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae")
TDVF_SECTION_CFV = 1

FFS3_GUID = uuid.UUID("5473c07a-3dcb-4dca-bd6f-1e9689e7349a")
FV_HEADER_LEN = 0x78            # td-shim's FvHeader, td-shim-enroll writes it
FV_CHECKSUMMED_LEN = 0x38       # what td-shim's read_fv_header checksums
FV_ATTRIBUTES = 0x0004F6FF
FV_BLOCK = 0x1000
FV_EXT_HEADER_OFFSET = 0x60
FFS_HEADER_LEN = 24
FFS_ATTRIB_LARGE_FILE = 0x01
FV_FILETYPE_RAW = 0x01
FV_FILETYPE_FFS_PAD = 0xF0
FFS_FIXED_CHECKSUM = 0xAA
FFS_STATE_VALID = 0x07
MAX_INPUT = 1 << 20             # td-shim-enroll's limit for a -f file


class EnrollError(Exception):
    pass


def sum16(data):
    return sum(struct.unpack(f"<{len(data) // 2}H", data)) & 0xFFFF


def size24(n):
    return n.to_bytes(3, "little")


def align8(n):
    return (n + 7) & ~7


def pad8(data):
    return data + bytes(align8(len(data)) - len(data))


# --- TDVF metadata: where the CFV is ------------------------------------

def ovmf_table_descriptor(img):
    """The TDVF descriptor's offset through the OVMF GUID table, or None"""
    footer = len(img) - 0x30
    table_len = struct.unpack_from("<H", img, footer - 2)[0]
    if table_len < 18 or table_len > footer + 16:
        return None
    start, pos = footer + 16 - table_len, footer - 2
    while pos >= start + 18:        # entries from the end: data, u16, GUID
        entry_len = struct.unpack_from("<H", img, pos - 18)[0]
        if entry_len < 18 or entry_len > pos - start:
            return None
        if uuid.UUID(bytes_le=img[pos - 16:pos]) == OVMF_TDX_METADATA_GUID:
            if entry_len < 22:
                return None
            off = struct.unpack_from("<I", img, pos - 22)[0]
            return len(img) - off if off <= len(img) else None
        pos -= entry_len
    return None


def tdvf_descriptor(img):
    if len(img) < 0x32:
        return None
    if uuid.UUID(bytes_le=img[-0x30:-0x20]) == OVMF_FOOTER_GUID:
        off = ovmf_table_descriptor(img)
    else:                           # td-shim's pointer at image end - 0x20
        off = struct.unpack_from("<I", img, len(img) - 0x20)[0]
    if off is None or off < 16 or off + 16 > len(img) or \
            uuid.UUID(bytes_le=img[off - 16:off]) != TDVF_METADATA_GUID or \
            img[off:off + 4] != b"TDVF":
        return None
    return off


def find_cfv(img, name):
    """(offset, size) of the image's CFV section"""
    desc = tdvf_descriptor(img)
    if desc is None:
        raise EnrollError(f"{name} is not a TDVF image (no TDVF metadata)")
    count = struct.unpack_from("<I", img, desc + 12)[0]
    if desc + 16 + 32 * count > len(img):
        raise EnrollError(f"{name}: its TDVF metadata runs past the image")
    cfvs = []
    for i in range(count):
        offset, size, _, _, kind = struct.unpack_from(
            "<IIQQI", img, desc + 16 + 32 * i)
        if kind == TDVF_SECTION_CFV:
            cfvs.append((offset, size))
    if not cfvs:
        raise EnrollError(f"{name} has no CFV section to enroll into")
    if len(cfvs) > 1:
        raise EnrollError(f"{name} has {len(cfvs)} CFV sections")
    offset, size = cfvs[0]
    if offset + size > len(img):
        raise EnrollError(f"{name}: its CFV section (0x{offset:x}, "
                          f"0x{size:x} bytes) runs past the image")
    return offset, size


# --- the firmware volume ------------------------------------------------

def cfv_header(size):
    """td-shim-enroll's build_cfv_header() for a CFV of @size bytes"""
    fvh = bytearray(bytes(16) + FFS3_GUID.bytes_le + struct.pack(
        "<Q4sIHHHBB", size, b"_FVH", FV_ATTRIBUTES, FV_HEADER_LEN, 0,
        FV_EXT_HEADER_OFFSET, 0, 2))
    fvh[0x32:0x34] = struct.pack("<H", -sum16(fvh) & 0xFFFF)
    block_map = struct.pack("<IIII", size // FV_BLOCK, FV_BLOCK, 0, 0)
    pad_file = bytes(16) + bytes([0, 0, FV_FILETYPE_FFS_PAD, 0]) + \
        size24(0x2C) + bytes([FFS_STATE_VALID])
    ext_header = bytes(16) + struct.pack("<I", 0x14)
    header = bytes(fvh) + block_map + pad_file + ext_header + bytes(4)
    assert len(header) == FV_HEADER_LEN
    return header


def header_sum(header):
    """The PI rule for an FFS file header's checksum: the header sums to 0
    with State and IntegrityCheck.File counted as 0 (td-shim's enroller
    computes it the same way)"""
    return (sum(header) - header[0x11] - header[0x17]) & 0xFF


def raw_file(guid, data):
    """An FFS file of type RAW holding @data, as td-shim's
    FirmwareRawFile, zero-padded to 8 bytes"""
    header = bytearray(guid.bytes_le)
    header += bytes([0, FFS_FIXED_CHECKSUM, FV_FILETYPE_RAW, 0])
    header += size24(FFS_HEADER_LEN + len(data)) + bytes([FFS_STATE_VALID])
    header[0x10] = -header_sum(header) & 0xFF
    return pad8(bytes(header) + data)


def parse_file(cfv, off):
    """(guid, type, header length, whole file) of the FFS file at @off"""
    if off + FFS_HEADER_LEN > len(cfv):
        raise EnrollError(f"an FFS file header at CFV offset 0x{off:x} "
                          f"runs past the volume")
    header_len = FFS_HEADER_LEN
    size = int.from_bytes(cfv[off + 20:off + 23], "little")
    if cfv[off + 19] & FFS_ATTRIB_LARGE_FILE:
        header_len += 4
        size = struct.unpack_from("<I", cfv, off + 24)[0]
    if size < header_len:
        raise EnrollError(f"the FFS file at CFV offset 0x{off:x} has size "
                          f"{size}, less than its header")
    if off + size > len(cfv):
        raise EnrollError(f"the FFS file at CFV offset 0x{off:x} has size "
                          f"{size}, past the volume's end")
    if header_sum(cfv[off:off + header_len]):
        raise EnrollError(f"the FFS file at CFV offset 0x{off:x} has a bad "
                          f"header checksum")
    return (uuid.UUID(bytes_le=bytes(cfv[off:off + 16])), cfv[off + 18],
            header_len, bytes(cfv[off:off + size]))


def parse_cfv(cfv):
    """The files of a CFV, in order, as (guid, type, header length, whole
    file); [] for an all-zero CFV (td-shim-ld's output before enrolment).
    Checks the volume header as MigTD's reader does (td-shim
    td-shim-interface/src/td_uefi_pi/fv.rs read_fv_header)."""
    if not any(cfv):
        return []
    if len(cfv) < FV_HEADER_LEN or cfv[0x28:0x2C] != b"_FVH":
        raise EnrollError("the CFV is not a firmware volume (no _FVH "
                          "signature)")
    length, _, _, header_len, _, _, _, revision = struct.unpack_from(
        "<Q4sIHHHBB", cfv, 0x20)
    problems = [
        (any(cfv[:16]), "its zero vector is not zero"),
        (revision != 2, f"revision {revision}, not 2"),
        (length != len(cfv), f"FvLength 0x{length:x} is not the CFV "
                             f"section's 0x{len(cfv):x} bytes"),
        (not FV_CHECKSUMMED_LEN <= header_len <= len(cfv),
         f"HeaderLength 0x{header_len:x} is out of range"),
        (sum16(cfv[:FV_CHECKSUMMED_LEN]) != 0, "bad header checksum"),
    ]
    for bad, why in problems:
        if bad:
            raise EnrollError(f"the CFV is a malformed firmware volume: {why}")
    files, off = [], align8(header_len)
    while off < len(cfv) and any(cfv[off:]):
        file = parse_file(cfv, off)
        files.append(file)
        off = align8(off + len(file[3]))
    return files


def build_cfv(size, files):
    """A CFV of @size bytes holding @files (whole FFS files)"""
    body = b"".join(pad8(f) for f in files)
    used = FV_HEADER_LEN + len(body)
    if used > size:
        raise EnrollError(f"the CFV is too small: {size} bytes, the volume "
                          f"header and files need {used}")
    return cfv_header(size) + body + bytes(size - used)


# --- what goes in -------------------------------------------------------

def read_input(path, what):
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_INPUT + 1)
    except OSError as err:
        raise EnrollError(f"cannot read the {what}: {err}") from err
    if not data or len(data) > MAX_INPUT:
        raise EnrollError(f"the {what} {path} must hold 1 byte to 1 MiB")
    return data


def check_root_ca(data, path):
    if data.lstrip().startswith(b"-----BEGIN"):
        raise EnrollError(f"the root CA {path} is PEM; MigTD wants DER "
                          f"(openssl x509 -in {path} -outform der)")
    try:
        x509.load_der_x509_certificate(data)
    except ValueError as err:
        raise EnrollError(f"the root CA {path} is not a DER X.509 "
                          f"certificate: {err}") from err


def check_policy(data, path):
    try:
        json.loads(data)
    except ValueError as err:
        raise EnrollError(f"the policy {path} is not JSON: {err}") from err


def pem_certificates(data):
    """The certificates of a PEM chain (cryptography 38 has no
    load_pem_x509_certificates)"""
    marker = b"-----END CERTIFICATE-----"
    blocks = [b + marker for b in data.split(marker) if b"-----BEGIN" in b]
    return [x509.load_pem_x509_certificate(b) for b in blocks]


def check_issuer_chain(data, path):
    try:
        if pem_certificates(data):
            return
    except ValueError as err:
        raise EnrollError(f"the policy issuer chain {path} has a bad PEM "
                          f"certificate: {err}") from err
    raise EnrollError(f"the policy issuer chain {path} holds no PEM "
                      f"certificate")


def testpki_root(qemu, pki):
    """The test PKI's root CA certificate (DER) in @pki; QEMU makes the PKI
    there when a tdx-quote-testpki object is created (hw/tdx-emu/vmm/quote/testpki.c)"""
    root = os.path.join(pki, "root-ca.der")
    if os.path.exists(root):
        return root
    if not qemu or not os.access(qemu, os.X_OK):
        raise EnrollError("QEMU makes the test PKI and is not built yet; "
                          "run ./tdx-emu build")
    sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
    from qmp import Qemu, QmpError  # only here: the guest build imports this
    os.makedirs(pki, exist_ok=True)
    try:
        Qemu(qemu, ["-machine", "none", "-nodefaults", "-display", "none",
                    "-object", f"tdx-quote-testpki,id=pki,dir={pki}"]).quit()
    except (QmpError, OSError) as err:
        raise EnrollError(f"cannot make the test PKI in {pki}: {err}") \
            from err
    return root


INPUTS = (  # option, GUID, what, check; MigTD's enrolment order
    ("policy", POLICY_GUID, "policy", check_policy),
    ("root_ca", ROOT_CA_GUID, "root CA", check_root_ca),
    ("issuer_chain", ISSUER_CHAIN_GUID, "policy issuer chain",
     check_issuer_chain),
)


def enroll(img, name, new_files):
    """@img with @new_files ({guid: data}) in its CFV"""
    offset, size = find_cfv(img, name)
    files = [f[3] for f in parse_cfv(img[offset:offset + size])]
    names = [uuid.UUID(bytes_le=f[:16]) for f in files]
    for guid, data in new_files.items():
        file = raw_file(guid, data)
        if guid in names:
            files[names.index(guid)] = file
        else:
            files.append(file)
    return img[:offset] + build_cfv(size, files) + img[offset + size:]


def write_atomically(path, data):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                               prefix=".enroll-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# --- what is in ---------------------------------------------------------

def root_ca_subject(data):
    try:
        return x509.load_der_x509_certificate(data).subject.rfc4514_string()
    except ValueError:
        return None


def describe_cfv(cfv):
    """The files of a CFV for ./tdx-emu inspect: GUID, name, type, data
    size and SHA-384 (the root CA's subject too); raises EnrollError for a
    malformed volume"""
    out = []
    for guid, kind, header_len, file in parse_cfv(cfv):
        data = file[header_len:]
        entry = {"guid": str(guid).upper(),
                 "name": FILE_NAMES.get(guid), "type": kind,
                 "size": len(data),
                 "sha384": hashlib.sha384(data).hexdigest()}
        if guid == ROOT_CA_GUID:
            entry["subject"] = root_ca_subject(data)
        out.append(entry)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tdx-emu enroll",
        description="Write a root CA, a policy and a policy issuer chain "
                    "into a MigTD image's CFV, as td-shim-enroll does.")
    parser.add_argument("image")
    parser.add_argument("--root-ca", metavar="DER|testpki",
                        help="root CA certificate, DER (FFS file "
                             f"{ROOT_CA_GUID}); 'testpki': the test "
                             "PKI's root")
    parser.add_argument("--pki", metavar="DIR", default=DEFAULT_PKI,
                        help="the test PKI's directory (made if missing; "
                             "default build/testpki)")
    parser.add_argument("--qemu", help="the QEMU that makes the test PKI")
    parser.add_argument("--policy", metavar="JSON",
                        help=f"MigTD policy (FFS file {POLICY_GUID})")
    parser.add_argument("--issuer-chain", metavar="PEM",
                        help="policy v2 issuer chain (FFS file "
                             f"{ISSUER_CHAIN_GUID})")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write here instead of IMAGE")
    args = parser.parse_args(argv)
    try:
        if args.root_ca == TESTPKI:
            args.root_ca = testpki_root(args.qemu, args.pki)
        new_files = {}
        for option, guid, what, check in INPUTS:
            path = getattr(args, option)
            if path:
                data = read_input(path, what)
                check(data, path)
                new_files[guid] = data
        if not new_files:
            raise EnrollError("nothing to enroll: give --root-ca, --policy "
                              "or --issuer-chain")
        try:
            with open(args.image, "rb") as f:
                img = f.read()
        except OSError as err:
            raise EnrollError(f"cannot read the image: {err}") from err
        out = enroll(img, args.image, new_files)
        write_atomically(args.output or args.image, out)
    except (EnrollError, OSError) as err:
        print(f"tdx-emu enroll: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
