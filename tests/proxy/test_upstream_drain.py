"""StreamLease.drain(): a body that ends gives its connection back to the pool; one that never ends is cut."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from streaming_proxy import app
from streaming_proxy.app import StreamSlots
from tests.support.fake_agentcore import FakeAgentCore, sse_answer

DONE_FRAME = b'data: {"type": "done"}\n\n'


@pytest.fixture
def short_drain(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    monkeypatch.setattr(app, "DRAIN_SECONDS", 0.3)
    yield 0.3


def open_and_drain(agentcore: FakeAgentCore) -> tuple[float, bool, bool]:
    """Seconds drain() took, whether the connection was closed, and whether it is in the pool."""

    async def relay() -> tuple[float, bool, bool]:
        response = await agentcore.open_stream("s" * 40, "hello", "turn-1")
        assert await response.read() == DONE_FRAME
        lease = StreamSlots(1).acquire()
        assert lease.adopt(response)
        started = time.monotonic()
        await lease.drain()
        waited = time.monotonic() - started
        lease.release()
        await asyncio.sleep(0.05)  # the closed transport's callbacks
        [served] = agentcore.served
        return waited, served.connection.lost, served.connection in agentcore.pool._idle

    return asyncio.run(relay())


def test_a_body_that_never_ends_is_cut_after_the_drain_time(short_drain: float) -> None:
    waited, closed, pooled = open_and_drain(FakeAgentCore(sse_answer(DONE_FRAME, end=False)))
    assert short_drain <= waited < short_drain + 2
    assert closed and not pooled, "the proxy left the upstream connection open"


def test_a_body_that_ends_keeps_its_connection_open(short_drain: float) -> None:
    waited, closed, pooled = open_and_drain(FakeAgentCore(sse_answer(DONE_FRAME)))
    assert waited < short_drain
    # Back in the pool, not closed.
    assert pooled and not closed
