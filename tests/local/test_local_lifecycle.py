"""`python3 dev.py local` as a user runs it: a crashed agent comes back, Ctrl-C stops every process and
frees every port, and a port in use is one clear line.

Processes and listening sockets are read from /proc, so what is checked is what the kernel sees.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def listening_ports() -> set[int]:
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


class Output:
    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace"))

    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, seconds: float, process: subprocess.Popen) -> re.Match[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text())
            if match:
                return match
            assert process.poll() is None, f"exited with {process.returncode}:\n{self.text()[-3000:]}"
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} did not appear:\n{self.text()[-3000:]}")


def test_dev_py_local_restarts_a_crashed_agent_and_stops_everything_on_ctrl_c() -> None:
    # Before: dev.py ran the stack with subprocess.run, which killed its child 0.25 s after Ctrl-C;
    # the agent, stand-in and proxy were orphaned and kept their ports.
    process = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "dev.py"), "local", "--port", "0", "--page-port", "0",
         "--offline-delay-ms", "1"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    output = Output(process.stdout)
    children: set[int] = set()
    try:
        output.wait_for(r"Logs follow", 240, process)
        banner = output.text()
        api_url = re.search(r"API \(proxy\): (http://\S+)", banner)[1]
        agent_url = re.search(r"agent:\s+(http://\S+)", banner)[1]
        ports = {int(url.rsplit(":", 1)[1].strip("/")) for url in re.findall(r"http://127\.0\.0\.1:\d+/?", banner)}
        assert ports <= listening_ports()

        # Kill the agent: the stack starts a new one on the same port, and says so.
        agent_port = int(agent_url.rsplit(":", 1)[1])
        agent_pids = [pid for pid in descendants(process.pid) if f"agent/main.py" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert agent_pids, "no agent process found"
        for pid in agent_pids:
            os.kill(pid, signal.SIGKILL)
        output.wait_for(r"agent restarted at", 90, process)
        assert "starting a new agent process" in output.text()
        assert httpx.get(f"http://127.0.0.1:{agent_port}/ping", timeout=5).json()["status"] == "Healthy"
        answer = httpx.post(f"{api_url}/invoke", json={"prompt": "still there?"}, timeout=30)
        assert answer.status_code == 200 and b"event: done" in answer.content

        children = descendants(process.pid)
        assert len(children) >= 3, children
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process
        assert process.wait(60) == 0, output.text()[-2000:]
    finally:
        if process.poll() is None:  # the test failed: leave nothing behind either way
            left = descendants(process.pid)
            os.killpg(process.pid, signal.SIGKILL)
            for pid in left:
                try:
                    os.killpg(pid, signal.SIGKILL)  # each component leads its own process group
                except OSError:
                    pass
            process.wait(10)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (any(alive(pid) for pid in children) or ports & listening_ports()):
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)], "processes left behind"
    assert not ports & listening_ports(), f"ports still bound: {ports & listening_ports()}"


def test_a_port_in_use_is_one_line_naming_the_port_and_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "local", "--port", str(port), "--page-port", "0"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert str(port) in lines[0] and "--port" in lines[0] and "in use" in lines[0]
