"""The bench's CPU clock for another process: exact run times, not 10 ms clock ticks."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from bench.procfs import cpu_reading, cpu_seconds_since

# The child burns exactly the asked thread CPU time on its main thread or on a thread that then ends,
# and says so on stdout; it reads one line per job from stdin.
CHILD = r"""
import sys, threading, time
print("ready", flush=True)
def burn(seconds):
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        pass
for line in sys.stdin:
    where, seconds = line.split()
    if where == "main":
        burn(float(seconds))
    else:
        worker = threading.Thread(target=burn, args=(float(seconds),))
        worker.start()
        worker.join()
    print("done", flush=True)
"""


@pytest.fixture
def child():
    process = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "ready\n"
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def burn(process: subprocess.Popen, where: str, seconds: float) -> float:
    before = cpu_reading(process.pid)
    process.stdin.write(f"{where} {seconds}\n")
    process.stdin.flush()
    assert process.stdout.readline() == "done\n"
    return cpu_seconds_since(process.pid, before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_few_milliseconds_of_cpu_are_measured_to_well_under_a_clock_tick(child: subprocess.Popen) -> None:
    # 3 ms is under the 10 ms tick /proc/PID/stat counts in: ticks would say 0 or 10 ms.
    measured = [burn(child, "main", 0.003) for _ in range(5)]
    assert all(0.0029 <= seconds < 0.0065 for seconds in measured), measured


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_thread_that_ends_in_the_window_still_counts(child: subprocess.Popen) -> None:
    # The ended thread's run time leaves /proc/PID/task with it; the clock ticks still hold it.
    assert burn(child, "thread", 0.2) >= 0.18
