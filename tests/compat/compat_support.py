"""Helpers the compatibility tests share: the stand-in's record of calls, faults, and raw bytes."""

from __future__ import annotations

import http.client
import json
import urllib.parse

from local.stack import LocalStack

# The local stack the folder shares: pieces this far apart, keep-alives after this much silence.
PIECE_DELAY_MS = 40
KEEPALIVE_SECONDS = 0.25
MAX_PROMPT_CHARS = 200


def standin_call(stack: LocalStack, method: str, path: str, body: dict | None = None) -> object:
    parts = urllib.parse.urlsplit(stack.standin_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        raw = response.read()
        assert response.status < 300, raw
        return json.loads(raw) if raw else None
    finally:
        connection.close()


def invocations(stack: LocalStack) -> int:
    """How many calls reached the AgentCore stand-in, i.e. how many times a prompt was sent upstream."""
    events = standin_call(stack, "GET", "/_standin/events")
    assert isinstance(events, list)
    return sum(event["kind"] == "invocation" for event in events)


def inject_fault(stack: LocalStack, fault: str) -> None:
    standin_call(stack, "POST", "/_standin/faults", {"fault": fault})


def raw_stream(stack: LocalStack, prompt: str) -> bytes:
    """The response body exactly as the proxy wrote it."""
    parts = urllib.parse.urlsplit(stack.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST", "/invoke", body=json.dumps({"prompt": prompt}), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200
        return response.read()
    finally:
        connection.close()
