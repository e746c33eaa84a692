"""agent/main.py as the local stack runs it: a child process, from another directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.support.agent_test_support import invoke, read_trace, session_id
from tests.support.agent_process import MAIN_PATH, start_agent_process

from local.stack import shared_package_path

from local.stack import find_free_port


def test_main_serves_the_offline_agent_from_any_directory(tmp_path: Path) -> None:
    trace_file = tmp_path / "trace.jsonl"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"OFFLINE_MODEL_DELAY_MS": "30", "OFFLINE_MODEL_TRACE_FILE": str(trace_file)}
    with start_agent_process(env=env, cwd=elsewhere, log_path=tmp_path / "agent.log") as agent:
        assert httpx.get(f"{agent.base_url}/ping", timeout=10).json()["status"] == "Healthy"
        requested_at = time.monotonic()
        turn = invoke(agent.base_url, "from a child process", session_id("child"))
        finished_at = time.monotonic()
        log = agent.log_text()

    assert turn.text == 'Offline model, turn 1. You said: "from a child process".'
    # The child's monotonic clock is the same system-wide clock as ours.
    times = [line["t"] for line in read_trace(trace_file)]
    assert len(times) == len(turn.deltas)
    assert requested_at < times[0] <= times[-1] < finished_at
    # Logs are JSON lines that never carry the prompt or the answer.
    assert '"message": "turn_finished"' in log
    assert "child process" not in log


def test_main_exits_with_a_clear_message_on_bad_configuration(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(MAIN_PATH)],
        env={"AGENT_MODEL_PROVIDER": "local", "PATH": "/usr/bin:/bin", "PYTHONPATH": shared_package_path()},
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 2
    assert "AGENT_MODEL_PROVIDER" in completed.stderr
    assert "'bedrock'" in completed.stderr and "'offline'" in completed.stderr


def test_main_as_deployed_refuses_the_offline_model_it_does_not_carry(tmp_path: Path) -> None:
    # The agent as its zip lays it out (packager/artifacts.py build_agent_zip): main.py,
    # streaming_agent/ and streaming_shared/ at the root, and no offline model beside them.
    deployed = tmp_path / "task"
    for package in (MAIN_PATH.parent / "streaming_agent", MAIN_PATH.parent.parent / "streaming_shared"):
        shutil.copytree(package, deployed / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(MAIN_PATH, deployed / "main.py")
    completed = subprocess.run(
        [sys.executable, str(deployed / "main.py")],
        env={"AGENT_MODEL_PROVIDER": "offline", "AGENT_HOST": "127.0.0.1", "AGENT_PORT": str(find_free_port()),
             "PATH": "/usr/bin:/bin"},
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 2, completed.stderr
    assert "agent configuration error: AGENT_MODEL_PROVIDER is 'offline'" in completed.stderr
    assert "not deployed" in completed.stderr and "AGENT_MODEL_PROVIDER=bedrock" in completed.stderr
    assert "Traceback" not in completed.stderr
