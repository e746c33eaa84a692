"""Added latency: the same offline-model stream read from the agent directly and through the stack.

Per-event delay is measured against the moment the agent produced each piece: the offline model
appends {"t": time.monotonic(), "index": i} to its trace file per piece, and on Linux
time.monotonic() is one system-wide clock (CLOCK_MONOTONIC), so the agent's times and ours compare
directly. delay = our receive time - production time; the path adds proxied delay - direct delay.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench.report import Figure
from bench.stats import median, ms, percentile, ratio
from bench.timed_stream import TimedStream, read_from_agent, read_from_proxy
from local.stack import LocalStack

P50_TARGET_SECONDS = 0.002
P99_TARGET_SECONDS = 0.010


@dataclass
class PathSamples:
    ttfb: list[float]
    first_delta: list[float]
    delays: list[float]


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
    samples = {"direct": PathSamples([], [], []), "proxied": PathSamples([], [], [])}
    readers = {
        "direct": lambda prompt: read_from_agent(stack.agent_url, prompt),
        "proxied": lambda prompt: read_from_proxy(stack.url, prompt),
    }
    for reader in readers.values():  # warm-up: first-call costs (imports, connection pools) excluded
        reader("warm-up [[pieces:5]] [[delay-ms:0]]")
    for round_number in range(rounds):
        # Alternate which path goes first, so a slow drift of the machine does not favour one.
        order = ("direct", "proxied") if round_number % 2 == 0 else ("proxied", "direct")
        for path in order:
            offset = trace_size(stack.trace_file)
            stream = readers[path](f"latency round {round_number} [[pieces:{pieces}]] [[delay-ms:{delay_ms}]]")
            if stream.terminal != "done" or len(stream.deltas) != pieces:
                raise RuntimeError(f"{path} stream ended with {stream.terminal!r} after {len(stream.deltas)} deltas")
            produced = production_times(stack.trace_file, offset)
            samples[path].ttfb.append(stream.ttfb)
            samples[path].first_delta.append(stream.first_delta or 0.0)
            samples[path].delays.extend(event_delays(stream, produced))

    direct, proxied = samples["direct"], samples["proxied"]
    figures = []
    for name, direct_values, proxied_values in (
        ("time to first byte (median)", direct.ttfb, proxied.ttfb),
        ("time to first delta (median)", direct.first_delta, proxied.first_delta),
    ):
        d, p = median(direct_values), median(proxied_values)
        figures.append(Figure("latency", name, f"direct {ms(d)}, proxied {ms(p)}: +{ms(p - d)} ({ratio(p, d)})"))
    for label, fraction, target in (("p50", 0.5, P50_TARGET_SECONDS), ("p99", 0.99, P99_TARGET_SECONDS)):
        d, p = percentile(direct.delays, fraction), percentile(proxied.delays, fraction)
        added = p - d
        figures.append(
            Figure(
                "latency",
                f"per-event delay added, {label} ({len(proxied.delays)} events)",
                f"+{ms(added)} (direct {ms(d)}, proxied {ms(p)}, {ratio(p, d)})",
                f"< {ms(target)}",
                added < target,
            )
        )
    return figures
