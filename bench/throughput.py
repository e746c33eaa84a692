"""Throughput: small events per second and megabytes per second, on three paths.

agent alone (the agent's own /invocations), the full stack (proxy -> stand-in -> agent), and the
proxy alone (proxy -> bench.fake_upstream, which writes pre-built frames at full speed). Comparing
them says which part sets the pace. The proxy's CPU time during each run comes from /proc, so the
rate per proxy CPU-second shows what one core of proxy sustains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.procfs import cpu_seconds
from bench.report import Figure
from bench.timed_stream import TimedStream, read_from_agent, read_from_proxy
from local.stack import LocalStack

SMALL_EVENTS_TARGET_PER_SECOND = 5000


@dataclass(frozen=True)
class Path:
    label: str
    read: Callable[[str], TimedStream]
    # The processes on the path, by role; their CPU time shows which one sets the pace.
    pids: dict[str, int]

    @property
    def has_proxy(self) -> bool:
        return "proxy" in self.pids


@dataclass(frozen=True)
class Run:
    stream: TimedStream
    cpu: dict[str, float]  # CPU seconds each process on the path used during the run

    @property
    def seconds(self) -> float:
        return self.stream.finished_at - self.stream.sent_at


def run_once(path: Path, prompt: str) -> Run:
    before = {role: cpu_seconds(pid) for role, pid in path.pids.items()}
    stream = path.read(prompt)
    after = {role: cpu_seconds(pid) for role, pid in path.pids.items()}
    if stream.terminal != "done":
        raise RuntimeError(f"{path.label}: stream ended with {stream.terminal!r} (HTTP {stream.status})")
    return Run(stream, {role: after[role] - before[role] for role in path.pids})


def paths(stack: LocalStack, fake: LocalStack) -> list[Path]:
    pids = {role: process.pid for role, process in stack.processes.items()}
    return [
        Path("agent alone", lambda prompt: read_from_agent(stack.agent_url, prompt, keep_text=False), {"agent": pids["agent"]}),
        Path("proxy + stand-in + agent", lambda prompt: read_from_proxy(stack.url, prompt, keep_text=False), pids),
        Path(
            "proxy alone (fake upstream)",
            lambda prompt: read_from_proxy(fake.url, prompt, keep_text=False),
            {"proxy": fake.processes["proxy"].pid},
        ),
    ]


def cpu_note(run: Run, amount: float, unit: str) -> str:
    shares = ", ".join(f"{role} {seconds / run.seconds:.0%}" for role, seconds in run.cpu.items())
    note = f"; CPU busy: {shares}"
    proxy_cpu = run.cpu.get("proxy")
    if proxy_cpu:
        note += f"; {amount / proxy_cpu:,.0f} {unit} per proxy CPU-second"
    return note


def measure_small_events(all_paths: list[Path], events: int) -> list[Figure]:
    figures = []
    prompt = f"throughput [[pieces:{events}]] [[delay-ms:0]]"
    for path in all_paths:
        path.read("warm-up [[pieces:50]] [[delay-ms:0]]")
        run = run_once(path, prompt)
        rate = len(run.stream.deltas) / run.seconds
        # The target concerns the proxy; the agent-alone row is there to show who sets the pace.
        has_target = path.has_proxy
        figures.append(
            Figure(
                "throughput",
                f"small events/s, {path.label} ({len(run.stream.deltas)} events)",
                f"{rate:,.0f} events/s{cpu_note(run, len(run.stream.deltas), 'events')}",
                f">= {SMALL_EVENTS_TARGET_PER_SECOND:,}/s" if has_target else "",
                rate >= SMALL_EVENTS_TARGET_PER_SECOND if has_target else None,
            )
        )
    return figures


def measure_large_answer(all_paths: list[Path], total_bytes: int, piece_size: int = 65536) -> list[Figure]:
    figures = []
    prompt = f"throughput [[bytes:{total_bytes}]] [[piece-size:{piece_size}]] [[delay-ms:0]]"
    for path in all_paths:
        run = run_once(path, prompt)
        if run.stream.delta_bytes != total_bytes:
            raise RuntimeError(f"{path.label}: {run.stream.delta_bytes} bytes of text arrived, not {total_bytes}")
        megabytes = total_bytes / 1e6
        figures.append(
            Figure(
                "throughput",
                f"MB/s, {megabytes:.0f} MB answer in {piece_size // 1024} KiB pieces, {path.label}",
                f"{megabytes / run.seconds:,.1f} MB/s{cpu_note(run, megabytes, 'MB')}",
            )
        )
    return figures
