"""What /proc says about a process (Linux): resident memory and CPU time, and a sampler thread."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024  # the kernel reports kB
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system time of every thread of the process so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # The command name may hold spaces; the fields after its closing parenthesis are fixed.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_cpu_ns(pid: int) -> dict[int, int]:
    """Nanoseconds on a CPU of each live thread of the process: the first field of
    /proc/PID/task/TID/schedstat (the scheduler's sum_exec_runtime), exact where stat's utime and
    stime count whole clock ticks (10 ms: half a microsecond per event of a 20,000-event run)."""
    times: dict[int, int] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as schedstat:
                times[int(tid)] = int(schedstat.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # the thread ended meanwhile
            continue
    return times


@dataclass(frozen=True)
class CpuReading:
    ticks_seconds: float
    thread_ns: dict[int, int]


def cpu_reading(pid: int) -> CpuReading:
    return CpuReading(cpu_seconds(pid), thread_cpu_ns(pid))


def cpu_seconds_since(pid: int, before: CpuReading) -> float:
    """CPU seconds (every thread, user + system) the process used since `before`: exact, from the
    threads' run times, unless a thread ended in between and took its run time with it (one alive
    then is gone, or the clock ticks count more than a tick beyond the exact sum); then the ticks."""
    after = cpu_reading(pid)
    exact = sum(ns - before.thread_ns.get(tid, 0) for tid, ns in after.thread_ns.items()) / 1e9
    ticks = after.ticks_seconds - before.ticks_seconds
    if before.thread_ns.keys() <= after.thread_ns.keys() and ticks <= exact + 1 / CLOCK_TICKS:
        return exact
    return ticks


class RssSampler:
    """Samples a process's VmRSS every `interval` seconds until stopped; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(rss_bytes(self.pid))
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(rss_bytes(self.pid))

    @property
    def peak(self) -> int:
        return max(self.samples)
