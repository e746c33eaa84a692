"""python -m bench [--only PART,...] [--quick] [--runs N]

Runs the benchmarks on loopback and prints one table: each figure is the median of several runs
(alternating between the things it compares) with their min..max, and each target is printed beside
its figure, marked PASS or MISS (a miss never fails the run). Parts: proxy (the proxy alone against a
fake upstream: every target), latency, throughput and concurrency (the whole local stack), cold-start.

Only a full run (every part, full sizes, at least the default number of runs) replaces the committed
results: bench/results/latest.md and the table in docs/performance.md. A --quick or --only run writes
.build/bench/<kind>.md instead, so a smoke run never overwrites published figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import anchor, cold_start, concurrency, latency, proxy_alone, throughput
from bench.fake_stack import stack_with_fake_upstream
from bench.report import Figure, render_report, update_readme, write_report
from local.stack import REPO_ROOT, LocalStack, StackSettings

PARTS = ("proxy", "latency", "throughput", "concurrency", "cold-start")
RESULTS = REPO_ROOT / "bench" / "results" / "latest.md"
# The page whose results block a full run rewrites (the README links to it).
RESULTS_PAGE = REPO_ROOT / "docs" / "performance.md"
SCRATCH = REPO_ROOT / ".build" / "bench"
DEFAULT_RUNS = 5


@dataclass(frozen=True)
class Sizes:
    token_events: int  # one stream of tokens 1 ms apart
    burst_events: int
    large_answer_bytes: int
    stall_seconds: float
    first_token_pairs: int
    warm_streams: int
    cap: int  # the proxy's PROXY_MAX_CONCURRENT_STREAMS
    cap_hold_seconds: float
    latency_pieces: int
    latency_delay_ms: int
    small_events: int
    concurrent_streams: tuple[int, ...]
    import_runs: int


FULL = Sizes(3000, 20_000, 100_000_000, 3.0, 20, 20, 256, 3.0, 200, 5, 10_000, (50, 200), 5)
QUICK = Sizes(300, 2_000, 5_000_000, 0.5, 3, 3, 16, 1.0, 50, 5, 1_000, (10,), 2)


def parse_parts(raw: str) -> list[str]:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [part for part in parts if part not in PARTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    return parts


def uvloop_installed() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def measure_proxy_alone(sizes: Sizes, runs: int, progress: Callable[[str], None]) -> list[Figure]:
    figures: list[Figure] = []
    cap_env = {"PROXY_MAX_CONCURRENT_STREAMS": str(sizes.cap)}
    # uvicorn reads UVICORN_LOOP; run.sh leaves the loop on "auto" (uvloop, which the proxy ships)
    # and the comparison forces asyncio's own loop. Both use h11 (run.sh says why).
    variants = {"asyncio + h11": {"UVICORN_LOOP": "asyncio"}}
    if uvloop_installed():
        variants = {"uvloop + h11 (deployed)": {}, **variants}
    with stack_with_fake_upstream(cap_env) as (main_stack, upstream_url), anchor.running(upstream_url) as (anchor_url, anchor_pid):
        main = proxy_alone.FakeProxy.of_stack(next(iter(variants)), main_stack, upstream_url)
        node = proxy_alone.FakeProxy(anchor.LABEL, anchor_url, anchor_pid, upstream_url)
        proxies = [main]
        with ExtraProxies(variants, upstream_url, cap_env) as others:
            proxies += others
            progress(f"proxy alone: CPU per event ({', '.join(proxy.label for proxy in [*proxies, node])})")
            for proxy in [*proxies, node]:
                proxy.read("warm-up [[pieces:50]]")
            figures += proxy_alone.measure_cpu(proxies, node, runs, sizes.burst_events, sizes.token_events)
        progress("proxy alone: time to first token, per-event delay, connections")
        figures += proxy_alone.measure_first_token(main, node, runs, sizes.first_token_pairs)
        figures += proxy_alone.measure_event_delay(main, node, runs, sizes.token_events)
        figures += proxy_alone.measure_connections(main, runs, sizes.warm_streams)
        progress("proxy alone: large answer and memory (fast and stalled reader)")
        figures += proxy_alone.measure_large_answer(main, runs, sizes.large_answer_bytes)
        figures += proxy_alone.measure_memory(main, runs, sizes.large_answer_bytes, sizes.stall_seconds)
        progress(f"proxy alone: {sizes.cap + 1} requests against the cap of {sizes.cap}")
        figures += proxy_alone.measure_cap(main, runs, sizes.cap, sizes.cap_hold_seconds)
    return figures


class ExtraProxies:
    """Extra proxies in front of the same fake upstream, one per server variant after the first."""

    def __init__(self, variants: dict[str, dict[str, str]], upstream_url: str, env: dict[str, str]) -> None:
        self.variants = list(variants.items())[1:]
        self.upstream_url = upstream_url
        self.env = env
        self.stacks: list[LocalStack] = []

    def __enter__(self) -> list[proxy_alone.FakeProxy]:
        proxies = []
        for label, env in self.variants:
            stack = LocalStack(StackSettings(proxy_env={"AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": self.upstream_url, **self.env, **env}))
            self.stacks.append(stack.start())
            proxies.append(proxy_alone.FakeProxy.of_stack(label, stack, self.upstream_url))
        return proxies

    def __exit__(self, *exc: object) -> None:
        for stack in self.stacks:
            stack.stop()


def run(parts: list[str], sizes: Sizes, runs: int, progress: Callable[[str], None]) -> list[Figure]:
    figures: list[Figure] = []
    if "proxy" in parts:
        figures += measure_proxy_alone(sizes, runs, progress)
    if any(part in parts for part in ("latency", "throughput", "concurrency")):
        with LocalStack() as stack:
            if "latency" in parts:
                progress("full stack: latency, agent direct vs proxied")
                figures += latency.measure(stack, runs, sizes.latency_pieces, sizes.latency_delay_ms)
            if "throughput" in parts:
                progress("full stack: small events per second, agent alone vs proxied")
                figures += throughput.measure_small_events(throughput.paths(stack), sizes.small_events, runs)
            if "concurrency" in parts:
                progress(f"full stack: {' and '.join(map(str, sizes.concurrent_streams))} simultaneous streams")
                figures += concurrency.measure(stack.url, sizes.concurrent_streams, runs)
    if "cold-start" in parts:
        progress(f"cold start: the zips as shipped, with and without their .pyc, interleaved with the {anchor.LABEL}'s (the first zip build needs PyPI)")
        figures += cold_start.measure_as_shipped(max(runs, sizes.import_runs))
        figures += cold_start.measure_zips()
    return figures


# What a reader needs to read the table right; printed only for the parts that ran.
PART_NOTES = {
    "proxy": "Proxy alone: the proxy (uvicorn, run.sh) in front of bench/fake_upstream.py, which costs next to "
    "nothing, so these rows are the proxy's own cost and carry the targets. CPU per event is the proxy "
    "process's CPU time (every thread, user + system) over one stream divided by its events, from the "
    "kernel's exact run time of each thread (/proc/PID/task/*/schedstat; the 10 ms clock ticks of "
    "/proc/PID/stat only when a thread ended during the stream), the anchor's the same way; it includes "
    "opening and closing the stream. The per-event "
    "delay is paired per event: the fake writes its write time into each token and the client subtracts it "
    "from that event's arrival, so it covers two loopback hops, the proxy and the client's parsing (read "
    "directly from the fake, one hop and the parsing, for comparison). Time to first token is the first "
    "delta through the proxy minus straight from the fake, paired request by request. The Node anchor "
    "(bench/node_anchor: the seed's design, AWS SDK v3 InvokeAgentRuntimeCommand behind Node's http server, "
    "the same SSE events) runs in front of the same fake in the same runs, interleaved with the proxy; "
    "a ratio row is the median of the rounds' ratios (ours / the anchor's, round by round) with their "
    "min..max, then each side's own figures.",
    "latency": "Full stack: proxy + AgentCore stand-in (an httpx relay) + the agent (bedrock-agentcore + "
    "Strands + the offline model), all on this machine. Their figures show what the local stand-in and "
    "Strands cost, not the proxy: the stand-in roughly doubles the hops, and Strands appends each delta "
    "to the answer so far (state[\"text\"] += delta in strands/event_loop/streaming.py), which grows "
    "with the answer. The per-piece delay pairs each piece with the moment the offline model produced it "
    "(its trace file, same CLOCK_MONOTONIC).",
    "concurrency": "Concurrency: the local agent is one process for all sessions, and bedrock-agentcore "
    "bridges each stream through a worker thread from anyio's default pool of 40, so beyond 40 streams "
    "they queue inside the local agent (first-event times grow); on AgentCore every session has its own "
    "microVM. The proxy's own cap is the 'requests against the cap' row.",
    "cold-start": "Cold start as shipped: each run extracts the built zip into a fresh read-only folder (as "
    "Lambda's /var/task) and starts it with Python 3.13: the proxy by its run.sh until /_ready answers, the "
    "agent by importing its app; with the zip's .pyc and without them, alternating. On a machine that is not "
    "arm64 the zips are built by the same packager with this machine's wheels: read the figures as this "
    "machine's, not Lambda's init time.",
}


def output_for(arguments: argparse.Namespace) -> Path:
    """Where this run's report goes: only a full run may replace the committed results."""
    if arguments.quick:
        return SCRATCH / "quick.md"
    if set(arguments.only) != set(PARTS) or arguments.runs < DEFAULT_RUNS:
        return SCRATCH / "partial.md"
    return RESULTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--only", type=parse_parts, default=list(PARTS), help=f"comma-separated: {','.join(PARTS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes and 2 runs: a smoke run, not figures to publish")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="runs per figure (default %(default)s)")
    arguments = parser.parse_args(argv)
    runs = 2 if arguments.quick else arguments.runs
    started = time.monotonic()
    figures = run(arguments.only, QUICK if arguments.quick else FULL, runs, lambda line: print(f"... {line}", flush=True))
    command = "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    notes = [PART_NOTES[part] for part in arguments.only if part in PART_NOTES]
    notes.append(f"Run took {time.monotonic() - started:.0f} s." + (" Quick sizes: smoke run only." if arguments.quick else ""))
    report = render_report(figures, notes, command.strip())
    print(report)
    output = output_for(arguments)
    write_report(output, report)
    if output == RESULTS:
        update_readme(RESULTS_PAGE, report)
        print(f"written to {output} and the Performance table of {RESULTS_PAGE.relative_to(REPO_ROOT)}")
    else:
        print(f"written to {output} (a partial or quick run never replaces {RESULTS.relative_to(REPO_ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
