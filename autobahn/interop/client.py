"""Client on the Python `websockets` library against our echo server, for
`cargo xtask interop` (part B).

    python client.py ws://127.0.0.1:PORT/

Connects with permessage-deflate (websockets' default), fails unless the server's response
negotiated it, sends a set of messages (text, UTF-8 text, a large compressible text, a large
structured binary, a burst of small ones, fragmented messages), checks each echo byte for
byte, and closes with the close handshake. Exits non-zero on any mismatch or error.
"""

import asyncio
import sys
import time

from websockets.asyncio.client import connect

MAX_SIZE = 16 * 1024 * 1024
TIMEOUT = 30


def fail(message):
    print(f"client.py: FAIL: {message}", flush=True)
    sys.exit(1)


def messages():
    line = "the quick brown fox jumps over the lazy dog 0123456789\n"
    yield "short text", "hello"
    yield "utf-8 text", "héllo wörld ✓ 日本語 🦀"
    yield "64 KiB compressible text", (line * (65536 // len(line) + 1))[:65536]
    yield "1 MiB structured binary", bytes((i * 7 + (i >> 8)) % 251 for i in range(1 << 20))
    yield "empty binary", b""


async def round_trip(ws, name, message):
    await ws.send(message)
    echo = await asyncio.wait_for(ws.recv(), TIMEOUT)
    if type(echo) is not type(message) or echo != message:
        fail(f"{name}: echo differs (sent {type(message).__name__} of {len(message)}, "
             f"got {type(echo).__name__} of {len(echo)})")


async def main(url):
    started = time.monotonic()
    count = 0
    async with connect(url, max_size=MAX_SIZE, open_timeout=TIMEOUT,
                       close_timeout=TIMEOUT) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        print(f"client.py: negotiated extensions: {extensions or '(none)'}", flush=True)
        if "permessage-deflate" not in extensions:
            fail("the server did not negotiate permessage-deflate")
        for name, message in messages():
            await round_trip(ws, name, message)
            count += 1
        # A burst of small messages, sent before reading any echo.
        burst = [f"small message {i}" for i in range(50)] + [bytes([i]) * 20 for i in range(50)]
        for message in burst:
            await ws.send(message)
        for message in burst:
            echo = await asyncio.wait_for(ws.recv(), TIMEOUT)
            if echo != message:
                fail(f"burst: echo {echo!r} differs from {message!r}")
        count += len(burst)
        # Fragmented messages: websockets sends an iterable as one message in fragments.
        parts = ["fragmented ", "text ", "message ✓ " * 1000]
        await ws.send(parts)
        echo = await asyncio.wait_for(ws.recv(), TIMEOUT)
        if echo != "".join(parts):
            fail("fragmented text: echo differs")
        bparts = [bytes(range(256)) * 64, b"\x00" * 10000, b"end"]
        await ws.send(bparts)
        echo = await asyncio.wait_for(ws.recv(), TIMEOUT)
        if echo != b"".join(bparts):
            fail("fragmented binary: echo differs")
        count += 2
        await ws.close()
        if ws.close_code != 1000:
            fail(f"close: the server answered code {ws.close_code}, want 1000")
    print(f"client.py: OK: {count} messages echoed byte for byte, closed with "
          f"{ws.close_code} in {time.monotonic() - started:.2f}s", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: client.py ws://HOST:PORT/")
    asyncio.run(main(sys.argv[1]))
