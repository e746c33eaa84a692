"""Should the caller of POST /invocations ever close its connection, the turn ends: the model stops.

AgentCore Runtime does not pass a client's abort on to the container (README, "Stopping a turn"),
so on AWS this never happens and turns are stopped by a stop request instead (test_agent_stop_http).
The middleware stays as a defence for callers that do close (anything calling the container
directly); these tests hold it to that.

The agent runs as `python agent/main.py` (the SDK's own app.run()), so these tests also prove the
disconnect middleware is in the app AgentCore starts.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.agent_test_support import SESSION_HEADER, invoke, iter_sse_data, read_trace, session_id
from streaming_agent.disconnect import DisconnectSignalMiddleware, current_disconnect_signal
from tests.support.agent_process import AgentProcess, start_agent_process

PIECE_DELAY_MS = 100
# Pieces the model may still produce after the client left: the one whose delay was already
# running when the disconnect arrived.
IN_FLIGHT_PIECES = 1
# How long after the disconnect we look for further pieces. Generous on purpose: without the fix
# a 100 ms model keeps producing through all of it, with the fix nothing comes after the first 0.15 s.
QUIET_SECONDS = 1.0


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentProcess]:
    env = {"OFFLINE_MODEL_DELAY_MS": str(PIECE_DELAY_MS), "OFFLINE_MODEL_TRACE_FILE": str(tmp_path / "trace.jsonl")}
    with start_agent_process(env=env, log_path=tmp_path / "agent.log") as running:
        yield running


def trace_length(tmp_path: Path) -> int:
    return len(read_trace(tmp_path / "trace.jsonl"))


def log_entries(agent: AgentProcess, event: str) -> list[dict[str, Any]]:
    entries = []
    for line in agent.log_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("message") == event:
                entries.append(entry)
    return entries


def wait_for_log(agent: AgentProcess, event: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = log_entries(agent, event)
        if entries:
            return entries[-1]
        time.sleep(0.05)
    pytest.fail(f"the agent never logged {event}:\n{agent.log_text()}")


def ping_status(agent: AgentProcess) -> str:
    return str(httpx.get(f"{agent.base_url}/ping", timeout=10).json()["status"])


def read_deltas_then_leave(agent: AgentProcess, prompt: str, session: str, deltas: int) -> None:
    """Stream a turn, read `deltas` delta events, then close the connection."""
    with httpx.Client(timeout=httpx.Timeout(30.0)) as client:
        with client.stream("POST", f"{agent.base_url}/invocations", json={"prompt": prompt},
                           headers={SESSION_HEADER: session}) as response:
            assert response.status_code == 200
            seen = 0
            for event in iter_sse_data(response.iter_lines()):
                if event.get("type") == "delta":
                    seen += 1
                if seen == deltas:
                    return
    pytest.fail("the turn ended before the client meant to leave")


def test_a_disconnect_stops_the_turn_and_frees_its_session(agent: AgentProcess, tmp_path: Path) -> None:
    session = session_id("disconnect")
    first = invoke(agent.base_url, "remember the first question", session)
    assert first.deltas and first.events[-1]["type"] == "done"

    read_deltas_then_leave(agent, "[[pieces:60]] the abandoned question", session, deltas=2)
    produced_when_left = trace_length(tmp_path)
    left_at = time.monotonic()

    cancelled = wait_for_log(agent, "turn_cancelled")
    time.sleep(QUIET_SECONDS)
    produced_after_leaving = trace_length(tmp_path) - produced_when_left
    assert produced_after_leaving <= IN_FLIGHT_PIECES, (
        f"the model kept producing {produced_after_leaving} pieces after its caller left"
    )
    # The count of pieces streamed so far, and never their text.
    assert 2 <= cancelled["pieces"] <= 2 + IN_FLIGHT_PIECES
    assert "text" not in cancelled and "the abandoned question" not in agent.log_text()
    assert not any(entry.get("pieces") == 60 for entry in log_entries(agent, "turn_finished"))

    # The SDK's async task is complete, so AgentCore sees the runtime idle again.
    assert ping_status(agent) == "Healthy"

    # The session's lock is free: the next turn starts now, not when 60 pieces would have ended.
    started = time.monotonic()
    second = invoke(agent.base_url, "the next question", session)
    first_piece_after = second.received_at[0] - started
    assert first_piece_after < 2.0, f"the next turn waited {first_piece_after:.1f} s for the abandoned one"
    assert second.received_at[0] - left_at < 60 * PIECE_DELAY_MS / 1000
    # The echo numbers user turns and repeats the first: the completed turn is kept, the
    # abandoned one forgotten (no half turn breaking role alternation for a real model).
    assert second.text.startswith("Offline model, turn 2. ")
    assert 'Earlier you said: "remember the first question"' in second.text
    assert second.events[-1]["type"] == "done"


def test_a_disconnect_ends_a_silent_turn_too(agent: AgentProcess, tmp_path: Path) -> None:
    # A model that has not produced its first token yet (a long pause) is aborted as well.
    with httpx.Client(timeout=httpx.Timeout(30.0)) as client:
        with client.stream("POST", f"{agent.base_url}/invocations", json={"prompt": "[[pause:30]] [[pieces:3]]"},
                           headers={SESSION_HEADER: session_id("silent")}) as response:
            assert response.status_code == 200
            time.sleep(0.3)  # the turn has started and is paused
    cancelled = wait_for_log(agent, "turn_cancelled", timeout=10)
    assert cancelled["pieces"] == 0
    assert trace_length(tmp_path) == 0
    assert ping_status(agent) == "Healthy"


def test_the_middleware_signals_a_disconnect_and_passes_the_response_through() -> None:
    sent: list[dict[str, Any]] = []
    seen_by_app: list[threading.Event] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        signal = current_disconnect_signal()
        seen_by_app.append(signal)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        assert (await receive())["type"] == "http.request"
        assert not signal.is_set()
        await send({"type": "http.response.body", "body": b"chunk", "more_body": True})
        assert (await receive())["type"] == "http.disconnect"
        assert signal.is_set()

    messages = iter([{"type": "http.request", "body": b"{}", "more_body": False}, {"type": "http.disconnect"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/invocations"}
    asyncio.run(DisconnectSignalMiddleware(app)(scope, receive, send))
    assert len(seen_by_app) == 1 and seen_by_app[0].is_set()
    assert sent == [{"type": "http.response.start", "status": 200, "headers": []},
                    {"type": "http.response.body", "body": b"chunk", "more_body": True}]
    # Outside a request there is no client to lose: a fresh, unset signal.
    assert not current_disconnect_signal().is_set()
