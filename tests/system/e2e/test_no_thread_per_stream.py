"""The proxy reads AgentCore on the event loop: streams in flight add no threads to its process.

Before: boto3 is synchronous, so every stream had a reader thread (and its opening a worker thread).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from client import stream_invoke
from local.stack import LocalStack, StackSettings

STREAMS = 8


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(offline_delay_ms=40)) as running:
        yield running


def proxy_threads(stack: LocalStack) -> int:
    return len(os.listdir(f"/proc/{stack.components['proxy'].process.pid}/task"))


def test_streams_in_flight_add_no_threads_to_the_proxy(stack: LocalStack) -> None:
    names = [event.name for event in stream_invoke(stack.url, "[[pieces:3]] warm up", timeout=30)]
    assert names[-1] == "done"
    idle = proxy_threads(stack)
    first_deltas = threading.Barrier(STREAMS + 1)
    results: list[str] = []

    def one_stream() -> None:
        seen_delta = False
        for event in stream_invoke(stack.url, "[[pieces:60]] a slow answer", timeout=60):
            if event.name == "delta" and not seen_delta:
                seen_delta = True
                first_deltas.wait(30)
            last = event.name
        results.append(last)

    workers = [threading.Thread(target=one_stream) for _ in range(STREAMS)]
    for worker in workers:
        worker.start()
    first_deltas.wait(30)  # every stream is relaying now
    in_flight = [proxy_threads(stack) for _ in range(5) if not time.sleep(0.05)]
    for worker in workers:
        worker.join(60)
    assert results == ["done"] * STREAMS
    assert max(in_flight) <= idle, f"{idle} threads idle, {in_flight} with {STREAMS} streams in flight"
