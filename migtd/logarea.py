# SPDX-License-Identifier: GPL-2.0-or-later
"""The MigTD log area for run and migrate (docs/debugging.md).

A vmcall-raw MigTD keeps one log page per vCPU and names them when it
completes an EnableLogArea request (MigTD src/migtd/src/migration/
logging.rs). The device reads and decodes them; LogArea asks it for what it
read (query-tdx-emu-log-area) and appends each entry to NAME-logarea.log as
one line:

  entry=12 vcpu=0 request=1 level=INFO migtd-stub: request 1: ...

request=- for an entry that belongs to no request. A page the device could
not read completely is noted once per reason, as a line starting with #.
"""

import os

LEVELS = ("off", "error", "warn", "info", "debug", "trace")


def level_number(name):
    """--log-level NAME as MigTD's log_max_level (0: off)"""
    return LEVELS.index(name)


def level_name(number):
    return LEVELS[number].upper() if 0 < number < len(LEVELS) \
        else str(number)


def entry_line(entry):
    request = entry.get("request-id")
    return (f"entry={entry['entry-id']} vcpu={entry['vcpu']} "
            f"request={'-' if request is None else request} "
            f"level={level_name(entry['level'])} {entry['text']}")


class LogArea:
    """One VM's log area: enable it, then copy what is read into a file.

    command is the VM's QMP command function (name, **arguments)."""

    def __init__(self, command, log_dir, name):
        self.command = command
        self.path = os.path.join(log_dir, f"{name}-logarea.log")
        self.next_seq = 0
        self.entries = 0
        self.malformed = {}
        self.enabled = False
        self.request_id = None
        self.result = None      # the EnableLogArea's MigrationResult name

    def enable(self, request_id, level):
        """Ask for it (the answer comes as TDX_EMU_REQUEST_COMPLETE)"""
        self.request_id = request_id
        self.command("tdx-emu-request", **{
            "type": "enable-log-area", "request-id": request_id,
            "log-level": level})

    def seen(self, events):
        """Note the EnableLogArea's completion among QMP @events; whether
        it completed"""
        for event in events:
            if event["event"] == "TDX_EMU_REQUEST_COMPLETE" and \
                    event["data"]["request-id"] == self.request_id:
                self.result = event["data"]["result-name"]
        return self.result is not None

    def poll(self):
        """Append what the device read since the last poll"""
        info = self.command("query-tdx-emu-log-area", since=self.next_seq)
        self.enabled = info["enabled"]
        lines = [entry_line(e) for e in info["entries"]]
        for page in info["pages"]:
            why = page.get("malformed")
            if why and self.malformed.get(page["vcpu"]) != why:
                lines.append(f"# the log page of vCPU {page['vcpu']} "
                             f"(GPA {page['gpa']:#x}) is malformed: {why}")
            self.malformed[page["vcpu"]] = why
        self.next_seq = info["next-seq"]
        self.entries += len(info["entries"])
        if lines:
            with open(self.path, "a") as f:
                f.write("".join(line + "\n" for line in lines))

    def summary(self):
        return {"log_area": self.path if self.enabled else None,
                "log_area_result": self.result,
                "log_entries": self.entries}
