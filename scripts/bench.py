#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu bench: how fast the emulated TD platform is, on this machine.

Figures, each repeated to give min and median:
- TDCALL round trip: 10^6 TDG.VP.INFO in the guest stub against 10^6
  CPUID, the cheapest instruction exit TCG has (goal: ratio <= 1.5);
- 1 ms timeout: 200 TSC-deadline timeouts of 1 ms in a row, as MigTD
  waits, timed by the host between two serial lines against its clock
  (goal: 1 ms of real time, +-10%, as MigTD's driver/timer.rs needs),
  and by the guest's TSC;
- boot: reset to the first WaitForRequest (the stub; --firmware IMG too),
  Debian trixie's OVMF.fd as a TD to its UEFI shell, and that OVMF and the cloud
  kernel as a TD to the kernel running /init (./tdx-emu linux);
- two-VM pre-migration: both start-migration requests to both results;
- Send/Receive throughput: after the exchange the bench image's source
  sends 256 full 64 KiB buffers, the destination times their arrival;
- GetQuote latency: the stub's GetQuote, from the TDVMCALL to the
  event-notify interrupt, through each backend that runs locally: QGS and
  IMDS against scripts/fake-qgs.py and fake-imds.py (the emulator's and the
  backend's share), and the test PKI (which signs for real).
Prints a table, then one JSON line.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STUB = os.path.join(HERE, "..", "build", "guest", "guest",
                    "tdx-emu-guest.bin")
TDX_EMU = os.path.join(HERE, "..", "tdx-emu")
sys.path.insert(0, os.path.join(HERE, "..", "firmware"))
import cli  # noqa: E402
import ovmf_image  # noqa: E402
CFV_OFFSET = 0xF000         # the stub's CFV in its image (boot.ld)


def stats(values):
    return {"min": round(min(values), 6),
            "median": round(statistics.median(values), 6),
            "runs": len(values)}


def bench_image(work):
    """The stub, its CFV asking for the benchmarks (CFV is not in MRTD)."""
    image = os.path.join(work, "bench.bin")
    shutil.copy(STUB, image)
    with open(image, "r+b") as f:
        f.seek(CFV_OFFSET)
        f.write(b"tdx-emu bench\n")
    return image


def run_stub(qemu, image, *device_args):
    """Run the stub @image to its isa-debug-exit: its serial lines, each
    with the host's monotonic time when it arrived."""
    proc = subprocess.Popen(
        [qemu, "-machine", "q35", "-accel", "tcg",
         "-cpu", "max,phys-bits=48,vendor=GenuineIntel", "-m", "32M",
         "-nodefaults", "-display", "none", "-serial", "stdio",
         "-global", "apic-common.vapic=off", "-bios", image, *device_args,
         "-device", "isa-debug-exit,iobase=0xf4,iosize=1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    watchdog = threading.Timer(300, proc.kill)
    watchdog.start()
    lines = []
    try:
        for line in proc.stdout:
            lines.append((time.monotonic(), line.decode(errors="replace")))
        proc.wait()
    finally:
        watchdog.cancel()
    return lines


def find_line(lines, pattern):
    """(arrival time, match) of the first line matching @pattern"""
    for t, line in lines:
        m = re.search(pattern, line)
        if m:
            return t, m
    raise RuntimeError(f"the guest printed no line like {pattern!r}")


def stub_benchmarks(qemu, image, runs):
    """TDCALL against CPUID, and 1 ms timeouts against real time."""
    tdcall, cpuid, real_ms, guest_ms = [], [], [], []
    for _ in range(runs):
        lines = run_stub(qemu, image, "-device", "tdx-emu")
        _, m = find_line(lines, r"BENCH iterations=\d+ tdcall_ps=(\d+) "
                         r"cpuid_ps=(\d+)")
        tdcall.append(int(m.group(1)) / 1000)
        cpuid.append(int(m.group(2)) / 1000)
        start, _ = find_line(lines, r"BENCH timeouts start")
        end, m = find_line(lines, r"BENCH timeouts=(\d+) guest_us=(\d+)")
        count = int(m.group(1))
        real_ms.append((end - start) * 1000 / count)
        guest_ms.append(int(m.group(2)) / 1000 / count)
    ratios = [t / c for t, c in zip(tdcall, cpuid)]
    return {"tdcall_ns": stats(tdcall), "cpuid_ns": stats(cpuid),
            "ratio": stats(ratios)}, \
        {"real_ms": stats(real_ms), "guest_ms": stats(guest_ms)}


def boot(firmware, runs, until=("--until-ready",)):
    times = []
    for _ in range(runs):
        out = subprocess.run([TDX_EMU, "run", "--firmware", firmware,
                              *until, "--timeout", "120"],
                             capture_output=True, text=True, timeout=300)
        times.append(json.loads(out.stdout.splitlines()[-1])["boot_s"])
    return stats(times)


def boot_ovmf(runs):
    """Debian trixie's OVMF as a TD to its UEFI shell (fetched once,
    firmware/ovmf_image.py); None if it cannot be fetched"""
    try:
        ovmf = ovmf_image.prepare()
    except (ovmf_image.FetchError, subprocess.SubprocessError, OSError):
        return None
    return boot(ovmf, runs, ("--memory", "1G", "--until-serial", "Shell>"))


def boot_linux(runs):
    """Debian's OVMF and cloud kernel as a TD to its init (./tdx-emu linux,
    docs/linux-td.md); None if it cannot run (no kernel to fetch)"""
    times = []
    for _ in range(runs):
        out = subprocess.run([TDX_EMU, "linux", "--timeout", "240"],
                             capture_output=True, text=True, timeout=300)
        lines = out.stdout.splitlines()
        result = json.loads(lines[-1]) if lines else {}
        if "init_s" not in result:
            return None
        times.append(result["init_s"])
    return stats(times)


def migration(runs, firmware=STUB):
    """Pre-migration times, and the stream figures the guests printed."""
    times, rates = [], []
    for _ in range(runs):
        out = subprocess.run([TDX_EMU, "migrate", "--timeout", "120",
                              "--firmware", firmware],
                             capture_output=True, text=True, timeout=300)
        result = json.loads(out.stdout.splitlines()[-1])
        if result["result"] != "success":
            raise RuntimeError(f"pre-migration failed: {result}")
        times.append(result["elapsed_s"])
        with open(result["destination"]["serial_log"]) as f:
            m = re.search(r"BENCH stream bytes=(\d+) us=(\d+)", f.read())
        if m:
            rates.append(int(m.group(1)) / int(m.group(2)))
    return stats(times), stats(rates) if rates else None


def start_fake(argv, ready):
    """A fake quote service, once @ready (a path) exists."""
    proc = subprocess.Popen([sys.executable] + argv)
    for _ in range(50):
        if os.path.exists(ready):
            break
        time.sleep(0.1)
    return proc


def quote_backends(work, runs):
    """(name, -object value, fake service or None) per local backend."""
    sock = os.path.join(work, "qgs.sock")
    port_file = os.path.join(work, "imds.port")
    qgs = start_fake([os.path.join(HERE, "fake-qgs.py"), sock,
                      "--count", str(runs)], sock)
    imds = start_fake([os.path.join(HERE, "fake-imds.py"), "0",
                       "--port-file", port_file, "--count", str(runs)],
                      port_file)
    with open(port_file) as f:
        port = f.read().strip()
    pki = os.path.join(work, "pki")
    return [("fake QGS", f"tdx-quote-qgs,id=q,addr={sock}", qgs),
            ("fake IMDS", "tdx-quote-imds,id=q,"
             f"url=http://127.0.0.1:{port}/acc/tdquote", imds),
            ("test PKI", f"tdx-quote-testpki,id=q,dir={pki}", None)]


def quote_latency(qemu, backend, runs):
    times = []
    for _ in range(runs):
        lines = run_stub(qemu, STUB, "-object", backend,
                         "-device", "tdx-emu,quote=q")
        _, m = find_line(lines, r"GetQuote: quote of \d+ bytes \((\d+) us\)")
        times.append(int(m.group(1)) / 1e6)
    return stats(times)


def get_quote(qemu, work, runs):
    """GetQuote latency per backend that runs locally."""
    result = {}
    backends = quote_backends(work, runs)
    try:
        for name, backend, _ in backends:
            result[name] = quote_latency(qemu, backend, runs)
    finally:
        for _, _, fake in backends:
            if fake:
                fake.kill()
                fake.wait()
    return result


def main():
    parser = argparse.ArgumentParser(prog="./tdx-emu bench")
    parser.add_argument("--qemu", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--firmware", help="also time this image's boot")
    parser.add_argument("--runs", type=cli.count, default=5)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="tdx-emu-bench-")
    image = bench_image(work)
    tdcall, timeout = stub_benchmarks(args.qemu, image, args.runs)
    result = {"tdcall": tdcall, "timeout_1ms": timeout,
              "boot_stub_s": boot(STUB, args.runs),
              "premigration_s": migration(args.runs)[0],
              "stream_mb_s": migration(args.runs, image)[1],
              "getquote_s": get_quote(args.qemu, work, args.runs),
              "boot_ovmf_shell_s": boot_ovmf(args.runs),
              "boot_linux_init_s": boot_linux(args.runs)}
    if args.firmware:
        result["boot_firmware_s"] = boot(args.firmware, args.runs)
    shutil.rmtree(work)

    rows = [("TDG.VP.INFO round trip (ns)", result["tdcall"]["tdcall_ns"]),
            ("CPUID (ns)", result["tdcall"]["cpuid_ns"]),
            ("TDCALL / CPUID (goal <= 1.5)", result["tdcall"]["ratio"]),
            ("1 ms timeout, real time (ms; goal 0.9-1.1)",
             result["timeout_1ms"]["real_ms"]),
            ("1 ms timeout, guest TSC (ms)",
             result["timeout_1ms"]["guest_ms"]),
            ("boot to WaitForRequest, stub (s)", result["boot_stub_s"]),
            ("two-VM pre-migration (s)", result["premigration_s"]),
            ("Send/Receive throughput, 64 KiB (MB/s)",
             result["stream_mb_s"])]
    rows += [(f"GetQuote, {name} (s)", figure)
             for name, figure in result["getquote_s"].items()]
    if result["boot_ovmf_shell_s"]:
        rows.append(("OVMF to the UEFI shell, as a TD (s)",
                     result["boot_ovmf_shell_s"]))
    if result["boot_linux_init_s"]:
        rows.append(("Linux to its init, as a TD (s)",
                     result["boot_linux_init_s"]))
    if args.firmware:
        rows.append(("boot to WaitForRequest, firmware (s)",
                     result["boot_firmware_s"]))
    print(f"{'figure':40} {'min':>12} {'median':>12}")
    for name, s in rows:
        print(f"{name:40} {s['min']:>12} {s['median']:>12}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
