"""Driving a local stack from tests: the AgentCore stand-in's control routes, and holding stream slots."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

from local.stack import LocalStack


def standin(stack: LocalStack, method: str, path: str, body: dict | None = None) -> object:
    """Call one of the stand-in's control routes (/_standin/events, /_standin/faults) and return its JSON."""
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


@contextmanager
def holding_the_only_slot(stack: LocalStack) -> Iterator[None]:
    """Keep one slow stream open (its `start` read) on a stack whose proxy allows one stream at a
    time (PROXY_MAX_CONCURRENT_STREAMS=1), so the proxy answers the next request with HTTP 429."""
    parts = urllib.parse.urlsplit(stack.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        body = json.dumps({"prompt": "[[pause:5]] [[pieces:1]] hold the slot"})
        connection.request("POST", "/invoke", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200
        assert b"event: start" in response.read1(4096)
        yield
    finally:
        connection.close()
