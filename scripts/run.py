#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu run: boot one TD (the guest stub, or --firmware IMG).

Starts QEMU with the options a TD needs, the serial console in a log file,
and watches it over QMP. With --until-ready it stops as soon as the TD has
a WaitForRequest outstanding (a MigTD), with --until-serial REGEX as soon
as the serial console shows REGEX (any TD guest: OVMF's "Shell>"), and
prints one JSON line
  {"ready": true, "boot_s": ..., "mrtd": ..., "rtmr": [...], "tdcalls": {...},
   "payload": {"image-offset": ..., "elf-entry": ..., "size": ...,
               "base": ..., "entry": ..., "rip": ...} or null}
It fails (exit 1) on a guest panic or fatal error, a triple fault, QEMU
exiting or dying (the reason gives its exit status or signal and its last
stderr lines), or the timeout, which bounds every QMP exchange too (a
stopped QEMU), printing the reason and the last serial lines, and the JSON
line {"ready": false, "reason": ..., "crash": {"parameters": [P0..P4],
"message": ...} or null, "fatal_error": {"code", "message"} or null,
"serial_log": ...}.
"""

import argparse
import json
import os
import re
import shlex
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "migtd"))    # logarea, transports
import cli  # noqa: E402
from qmp import Qemu, QmpError  # noqa: E402
from logarea import LEVELS, LogArea, level_number  # noqa: E402
from tdparams import image_gpaw  # noqa: E402
from timeline import Timeline  # noqa: E402

POLL_S = 0.02


def qemu_args(firmware, serial_log, smp, memory, device="tdx-emu"):
    """A panic, a triple fault or a shutdown pauses the VM, so that QMP can
    still tell what the TD said and which VMCALL failed last; an image
    whose TD_PARAMS asks for GPAW 52 gets it (scripts/tdparams.py)"""
    gpaw = image_gpaw(firmware)
    if gpaw != 48:
        device += f",gpaw={gpaw}"
    return ["-machine", "q35,smm=off", "-accel", "tcg",
            "-cpu", f"max,phys-bits={gpaw},vendor=GenuineIntel",
            "-smp", str(smp), "-m", memory, "-nodefaults",
            "-display", "none", "-no-reboot", "-S",
            "-action", "panic=pause", "-action", "shutdown=pause",
            "-global", "apic-common.vapic=off",
            "-serial", f"file:{serial_log}", "-bios", firmware,
            "-device", device]


def tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def counts(info):
    calls = {c["name"]: c["count"] for c in info["tdcall-counts"]}
    calls.update({f"TDG.VP.VMCALL<{c['name']}>": c["count"]
                  for c in info["vmcall-counts"]})
    return calls


def failed_call(call):
    """The last TDG.VP.VMCALL that failed, in words ("" if none)"""
    if not call:
        return ""
    hint = ""
    if "NO_RBP_MOD" in call["name"]:
        hint = (" (firmware older than edk2's and td-shim's 0xffcc "
                "TDVMCALL masks needs --rbp-mod)")
    return (f"; the last failed TDG.VP.VMCALL: {call['name']} "
            f"(R11 {call['subfunction']:#x}) returned {call['status']:#x}"
            + hint)


def parked(event):
    """A TDX_EMU_VCPU_PARKED of vCPU 0 -- the TD is dead -- said in words,
    with the last TDG.VP.VMCALL that failed; None for any other event"""
    data = event.get("data", {})
    if event["event"] != "TDX_EMU_VCPU_PARKED" or data.get("cpu-index"):
        return None
    return ("vCPU 0 halted with interrupts blocked (TDVMCALL<HLT>, R12 = 1)"
            + failed_call(data.get("last-failed-vmcall")))


# SHUTDOWN reasons of the guest's own making (QAPI ShutdownCause)
GUEST_SHUTDOWNS = {
    "guest-reset": "triple fault (the guest reset itself)",
    "guest-shutdown": "the guest powered itself off",
}


def shutdown(event, info):
    """A SHUTDOWN event in words, with the last TDG.VP.VMCALL that failed
    (from query-tdx-emu @info) when the guest did it; None for others"""
    if event["event"] != "SHUTDOWN":
        return None
    reason = event["data"].get("reason")
    if reason not in GUEST_SHUTDOWNS:
        return f"QEMU shut down ({reason})"
    return GUEST_SHUTDOWNS[reason] + failed_call(
        (info or {}).get("last-failed-vmcall"))


def panic_text(info):
    """What the TD said when it panicked: its Hyper-V crash MSRs (message
    and P0), else its ReportFatalError; "" if neither"""
    crash = (info or {}).get("crash")
    if crash:
        return (f": P0 {crash['parameters'][0]:#x}" +
                (f": {crash['message']}" if "message" in crash else "") +
                " (Hyper-V crash MSRs)")
    fatal = (info or {}).get("fatal-error")
    if fatal:
        return f": fatal error {fatal['code']:#x}: {fatal['message']}"
    return ""


def failure(vm, info):
    """Why the TD cannot go on, or None."""
    for event in vm.events:
        if parked(event):
            return f"the TD is dead: {parked(event)}"
        if event["event"] == "GUEST_PANICKED":
            return "guest panicked" + panic_text(info)
        if shutdown(event, info):
            return shutdown(event, info)
    if info and "fatal-error" in info:
        fatal = info["fatal-error"]
        return (f"the TD reported fatal error {fatal['code']:#x}: "
                f"{fatal['message']}")
    if info and "killed" in info:
        return f"the VMM killed the TD: {info['killed']}"
    return None


def ready(args, info, serial_log):
    """--until-ready: a WaitForRequest is out; --until-serial: its text"""
    if args.until_ready:
        return "wait-for-request" in info
    if args.until_serial:
        try:
            with open(serial_log, errors="replace") as f:
                return re.search(args.until_serial, f.read()) is not None
        except OSError:
            return False
    return False


def last_words(vm, info):
    """query-tdx-emu once more: a panic's details come with its event"""
    try:
        return vm.command("query-tdx-emu")
    except QmpError:
        return info


LOG_AREA_REQUEST = 1


def log_area_step(vm, log, args):
    """A MigTD waits for requests: enable its log area (once, unless
    --log-level off), and copy what was read into td-logarea.log. True
    once there is nothing more to wait for before reporting ready."""
    if args.log_level == "off":
        return True
    if log.request_id is None:
        log.enable(LOG_AREA_REQUEST, level_number(args.log_level))
    log.poll()
    return log.seen(vm.events)


def run(args):
    log_dir = args.log_dir or tempfile.mkdtemp(prefix="tdx-emu-run-")
    os.makedirs(log_dir, exist_ok=True)
    serial_log = os.path.join(log_dir, "serial.log")
    props = [prop for prop, on in (("crash-msrs=on", args.crash_msrs),
                                   ("no-rbp-mod=off", args.rbp_mod)) if on]
    timeline = Timeline(args.timeline)
    cmdline = qemu_args(args.firmware, serial_log, args.smp, args.memory,
                        ",".join(["tdx-emu", *props])) + \
        timeline.qemu_args("td", log_dir)
    print("qemu:", shlex.join([args.qemu, *cmdline, "-qmp", "stdio"]),
          file=sys.stderr)
    start = time.monotonic()
    deadline = start + args.timeout if args.timeout < float("inf") else None
    vm = log = None
    reason = info = None
    try:
        vm = Qemu(args.qemu, cmdline, "the TD", deadline)
        log = LogArea(vm.command, log_dir, "td")
        logged = False
        ready_at = None         # (query-tdx-emu, seconds) once ready
        vm.command("cont")      # started paused: QMP sees everything
        while True:
            info = vm.command("query-tdx-emu")
            reason = failure(vm, info)
            if reason:
                break
            if "wait-for-request" in info or log.request_id is not None:
                logged = log_area_step(vm, log, args)
            if not ready_at and ready(args, info, serial_log):
                ready_at = info, round(time.monotonic() - start, 3)
            # --until-ready: the TD as it was then, once its log area is
            # enabled (if it has one) and read
            if ready_at and (not args.until_ready or logged):
                print(json.dumps({
                    "ready": True,
                    "boot_s": ready_at[1],
                    "mrtd": ready_at[0]["mrtd"],
                    "rtmr": ready_at[0]["rtmr"],
                    "tdcalls": counts(ready_at[0]),
                    "payload": ready_at[0].get("payload"),
                    "serial_log": serial_log,
                    **log.summary(),
                }))
                return 0
            if time.monotonic() - start > args.timeout:
                reason = f"timeout after {args.timeout} s"
                break
            time.sleep(POLL_S)
    except QmpError as err:
        reason = (vm and failure(vm, None)) or str(err)
    else:
        info = last_words(vm, info)
        reason = failure(vm, info) or reason
    finally:
        if vm:
            vm.quit()
            timeline.qmp_events("td", vm.events)
        timeline.write()
    print(json.dumps({"ready": False, "reason": reason,
                      "crash": (info or {}).get("crash"),
                      "fatal_error": (info or {}).get("fatal-error"),
                      "serial_log": serial_log}))
    print(f"tdx-emu run: {reason}", file=sys.stderr)
    print(f"--- last lines of {serial_log}:", file=sys.stderr)
    print(tail(serial_log), file=sys.stderr)
    return 1


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(prog="./tdx-emu run")
    parser.add_argument("--qemu", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--firmware", default=os.path.join(
        here, "..", "build", "guest", "guest", "tdx-emu-guest.bin"),
        help="TDVF firmware image (default: the guest stub)")
    parser.add_argument("--until-ready", action="store_true",
                        help="exit 0 once WaitForRequest is outstanding")
    parser.add_argument("--until-serial", metavar="REGEX",
                        help="exit 0 once the serial console shows REGEX "
                        "(any TD guest: OVMF's 'Shell>', a kernel's line)")
    parser.add_argument("--timeout", type=cli.seconds, default=60,
                        help="seconds before giving up (default 60)")
    parser.add_argument("--log-dir", help="where serial.log and "
                        "td-logarea.log go")
    parser.add_argument("--log-level", choices=LEVELS, default="info",
                        help="a MigTD's log area: EnableLogArea at this "
                        "level once it waits for requests, its entries "
                        "into td-logarea.log (default info; off: none)")
    parser.add_argument("--smp", type=cli.count, default=1,
                        help="vCPUs (the guest stub brings up its APs "
                        "through td-shim's mailbox)")
    parser.add_argument("--crash-msrs", action="store_true",
                        help="offer the Hyper-V crash MSRs a vmcall-raw "
                        "MigTD reports a panic through (docs/debugging.md)")
    parser.add_argument("--rbp-mod", action="store_true",
                        help="a TD without NO_RBP_MOD: TDG.VP.VMCALL may "
                        "expose RBP, as the AP loop of td-shim before "
                        "e3a692b does (docs/tdx-module.md)")
    parser.add_argument("--memory", default="32M")
    parser.add_argument("--timeline", metavar="FILE",
                        help="trace the device and write a Perfetto/Chrome "
                        "trace-event JSON of the run (docs/timeline.md)")
    args = parser.parse_args()
    if not args.until_ready and not args.until_serial:
        args.timeout = float("inf") if "--timeout" not in sys.argv \
            else args.timeout
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
