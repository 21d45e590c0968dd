#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A misbehaving migration peer for the tests (loopback only).

Listens on 127.0.0.1:PORT (and says "listening" on stdout) for one connection from a source VM's migration
stream and then, per MODE:
  silent      reads and never answers (a stuck peer)
  disconnect  reads the first bytes, then closes (a killed peer)
  garbage     reads, then sends 64 bytes that are no ExchangeInformation
It stops by itself after 60 s.
"""

import socket
import sys
import time

LIFETIME_S = 60


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    with socket.socket() as srv:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(1)
        print("listening", flush=True)
        srv.settimeout(LIFETIME_S)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(LIFETIME_S)
            conn.recv(4096)
            if mode == "disconnect":
                return 0
            if mode == "garbage":
                conn.sendall(bytes(range(64)))
            end = time.monotonic() + LIFETIME_S
            while time.monotonic() < end:
                try:
                    if not conn.recv(4096):
                        break
                except socket.timeout:
                    break
    return 0


if __name__ == "__main__":
    sys.exit(main())
