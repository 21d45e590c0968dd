# SPDX-License-Identifier: GPL-2.0-or-later
"""run/migrate --timeline: the Perfetto/Chrome trace-event JSON
(scripts/timeline.py, docs/timeline.md) and ./tdx-emu timeline --svg."""

import json

import pytest

from tdxtest import ROOT, misbehaving_peer, python, read, run

MIGRATE = ROOT / "scripts" / "migrate.py"
RUN = ROOT / "scripts" / "run.py"
TIMELINE = ROOT / "scripts" / "timeline.py"
VM_THREADS = {"boot", "queued", "requests", "Send", "Receive", "GetQuote",
              "events", "vCPU 0", "vCPU 1"}


@pytest.fixture(scope="module")
def migration(qemu, tmp_path_factory):
    """A pre-migration of two 2-vCPU stubs quoting through a test PKI,
    with --timeline: (its JSON line, the trace-event object, the file)"""
    tmp = tmp_path_factory.mktemp("timeline")
    r = python(MIGRATE, "--qemu", qemu, "--smp", "2", "--quote", "testpki",
               "--pki", tmp / "pki", "--log-dir", tmp / "log",
               "--timeline", tmp / "t.json", "--timeout", "120",
               timeout=200)
    assert r.status == 0 and r.json["keys_match"], r
    assert "timeline: " in r.err, r
    with open(tmp / "t.json") as f:
        return r.json, json.load(f), tmp / "t.json"


def processes(trace):
    """{pid: (process name, {tid: thread name})}"""
    procs = {}
    for e in trace["traceEvents"]:
        if e["ph"] == "M" and e["name"] == "process_name":
            procs.setdefault(e["pid"], ["", {}])[0] = e["args"]["name"]
        if e["ph"] == "M" and e["name"] == "thread_name":
            procs.setdefault(e["pid"], ["", {}])[1][e["tid"]] = \
                e["args"]["name"]
    return {pid: tuple(p) for pid, p in procs.items()}


def slices(trace, process, thread):
    """The X events of one thread (by names), in file order; [] if the
    thread is not there"""
    tid = pid = None
    for p, (name, tids) in processes(trace).items():
        for t, tname in tids.items():
            if (name, tname) == (process, thread):
                pid, tid = p, t
    return [e for e in trace["traceEvents"]
            if e["ph"] == "X" and (e["pid"], e["tid"]) == (pid, tid)]


def test_migrate_timeline_tracks(migration):
    """migrate --timeline: a process per VM, each with its boot, requests,
    Send, Receive, GetQuote and events threads and a thread per vCPU"""
    _, trace, _ = migration
    procs = processes(trace)
    assert sorted(name for name, _ in procs.values()) == \
        ["destination VM", "source VM"], procs
    for name, threads in procs.values():
        assert VM_THREADS <= set(threads.values()), (name, threads)
    counters = {(e["pid"], e["name"]) for e in trace["traceEvents"]
                if e["ph"] == "C"}
    for pid in procs:
        assert (pid, "TDCALLs/s") in counters, counters


def test_migrate_timeline_well_formed(migration):
    """Every slice has a start and a duration (or balanced B/E), each
    thread's timestamps never go back, and its slices nest properly"""
    well_formed(migration[1])


def well_formed(trace):
    """Assert that @trace's slices are well-formed"""
    events = trace["traceEvents"]
    assert all(e["ph"] in "XiCMBE" for e in events), \
        {e["ph"] for e in events}
    timed = [e for e in events if e["ph"] != "M"]
    assert all(isinstance(e["ts"], int) and e["ts"] >= 0 for e in timed)
    threads = {}
    for e in timed:
        threads.setdefault((e["pid"], e.get("tid")), []).append(e)
    for key, evs in threads.items():
        ts = [e["ts"] for e in evs]
        assert ts == sorted(ts), f"thread {key}: time goes back"
        depth, open_ends = 0, []
        for e in evs:
            if e["ph"] == "B":
                depth += 1
            elif e["ph"] == "E":
                depth -= 1
                assert depth >= 0, f"thread {key}: E without B"
            elif e["ph"] == "X":
                assert isinstance(e["dur"], int) and e["dur"] >= 0, e
                while open_ends and open_ends[-1] <= e["ts"] and \
                        open_ends[-1] < e["ts"] + e["dur"]:
                    open_ends.pop()
                assert not open_ends or \
                    e["ts"] + e["dur"] <= open_ends[-1], \
                    f"thread {key}: {e} overlaps its parent"
                open_ends.append(e["ts"] + e["dur"])
        assert depth == 0, f"thread {key}: unbalanced B/E"


@pytest.mark.parametrize("side", ["source", "destination"])
def test_migrate_timeline_slices(migration, side):
    """Each VM's timeline shows its boot, its requests (EnableLogArea, then
    the migration) queued and delivered, its Send and Receive with their
    bytes, its GetQuotes, and TDCALLs on both vCPUs with the VMCALLs
    nested in them, and the time they were halted (Instruction.HLT)"""
    result, trace, _ = migration
    proc = f"{side} VM"
    boot = {e["name"]: e for e in slices(trace, proc, "boot")}
    assert {"boot", "firmware", "payload", "serving requests"} <= set(boot)
    assert "wait_for_request" not in boot["boot"]["args"], boot["boot"]
    assert boot["boot"]["ts"] + boot["boot"]["dur"] == \
        boot["serving requests"]["ts"]
    requests = [e["name"] for e in slices(trace, proc, "requests")]
    assert requests == ["request 2: enable-log-area",
                        "request 1: start-migration"], requests
    # each request waited in the queue until the MigTD took it
    queued = slices(trace, proc, "queued")
    assert [e["name"] for e in queued] == requests, queued
    for q, d in zip(queued, slices(trace, proc, "requests")):
        assert q["ts"] + q["dur"] == d["ts"], (q, d)
    migration_slice = slices(trace, proc, "requests")[-1]
    assert migration_slice["args"]["result"] == result[side]["result"] == 0
    for thread in ("Send", "Receive"):
        moved = slices(trace, proc, thread)
        assert moved, f"{side}: no {thread}"
        for e in moved:
            assert e["args"]["bytes"] > 0 and "unfinished" not in \
                e["args"], e
            assert migration_slice["ts"] <= e["ts"] and \
                e["ts"] + e["dur"] <= migration_slice["ts"] + \
                migration_slice["dur"], (e, migration_slice)
    quotes = slices(trace, proc, "GetQuote")
    assert quotes and all(e["args"]["status"] == "0x0" for e in quotes), \
        quotes
    for cpu in (0, 1):
        calls = slices(trace, proc, f"vCPU {cpu}")
        names = {e["name"] for e in calls}
        assert "TDG.VP.VMCALL" in names, names
        assert any(n.startswith("VMCALL ") for n in names), names
    names = {e["name"] for e in slices(trace, proc, "vCPU 0")}
    assert {"VMCALL MigTD.WaitForRequest", "VMCALL MigTD.Send",
            "VMCALL MigTD.Receive", "TDG.MEM.PAGE.ACCEPT",
            "halted"} <= names, names
    qmp = {e["name"] for e in trace["traceEvents"]
           if e["ph"] == "i" and e.get("cat") == "qmp"}
    assert "TDX_EMU_REQUEST_COMPLETE" in qmp, qmp


def test_timeline_svg(migration, tmp_path):
    """./tdx-emu timeline FILE --svg OUT draws it (all, or a window);
    a file that is no trace-event JSON is refused"""
    _, _, path = migration
    for out, extra in (("all.svg", []), ("zoom.svg", ["--window", "0:5"])):
        r = python(TIMELINE, path, "--svg", tmp_path / out, *extra,
                   timeout=120)
        assert r.status == 0, r
        assert "<svg" in read(tmp_path / out)
    (tmp_path / "bad.json").write_text("[1, 2]")
    r = python(TIMELINE, tmp_path / "bad.json", "--svg", tmp_path / "x.svg",
               timeout=60)
    assert r.status == 1 and "no traceEvents" in r.err, r
    r = python(TIMELINE, path, "--svg", tmp_path / "y.svg", "--window",
               "5:1", timeout=60)
    assert r.status == 2 and "--window" in r.err, r


def test_run_timeline(qemu, tmp_path):
    """run --until-ready --timeline: one TD process, booted to its first
    WaitForRequest, with the #VEs its checks took counted; without
    --timeline nothing is traced"""
    r = python(RUN, "--qemu", qemu, "--until-ready", "--log-dir", tmp_path,
               "--timeline", tmp_path / "run.json", timeout=120)
    assert r.status == 0 and r.json["ready"], r
    trace = json.loads(read(tmp_path / "run.json"))
    assert [name for name, _ in processes(trace).values()] == ["td VM"]
    boot = {e["name"] for e in slices(trace, "td VM", "boot")}
    assert "serving requests" in boot, boot
    assert slices(trace, "td VM", "vCPU 0")
    ves = [e["args"]["vCPU 0"] for e in trace["traceEvents"]
           if e["ph"] == "C" and e["name"] == "#VEs/s"]
    assert ves and max(ves) > 0, ves
    r = python(RUN, "--qemu", qemu, "--until-ready", "--log-dir",
               tmp_path / "plain", timeout=120)
    assert r.status == 0, r
    assert "-trace" not in r.err and \
        not list((tmp_path / "plain").glob("*trace*")), r


def test_timeline_from_traces(qemu, guest_args, tmp_path):
    """./tdx-emu timeline --trace NAME=LOG -o FILE: a timeline of a QEMU
    started by hand with the options the docs give"""
    log = tmp_path / "trace.log"
    r = run([qemu, *guest_args, "-cpu",
             "max,phys-bits=48,vendor=GenuineIntel", "-device", "tdx-emu",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
             "-trace", f"enable=tdx_emu_*,file={log}",
             "-msg", "timestamp=on", "-serial",
             f"file:{tmp_path / 'serial.log'}"], timeout=120)
    assert r.status == 33, r
    r = python(TIMELINE, "--trace", f"stub={log}", "-o",
               tmp_path / "t.json", timeout=60)
    assert r.status == 0, r
    trace = json.loads(read(tmp_path / "t.json"))
    boot = slices(trace, "stub VM", "boot")
    names = [e["name"] for e in boot]
    assert names[:3] == ["boot", "firmware", "payload"], names
    # a boot that never reaches a WaitForRequest says so
    assert ("serving requests" in names) != \
        (boot[0]["args"] == {"wait_for_request": False}), boot
    assert len(slices(trace, "stub VM", "vCPU 0")) > 1000


ODD_TRACE = """\
7@100.000000:tdx_emu_payload_elf ELF at image offset 0x1000 entry 0x0 2 PT_LOAD
7@100.000010:tdx_emu_tdcall cpu 0 TDG.VP.VMCALL rax=0x0 rcx=0xfc00 \
rdx=0x0 r8=0x0
7@100.000011:tdx_emu_vmcall cpu 0 MigTD r11=0x10006 r12=0x10001 \
r13=0x1000 r14=0x8000 r15=0x50
7@100.000012:tdx_emu_wait_for_request buffer 0x8000 len 0x1000 vector 0x50
7@100.000013:tdx_emu_vmcall_done cpu 0 MigTD r10=0x0 r11=0x0
7@100.000014:tdx_emu_tdcall_done cpu 0 TDG.VP.VMCALL status=0x0
1@100.000020:tdx_emu_request_deliver request 1 operation 1
1@100.000025:tdx_emu_request_add request 3 operation 3
1@100.000030:tdx_emu_request_deliver request 2 operation 9
1@100.000040:tdx_emu_request_complete request 1 status 0x0
1@100.000042:tdx_emu_request_complete request 3 status 0xb01
1@100.000045:tdx_emu_request_complete request 7 status 0xb00
this line is no trace line
8@100.000050:tdx_emu_tdcall cpu 1 TDG.MR.REPORT rax=0x4 rcx=0x0 rdx=0x0 r8=0x0
8@100.000060:tdx_emu_tdcall_done cpu
8@100.000070:tdx_emu_tdcall cpu 1 TDG.VP.INFO rax=0x1 rcx=0x0 rdx=0x0 r8=0x0
"""


def test_timeline_odd_traces(tmp_path):
    """Traces cut short or out of the ordinary still give well-formed
    timelines: overlapping requests get a second lane, one that ends
    while queued stays a queued slice, unknown operations
    a number, a completion without delivery a moment, slices still open
    at the end (or whose end line was cut) last to the end, unfinished;
    an empty trace gives an empty process, a missing one is refused"""
    (tmp_path / "odd.log").write_text(ODD_TRACE)
    (tmp_path / "empty.log").write_text("")
    r = python(TIMELINE, "--trace", f"odd={tmp_path / 'odd.log'}",
               "--trace", f"empty={tmp_path / 'empty.log'}", "-o",
               tmp_path / "t.json", timeout=60)
    assert r.status == 0, r
    trace = json.loads(read(tmp_path / "t.json"))
    well_formed(trace)
    assert sorted(name for name, _ in processes(trace).values()) == \
        ["empty VM", "odd VM"]
    first = slices(trace, "odd VM", "requests")
    second = slices(trace, "odd VM", "requests #2")
    assert [e["name"] for e in first] == ["request 1: start-migration"]
    assert [e["name"] for e in second] == ["request 2: operation 9"]
    assert second[0]["args"]["unfinished"] and \
        second[0]["ts"] + second[0]["dur"] == 70, second
    assert [(e["name"], e["dur"], e["args"]["result"]) for e in
            slices(trace, "odd VM", "queued")] == \
        [("request 3: get-td-report", 17, 11)]
    moments = {e["name"] for e in trace["traceEvents"] if e["ph"] == "i"}
    assert "request 7 completed undelivered" in moments, moments
    cpu1 = slices(trace, "odd VM", "vCPU 1")
    assert [(e["name"], e["args"].get("unfinished")) for e in cpu1] == \
        [("TDG.MR.REPORT", True), ("TDG.VP.INFO", True)], cpu1
    boot = {e["name"]: e for e in slices(trace, "odd VM", "boot")}
    assert boot["boot"]["dur"] == 12 and "payload" not in boot, boot
    r = python(TIMELINE, "--trace", f"gone={tmp_path / 'gone.log'}", "-o",
               tmp_path / "u.json", timeout=60)
    assert r.status == 2 and "NAME=LOG" in r.err, r


def test_timeline_canceled_receive(qemu, tmp_path):
    """migrate --side source --timeline against a peer that closes the
    stream: the source's Receive ends canceled (VMM cancel), inside the
    failed migration request"""
    with misbehaving_peer("disconnect") as port:
        r = python(MIGRATE, "--qemu", qemu, "--side", "source", "--peer",
                   f"127.0.0.1:{port}", "--timeout", "60", "--log-dir",
                   tmp_path, "--timeline", tmp_path / "t.json", timeout=120)
    assert r.json and r.json["source"]["result_name"] == "VmmCanceled", r
    trace = json.loads(read(tmp_path / "t.json"))
    well_formed(trace)
    received = slices(trace, "source VM", "Receive")
    assert [e["args"].get("canceled") for e in received] == [True], received
    request = slices(trace, "source VM", "requests")[-1]
    assert request["name"] == "request 1: start-migration" and \
        request["ts"] <= received[0]["ts"] and \
        received[0]["ts"] + received[0]["dur"] <= \
        request["ts"] + request["dur"], (request, received)
