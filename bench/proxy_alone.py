"""The proxy on its own: every figure with a target, measured against bench.fake_upstream.

The fake upstream writes pre-built frames (burst) or one frame per token, 1 ms apart, each carrying
the moment it was written (token at a time). It costs next to nothing, so what these figures show is
the proxy: its CPU per event, the delay it adds to each event, its time to first token, its memory
with a fast and a stalled reader, its upstream connections, and its cap on simultaneous streams.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.procfs import RssSampler, cpu_seconds, rss_bytes
from bench.report import Figure
from bench.stats import alternate, median, percentile, spread
from bench.timed_stream import TimedStream, read_from_agent, read_from_proxy
from local.stack import LocalStack

# Targets (README, Performance); figures are printed beside them, a miss never fails the run.
CPU_PER_TOKEN_TARGET_US = 40.0
FIRST_TOKEN_ADDED_TARGET_MS = 2.0
EVENT_DELAY_P50_TARGET_MS = 0.5
EVENT_DELAY_P99_TARGET_MS = 2.0
NEW_CONNECTIONS_TARGET = 0.0
MEMORY_GROWTH_TARGET_MIB = 5.0
MIB = 1024 * 1024
TOKEN_GAP_MS = 1


@dataclass(frozen=True)
class FakeProxy:
    """A proxy in front of the fake upstream, and how to reach both."""

    label: str
    stack: LocalStack
    upstream_url: str

    @property
    def pid(self) -> int:
        return self.stack.processes["proxy"].pid  # run.sh execs uvicorn: the same pid is the Python process

    def read(self, prompt: str, keep_text: bool = True) -> TimedStream:
        stream = read_from_proxy(self.stack.url, prompt, keep_text=keep_text)
        if stream.terminal != "done":
            raise RuntimeError(f"{self.label}: stream ended with {stream.terminal!r} (HTTP {stream.status})")
        return stream

    def upstream_connections(self) -> int:
        """How many connections have carried an invocation to the fake upstream so far."""
        parts = urllib.parse.urlsplit(self.upstream_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            connection.request("GET", "/_fake/connections")
            return int(json.loads(connection.getresponse().read())["invoking"])
        finally:
            connection.close()


def written_at(text: str) -> float:
    return float(text)


def cpu_per_event(proxy: FakeProxy, prompt: str, events: int) -> float:
    """Microseconds of proxy CPU (all threads, user + system) per event of one stream."""
    before = cpu_seconds(proxy.pid)
    stream = proxy.read(prompt, keep_text=False)
    used = cpu_seconds(proxy.pid) - before
    if len(stream.deltas) != events:
        raise RuntimeError(f"{proxy.label}: {len(stream.deltas)} events arrived, not {events}")
    return used / events * 1e6


def measure_cpu(proxies: list[FakeProxy], runs: int, burst_events: int, token_events: int) -> list[Figure]:
    figures = []
    scenarios = (
        ("tokens one at a time, 1 ms apart", f"[[pieces:{token_events}]] [[gap-ms:{TOKEN_GAP_MS}]]", token_events),
        ("burst (frames back to back)", f"[[pieces:{burst_events}]]", burst_events),
    )
    for label, prompt, events in scenarios:
        results = alternate({proxy.label: (lambda p=proxy: cpu_per_event(p, prompt, events)) for proxy in proxies}, runs)
        for proxy in proxies:
            has_target = label.startswith("tokens")
            value = median(results[proxy.label])
            figures.append(
                Figure(
                    "proxy alone",
                    f"proxy CPU per event, {label}, {proxy.label} ({events} events/run)",
                    spread(results[proxy.label], lambda us: f"{us:.1f} µs"),
                    f"<= {CPU_PER_TOKEN_TARGET_US:.0f} µs" if has_target else "",
                    value <= CPU_PER_TOKEN_TARGET_US if has_target else None,
                )
            )
    return figures


def measure_event_delay(proxy: FakeProxy, runs: int, events: int) -> list[Figure]:
    """Each event's own delay: the client's receive time minus the fake's write time of that frame."""
    prompt = f"[[pieces:{events}]] [[gap-ms:{TOKEN_GAP_MS}]]"

    def delays(read: Callable[[], TimedStream]) -> tuple[float, float]:
        stream = read()
        values = [received - written_at(text) for received, text in stream.deltas]
        return percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000

    results = alternate(
        {
            "proxied": lambda: delays(lambda: proxy.read(prompt)),
            "direct": lambda: delays(lambda: read_from_agent(proxy.upstream_url, prompt)),
        },
        runs,
    )
    figures = []
    for index, (label, target) in enumerate((("p50", EVENT_DELAY_P50_TARGET_MS), ("p99", EVENT_DELAY_P99_TARGET_MS))):
        proxied = [run[index] for run in results["proxied"]]
        direct = [run[index] for run in results["direct"]]
        figures.append(
            Figure(
                "proxy alone",
                f"per-event delay through the proxy, {label} of each run ({events} events/run, paired per event)",
                f"{spread(proxied, lambda v: f'{v:.2f} ms')}; read directly from the upstream {median(direct):.2f} ms",
                f"<= {target:.1f} ms",
                median(proxied) <= target,
            )
        )
    return figures


def measure_first_token(proxy: FakeProxy, runs: int, pairs: int) -> list[Figure]:
    """Time to the first delta through the proxy minus straight from the upstream, paired request by request."""
    prompt = "[[pieces:1]]"

    def one_run() -> tuple[float, float]:
        first_delta, headers = [], []
        for _ in range(pairs):
            direct = read_from_agent(proxy.upstream_url, prompt)
            proxied = proxy.read(prompt)
            assert direct.first_delta is not None and proxied.first_delta is not None
            first_delta.append((proxied.first_delta - direct.first_delta) * 1000)
            headers.append((proxied.ttfb - direct.ttfb) * 1000)
        return median(first_delta), median(headers)

    proxy.read(prompt)
    results = [one_run() for _ in range(runs)]
    added_first_delta = [run[0] for run in results]
    added_headers = [run[1] for run in results]
    return [
        Figure(
            "proxy alone",
            f"time to first token added by the proxy, median of {pairs} paired requests per run",
            spread(added_first_delta, lambda v: f"+{v:.2f} ms"),
            f"<= {FIRST_TOKEN_ADDED_TARGET_MS:.0f} ms",
            median(added_first_delta) <= FIRST_TOKEN_ADDED_TARGET_MS,
        ),
        Figure(
            "proxy alone",
            "time to response headers (first byte) added by the proxy, same requests",
            spread(added_headers, lambda v: f"+{v:.2f} ms"),
        ),
    ]


def measure_connections(proxy: FakeProxy, runs: int, streams: int) -> list[Figure]:
    proxy.read("[[pieces:5]]")  # the first stream opens the connection

    def one_run() -> float:
        before = proxy.upstream_connections()
        for _ in range(streams):
            proxy.read("[[pieces:20]]")
        return (proxy.upstream_connections() - before) / streams

    values = [one_run() for _ in range(runs)]
    return [
        Figure(
            "proxy alone",
            f"new upstream connections per warm stream ({streams} sequential streams/run)",
            spread(values, lambda v: f"{v:.2f}"),
            f"{NEW_CONNECTIONS_TARGET:.0f}",
            median(values) <= NEW_CONNECTIONS_TARGET,
        )
    ]


def measure_large_answer(proxy: FakeProxy, runs: int, total_bytes: int, piece_size: int = 65536) -> list[Figure]:
    prompt = f"[[bytes:{total_bytes}]] [[piece-size:{piece_size}]]"

    def one_run() -> float:
        stream = proxy.read(prompt, keep_text=False)
        if stream.delta_bytes != total_bytes:
            raise RuntimeError(f"{stream.delta_bytes} bytes of text arrived, not {total_bytes}")
        return total_bytes / 1e6 / (stream.finished_at - stream.sent_at)

    values = [one_run() for _ in range(runs)]
    return [
        Figure(
            "proxy alone",
            f"MB/s, {total_bytes / 1e6:.0f} MB answer in {piece_size // 1024} KiB pieces",
            spread(values, lambda v: f"{v:,.1f} MB/s"),
        )
    ]


def read_with_stall(url: str, prompt: str, stall_after_bytes: int, stall_seconds: float) -> int:
    """Read a stream, stop reading for stall_seconds once stall_after_bytes arrived, then read the rest."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    try:
        connection.request("POST", "/invoke", body=json.dumps({"prompt": prompt}), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        received, stalled = 0, False
        while chunk := response.read1(65536):
            received += len(chunk)
            if not stalled and received >= stall_after_bytes:
                stalled = True
                time.sleep(stall_seconds)
        return received
    finally:
        connection.close()


def measure_memory(proxy: FakeProxy, runs: int, total_bytes: int, stall_seconds: float) -> list[Figure]:
    prompt = f"[[bytes:{total_bytes}]] [[piece-size:65536]]"
    proxy.read("[[pieces:20]]")

    def growth(read: Callable[[], object]) -> float:
        baseline = rss_bytes(proxy.pid)
        with RssSampler(proxy.pid) as sampler:
            read()
        return (sampler.peak - baseline) / MIB

    def stalled() -> None:
        received = read_with_stall(proxy.stack.url, prompt, 1_000_000, stall_seconds)
        if received < total_bytes:
            raise RuntimeError(f"stalled reader got {received} bytes, fewer than the {total_bytes} of text")

    results = alternate(
        {"fast": lambda: growth(lambda: proxy.read(prompt, keep_text=False)), "stalled": lambda: growth(stalled)}, runs
    )
    return [
        Figure(
            "proxy alone",
            f"proxy memory growth relaying {total_bytes / 1e6:.0f} MB, {name} reader"
            + (f" (stops {stall_seconds:.0f} s after the first MB)" if name == "stalled" else ""),
            spread(results[name], lambda v: f"{v:.1f} MiB"),
            f"< {MEMORY_GROWTH_TARGET_MIB:.0f} MiB",
            median(results[name]) < MEMORY_GROWTH_TARGET_MIB,
        )
        for name in ("fast", "stalled")
    ]


def post_status(url: str, prompt: str, start_together: threading.Barrier) -> tuple[int, float, str | None]:
    """Status, seconds to the response headers, and Retry-After of one request; reads the stream to its end."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        connection.connect()
        start_together.wait()
        sent = time.monotonic()
        connection.request("POST", "/invoke", body=json.dumps({"prompt": prompt}), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        headers_after = time.monotonic() - sent
        response.read()
        return response.status, headers_after, response.getheader("Retry-After")
    finally:
        connection.close()


def measure_cap(proxy: FakeProxy, runs: int, cap: int, hold_seconds: float) -> list[Figure]:
    """cap + 1 requests at once, each held open hold_seconds by the upstream: cap stream, one gets 429."""

    def one_run() -> tuple[int, int, bool, float]:
        start_together = threading.Barrier(cap + 1)
        with ThreadPoolExecutor(max_workers=cap + 1) as pool:
            futures = [
                pool.submit(post_status, proxy.stack.url, f"[[pause:{hold_seconds}]] [[pieces:2]]", start_together)
                for _ in range(cap + 1)
            ]
            outcomes = [future.result() for future in futures]
        streamed = [seconds for status, seconds, _ in outcomes if status == 200]
        refused = [retry for status, _, retry in outcomes if status == 429]
        return len(streamed), len(refused), all(refused), percentile(streamed, 0.99) * 1000 if streamed else 0.0

    results = [one_run() for _ in range(runs)]
    exact = all(streamed == cap and refused == 1 and has_retry for streamed, refused, has_retry, _ in results)
    return [
        Figure(
            "proxy alone",
            f"{cap + 1} requests at once against the cap of {cap} streams",
            f"streamed {'/'.join(str(run[0]) for run in results)}, refused with 429 + Retry-After "
            f"{'/'.join(str(run[1]) for run in results)}; headers p99 {spread([run[3] for run in results], lambda v: f'{v:.0f} ms')}",
            f"{cap} stream, 1 refused",
            exact,
        )
    ]
