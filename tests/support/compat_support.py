"""Helpers the compatibility tests share: the stand-in's record of calls, faults, and raw bytes."""

from __future__ import annotations

import http.client
import json
import urllib.parse

from local.stack import LocalStack
from tests.support.streams import standin

# The local stack the folder shares: pieces this far apart, keep-alives after this much silence.
PIECE_DELAY_MS = 40
KEEPALIVE_SECONDS = 0.25
MAX_PROMPT_CHARS = 200


def invocations(stack: LocalStack) -> int:
    """How many calls reached the AgentCore stand-in, i.e. how many times a prompt was sent upstream."""
    events = standin(stack, "GET", "/_standin/events")
    assert isinstance(events, list)
    return sum(event["kind"] == "invocation" for event in events)


def inject_fault(stack: LocalStack, fault: str) -> None:
    standin(stack, "POST", "/_standin/faults", {"fault": fault})


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
