"""The proxy on its own: every figure with a target, measured against bench.fake_upstream.

The fake upstream writes pre-built frames (burst) or one frame per token, 1 ms apart, each carrying
the moment it was written (token at a time). It costs next to nothing, so what these figures show is
the proxy: its CPU per event, the delay it adds to each event, its time to first token, its memory
with a fast and a stalled reader, its upstream connections, and its cap on simultaneous streams.
CPU per event and time to first token are measured for the Node anchor (bench/anchor.py) in the same
runs, interleaved, and their targets are ratios to it.
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

from bench.anchor import anchored_figure
from bench.procfs import RssSampler, cpu_reading, cpu_seconds_since, rss_bytes
from bench.report import Figure
from bench.stats import alternate, median, percentile, spread
from bench.timed_stream import TimedStream, read_from_agent, read_from_proxy
from local.stack import LocalStack

# Targets (README, Performance; issue #20): figures are printed beside them, a miss never fails the run.
CPU_PER_EVENT_TARGET_RATIO = 1.0  # x the Node anchor's, tokens 1 ms apart and burst alike
FIRST_TOKEN_ADDED_TARGET_RATIO = 1.0  # x the Node anchor's
EVENT_DELAY_P99_ADDED_TARGET_MS = 0.5  # p99 through the proxy minus p99 read directly, same run
NEW_CONNECTIONS_TARGET = 0.0
MEMORY_GROWTH_TARGET_MIB = 5.0
MIB = 1024 * 1024
TOKEN_GAP_MS = 1


@dataclass(frozen=True)
class FakeProxy:
    """A proxy in front of the fake upstream, and how to reach both."""

    label: str
    url: str
    pid: int  # the process whose CPU and memory are the proxy's
    upstream_url: str

    @classmethod
    def of_stack(cls, label: str, stack: LocalStack, upstream_url: str) -> FakeProxy:
        # run.sh execs uvicorn: the stack's proxy pid is the Python process.
        return cls(label, stack.url, stack.processes["proxy"].pid, upstream_url)

    def read(self, prompt: str, keep_text: bool = True) -> TimedStream:
        stream = read_from_proxy(self.url, prompt, keep_text=keep_text)
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
    before = cpu_reading(proxy.pid)
    stream = proxy.read(prompt, keep_text=False)
    used = cpu_seconds_since(proxy.pid, before)
    if len(stream.deltas) != events:
        raise RuntimeError(f"{proxy.label}: {len(stream.deltas)} events arrived, not {events}")
    return used / events * 1e6


def measure_cpu(proxies: list[FakeProxy], anchor: FakeProxy, runs: int, burst_events: int, token_events: int) -> list[Figure]:
    """CPU per event of every proxy and of the anchor, interleaved; the first proxy (the deployed
    variant) carries the target, as a ratio to the anchor run for run."""
    figures = []
    scenarios = (
        ("tokens one at a time, 1 ms apart", f"[[pieces:{token_events}]] [[gap-ms:{TOKEN_GAP_MS}]]", token_events),
        ("burst (frames back to back)", f"[[pieces:{burst_events}]]", burst_events),
    )
    show = lambda us: f"{us:.1f} µs"  # noqa: E731
    for label, prompt, events in scenarios:
        everyone = [*proxies, anchor]
        results = alternate({proxy.label: (lambda p=proxy: cpu_per_event(p, prompt, events)) for proxy in everyone}, runs)
        deployed = proxies[0]
        figures.append(
            anchored_figure(
                "proxy alone", f"proxy CPU per event, {label}, {deployed.label} ({events} events/run)",
                results[deployed.label], results[anchor.label], show, CPU_PER_EVENT_TARGET_RATIO,
            )
        )
        for proxy in proxies[1:]:
            figures.append(
                Figure("proxy alone", f"proxy CPU per event, {label}, {proxy.label} ({events} events/run)", spread(results[proxy.label], show))
            )
    return figures


def measure_event_delay(proxy: FakeProxy, anchor: FakeProxy, runs: int, events: int) -> list[Figure]:
    """Each event's own delay: the client's receive time minus the fake's write time of that frame.
    The target is on what the proxy adds: its p99 minus the p99 read directly, in the same round."""
    prompt = f"[[pieces:{events}]] [[gap-ms:{TOKEN_GAP_MS}]]"

    def delays(read: Callable[[], TimedStream]) -> tuple[float, float]:
        stream = read()
        values = [received - written_at(text) for received, text in stream.deltas]
        return percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000

    results = alternate(
        {
            "proxied": lambda: delays(lambda: proxy.read(prompt)),
            "anchor": lambda: delays(lambda: anchor.read(prompt)),
            "direct": lambda: delays(lambda: read_from_agent(proxy.upstream_url, prompt)),
        },
        runs,
    )

    def added(name: str, index: int) -> list[float]:
        return [through[index] - direct[index] for through, direct in zip(results[name], results["direct"])]

    def of(name: str, index: int) -> list[float]:
        return [run[index] for run in results[name]]

    show = lambda v: f"{v:.2f} ms"  # noqa: E731
    p50 = Figure(
        "proxy alone",
        f"per-event delay, p50 of each run ({events} events/run, paired per event)",
        f"through the proxy {spread(of('proxied', 0), show)}; {anchor.label} {median(of('anchor', 0)):.2f} ms; "
        f"read directly from the upstream {median(of('direct', 0)):.2f} ms",
    )
    p99_added = added("proxied", 1)
    p99 = Figure(
        "proxy alone",
        f"per-event delay p99 added by the proxy: p99 through it minus p99 read directly, same round ({events} events/run)",
        f"{spread(p99_added, lambda v: f'{v:+.2f} ms')} (p99 {median(of('proxied', 1)):.2f} ms, directly "
        f"{median(of('direct', 1)):.2f} ms); {anchor.label} adds {median(added('anchor', 1)):+.2f} ms",
        f"<= {EVENT_DELAY_P99_ADDED_TARGET_MS:.1f} ms",
        median(p99_added) <= EVENT_DELAY_P99_ADDED_TARGET_MS,
    )
    return [p50, p99]


def measure_first_token(proxy: FakeProxy, anchor: FakeProxy, runs: int, pairs: int) -> list[Figure]:
    """Time to the first delta through the proxy (and through the anchor) minus straight from the
    upstream, paired request by request; the two alternate which goes first after the direct read."""
    prompt = "[[pieces:1]]"
    names = (proxy.label, anchor.label)

    def one_run() -> dict[str, tuple[float, float]]:
        first_delta: dict[str, list[float]] = {name: [] for name in names}
        headers: dict[str, list[float]] = {name: [] for name in names}
        for pair in range(pairs):
            direct = read_from_agent(proxy.upstream_url, prompt)
            for through in (proxy, anchor) if pair % 2 == 0 else (anchor, proxy):
                stream = through.read(prompt)
                assert direct.first_delta is not None and stream.first_delta is not None
                first_delta[through.label].append((stream.first_delta - direct.first_delta) * 1000)
                headers[through.label].append((stream.ttfb - direct.ttfb) * 1000)
        return {name: (median(first_delta[name]), median(headers[name])) for name in names}

    proxy.read(prompt)
    anchor.read(prompt)
    results = [one_run() for _ in range(runs)]
    added = lambda name, index: [run[name][index] for run in results]  # noqa: E731
    show = lambda v: f"+{v:.2f} ms"  # noqa: E731
    return [
        anchored_figure(
            "proxy alone", f"time to first token added, median of {pairs} paired requests per run",
            added(proxy.label, 0), added(anchor.label, 0), show, FIRST_TOKEN_ADDED_TARGET_RATIO,
        ),
        Figure(
            "proxy alone",
            "time to response headers (first byte) added, same requests",
            f"proxy {spread(added(proxy.label, 1), show)}; {anchor.label} {spread(added(anchor.label, 1), show)}",
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
        received = read_with_stall(proxy.url, prompt, 1_000_000, stall_seconds)
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
                pool.submit(post_status, proxy.url, f"[[pause:{hold_seconds}]] [[pieces:2]]", start_together)
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
