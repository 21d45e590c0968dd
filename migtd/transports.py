# SPDX-License-Identifier: GPL-2.0-or-later
"""MigTD's migration transports for ./tdx-emu migrate (docs/migration.md).

A MigTD image is built for one transport (MigTD
src/migtd/src/migration/transport.rs): vmcall-raw carries control and data
over TDG.VP.VMCALL<0x10006>; virtio-serial, virtio-vsock and vmcall-vsock
take their requests over TDG.VP.VMCALL<Service> and carry the data over a
virtio-serial port, a virtio-vsock device or vsock packets through
Service Send/Recv. Each needs its own QEMU arguments and request members.
"""

import os

TRANSPORTS = ("vmcall-raw", "virtio-serial", "virtio-vsock", "vmcall-vsock")
DEFAULT = "vmcall-raw"

# Virtio devices of a TD are modern-only and offer ACCESS_PLATFORM, as
# QEMU makes them for a confidential guest (hw/core/machine.c)
VIRTIO_TD = "disable-legacy=on,iommu_platform=on"

# The address a vsock MigTD connects to (STREAM_SOCKET_INFO), as MigTD's
# sh_script/test/mig-td.sh gives the source's
VSOCK_CID = 18
VSOCK_PORT = 1234
# The CID of tdx-emu-vsock-pci, the MigTD's own
VSOCK_GUEST_CID = 3

STUB_MARK = b"tdx-emu-stub transport="

# What only one transport's crates leave in a MigTD payload: the source
# paths Rust's panic locations carry (not verified against every build)
MIGTD_MARKS = {
    "vmcall-raw": b"src/devices/vmcall_raw/",
    "virtio-serial": b"src/devices/virtio_serial/",
    "virtio-vsock": b"src/devices/vsock/src/transport/virtio_pci.rs",
    "vmcall-vsock": b"src/devices/vsock/src/transport/vmcall.rs",
}


def stub_image(build_guest, transport):
    """The guest stub built for @transport (guest/meson.build)"""
    suffix = "" if transport == DEFAULT else f"-{transport}"
    return os.path.join(build_guest, f"tdx-emu-guest{suffix}.bin")


def image_transport(path):
    """(transport, how it was told) of a firmware image, or (None, why)"""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        return None, str(err)
    at = data.find(STUB_MARK)
    if at >= 0:
        name = data[at + len(STUB_MARK):].split(b"\0", 1)[0].decode(
            "ascii", "replace")
        if name in TRANSPORTS:
            return name, "the guest stub's mark"
    found = [t for t, mark in MIGTD_MARKS.items() if mark in data]
    if len(found) == 1:
        return found[0], f"its payload names {MIGTD_MARKS[found[0]].decode()}"
    return None, ("no transport crate named in the image" if not found else
                  "several transport crates named in the image")


def qemu_args(transport, chardev):
    """The QEMU arguments of one side: the migration stream's chardev
    (id mig0) and the device that carries it"""
    args = ["-chardev", chardev]
    if transport == "virtio-serial":
        args += ["-device", f"virtio-serial-pci,{VIRTIO_TD}",
                 "-device", "virtserialport,chardev=mig0,nr=1"]
    elif transport == "virtio-vsock":
        args += ["-device", f"tdx-emu-vsock-pci,guest-cid={VSOCK_GUEST_CID}"]
    return args


def request_members(transport):
    """start-migration's transport members: vmcall-raw's and the vsock
    transports' stream is the device's chardev (a vsock connection to the
    request's vsock-cid/vsock-port carries it); the virtio-serial port
    holds its own"""
    if transport == "virtio-serial":
        return {}
    if transport == "vmcall-raw":
        return {"chardev": "mig0"}
    return {"chardev": "mig0", "vsock-cid": VSOCK_CID,
            "vsock-port": VSOCK_PORT}
