"""A fast fake AgentCore data plane: answers InvokeAgentRuntime with pre-built SSE frames at full speed.

Used to measure the proxy on its own, without the stand-in (which relays through httpx) and the
agent (Strands and the offline model) setting the pace. It reads the offline model's directives in
the prompt with the offline model's own parser (agent/offline_model/directives.py) and honours some,
with the same meaning: [[pieces:N]] (10 when absent), [[bytes:N]] [[piece-size:K]] and
[[pause:SECONDS]] (silence after the response headers, before the first frame); a prompt the parser
refuses gets a 400 with its message. It adds one of its own, in the same syntax:
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
import string
import time
import uuid

from agent.offline_model.directives import Directives, non_negative_int, parse_directives, valued_directives

SESSION_HEADER = b"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
# The fake's own directive, in the offline model's syntax.
GAP_DIRECTIVE = valued_directives(["gap-ms"])
DEFAULT_PIECES = 10
FILLER = string.ascii_lowercase + string.digits
DONE_FRAME = b'data: {"type": "done", "stopReason": "end_turn"}\n\n'


def delta_frame(text: str) -> bytes:
    return b"data: " + json.dumps({"type": "delta", "text": text}).encode() + b"\n\n"


def gap_ms(prompt: str) -> int | None:
    """The prompt's [[gap-ms:N]] (the last one written), or None."""
    values = [non_negative_int(name, raw) for name, raw in GAP_DIRECTIVE.findall(prompt)]
    return values[-1] if values else None


def plan_frames(directives: Directives) -> list[bytes]:
    if directives.total_bytes is not None:
        piece_size, total = directives.piece_size, directives.total_bytes
        filler = "".join(itertools.islice(itertools.cycle(FILLER), min(total, piece_size)))
        frames = []
        for start in range(0, total, piece_size):
            frames.append(delta_frame(filler[: min(piece_size, total - start)]))
        return frames
    return [delta_frame(f"w{index} ") for index in range(piece_count(directives))]


def piece_count(directives: Directives) -> int:
    return directives.pieces if directives.pieces is not None else DEFAULT_PIECES


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
            try:
                directives, _ = parse_directives(prompt)
                gap = gap_ms(prompt)
            except ValueError as error:
                refusal = json.dumps({"message": str(error)}).encode()
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                             % len(refusal) + refusal)
                await writer.drain()
                continue
            session = headers.get(SESSION_HEADER.lower(), b"")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                + SESSION_HEADER + b": " + session + b"\r\n"
                + b"x-amzn-RequestId: " + str(uuid.uuid4()).encode() + b"\r\n\r\n"
            )
            if directives.pause_seconds:
                await writer.drain()
                await asyncio.sleep(directives.pause_seconds)
            if gap is not None:
                await write_paced(writer, piece_count(directives), gap / 1000)
            else:
                for frame in plan_frames(directives):
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
