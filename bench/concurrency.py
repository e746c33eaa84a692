"""Concurrency: many simultaneous streams through the local stack, each checked for exactly its own text.

Each stream has a unique prompt, and the offline model's answer quotes the prompt, so a stream that
carried another stream's piece, lost a piece or ended early does not match its expected answer.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.report import Figure
from bench.stats import median
from client import InvokeError, StreamBrokenError, stream_invoke

# Slow enough that every stream is still open when the last one starts.
PIECE_DELAY_MS = 50
STREAM_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class StreamOutcome:
    ok: bool
    seconds: float
    problem: str = ""
    # When its start and its last event arrived (monotonic); None if it never started.
    open_interval: tuple[float, float] | None = None


def peak_open(intervals: list[tuple[float, float]]) -> int:
    """The most streams that were open at one moment, from when their first and last events arrived."""
    changes = sorted([(opened, 1) for opened, _ in intervals] + [(closed, -1) for _, closed in intervals])
    open_now = peak = 0
    for _, change in changes:
        open_now += change
        peak = max(peak, open_now)
    return peak


def expected_answer(text: str) -> str:
    return f'Offline model, turn 1. You said: "{text}".'


def one_stream(url: str, index: int, start_together: threading.Barrier) -> StreamOutcome:
    marker = f"stream-{index}-{uuid.uuid4().hex}"
    start_together.wait()
    started = time.monotonic()
    names: list[str] = []
    text: list[str] = []
    session_ids: set[str] = set()
    first_at = last_at = 0.0
    try:
        for event in stream_invoke(url, f"{marker} [[delay-ms:{PIECE_DELAY_MS}]]", timeout=STREAM_TIMEOUT_SECONDS):
            first_at = first_at or event.received_at
            last_at = event.received_at
            names.append(event.name)
            if event.name == "delta" and event.data is not None:
                text.append(event.data["text"])
            if event.name in ("start", "done") and event.data is not None:
                session_ids.add(str(event.data.get("sessionId")))
    except (InvokeError, StreamBrokenError, OSError) as error:
        return StreamOutcome(False, time.monotonic() - started, f"{type(error).__name__}: {error}")
    seconds = time.monotonic() - started
    if not names or names[0] != "start" or names[-1] != "done":
        return StreamOutcome(False, seconds, f"events {names[:2]}...{names[-2:]}")
    if "".join(text) != expected_answer(marker):
        return StreamOutcome(False, seconds, "text differs from its own prompt's answer")
    if len(session_ids) != 1:
        return StreamOutcome(False, seconds, f"start and done name different sessions: {session_ids}")
    return StreamOutcome(True, seconds, open_interval=(first_at, last_at))


def run_streams(url: str, count: int) -> tuple[list[StreamOutcome], float]:
    """Start `count` streams at the same moment; return each outcome and the wall time of all."""
    start_together = threading.Barrier(count + 1)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(one_stream, url, index, start_together) for index in range(count)]
        start_together.wait()
        started = time.monotonic()
        outcomes = [future.result() for future in futures]
        wall = time.monotonic() - started
    return outcomes, wall


def measure(url: str, count: int) -> list[Figure]:
    outcomes, wall = run_streams(url, count)
    succeeded = sum(outcome.ok for outcome in outcomes)
    problems = sorted({outcome.problem for outcome in outcomes if not outcome.ok})
    durations = [outcome.seconds for outcome in outcomes]
    intervals = [outcome.open_interval for outcome in outcomes if outcome.open_interval is not None]
    value = (
        f"{succeeded}/{count} complete with exactly their own text; up to {peak_open(intervals)} open at once; "
        f"wall {wall:.2f} s, stream median {median(durations):.2f} s, slowest {max(durations):.2f} s"
    )
    if problems:
        value += f"; problems: {'; '.join(problems[:3])}"
    return [Figure("concurrency", f"{count} simultaneous streams", value, "all complete, none mixed", succeeded == count)]
