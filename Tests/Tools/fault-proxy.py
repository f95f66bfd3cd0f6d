#!/usr/bin/python3
"""A fault-injecting HTTP proxy for kiln's registry tests (Python stdlib only).

It sits between a client and a plain-HTTP registry, forwards every request unchanged (the Host
header too, so the registry's `Location` headers point back at the proxy), and breaks the
requests its rules match. Each rule applies to the first `times` requests whose method and path
match (after letting `skip` of them pass), then lets them pass. Every request is logged, one JSON object a line, to `--log`:
{"method", "path", "status", "action", "request_bytes", "response_bytes"}; `status` is what the
client was answered (0 when the connection was reset before any status).

Bounded: listens on 127.0.0.1 only, exits on SIGTERM/SIGINT, when its parent process goes away,
or after `--max-lifetime` seconds.

Usage:
  fault-proxy.py --upstream 127.0.0.1:5000 --rules rules.json --log requests.jsonl --port-file port

rules.json is a list of objects:
  method   regular expression matched against the whole method, e.g. "PATCH|PUT" (default ".*")
  path     regular expression searched in the path with its query (default ".*")
  action   "reset-request"  read `after` bytes of the request body, then reset the connection
           "reset-response" forward, send the headers and `after` bytes of the body, then reset
           "status"         consume the request, answer `status` (with `Retry-After: retry_after`
                            when given) without forwarding
           "stall"          forward, then stop sending for `seconds` before the answer (no
                            `after`) or after its headers and `after` bytes of the body; then
                            finish normally
           "corrupt-response" forward, but flip the bits of the body byte at offset `after`
                            (the status and length stay right: only a digest check notices)
           "throttle"       forward, reading the request body and sending the response body
                            at `rate` bytes a second (a slow link, for progress output)
  after, status, retry_after, seconds, rate: as above; times: how many matching requests (default 1);
  skip: let this many matching requests pass before the rule applies (default 0), e.g. to
  break the second chunk of an upload rather than the first
  every: instead of `times`, apply to every N-th matching request, forever (N, 2N, 3N...);
  such a rule counts the matching requests that earlier rules let pass, so "503 to every third
  request" then "reset every other upload" resets every other upload that got through
  with_body: when true, only requests that carry a body match (an upload "dropped mid-body")
"""

import argparse
import http.client
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import serverguard  # noqa: E402 (this folder)

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
              "te", "trailer", "transfer-encoding", "upgrade", "expect", "content-length"}
CHUNK = 64 * 1024


class Rules:
    def __init__(self, rules):
        self.rules = [dict(r, times=r.get("times", 1), skip=r.get("skip", 0)) for r in rules]
        for r in self.rules:
            r["_method"] = re.compile(r.get("method", ".*"))
            r["_path"] = re.compile(r.get("path", ".*"))
        self.lock = threading.Lock()

    @staticmethod
    def matches(r, method, path, has_body):
        if r.get("with_body") and not has_body:
            return False
        return r["_method"].fullmatch(method) and r["_path"].search(path)

    def take(self, method, path, has_body=False):
        """The first rule still armed for this request, disarming it once more; else None."""
        with self.lock:
            for r in self.rules:  # a periodic rule counts the matches that earlier rules let pass
                if r.get("every") and self.matches(r, method, path, has_body):
                    r["_seen"] = r.get("_seen", 0) + 1
                    if r["_seen"] % r["every"] == 0:
                        return r
            for r in self.rules:
                if r.get("every"):
                    continue
                if r["times"] > 0 and self.matches(r, method, path, has_body):
                    if r["skip"] > 0:
                        r["skip"] -= 1
                        return None
                    r["times"] -= 1
                    return r
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None
    rules = None
    log_path = None
    log_lock = threading.Lock()

    def log_message(self, fmt, *args):  # the JSON log is the record
        pass

    def record(self, status, action, request_bytes, response_bytes):
        entry = {"time": time.time(), "method": self.command, "path": self.path, "status": status,
                 "action": action, "request_bytes": request_bytes, "response_bytes": response_bytes}
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def reset(self):
        """Closes the client connection with a TCP RST (SO_LINGER 0), as a crashed peer would."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def read_body(self, limit=None, rate=None):
        """The request body (Content-Length or chunked), at most `limit` raw bytes when given;
        a sized body is read at `rate` bytes a second when given."""
        if rate and self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            length = int(self.headers.get("Content-Length", "0") or "0")
            body, pace = bytearray(), Pace(rate)
            while len(body) < length:
                data = self.rfile.read(min(PACED_CHUNK, length - len(body)))
                if not data:
                    break
                body += data
                pace.wait(len(body))
            return bytes(body)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()  # the CRLF after each chunk
                if limit is not None and len(body) >= limit:
                    return bytes(body[:limit])
        length = int(self.headers.get("Content-Length", "0") or "0")
        if limit is not None:
            length = min(length, limit)
        return self.rfile.read(length) if length > 0 else b""

    def handle_any(self):
        has_body = self.headers.get("Transfer-Encoding", "").lower() == "chunked" or \
            int(self.headers.get("Content-Length", "0") or "0") > 0
        rule = self.rules.take(self.command, self.path, has_body)
        action = rule["action"] if rule else "pass"
        if action == "reset-request":
            got = self.read_body(limit=rule.get("after", 0))
            self.reset()
            return self.record(0, action, len(got), 0)
        body = self.read_body(rate=rule.get("rate") if action == "throttle" else None)
        if action == "status":
            status = rule.get("status", 503)
            data = json.dumps({"errors": [{"code": "UNAVAILABLE", "message": "fault-proxy: injected %d" % status}]}).encode()
            self.send_response(status)
            if rule.get("retry_after") is not None:
                self.send_header("Retry-After", str(rule["retry_after"]))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":  # a HEAD answer has headers only, or the client desyncs
                self.wfile.write(data)
            return self.record(status, action, len(body), len(data))
        self.forward(body, rule, action)

    def forward(self, body, rule, action):
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        status = resp.status
        if action == "stall" and rule.get("after") is None:
            time.sleep(rule.get("seconds", 1))
        self.send_response_only(status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        length = resp.getheader("Content-Length")
        has_body = self.command != "HEAD" and status not in (204, 304) and not 100 <= status < 200
        if has_body and length is None:  # re-frame an unsized body so the connection stays reusable
            data = resp.read()
            length = str(len(data))
            resp = _Buffered(data)
        if has_body or length is not None:
            self.send_header("Content-Length", length or "0")
        self.end_headers()
        sent = 0
        limit = rule.get("after") if rule and action != "corrupt-response" else None
        if action == "reset-response" and limit is None:
            limit = 0
        paused = action == "stall" and limit is None
        corrupt_at = rule.get("after", 0) if action == "corrupt-response" else None
        pace = Pace(rule["rate"]) if action == "throttle" else None
        chunk = PACED_CHUNK if pace else CHUNK
        while has_body:
            want = chunk if limit is None or paused else max(0, min(chunk, limit - sent))
            if want == 0:
                if action == "reset-response":
                    conn.close()
                    self.reset()
                    return self.record(0, action, len(body), sent)
                time.sleep(rule.get("seconds", 1))
                paused = True
                continue
            data = resp.read(want)
            if not data:
                break
            if corrupt_at is not None and sent <= corrupt_at < sent + len(data):
                i = corrupt_at - sent
                data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
            self.wfile.write(data)
            sent += len(data)
            if pace:
                self.wfile.flush()
                pace.wait(sent)
        if action == "stall" and not paused:  # the body was shorter than `after`: stall at its end
            time.sleep(rule.get("seconds", 1))
        conn.close()
        self.record(status, action, len(body), sent)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


PACED_CHUNK = 16 * 1024


class Pace:
    """Sleeps so that `done` bytes take at least done / rate seconds since it was made."""

    def __init__(self, rate):
        self.rate = float(rate)
        self.start = time.monotonic()

    def wait(self, done):
        ahead = self.start + done / self.rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)


class _Buffered:
    def __init__(self, data):
        self.data = data

    def read(self, n):
        out, self.data = self.data[:n], self.data[n:]
        return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="host:port of the plain-HTTP registry")
    p.add_argument("--rules", help="JSON file with the rules (none: pass everything)")
    p.add_argument("--log", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--max-lifetime", type=float, default=900)
    args = p.parse_args()

    host, _, port = args.upstream.rpartition(":")
    Handler.upstream = (host, int(port))
    rules = []
    if args.rules:
        with open(args.rules) as f:
            rules = json.load(f)
    Handler.rules = Rules(rules)
    Handler.log_path = args.log
    open(args.log, "a").close()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    serverguard.serve(server, args.port_file, args.max_lifetime)


if __name__ == "__main__":
    sys.exit(main())
