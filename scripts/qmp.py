# SPDX-License-Identifier: GPL-2.0-or-later
"""A minimal QMP client over a QEMU child's stdio, for tdx-emu's scripts.

Every read has a deadline when the caller gives one, and a QEMU that
dies or stops answering raises QmpError saying which VM it was and how
it went (exit status or signal, last stderr lines), at once."""

import json
import queue
import signal
import subprocess
import threading
import time

EXIT_S = 5          # for a QEMU that closed QMP to exit, or to quit
STDERR_LINES = 5    # of a dead QEMU's stderr, in the error
STATES = {"T": "stopped", "t": "stopped by a tracer", "Z": "a zombie",
          "D": "in uninterruptible sleep"}


class QmpError(Exception):
    """vm: the name of the VM at fault (its QEMU died or stopped
    answering, or the caller says so); None for a refused command."""

    def __init__(self, message, vm=None):
        super().__init__(message)
        self.vm = vm


class Qemu:
    """Run QEMU with "-qmp stdio" and talk QMP to it. name says which VM
    in errors; deadline (a time.monotonic() value, None for none) bounds
    every exchange, the greeting included."""

    def __init__(self, qemu, args, name="the VM", deadline=None):
        self.name = name
        self.deadline = deadline
        self.hung = False       # it did not answer before the deadline
        self.events = []
        self.proc = subprocess.Popen([qemu, *args, "-qmp", "stdio"],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        # readline() cannot time out: a thread reads, _read() waits
        self._lines = queue.Queue()
        threading.Thread(target=self._reader, daemon=True).start()
        try:
            if "QMP" not in self._read("the QMP greeting"):
                raise QmpError(f"{self._who()} sent no QMP greeting", name)
            self.command("qmp_capabilities")
        except QmpError:
            self.proc.kill()
            self.proc.wait()
            raise

    def _reader(self):
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _who(self):
        return f"{self.name} (QEMU pid {self.proc.pid})"

    def _next(self, timeout):
        """The next line; None at EOF (and at every call after it)."""
        line = self._lines.get(timeout=timeout)
        if line is None:
            self._lines.put(None)
        return line

    def _read(self, what):
        left = None if self.deadline is None else \
            max(0, self.deadline - time.monotonic())
        try:
            line = self._next(left)
        except queue.Empty:
            self.hung = True
            raise QmpError(self._hung(what), self.name) from None
        if line is None:
            raise QmpError(self.death(), self.name)
        return json.loads(line)

    def _hung(self, what):
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            state = None
        how = f"; its process is {STATES[state]}" if state in STATES \
            else ""
        return (f"{self._who()} did not answer {what} before the "
                f"deadline{how}")

    def _drain(self):
        """QEMU is gone: keep the events it sent before it went."""
        try:
            while (line := self._next(EXIT_S)) is not None:
                reply = json.loads(line)
                if "event" in reply:
                    self.events.append(reply)
        except queue.Empty:
            pass

    def death(self):
        """How QEMU went: exit status or signal, its last stderr lines."""
        try:
            status = self.proc.wait(timeout=EXIT_S)
        except subprocess.TimeoutExpired:
            return f"{self._who()} closed QMP but did not exit"
        if status < 0:
            how = (f"was killed by signal {-status} "
                   f"({signal.Signals(-status).name})")
        else:
            how = f"exited with status {status}"
        err = self.proc.stderr.read().strip().splitlines()[-STDERR_LINES:]
        return f"{self._who()} {how}" + \
            (f"; stderr: {' | '.join(err)}" if err else "")

    def command(self, name, **arguments):
        msg = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._drain()
            raise QmpError(self.death(), self.name) from None
        while True:
            reply = self._read(name)
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise QmpError(reply["error"]["desc"])
            if "event" in reply:
                self.events.append(reply)

    def wait_event(self, name, what=None):
        """The first event NAME (one already received, or the next), read
        within the deadline."""
        while True:
            for event in self.events:
                if event["event"] == name:
                    return event
            reply = self._read(what or f"event {name}")
            if "event" in reply:
                self.events.append(reply)

    def quit(self):
        """Ask QEMU to quit; kill it if it has not within EXIT_S, or if it
        hung (SIGKILL ends a stopped process too)."""
        if self.proc.poll() is None and not self.hung:
            self.deadline = time.monotonic() + EXIT_S
            try:
                self.command("quit")
                self.proc.wait(timeout=EXIT_S)
            except (QmpError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
