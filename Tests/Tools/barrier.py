#!/usr/bin/python3
"""An HTTP barrier: every GET waits until --parties requests are waiting (then all of them get
"together") or --timeout seconds pass (then that one gets "alone"). Proves that RUN steps of
different platforms run at the same time, without timing anything."""
import argparse
import http.server
import socketserver
import threading

import serverguard


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parties", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--max-lifetime", type=float, default=900)
    args = parser.parse_args()
    lock = threading.Condition()
    state = {"waiting": 0, "generation": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with lock:
                generation = state["generation"]
                state["waiting"] += 1
                if state["waiting"] >= args.parties:
                    state["waiting"] = 0
                    state["generation"] += 1
                    lock.notify_all()
                together = lock.wait_for(lambda: state["generation"] != generation, timeout=args.timeout)
                if not together:
                    state["waiting"] -= 1
            body = b"together\n" if together else b"alone\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *a):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    serverguard.serve(Server(("127.0.0.1", 0), Handler), args.port_file, args.max_lifetime)


if __name__ == "__main__":
    main()
