"""AgentCore for the proxy's unit tests: the proxy's own client (`upstream.AgentCore`) whose connections
are socket pairs answered by a scripted fake in a thread, so the real request, the HTTP/1.1 parsing,
the error mapping and the body reading all run. Answers are raw HTTP, shaped like AgentCore's: a
chunked `text/event-stream` 200, or an error status with `x-amzn-ErrorType` and a JSON body.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streaming_shared.edge import ProxySettings, load_settings
from streaming_proxy.upstream import AgentCore
from streaming_proxy.upstream_http import ConnectionPool, _Connection

RUNTIME_ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/my_agent-AbCdEf1234"
Answer = Callable[[socket.socket], None]


# The head of AgentCore's streamed answer: a chunked event stream.
CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def sse_answer(frames: bytes, end: bool = True) -> Answer:
    """A 200 event stream carrying `frames`; `end=False` leaves the body open until the proxy closes it."""

    def answer(sock: socket.socket) -> None:
        sock.sendall(CHUNKED_HEAD + (chunk(frames) if frames else b"") + (b"0\r\n\r\n" if end else b""))

    return answer


def json_answer(body: bytes, status: int = 200) -> Answer:
    def answer(sock: socket.socket) -> None:
        sock.sendall(f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
                     .encode() + body)

    return answer


def error_answer(status: int, code: str) -> Answer:
    """AgentCore's error shape: x-amzn-ErrorType (code:docs URL) and a JSON message."""
    body = b'{"message": "internal detail arn:aws:secret"}'

    def answer(sock: socket.socket) -> None:
        sock.sendall(f"HTTP/1.1 {status} X\r\nx-amzn-ErrorType: {code}:http://internal.amazon.com/coral/\r\n"
                     f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body)

    return answer


def drop_answer(sock: socket.socket) -> None:
    """The connection closes before any response."""


def endless_answer(sock: socket.socket) -> None:
    """An agent that never stops answering: a delta every 5 ms until the proxy closes the connection."""
    sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
    while True:
        sock.sendall(chunk(b'data: {"type": "delta", "text": "more "}\n\n'))
        time.sleep(0.005)


def breaking_answer(sock: socket.socket) -> None:
    """An answer that breaks off after two deltas (the runtime went away): no final chunk."""
    sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                 + chunk(b'data: {"type": "delta", "text": "so far "}\n\n') * 2)
    sock.shutdown(socket.SHUT_WR)


@dataclass
class Served:
    """One connection the fake served: the request it read, and the proxy's side of it."""

    connection: _Connection
    request: bytes = b""
    done: threading.Event = field(default_factory=threading.Event)


def read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            return data
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        part = sock.recv(65536)
        if not part:
            break
        body += part
    return head + b"\r\n\r\n" + body


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # names in lower case
    body: bytes


def parse_request(raw: bytes) -> Request:
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ")
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return Request(method, target, headers, body)


class ScriptedPool(ConnectionPool):
    def __init__(self, fake: FakeAgentCore, *args: Any) -> None:
        super().__init__(*args)
        self.fake = fake

    async def open(self) -> _Connection:
        ours, theirs = socket.socketpair()
        transport, connection = await asyncio.get_running_loop().create_connection(_Connection, sock=ours)
        connection.transport = transport
        self.opened += 1
        served = Served(connection)
        self.fake.served.append(served)
        threading.Thread(target=self.fake.serve, args=(theirs, served), daemon=True).start()
        return connection


class FakeAgentCore(AgentCore):
    """Answers every request with `answer` once `gate` is set (at once by default)."""

    def __init__(self, answer: Answer | None = None, settings: ProxySettings | None = None) -> None:
        settings = settings or load_settings({"AGENT_RUNTIME_ARN": RUNTIME_ARN})
        super().__init__(settings, UnsignedRequests(), "http://agentcore.invalid")
        self.pool = ScriptedPool(self, self.pool.origin, 1.0, settings.max_concurrent_streams, None)
        self.answer = answer or sse_answer(b'data: {"type": "delta", "text": "Hi"}\n\ndata: {"type": "done"}\n\n')
        self.gate = threading.Event()
        self.gate.set()
        self.served: list[Served] = []
        self.requests: list[bytes] = []
        # Stop requests ({"action": "stop", ...}) are answered with `stop_answer` and never wait for the gate.
        self.stop_answer: Answer = json_answer(b'{"stopped": true}')
        self.stops: list[Request] = []
        self.calls = 0  # invocations that are not stops
        self.opening = 0  # of those, how many wait for the gate now, and the most at once
        self.most_opening = 0
        self.lock = threading.Lock()

    def serve(self, sock: socket.socket, served: Served) -> None:
        with sock:
            while True:
                try:
                    request = read_request(sock)
                except OSError:  # the proxy cut the connection
                    break
                if not request:
                    break
                served.request = request
                answer = self._answer_for(request)
                if answer is None:
                    break
                try:
                    answer(sock)
                except OSError:  # the proxy closed the connection first
                    break
                if answer in (drop_answer, breaking_answer):
                    break
        served.done.set()

    def _answer_for(self, raw: bytes) -> Answer | None:
        request = parse_request(raw)
        if request.body.startswith(b'{"action"') and json.loads(request.body).get("action") == "stop":
            with self.lock:
                self.stops.append(request)
            return self.stop_answer
        with self.lock:
            self.requests.append(raw)
            self.calls += 1
            self.opening += 1
            self.most_opening = max(self.most_opening, self.opening)
        try:
            return self.answer if self.gate.wait(10) else None
        finally:
            with self.lock:
                self.opening -= 1

    def invocations(self) -> list[Request]:
        """The invocations that are not stops, as read."""
        return [parse_request(raw) for raw in self.requests]

    @property
    def opened(self) -> int:
        return len(self.served)

    def held(self) -> int:
        """Connections the proxy neither closed nor put back in its pool: streams it still holds."""
        idle = set(map(id, self.pool._idle))
        return sum(1 for served in self.served
                   if not (served.connection.lost or served.connection.transport.is_closing())
                   and id(served.connection) not in idle)


class UnsignedRequests:
    """The signer's place, for tests that need no signature (tests/proxy/test_agentcore_request.py checks it)."""

    async def headers(self, url: str, headers: dict[str, str], body: bytes) -> list[tuple[str, str]]:
        return list(headers.items())
