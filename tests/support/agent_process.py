"""Start agent/main.py as a child process on a loopback port, for the agent tests. Usage:

    with start_agent_process(env={"OFFLINE_MODEL_DELAY_MS": "10"}) as agent:
        httpx.post(f"{agent.base_url}/invocations", ...)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from local.stack import find_free_port, shared_package_path

MAIN_PATH = Path(__file__).resolve().parents[2] / "agent" / "main.py"


@dataclass
class AgentProcess:
    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path  # the child's stdout and stderr (JSON log lines)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)

    def __enter__(self) -> AgentProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _wait_until_healthy(agent: AgentProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if agent.process.poll() is not None:
            raise RuntimeError(
                f"agent exited with code {agent.process.returncode} before it was healthy:\n{agent.log_text()}"
            )
        try:
            with urllib.request.urlopen(f"{agent.base_url}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    agent.stop()
    raise RuntimeError(f"agent did not answer /ping within {timeout} s:\n{agent.log_text()}")


def start_agent_process(
    *,
    env: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    log_path: Path | None = None,
    cwd: str | os.PathLike[str] | None = None,
    python: str = sys.executable,
    startup_timeout: float = 60.0,
) -> AgentProcess:
    """Run `python agent/main.py` with the offline model unless env says otherwise; wait for /ping.

    env is merged over os.environ; AGENT_HOST and AGENT_PORT are always set from host and port
    (a free port when port is None).
    """
    chosen_port = port if port is not None else find_free_port()
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="agent-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    child_env = {"AGENT_MODEL_PROVIDER": "offline", **os.environ, **(env or {})}
    child_env.update({"AGENT_HOST": host, "AGENT_PORT": str(chosen_port), "PYTHONUNBUFFERED": "1",
                      "PYTHONPATH": shared_package_path()})
    # A file, not a pipe: nobody reads a pipe while the agent runs, and a full one would block it.
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [python, str(MAIN_PATH)], env=child_env, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT
        )
    agent = AgentProcess(process=process, host=host, port=chosen_port, log_path=log_path)
    _wait_until_healthy(agent, startup_timeout)
    return agent
