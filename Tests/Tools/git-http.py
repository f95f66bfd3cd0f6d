#!/usr/bin/python3
"""Smart-HTTP git server for tests: `git http-backend` as CGI behind http.server on 127.0.0.1.

Every path is handed to git http-backend (GIT_PROJECT_ROOT=--root, all repositories exported).
With --user/--password, requests without that Basic authorization get 401 (so a test can prove
credentials reach git and never kiln's output). Each request line is logged to stdout; the
Authorization header never is.
"""
import argparse
import base64
import http.server
import os
import subprocess
import sys

import serverguard


def make_handler(root, credentials):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            self.run_backend()

        def do_POST(self):
            self.run_backend()

        def run_backend(self):
            if credentials is not None:
                expected = "Basic " + base64.b64encode(credentials.encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": root,
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": "127.0.0.1",
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = out.partition(b"\n\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, fmt, *args):
            sys.stdout.write("%s %s\n" % (self.command, self.path))
            sys.stdout.flush()

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--max-lifetime", type=float, default=900)
    args = parser.parse_args()
    credentials = f"{args.user}:{args.password}" if args.user else None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.root, credentials))
    serverguard.serve(server, args.port_file, args.max_lifetime)


if __name__ == "__main__":
    main()
