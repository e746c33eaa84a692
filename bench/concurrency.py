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
from bench.stats import alternate, median, percentile, spread
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
    ttfb: float = 0.0  # seconds from sending the request to its first event
    # Seconds between consecutive deltas beyond the model's own PIECE_DELAY_MS.
    extra_gaps: tuple[float, ...] = ()


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
    delta_times: list[float] = []
    try:
        for event in stream_invoke(url, f"{marker} [[delay-ms:{PIECE_DELAY_MS}]]", timeout=STREAM_TIMEOUT_SECONDS):
            first_at = first_at or event.received_at
            last_at = event.received_at
            names.append(event.name)
            if event.name == "delta" and event.data is not None:
                text.append(event.data["text"])
                delta_times.append(event.received_at)
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
    gaps = tuple(later - earlier - PIECE_DELAY_MS / 1000 for earlier, later in zip(delta_times, delta_times[1:]))
    return StreamOutcome(True, seconds, open_interval=(first_at, last_at), ttfb=first_at - started, extra_gaps=gaps)


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


def measure(url: str, counts: tuple[int, ...], runs: int) -> list[Figure]:
    results = alternate({str(count): (lambda c=count: run_streams(url, c)) for count in counts}, runs)
    figures = []
    for count in counts:
        count_runs = results[str(count)]
        complete = [sum(outcome.ok for outcome in outcomes) for outcomes, _ in count_runs]
        problems = sorted({outcome.problem for outcomes, _ in count_runs for outcome in outcomes if not outcome.ok})
        ttfb_p50 = [median([o.ttfb for o in outcomes if o.ok]) * 1000 for outcomes, _ in count_runs]
        ttfb_p99 = [percentile([o.ttfb for o in outcomes if o.ok], 0.99) * 1000 for outcomes, _ in count_runs]
        gap_p99 = [
            percentile([gap for o in outcomes if o.ok for gap in o.extra_gaps], 0.99) * 1000 for outcomes, _ in count_runs
        ]
        peak = [peak_open([o.open_interval for o in outcomes if o.open_interval is not None]) for outcomes, _ in count_runs]
        value = (
            f"complete with exactly their own text {'/'.join(map(str, complete))}; up to {min(peak)}..{max(peak)} open at once; "
            f"first event p50 {spread(ttfb_p50, lambda v: f'{v:.0f} ms')}, p99 {spread(ttfb_p99, lambda v: f'{v:.0f} ms')}; "
            f"gap beyond the model's {PIECE_DELAY_MS} ms, p99 {spread(gap_p99, lambda v: f'{v:.1f} ms')}"
        )
        if problems:
            value += f"; problems: {'; '.join(problems[:3])}"
        figures.append(
            Figure(
                "full stack",
                f"{count} simultaneous streams",
                value,
                "all complete, none mixed",
                all(done == count for done in complete),
            )
        )
    return figures
