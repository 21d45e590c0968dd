#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A fake Quote Generation Service, for tests and for trying GetQuote.

Listens on a unix socket path or 127.0.0.1:PORT (loopback only) and
answers QGS messages (4-byte big-endian length framing; DCAP
QuoteGeneration/quote_wrapper/qgs_msg_lib):
GET_QUOTE_REQ with a GET_QUOTE_RESP whose "quote" is b"FAKE-QUOTE" plus the
SHA-384 of the report (it is no real quote: nothing signs it), and
GET_COLLATERAL_REQ with an empty GET_COLLATERAL_RESP. It can misbehave:

  --mode ok          answer (default)
  --mode slow        wait --delay seconds, then answer
  --mode garbage     answer with bytes that are no QGS message
  --mode disconnect  read the request and close
  --mode error       answer GET_QUOTE_RESP with error_code 1
  --mode drip        answer one byte every --delay seconds

It serves --count requests (default: until killed, at most 10 minutes).
"""

import argparse
import hashlib
import os
import socket
import struct
import time

LIFETIME_S = 600


def answer(msg):
    major, minor, mtype, _size = struct.unpack_from("<HHII", msg)
    if mtype == 0:                                  # GET_QUOTE_REQ
        report_size, _ids = struct.unpack_from("<II", msg, 16)
        report = msg[24:24 + report_size]
        quote = b"FAKE-QUOTE" + hashlib.sha384(report).digest()
        body = struct.pack("<II", 0, len(quote)) + quote
        return struct.pack("<HHIII", major, minor, 1, 16 + len(body), 0) + body
    if mtype == 2:                                  # GET_COLLATERAL_REQ
        body = struct.pack("<HH7I", 3, 0, *([0] * 7))
        return struct.pack("<HHIII", major, minor, 3, 16 + len(body), 0) + body
    return struct.pack("<HHIII", major, minor, mtype + 1, 16, 1)


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def serve_one(conn, args):
    length, = struct.unpack(">I", recv_exact(conn, 4))
    msg = recv_exact(conn, length)
    if args.mode == "disconnect":
        return
    if args.mode == "slow":
        time.sleep(args.delay)
    if args.mode == "garbage":
        resp = b"\x00garbage\xff" * 3
    else:
        resp = answer(msg)
        if args.mode == "error":
            resp = resp[:12] + struct.pack("<I", 1) + resp[16:]
    data = struct.pack(">I", len(resp)) + resp
    if args.mode != "drip":
        conn.sendall(data)
        return
    for i in range(len(data)):
        conn.sendall(data[i:i + 1])
        time.sleep(args.delay)


def listener(addr):
    if addr.startswith("/"):
        if os.path.exists(addr):
            os.unlink(addr)
        s = socket.socket(socket.AF_UNIX)
        s.bind(addr)
    else:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(addr.rsplit(":", 1)[-1])))
    s.listen(16)
    s.settimeout(LIFETIME_S)
    return s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("addr", help="unix socket path or [127.0.0.1:]PORT")
    parser.add_argument("--mode", default="ok",
                        choices=("ok", "slow", "garbage", "disconnect",
                                 "error", "drip"))
    parser.add_argument("--delay", type=float, default=2)
    parser.add_argument("--count", type=int, default=0)
    args = parser.parse_args()
    served, end = 0, time.monotonic() + LIFETIME_S
    with listener(args.addr) as srv:
        while time.monotonic() < end and (not args.count or
                                           served < args.count):
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                break
            with conn:
                try:
                    serve_one(conn, args)
                except (ConnectionError, OSError):
                    pass
            served += 1
    return 0


if __name__ == "__main__":
    main()
