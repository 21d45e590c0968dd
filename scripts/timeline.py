#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Timelines of TDs: the device's trace as Chrome trace-event JSON.

`./tdx-emu run|migrate --timeline FILE` runs each QEMU with
  -trace enable=tdx_emu_*,file=LOG_DIR/NAME-trace.log -msg timestamp=on
(the `log` trace backend QEMU is built with: one line
"TID@SECONDS.MICROSECONDS:EVENT ARGS" per event) and, once the VMs are
gone, turns those traces and the QMP events the script saw into FILE, in
the trace-event format ("JSON Array/Object Format", as Perfetto UI and
chrome://tracing open it; docs/timeline.md):

  one process per VM, with the threads
    boot       boot phases: firmware (to the payload's first TDCALL),
               payload (to the first WaitForRequest), serving requests
    queued     each request from the host's tdx-emu-request to its
               delivery into a WaitForRequest buffer (or its end, if it
               never got there)
    requests   each request from its delivery to its ReportStatus
    Send, Receive
               each vmcall-raw Send/Receive from the TDG.VP.VMCALL to its
               completion (the peer took or gave the bytes)
    GetQuote   each GetQuote from the TDG.VP.VMCALL to its answer
    events     single moments (RTMR extends, target binding, log-area
               entries, payload found, fatal errors) and QMP events
    vCPU N     every TDCALL, with the TDG.VP.VMCALL it made nested in it,
               and the time the vCPU was halted by Instruction.HLT
  and the counters "TDCALLs/s", "TDG.VP.VMCALLs/s" and "#VEs/s" (the #VEs
  the TDX module raised), one series per vCPU

All slices are complete events ("ph": "X") with a duration; a slice still
open when a trace ends lasts to the trace's end and says "unfinished".
Time 0 is the first traced moment of any VM. Without --timeline nothing is
traced.

`./tdx-emu timeline FILE --svg OUT` draws FILE with matplotlib (any
extension matplotlib writes: .svg, .png, .pdf); `./tdx-emu timeline
--trace NAME=LOG... -o FILE` converts traces of a QEMU started by hand.
"""

import argparse
import json
import os
import re
import sys

LINE = re.compile(r"(\d+)@(\d+)\.(\d{6}):(tdx_emu_\w+) ?(.*)")
FIELD = re.compile(r"(\w+)[= ](0x[0-9a-fA-F]+|-?\d+)")
CPU_NAME = re.compile(r"cpu (-?\d+) (\S+)")
STREAM = re.compile(r"request (\d+) (\d+) bytes")

# MigTD's vmcall-raw TDG.VP.VMCALL and its leaves in R12 (MigTD
# src/devices/vmcall_raw; hw/tdx-emu/vmm/migtd.c), and the operations a
# WaitForRequest delivers (src/migtd/src/migration/session.rs; request.c)
MIGTD_VMCALL = 0x10006
MIGTD_LEAVES = {1: "WaitForRequest", 2: "ReportStatus", 3: "Send",
                4: "Receive"}
OPERATIONS = {1: "start-migration", 2: "start-rebinding",
              3: "get-td-report", 4: "enable-log-area",
              5: "get-migtd-data"}

# Threads of a VM's process: tid (their order), name. Slices that overlap
# within one go to extra lanes ("requests #2"): tid * LANE + lane.
BOOT, QUEUED, REQUESTS, SEND, RECEIVE, QUOTE, EVENTS = range(1, 8)
THREADS = {BOOT: "boot", QUEUED: "queued", REQUESTS: "requests",
           SEND: "Send", RECEIVE: "Receive", QUOTE: "GetQuote",
           EVENTS: "events"}
VCPU_TID = 100                  # + the vCPU's index
LANE = 10000

# Trace events shown as single moments on the "events" thread
INSTANTS = {
    "tdx_emu_payload_found": "payload found",
    "tdx_emu_rtmr_extend": "RTMR extend",
    "tdx_emu_target_bind": "target bound",
    "tdx_emu_map_gpa": "MapGPA",
    "tdx_emu_inject_interrupt": "interrupt",
    "tdx_emu_logarea_entry": "log",
    "tdx_emu_fatal_error": "ReportFatalError",
    "tdx_emu_crash": "crash MSRs",
    "tdx_emu_vcpu_parked": "vCPU parked",
    "tdx_emu_quote_failure": "quote failure",
    "tdx_emu_stream_drop": "stream bytes dropped",
    "tdx_emu_catch": "catchpoint",
    "tdx_emu_ve_df": "#DF (#VE info unread)",
    "tdx_emu_td_killed": "TD killed (page not accepted)",
}

COUNTER_BINS = 400          # at most, over a VM's traced time
COUNTER_MIN_BIN_US = 1000


def qemu_trace_args(path):
    """The QEMU options that trace the device into @path, timestamped"""
    return ["-trace", f"enable=tdx_emu_*,file={path}",
            "-msg", "timestamp=on"]


def read_trace(path):
    """(microseconds since the epoch, event, argument text) of each line of
    a log-backend trace, in time order (threads' lines may interleave)"""
    records = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.fullmatch(line.rstrip("\n"))
            if m:
                records.append((int(m[2]) * 1000000 + int(m[3]), m[4],
                                m[5]))
    records.sort(key=lambda r: r[0])
    return records


def fields(text):
    """name=value (or "name value") pairs of a trace line, as integers"""
    return {k: int(v, 0) for k, v in FIELD.findall(text)}


class Slice:
    def __init__(self, tid, name, cat, start, args=None):
        self.tid, self.name, self.cat = tid, name, cat
        self.start, self.end = start, None
        self.args = args or {}


class VmTrace:
    """One VM's trace events turned into slices, moments and counters
    (absolute microseconds; Timeline makes them relative)."""

    def __init__(self, name, records):
        self.name = name
        self.slices = []            # Slice, closed
        self.instants = []          # (ts, name, args)
        self.calls = {}             # (counter, cpu) -> [ts, ...]
        self.first = records[0][0] if records else None
        self.last = records[-1][0] if records else None
        self.marks = {}             # first payload_found, WaitForRequest
        self.open = {}              # key -> Slice
        self.halting = set()        # vCPUs that halt after this TDCALL
        for ts, event, text in records:
            handler = getattr(self, "on_" + event[len("tdx_emu_"):], None)
            try:
                if handler:
                    handler(ts, text)
            except (AttributeError, KeyError, TypeError, ValueError):
                continue        # a line cut short (QEMU killed)
            if event in INSTANTS:
                self.instants.append((ts, INSTANTS[event], {"trace": text}))
        for key in list(self.open):
            self.close(key, self.last, unfinished=True)
        self.boot_phases()

    def begin(self, key, tid, name, cat, ts, **args):
        if key in self.open:            # never closed: a lost line
            self.close(key, ts, unfinished=True)
        self.open[key] = Slice(tid, name, cat, ts, args)

    def close(self, key, ts, unfinished=False, **args):
        s = self.open.pop(key, None)
        if s:
            s.end = ts
            s.args.update(args)
            if unfinished:
                s.args["unfinished"] = True
            self.slices.append(s)
        return s

    def mark(self, what, ts):
        self.marks.setdefault(what, ts)

    # TDCALLs and VMCALLs on their vCPU's thread, and the time a vCPU is
    # halted by TDG.VP.VMCALL<Instruction.HLT> (until its next TDCALL)
    def on_tdcall(self, ts, text):
        cpu, name = CPU_NAME.match(text).groups()
        cpu = int(cpu)
        self.close(("halt", cpu), ts)
        self.begin(("tdcall", cpu), VCPU_TID + cpu, name, "tdcall", ts)
        self.calls.setdefault(("TDCALLs/s", cpu), []).append(ts)

    def on_tdcall_done(self, ts, text):
        cpu = int(CPU_NAME.match(text)[1])
        self.close(("tdcall", cpu), ts, status=hex(fields(text)["status"]))
        if cpu in self.halting:
            self.halting.discard(cpu)
            self.begin(("halt", cpu), VCPU_TID + cpu, "halted", "halt", ts)

    def on_vmcall(self, ts, text):
        cpu, name = CPU_NAME.match(text).groups()
        cpu, f = int(cpu), fields(text)
        leaf = MIGTD_LEAVES.get(f["r12"] & 0xffff) \
            if f["r11"] == MIGTD_VMCALL else None
        if leaf:
            name = f"{name}.{leaf}"
        self.begin(("vmcall", cpu), VCPU_TID + cpu, f"VMCALL {name}",
                   "vmcall", ts, r11=hex(f["r11"]), r12=hex(f["r12"]))
        self.calls.setdefault(("TDG.VP.VMCALLs/s", cpu), []).append(ts)
        if leaf in ("Send", "Receive"):
            self.begin(leaf, SEND if leaf == "Send" else RECEIVE, leaf,
                       leaf.lower(), ts, cpu=cpu)

    def on_vmcall_done(self, ts, text):
        cpu, _ = CPU_NAME.match(text).groups()
        r10 = fields(text)["r10"]
        vmcall = self.close(("vmcall", int(cpu)), ts, r10=hex(r10))
        if vmcall and vmcall.name == "VMCALL Instruction.HLT" and not r10:
            self.halting.add(int(cpu))
        for key in ("Send", "Receive"):
            # refused: nothing is pending
            if r10 and vmcall and key in self.open and \
                    self.open[key].start == vmcall.start:
                del self.open[key]

    def on_ve(self, ts, text):
        self.calls.setdefault(("#VEs/s", fields(text)["cpu"]), []).append(ts)

    def on_wait_for_request(self, ts, text):
        self.mark("wait-for-request", ts)      # one the VMM took

    def on_service(self, ts, text):
        if text.startswith("WaitForRequest"):
            self.mark("wait-for-request", ts)

    def on_payload_found(self, ts, text):
        self.mark("payload", ts)

    # Requests: queued until delivered, then with the MigTD until
    # completed (or completed while still queued: canceled, failed)
    def request_slice(self, key, tid, cat, ts, text):
        f = fields(text)
        op = OPERATIONS.get(f["operation"], f"operation {f['operation']}")
        self.begin((key, f["request"]), tid, f"request {f['request']}: {op}",
                   cat, ts, id=f["request"], operation=op)

    def on_request_add(self, ts, text):
        self.request_slice("queued", QUEUED, "queued", ts, text)

    def on_request_deliver(self, ts, text):
        self.close(("queued", fields(text)["request"]), ts)
        self.request_slice("request", REQUESTS, "request", ts, text)

    def on_request_complete(self, ts, text):
        f = fields(text)
        status = f["status"]
        done = dict(status=hex(status), result=status >> 8)
        if not self.close(("request", f["request"]), ts, **done) and \
                not self.close(("queued", f["request"]), ts, **done):
            self.instants.append((ts, f"request {f['request']} completed "
                                  "undelivered", done))

    # Send and Receive end when the stream moves their bytes or cancels
    def on_stream_send(self, ts, text):
        request, n = map(int, STREAM.match(text).groups())
        self.close("Send", ts, request=request, bytes=n)

    def on_stream_receive(self, ts, text):
        request, n = map(int, STREAM.match(text).groups())
        self.close("Receive", ts, request=request, bytes=n)

    def on_stream_cancel(self, ts, text):
        self.close(text.split()[-1], ts, canceled=True)   # Send, Receive

    # GetQuote, from the TDG.VP.VMCALL to the answer in its buffer
    def on_get_quote(self, ts, text):
        f = fields(text)
        self.begin(("quote", f["buffer"]), QUOTE, "GetQuote", "quote", ts,
                   buffer=hex(f["buffer"]), in_len=f["in_len"])

    def on_get_quote_done(self, ts, text):
        f = fields(text)
        self.close(("quote", f["buffer"]), ts, status=hex(f["status"]),
                   out_len=f["out_len"])

    def boot_phases(self):
        """boot = firmware + payload, then serving requests"""
        if self.first is None:
            return
        wfr = self.marks.get("wait-for-request")
        payload = self.marks.get("payload")
        end = wfr or self.last

        def phase(name, start, stop, **args):
            s = Slice(BOOT, name, "boot", start, args)
            s.end = stop
            self.slices.append(s)

        phase("boot", self.first, end, **({} if wfr else
                                          {"wait_for_request": False}))
        if payload and payload <= end:
            phase("firmware", self.first, payload)
            phase("payload", payload, end)
        if wfr:
            phase("serving requests", wfr, self.last)

    def counters(self):
        """(ts, counter name, {"vCPU N": calls per second}) per bin"""
        if self.first is None:
            return []
        span = self.last - self.first
        width = max(COUNTER_MIN_BIN_US, -(-span // COUNTER_BINS))
        nbins = span // width + 1
        out = []
        for counter in sorted({c for c, _ in self.calls}):
            cpus = sorted(cpu for c, cpu in self.calls if c == counter)
            bins = {cpu: [0] * nbins for cpu in cpus}
            for cpu in cpus:
                for ts in self.calls[(counter, cpu)]:
                    bins[cpu][(ts - self.first) // width] += 1
            for i in range(nbins):
                out.append((self.first + i * width, counter,
                            {f"vCPU {cpu}": round(bins[cpu][i] * 1e6 /
                                                  width)
                             for cpu in cpus}))
            out.append((self.first + nbins * width, counter,
                        {f"vCPU {cpu}": 0 for cpu in cpus}))
        return out


def lanes(slices):
    """Give overlapping slices of one thread lanes of their own: the
    slice's tid becomes tid * LANE + lane for lanes after the first"""
    ends = {}                   # tid -> [end of each lane]
    for s in sorted(slices, key=lambda s: (s.start, -s.end)):
        if s.tid >= VCPU_TID or s.tid == BOOT:
            continue            # these nest by construction
        lane_ends = ends.setdefault(s.tid, [])
        lane = next((i for i, e in enumerate(lane_ends) if e <= s.start),
                    len(lane_ends))
        lane_ends[lane:lane + 1] = [s.end]
        if lane:
            s.tid = s.tid * LANE + lane


def thread_name(tid):
    if tid >= LANE:
        return f"{THREADS[tid // LANE]} #{tid % LANE + 1}"
    if tid >= VCPU_TID:
        return f"vCPU {tid - VCPU_TID}"
    return THREADS[tid]


def sort_index(tid):
    """A thread's place: its kind's, its lanes after it, vCPUs last"""
    if tid >= LANE:
        return tid
    if tid >= VCPU_TID:
        return VCPU_TID * LANE + tid
    return tid * LANE


class Timeline:
    """The VMs of one run and the QMP events seen; write() makes FILE."""

    def __init__(self, path=None):
        self.path = path
        self.traces = {}        # VM name -> trace file
        self.qmp = {}           # VM name -> {key: event}

    @property
    def enabled(self):
        return self.path is not None

    def qemu_args(self, name, log_dir):
        """QEMU options for VM @name: none unless a timeline was asked"""
        if not self.enabled:
            return []
        self.traces[name] = os.path.join(log_dir, f"{name}-trace.log")
        return qemu_trace_args(self.traces[name])

    def qmp_events(self, name, events):
        """Note QMP events of VM @name (each once, however often seen)"""
        if self.enabled:
            seen = self.qmp.setdefault(name, {})
            for e in events:
                seen[json.dumps(e, sort_keys=True)] = e

    def trace_events(self):
        """The whole trace-event JSON object"""
        vms = []
        for name, path in self.traces.items():
            try:
                vms.append(VmTrace(name, read_trace(path)))
            except OSError:
                vms.append(VmTrace(name, []))
        starts = [vm.first for vm in vms if vm.first is not None] + [
            qmp_ts(e) for evs in self.qmp.values() for e in evs.values()]
        t0 = min(starts, default=0)
        events = []
        for pid, vm in enumerate(vms, 1):
            events += vm_events(pid, vm, self.qmp.get(vm.name, {}), t0)
        meta = [e for e in events if e["ph"] == "M"]
        # parents first, also before a child as short as they are
        timed = sorted((e for e in events if e["ph"] != "M"),
                       key=lambda e: (e["ts"], -e.get("dur", 0),
                                      e.get("cat") == "vmcall"))
        return {"traceEvents": meta + timed, "displayTimeUnit": "ms",
                "otherData": {"producer": "tdx-emu (scripts/timeline.py)",
                              "t0_unix_us": t0,
                              "vms": list(self.traces)}}

    def write(self):
        """Write FILE, if asked; a failure is said, not raised"""
        if not self.enabled:
            return
        try:
            trace = self.trace_events()
            with open(self.path, "w") as f:
                json.dump(trace, f, separators=(",", ":"))
            print(f"timeline: {self.path} ({len(trace['traceEvents'])} "
                  "events; open it in https://ui.perfetto.dev)",
                  file=sys.stderr)
        except OSError as err:
            print(f"timeline: cannot write {self.path}: {err}",
                  file=sys.stderr)


OFF = Timeline()


def qmp_ts(event):
    t = event.get("timestamp", {})
    return t.get("seconds", 0) * 1000000 + t.get("microseconds", 0)


def vm_events(pid, vm, qmp, t0):
    """The trace events of one VM's process"""
    out = [{"ph": "M", "pid": pid, "tid": 0, "name": "process_name",
            "args": {"name": f"{vm.name} VM"}},
           {"ph": "M", "pid": pid, "tid": 0, "name": "process_sort_index",
            "args": {"sort_index": pid}}]
    lanes(vm.slices)
    tids = {s.tid for s in vm.slices} | {EVENTS}
    for tid in sorted(tids):
        out += [{"ph": "M", "pid": pid, "tid": tid, "name": "thread_name",
                 "args": {"name": thread_name(tid)}},
                {"ph": "M", "pid": pid, "tid": tid,
                 "name": "thread_sort_index",
                 "args": {"sort_index": sort_index(tid)}}]
    for s in vm.slices:
        out.append({"ph": "X", "pid": pid, "tid": s.tid, "name": s.name,
                    "cat": s.cat, "ts": s.start - t0,
                    "dur": s.end - s.start, "args": s.args})
    for ts, name, args in vm.instants:
        out.append({"ph": "i", "s": "t", "pid": pid, "tid": EVENTS,
                    "name": name, "cat": "trace", "ts": ts - t0,
                    "args": args})
    for e in qmp.values():
        out.append({"ph": "i", "s": "t", "pid": pid, "tid": EVENTS,
                    "name": e["event"], "cat": "qmp",
                    "ts": qmp_ts(e) - t0, "args": e.get("data", {})})
    for ts, name, series in vm.counters():
        out.append({"ph": "C", "pid": pid, "name": name, "ts": ts - t0,
                    "args": series})
    return out


# Drawing: one row per thread, slices as bars, rates below
COLORS = {"boot": "#8da0cb", "queued": "#d9d9d9", "request": "#e78ac3",
          "send": "#66c2a5", "receive": "#fc8d62", "quote": "#ffd92f",
          "tdcall": "#a6d854", "vmcall": "#4d4d4d", "halt": "#c6dbef"}
OTHER = "#999999"
LEGEND = {"boot": "boot phase", "queued": "queued request",
          "request": "request", "send": "Send", "receive": "Receive",
          "quote": "GetQuote", "tdcall": "TDCALL", "vmcall": "TDG.VP.VMCALL",
          "halt": "halted (HLT)"}


def merged(intervals, gap):
    """Intervals (start, end) sorted, joined where less than @gap apart:
    thousands of TDCALLs become the bars a picture can show"""
    out = []
    for start, end in sorted(intervals):
        if out and start - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return out


def depths(items):
    """Nesting depth of each (start, end, event) of one thread"""
    stack, out = [], []
    for s, e, ev in sorted(items, key=lambda i: (i[0], -i[1])):  # stable
        while stack and stack[-1] <= s and stack[-1] < e:
            stack.pop()
        out.append((len(stack), s, e, ev))
        stack.append(e)
    return out


def rows_of(trace):
    """[(pid, tid, label)] top to bottom (by thread_sort_index, else tid):
    every thread with slices, moments or a name; and the process names"""
    procs, order, names = {}, {}, {}
    for e in trace["traceEvents"]:
        key = (e.get("pid"), e.get("tid"))
        if e["ph"] == "M" and e["name"] == "process_name":
            procs[e["pid"]] = e["args"]["name"]
        elif e["ph"] == "M" and e["name"] == "thread_sort_index":
            order[key] = e["args"]["sort_index"]
        elif e["ph"] == "M" and e["name"] == "thread_name":
            names[key] = e["args"]["name"]
        elif e["ph"] in "Xi":
            names.setdefault(key, str(key[1]))
    rows = sorted(names, key=lambda k: (k[0], order.get(k, k[1])))
    return [(p, t, f"{procs.get(p, p)}: {names[(p, t)]}")
            for p, t in rows], procs


def draw(trace, out, window=None):
    """Draw the trace-event object @trace into the file @out; @window:
    (first, last) millisecond shown, else all"""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows, procs = rows_of(trace)
    events = trace["traceEvents"]
    slices = [e for e in events if e["ph"] == "X"]
    end_us = max([e["ts"] + e.get("dur", 0) for e in events
                  if "ts" in e] + [1])
    lo, hi = window or (0, end_us / 1000.0)     # milliseconds
    span = max(hi - lo, 0.001)
    fig, (ax, rate) = plt.subplots(
        2, 1, sharex=True, figsize=(14, 2.5 + 0.3 * len(rows)),
        gridspec_kw={"height_ratios": [len(rows) + 2, 4]})
    y = {(p, t): len(rows) - 1 - i for i, (p, t, _) in enumerate(rows)}
    by_row = {}
    for e in slices:
        by_row.setdefault((e["pid"], e["tid"]), []).append(
            (e["ts"] / 1000, (e["ts"] + e["dur"]) / 1000, e))
    for key, items in by_row.items():
        if key in y:
            draw_row(ax, y[key], depths(items), lo, hi)
    for e in events:
        if e["ph"] == "i" and (e["pid"], e["tid"]) in y:
            ax.plot(e["ts"] / 1000, y[(e["pid"], e["tid"])], marker="|",
                    color="#e41a1c" if e.get("cat") == "qmp" else "#377eb8",
                    markersize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([label for _, _, label in reversed(rows)],
                       fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    for i in range(1, len(rows)):
        if rows[i][0] != rows[i - 1][0]:
            ax.axhline(len(rows) - i - 0.5, color="black", linewidth=0.6)
    order = list(COLORS)
    cats = sorted({e.get("cat", "") for e in slices},
                  key=lambda c: (order.index(c) if c in order else 99, c))
    ax.legend(handles=[Patch(color=COLORS.get(c, OTHER),
                             label=LEGEND.get(c, c or "other"))
                       for c in cats], loc="lower left", fontsize=7,
              ncol=len(cats) or 1, bbox_to_anchor=(0, 1.0), frameon=False)
    ax.grid(axis="x", linewidth=0.3)
    draw_rates(rate, events, procs, lo, hi)
    rate.set_xlabel("milliseconds")
    rate.set_xlim(lo, hi)
    fig.tight_layout()
    # text stays text in an SVG; no date, so a picture is reproducible
    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["svg.hashsalt"] = "tdx-emu"     # ids too
    fig.savefig(out, metadata={"Date": None} if str(out).endswith(
        (".svg", ".pdf")) else None)
    plt.close(fig)


def draw_row(ax, row, items, lo, hi):
    """One thread's slices between @lo and @hi ms: nested ones below their
    parents, TDCALLs and VMCALLs too close to tell apart merged, the names
    of wide slices written on them"""
    levels = 1 + max(d for d, _, _, _ in items)
    height = 0.8 / levels
    span = hi - lo
    groups = {}
    for d, s, e, ev in items:
        if e < lo or s > hi:
            continue
        cat = ev.get("cat", "")
        groups.setdefault((d, cat), []).append((s, e))
        s, e = max(s, lo), min(e, hi)
        if e - s > span / 12 and cat not in ("tdcall", "vmcall"):
            ax.text(s + (e - s) / 2, row + 0.4 - (d + 0.5) * height,
                    ev["name"], ha="center", va="center",
                    fontsize=max(4, 7 - d), clip_on=True)
    for (d, cat), spans in groups.items():
        calls = cat in ("tdcall", "vmcall")     # thousands: merge them
        bars = [(s, max(e - s, span / 700)) for s, e in
                (merged(spans, span / 1500) if calls else spans)]
        # a white edge between neighbours wide enough to keep their colour
        edges = [0.5 if w > span / 100 and not calls else 0
                 for _, w in bars]
        ax.broken_barh(bars, (row + 0.4 - (d + 1) * height, height * 0.95),
                       color=COLORS.get(cat, OTHER),
                       edgecolor="white", linewidths=edges)


def draw_rates(ax, events, procs, lo, hi):
    """The TDCALL rate of each VM (its vCPUs summed) from @lo to @hi ms"""
    lines = {}
    for e in events:
        if e["ph"] == "C" and e["name"] == "TDCALLs/s" and \
                e["ts"] / 1000 <= hi:
            lines.setdefault(e["pid"], []).append(
                (e["ts"] / 1000, sum(e["args"].values())))
    for pid, points in sorted(lines.items()):
        points.sort()
        before = [p for p in points if p[0] < lo]      # the step at @lo
        points = before[-1:] + [p for p in points if p[0] >= lo]
        ax.step([p[0] for p in points], [p[1] for p in points],
                where="post", linewidth=0.8,
                label=f"{procs.get(pid, pid)}")
    ax.set_ylabel("TDCALLs/s", fontsize=8)
    if lines:
        ax.legend(fontsize=7, loc="upper right")
    ax.grid(linewidth=0.3)


def main():
    parser = argparse.ArgumentParser(
        prog="./tdx-emu timeline",
        description="draw a timeline of run/migrate --timeline, or make "
        "one from traces of a QEMU started by hand")
    parser.add_argument("file", nargs="?", help="the trace-event JSON")
    parser.add_argument("--svg", metavar="OUT", help="draw FILE into OUT "
                        "(.svg, .png or .pdf)")
    parser.add_argument("--window", metavar="FROM:TO", help="with --svg: "
                        "only these milliseconds (e.g. 110:120)")
    parser.add_argument("--trace", metavar="NAME=LOG", action="append",
                        help="a QEMU's -trace file (with -msg timestamp=on)"
                        "; with -o, convert")
    parser.add_argument("-o", dest="out", help="with --trace: the JSON "
                        "to write")
    args = parser.parse_args()
    if args.trace:
        if not args.out:
            parser.error("--trace needs -o FILE")
        tl = Timeline(args.out)
        for spec in args.trace:
            name, sep, path = spec.partition("=")
            if not sep or not os.path.isfile(path):
                parser.error(f"--trace {spec}: want NAME=LOG, an existing "
                             "file")
            tl.traces[name] = path
        tl.write()
        return 0
    if not args.file or not args.svg:
        parser.error("want FILE --svg OUT, or --trace NAME=LOG -o FILE")
    window = None
    if args.window:
        try:
            window = tuple(float(x) for x in args.window.split(":"))
            if len(window) != 2 or not window[0] < window[1]:
                raise ValueError
        except ValueError:
            parser.error(f"--window {args.window}: want FROM:TO, FROM < TO")
    try:
        with open(args.file) as f:
            trace = json.load(f)
        if not isinstance(trace, dict) or \
                not isinstance(trace.get("traceEvents"), list):
            raise ValueError("no traceEvents list")
        draw(trace, args.svg, window)
    except (OSError, ValueError) as err:
        print(f"timeline: {args.file}: {err}", file=sys.stderr)
        return 1
    except (KeyError, TypeError, IndexError) as err:
        print(f"timeline: {args.file}: not a trace of ./tdx-emu run or "
              f"migrate --timeline ({type(err).__name__}: {err})",
              file=sys.stderr)
        return 1
    print(f"timeline: {args.svg}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
