#!/usr/bin/env python3
"""A TCP relay that makes a local registry look remote: every request turn waits DELAY ms.

usage: relay.py LISTEN_PORT TARGET_HOST:TARGET_PORT DELAY_MS

A "turn" is the client sending again after the server answered (or a connection's first bytes):
each new HTTP request on a kept-alive connection, and each new connection, pays the delay once,
as a round trip to a registry DELAY ms away would. Request and response bodies stream at full
speed (bandwidth is not what this models). Prints "ready" once listening.
"""
import asyncio
import sys


async def pipe(reader, writer, on_data):
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            await on_data(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(client_r, client_w, target, delay):
    host, port = target
    try:
        server_r, server_w = await asyncio.open_connection(host, port)
    except OSError:
        client_w.close()
        return
    state = {"answered": True}

    async def upstream(_):
        if state["answered"]:
            state["answered"] = False
            await asyncio.sleep(delay)

    async def downstream(_):
        state["answered"] = True

    await asyncio.gather(pipe(client_r, server_w, upstream), pipe(server_r, client_w, downstream))


async def main():
    listen, target, delay_ms = int(sys.argv[1]), sys.argv[2].rsplit(":", 1), float(sys.argv[3])
    target = (target[0], int(target[1]))
    server = await asyncio.start_server(lambda r, w: handle(r, w, target, delay_ms / 1000), "127.0.0.1", listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
