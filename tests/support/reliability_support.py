"""Helpers for the reliability tests: raw HTTP with hard time limits, and the public contract's checks."""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from client.sse import SseMessage, SseParser
from offline_model.directives import without_directives

# Statuses the public contract documents for errors found before a stream starts.
DOCUMENTED_CLIENT_ERRORS = {400, 404, 405, 413, 415, 429}
DOCUMENTED_UPSTREAM_ERRORS = {502, 504}
STREAM_ERROR_CODES = {"AGENT_ERROR", "UPSTREAM_INTERRUPTED", "UPSTREAM_PROTOCOL_ERROR", "STREAM_TIMEOUT", "SHUTTING_DOWN"}
# Opening the agent's call failed after `start` went out: the codes of the former 429/502/504 answers.
OPEN_ERROR_CODES = {"THROTTLED", "UPSTREAM_ERROR", "UPSTREAM_TIMEOUT"}
STREAM_ERROR_CODES |= OPEN_ERROR_CODES
# Words that only appear when a server leaks its internals.
LEAK_MARKERS = ("Traceback", "SECRET-INTERNAL-DETAIL", 'File "', "arn:aws:")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    seconds: float  # from sending the request to the end of the body

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[tuple[str, dict[str, Any] | None]]:
        """(name, data) of every event and keep-alive comment; data None for comments."""
        parser = SseParser()
        items = parser.feed(self.body) + parser.finish()
        assert not parser.has_partial_event, f"stream ends inside an event: {self.body[-200:]!r}"
        result: list[tuple[str, dict[str, Any] | None]] = []
        for item in items:
            if isinstance(item, SseMessage):
                data = json.loads(item.data)
                assert isinstance(data, dict), f"event {item.event} carries {item.data!r}"
                result.append((item.event, data))
            else:
                result.append(("keep-alive", None))
        return result


def send(
    url: str,
    method: str,
    path: str,
    *,
    body: bytes | Iterable[bytes] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
    chunked: bool = False,
) -> Answer:
    """One request on a new connection; raises TimeoutError if the server is silent for `timeout` s."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    started = time.monotonic()
    try:
        connection.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        response = connection.getresponse()
        content = response.read()
        return Answer(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            content,
            time.monotonic() - started,
        )
    finally:
        connection.close()


def invoke(url: str, prompt: str, *, timeout: float = 30.0) -> Answer:
    body = json.dumps({"prompt": prompt}).encode()
    return send(url, "POST", "/invoke", body=body, headers={"Content-Type": "application/json"}, timeout=timeout)


def assert_no_leak(body: bytes) -> None:
    text = body.decode("utf-8", errors="replace")
    for marker in LEAK_MARKERS:
        assert marker not in text, f"body leaks {marker!r}: {text[:500]!r}"


def assert_error_body(answer: Answer, allowed_statuses: set[int]) -> str:
    """A documented JSON error: the status, {"error": {"code", "message"}}; returns the code."""
    assert answer.status in allowed_statuses, f"HTTP {answer.status}: {answer.body[:300]!r}"
    assert_no_leak(answer.body)
    if answer.body == b"":  # HEAD answers carry headers only
        return ""
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    error = answer.json()["error"]
    assert isinstance(error["code"], str) and error["code"].isupper(), error
    assert isinstance(error["message"], str) and error["message"], error
    return str(error["code"])


def assert_complete_stream(answer: Answer) -> list[tuple[str, dict[str, Any] | None]]:
    """200 text/event-stream: start first, exactly one done or error, last; returns the events."""
    assert answer.status == 200, f"HTTP {answer.status}: {answer.body[:300]!r}"
    assert answer.headers["content-type"].startswith("text/event-stream"), answer.headers
    assert_no_leak(answer.body)
    events = answer.events()
    names = [name for name, _ in events if name != "keep-alive"]
    assert names and names[0] == "start", names[:3]
    assert names[-1] in ("done", "error"), f"stream ends with {names[-3:]}"
    assert sum(name in ("done", "error") for name in names) == 1, names
    assert set(names) <= {"start", "delta", "done", "error"}, set(names)
    terminal = [data for name, data in events if name in ("done", "error")][0]
    if names[-1] == "error":
        assert terminal is not None and terminal["code"] in STREAM_ERROR_CODES, terminal
    return events


def stream_text(events: list[tuple[str, dict[str, Any] | None]]) -> str:
    return "".join(data["text"] for name, data in events if name == "delta" and data is not None)


def terminal_event(events: list[tuple[str, dict[str, Any] | None]]) -> tuple[str, dict[str, Any]]:
    name, data = [(name, data) for name, data in events if name in ("done", "error")][0]
    assert data is not None
    return name, data


def echo_answer(prompt: str) -> str:
    """The offline model's answer to the first turn of a session (directives are not echoed)."""
    return f'Offline model, turn 1. You said: "{without_directives(prompt)}".'


# -- raw HTTP and process accounting, for the hostile-input and accounting tests ------------------


class NoResponse(AssertionError):
    """The server closed the connection, or stayed silent, without answering the request."""


def raw_exchange(url: str, data: bytes, *, timeout: float = 30.0) -> Answer:
    """Send `data` as-is on a new connection and read one HTTP response; NoResponse if none comes."""
    parts = urllib.parse.urlsplit(url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as connection:
        try:
            connection.sendall(data)
        except OSError:
            pass  # the server may refuse early and close; its answer is still readable
        response = http.client.HTTPResponse(connection, method=data.split(b" ", 1)[0].decode("latin-1"))
        try:
            response.begin()
            body = response.read()
        except (http.client.HTTPException, OSError) as error:
            raise NoResponse(f"no complete response to {data[:120]!r}: {error!r}") from None
        return Answer(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            body,
            time.monotonic() - started,
        )


def proxy_ready(stack: Any) -> dict[str, Any]:
    """The proxy's readiness document, which carries its count of open streams."""
    answer = send(stack.proxy_url, "GET", "/_ready", timeout=5)
    assert answer.status == 200
    return answer.json()


def open_upstream_streams(stack: Any) -> int:
    """Invocations the stand-in accepted and has not yet finished (completed, dropped or abandoned)."""
    events = send(stack.standin_url, "GET", "/_standin/events", timeout=5).json()
    started = {event["requestId"] for event in events if event["kind"] == "invocation"}
    ended_kinds = {"completed", "client_disconnected", "dropped", "agent_failed", "agent_unreachable", "agent_error"}
    ended = {event["requestId"] for event in events if event["kind"] in ended_kinds or event["kind"] == "fault"
             and event.get("fault") not in (None, "slow-headers", "drop-mid-stream", "stall-mid-stream")}
    return len(started - ended)


def agent_ping(stack: Any) -> str:
    return str(send(stack.agent_url, "GET", "/ping", timeout=5).json()["status"])


def wait_until_settled(stack: Any, seconds: float = 20.0, steady_seconds: float = 1.0) -> tuple[int, int, str]:
    """(open streams in the proxy, open streams at the stand-in, agent /ping) once all have been idle
    for `steady_seconds` (requests still on their way must not pass for settled), or at the deadline."""
    deadline = time.monotonic() + seconds
    idle_since: float | None = None
    while True:
        state = (proxy_ready(stack)["activeStreams"], open_upstream_streams(stack), agent_ping(stack))
        now = time.monotonic()
        if state == (0, 0, "Healthy"):
            idle_since = idle_since if idle_since is not None else now
            if now - idle_since >= steady_seconds:
                return state
        else:
            idle_since = None
        if now > deadline:
            return state
        time.sleep(0.1)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def describe_fds(pid: int) -> list[str]:
    """Each open fd of `pid`; sockets as local -> remote port and TCP state, for failure messages."""
    sockets: dict[str, str] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            sockets[inode] = f"{int(local.split(':')[1], 16)}->{int(remote.split(':')[1], 16)} state {state}"
    described = []
    for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        inode = target[len("socket:["):-1] if target.startswith("socket:[") else None
        described.append(f"{fd}: {target}" + (f" {sockets.get(inode, '(not TCP)')}" if inode else ""))
    return described
