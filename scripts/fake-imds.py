#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A fake Azure IMDS quote endpoint, for tests and for trying GetQuote.

Serves POST /acc/tdquote on 127.0.0.1:PORT (loopback only; PORT 0 picks a
free one and --port-file receives it). It checks the request the way IMDS
does (JSON {"report": base64url of a 1024-byte TDREPORT}, else 400) and
answers {"quote": base64url(b"FAKE-QUOTE" + SHA-384 of the report)}; that is
no real quote: nothing signs it. It can misbehave:

  --mode ok        answer (default)
  --mode slow      wait --delay seconds, then answer
  --mode refuse    answer 400, as IMDS does for a report it will not quote
  --mode outage    answer 500
  --mode garbage   answer 200 with a body that is no JSON
  --mode disconnect  read the request and close without an answer
  --mode huge      answer 200 with a quote of 2 MiB, over the 1 MiB
                   answer tdx-quote-imds takes

It serves --count requests (default: until killed, at most 10 minutes).
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import time

LIFETIME_S = 600
TDREPORT_SIZE = 1024
HUGE = 2 << 20


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def fake_quote(body):
    """The quote for a well-formed request body, or None"""
    try:
        report = b64url_decode(json.loads(body)["report"])
    except (ValueError, KeyError, TypeError):
        return None
    if len(report) != TDREPORT_SIZE:
        return None
    return b"FAKE-QUOTE" + hashlib.sha384(report).digest()


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        args = self.server.args
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        quote = fake_quote(body)
        if self.path != "/acc/tdquote" or quote is None:
            self.reply(400, b'{"error":"bad request"}')
        elif args.mode == "refuse":
            self.reply(400, b'{"error":"report not quotable"}')
        elif args.mode == "outage":
            self.reply(500, b'{"error":"internal error"}')
        elif args.mode == "disconnect":
            self.close_connection = True
        elif args.mode == "garbage":
            self.reply(200, b"\x00garbage\xff")
        elif args.mode == "huge":
            answer = {"quote": b64url_encode(quote * (HUGE // len(quote)))}
            try:
                self.reply(200, json.dumps(answer).encode())
            except OSError:
                pass            # the client stops reading at its limit
        else:
            if args.mode == "slow":
                time.sleep(args.delay)
            answer = {"quote": b64url_encode(quote)}
            self.reply(200, json.dumps(answer).encode())

    def log_message(self, fmt, *fmt_args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int, help="TCP port on 127.0.0.1")
    parser.add_argument("--port-file", help="write the port served here")
    parser.add_argument("--mode", default="ok",
                        choices=("ok", "slow", "refuse", "outage",
                                 "garbage", "disconnect", "huge"))
    parser.add_argument("--delay", type=float, default=2)
    parser.add_argument("--count", type=int, default=0)
    args = parser.parse_args()
    server = http.server.HTTPServer(("127.0.0.1", args.port), Handler)
    server.args = args
    server.timeout = LIFETIME_S
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{server.server_address[1]}\n")
        # rename: a reader never sees a half-written port
        os.rename(args.port_file + ".tmp", args.port_file)
    served, end = 0, time.monotonic() + LIFETIME_S
    with server:
        while time.monotonic() < end and (not args.count or
                                           served < args.count):
            server.handle_request()
            served += 1
    return 0


if __name__ == "__main__":
    main()
