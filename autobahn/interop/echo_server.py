"""Echo server on the Python `websockets` library, for `cargo xtask interop` (part A).

    python echo_server.py PORT [--no-compression]

Listens on 127.0.0.1:PORT, echoes every text and binary message unchanged, and prints the
negotiated extensions of each connection to stdout. permessage-deflate is on by default
(websockets' own default); `--no-compression` turns it off, to check that the Rust client
fails when deflate is not negotiated.
"""

import asyncio
import sys

from websockets.asyncio.server import serve

MAX_SIZE = 16 * 1024 * 1024


async def echo(ws):
    extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "(none)")
    print(f"connection {ws.remote_address}: extensions: {extensions}", flush=True)
    count = 0
    async for message in ws:
        await ws.send(message)
        count += 1
    print(f"connection {ws.remote_address}: echoed {count} messages, closed", flush=True)


async def main(port, compression):
    async with serve(
        echo,
        "127.0.0.1",
        port,
        compression=compression,
        max_size=MAX_SIZE,
    ) as server:
        print(f"listening on 127.0.0.1:{port} (compression={compression})", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    args = sys.argv[1:]
    compression = "deflate"
    if "--no-compression" in args:
        args.remove("--no-compression")
        compression = None
    if len(args) != 1:
        sys.exit("usage: echo_server.py PORT [--no-compression]")
    asyncio.run(main(int(args[0]), compression))
