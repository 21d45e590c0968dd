#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tdx-emu's fuzzer: what a hostile TD and host can throw at the device.

One QEMU at a time (the sanitized build by default, ./tdx-emu build
--sanitize) runs under -accel qtest with the test mailbox. The fuzzer
drives it with a seeded stream of actions, valid-looking and hostile:

  tdcall VCPU RAX RCX ... R15   one TDCALL through the mailbox (16 GPRs)
  mem GPA HEX                   bytes written into guest RAM first (the
                                buffers TDCALL and VMCALL operands name)
  notify                        the mailbox's event-notify doorbell
  qmp JSON                      a QMP command (requests, queries, reset...)

With --guest the TDCALLs come from guest code instead: the guest stub
boots under -accel tcg with the fw_cfg file opt/tdx-emu/fuzz = "SEED:CALLS"
and, after its checks, makes CALLS random TDCALLs from a PRNG with that
seed through the vCPU's own TDCALL (guest/fuzz.c), then leaves through
isa-debug-exit. Its case action is

  guest SEED CALLS              one boot of the stub in its fuzz mode

A finding is QEMU exiting, a sanitizer report (ASan/UBSan write theirs to
files in the work directory) or an action that gets no answer within
--deadline seconds; in --guest mode, a sanitizer report, any exit but the
stub's pass (33) or no exit within --deadline seconds plus one for every
GUEST_CALLS_PER_S calls. Each finding is cut down to the fewest actions that
still reproduce it and written as a case file: the QEMU arguments, then
one action per line. "--replay FILE" runs a case again; the cases under
tests/fuzz-cases/ are replayed by ./tdx-emu test. The run ends with one
JSON line (calls, QMP commands, resets, findings); exit status 1 when
there were findings. See docs/security.md.
"""

import argparse
import glob
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import qmp

MAILBOX_GPA = 0xFE000000
MAILBOX_DOORBELL = MAILBOX_GPA + 0x80
MAILBOX_NOTIFY = MAILBOX_GPA + 0x90
NR_GPRS = 16
RAM = 64 << 20
SHARED_BIT = 1 << 47
EPISODE_ACTIONS = 20000         # a fresh QEMU after this many actions
MINIMIZE_SECONDS = 120
SCRIPTS = os.path.dirname(os.path.abspath(__file__))
GUEST_IMAGE = os.path.join(SCRIPTS, "..", "build", "guest", "guest",
                           "tdx-emu-guest.bin")
GUEST_FW_CFG = "opt/tdx-emu/fuzz"
GUEST_BOOT_CALLS = 50000        # a fresh boot of the stub after this many
GUEST_CALLS_PER_S = 2000        # a floor far below the measured rate
GUEST_PASS = 33                 # isa-debug-exit: (0x10 << 1) | 1

# A guest panic or a shutdown the TD asks for (ReportFatalError, ACPI
# through Instruction.IO) is the TD's right, not a finding: QEMU stays.
QEMU_ARGS = [
    "-machine", "q35,smm=off", "-accel", "qtest", "-display", "none",
    "-qtest-log", "/dev/null", "-action", "panic=none",
    "-action", "shutdown=pause",
    "-cpu", "max,phys-bits=52,vendor=GenuineIntel", "-smp", "2",
    "-m", "64M", "-nodefaults", "-serial", "null",
    "-chardev", "null,id=mig0",
    "-device", f"tdx-emu,mailbox={MAILBOX_GPA:#x},crash-msrs=on",
]

# The stub's TD (as tests/system boots it): 2 vCPUs; a reset or a
# triple fault ends QEMU instead of booting the stub again. No
# SEPT_VE_DISABLE: a TDCALL operand in a page the calls left unaccepted is
# a #VE the stub handles (guest/fuzz.c), not the end of the TD
GUEST_DEVICE = "tdx-emu,attributes=0"
GUEST_ARGS = [
    "-machine", "q35,smm=off", "-accel", "tcg", "-display", "none",
    "-cpu", "max,phys-bits=48,vendor=GenuineIntel", "-smp", "2",
    "-m", "64M", "-nodefaults", "-global", "apic-common.vapic=off",
    "-no-reboot", "-device", GUEST_DEVICE,
    "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
]

# TDCALL leaves (TDX module ABI) and TDG.VP.VMCALL sub-functions (GHCI 1.5)
LEAVES = [0, 0, 0, 0, 1, 2, 3, 4, 6, 6, 7, 8, 11, 18, 20, 22, 33]
VMCALLS = [0x0A, 0x0C, 0x1E, 0x1F, 0x20, 0x30, 0x10000, 0x10001, 0x10002,
           0x10003, 0x10004, 0x10005, 0x10006, 0x10006, 0x10006, 0x10006]
MIGTD_LEAVES = [1, 2, 3, 4]

INTERESTING = [
    0, 1, 2, 3, 4, 7, 8, 0x1F, 0x20, 0x7F, 0x80, 0xFF, 0x100, 0x3FF, 0xFFF,
    0x1000, 0x1001, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
    1 << 32, SHARED_BIT - 1, SHARED_BIT, 1 << 48, 1 << 51, 1 << 52,
    1 << 63, (1 << 64) - 1, (1 << 64) - 0x1000,
    # the Hyper-V leaves and crash MSRs (crash-msrs=on), CRASH_CTL's bits
    0x40000000, 0x40000003, 0x40000100, 0x40000103, 0x40000104, 0x40000105,
    1 << 62, (1 << 63) | (1 << 62),
]
DEVICE_GPAS = [0xFEC00000, 0xFEC00010, 0xFED00000, 0xFEE00000, MAILBOX_GPA,
               MAILBOX_DOORBELL, 0xE0000000, 0xFFFFFFF0]
PORTS = [0x3F8, 0x3FD, 0x3FF, 0x70, 0x71, 0x40, 0x43, 0x61, 0xCF8, 0xCFC,
         0xF4, 0x80, 0xFFFF]


class Finding(Exception):
    pass


def sanitizer_env(workdir):
    """ASan and UBSan write their reports to files in @workdir"""
    return dict(os.environ,
                ASAN_OPTIONS=f"log_path={workdir}/asan:detect_leaks=0:"
                             "abort_on_error=1",
                UBSAN_OPTIONS=f"log_path={workdir}/ubsan:print_stacktrace=1")


def sanitizer_reports(workdir):
    """The report files in @workdir; ASan's warning that it does not
    fully support QEMU's coroutines (makecontext) alone is no report"""
    found = []
    for path in sorted(glob.glob(os.path.join(workdir, "[au]bsan.*"))):
        with open(path, errors="replace") as f:
            lines = [line for line in f if line.strip()]
        if any("WARNING: ASan doesn't fully support makecontext" not in line
               for line in lines):
            found.append(path)
    return found


class Target:
    """One QEMU under -accel qtest: mailbox TDCALLs, memory, QMP."""

    def __init__(self, qemu, args, workdir, deadline):
        self.workdir = workdir
        self.deadline = deadline
        sock = os.path.join(workdir, "qtest.sock")
        # The sanitizers' reports go to files the fuzzer looks for
        os.environ.update(sanitizer_env(workdir))
        self.vm = qmp.Qemu(qemu, [*args, "-qtest",
                                  f"unix:{sock},server=on,wait=off"])
        self.qtest = socket.socket(socket.AF_UNIX)
        self.qtest.settimeout(deadline)
        self.qtest.connect(sock)
        self.rx = b""

    def reports(self):
        return sanitizer_reports(self.workdir)

    def check(self, what):
        if self.reports():
            raise Finding(f"sanitizer report after {what}")
        if self.vm.proc.poll() is not None:
            raise Finding(f"QEMU exited ({self.vm.proc.returncode}) "
                          f"after {what}")

    def _qtest(self, line):
        try:
            self.qtest.sendall(line.encode() + b"\n")
            while b"\n" not in self.rx:
                chunk = self.qtest.recv(65536)
                if not chunk:
                    raise Finding(f"qtest connection closed at '{line}'")
                self.rx += chunk
        except socket.timeout:
            raise Finding(f"no answer in {self.deadline} s to "
                          f"'{line[:60]}'") from None
        except OSError as e:
            raise Finding(f"qtest: {e} at '{line[:60]}'") from None
        reply, self.rx = self.rx.split(b"\n", 1)
        words = reply.decode().split()
        if not words or words[0] != "OK":
            raise Finding(f"qtest answered '{reply.decode()}' to "
                          f"'{line[:60]}'")
        return words[1:]

    def run(self, action):
        kind, _, rest = action.partition(" ")
        if kind == "tdcall":
            vcpu, *regs = (int(w, 16) for w in rest.split())
            self._qtest(f"write {MAILBOX_GPA:#x} {8 * NR_GPRS:#x} "
                        f"0x{struct.pack('<16Q', *regs).hex()}")
            self._qtest(f"writeq {MAILBOX_DOORBELL:#x} {vcpu:#x}")
            self._qtest(f"read {MAILBOX_GPA:#x} {8 * NR_GPRS:#x}")
        elif kind == "mem":
            gpa, data = rest.split()
            self._qtest(f"write {gpa} {len(data) // 2:#x} 0x{data}")
        elif kind == "notify":
            self._qtest(f"writeq {MAILBOX_NOTIFY:#x} 1")
        elif kind == "qmp":
            msg = json.loads(rest)
            try:
                self.vm.command(msg["execute"], **msg.get("arguments", {}))
            except qmp.QmpError:
                pass                    # refusing a bad command is right
        self.check(action[:60])

    def close(self):
        self.qtest.close()
        self.vm.proc.kill()
        self.vm.proc.wait()


class Generator:
    """Seeded actions: mostly well-formed calls with one thing wrong."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def value(self):
        r = self.rng
        pick = r.random()
        if pick < 0.35:
            return r.choice(INTERESTING)
        if pick < 0.6:
            gpa = r.randrange(0, RAM, 0x1000)
            return gpa | SHARED_BIT if r.random() < 0.4 else gpa
        if pick < 0.7:
            return r.choice(DEVICE_GPAS)
        if pick < 0.8:
            return r.choice(PORTS)
        return r.getrandbits(64)

    def buffer(self, gpa):
        """Something for an operand to point at: a framed header or junk"""
        r = self.rng
        size = r.choice([16, 64, 256, 1024, 4096])
        if r.random() < 0.5:
            head = struct.pack("<QII", r.choice([0, 1, 2, r.getrandbits(64)]),
                               r.choice([0, 4, 12, 16, size, 0xFFFFFFFF]),
                               r.choice([0, 4, 12, 16, size, 0xFFFFFFFF]))
            data = head + r.randbytes(size - len(head))
        else:
            data = r.randbytes(size)
        gpa &= ~SHARED_BIT
        if gpa + size > RAM:
            gpa = RAM - size
        return f"mem {gpa:#x} {data.hex()}"

    def tdcall(self):
        r = self.rng
        regs = [self.value() for _ in range(NR_GPRS)]
        leaf = r.choice(LEAVES) if r.random() < 0.97 else self.value()
        regs[0] = leaf
        if leaf == 0:
            regs[1] = r.choice([0xFC00, 0xFFCC, 0xFFEC, 0xFF00,
                                self.value() & 0xFFFF, self.value()])
            regs[10] = 0 if r.random() < 0.95 else self.value()
            sub = r.choice(VMCALLS) if r.random() < 0.95 else self.value()
            regs[11] = sub
            if sub == 0x10006:
                regs[12] = (1 << 16) | r.choice(MIGTD_LEAVES)
        vcpu = r.choice([0, 0, 0, 1]) if r.random() < 0.99 else \
            r.choice([2, 255, 1 << 32])
        return "tdcall " + " ".join(f"{v:x}" for v in [vcpu, *regs])

    def qmp(self):
        r = self.rng
        kind = r.choice(["start-migration", "start-rebinding",
                         "get-td-report", "enable-log-area",
                         "get-migtd-data", "query", "reset", "catch",
                         "target", "stop-cont", "log-area", "cancel"])
        if kind == "query":
            msg = {"execute": "query-tdx-emu"}
        elif kind == "log-area":
            msg = {"execute": "query-tdx-emu-log-area",
                   "arguments": {"since": r.choice([0, 1 << 63])}}
        elif kind == "cancel":
            msg = {"execute": "tdx-emu-cancel-request",
                   "arguments": {"request-id": r.choice([0, 1, 2])}}
        elif kind == "reset":
            msg = {"execute": "system_reset"}
        elif kind == "stop-cont":
            msg = {"execute": r.choice(["stop", "cont"])}
        elif kind == "catch":
            msg = {"execute": "tdx-emu-catch",
                   "arguments": {"leaves": [r.randrange(64)],
                                 "vmcalls": [self.value() & 0xFFFFFFFF]}}
        elif kind == "target":
            msg = {"execute": "tdx-emu-add-target",
                   "arguments": {"handle": r.randrange(1 << 64),
                                 "uuid": r.randbytes(32).hex()}}
            if r.random() < 0.5:
                msg["arguments"]["init-tdinfo"] = r.randbytes(512).hex()
        else:
            args = {"type": kind, "request-id": r.choice(
                [0, 1, 2, r.randrange(1 << 64)])}
            if kind.startswith("start-"):
                args.update({"source": r.random() < 0.5,
                             "binding-handle": r.randrange(1 << 64),
                             "target-uuid": r.randbytes(32).hex(),
                             "chardev": r.choice(["mig0", "nope"])})
                if r.random() < 0.3:
                    args["init-tdinfo"] = r.randbytes(
                        r.choice([512, 511])).hex()
            elif kind == "enable-log-area":
                args["log-level"] = r.randrange(256)
            elif r.random() < 0.5:
                args["reportdata"] = r.randbytes(r.choice([0, 64, 65])).hex()
            msg = {"execute": "tdx-emu-request", "arguments": args}
        return "qmp " + json.dumps(msg)

    def action(self):
        pick = self.rng.random()
        if pick < 0.003:
            return self.qmp()
        if pick < 0.004:
            return "notify"
        if pick < 0.05:
            return self.buffer(self.value())
        return self.tdcall()


def guest_timeout(calls, deadline):
    return deadline + calls / GUEST_CALLS_PER_S


def run_guest(qemu, args, seed, calls, image, deadline):
    """Boot the stub in its fuzz mode: (the finding or None, QEMU's
    stderr, sanitizer reports and the serial log's tail)"""
    workdir = tempfile.mkdtemp(prefix="tdx-emu-fuzz-")
    serial = os.path.join(workdir, "serial.log")
    timeout = guest_timeout(calls, deadline)
    cmd = [qemu, *args, "-bios", image, "-serial", f"file:{serial}",
           "-fw_cfg", f"name={GUEST_FW_CFG},string={seed}:{calls}"]
    reason = None
    try:
        proc = subprocess.run(cmd, env=sanitizer_env(workdir), text=True,
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
        log = proc.stderr
        if proc.returncode != GUEST_PASS:
            reason = (f"the stub exited {proc.returncode}, not "
                      f"{GUEST_PASS} (pass)")
    except subprocess.TimeoutExpired as e:
        log = e.stderr or ""            # bytes, even with text=True
        if isinstance(log, bytes):
            log = log.decode(errors="replace")
        reason = f"no exit within {timeout:.0f} s (a hang)"
    try:
        reports = sanitizer_reports(workdir)
        for path in reports:
            with open(path, errors="replace") as f:
                log += f.read()
        if reports:
            reason = "sanitizer report"
        with open(serial, errors="replace") as f:
            console = f.read().splitlines()
        if not reason and not any(f"fuzz: {calls} calls" in line
                                  for line in console):
            reason = "the stub passed without its fuzz mode"
        log += "".join(f"serial: {line}\n" for line in console[-10:])
    except OSError as e:
        reason = reason or f"no serial log: {e}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return reason, log


def guest_action(action):
    """(seed, calls) of a "guest SEED CALLS" action, or None"""
    kind, _, rest = action.partition(" ")
    if kind != "guest":
        return None
    seed, calls = rest.split()
    return int(seed), int(calls)


def replay(qemu, args, actions, deadline, image=GUEST_IMAGE):
    """The finding the actions reproduce on a fresh QEMU, or None"""
    guest = [a for a in map(guest_action, actions) if a]
    if guest:
        return next((r for r in (run_guest(qemu, args, seed, calls, image,
                                           deadline)[0]
                                 for seed, calls in guest) if r), None)
    workdir = tempfile.mkdtemp(prefix="tdx-emu-fuzz-")
    target = None
    try:
        target = Target(qemu, args, workdir, deadline)
        for action in actions:
            target.run(action)
        return None
    except (Finding, qmp.QmpError) as e:
        return str(e)
    finally:
        if target:
            target.close()
        shutil.rmtree(workdir, ignore_errors=True)


def minimize(qemu, args, actions, deadline):
    """The shortest failing prefix, then drop actions one by one"""
    stop = time.monotonic() + MINIMIZE_SECONDS
    lo, hi = 1, len(actions)
    while lo < hi and time.monotonic() < stop:
        mid = (lo + hi) // 2
        if replay(qemu, args, actions[:mid], deadline):
            hi = mid
        else:
            lo = mid + 1
    actions = actions[:hi]
    i = len(actions) - 2
    while i >= 0 and time.monotonic() < stop:
        shorter = actions[:i] + actions[i + 1:]
        if replay(qemu, args, shorter, deadline):
            actions = shorter
        i -= 1
    return actions


def minimize_guest(qemu, args, seed, calls, image, deadline):
    """The fewest calls with which the stub, same seed, still fails: its
    calls do not depend on how many follow"""
    stop = time.monotonic() + MINIMIZE_SECONDS
    lo, hi = 0, calls
    while lo < hi and time.monotonic() < stop:
        mid = (lo + hi) // 2
        if run_guest(qemu, args, seed, mid, image, deadline)[0]:
            hi = mid
        else:
            lo = mid + 1
    return hi


def save_case(out, args, actions, reason, qemu_stderr):
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"case-{int(time.time() * 1000)}.fuzz")
    with open(path, "w") as f:
        f.write(f"# {reason}\n")
        for line in qemu_stderr.splitlines()[-20:]:
            f.write(f"# | {line}\n")
        f.write("args " + json.dumps(args) + "\n")
        f.writelines(a + "\n" for a in actions)
    return path


def read_case(path):
    args, actions = QEMU_ARGS, []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if line.startswith("args "):
                args = json.loads(line[5:])
            else:
                actions.append(line)
    return args, actions


def episode_args(rng, workdir):
    """The QEMU of one episode: with or without a test-PKI quote backend"""
    if rng.random() < 0.5:
        return QEMU_ARGS
    pki = os.path.join(workdir, "pki")
    args = list(QEMU_ARGS)
    args[-1] += ",quote=q"
    return ["-object", f"tdx-quote-testpki,id=q,dir={pki}", *args]


def fuzz(opts):
    gen = Generator(opts.seed)
    stats = {"seed": opts.seed, "calls": 0, "qmp": 0, "resets": 0,
             "episodes": 0, "findings": []}
    start = time.monotonic()
    end = start + opts.seconds
    workdir = tempfile.mkdtemp(prefix="tdx-emu-fuzz-")
    try:
        while time.monotonic() < end and \
                (not opts.calls or stats["calls"] < opts.calls):
            run_episode(opts, gen, workdir, end, stats)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    stats["seconds"] = round(time.monotonic() - start, 1)
    return stats


def run_episode(opts, gen, workdir, end, stats):
    args = episode_args(gen.rng, workdir)
    actions = []
    target = Target(opts.qemu, args, workdir, opts.deadline)
    stats["episodes"] += 1
    try:
        for _ in range(EPISODE_ACTIONS):
            if time.monotonic() >= end or \
                    (opts.calls and stats["calls"] >= opts.calls):
                break
            action = gen.action()
            actions.append(action)
            target.run(action)
            stats["calls"] += action.startswith("tdcall")
            stats["qmp"] += action.startswith("qmp")
            stats["resets"] += "system_reset" in action
    except (Finding, qmp.QmpError) as e:
        target.close()
        report(opts, args, actions, str(e), target, stats)
        return
    target.close()


def guest_args(rng, out):
    """The stub's TD, every other boot with a test-PKI quote backend (its
    keys kept in OUT/pki, so that a case replays with them)"""
    if rng.random() < 0.5:
        return GUEST_ARGS
    pki = os.path.abspath(os.path.join(out, "pki"))
    args = [a if a != GUEST_DEVICE else f"{a},quote=q" for a in GUEST_ARGS]
    return ["-object", f"tdx-quote-testpki,id=q,dir={pki}", *args]


def fuzz_guest(opts):
    """--guest: boots of the stub in its fuzz mode, each with its own seed
    from --seed, until --seconds or --calls"""
    rng = random.Random(opts.seed)
    stats = {"seed": opts.seed, "mode": "guest", "calls": 0, "boots": 0,
             "findings": []}
    start = time.monotonic()
    end = start + opts.seconds
    while time.monotonic() < end and \
            (not opts.calls or stats["calls"] < opts.calls):
        calls = GUEST_BOOT_CALLS
        if opts.calls:
            calls = min(calls, opts.calls - stats["calls"])
        seed = rng.getrandbits(64)
        args = guest_args(rng, opts.out)
        reason, log = run_guest(opts.qemu, args, seed, calls,
                                opts.guest_image, opts.deadline)
        stats["boots"] += 1
        stats["calls"] += calls
        if reason:
            small = minimize_guest(opts.qemu, args, seed, calls,
                                   opts.guest_image, opts.deadline)
            path = save_case(opts.out, args, [f"guest {seed} {small}"],
                             reason, log)
            print(f"tdx-emu fuzz: {reason}; the stub with seed {seed}, "
                  f"{small} calls: {path}", file=sys.stderr)
            stats["findings"].append({"reason": reason, "case": path,
                                      "calls": small})
    seconds = time.monotonic() - start
    stats["seconds"] = round(seconds, 1)
    stats["calls_per_s"] = round(stats["calls"] / seconds) if seconds else 0
    return stats


def report(opts, args, actions, reason, target, stats):
    log = "".join(open(p).read() for p in target.reports())
    try:
        log += target.vm.proc.stderr.read()
    except (OSError, ValueError):
        pass
    for path in target.reports():
        os.unlink(path)
    small = minimize(opts.qemu, args, actions, opts.deadline)
    path = save_case(opts.out, args, small, reason, log)
    print(f"tdx-emu fuzz: {reason}; {len(small)} actions in {path}",
          file=sys.stderr)
    stats["findings"].append({"reason": reason, "case": path,
                              "actions": len(small)})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--qemu", required=True)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--calls", type=int, default=0,
                        help="stop after this many TDCALLs (0: no limit)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--deadline", type=float, default=10,
                        help="seconds an action may take (a hang)")
    parser.add_argument("--out", default="build/fuzz",
                        help="where case files of findings go")
    parser.add_argument("--replay", nargs="*", metavar="CASE",
                        help="run case files instead of fuzzing")
    parser.add_argument("--guest", action="store_true",
                        help="TDCALLs from the guest stub's fuzz mode "
                        "instead of the mailbox")
    parser.add_argument("--guest-image", default=GUEST_IMAGE,
                        help="the guest stub (--guest and guest cases)")
    opts = parser.parse_args()
    if opts.replay is not None:
        failed = 0
        for path in opts.replay:
            args, actions = read_case(path)
            reason = replay(opts.qemu, args, actions, opts.deadline,
                            opts.guest_image)
            print(f"{'FAIL' if reason else 'ok'}: {path}"
                  f"{': ' + reason if reason else ''}")
            failed += bool(reason)
        sys.exit(1 if failed else 0)
    if opts.seed is None:
        opts.seed = random.randrange(1 << 32)
    stats = fuzz_guest(opts) if opts.guest else fuzz(opts)
    print(json.dumps(stats))
    sys.exit(1 if stats["findings"] else 0)


if __name__ == "__main__":
    main()
