"""UpstreamStream.drain(): a body that ends gives its connection back; one that never ends is cut."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from streaming_proxy import upstream
from streaming_proxy.upstream import Chunk, UpstreamStream

DONE_FRAME = b'data: {"type": "done"}\n\n'
RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/test_runtime-abc123"


class OneShotUpstream:
    """Answers one InvokeAgentRuntime call with the done frame, then ends the body or holds it open."""

    def __init__(self, end_body: bool) -> None:
        self.end_body = end_body
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed_by_caller = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(65536)
            head, _, body = request.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            while len(body) < length:
                body += connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"%x\r\n%s\r\n" % (len(DONE_FRAME), DONE_FRAME)
                + (b"0\r\n\r\n" if self.end_body else b"")
            )
            connection.settimeout(10)
            try:
                if connection.recv(1) == b"":
                    self.closed_by_caller.set()
            except (TimeoutError, OSError):
                pass

    def __enter__(self) -> OneShotUpstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()


@pytest.fixture
def short_drain(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    monkeypatch.setattr(upstream, "DRAIN_SECONDS", 0.3)
    yield 0.3


def open_and_drain(port: int) -> tuple[float, object]:
    """Seconds drain() took, and the client (kept alive so its pool is not collected)."""
    client = boto3.client(
        "bedrock-agentcore",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=10),
    )
    response = client.invoke_agent_runtime(agentRuntimeArn=RUNTIME_ARN, runtimeSessionId="s" * 40, payload=b"{}")

    async def relay() -> float:
        stream = UpstreamStream(response, asyncio.get_running_loop())
        stream.start()
        item = await stream.next_item()
        assert isinstance(item, Chunk) and item.data == DONE_FRAME
        started = time.monotonic()
        await stream.drain()
        return time.monotonic() - started

    return asyncio.run(relay()), client


def test_a_body_that_never_ends_is_cut_after_the_drain_time(short_drain: float) -> None:
    with OneShotUpstream(end_body=False) as server:
        waited, _client = open_and_drain(server.port)
        assert short_drain <= waited < short_drain + 2
        assert server.closed_by_caller.wait(5), "the proxy left the upstream connection open"


def test_a_body_that_ends_keeps_its_connection_open(short_drain: float) -> None:
    with OneShotUpstream(end_body=True) as server:
        waited, _client = open_and_drain(server.port)
        assert waited < short_drain
        # Back in the pool, not closed: the server does not see the caller hang up.
        assert not server.closed_by_caller.wait(0.5)
