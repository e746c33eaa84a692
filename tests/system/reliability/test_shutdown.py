"""SIGTERM with streams open: after the graceful period each ends with an `error` event and its
usage record (Lambda sends SIGTERM to the runtime at shutdown, Lambda Web Adapter being an external
extension; uvicorn cancels what is still open when `--timeout-graceful-shutdown` in run.sh ends)."""

from __future__ import annotations

import http.client
import json
import signal
import time
import urllib.parse

from local.stack import LocalStack, StackSettings
from streaming_shared.edge import SHUTTING_DOWN, USAGE_RECORD_MESSAGE

STREAMS = 2
# run.sh's --timeout-graceful-shutdown, then room for a loaded machine.
GRACEFUL_SECONDS = 5
ENDED_WITHIN_SECONDS = GRACEFUL_SECONDS + 5


def open_stream(url: str, session: str) -> http.client.HTTPResponse:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    # Twenty seconds of answer: still streaming when the graceful period ends.
    body = json.dumps({"prompt": "[[pieces:400]] a long answer", "sessionId": session})
    connection.request("POST", "/invoke", body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    return response


def read_until(response: http.client.HTTPResponse, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        line = response.readline()
        if not line:
            break
        seen += line
    return seen


def test_streams_open_after_the_graceful_period_end_with_an_error_and_write_their_usage_records() -> None:
    # Before: uvicorn's cancel cut each stream without a last event, so a client saw a stream that
    # simply stopped, and the usage record said the client had left.
    with LocalStack(StackSettings(offline_delay_ms=50)) as stack:
        streams = [open_stream(stack.proxy_url, f"shutdown-{index}") for index in range(STREAMS)]
        for response in streams:
            assert b"event: delta" in read_until(response, b"event: delta")
        stack.processes["proxy"].send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        tails = [read_until(response, b"event: error") + response.read() for response in streams]
        assert time.monotonic() - signalled < ENDED_WITHIN_SECONDS
        for tail in tails:
            assert b"event: done" not in tail
            error = tail.split(b"event: error\ndata: ", 1)[1].split(b"\n", 1)[0]
            assert json.loads(error)["code"] == SHUTTING_DOWN
        stack.processes["proxy"].wait(10)
        deadline = time.monotonic() + 5  # the log reader may still hold the last lines
        while len(usage_records(stack)) < STREAMS and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [r["outcome"] for r in usage_records(stack)] == [f"error:{SHUTTING_DOWN}"] * STREAMS


def usage_records(stack: LocalStack) -> list[dict]:
    return [r for r in stack.log_records("proxy") if r.get("message") == USAGE_RECORD_MESSAGE]
