"""A client that reads slower than the agent writes still gets its stream ended at the limit.

The proxy then always has a chunk waiting, so the stream limit must hold even when it never waits
for upstream; otherwise Lambda's timeout, not the proxy, would end the stream, without an error event.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections.abc import Iterator

import pytest

from bench.fake_stack import fake_upstream
from local.stack import LocalStack, StackSettings

STREAM_TIMEOUT_SECONDS = 3.0
# Reading 64 KiB every 50 ms (about 1.3 MB/s), the whole answer would take about 45 s.
ANSWER_BYTES = 60_000_000
READ_SIZE = 65536
READ_PAUSE_SECONDS = 0.05
# The limit, plus the time to drain what the sockets and the proxy held when it struck.
GIVE_UP_SECONDS = 30.0


@pytest.fixture(scope="module")
def slow_client_stack() -> Iterator[LocalStack]:
    with fake_upstream() as upstream_url:
        with LocalStack(StackSettings(
            stream_timeout_seconds=STREAM_TIMEOUT_SECONDS,
            keepalive_seconds=1,
            proxy_env={"AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": upstream_url},
        )) as stack:
            yield stack


def test_a_slow_reader_gets_stream_timeout_at_the_limit(slow_client_stack: LocalStack) -> None:
    parts = urllib.parse.urlsplit(slow_client_stack.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    prompt = f"[[bytes:{ANSWER_BYTES}]] [[piece-size:65536]]"
    started = time.monotonic()
    connection.request("POST", "/invoke", body=json.dumps({"prompt": prompt}), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    received = 0
    tail = b""
    try:
        while True:
            chunk = response.read1(READ_SIZE)
            if not chunk:
                break
            received += len(chunk)
            tail = (tail + chunk)[-4096:]
            assert time.monotonic() - started < GIVE_UP_SECONDS, (
                f"the stream was still running after {GIVE_UP_SECONDS:g} s ({received} bytes read)"
            )
            time.sleep(READ_PAUSE_SECONDS)
    finally:
        connection.close()
    assert received < ANSWER_BYTES, "the whole answer arrived: the limit never struck"
    assert b"event: error" in tail and b'"STREAM_TIMEOUT"' in tail, tail[-300:]
