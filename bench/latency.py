"""Added latency: the same offline-model stream read from the agent directly and through the stack.

Per-event delay is measured against the moment the agent produced each piece: the offline model
appends {"t": time.monotonic(), "index": i} to its trace file per piece, and on Linux
time.monotonic() is one system-wide clock (CLOCK_MONOTONIC), so the agent's times and ours compare
directly. delay = our receive time - production time; the path adds proxied delay - direct delay.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.report import Figure
from bench.stats import percentile, spread
from bench.timed_stream import TimedStream, read_from_agent, read_from_proxy
from local.stack import LocalStack

def trace_size(trace_file: str) -> int:
    path = Path(trace_file)
    return path.stat().st_size if path.exists() else 0


def production_times(trace_file: str, offset: int) -> dict[int, float]:
    """piece index -> production time, for the trace lines written after `offset`."""
    with open(trace_file, "rb") as trace:
        trace.seek(offset)
        lines = trace.read().splitlines()
    times = {}
    for line in lines:
        record = json.loads(line)
        times[record["index"]] = record["t"]
    return times


def event_delays(stream: TimedStream, produced: dict[int, float]) -> list[float]:
    # [[pieces:N]] makes piece i the text "w{i} ", so each delta names its own piece.
    return [received_at - produced[int(text.strip()[1:])] for received_at, text in stream.deltas]


def measure(stack: LocalStack, rounds: int, pieces: int, delay_ms: int) -> list[Figure]:
    """Informative: the whole local path, whose stand-in and agent cost more than the proxy does."""
    readers = {
        "direct": lambda prompt: read_from_agent(stack.agent_url, prompt),
        "proxied": lambda prompt: read_from_proxy(stack.url, prompt),
    }
    for reader in readers.values():  # warm-up: first-call costs (imports, connection pools) excluded
        reader("warm-up [[pieces:5]] [[delay-ms:0]]")
    # Per run: TTFB, first delta, and the p50 / p99 of that run's per-piece delays.
    runs: dict[str, list[tuple[float, float, float, float]]] = {"direct": [], "proxied": []}
    for round_number in range(rounds):
        # Alternate which path goes first, so a slow drift of the machine does not favour one.
        order = ("direct", "proxied") if round_number % 2 == 0 else ("proxied", "direct")
        for path in order:
            offset = trace_size(stack.trace_file)
            stream = readers[path](f"latency round {round_number} [[pieces:{pieces}]] [[delay-ms:{delay_ms}]]")
            if stream.terminal != "done" or len(stream.deltas) != pieces:
                raise RuntimeError(f"{path} stream ended with {stream.terminal!r} after {len(stream.deltas)} deltas")
            delays = event_delays(stream, production_times(stack.trace_file, offset))
            runs[path].append(
                (stream.ttfb, stream.first_delta or 0.0, percentile(delays, 0.5), percentile(delays, 0.99))
            )
    figures = []
    labels = (
        "time to first byte",
        "time to first delta",
        f"per-piece delay after the model produced it, p50 ({pieces} pieces/run)",
        f"per-piece delay after the model produced it, p99 ({pieces} pieces/run)",
    )
    for index, label in enumerate(labels):
        direct = [run[index] for run in runs["direct"]]
        proxied = [run[index] for run in runs["proxied"]]
        show = lambda seconds: f"{seconds * 1000:.2f} ms"  # noqa: E731
        figures.append(
            Figure(
                "full stack",
                f"{label}: agent direct vs proxy + stand-in + agent",
                f"direct {spread(direct, show)}; proxied {spread(proxied, show)}",
            )
        )
    return figures
