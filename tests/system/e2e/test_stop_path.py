"""POST /stop and supersede through the whole local stack, behind the gateway as on AWS.

client -> gateway (API keys: two callers) -> proxy -> AgentCore stand-in -> agent. A client that
leaves stops nothing (Lambda and AgentCore do not pass it on); POST /stop, or a new turn on the
same session, ends the running turn with done and stopReason "cancelled".
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from client import Event, InvokeError, stop_turn, stream_invoke
from local.stack import LocalStack, StackSettings
from streaming_shared.edge import USAGE_RECORD_MESSAGE
from streaming_shared.jsonlog import session_hash
from tests.support.streams import standin

API_KEYS = {"local-key-alice-stop-0123456789": "key-id-alice", "local-key-bob-stop-0123456789": "key-id-bob"}
ALICE, BOB = API_KEYS
# 200 pieces at 50 ms: ten seconds unless stopped.
LONG_ANSWER = "[[pieces:200]] a long answer"
STOP_WITHIN_SECONDS = 2.0


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(offline_delay_ms=50, keepalive_seconds=0.3, auth="apiKey", api_keys=API_KEYS)) as running:
        yield running


def new_session(label: str) -> str:
    return f"stop-{label}-{uuid.uuid4().hex[:12]}"


class Streaming:
    """A turn read in a thread until its end; `started` is set with its first delta."""

    def __init__(self, stack: LocalStack, prompt: str, session_id: str, api_key: str = ALICE) -> None:
        self.started = threading.Event()
        self.events: list[Event] = []
        self.ended_at: float | None = None

        def run() -> None:
            for event in stream_invoke(stack.url, prompt, session_id=session_id, api_key=api_key, timeout=30):
                self.events.append(event)
                if event.name == "delta":
                    self.started.set()
            self.ended_at = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.started.wait(30), "the turn never started streaming"

    def result(self) -> list[Event]:
        self.thread.join(30)
        assert self.ended_at is not None, "the stream never ended"
        return self.events

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


def text_of(events: list[Event]) -> str:
    return "".join(event.data["text"] for event in events if event.name == "delta" and event.data)


def ask(stack: LocalStack, prompt: str, session_id: str, api_key: str = ALICE) -> list[Event]:
    return list(stream_invoke(stack.url, prompt, session_id=session_id, api_key=api_key, timeout=30))


def post_stop(stack: LocalStack, body: bytes, content_type: str = "application/json",
              api_key: str | None = ALICE, method: str = "POST") -> tuple[int, dict[str, str], Any]:
    parts = urllib.parse.urlsplit(stack.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        headers = {"Content-Type": content_type, **({"x-api-key": api_key} if api_key else {})}
        connection.request(method, "/stop", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read() or b"null")
    finally:
        connection.close()


def test_stop_ends_the_running_turn_within_two_seconds_and_the_session_goes_on(stack: LocalStack) -> None:
    session_id = new_session("running")
    assert ask(stack, "remember this", session_id)[-1].name == "done"
    running = Streaming(stack, LONG_ANSWER, session_id)

    asked_at = time.monotonic()
    assert stop_turn(stack.url, session_id, api_key=ALICE) is True
    events = running.result()
    assert running.ended_at is not None and running.ended_at - asked_at < STOP_WITHIN_SECONDS
    done = events[-1]
    assert done.name == "done" and done.data == {"sessionId": session_id, "stopReason": "cancelled"}
    assert 0 < len(text_of(events).split()) < 200

    following = ask(stack, "and now?", session_id)
    assert text_of(following) == 'Offline model, turn 2. You said: "and now?". Earlier you said: "remember this".'
    assert following[-1].data["stopReason"] == "end_turn"
    # Nothing is left running: a second stop finds no turn.
    assert stop_turn(stack.url, session_id, api_key=ALICE) is False


def test_stop_without_a_running_turn_answers_stopped_false(stack: LocalStack) -> None:
    session_id = new_session("idle")
    status, headers, body = post_stop(stack, json.dumps({"sessionId": session_id}).encode())
    assert (status, body) == (200, {"stopped": False})
    assert headers["content-type"].startswith("application/json") and headers["x-request-id"]
    ask(stack, "one turn", session_id)
    assert stop_turn(stack.url, session_id, api_key=ALICE) is False


def test_another_callers_session_id_stops_nothing(stack: LocalStack) -> None:
    session_id = new_session("alice")
    running = Streaming(stack, LONG_ANSWER, session_id, api_key=ALICE)
    # Bob names Alice's session: it is bound to Bob, so no turn of his runs there.
    assert stop_turn(stack.url, session_id, api_key=BOB) is False
    time.sleep(0.5)
    assert running.running, "another caller's stop ended Alice's turn"
    assert stop_turn(stack.url, session_id, api_key=ALICE) is True
    assert running.result()[-1].data["stopReason"] == "cancelled"


def test_closing_the_client_librarys_stream_early_stops_the_turn(stack: LocalStack) -> None:
    session_id = new_session("library")
    stops_before = sum(1 for e in standin(stack, "GET", "/_standin/events")
                       if e["kind"] == "invocation" and e["payloadBytes"] == len(b'{"action":"stop"}'))
    events = stream_invoke(stack.url, LONG_ANSWER, session_id=session_id, api_key=ALICE, timeout=30)
    for event in events:
        if event.name == "delta":
            break
    closed_at = time.monotonic()
    events.close()  # sends POST /stop, then closes
    stops = sum(1 for e in standin(stack, "GET", "/_standin/events")
                if e["kind"] == "invocation" and e["payloadBytes"] == len(b'{"action":"stop"}'))
    assert stops == stops_before + 1, "closing the stream sent no stop"
    # The turn ended at once: its stream finished within two seconds, not after its ten.
    deadline = closed_at + STOP_WITHIN_SECONDS
    finished: list[dict[str, Any]] = []
    while not finished and time.monotonic() < deadline:
        finished = [r for r in stack.log_records("proxy")
                    if r.get("message") == "stream finished" and r.get("sessionHash") == session_hash(session_id)]
        time.sleep(0.05)
    assert finished and finished[0]["deltas"] < 200


def test_a_new_turn_supersedes_the_running_one_and_starts_at_once(stack: LocalStack) -> None:
    session_id = new_session("supersede")
    ask(stack, "first question", session_id)
    running = Streaming(stack, LONG_ANSWER, session_id)

    asked_at = time.monotonic()
    newer = list(stream_invoke(stack.url, "this instead", session_id=session_id, api_key=ALICE, timeout=30))
    old = running.result()
    assert old[-1].name == "done" and old[-1].data["stopReason"] == "cancelled"
    assert running.ended_at is not None and running.ended_at - asked_at < STOP_WITHIN_SECONDS
    first_delta = next(event for event in newer if event.name == "delta")
    assert first_delta.received_at - asked_at < STOP_WITHIN_SECONDS
    assert text_of(newer) == 'Offline model, turn 2. You said: "this instead". Earlier you said: "first question".'


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{}', "application/json", 400, "MISSING_FIELD"),
        (b'{"sessionId": null}', "application/json", 400, "INVALID_FIELD"),
        (b'{"sessionId": "has space"}', "application/json", 400, "INVALID_FIELD"),
        (b'{"sessionId": 7}', "application/json", 400, "INVALID_FIELD"),
        (b'{"sessionId": "s", "prompt": "x"}', "application/json", 400, "UNKNOWN_FIELD"),
        (b'["s"]', "application/json", 400, "INVALID_BODY"),
        (b'not json', "application/json", 400, "INVALID_BODY"),
        (b'{"sessionId": "s"}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
def test_bad_stop_requests_get_the_contracts_json_errors(
    stack: LocalStack, body: bytes, content_type: str, status: int, code: str
) -> None:
    got_status, headers, answer = post_stop(stack, body, content_type)
    assert got_status == status, answer
    assert answer["error"]["code"] == code and answer["error"]["message"] and answer["error"]["requestId"]
    assert "sessionId" in answer["error"]["message"] or code in ("UNSUPPORTED_MEDIA_TYPE",)


def test_stop_needs_the_same_authentication_as_invoke(stack: LocalStack) -> None:
    assert post_stop(stack, b'{"sessionId": "s"}', api_key=BOB)[:3:2] == (200, {"stopped": False})
    status, _, answer = post_stop(stack, b'{"sessionId": "s"}', api_key=None)
    assert status == 403 and answer["error"]["code"] == "FORBIDDEN"
    with pytest.raises(InvokeError) as refused:
        stop_turn(stack.url, "s", api_key="not-a-key")
    assert refused.value.status == 403


def test_a_stopped_turn_is_one_usage_record(stack: LocalStack) -> None:
    session_id = new_session("metered")
    running = Streaming(stack, LONG_ANSWER, session_id)
    assert stop_turn(stack.url, session_id, api_key=ALICE)
    running.result()
    deadline = time.monotonic() + 10
    records: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not records:
        records = [r for r in stack.log_records("proxy")
                   if r.get("message") == USAGE_RECORD_MESSAGE and r.get("sessionHash") == session_hash(session_id)]
        time.sleep(0.05)
    time.sleep(0.3)
    [record] = [r for r in stack.log_records("proxy")
                if r.get("message") == USAGE_RECORD_MESSAGE and r.get("sessionHash") == session_hash(session_id)]
    assert record["outcome"] == "done"


def test_the_usage_record_is_written_before_the_last_byte_leaves_the_proxy(stack: LocalStack) -> None:
    # Lambda may freeze the environment as soon as the response is complete. Freeze the proxy the
    # moment the stream's last event reaches the client: its usage record must already be written.
    # The agent's body is made to end 2 s after its last event (the stand-in stalls there), so a
    # proxy that wrote its record only once the body had ended is frozen before it does, every time.
    prompt = "[[pieces:3]] freeze after me"
    standin(stack, "DELETE", "/_standin/events")
    ask(stack, prompt, new_session("measure"))
    deadline = time.monotonic() + 10
    while not (completed := [e for e in standin(stack, "GET", "/_standin/events") if e["kind"] == "completed"]):
        assert time.monotonic() < deadline, "the stand-in never recorded the measuring turn's end"
        time.sleep(0.05)
    agent_body_bytes = completed[0]["bytesSent"]
    standin(stack, "POST", "/_standin/faults", {"fault": "stall-mid-stream", "afterBytes": agent_body_bytes, "seconds": 2})
    proxy = stack.processes["proxy"]
    session_id = new_session("frozen")
    frozen = False
    events = stream_invoke(stack.url, prompt, session_id=session_id, api_key=ALICE, timeout=30)
    try:
        for event in events:
            if event.name == "done":
                os.kill(proxy.pid, signal.SIGSTOP)
                frozen = True
                break
        assert frozen

        def closing_lines() -> tuple[list[dict], list[dict]]:
            lines = stack.log_records("proxy")
            return ([r for r in lines if r.get("message") == USAGE_RECORD_MESSAGE and r.get("sessionHash") == session_hash(session_id)],
                    [r for r in lines if r.get("message") == "stream finished" and r.get("sessionHash") == session_hash(session_id)])

        # The proxy is frozen: whatever of its output shows up now, it wrote before the freeze. The
        # test's own reader thread drains its pipe, which a loaded machine may take a while to do.
        deadline = time.monotonic() + 5
        while not all(closing_lines()) and time.monotonic() < deadline:
            time.sleep(0.1)
        records, finished = closing_lines()
        assert len(records) == 1 and records[0]["outcome"] == "done", "the usage record came after the last byte"
        assert len(finished) == 1
    finally:
        if frozen:
            os.kill(proxy.pid, signal.SIGCONT)
        events.close()
