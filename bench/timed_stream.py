"""Read one event stream over loopback and note when each byte of it arrived.

The same reader serves both paths being compared (the agent's own `/invocations` and the proxy's
`/invoke`), so any difference between them comes from the path, not from the measuring code.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

from client.sse import SseMessage, SseParser

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
READ_SIZE = 65536
TIMEOUT_SECONDS = 300.0


@dataclass
class TimedStream:
    sent_at: float  # time.monotonic() just before the request was written
    headers_at: float = 0.0  # response headers parsed: the first byte, in practice
    status: int = 0
    # (monotonic receive time, text) of each delta, in order
    deltas: list[tuple[float, str]] = field(default_factory=list)
    terminal: str | None = None  # "done" or "error" (proxy), "done" or "error" (agent's own events)
    finished_at: float = 0.0
    body_bytes: int = 0
    delta_bytes: int = 0  # UTF-8 bytes of delta text, counted even when the text is not kept

    @property
    def ttfb(self) -> float:
        return self.headers_at - self.sent_at

    @property
    def first_delta(self) -> float | None:
        return self.deltas[0][0] - self.sent_at if self.deltas else None

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.deltas)



def classify_proxy_event(message: SseMessage) -> tuple[str, str | None]:
    """The proxy's public events: `event: delta` with {"text"}, then done or error."""
    if message.event == "delta":
        return "delta", json.loads(message.data)["text"]
    return message.event, None


def classify_agent_event(message: SseMessage) -> tuple[str, str | None]:
    """The agent's raw frames: {"type": "delta", "text"}, {"type": "done"}, or the SDK's in-band error."""
    value: Any = json.loads(message.data)
    if isinstance(value, dict) and value.get("type") == "delta":
        return "delta", value["text"]
    if isinstance(value, dict) and value.get("type") == "done":
        return "done", None
    if isinstance(value, dict) and "error" in value:
        return "error", None
    return "other", None


def read_stream(
    url: str, path: str, body: dict[str, Any], headers: dict[str, str], *, direct_agent: bool, keep_text: bool = True
) -> TimedStream:
    """Send one request and read its whole stream. keep_text=False keeps only the times of the deltas
    (a 100 MB answer would otherwise sit in this process's memory)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
    classify = classify_agent_event if direct_agent else classify_proxy_event
    payload = json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", "Accept": "text/event-stream", **headers}
    try:
        connection.connect()  # connect first: a TCP handshake is neither path's cost
        result = TimedStream(sent_at=time.monotonic())
        connection.request("POST", path, body=payload, headers=all_headers)
        response = connection.getresponse()
        result.headers_at = time.monotonic()
        result.status = response.status
        if response.status != 200:
            result.body_bytes = len(response.read())
            result.finished_at = time.monotonic()
            return result
        parser = SseParser()
        while result.terminal is None:
            chunk = response.read1(READ_SIZE)
            received_at = time.monotonic()
            if not chunk:
                break
            result.body_bytes += len(chunk)
            for item in parser.feed(chunk):
                if not isinstance(item, SseMessage):
                    continue
                kind, text = classify(item)
                if kind == "delta" and text is not None:
                    result.delta_bytes += len(text.encode())
                    result.deltas.append((received_at, text if keep_text else ""))
                elif kind in ("done", "error"):
                    result.terminal = kind
        result.finished_at = time.monotonic()
        return result
    finally:
        connection.close()


def read_from_agent(agent_url: str, prompt: str, *, keep_text: bool = True) -> TimedStream:
    """POST {agent_url}/invocations, exactly as the AgentCore data plane calls the agent."""
    # A fresh session per read, 33+ characters as AgentCore requires: no history to replay.
    headers = {SESSION_HEADER: f"bench-session-{uuid.uuid4().hex}"}
    return read_stream(agent_url, "/invocations", {"prompt": prompt}, headers, direct_agent=True, keep_text=keep_text)


def read_from_proxy(proxy_url: str, prompt: str, *, keep_text: bool = True) -> TimedStream:
    return read_stream(proxy_url, "/invoke", {"prompt": prompt}, {}, direct_agent=False, keep_text=keep_text)
