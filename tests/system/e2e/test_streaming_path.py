"""The whole streaming path on loopback, with real servers: the public contract end to end.

client -> proxy (uvicorn, run.sh) -> AgentCore stand-in (real boto3 client, SigV4) -> agent
(BedrockAgentCoreApp + Strands + the offline model). Nothing is mocked.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.parse
from collections.abc import Iterator

import pytest

from client import Event, InvokeError, stream_invoke
from local.stack import LocalStack, StackSettings
from tests.support.streams import standin

PIECE_DELAY_MS = 100
KEEPALIVE_SECONDS = 0.3
MAX_PROMPT_CHARS = 200


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(
        offline_delay_ms=PIECE_DELAY_MS,
        keepalive_seconds=KEEPALIVE_SECONDS,
        max_prompt_chars=MAX_PROMPT_CHARS,
    )) as running:
        yield running


def standin_events(stack: LocalStack, kind: str | None = None) -> list[dict]:
    events = standin(stack, "GET", "/_standin/events")
    assert isinstance(events, list)
    return [event for event in events if kind is None or event["kind"] == kind]


def inject_fault(stack: LocalStack, fault: str, **options: object) -> None:
    standin(stack, "POST", "/_standin/faults", {"fault": fault, **options})


def read_trace(stack: LocalStack) -> list[dict]:
    # The offline model creates the file with its first piece.
    if not os.path.exists(stack.trace_file):
        return []
    with open(stack.trace_file) as trace:
        return [json.loads(line) for line in trace if line.strip()]


def collect(stack: LocalStack, prompt: str, **options: object) -> list[Event]:
    return list(stream_invoke(stack.url, prompt, timeout=30, **options))


def text_of(events: list[Event]) -> str:
    return "".join(event.data["text"] for event in events if event.name == "delta")


def post_raw(stack: LocalStack, body: bytes, content_type: str | None = "application/json", method: str = "POST",
             path: str = "/invoke") -> tuple[int, dict[str, str], dict]:
    parts = urllib.parse.urlsplit(stack.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        connection.close()


def test_text_arrives_incrementally_with_no_batching(stack: LocalStack) -> None:
    trace_before = len(read_trace(stack))
    events = collect(stack, "[[pieces:6]] count for me")
    produced = read_trace(stack)[trace_before:]
    assert [piece["index"] for piece in produced] == list(range(6))

    # A keep-alive may come first when a loaded machine (xdist workers, 2 cores) starts the model
    # later than KEEPALIVE_SECONDS; it carries no text, so it cannot hide a batched piece.
    assert [event.name for event in events if event.name != "keep-alive"] == ["start"] + ["delta"] * 6 + ["done"]
    deltas = [event for event in events if event.name == "delta"]
    assert text_of(events) == "w0 w1 w2 w3 w4 w5 "
    # The start event is on the client before the model produced anything ...
    assert events[0].received_at < produced[0]["t"]
    # ... and every piece reaches the client before the model produces the next one.
    for index in range(5):
        assert deltas[index].received_at < produced[index + 1]["t"], f"delta {index} was held back"
    # Each delta arrived in its own read: nothing on the path merged two pieces.
    assert len({delta.received_at for delta in deltas}) == 6


def test_start_and_done_carry_the_session_id(stack: LocalStack) -> None:
    events = collect(stack, "hello there")
    start, done = events[0], events[-1]
    assert start.name == "start" and done.name == "done"
    assert start.data["sessionId"] == done.data["sessionId"]
    assert start.data["requestId"]
    assert done.data.get("stopReason") == "end_turn"


def test_a_second_turn_with_the_session_id_sees_the_first(stack: LocalStack) -> None:
    first = collect(stack, "my name is Ada")
    session_id = first[0].data["sessionId"]
    second = collect(stack, "what is my name?", session_id=session_id)
    assert second[0].data["sessionId"] == session_id
    assert 'Earlier you said: "my name is Ada"' in text_of(second)
    assert "turn 2" in text_of(second)

    # A new conversation knows nothing of it.
    fresh = collect(stack, "what is my name?")
    assert fresh[0].data["sessionId"] != session_id
    assert "Ada" not in text_of(fresh)


def test_the_runtime_session_id_is_derived_not_the_client_handle(stack: LocalStack) -> None:
    collect(stack, "hi", session_id="client-handle-1")
    collect(stack, "hi again", session_id="client-handle-1")
    invocations = standin_events(stack, "invocation")[-2:]
    runtime_ids = {event["runtimeSessionId"] for event in invocations}
    assert len(runtime_ids) == 1, "one conversation must map to one AgentCore session"
    runtime_id = runtime_ids.pop()
    assert runtime_id != "client-handle-1" and 33 <= len(runtime_id) <= 256
    assert all(event["qualifier"] == "DEFAULT" for event in invocations)


BAD_REQUESTS = [
    # (body, content type, method, path, status, code)
    (b"{nope", "application/json", "POST", "/invoke", 400, "INVALID_BODY"),
    (b"\xff\xfe\x00", "application/json", "POST", "/invoke", 400, "INVALID_BODY"),
    (b"[]", "application/json", "POST", "/invoke", 400, "INVALID_BODY"),
    (b"{}", "application/json", "POST", "/invoke", 400, "MISSING_FIELD"),
    (b'{"prompt": ""}', "application/json", "POST", "/invoke", 400, "INVALID_FIELD"),
    (b'{"prompt": ["x"]}', "application/json", "POST", "/invoke", 400, "INVALID_FIELD"),
    (b'{"prompt": "hi", "sessionId": "no spaces allowed"}', "application/json", "POST", "/invoke", 400, "INVALID_FIELD"),
    (b'{"prompt": "hi", "stream": false}', "application/json", "POST", "/invoke", 400, "UNKNOWN_FIELD"),
    (json.dumps({"prompt": "x" * (MAX_PROMPT_CHARS + 1)}).encode(), "application/json", "POST", "/invoke", 400, "PROMPT_TOO_LONG"),
    (json.dumps({"prompt": "x" * 20_000}).encode(), "application/json", "POST", "/invoke", 413, "PAYLOAD_TOO_LARGE"),
    (b'{"prompt": "hi"}', "text/plain", "POST", "/invoke", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b'{"prompt": "hi"}', None, "POST", "/invoke", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b"", None, "GET", "/invoke", 405, "METHOD_NOT_ALLOWED"),
    (b"", None, "GET", "/", 404, "NOT_FOUND"),
    (b'{"prompt": "hi"}', "application/json", "POST", "/invoke/extra", 404, "NOT_FOUND"),
]


@pytest.mark.parametrize("body, content_type, method, path, status, code", BAD_REQUESTS)
def test_bad_requests_get_their_status_and_code_and_never_reach_the_agent(
    stack: LocalStack, body: bytes, content_type: str | None, method: str, path: str, status: int, code: str
) -> None:
    invocations_before = len(standin_events(stack, "invocation"))
    pieces_before = len(read_trace(stack))

    got_status, headers, document = post_raw(stack, body, content_type, method, path)

    assert (got_status, document["error"]["code"]) == (status, code)
    assert document["error"]["message"]
    assert headers["content-type"].startswith("application/json")
    assert headers["x-request-id"] == document["error"]["requestId"]
    if status == 405:
        assert headers["allow"] == "POST"
    assert len(standin_events(stack, "invocation")) == invocations_before
    assert len(read_trace(stack)) == pieces_before


def test_throttling_upstream_becomes_a_throttled_error_event_after_start(stack: LocalStack) -> None:
    # `start` goes out before AgentCore answers, so its refusal arrives as an error event, not a 429.
    inject_fault(stack, "ThrottlingException")
    events = collect(stack, "hello")
    names = [event.name for event in events if event.name != "keep-alive"]
    assert names == ["start", "error"], names
    error = events[-1].data
    assert error["code"] == "THROTTLED"
    assert isinstance(error["retryAfterSeconds"], int) and error["retryAfterSeconds"] > 0


def test_access_denied_upstream_becomes_an_upstream_error_event_without_internals(stack: LocalStack) -> None:
    inject_fault(stack, "AccessDeniedException")
    events = collect(stack, "hello")
    names = [event.name for event in events if event.name != "keep-alive"]
    assert names == ["start", "error"], names
    error = events[-1].data
    assert error["code"] == "UPSTREAM_ERROR"
    assert "AccessDenied" not in error["message"] and "arn:" not in error["message"]


def test_an_exception_inside_the_agent_becomes_a_sanitized_error_event(stack: LocalStack) -> None:
    events = collect(stack, "[[fail-after:2]] tell me")
    names = [event.name for event in events]
    assert names == ["start", "delta", "delta", "error"], names
    error = events[-1].data
    assert error["code"] == "AGENT_ERROR"
    raw = json.dumps([event.data for event in events])
    assert "SECRET-INTERNAL-DETAIL" not in raw
    assert "Traceback" not in raw and "RuntimeError" not in raw
    # The proxy's own log keeps the type for the operator, not the text.
    assert not any("SECRET-INTERNAL-DETAIL" in line for line in stack.logs("proxy"))


def test_a_silent_agent_produces_keep_alive_comments(stack: LocalStack) -> None:
    events = collect(stack, "[[pause:1.5]] [[pieces:1]] slow thinker")
    names = [event.name for event in events]
    first_delta = names.index("delta")
    keep_alives = names[:first_delta].count("keep-alive")
    # 1.5 s of silence at a 0.3 s interval: about five; at least three allows for a busy machine.
    assert keep_alives >= 3, names
    assert names[-1] == "done"


def finished_turns(stack: LocalStack) -> int:
    return sum('"turn_finished"' in line for line in stack.logs("agent"))


def test_a_client_that_leaves_does_not_stop_the_turn(stack: LocalStack) -> None:
    # As on AWS: AgentCore does not pass its caller's departure on to the agent, so the turn runs to
    # its end, for nobody. Only POST /stop (test_stop_path.py) ends it early.
    finished_before = finished_turns(stack)
    trace_before = len(read_trace(stack))
    stream = stream_invoke(stack.url, "[[pieces:20]] an answer nobody reads", timeout=30, stop_on_close=False)
    for event in stream:
        if event.name == "delta":
            break
    stream.close()

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and finished_turns(stack) == finished_before:
        time.sleep(0.05)
    assert finished_turns(stack) == finished_before + 1, "the turn did not run to its end"
    produced = [piece["index"] for piece in read_trace(stack)[trace_before:]]
    assert produced == list(range(20))
    ends = [event for event in standin_events(stack) if event["kind"] in ("completed", "client_disconnected")]
    assert ends and ends[-1]["kind"] == "client_disconnected"  # its caller had left; the answer ran on


def test_the_proxy_still_serves_after_faults(stack: LocalStack) -> None:
    assert text_of(collect(stack, "[[pieces:3]] still there?")) == "w0 w1 w2 "
