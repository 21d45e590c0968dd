#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Produce a patched QEMU 10.0.x tree in $1 (default build/qemu-src).
#
# 1. The newest 1:10.0.x "qemu" source package from trixie is downloaded once
#    into the cache ($TDX_EMU_CACHE, default ~/.cache/tdx-emu) and unpacked with
#    dpkg-source -x, which applies Debian's own patch series.
# 2. That pristine tree is copied to the destination and the project's
#    qemu-patches/ series is applied with no fuzz.
# 3. The project's own QEMU-side files (hw/tdx-emu/, its QAPI schema
#    qapi/tdx-emu-target.json, tests/qtest/*) are linked in, so that editing
#    them needs no re-fetch.
#
# Re-running is cheap: the destination is rebuilt only when the patch series
# or this script changed (recorded in a stamp file).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${1:-$ROOT/build/qemu-src}
CACHE=${TDX_EMU_CACHE:-$HOME/.cache/tdx-emu}

die() { echo "tdx-emu: $*" >&2; exit 1; }

newest_10_0_version() {
    apt-cache showsrc qemu 2>/dev/null |
        awk '/^Version: 1:10\.0\./ { print $2 }' |
        sort -V | tail -n1
}

pristine_tree() {
    local version=$1 upstream dir
    upstream=${version#1:}
    upstream=${upstream%-*}
    dir=$CACHE/qemu-$upstream
    if [ ! -f "$dir/.tdx-emu-unpacked" ]; then
        mkdir -p "$CACHE/dl"
        (cd "$CACHE/dl" && apt-get source --download-only -qq "qemu=$version") >&2 ||
            die "cannot download the qemu $version source package"
        rm -rf "$dir"
        dpkg-source --no-check -x "$CACHE/dl/qemu_${version#1:}.dsc" "$dir" >&2 ||
            die "dpkg-source failed on qemu $version"
        # dpkg-source leaves a copy of the upstream tarball next to $dir
        rm -f "$CACHE/qemu_${upstream}.orig.tar."*
        touch "$dir/.tdx-emu-unpacked"
    fi
    echo "$dir"
}

series_stamp() {
    local files=("$0")
    shopt -s nullglob
    files+=("$ROOT"/qemu-patches/*.patch)
    shopt -u nullglob
    cat "${files[@]}" | sha256sum | cut -c1-16
}

apply_series() {
    local p
    for p in "$ROOT"/qemu-patches/*.patch; do
        [ -f "$p" ] || continue
        patch -d "$DEST" -p1 --fuzz=0 --no-backup-if-mismatch -s <"$p" ||
            die "patch $(basename "$p") does not apply cleanly"
    done
}

link_project_files() {
    ln -sfn "$ROOT/hw/tdx-emu" "$DEST/hw/tdx-emu"
    ln -sf "$ROOT/hw/tdx-emu/tdx-emu-target.json" \
        "$DEST/qapi/tdx-emu-target.json"
    local f
    shopt -s nullglob
    for f in "$ROOT"/tests/qtest/*.[ch]; do
        ln -sf "$f" "$DEST/tests/qtest/$(basename "$f")"
    done
    shopt -u nullglob
}

main() {
    local version pristine stamp
    stamp=$(series_stamp)
    if [ -f "$DEST/.tdx-emu-stamp" ] &&
       [ "$(cat "$DEST/.tdx-emu-stamp")" = "$stamp" ]; then
        link_project_files
        return 0
    fi
    version=$(newest_10_0_version)
    [ -n "$version" ] || die "no qemu 1:10.0.x source package found (is the trixie deb-src entry there? run scripts/deps.sh)"
    pristine=$(pristine_tree "$version")
    rm -rf "$DEST"
    mkdir -p "$(dirname "$DEST")"
    cp -a "$pristine" "$DEST"
    rm -f "$DEST/.tdx-emu-unpacked"
    apply_series
    link_project_files
    echo "$stamp" >"$DEST/.tdx-emu-stamp"
    echo "tdx-emu: QEMU $version prepared in $DEST" >&2
}

main "$@"
