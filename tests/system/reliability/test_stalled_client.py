"""A client that stops reading altogether: at the stream limit the proxy gives back the stream's
slot, drops its AgentCore call and stops the agent's turn, though its sends are blocked on a full
TCP window and neither closed connection would reach the agent on AWS."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from client import stream_invoke
from local.stack import LocalStack, StackSettings
from streaming_proxy.app import LAST_SEND_SECONDS, STOP_WAIT_SECONDS
from streaming_shared.edge import STREAM_TIMEOUT, USAGE_RECORD_MESSAGE

STREAM_TIMEOUT_SECONDS = 3
# Far more than the sockets between the agent and the client can hold.
ENDLESS_ANSWER = "[[bytes:90000000]] [[piece-size:65536]] [[delay-ms:0]]"
SESSION = "stalled-client-session-01"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(stream_timeout_seconds=STREAM_TIMEOUT_SECONDS, keepalive_seconds=1)) as running:
        yield running


def stalled_request(url: str) -> socket.socket:
    """Send the request, then never read: the windows fill and every sender behind them blocks."""
    parts = urllib.parse.urlsplit(url)
    body = json.dumps({"prompt": ENDLESS_ANSWER, "sessionId": SESSION}).encode()
    caller = socket.create_connection((parts.hostname, parts.port))
    caller.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    caller.sendall(
        f"POST /invoke HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    )
    return caller


def active_streams(stack: LocalStack) -> int:
    with urllib.request.urlopen(f"{stack.proxy_url}/_ready", timeout=5) as response:
        return json.load(response)["activeStreams"]


def messages(stack: LocalStack, component: str, message: str) -> list[dict]:
    return [record for record in stack.log_records(component) if record.get("message") == message]


def test_the_limit_releases_the_slot_the_upstream_call_and_the_agents_turn(stack: LocalStack) -> None:
    # Before: the proxy's send waited on the full window for ever: the slot stayed taken, the
    # AgentCore call open and the agent's turn running, past the limit and Lambda's timeout.
    caller = stalled_request(stack.proxy_url)
    try:
        started = time.monotonic()
        time.sleep(1)
        assert active_streams(stack) == 1
        bound = STREAM_TIMEOUT_SECONDS + LAST_SEND_SECONDS + STOP_WAIT_SECONDS + 5
        while active_streams(stack) and time.monotonic() - started < bound:
            time.sleep(0.2)
        assert active_streams(stack) == 0
        while not messages(stack, "proxy", USAGE_RECORD_MESSAGE) and time.monotonic() - started < bound:
            time.sleep(0.2)
        usage = messages(stack, "proxy", USAGE_RECORD_MESSAGE)
        assert [record["outcome"] for record in usage] == [f"error:{STREAM_TIMEOUT}"]
        # The usage record is written when the stream ends; the stop's round trip to the agent after it.
        while not messages(stack, "proxy", "abandoned turn stopped") and time.monotonic() - started < bound:
            time.sleep(0.2)
        stops = messages(stack, "proxy", "abandoned turn stopped")
        assert [record["stopped"] for record in stops] == [True]
        while not messages(stack, "agent", "turn_cancelled") and time.monotonic() - started < bound:
            time.sleep(0.2)
        assert [record["stopped"] for record in messages(stack, "agent", "turn_cancelled")] == [True]
    finally:
        caller.close()
    # The session's next turn streams at once.
    following = list(stream_invoke(stack.url, "and now?", session_id=SESSION, timeout=30))
    assert following[-1].name == "done" and following[-1].data["stopReason"] == "end_turn"
