"""Shared by the test servers in this folder: publish the bound port, and stop cleanly."""
import os
import signal
import threading
import time


def serve(server, port_file, max_lifetime):
    """Writes the bound port to port_file (atomically: the test polls for it), then serves
    until SIGTERM/SIGINT, the parent's death, or max_lifetime seconds."""
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, port_file)
    start_guard(server, max_lifetime)
    server.serve_forever(poll_interval=0.2)


def start_guard(server, max_lifetime):
    """Stops the server on SIGTERM/SIGINT, when the parent dies, or after max_lifetime."""
    parent = os.getppid()
    deadline = time.monotonic() + max_lifetime
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # The launcher may have left these blocked (Foundation's Process does); unblock them or
    # SIGTERM would stay pending and the test would have to SIGKILL us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

    def watch():
        while not stop.wait(0.5):
            if os.getppid() != parent or time.monotonic() > deadline:
                break
        server.shutdown()

    threading.Thread(target=watch, daemon=True).start()
