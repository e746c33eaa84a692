"""Throughput of the whole local path: small events per second, agent alone and through the stack.

Comparing the agent's own /invocations with proxy -> stand-in -> agent says which part sets the pace;
each process's CPU time during a run comes from /proc. The proxy's own cost is measured against a
fake upstream in bench.proxy_alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.procfs import cpu_reading, cpu_seconds_since
from bench.report import Figure
from bench.stats import alternate, median, spread
from bench.timed_stream import TimedStream, read_from_agent, read_from_proxy
from local.stack import LocalStack

@dataclass(frozen=True)
class Path:
    label: str
    read: Callable[[str], TimedStream]
    # The processes on the path, by role; their CPU time shows which one sets the pace.
    pids: dict[str, int]


@dataclass(frozen=True)
class Run:
    stream: TimedStream
    cpu: dict[str, float]  # CPU seconds each process on the path used during the run

    @property
    def seconds(self) -> float:
        return self.stream.finished_at - self.stream.sent_at


def run_once(path: Path, prompt: str) -> Run:
    before = {role: cpu_reading(pid) for role, pid in path.pids.items()}
    stream = path.read(prompt)
    used = {role: cpu_seconds_since(pid, before[role]) for role, pid in path.pids.items()}
    if stream.terminal != "done":
        raise RuntimeError(f"{path.label}: stream ended with {stream.terminal!r} (HTTP {stream.status})")
    return Run(stream, used)


def paths(stack: LocalStack) -> list[Path]:
    pids = {role: process.pid for role, process in stack.processes.items()}
    return [
        Path("agent alone", lambda prompt: read_from_agent(stack.agent_url, prompt, keep_text=False), {"agent": pids["agent"]}),
        Path("proxy + stand-in + agent", lambda prompt: read_from_proxy(stack.url, prompt, keep_text=False), pids),
    ]


def measure_small_events(all_paths: list[Path], events: int, runs: int) -> list[Figure]:
    """Informative: who sets the pace of the whole local path (the proxy's own figures are in proxy_alone)."""
    prompt = f"throughput [[pieces:{events}]] [[delay-ms:0]]"
    for path in all_paths:
        path.read("warm-up [[pieces:50]] [[delay-ms:0]]")
    results = alternate({path.label: (lambda p=path: run_once(p, prompt)) for path in all_paths}, runs)
    figures = []
    for path in all_paths:
        path_runs = results[path.label]
        rates = [len(run.stream.deltas) / run.seconds for run in path_runs]
        shares = {role: median([run.cpu[role] / run.seconds for run in path_runs]) for role in path.pids}
        busy = ", ".join(f"{role} {share:.0%}" for role, share in shares.items())
        figures.append(
            Figure(
                "full stack",
                f"small events/s, {path.label} ({events} events/run)",
                f"{spread(rates, lambda rate: f'{rate:,.0f}/s')}; CPU busy (median): {busy}",
            )
        )
    return figures
