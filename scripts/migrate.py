#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu migrate: a MigTD pre-migration between two VMs on this host.

Starts the destination VM, then the source VM, each a MigTD (the guest
stub by default) under -device tdx-emu; their migration stream is a TCP
socket on loopback between the two QEMU processes (chardev "mig0",
nodelay). Once both MigTDs wait for requests it sends each a
start-migration request, waits for both TDX_EMU_REQUEST_COMPLETE events,
and checks over query-tdx-emu (expose-keys=on) that the source's ENC key
is the destination's DEC key and the other way round. Prints the QEMU
command lines, then one JSON line; exits 0 only on success with matching
keys.

By default each MigTD is first asked to enable its log area
(EnableLogArea, --log-level, default info); what it logs is copied into
NAME-logarea.log in --log-dir as it is read (migtd/logarea.py). With
--rebind the two MigTDs rebind instead: the source is the MigTD bound to
the target TD so far, the destination the new one (docs/migration.md).

--timeout bounds the whole run, every QMP exchange included: a QEMU that
stops answering or dies ends it, and the JSON line says which VM
("failed_vm"), at which step ("step") and how ("error": the exit status or
signal and the last stderr lines of a QEMU that died).
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import shlex
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "migtd"))    # logarea, transports
import cli  # noqa: E402
from qmp import Qemu, QmpError  # noqa: E402
from logarea import LEVELS, LogArea, level_number  # noqa: E402
from run import panic_text, parked, qemu_args, shutdown  # noqa: E402
import transports  # noqa: E402
import timeline  # noqa: E402

POLL_S = 0.02


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Side:
    """One VM: its QEMU, its target TD and its request."""

    def __init__(self, name, qemu, firmware, chardev, log_dir, props,
                 quote, smp=1, transport=transports.DEFAULT,
                 recorder=timeline.OFF):
        self.name = name
        self.transport = transport
        self.binding_handle = secrets.randbits(48) << 12
        self.target_uuid = secrets.token_hex(32)
        self.serial_log = os.path.join(log_dir, f"{name}-serial.log")
        device = "tdx-emu,expose-keys=on" + (f",{props}" if props else "") + \
            (",quote=q" if quote else "")
        self.args = quote + qemu_args(firmware, self.serial_log, smp, "32M",
                                      device=device) + \
            transports.qemu_args(transport, chardev) + \
            ["-pidfile", os.path.join(log_dir, f"{name}.pid")] + \
            recorder.qemu_args(name, log_dir)
        self.cmdline = shlex.join([qemu, *self.args, "-qmp", "stdio"])
        self.vm = None
        self.result = None
        self.request_id = None
        self.results = {}               # TDX_EMU_REQUEST_COMPLETE by id
        self.log = LogArea(self.command, log_dir, name)
        self.recorder = recorder

    def start(self, qemu, deadline):
        self.vm = Qemu(qemu, self.args, self.name, deadline)
        self.command("cont")

    def command(self, name, **arguments):
        """A QMP command; a refusal names this VM too."""
        try:
            return self.vm.command(name, **arguments)
        except QmpError as err:
            if err.vm:
                raise
            raise QmpError(f"{self.name}: {name}: {err}", self.name) \
                from None

    def ready(self):
        ready = "wait-for-request" in self.command("query-tdx-emu")
        self.check_alive()
        return ready

    def connected(self):
        """Whether the migration stream's socket (chardev mig0) is up"""
        chardevs = self.command("query-chardev")
        self.check_alive()
        return any(c["label"] == "mig0" and
                   not c["filename"].startswith("disconnected:")
                   for c in chardevs)

    def check_alive(self):
        """Raise if the VM stopped or its TD is dead (vCPU 0 parked, or
        killed by the VMM: QEMU stops in internal-error)"""
        for event in self.vm.events:
            if event["event"] == "STOP" and \
                    "killed" in (self.last_words() or {}):
                raise QmpError(f"the {self.name} TD is dead: the VMM "
                               f"killed it: {self.last_words()['killed']}",
                               self.name)
            if parked(event):
                raise QmpError(f"the {self.name} TD is dead: "
                               f"{parked(event)}", self.name)
            if event["event"] == "GUEST_PANICKED":
                raise QmpError(f"the {self.name} VM stopped: GUEST_PANICKED"
                               f"{panic_text(self.last_words())}", self.name)
            if event["event"] == "SHUTDOWN":
                raise QmpError(f"the {self.name} TD is dead: "
                               f"{shutdown(event, self.last_words())}",
                               self.name)

    def last_words(self):
        """query-tdx-emu after a panic (the VM pauses): what the TD said"""
        try:
            return self.vm.command("query-tdx-emu")
        except QmpError:
            return None

    def request(self, request_id, source, kind="start-migration",
                **members):
        self.request_id = request_id
        self.command("tdx-emu-request", **{
            "type": kind, "request-id": request_id,
            "source": source, "binding-handle": self.binding_handle,
            "target-uuid": self.target_uuid,
            **transports.request_members(self.transport), **members})

    def poll(self):
        """Collect completed requests and log entries; whether the
        migration (or rebinding) request completed"""
        self.log.poll()                    # reads pending events too
        self.check_alive()
        for event in self.vm.events:
            if event["event"] == "TDX_EMU_REQUEST_COMPLETE":
                self.results[event["data"]["request-id"]] = event["data"]
        self.log.seen(self.vm.events)
        self.recorder.qmp_events(self.name, self.vm.events)
        self.vm.events.clear()
        self.result = self.results.get(self.request_id)
        return self.result is not None

    def ask(self, request_id, kind, deadline):
        """Request @kind and wait for its completion; its event data"""
        def done(side):
            side.poll()
            return request_id in side.results

        self.command("tdx-emu-request", type=kind,
                     **{"request-id": request_id})
        wait_for((self,), done, deadline)
        return self.results[request_id]

    def init_tdinfo(self, request_id, deadline):
        """The MigTD's TDINFO, to bind the target with: GetMigtdData, or
        where the image has none (UnsupportedOperationError, MigTD PR
        #911), the TDINFO of its GetTDReport. (TDINFO, how)"""
        kind, offset = "get-migtd-data", 0
        res = self.ask(request_id, kind, deadline)
        if res["result-name"] == "UnsupportedOperationError":
            kind, offset = "get-td-report", 512
            res = self.ask(request_id + 1, kind, deadline)
        data = base64.b64decode(res["data"])[offset:offset + 512]
        if res["status"] != "success" or len(data) != 512:
            raise QmpError(f"the {self.name} MigTD gave no TDINFO: {kind}: "
                           f"{res['result-name']}", self.name)
        return data.hex(), kind

    def bind(self, init_tdinfo, init_hash=None):
        """Bind the target TD with the initial MigTD's TDINFO: the device
        derives SERVTD_INIT_SERVTD_INFO_HASH from it (unless @init_hash,
        a test's way to make the TDX module disagree with the VMM)"""
        self.command("tdx-emu-add-target", handle=self.binding_handle,
                     uuid=self.target_uuid, **{"init-tdinfo": init_tdinfo},
                     **({"init-servtd-info-hash": init_hash}
                        if init_hash else {}))

    def target(self):
        info = self.command("query-tdx-emu")
        for t in info["targets"]:
            if t["handle"] == self.binding_handle:
                return info, t
        return info, {}

    def keys(self):
        _, t = self.target()
        return t.get("enc-key"), t.get("dec-key")

    def summary(self):
        """The request's outcome; a failure's data is the MigTD's reason
        (UTF-8, a rebinding's since MigTD f75347a)"""
        res = self.result or {}
        reason = base64.b64decode(res.get("data", "")).decode(
            errors="replace").strip() if res.get("status") == "failure" \
            else ""
        return {"status": res.get("status", "none"),
                "result": res.get("result"),
                "result_name": res.get("result-name"),
                **({"reason": reason} if reason else {}),
                "serial_log": self.serial_log, **self.log.summary()}


def wait_for(sides, what, deadline):
    """Until what(side) for each side, asking every side every round: a
    QEMU that dies is seen at once, whichever it is."""
    while waiting := [side.name for side in sides if not what(side)]:
        if time.monotonic() > deadline:
            names = " and ".join(waiting)
            raise QmpError(f"{names} still at this step at the deadline",
                           names)
        time.sleep(POLL_S)


def start_source(src, dst, qemu, deadline):
    """The source's QEMU connects to the destination's stream socket as it
    starts: when that fails because the destination's QEMU is gone, the
    destination is what failed"""
    try:
        src.start(qemu, deadline)
    except QmpError as err:
        if dst.vm.proc.poll() is None:
            raise
        raise QmpError(f"{dst.vm.death()}; the source then failed: {err}",
                       dst.name) from None


def failure(err, step, timeout):
    """The JSON line's fields for a run that ended with QmpError err."""
    return {"error": f"{err} (step: {step}, --timeout {timeout:g} s)",
            "failed_vm": err.vm, "step": step}


def key_digest(key):
    return hashlib.sha256(key.encode()).hexdigest() if key else None


def enable_log_areas(sides, args, deadline):
    """EnableLogArea first on every side, unless --log-level off, and wait
    for the answers (so that the migration's time is its own); a MigTD
    without a log area answers with a failure, which is no error"""
    def answered(side):
        side.poll()
        return side.log.result is not None

    if args.log_level != "off":
        for side in sides:
            side.log.enable(args.request_id + 1,
                            level_number(args.log_level))
        wait_for(sides, answered, deadline)


def servtd_ext_hash(init_tdinfo):
    """SHA-384 of the SERVTD_EXT (MigTD servtd_ext.rs, 272 bytes) of a
    target bound with only init-tdinfo, with the current fields zeroed:
    INIT_SERVTD_INFO_HASH = SHA-384(init TDINFO), the rest zero"""
    ext = hashlib.sha384(bytes.fromhex(init_tdinfo)).digest() + \
        bytes(272 - 48)
    return hashlib.sha384(ext).hexdigest()


def rebinding(src, dst, init_tdinfo):
    """What the host sees of a rebinding: the old MigTD approved the token
    the new one accepted, with the attributes and SERVTD_EXT hash"""
    _, old = src.target()
    new, _ = dst.target()
    checks = {
        "approved": old.get("rebind-approved", False),
        "token_match": old.get("rebind-token") == new["rebind-accept-token"],
        "attr_match": old.get("servtd-attr") == new["rebind-attr"],
        "ext_hash_match": new["accept-servtd-ext-hash"] ==
        servtd_ext_hash(init_tdinfo),
    }
    return {**checks, "rebound": all(checks.values()),
            "rebind_token": old.get("rebind-token")}


def start_requests(src, dst, args, deadline):
    """start-migration on both; with --rebind, start-rebinding once the
    source's target is bound with the source MigTD's TDINFO. The
    rebinding's init TDINFO (hex) and where it came from, or Nones."""
    if not args.rebind:
        dst.request(args.request_id, False)
        src.request(args.request_id, True)
        return None, None
    init, how = src.init_tdinfo(args.request_id + 2, deadline)
    src.bind(init, args.init_servtd_info_hash)
    dst.request(args.request_id, False, "start-rebinding",
                **{"init-tdinfo": init})
    src.request(args.request_id, True, "start-rebinding")
    return init, how


def migrate_one_side(args, log_dir):
    """One VM of a migration whose peer runs elsewhere (another host)."""
    source = args.side == "source"
    host, port = args.peer.rsplit(":", 1)
    chardev = (f"socket,id=mig0,host={host},port={port},nodelay=on," +
               ("server=off" if source else "server=on,wait=off"))
    side = Side(args.side, args.qemu, args.src_firmware if source
                else args.dst_firmware, chardev, log_dir,
                args.src_device_props if source else args.dst_device_props,
                args.quote_args, args.smp, args.transport, args.timeline)
    print(f"{side.name}: {side.cmdline}", file=sys.stderr)
    start = time.monotonic()
    deadline = start + args.timeout
    error = None
    try:
        step = "start"
        side.start(args.qemu, deadline)
        step = "boot"
        wait_for((side,), Side.ready, deadline)
        step = "log-area"
        enable_log_areas((side,), args, deadline)
        step = "peer"
        wait_for((side,), Side.connected, deadline)
        step = "request"
        side.request(args.request_id, source)
        step = "migration"
        wait_for((side,), Side.poll, deadline)
        step = "keys"
        enc, dec = side.keys()
    except QmpError as err:
        error, enc, dec = failure(err, step, args.timeout), None, None
    finally:
        if side.vm:
            side.vm.quit()
            side.recorder.qmp_events(side.name, side.vm.events)
        args.timeline.write()
    success = error is None and side.result["status"] == "success"
    report = {"result": "success" if success else "failure",
              "transport": args.transport, side.name: side.summary(),
              # compare with the peer's: ours ENC = its DEC and back
              "enc_key_sha256": key_digest(enc),
              "dec_key_sha256": key_digest(dec),
              "elapsed_s": round(time.monotonic() - start, 3)}
    report.update(error or {})
    print(json.dumps(report))
    return 0 if success else 1


def migrate(args):
    log_dir = args.log_dir or tempfile.mkdtemp(prefix="tdx-emu-migrate-")
    os.makedirs(log_dir, exist_ok=True)
    if args.side:
        return migrate_one_side(args, log_dir)
    port = free_port()
    dst = Side("destination", args.qemu, args.dst_firmware,
               f"socket,id=mig0,host=127.0.0.1,port={port},server=on,"
               f"wait=off,nodelay=on", log_dir, args.dst_device_props,
               args.quote_args, args.smp, args.transport, args.timeline)
    src = Side("source", args.qemu, args.src_firmware,
               f"socket,id=mig0,host=127.0.0.1,port={port},server=off,"
               f"nodelay=on", log_dir, args.src_device_props,
               args.quote_args, args.smp, args.transport, args.timeline)
    for side in (dst, src):
        print(f"{side.name}: {side.cmdline}", file=sys.stderr)

    start = time.monotonic()
    deadline = start + args.timeout
    error = None
    keys_match = False
    rebind = None
    try:
        step = "start"
        dst.start(args.qemu, deadline)
        start_source(src, dst, args.qemu, deadline)
        step = "boot"
        wait_for((dst, src), Side.ready, deadline)
        step = "log-area"
        enable_log_areas((dst, src), args, deadline)
        t0 = time.monotonic()
        step = "request"
        init, how = start_requests(src, dst, args, deadline)
        step = "migration"
        wait_for((dst, src), Side.poll, deadline)
        elapsed = time.monotonic() - t0
        step = "rebinding" if args.rebind else "keys"
        if args.rebind:
            rebind = {**rebinding(src, dst, init), "init_tdinfo_from": how}
            keys_match = rebind["rebound"]
        else:
            src_enc, src_dec = src.keys()
            dst_enc, dst_dec = dst.keys()
            keys_match = bool(src_enc) and src_enc == dst_dec and \
                dst_enc == src_dec
        for side in (src, dst):
            side.log.poll()
    except QmpError as err:
        error = failure(err, step, args.timeout)
        elapsed = time.monotonic() - start
    finally:
        for side in (src, dst):
            if side.vm:
                side.vm.quit()
                side.recorder.qmp_events(side.name, side.vm.events)
        args.timeline.write()
    success = error is None and keys_match and \
        src.result["status"] == dst.result["status"] == "success"
    report = {"result": "success" if success else "failure",
              "transport": args.transport,
              "source": src.summary(), "destination": dst.summary(),
              **({"rebinding": rebind} if args.rebind else
                 {"keys_match": keys_match}),
              "elapsed_s": round(elapsed, 3)}
    report.update(error or {})
    print(json.dumps(report))
    return 0 if success else 1


def quote_args(spec, pki):
    """-object arguments for --quote testpki | qgs:ADDR | imds[:URL]"""
    kind, _, where = (spec or "").partition(":")
    if not spec:
        return []
    if kind == "testpki" and not where:
        return ["-object", f"tdx-quote-testpki,id=q,dir={pki}"]
    if kind == "qgs" and where:
        return ["-object", f"tdx-quote-qgs,id=q,addr={where}"]
    if kind == "imds":
        url = f",url={where}" if where else ""
        return ["-object", f"tdx-quote-imds,id=q{url}"]
    raise ValueError(f"--quote {spec}: want testpki, qgs:ADDR or "
                     "imds[:URL]")


def pick_transport(args, build_guest):
    """--transport, else the one the images were built for (read from
    them when they say: the stub's mark, a MigTD payload's transport
    crate), else vmcall-raw; the stub built for it unless --firmware.
    Returns an error message or None."""
    images = {i for i in (args.src_firmware or args.firmware,
                          args.dst_firmware or args.firmware) if i}
    told = {i: transports.image_transport(i) for i in images}
    if not args.transport:
        found = {t for t, _ in told.values() if t}
        if len(found) > 1:
            return (f"the images are built for different transports "
                    f"({', '.join(sorted(found))}): give --transport")
        args.transport = found.pop() if found else transports.DEFAULT
    for image, (t, how) in told.items():
        if t != args.transport:
            print(f"migrate: {image}: " + (f"built for {t} ({how})" if t
                  else f"transport unknown ({how})") +
                  f"; using {args.transport}", file=sys.stderr)
    stub = transports.stub_image(build_guest, args.transport)
    args.src_firmware = args.src_firmware or args.firmware or stub
    args.dst_firmware = args.dst_firmware or args.firmware or stub
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    build_guest = os.path.join(here, "..", "build", "guest", "guest")
    parser = argparse.ArgumentParser(prog="./tdx-emu migrate")
    parser.add_argument("--qemu", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--firmware", help="MigTD image for both VMs "
                        "(default: the guest stub built for --transport)")
    parser.add_argument("--src-firmware")
    parser.add_argument("--dst-firmware")
    parser.add_argument("--request-id", type=int, default=1)
    parser.add_argument("--timeout", type=cli.seconds, default=120)
    parser.add_argument("--log-dir")
    parser.add_argument("--side", choices=("source", "destination"),
                        help="run only this side; the peer is --peer")
    parser.add_argument("--peer", help="HOST:PORT the source connects to, "
                        "or the destination listens on")
    parser.add_argument("--quote", metavar="BACKEND",
                        help="both VMs' GetQuote backend: testpki, "
                        "qgs:ADDR or imds[:URL] (default: none)")
    parser.add_argument("--pki", default=os.path.join(
        here, "..", "build", "testpki"), help="the test PKI both VMs share "
        "with --quote testpki (default build/testpki, as ./tdx-emu enroll "
        "--root-ca testpki)")
    parser.add_argument("--smp", type=cli.count, default=1,
                        help="vCPUs of each MigTD (default 1)")
    parser.add_argument("--crash-msrs", action="store_true",
                        help="offer both MigTDs the Hyper-V crash MSRs "
                        "(docs/debugging.md)")
    parser.add_argument("--rbp-mod", action="store_true",
                        help="TDs without NO_RBP_MOD, for a MigTD whose "
                        "td-shim AP loop exposes RBP (docs/tdx-module.md)")
    parser.add_argument("--transport", choices=transports.TRANSPORTS,
                        help="the MigTD build's transport (default: the "
                        "one the image is built for when it says, else "
                        "vmcall-raw)")
    parser.add_argument("--rebind", action="store_true",
                        help="rebind the target TD from the source MigTD "
                        "to the destination MigTD instead of migrating "
                        "(policy v2, vmcall-raw; docs/migration.md)")
    parser.add_argument("--log-level", choices=LEVELS, default="info",
                        help="EnableLogArea level for both MigTDs; their "
                        "logs go to NAME-logarea.log in --log-dir "
                        "(default info; off: no EnableLogArea)")
    parser.add_argument("--timeline", metavar="FILE", type=timeline.Timeline,
                        default=timeline.OFF,
                        help="trace both devices and write a Perfetto/"
                        "Chrome trace-event JSON of the run "
                        "(docs/timeline.md)")
    parser.add_argument("--init-servtd-info-hash", help=argparse.SUPPRESS)
    parser.add_argument("--src-device-props", help=argparse.SUPPRESS)
    parser.add_argument("--dst-device-props", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if bool(args.side) != bool(args.peer):
        parser.error("--side and --peer go together")
    if args.rebind and args.side:
        parser.error("--rebind runs both MigTDs on this host")
    try:
        args.quote_args = quote_args(args.quote, os.path.abspath(args.pki))
    except ValueError as err:
        parser.error(str(err))
    for prop, on in (("crash-msrs=on", args.crash_msrs),
                     ("no-rbp-mod=off", args.rbp_mod)):
        if on:
            args.src_device_props = ",".join(
                filter(None, [args.src_device_props, prop]))
            args.dst_device_props = ",".join(
                filter(None, [args.dst_device_props, prop]))
    error = pick_transport(args, build_guest)
    if error:
        parser.error(error)
    return migrate(args)


if __name__ == "__main__":
    sys.exit(main())
