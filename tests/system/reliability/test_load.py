"""Load: many simultaneous streams through the local stack, none lost, none mixed with another."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.concurrency import peak_open, run_streams
from local.stack import LocalStack

STREAMS = 50


@pytest.fixture(scope="module")
def load_stack() -> Iterator[LocalStack]:
    with LocalStack() as stack:
        yield stack


def test_simultaneous_streams_each_carry_exactly_their_own_text(load_stack: LocalStack) -> None:
    outcomes, wall = run_streams(load_stack.url, STREAMS)
    failures = [outcome.problem for outcome in outcomes if not outcome.ok]
    assert not failures, failures[:5]
    intervals = [outcome.open_interval for outcome in outcomes if outcome.open_interval is not None]
    # Proof that they really overlapped (each lasts ~0.5 s and all start at one barrier).
    assert peak_open(intervals) >= STREAMS // 2
    assert wall < 60
