# SPDX-License-Identifier: GPL-2.0-or-later
"""A minimal QMP client over a QEMU child's stdio, for tdx-emu's scripts."""

import json
import subprocess


class QmpError(Exception):
    pass


class Qemu:
    """Run QEMU with "-qmp stdio" and talk QMP to it."""

    def __init__(self, qemu, args):
        self.events = []
        self.proc = subprocess.Popen([qemu, *args, "-qmp", "stdio"],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        greeting = self._read()
        if greeting is None or "QMP" not in greeting:
            raise QmpError(self.stderr())
        self.command("qmp_capabilities")

    def _read(self):
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def _drain(self):
        """QEMU is gone: keep the events it sent before it went."""
        while (reply := self._read()) is not None:
            if "event" in reply:
                self.events.append(reply)

    def stderr(self):
        self.proc.wait(timeout=30)
        return self.proc.stderr.read().strip()

    def command(self, name, **arguments):
        msg = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._drain()
            raise QmpError(self.stderr()) from None
        while True:
            reply = self._read()
            if reply is None:
                raise QmpError(self.stderr())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise QmpError(reply["error"]["desc"])
            if "event" in reply:
                self.events.append(reply)

    def quit(self):
        try:
            self.command("quit")
        except (QmpError, BrokenPipeError):
            pass
        self.proc.wait(timeout=30)
