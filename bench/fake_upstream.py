"""A fast fake AgentCore data plane: answers InvokeAgentRuntime with pre-built SSE frames at full speed.

Used to measure the proxy on its own, without the stand-in (which relays through httpx) and the
agent (Strands and the offline model) setting the pace. It understands some of the offline model's
directives in the prompt, with the same meaning: [[pieces:N]], [[bytes:N]] [[piece-size:K]] and
[[pause:SECONDS]] (silence after the response headers, before the first frame), and one of its own:
[[gap-ms:N]] writes the pieces one at a time, N ms apart, each piece's text being the moment it was
written (time.monotonic(), the system-wide CLOCK_MONOTONIC on Linux), so a reader on the same machine
can pair every event with its own write time. `GET /_fake/connections` answers how many TCP
connections have carried an invocation so far.
Each frame is written as its own HTTP chunk, as the agent would write it.

    python -m bench.fake_upstream --port 9100
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import string
import time
import uuid

SESSION_HEADER = b"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
DIRECTIVE = re.compile(r"\[\[(pieces|bytes|piece-size|gap-ms):(\d+)\]\]")
PAUSE = re.compile(r"\[\[pause:(\d+(?:\.\d+)?)\]\]")
FILLER = string.ascii_lowercase + string.digits
DONE_FRAME = b'data: {"type": "done", "stopReason": "end_turn"}\n\n'


def delta_frame(text: str) -> bytes:
    return b"data: " + json.dumps({"type": "delta", "text": text}).encode() + b"\n\n"


def plan_frames(prompt: str) -> list[bytes]:
    values = {name: int(value) for name, value in DIRECTIVE.findall(prompt)}
    if "bytes" in values:
        piece_size = max(1, values.get("piece-size", 1024))
        total = values["bytes"]
        filler = "".join(itertools.islice(itertools.cycle(FILLER), min(total, piece_size)))
        frames = []
        for start in range(0, total, piece_size):
            frames.append(delta_frame(filler[: min(piece_size, total - start)]))
        return frames
    pieces = values.get("pieces", 10)
    return [delta_frame(f"w{index} ") for index in range(pieces)]


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


# Connections that carried at least one invocation (a /_fake/connections query does not count).
invoking_connections = 0


async def write_paced(writer: asyncio.StreamWriter, pieces: int, gap_seconds: float) -> None:
    for _ in range(pieces):
        await asyncio.sleep(gap_seconds)
        writer.write(chunk(delta_frame(f"{time.monotonic():.7f}")))
        await writer.drain()


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global invoking_connections
    invoked = False
    try:
        while True:  # keep-alive: botocore reuses its pooled connections
            head = await reader.readuntil(b"\r\n\r\n")
            headers = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
            if head.startswith(b"GET /_fake/connections "):
                answer = json.dumps({"invoking": invoking_connections}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(answer) + answer)
                await writer.drain()
                continue
            if not invoked:
                invoked = True
                invoking_connections += 1
            prompt = json.loads(body or b"{}").get("prompt", "")
            session = headers.get(SESSION_HEADER.lower(), b"")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                + SESSION_HEADER + b": " + session + b"\r\n"
                + b"x-amzn-RequestId: " + str(uuid.uuid4()).encode() + b"\r\n\r\n"
            )
            pause = PAUSE.search(prompt)
            if pause:
                await writer.drain()
                await asyncio.sleep(float(pause.group(1)))
            values = {name: int(value) for name, value in DIRECTIVE.findall(prompt)}
            if "gap-ms" in values:
                await write_paced(writer, values.get("pieces", 10), values["gap-ms"] / 1000)
            else:
                for frame in plan_frames(prompt):
                    writer.write(chunk(frame))
                    await writer.drain()  # returns at once until the socket buffer is full
            writer.write(chunk(DONE_FRAME) + b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(host: str, port: int) -> None:
    server = await asyncio.start_server(serve_connection, host, port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fake_upstream")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args(argv)
    asyncio.run(serve(arguments.host, arguments.port))


if __name__ == "__main__":
    main()
