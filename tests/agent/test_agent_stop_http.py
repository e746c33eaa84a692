"""Stopping a turn from outside it: the {"action": "stop"} control request and a superseding turn.

AgentCore Runtime does not pass a client's abort on to the container, so a turn is stopped by a
second invocation on the same runtime session, which the agent answers at once, outside the
session's turn lock (README, "Stopping a turn").
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from tests.support.agent_test_support import SESSION_HEADER, Turn, invoke, read_trace, running_agent, session_id
from streaming_agent.app import Turn as AppTurn
from streaming_agent.app import agent_factory, cancelled_event, stream_answer
from streaming_agent.model_factory import build_model
from streaming_agent.settings import load_settings

# The answer a stopped turn would otherwise take: 200 pieces at 50 ms, ten seconds.
LONG_ANSWER = "[[pieces:200]] a long answer"
STOP_WITHIN_SECONDS = 2.0


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[str]:
    env = {"OFFLINE_MODEL_DELAY_MS": "50", "OFFLINE_MODEL_TRACE_FILE": str(tmp_path / "trace.jsonl")}
    with running_agent(env) as url:
        yield url


def stop(base_url: str, session: str | None, payload: Any = None) -> httpx.Response:
    headers = {SESSION_HEADER: session} if session else {}
    return httpx.post(f"{base_url}/invocations", json=payload or {"action": "stop"}, headers=headers, timeout=10)


class Background:
    """A turn streamed in a thread; `started` is set with its first delta."""

    def __init__(self, base_url: str, prompt: str, session: str, payload: Any = None, wait: bool = True) -> None:
        self.started = threading.Event()
        self.turn: Turn | None = None
        self.ended_at: float | None = None

        def run() -> None:
            self.turn = invoke(base_url, prompt, session, on_event=lambda event: self.started.set(), payload=payload)
            self.ended_at = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert not wait or self.started.wait(30), "the turn never started streaming"

    def result(self) -> Turn:
        self.thread.join(30)
        assert self.turn is not None, "the turn never ended"
        return self.turn


def test_stop_ends_the_running_turn_with_cancelled_and_the_session_goes_on(agent: str, tmp_path: Path) -> None:
    session = session_id("stop")
    assert invoke(agent, "remember this", session).events[-1]["type"] == "done"
    running = Background(agent, LONG_ANSWER, session)

    asked_at = time.monotonic()
    answer = stop(agent, session)
    assert (answer.status_code, answer.json()) == (200, {"stopped": True})
    assert answer.headers["content-type"].startswith("application/json")

    stopped = running.result()
    assert running.ended_at is not None and running.ended_at - asked_at < STOP_WITHIN_SECONDS
    # The offline model, like Bedrock, reports no usage for a response cut short: none is invented.
    assert stopped.events[-1] == {"type": "done", "stopReason": "cancelled"}
    assert 0 < len(stopped.deltas) < 200
    produced = len(read_trace(tmp_path / "trace.jsonl"))
    time.sleep(0.5)
    assert len(read_trace(tmp_path / "trace.jsonl")) == produced, "the model kept producing after the stop"

    # The stopped turn left nothing in the session: the next turn is turn 2 and recalls turn 1 only.
    following = invoke(agent, "and now?", session)
    assert following.text == 'Offline model, turn 2. You said: "and now?". Earlier you said: "remember this".'
    assert following.events[-1]["type"] == "done" and following.events[-1]["stopReason"] == "end_turn"


def test_stop_without_a_running_turn_stops_nothing(agent: str) -> None:
    session = session_id("idle")
    assert stop(agent, session).json() == {"stopped": False}  # a session this process never saw
    invoke(agent, "one turn", session)
    assert stop(agent, session).json() == {"stopped": False}  # its turn has ended
    assert stop(agent, None).json() == {"stopped": False}  # no session at all
    # A stop never touches another session's turn.
    running = Background(agent, LONG_ANSWER, session_id("other"))
    assert stop(agent, session).json() == {"stopped": False}
    assert stop(agent, session_id("other")).json() == {"stopped": True}
    assert running.result().events[-1]["stopReason"] == "cancelled"


def test_a_control_request_other_than_stop_is_refused(agent: str) -> None:
    for payload in ({"action": "pause"}, {"action": "stop", "prompt": "x"}, {"action": None}):
        answer = stop(agent, session_id("bad"), payload)
        assert answer.status_code == 400, payload
        assert "'action': 'stop'" in answer.json()["error"]


def test_a_new_turn_supersedes_the_running_one_and_starts_at_once(agent: str) -> None:
    session = session_id("supersede")
    invoke(agent, "first question", session)
    running = Background(agent, LONG_ANSWER, session)

    asked_at = time.monotonic()
    newer = invoke(agent, "never mind, this instead", session)
    superseded = running.result()
    assert superseded.events[-1] == {"type": "done", "stopReason": "cancelled"}
    assert running.ended_at is not None and running.ended_at - asked_at < STOP_WITHIN_SECONDS
    # The newer turn did not wait for the ten-second answer, and the superseded turn left nothing.
    assert newer.received_at[0] - asked_at < STOP_WITHIN_SECONDS
    assert newer.text == (
        'Offline model, turn 2. You said: "never mind, this instead". Earlier you said: "first question".'
    )
    assert newer.events[-1]["stopReason"] == "end_turn"


def test_each_newer_turn_supersedes_the_one_before(agent: str) -> None:
    session = session_id("chain")
    first = Background(agent, LONG_ANSWER, session)
    second = Background(agent, LONG_ANSWER, session)
    third = invoke(agent, "[[pieces:3]] third", session)
    for superseded in (first.result(), second.result()):
        assert superseded.events[-1] == {"type": "done", "stopReason": "cancelled"}
        assert len(superseded.deltas) < 200
    assert third.deltas == ["w0 ", "w1 ", "w2 "] and third.events[-1]["stopReason"] == "end_turn"


def test_a_cancelled_turn_reports_usage_only_when_the_model_reported_some() -> None:
    def result(tokens: int) -> Any:
        usage = {"inputTokens": tokens, "outputTokens": tokens, "totalTokens": 2 * tokens}
        invocation = SimpleNamespace(usage=usage)
        return SimpleNamespace(stop_reason="cancelled", metrics=SimpleNamespace(latest_agent_invocation=invocation))

    assert cancelled_event(result(0), 0) == {"type": "done", "stopReason": "cancelled"}
    assert cancelled_event(None, None) == {"type": "done", "stopReason": "cancelled"}
    assert cancelled_event(result(7), 12) == {
        "type": "done", "stopReason": "cancelled",
        "usage": {"inputTokens": 7, "outputTokens": 7, "totalTokens": 14, "latencyMs": 12},
    }


def test_a_stop_that_names_a_turn_stops_only_that_turn(agent: str) -> None:
    # The proxy names the turn of a stream it gave up on, so its stop never ends a newer turn.
    session = session_id("named")
    running = Background(agent, LONG_ANSWER, session, payload={"prompt": LONG_ANSWER, "turnId": "req-2"})
    assert stop(agent, session, {"action": "stop", "turnId": "req-1"}).json() == {"stopped": False}
    assert stop(agent, session, {"action": "stop", "turnId": "req-2"}).json() == {"stopped": True}
    assert running.result().events[-1] == {"type": "done", "stopReason": "cancelled"}
    for turn_id in ("", 7, "x" * 257):
        assert stop(agent, session, {"action": "stop", "turnId": turn_id}).status_code == 400, turn_id


def start_unread_turn(base_url: str, prompt: str, session: str) -> socket.socket:
    """A turn whose caller never reads its answer: the socket's window and the SDK's queue fill up."""
    parts = urllib.parse.urlsplit(base_url)
    body = json.dumps({"prompt": prompt}).encode()
    caller = socket.create_connection((parts.hostname, parts.port))
    caller.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    caller.sendall(
        f"POST /invocations HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"{SESSION_HEADER}: {session}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    )
    return caller


def test_a_turn_nobody_reads_is_ended_by_the_next_turn_and_the_session_goes_on(agent: str, tmp_path: Path) -> None:
    # Before: the unread turn waited at a yield for a reader that never came, holding the session's
    # lock, so the next turn of the session waited for ever (AgentCore need not read on either).
    session = session_id("unread")
    invoke(agent, "first question", session)
    caller = start_unread_turn(agent, "[[bytes:90000000]] [[piece-size:4096]] [[delay-ms:0]]", session)
    try:
        deadline = time.monotonic() + 10
        previous = -1
        while True:  # until the model has stopped producing: the turn is parked
            time.sleep(0.5)
            produced = len(read_trace(tmp_path / "trace.jsonl"))
            if produced == previous or time.monotonic() > deadline:
                break
            previous = produced
        asked_at = time.monotonic()
        newer = Background(agent, "", session, payload={"prompt": "and now?"}, wait=False)
        assert newer.started.wait(STOP_WITHIN_SECONDS + 2), "the next turn waited on the unread one"
        answer = newer.result()
        assert answer.received_at[0] - asked_at < STOP_WITHIN_SECONDS + 2
        # The unread turn left nothing in the session: this is turn 2, after the first question.
        assert answer.text == 'Offline model, turn 2. You said: "and now?". Earlier you said: "first question".'
        assert answer.events[-1]["stopReason"] == "end_turn"
    finally:
        caller.close()


def test_a_turn_closed_mid_answer_lets_go_of_the_strands_agent_at_once() -> None:
    # Before: the inner stream_async generator was left to the garbage collector, which closes it
    # only in a later task, so the session's next turn met Strands' ConcurrencyException.
    settings = load_settings({"AGENT_MODEL_PROVIDER": "offline", "OFFLINE_MODEL_DELAY_MS": "5"})
    agent = agent_factory(settings, build_model(settings))(None)

    async def main() -> list[str]:
        lock = asyncio.Lock()
        abandoned = stream_answer(agent, lock, "[[pieces:50]] abandoned", AppTurn(None))
        assert (await abandoned.__anext__())["type"] == "delta"
        await abandoned.aclose()  # what closing a parked turn does
        nextturn = AppTurn(None)
        return [event["text"] async for event in stream_answer(agent, lock, "[[pieces:2]] next", nextturn)]

    assert asyncio.run(main()) == ["w0 ", "w1 "]
