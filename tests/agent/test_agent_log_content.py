"""The agent's logs hold no prompt text and no exception text, and every turn logs exactly one end.

The real agent process (agent/main.py, offline model): its stdout is everything it would send to
CloudWatch, the SDK's own `bedrock_agentcore.app` lines included.
"""

from __future__ import annotations

import json
import socket
import time

import httpx
from tests.support.agent_process import start_agent_process

SECRET = "SECRET-PROMPT-7f3a"
TURN_ENDS = ("turn_finished", "turn_failed", "turn_cancelled")


def log_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def invoke(base_url: str, prompt: str, session: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/invocations",
        json={"prompt": prompt},
        headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": session},
        timeout=30,
    )


def wait_for(condition, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)


def test_a_failing_turn_logs_neither_the_prompt_nor_the_exception_text() -> None:
    # Before: the SDK's own handler printed "Invocation failed" with the exception text and stack
    # trace, in plain text; the offline model's failure quotes a secret marker.
    with start_agent_process(env={"OFFLINE_MODEL_DELAY_MS": "0"}) as agent:
        response = invoke(agent.base_url, f"[[fail-after:1]] {SECRET}", "s" * 40)
        assert response.status_code == 200
        invoke(agent.base_url, f"bad JSON is logged too: {SECRET}", "t" * 40)
        httpx.post(f"{agent.base_url}/invocations", content=b'{"prompt": "' + SECRET.encode() + b'"', timeout=10)
        wait_for(lambda: "turn_failed" in agent.log_text())
        time.sleep(0.3)
        text = agent.log_text()
    assert SECRET not in text
    assert "SECRET-INTERNAL-DETAIL" not in text
    assert "Traceback" not in text
    for line in text.splitlines():
        if line.strip() and "Uvicorn running" not in line and "uvicorn" not in line.lower():
            assert line.startswith("{"), f"not a JSON line: {line!r}"
    failed = [line for line in log_lines(text) if line["message"] == "turn_failed"]
    assert len(failed) == 1 and failed[0]["errorType"]


def test_every_abandoned_turn_logs_exactly_one_turn_end() -> None:
    # Before: a caller that left mid-answer closed the entrypoint's generator at a `yield`, and the
    # turn logged no end at all (19 of 100 abandoned turns, when this was found).
    turns = 30
    with start_agent_process(env={"OFFLINE_MODEL_DELAY_MS": "20"}) as agent:
        for number in range(turns):
            with socket.create_connection((agent.host, agent.port), timeout=10) as connection:
                body = json.dumps({"prompt": f"[[pieces:200]] {SECRET} {number}"}).encode()
                connection.sendall(
                    b"POST /invocations HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
                    + f"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: {'abandoned-session-' + str(number) * 30}\r\n".encode()
                    + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
                )
                received = b""
                while b"delta" not in received:  # leave once the answer is streaming
                    received += connection.recv(4096)
        wait_for(lambda: sum(line["message"] in TURN_ENDS for line in log_lines(agent.log_text())) >= turns)
        time.sleep(1.0)  # any second end line for a turn would arrive now
        healthy = httpx.get(f"{agent.base_url}/ping", timeout=5).json()["status"]
        text = agent.log_text()
    lines = log_lines(text)
    started = [line for line in lines if line["message"] == "turn_started"]
    ended = [line for line in lines if line["message"] in TURN_ENDS]
    assert len(started) == turns
    assert len(ended) == turns, [line["message"] for line in ended]
    assert sorted(line["sessionHash"] for line in ended) == sorted(line["sessionHash"] for line in started)
    assert "Failed to detach context" not in text or all(
        line.startswith("{") for line in text.splitlines() if "Failed to detach context" in line
    )
    assert "Traceback" not in text
    assert SECRET not in text
    assert healthy == "Healthy"
