"""The Node anchor (bench/node_anchor) is the seed's proxy with our SSE events: every kind of agent
event becomes what the Python proxy's `translate` makes of it, it keeps the stream alive through a
silence, and it reuses its upstream connection, as the benchmark's comparison assumes.

The upstream here is a small HTTP/1.1 server that answers InvokeAgentRuntime the way AgentCore does
(200 text/event-stream, chunked, one frame per chunk, keep-alive; errors as a status with
`x-amzn-ErrorType`), so the AWS SDK v3 client in the anchor meets what it would meet on AWS.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import anchor
from client.sse import SseMessage, SseParser
from local.stack import HOST
from streaming_proxy.app import translate

KEEPALIVE_SECONDS = 0.1
USAGE = {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3, "latencyMs": 4}
DONE = json.dumps({"type": "done", "stopReason": "end_turn"})
# Each case is the `data:` payload the agent sends; the upstream follows it with `done`.
PAYLOADS = [
    json.dumps("a plain string, as an entrypoint that yields strings sends it"),
    json.dumps({"type": "delta", "text": "héllo \u2028 😀 \"quoted\" \\ back"}, ensure_ascii=False),
    json.dumps({"type": "delta", "text": "escaped \u00e9 \ud83d\ude00"}),
    json.dumps({"type": "done", "stopReason": "end_turn", "usage": USAGE}),
    json.dumps({"type": "done", "stopReason": "max_tokens", "usage": {**USAGE, "latencyMs": None}}),
    json.dumps({"type": "done", "stopReason": "x" * 65, "usage": {**USAGE, "inputTokens": True}}),
    json.dumps({"type": "done", "stopReason": "", "usage": {**USAGE, "outputTokens": -1}}),
    json.dumps({"type": "done", "usage": {**USAGE, "totalTokens": 2**53}}),
    json.dumps({"type": "done", "stopReason": 7, "usage": "lots"}),
    json.dumps({"error": "boom with the prompt in it", "error_type": "ValueError"}),
    json.dumps({"type": "blocked", "usage": USAGE}),
    json.dumps({"data": "a raw Strands stream event"}),
    json.dumps({"type": "delta", "text": 5}),
    json.dumps({"type": "something new"}),
    json.dumps([1, 2]),
    "null",
    "not json at all",
    '{"type": "delta",\ndata: "text": "two data lines"}',
]


class Upstream(BaseHTTPRequestHandler):
    """AgentCore's InvokeAgentRuntime: the prompt is the index of the case to answer with."""

    protocol_version = "HTTP/1.1"
    connections = 0

    def setup(self) -> None:
        super().setup()
        type(self).connections += 1

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        prompt = json.loads(body)["prompt"]
        if prompt == "throttle":
            return self.refuse(429, "ThrottlingException")
        if prompt == "fail":
            return self.refuse(500, "InternalServerException")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        if prompt == "pause":
            time.sleep(KEEPALIVE_SECONDS * 4)
            frames = [json.dumps({"type": "delta", "text": "after a silence"}), DONE]
        else:
            frames = [PAYLOADS[int(prompt)], DONE]
        for payload in frames:
            self.chunk("".join(f"data: {line}\n" for line in payload.split("\ndata: ")) + "\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def refuse(self, status: int, error_type: str) -> None:
        body = json.dumps({"message": "refused"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer((HOST, 0), Upstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def node_anchor(upstream: str) -> Iterator[str]:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail(f"{anchor.INSTALL_HINT}. CI must run these tests.", pytrace=False)
        pytest.skip(anchor.INSTALL_HINT)
    with anchor.running(upstream, keepalive_seconds=KEEPALIVE_SECONDS) as (url, _pid):
        yield url


def stream(url: str, prompt: str) -> tuple[bytes, list[tuple[str, object]]]:
    """The raw body of one stream and its events as (name, parsed data)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST", "/invoke", body=json.dumps({"prompt": prompt}), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/event-stream"
        raw = response.read()
    finally:
        connection.close()
    events = [(item.event, json.loads(item.data)) for item in SseParser().feed(raw) if isinstance(item, SseMessage)]
    return raw, events


def python_events(payload: str, session_id: str) -> list[tuple[str, object]]:
    """What the Python proxy sends for this payload followed by `done`: its own translate, parsed."""
    events = []
    # The proxy's decoder joins an event's `data:` lines with "\n", as the SSE standard does.
    for data in (payload.replace("\ndata: ", "\n"), DONE):
        event = translate(data, session_id)
        if event.payload is not None:
            message = next(item for item in SseParser().feed(event.payload) if isinstance(item, SseMessage))
            events.append((message.event, json.loads(message.data)))
        if event.terminal:
            break
    return events


@pytest.mark.parametrize("case", range(len(PAYLOADS)))
def test_the_anchor_translates_every_kind_of_agent_event_as_the_proxy_does(node_anchor: str, case: int) -> None:
    _, events = stream(node_anchor, str(case))
    (name, start), *rest = events
    assert name == "start" and set(start) == {"sessionId", "requestId"}
    assert rest == python_events(PAYLOADS[case], start["sessionId"])


def test_the_anchor_keeps_a_silent_stream_alive_with_comment_lines(node_anchor: str) -> None:
    raw, events = stream(node_anchor, "pause")
    assert [name for name, _ in events] == ["start", "delta", "done"]
    before_delta = raw[: raw.index(b"event: delta")]
    assert before_delta.count(b": keep-alive\n") >= 2
    assert b": keep-alive\n\n" not in raw  # a comment line, never an empty event of its own


def test_the_anchor_reuses_its_upstream_connection(node_anchor: str) -> None:
    stream(node_anchor, "1")
    before = Upstream.connections
    for _ in range(5):
        stream(node_anchor, "1")
    assert Upstream.connections == before


@pytest.mark.parametrize(("prompt", "code"), [("throttle", "THROTTLED"), ("fail", "UPSTREAM_ERROR")])
def test_the_anchor_reports_a_refused_call_as_an_error_event(node_anchor: str, prompt: str, code: str) -> None:
    _, events = stream(node_anchor, prompt)
    assert [name for name, _ in events] == ["start", "error"]
    assert events[1][1]["code"] == code
