#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install what tdx-emu needs to build and test, on Debian 12 (bookworm).
#
# The QEMU source comes from Debian trixie's source package, so a deb-src
# entry for trixie is added next to the machine's own archive entry (no new
# host is named: the URI is taken from the existing bookworm entry). meson
# >= 1.5 comes from bookworm-backports. Everything else is installed with
# -t bookworm so that no trixie binary replaces the system's libc or glib.
set -euo pipefail

BUILD_PACKAGES=(
    gcc libc6-dev binutils make ninja-build pkgconf python3-venv
    libglib2.0-dev zlib1g-dev libcapstone-dev ccache
    dpkg-dev xz-utils patch seabios qemu-system-data gdb
    libcurl4-openssl-dev
    libssl-dev libtss2-dev swtpm tpm2-tools
    python3-cryptography
    python3-matplotlib
    python3-pytest python3-pytest-xdist python3-pytest-timeout
    ovmf
)
SOURCES_FILE=/etc/apt/sources.list.d/tdx-emu.sources

missing_packages() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null |
            grep -q '^install ok installed$' || echo "$pkg"
    done
}

# node and npm for the tests' DCAP verifier (tests/qvl); any node >= 18
# will do, so one installed from elsewhere is kept
node_ok() {
    command -v node >/dev/null && command -v npm >/dev/null
}

meson_ok() {
    local v
    v=$(meson --version 2>/dev/null) || return 1
    dpkg --compare-versions "$v" ge 1.5
}

archive_uri() {
    # The URI of the entry that serves the bookworm suite, in either format.
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm( |$|\n)/ && /Types:[^\n]*deb/ {
                 if (match($0, /URIs: *[^ \n]+/)) {
                     s = substr($0, RSTART, RLENGTH); sub(/URIs: */, "", s);
                     print s; exit } }' "$f"
    done | head -n1
    if [ -f /etc/apt/sources.list ]; then
        awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list
    fi
}

add_sources() {
    [ -f "$SOURCES_FILE" ] && return 0
    local uri
    uri=$(archive_uri | head -n1)
    if [ -z "$uri" ]; then
        echo "tdx-emu: cannot find the Debian archive URI in /etc/apt" >&2
        exit 1
    fi
    cat >"$SOURCES_FILE" <<SRC
# Added by tdx-emu (scripts/deps.sh)
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: $uri
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    APT_UPDATED=
}

main() {
    local missing need_meson=
    missing=$(missing_packages "${BUILD_PACKAGES[@]}")
    node_ok || missing="$missing nodejs npm"
    meson_ok || need_meson=1
    if [ -z "$missing" ] && [ -z "$need_meson" ] &&
       [ -f "$SOURCES_FILE" ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "tdx-emu: missing build dependencies; as root run:" >&2
        echo "  $0" >&2
        echo "  (packages: ${missing//$'\n'/ }${need_meson:+ meson>=1.5 from bookworm-backports})" >&2
        exit 1
    fi
    add_sources
    echo "tdx-emu: installing build dependencies" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    if [ -n "$missing" ]; then
        # shellcheck disable=SC2086
        apt-get install -y -qq -t bookworm --no-install-recommends $missing
    fi
    if ! meson_ok; then
        apt-get install -y -qq -t bookworm-backports --no-install-recommends meson
    fi
}

main "$@"
