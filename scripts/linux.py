#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu linux: boot Linux as a TD and check its attestation.

Debian's OVMF and Debian's cloud kernel (fetched once, firmware/
linux_image.py) boot as a TD with TD attributes SEPT_VE_DISABLE (Linux
panics without it) and a test-PKI GetQuote backend. The initramfs's /init
runs firmware/linux-check, which prints its checks on the console (TDX
guest detected, what TDG.VP.INFO gave it, TDX_CMD_GET_REPORT0 echoes a
nonce, a configfs-tsm quote);
the host then verifies the quote with tests/tools/qvl-verify.js trusting
only the test root. One JSON line:
  {"ok": true, "init_s": ..., "done_s": ..., "smp": N, "kernel": ...,
   "checks": {"guest-detected": "ok ...", "td-info": ..., "report": ...,
              "quote": ..., "quote-verify": ...}, "ve": ..., "tdcalls": {...},
   "serial_log": ...}
init_s is when the kernel ran /init, done_s when the checks ended (seconds
since QEMU started); tdcalls are the TDCALL/VMCALL counts then. With an
--initrd of your own there are no checks: the run ends once the kernel
runs /init. Exit 1 if the TD fails (run.py's reasons), a check fails or
the timeout passes, with {"ok": false, "reason": ...}.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "firmware"))
import cli  # noqa: E402
import ovmf_image  # noqa: E402
from linux_image import FetchError, prepare  # noqa: E402
from qmp import Qemu, QmpError  # noqa: E402
from run import POLL_S, counts, failure, qemu_args, tail  # noqa: E402

# SEPT_VE_DISABLE (bit 28): Linux refuses to run without it
# (arch/x86/coco/tdx/tdx.c, tdx_early_init)
TD_ATTRIBUTES = 0x10000000
DEVICE = f"tdx-emu,attributes={TD_ATTRIBUTES:#x},quote=q"
INIT_LINE = "Run /init as init process"
DONE = re.compile(r"^LINUX-CHECK DONE (\d+) failed", re.M)
CHECK = re.compile(r"^CHECK (\S+) (ok|FAIL) (.*)$", re.M)


def serial_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def hex_line(text, label):
    m = re.search(rf"^{label} ([0-9a-f]+)\s*$", text, re.M)
    return m.group(1) if m else None


def collateral(args, pki, log_dir):
    """The test PKI's collateral (GET_COLLATERAL_RESP) for this platform:
    the Linux kernel asks only for quotes, so the guest stub, which asks
    for both, is booted once on the same PKI to get it"""
    stub_log = os.path.join(log_dir, "collateral-stub.log")
    subprocess.run([args.qemu, "-machine", "q35", "-accel", "tcg", "-m",
                    "64M", "-nodefaults", "-display", "none",
                    "-global", "apic-common.vapic=off",
                    "-bios", args.guest_image,
                    "-cpu", "max,phys-bits=48,vendor=GenuineIntel",
                    "-object", f"tdx-quote-testpki,id=q,dir={pki}",
                    "-device", "tdx-emu,quote=q",
                    "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
                    "-serial", f"file:{stub_log}"],
                   capture_output=True, timeout=60)
    return hex_line(serial_text(stub_log), "COLLATERAL")


def verify_quote(args, text, pki, log_dir):
    """qvl-verify.js on the TD's QUOTE and TDREPORT: "ok ..." or why not"""
    if not os.path.isdir(os.path.join(args.qvl, "@phala", "dcap-qvl")):
        return f"FAIL no DCAP verifier in {args.qvl} (npm ci, see " \
            "./tdx-emu test)"
    quote, report = hex_line(text, "QUOTE"), hex_line(text, "TDREPORT")
    coll = collateral(args, pki, log_dir)
    missing = [what for what, have in (("QUOTE", quote), ("TDREPORT", report),
                                       ("collateral", coll)) if not have]
    if missing:
        return f"FAIL no {' or '.join(missing)} to verify" + (
            f" (the stub's log: {log_dir}/collateral-stub.log)"
            if not coll else "")
    path = os.path.join(log_dir, "quote-verify.log")
    with open(path, "w") as f:
        f.write(f"QUOTE {quote}\nTDREPORT {report}\nCOLLATERAL {coll}\n")
    r = subprocess.run(["node", os.path.join(ROOT, "tests", "tools",
                                             "qvl-verify.js"),
                        path, os.path.join(pki, "root-ca.der")],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, NODE_PATH=args.qvl))
    if r.returncode:
        return f"FAIL {r.stderr.strip()}"
    return f"ok {r.stdout.strip().split(';')[0]}"


def checks(text):
    return {name: f"{res} {why}" for name, res, why in CHECK.findall(text)}


def boot(args, kernel, initrd, log_dir, pki):
    """Run the TD until its checks are done (or it runs /init, with an
    initrd of your own); (result dict, failure reason or None)"""
    serial_log = os.path.join(log_dir, "serial.log")
    nonce = os.urandom(64).hex()
    cmdline = qemu_args(args.firmware, serial_log, args.smp, args.memory,
                        DEVICE + (",ve=off" if args.no_ve else "") +
                        (",no-rbp-mod=off" if args.rbp_mod else "")) + [
        "-object", f"tdx-quote-testpki,id=q,dir={pki}",
        "-kernel", kernel, "-initrd", initrd,
        "-append", f"console=ttyS0 panic=-1 tdxemu.nonce={nonce} "
        f"{args.append}".strip()]
    if args.gdb:
        cmdline += ["-gdb", f"tcp:127.0.0.1:{args.gdb}"]
    print("qemu:", shlex.join([args.qemu, *cmdline, "-qmp", "stdio"]),
          file=sys.stderr)
    start = time.monotonic()
    vm = None
    result = {"smp": args.smp, "kernel": kernel, "serial_log": serial_log}
    reason = info = None
    try:
        # QMP gets a little longer, so that the timeout is said as such
        vm = Qemu(args.qemu, cmdline, "the TD", start + args.timeout + 10)
        if args.gdb:
            print(f"tdx-emu linux: the TD waits for gdb on port {args.gdb} "
                  "(docs/linux-td.md)", file=sys.stderr)
        else:
            vm.command("cont")
        while True:
            info = vm.command("query-tdx-emu")
            text = serial_text(serial_log)
            now = round(time.monotonic() - start, 3)
            if "init_s" not in result and INIT_LINE in text:
                result["init_s"] = now
            if args.own_initrd and "init_s" in result or DONE.search(text):
                result["done_s"] = now
                result["tdcalls"] = counts(info)
                break
            reason = failure(vm, info)
            if reason:
                break
            if now > args.timeout:
                reason = f"timeout after {args.timeout} s"
                break
            time.sleep(POLL_S)
    except QmpError as err:
        reason = (vm and failure(vm, None)) or str(err)
    finally:
        if vm:
            vm.quit()
    return result, reason


def run(args):
    log_dir = args.log_dir or tempfile.mkdtemp(prefix="tdx-emu-linux-")
    os.makedirs(log_dir, exist_ok=True)
    pki = os.path.abspath(args.pki)
    try:
        image = prepare()
        args.firmware = args.firmware or ovmf_image.prepare()
    except (FetchError, subprocess.SubprocessError, OSError) as err:
        return report({"ok": False, "reason": f"fetch: {err}"})
    kernel = args.kernel or image["kernel"]
    args.own_initrd = args.initrd is not None
    result, reason = boot(args, kernel, args.initrd or image["initrd"],
                          log_dir, pki)
    text = serial_text(result["serial_log"])
    if not reason and not args.own_initrd:
        result["checks"] = checks(text)
        result["checks"]["quote-verify"] = verify_quote(args, text, pki,
                                                        log_dir)
        ve = re.search(r"^VE (.*)$", text, re.M)
        result["ve"] = ve.group(1).strip() if ve else None
        bad = [n for n, r in result["checks"].items() if r[:2] != "ok"]
        if bad or len(result["checks"]) < 5:
            reason = "checks failed: " + ", ".join(bad or ["missing"])
    result = {"ok": reason is None, **({"reason": reason} if reason else {}),
              **result}
    if reason:
        print(f"tdx-emu linux: {reason}", file=sys.stderr)
        for name, res in result.get("checks", {}).items():
            if res[:2] != "ok":
                print(f"  {name}: {res}", file=sys.stderr)
        print(f"--- last lines of {result['serial_log']}:", file=sys.stderr)
        print(re.sub(r"^(QUOTE|TDREPORT) .*$", r"\1 ...",
                     tail(result["serial_log"]), flags=re.M),
              file=sys.stderr)
    return report(result)


def report(result):
    print(json.dumps(result))
    return 0 if result["ok"] else 1


def main():
    parser = argparse.ArgumentParser(prog="./tdx-emu linux")
    parser.add_argument("--qemu", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--guest-image", required=True,
                        help=argparse.SUPPRESS)
    parser.add_argument("--qvl", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--kernel", help="bzImage (default: Debian's "
                        "cloud kernel, fetched once into the cache)")
    parser.add_argument("--initrd", help="an initramfs of your own "
                        "(default: firmware/'s, which runs the checks); "
                        "the run ends when the kernel runs its /init")
    parser.add_argument("--firmware", help="TDVF firmware (default: "
                        "Debian trixie's OVMF, fetched once into the cache, "
                        "firmware/ovmf_image.py)")
    parser.add_argument("--rbp-mod", action="store_true",
                        help="a TD without NO_RBP_MOD, for firmware whose "
                        "TDVMCALLs expose RBP (edk2 before 0xffcc, e.g. "
                        "Debian 12's /usr/share/ovmf/OVMF.fd)")
    parser.add_argument("--smp", type=cli.count, default=1)
    parser.add_argument("--memory", default="1G")
    parser.add_argument("--no-ve", action="store_true",
                        help="-device tdx-emu,ve=off: the VMM serves what "
                        "the TD would take a #VE for (docs/linux-td.md)")
    parser.add_argument("--append", default="",
                        help="more kernel command line")
    parser.add_argument("--timeout", type=cli.seconds, default=120,
                        help="seconds before giving up (default 120)")
    parser.add_argument("--log-dir", help="where serial.log goes")
    parser.add_argument("--gdb", type=int, metavar="PORT",
                        help="QEMU's gdbstub on 127.0.0.1:PORT; the TD "
                        "starts paused until gdb continues it")
    parser.add_argument("--pki", default=os.path.join(ROOT, "build",
                                                      "testpki"),
                        help="the test PKI's directory (made if missing; "
                        "docs/quote.md)")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
