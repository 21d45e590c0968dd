# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers the system tests share (tests/system/README.md): running
commands with a deadline, patched copies of images. QMP is
scripts/qmp.py's, re-exported as tdxtest.qmp."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"
# The tree's Python modules: scripts/ (qmp, run...) and migtd/ (enroll,
# transports...), whichever test imports them first
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "migtd")]
import qmp  # noqa: E402,F401  (scripts/qmp.py)


# Every command the running test ran, whole: a failing test's report shows
# them (pytest cuts an assertion message's repr to 240 characters)
COMMANDS = []


@dataclass(repr=False)
class Result:
    status: int         # exit status; 124 if it ran past its timeout
    out: str
    err: str

    @property
    def json(self):
        """The last line of stdout as JSON (run/migrate/gdb print one)."""
        lines = self.out.strip().splitlines()
        return json.loads(lines[-1]) if lines else None

    def __repr__(self):
        """For assertion messages: the status and the output's tail."""
        tail = (self.out + self.err).strip().splitlines()[-30:]
        return f"exit {self.status}:\n" + "\n".join(tail)


def run(cmd, timeout=300, input=None, env=None, cwd=None):
    """Run cmd (a list; paths allowed) to the end, or kill it after
    timeout seconds (status 124, as timeout(1)). Never raises for a
    failure: the test asserts on the Result."""
    cmd = [str(c) for c in cmd]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if input else
                            subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            cwd=cwd, errors="replace",
                            start_new_session=True)
    try:
        out, err = proc.communicate(input, timeout=timeout)
        result = Result(proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)     # and its children
        out, err = proc.communicate()
        result = Result(124, out, err + f"\n(killed after {timeout} s)")
    COMMANDS.append((cmd, result))
    return result


def python(*args, **kw):
    """Run a Python script of the tree (/usr/bin/python3 ARGS...)."""
    return run([PYTHON, *args], **kw)


def patched(src, dst, offset, data):
    """A copy of image src at dst with bytes data written at offset."""
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        f.seek(offset)
        f.write(data)
    return dst


def read(path):
    """A log's text (binary bytes replaced); "" if it is not there."""
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


@contextmanager
def misbehaving_peer(mode):
    """tests/tools/peer.py listening on a free loopback port in MODE
    (silent, disconnect, garbage); yields the port once it listens"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    peer = subprocess.Popen([PYTHON, ROOT / "tests/tools/peer.py", str(port),
                             mode], stdout=subprocess.PIPE, text=True)
    try:
        assert peer.stdout.readline() == "listening\n", "peer.py died"
        yield port
    finally:
        peer.kill()
        peer.wait()
        peer.stdout.close()
