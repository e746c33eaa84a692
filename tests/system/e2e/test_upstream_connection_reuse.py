"""The proxy reuses its connection to AgentCore: a warm stream opens no new upstream connection.

The stand-in records the TCP source port of every call; one port for many calls is one connection.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator

import pytest

from client import stream_invoke
from local.stack import LocalStack, StackSettings


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(offline_delay_ms=1)) as running:
        yield running


def invocation_ports(stack: LocalStack) -> list[int]:
    parts = urllib.parse.urlsplit(stack.standin_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", "/_standin/events")
        events = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    return [event["clientPort"] for event in events if event["kind"] == "invocation"]


def test_warm_streams_open_no_new_upstream_connection(stack: LocalStack) -> None:
    prompts = ["[[pieces:20]] an answer", "[[fail-after:3]] an agent error", "[[bytes:200000]] a long one"]
    for prompt in prompts:  # warm up: the first stream opens the connection
        names = [event.name for event in stream_invoke(stack.url, prompt, timeout=30)]
        assert names[-1] in ("done", "error")
    before = len(invocation_ports(stack))
    for round_number in range(4):
        for prompt in prompts:
            names = [event.name for event in stream_invoke(stack.url, prompt, timeout=30)]
            assert names[-1] in ("done", "error"), (round_number, prompt, names)
    ports = invocation_ports(stack)[before:]
    assert len(ports) == 4 * len(prompts)
    assert len(set(ports)) == 1, f"{len(set(ports))} upstream connections for {len(ports)} sequential warm streams"
