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
check_fuzz_cases
check_fuzz
check_fuzz_guest_replay
check_fuzz_guest

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
