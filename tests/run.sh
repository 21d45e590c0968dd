#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The command-line checks not yet converted to tests/system (pytest);
# ./tdx-emu test runs them beside it. Ends with "N passed, N failed".
#
# Usage: tests/run.sh QEMU_BUILD_DIR GUEST_BUILD_DIR
# (QVL_NODE_MODULES: where the DCAP verifier one check uses is installed;
# ./tdx-emu test installs it into build/qvl, the default. QEMU_SAN_BUILD:
# the ASan+UBSan build the fuzzer runs on, build/qemu-san by default.)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QEMU_BUILD=$1
GUEST_BUILD=$2
QEMU=$QEMU_BUILD/qemu-system-x86_64
GUEST=$GUEST_BUILD/guest/tdx-emu-guest.bin
GUEST_BOOT_ELF=$GUEST_BUILD/guest/tdx-emu-boot.elf
GUEST_PAYLOAD_ELF=$GUEST_BUILD/guest/tdx-emu-payload.elf
QVL_NODE_MODULES=${QVL_NODE_MODULES:-$ROOT/build/qvl/node_modules}
QEMU_SAN=${QEMU_SAN_BUILD:-$ROOT/build/qemu-san}/qemu-system-x86_64
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0

pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }

# --- command-line checks ------------------------------------------------
# A guest that hangs fails its check (status 124) instead of stalling CI
GUEST_TIMEOUT_S=300
GUEST_ARGS=(-machine q35 -accel tcg -m 64M -nodefaults -display none
            -global apic-common.vapic=off -bios "$GUEST")

# ./tdx-emu enroll (migtd/enroll.py) on the stub, whose CFV is an empty
# firmware volume: a root CA and MigTD's test-PKI policy go in as
# td-shim-enroll puts them (FFS RAW files from CFV offset 0x78, data after
# a 24-byte header, 8-byte aligned); inspect reads them back; enrolling
# again replaces a file of the same GUID in place instead of adding one
# and keeps the others; nothing outside the CFV changes, so MRTD does
# not; the image still boots.
STUB_CFV=0xf000
# Debian's OVMF.fd (package ovmf) as a TD: its TDX path runs (it checks
# CPUID leaf 0x21, accepts its memory, reaches devices through
# #VE.RequestMMIO) to the UEFI shell
OVMF=${OVMF:-/usr/share/ovmf/OVMF.fd}

# The device finds where the firmware loaded its payload ELF: the stub's
# boot code loads it at 1 MiB; the same image told (one word patched) to
# load it at 3 MiB is found there.
IMAGE_BASE=0xfffc0000
STUB_PAYLOAD_ELF=$((0xfffd0000 - IMAGE_BASE + 0x64))   # in the Payload FV
# A copy of the stub at @1 with the bytes @3 (hex) written at offset @2
stub_patched() {
    cp "$GUEST" "$1"
    /usr/bin/python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' \
        "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

stub_moved_to() {
    local addr
    addr=$(nm "$GUEST_BOOT_ELF" | sed -n 's/^\([0-9a-f]*\) T payload_load_base$/\1/p')
    stub_patched "$1" $((0x$addr - IMAGE_BASE)) \
        "$(/usr/bin/python3 -c 'import sys; print(int(sys.argv[1], 0).to_bytes(4, "little").hex())' "$2")"
}

# A Payload section without an x86-64 ELF64 in it (here: the stub's with
# its ELF class byte changed, which the stub's loader does not check)
stub_not_elf() {
    stub_patched "$1" $((STUB_PAYLOAD_ELF + 4)) 01
}

# The guest stub with the quote backend -object @2; serial log in @1
run_quote_guest() {
    timeout "$GUEST_TIMEOUT_S" "$QEMU" "${GUEST_ARGS[@]}" \
        -cpu max,phys-bits=48,vendor=GenuineIntel \
        -object "$2" -device tdx-emu,quote=q \
        -device isa-debug-exit,iobase=0xf4,iosize=1 -serial "file:$1" \
        >/dev/null 2>&1
}

# The stub with tdx-quote-imds (extra properties @3) against
# scripts/fake-imds.py in mood @1, serving one request; serial log in @2
run_imds_guest() {
    local mode=$1 serial=$2 props=$3 port=$2.port
    rm -f "$port"
    /usr/bin/python3 "$ROOT/scripts/fake-imds.py" 0 --port-file "$port" \
        --mode "$mode" --delay 1 --count 1 &
    local imds=$!
    for _ in $(seq 50); do [ -s "$port" ] && break; sleep 0.1; done
    run_quote_guest "$serial" \
        "tdx-quote-imds,id=q,url=http://127.0.0.1:$(cat "$port")/acc/tdquote$props"
    kill "$imds" 2>/dev/null
    wait "$imds" 2>/dev/null
}

# Pass @1 if the guest's serial log @3 says "GetQuote: @2"
expect_get_quote() {
    if grep -q "GetQuote: $2" "$3"; then
        pass "$1"
    else
        fail "$1"
        grep GetQuote "$3"
    fi
}

# The guest's GetQuote through the QGS backend (extra properties @3),
# against scripts/fake-qgs.py in each of its moods (one byte a second when
# it drips); the guest prints what its buffer said.
check_get_quote_qgs() {
    local mode=$1 want=$2 props=${3:-} sock=$WORK/qgs-$1.sock serial=$WORK/quote-$1.log
    /usr/bin/python3 "$ROOT/scripts/fake-qgs.py" "$sock" --mode "$mode" \
        --delay 1 --count 1 &
    local qgs=$!
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
    run_quote_guest "$serial" "tdx-quote-qgs,id=q,addr=$sock$props"
    kill "$qgs" 2>/dev/null
    wait "$qgs" 2>/dev/null
    expect_get_quote "guest GetQuote, QGS backend${props:+ (${props#,})}, $mode QGS: $want" \
        "$want" "$serial"
}

# The guest's GetQuote through the IMDS backend (extra properties @3),
# against scripts/fake-imds.py
check_get_quote_imds() {
    local mode=$1 want=$2 props=${3:-} serial=$WORK/imds-$1.log
    run_imds_guest "$mode" "$serial" "$props"
    expect_get_quote "guest GetQuote, IMDS backend${props:+ (${props#,})}, $mode IMDS: $want" \
        "$want" "$serial"
}

# The guest's GetQuote through the test PKI: the quote it printed passes the
# independent checker, and fails it after a one-bit change to the quote or
# the report; a second VM reuses the same PKI.
check_get_quote_testpki() {
    local serial=$WORK/testpki.log pki=$WORK/pki q=$WORK/quote.bin
    local r=$WORK/tdreport.bin check="/usr/bin/python3 $ROOT/scripts/check-quote.py" run
    for run in 1 2; do
        run_quote_guest "$serial.$run" "tdx-quote-testpki,id=q,dir=$pki"
        cp "$pki/root-ca.der" "$WORK/root-ca.der.$run" 2>/dev/null
    done
    /usr/bin/python3 - "$serial.2" "$q" "$r" <<'PY'
import sys
lines = dict(l.split(" ", 1) for l in open(sys.argv[1]) if " " in l)
open(sys.argv[2], "wb").write(bytes.fromhex(lines["QUOTE"].strip()))
open(sys.argv[3], "wb").write(bytes.fromhex(lines["TDREPORT"].strip()))
PY
    flip() { /usr/bin/python3 -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read()); d[int(sys.argv[2])] ^= 1
open(sys.argv[3], "wb").write(d)' "$@"; }
    flip "$q" 200 "$q.body"         # MRSIGNERSEAM, in the signed body
    flip "$q" 840 "$q.qe"           # the QE report the PCK key signed
    flip "$r" 530 "$r.mrtd"         # the report's MRTD
    if cmp -s "$WORK/root-ca.der.1" "$WORK/root-ca.der.2" &&
       $check "$q" --root-ca "$pki/root-ca.der" --report "$r" \
            >"$WORK/check.out" &&
       ! $check "$q.body" --root-ca "$pki/root-ca.der" >/dev/null &&
       ! $check "$q.qe" --root-ca "$pki/root-ca.der" >/dev/null &&
       ! $check "$q" --root-ca "$pki/root-ca.der" --report "$r.mrtd" \
            >/dev/null; then
        pass "guest GetQuote, test PKI: the quote passes check-quote.py, a flipped bit fails it"
    else
        fail "guest GetQuote, test PKI: the quote passes check-quote.py, a flipped bit fails it"
        grep -a "GetQuote\|FAIL" "$serial.2" "$WORK/check.out"
    fi
}

# The same quote, and the collateral the stub's TD then asked for with a
# GET_COLLATERAL_REQ, through a DCAP verifier that is not ours
# (@phala/dcap-qvl, installed by ./tdx-emu test) trusting only the test
# root: UpToDate and the TDREPORT's fields; an altered quote, or Intel's
# root instead of the test one, fails (tests/tools/qvl-verify.js)
check_get_quote_dcap_qvl() {
    local name="guest GetQuote + GetCollateral, test PKI: dcap-qvl verifies the quote (UpToDate)"
    if [ ! -d "$QVL_NODE_MODULES/@phala/dcap-qvl" ]; then
        fail "$name (no verifier in $QVL_NODE_MODULES: ./tdx-emu test installs it)"
    elif NODE_PATH=$QVL_NODE_MODULES node "$ROOT/tests/tools/qvl-verify.js" \
           "$WORK/testpki.log.2" "$WORK/pki/root-ca.der" >"$WORK/qvl.out" 2>&1 &&
       grep -q "GetCollateral: [0-9]* bytes for the platform CA" "$WORK/testpki.log.2"; then
        pass "$name"
    else
        fail "$name"; cat "$WORK/qvl.out"; grep -a "GetQuote\|GetCollateral" "$WORK/testpki.log.2"
    fi
}

# Each platform state tdx-quote-testpki can be set to (docs/quote.md), on
# the PKI of check_get_quote_testpki, and what the verifiers make of it
# (tests/tools/qvl-verify.js EXPECT): dcap-qvl's TCB status or error,
# Intel's TDX module check, MigTD's policy on what Intel's QvE reports
check_testpki_platform_states() {
    local props want serial
    while read -r props want; do
        serial=$WORK/state-${props//[=,]/-}.log
        run_quote_guest "$serial" "tdx-quote-testpki,id=q,dir=$WORK/pki,$props"
        if NODE_PATH=$QVL_NODE_MODULES node "$ROOT/tests/tools/qvl-verify.js" \
               "$serial" "$WORK/pki/root-ca.der" "$want" >"$serial.out" 2>&1; then
            pass "test PKI, $props: $want"
        else
            fail "test PKI, $props: $want"; cat "$serial.out"
        fi
    done <<'EOF'
tcb-status=SWHardeningNeeded SWHardeningNeeded
tcb-status=ConfigurationNeeded ConfigurationNeeded
tcb-status=OutOfDate OutOfDate
tcb-status=Revoked dcap-qvl: TCB status is invalid: Revoked
pck-revoked=on dcap-qvl: Certificate is revoked
collateral-expired=on dcap-qvl: TCBInfo expired
tdx-module-svn=5 policy: TDX module: TDXModuleSVN 5 is not greater-or-equal 6
tdx-module-svn=7 module: no TDX_01 level at or below SVN 6
EOF
}

# IMDS with report-source=vtpm: the quoted report is the one in the vTPM's
# NV index 0x01400001 (an swtpm here), not the guest's; without that index
# the quote is unavailable.
check_get_quote_imds_vtpm() {
    local name="guest GetQuote, IMDS backend, report from the vTPM (swtpm)"
    local dir=$WORK/swtpm port ctrl serial=$WORK/vtpm log=$WORK/vtpm.out
    # the swtpm TCTI takes the control channel at port + 1
    read -r port ctrl <<<"$(/usr/bin/python3 -c 'import socket
for port in range(23000, 24000, 2):
    try:
        for p in (port, port + 1):
            socket.socket().bind(("127.0.0.1", p))
    except OSError:
        continue
    print(port, port + 1)
    break')"
    mkdir -p "$dir"
    swtpm socket --tpm2 --tpmstate "dir=$dir" \
        --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
        --ctrl "type=tcp,port=$ctrl,bindaddr=127.0.0.1" \
        --flags not-need-init,startup-clear >"$log" 2>&1 &
    local tpm=$!
    export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"
    /usr/bin/python3 -c 'import sys
hw = bytes(range(256)) * 4
hcl = b"HCLA" + bytes([2, 0, 0, 0, 0xc0, 4, 0, 0, 4, 0, 0, 0]) + bytes(16)
open(sys.argv[1], "wb").write(hcl + hw + bytes(160))' "$WORK/hcl.bin"
    for _ in $(seq 50); do
        tpm2_getcap properties-fixed >/dev/null 2>&1 && break; sleep 0.1
    done
    tpm2_nvdefine 0x01400001 -C o -s 1216 -a "ownerwrite|ownerread|authread" \
        >>"$log" 2>&1 && tpm2_nvwrite 0x01400001 -C o -i "$WORK/hcl.bin" >>"$log" 2>&1
    local props=",report-source=vtpm,tcti=swtpm:host=127.0.0.1,,port=$port"
    run_imds_guest ok "$serial.1" "$props"
    tpm2_nvundefine 0x01400001 -C o >>"$log" 2>&1
    run_imds_guest ok "$serial.2" "$props"
    kill "$tpm" 2>/dev/null
    wait "$tpm" 2>/dev/null
    unset TPM2TOOLS_TCTI
    local want
    want=$(/usr/bin/python3 -c 'import hashlib
print((b"FAKE-QUOTE" + hashlib.sha384(bytes(range(256)) * 4).digest()).hex())')
    if grep -aq "^QUOTE $want" "$serial.1" &&
       grep -aq "GetQuote: status 0x8000000000000001" "$serial.2"; then
        pass "$name"
    else
        fail "$name"; cat "$log"; grep -a "GetQuote" "$serial.1" "$serial.2"
    fi
}

# --- the fuzzer, on the ASan+UBSan QEMU (docs/security.md) ---------------
FUZZ_CALLS=100000

# fuzz_check NAME CALLS BASE ARGS...: scripts/fuzz.py with seed 1 and ARGS
# passes when it made CALLS TDCALLs without a finding (its JSON line and
# any case file are kept in $WORK/BASE*)
fuzz_check() {
    local name=$1 want=$2 base=$3 out=$WORK/$3.json calls
    shift 3
    /usr/bin/python3 "$ROOT/scripts/fuzz.py" --qemu "$QEMU_SAN" \
        --calls "$want" --seed 1 --out "$WORK/$base" "$@" \
        >"$out" 2>"$WORK/$base.err"
    calls=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["calls"])' \
            <"$out" 2>/dev/null)
    echo "$base: $(cat "$out")"
    if [ "${calls:-0}" -ge "$want" ] && grep -q '"findings": \[\]' "$out"; then
        pass "$name"
    else
        fail "$name"
        cat "$WORK/$base.err" "$WORK/$base"/*.fuzz 2>/dev/null | tail -n 40
    fi
}

check_fuzz() {
    fuzz_check "fuzz: $FUZZ_CALLS TDCALLs, QMP commands and resets, seed 1: no sanitizer report, exit or hang" \
        "$FUZZ_CALLS" fuzz --seconds 900
}

check_fuzz_cases() {
    local case
    for case in "$ROOT"/tests/fuzz-cases/*.fuzz; do
        if /usr/bin/python3 "$ROOT/scripts/fuzz.py" --qemu "$QEMU_SAN" \
               --replay "$case" >"$WORK/out" 2>&1; then
            pass "fuzz case $(basename "$case") replays clean"
        else
            fail "fuzz case $(basename "$case")"
            tail -n 20 "$WORK/out"
        fi
    done
}

# --- the fuzzer's guest mode: random TDCALLs from the stub ---------------
GUEST_FUZZ_CALLS=200000

check_fuzz_guest() {
    fuzz_check "fuzz --guest: $GUEST_FUZZ_CALLS TDCALLs from the guest stub, seed 1: no sanitizer report, bad exit or hang" \
        "$GUEST_FUZZ_CALLS" fuzz-guest --guest --guest-image "$GUEST" \
        --seconds 600
}

# A "guest SEED CALLS" case replays: clean on the stub's TD, a finding
# when the stub cannot pass (no tdx-emu: it exits 37)
check_fuzz_guest_replay() {
    local name="fuzz --replay of a guest case: the stub's exit decides"
    local args='"-machine", "q35,smm=off", "-accel", "tcg", "-display", "none", "-cpu", "max,phys-bits=48", "-smp", "2", "-m", "64M", "-nodefaults", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=1"'
    printf 'args [%s, "-device", "tdx-emu"]\nguest 5 1000\n' "$args" >"$WORK/td.fuzz"
    printf 'args [%s]\nguest 5 1000\n' "$args" >"$WORK/no-td.fuzz"
    if /usr/bin/python3 "$ROOT/scripts/fuzz.py" --qemu "$QEMU_SAN" \
           --guest-image "$GUEST" --replay "$WORK/td.fuzz" >"$WORK/out" 2>&1 &&
       ! /usr/bin/python3 "$ROOT/scripts/fuzz.py" --qemu "$QEMU_SAN" \
           --guest-image "$GUEST" --replay "$WORK/no-td.fuzz" >>"$WORK/out" 2>&1 &&
       grep -q "FAIL: .*no-td.fuzz: the stub exited 37" "$WORK/out"; then
        pass "$name"
    else
        fail "$name"
        tail -n 20 "$WORK/out"
    fi
}

    33 "RESULT: PASS" -cpu max,phys-bits=48 -device tdx-emu
    37 "TDCALL raised #UD" -cpu max,phys-bits=48
check_get_quote_qgs ok "quote of 58 bytes"
check_get_quote_qgs slow "quote of 58 bytes"
check_get_quote_qgs error "status 0x8000000000000000"
check_get_quote_qgs garbage "status 0x8000000000000000"
check_get_quote_qgs disconnect "status 0x8000000000000001"
check_get_quote_qgs drip "status 0x8000000000000001" ",timeout-ms=2000"
check_get_quote_imds ok "quote of 58 bytes"
check_get_quote_imds slow "quote of 58 bytes"
check_get_quote_imds refuse "status 0x8000000000000000"
check_get_quote_imds outage "status 0x8000000000000001"
check_get_quote_imds garbage "status 0x8000000000000000"
check_get_quote_imds disconnect "status 0x8000000000000001"
check_get_quote_imds slow "status 0x8000000000000001" ",timeout-ms=300"
check_get_quote_imds huge "status 0x8000000000000000"
check_get_quote_imds_vtpm
check_get_quote_testpki
check_get_quote_dcap_qvl
check_testpki_platform_states
check_fuzz_cases
check_fuzz
check_fuzz_guest_replay
check_fuzz_guest

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
