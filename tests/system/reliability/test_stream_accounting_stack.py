"""No request can leak a stream slot or an upstream stream, and the HTTP edges hold, on the real stack.

The stack runs with few stream slots (4), so a single leaked slot per kind of failure would show as
429s within a few requests. After each kind of failure the proxy's open-stream count must be zero,
the stand-in must have seen every upstream stream end, and the agent's /ping must say Healthy.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
from collections.abc import Iterator

import pytest
from tests.support.reliability_support import (
    assert_complete_stream,
    invoke,
    raw_exchange,
    send,
    wait_until_settled,
)

from local.stack import LocalStack, StackSettings

SLOTS = 4
HEADER_TIMEOUT_SECONDS = 1.0
BODY_TIMEOUT_SECONDS = 2.0
SETTLED = (0, 0, "Healthy")
CONTROL_CHARACTERS = [chr(code) for code in [*range(0x20), 0x7F]]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    timeouts = {"HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT_SECONDS), "HTTP_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_SECONDS)}
    with LocalStack(StackSettings(
        offline_delay_ms=2,
        keepalive_seconds=0.3,
        stream_timeout_seconds=20,
        proxy_env={"PROXY_MAX_CONCURRENT_STREAMS": str(SLOTS), **timeouts},
        gateway_env=timeouts,
        auth="apiKey",
        api_keys={"hostile-test-key": "key-id-hostile"},
    )) as running:
        yield running


# Sent to both entry points: the proxy behind a gateway refuses a request without it, and the
# gateway replaces it with its own.
REQUEST_CONTEXT = '{"requestId":"accounting-test","identity":{"apiKeyId":"key-id-hostile"}}'


def request_bytes(url: str, body: bytes, extra: str = "", path: str = "/invoke") -> bytes:
    host = urllib.parse.urlsplit(url).netloc
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nx-api-key: hostile-test-key\r\n"
        f"x-amzn-request-context: {REQUEST_CONTEXT}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def prompt_body(prompt: str, **fields: object) -> bytes:
    return json.dumps({"prompt": prompt, **fields}).encode()


def both_entry_points(stack: LocalStack) -> list[str]:
    return [stack.url, stack.proxy_url]  # the gateway, and the proxy itself (as with --auth none)


def assert_normal_request_streams(stack: LocalStack) -> None:
    for url in both_entry_points(stack):
        answer = raw_exchange(url, request_bytes(url, prompt_body("still streaming? [[pieces:3]]")))
        events = assert_complete_stream(answer)
        assert events[-1][0] == "done", events[-3:]


def test_session_ids_with_control_characters_never_hold_a_slot(stack: LocalStack) -> None:
    # Before: "abc\n" passed `^...$`, the agent ran a whole turn, writing X-Session-Id failed, and the
    # slot and upstream stream were never released: 256 such requests and every caller got 429.
    for url in both_entry_points(stack):
        for character in CONTROL_CHARACTERS:
            for session_id in (f"abc{character}", f"a{character}bc", f"{character}abc"):
                answer = raw_exchange(url, request_bytes(url, prompt_body("hi", sessionId=session_id)))
                assert answer.status == 400, (repr(session_id), answer.status, answer.body[:200])
                assert answer.json()["error"]["code"] == "INVALID_FIELD"
    assert wait_until_settled(stack) == SETTLED
    assert_normal_request_streams(stack)


def leave_after(url: str, data: bytes, marker: bytes | None) -> None:
    """Send a request and close the connection once `marker` arrived (at once when None)."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(data)
        received = b""
        while marker is not None and marker not in received:
            chunk = connection.recv(65536)
            assert chunk, f"closed before {marker!r}: {received[-300:]!r}"
            received += chunk


def inject(stack: LocalStack, fault: str, count: int, **fields: object) -> None:
    # A request whose client left before the proxy opened the call leaves its fault unused: drop it.
    assert send(stack.standin_url, "DELETE", "/_standin/faults").status in (200, 204)
    body = json.dumps({"fault": fault, "count": count, **fields}).encode()
    answer = send(stack.standin_url, "POST", "/_standin/faults", body=body, headers={"Content-Type": "application/json"})
    assert answer.status in (200, 201, 204), answer.body


FAILURES = 3 * SLOTS  # more than the slots: one leak per request would exhaust them


@pytest.mark.parametrize(
    "kind",
    ["leave-before-first-byte", "leave-after-start", "leave-mid-answer", "leave-while-agentcore-opens",
     "agentcore-refuses", "agent-fails-mid-answer"],
)
def test_failures_of_each_kind_release_every_slot_and_upstream_stream(stack: LocalStack, kind: str) -> None:
    # A client that leaves through the gateway leaves nothing for the proxy to see (the gateway reads
    # the answer to its end, as Lambda does), so its slot is held until the answer ends and a quick
    # run of them meets 429, as on AWS. The proxy's own release on a departure is tested directly.
    leaves = ("leave-after-start", "leave-mid-answer", "leave-while-agentcore-opens")
    url = stack.proxy_url if kind in leaves else stack.url
    for number in range(FAILURES):
        if kind == "leave-before-first-byte":
            leave_after(url, request_bytes(url, prompt_body(f"[[pause:0.5]] {number}")), None)
        elif kind == "leave-after-start":
            leave_after(url, request_bytes(url, prompt_body(f"[[pause:0.5]] {number}")), b"event: start")
        elif kind == "leave-mid-answer":
            leave_after(url, request_bytes(url, prompt_body(f"[[pieces:400]] {number}")), b"event: delta")
        elif kind == "leave-while-agentcore-opens":
            inject(stack, "slow-headers", 1, seconds=1)
            leave_after(url, request_bytes(url, prompt_body(f"cold {number}")), b"event: start")
        elif kind == "agentcore-refuses":
            inject(stack, "ThrottlingException", 1)
            answer = raw_exchange(url, request_bytes(url, prompt_body(f"busy {number}")))
            assert assert_complete_stream(answer)[-1][1]["code"] == "THROTTLED"
        else:
            answer = raw_exchange(url, request_bytes(url, prompt_body(f"[[fail-after:1]] {number}")))
            assert assert_complete_stream(answer)[-1][1]["code"] == "AGENT_ERROR"
        if kind in leaves:
            # A slot stays taken until AgentCore's call returns (a call still opening counts against
            # the cap: test_clients_that_leave_while_agentcore_is_opening_count_against_the_cap; a
            # client that leaves at `start` may leave while it opens), then it must come back. Each
            # one settles before the next, so a leaked slot or upstream stream still shows.
            assert wait_until_settled(stack, 30) == SETTLED
    assert wait_until_settled(stack, 30) == SETTLED
    assert_normal_request_streams(stack)


@pytest.mark.parametrize("entry", ["gateway", "proxy"])
def test_content_length_with_transfer_encoding_is_refused_and_the_connection_closed(stack: LocalStack, entry: str) -> None:
    url = stack.url if entry == "gateway" else stack.proxy_url
    body = prompt_body("smuggled?")
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    data = request_bytes(url, b"", "Transfer-Encoding: chunked\r\n")[:-0 or None] + chunked
    # A second request pipelined behind it must not be answered: the connection is closed.
    data += request_bytes(url, prompt_body("second"))
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 400"), received[:300]
    assert b"AMBIGUOUS_FRAMING" in received
    assert received.count(b"HTTP/1.1 ") == 1, "the pipelined request was answered on the same connection"


@pytest.mark.parametrize("entry", ["gateway", "proxy"])
def test_a_trailing_slash_is_never_a_redirect(stack: LocalStack, entry: str) -> None:
    url = stack.url if entry == "gateway" else stack.proxy_url
    answer = raw_exchange(url, request_bytes(url, prompt_body("hi"), "", "/invoke/").replace(
        f"Host: {urllib.parse.urlsplit(url).netloc}".encode(), b"Host: evil.example"))
    assert answer.status in (403, 404), answer.status
    assert "location" not in answer.headers
    assert answer.json()["error"]["code"] in ("NOT_FOUND", "FORBIDDEN")


@pytest.mark.parametrize("entry", ["gateway", "proxy"])
def test_duplicate_content_type_is_refused(stack: LocalStack, entry: str) -> None:
    url = stack.url if entry == "gateway" else stack.proxy_url
    answer = raw_exchange(url, request_bytes(url, prompt_body("hi"), "Content-Type: text/plain\r\n"))
    assert answer.status == 415
    assert answer.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def seconds_until_closed(url: str, data: bytes, limit: float = 15.0) -> float:
    parts = urllib.parse.urlsplit(url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=limit) as connection:
        if data:
            connection.sendall(data)
        try:
            while connection.recv(65536):
                pass
        except TimeoutError:
            return limit
    return time.monotonic() - started


@pytest.mark.parametrize("entry", ["gateway", "proxy"])
def test_slow_clients_are_dropped(stack: LocalStack, entry: str) -> None:
    # Before: uvicorn timed out only idle keep-alive connections; these three held theirs for ever.
    url = stack.url if entry == "gateway" else stack.proxy_url
    assert seconds_until_closed(url, b"") < HEADER_TIMEOUT_SECONDS + 3  # connects, says nothing
    assert seconds_until_closed(url, b"POST /invoke HTTP/1.1\r\nHost: x\r\n") < HEADER_TIMEOUT_SECONDS + 3
    body = prompt_body("a slow body")
    partial = request_bytes(url, body)[: -len(body) + 5]  # headers, then 5 of the body's bytes
    assert seconds_until_closed(url, partial) < BODY_TIMEOUT_SECONDS + 3
    assert wait_until_settled(stack) == SETTLED
