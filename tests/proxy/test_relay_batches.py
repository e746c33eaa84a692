"""The relay works per read, not per event: many agent events that arrive together go out together,
each still checked, counted and translated exactly as one at a time; a fault in the middle of a batch
delivers the events before it and then the contract's error; an event split anywhere is whole."""

from __future__ import annotations

import io
import json
import socket
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from streaming_proxy.app import create_app, translate
from streaming_shared import edge
from streaming_shared.edge import load_settings
from streaming_shared.jsonlog import JsonLogger
from streaming_proxy.sse import SseDecoder, SseProtocolError
from tests.support.fake_agentcore import CHUNKED_HEAD, FakeAgentCore, chunk

ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/my_agent-AbCdEf1234"
DONE = {"type": "done", "stopReason": "end_turn",
        "usage": {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7, "latencyMs": 40}}


def frame(value: Any) -> bytes:
    """The agent's framing of one value (BedrockAgentCoreApp: json.dumps, ensure_ascii=False)."""
    return b"data: " + json.dumps(value, ensure_ascii=False).encode() + b"\n\n"


def delta(text: str) -> bytes:
    return frame({"type": "delta", "text": text})


def together(*chunks: bytes, end: bool = True) -> Any:
    """An answer whose chunks all reach the proxy in one piece (one read), as in a burst."""

    def answer(sock: socket.socket) -> None:
        sock.sendall(CHUNKED_HEAD + b"".join(map(chunk, chunks)) + (b"0\r\n\r\n" if end else b""))

    return answer


def relay(answer: Any, **environment: str) -> tuple[list[tuple[str, Any]], list[dict[str, Any]], str]:
    """The client's events after `start`, as (event, data), the proxy's log lines, and the body after `start`."""
    log = io.StringIO()
    settings = load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_KEEPALIVE_SECONDS": "5", **environment})
    app = create_app(settings, FakeAgentCore(answer), JsonLogger("proxy", "INFO", log, defer_in_loop=False))
    text = TestClient(app).post("/invoke", json={"prompt": "hello", "sessionId": "s-1"}).text
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if line and not line.startswith(":"))
        if fields:
            events.append((fields["event"], json.loads(fields["data"])))
    assert events[0][0] == "start"
    return events[1:], [json.loads(line) for line in log.getvalue().splitlines()], text.split("\n\n", 1)[1]


def finished(log: list[dict[str, Any]]) -> dict[str, Any]:
    [line] = [line for line in log if line["message"] == "stream finished"]
    return line


def test_many_events_in_one_read_are_each_sent_and_counted():
    texts = [f"w{index} é\"\\n " for index in range(500)]
    events, log, _ = relay(together(b"".join(map(delta, texts)) + frame(DONE)), PROXY_LOG_CONTENT="true")
    assert events[:-1] == [("delta", {"text": text}) for text in texts]
    assert events[-1] == ("done", {"sessionId": "s-1", "stopReason": "end_turn", "usage": DONE["usage"]})
    line = finished(log)
    assert (line["deltas"], line["outcome"], line["answer"]) == (500, "done", "".join(texts))
    [usage] = [line for line in log if line["message"] == "turn usage"]
    assert usage["OutputTokens"] == 2


@pytest.mark.parametrize("split_into_chunks", [False, True])
@pytest.mark.parametrize(
    "fault",
    [
        b"this line is no SSE field\n\n",  # the event stream itself is broken
        b"data: \xff\xfe\n\n",  # not UTF-8
        b"data: {not json\n\n",  # an agent event that is no JSON
    ],
)
def test_a_fault_in_the_middle_of_a_batch_delivers_the_events_before_it_then_the_error(
    fault: bytes, split_into_chunks: bool
):
    before = delta("one ") + delta("two ")
    after = delta("never ") + frame(DONE)
    chunks = (delta("one "), delta("two "), fault, after) if split_into_chunks else (before + fault + after,)
    events, log, _ = relay(together(*chunks))
    unreadable = {"code": edge.UPSTREAM_PROTOCOL_ERROR, "message": "The agent sent an unreadable answer."}
    assert events == [("delta", {"text": "one "}), ("delta", {"text": "two "}), ("error", unreadable)]
    assert (finished(log)["deltas"], finished(log)["outcome"]) == (2, edge.UPSTREAM_PROTOCOL_ERROR)


def test_the_stream_ends_at_the_first_terminal_event_of_a_batch():
    agent_error = frame({"error": "secret", "error_type": "ValueError"})
    events, log, _ = relay(together(delta("a") + agent_error + delta("b") + b"garbage\n\n"))
    assert events == [("delta", {"text": "a"}),
                      ("error", {"code": edge.AGENT_ERROR, "message": "The agent failed while answering."})]
    assert finished(log)["outcome"] == edge.AGENT_ERROR


# Every kind of agent event the relay knows, well and badly formed, as the agent would frame them.
AGENT_EVENTS = st.one_of(
    st.text(max_size=12).map(lambda text: frame({"type": "delta", "text": text})),
    st.text(max_size=6).map(frame),  # an entrypoint that yields plain strings
    st.text(max_size=6).map(lambda text: frame({"data": text})),  # a raw Strands event
    st.sampled_from([
        frame({"type": "delta", "text": 5}),
        frame({"type": "delta", "text": "x", "extra": 1}),
        b'data: {"type":"delta","text":"compact"}\n\n',
        b'data: {"type": "delta", "text": "\\ud800 lone"}\n\n',
        b'data: {"type": "delta", "text": "\\u00e9 escaped"}\n\n',
        frame({"type": "tool", "toolUseId": "t-1", "name": "calc", "status": "started", "input": {"a": 1}}),
        frame({"type": "tool", "toolUseId": "bad id!", "name": "calc", "status": "started"}),
        frame({"type": "unknown"}),
        frame([1, 2]),
        b": a comment\n\n",
        b"event: message\ndata: \"two\"\ndata: \"lines\"\n\n",
        b"data: \"crlf\"\r\n\r\n",
    ]),
)
TERMINAL_EVENTS = st.sampled_from([
    frame(DONE),
    frame({"type": "done", "usage": {"inputTokens": -1}}),
    frame({"type": "blocked", "usage": DONE["usage"]}),
    frame({"type": "tool_limit"}),
    frame({"error": "x", "error_type": "E"}),
    b"data: {not json\n\n",
])


@given(
    body=st.lists(AGENT_EVENTS, max_size=12), last=TERMINAL_EVENTS, cuts=st.lists(st.integers(0, 10_000), max_size=5)
)
@settings(max_examples=60, deadline=None)
def test_a_batch_is_translated_exactly_as_its_events_one_at_a_time(body: list[bytes], last: bytes, cuts: list[int]):
    raw = b"".join(body) + last
    points = sorted({0, len(raw), *(cut % (len(raw) + 1) for cut in cuts)})
    chunks = [raw[start:end] for start, end in zip(points, points[1:])]
    events, log, sent = relay(together(*chunks))
    # One at a time: each agent event decoded alone and translated alone, up to the first terminal one.
    expected = []
    for one in [*body, last]:
        translated = [translate(payload, "s-1") for payload in SseDecoder().feed(one)]
        expected += [event.payload for event in translated if event.payload is not None]
        if any(event.terminal for event in translated):
            break
    assert sent == b"".join(expected).decode()
    assert finished(log)["deltas"] == sum(1 for payload in expected if payload.startswith(b"event: delta"))


# -- the decoder on its own ------------------------------------------------------------------------

EVENT_FORMS = st.one_of(
    st.text(max_size=10).map(lambda text: (("data: " + json.dumps(text) + "\n\n").encode(), [json.dumps(text)])),
    st.sampled_from([
        (b"data: x\r\n\r\n", ["x"]),
        (b"data:no space\n\n", ["no space"]),
        (b"data: a\ndata: b\n\n", ["a\nb"]),
        (b": comment\n", []),
        (b"\n\n\n", []),
        (b"event: e\nid: 1\nretry: 5\ndata: y\n\n", ["y"]),
        (b"data: \n\n", [""]),
        ("data: \"héllo 👋\"\n\n".encode(), ['"héllo 👋"']),
    ]),
)


@given(forms=st.lists(EVENT_FORMS, max_size=15), cuts=st.lists(st.integers(0, 10_000), max_size=8))
@settings(max_examples=300, deadline=None)
def test_events_split_anywhere_decode_as_a_whole(forms: list[tuple[bytes, list[str]]], cuts: list[int]):
    raw = b"".join(form for form, _ in forms)
    points = sorted({0, len(raw), *(cut % (len(raw) + 1) for cut in cuts)})
    decoder = SseDecoder()
    decoded = []
    for start, end in zip(points, points[1:]):
        decoded += decoder.feed(raw[start:end])
    assert decoded == [data for _, events in forms for data in events]
    assert not decoder.has_partial_event


@pytest.mark.parametrize("fault", [b"garbage\n", b"data: \xff\n\n", b"nocolon\r\n"])
def test_a_fault_carries_the_events_completed_before_it(fault: bytes):
    decoder = SseDecoder()
    with pytest.raises(SseProtocolError) as error:
        decoder.feed(b'data: "a"\n\ndata: "b"\n\n' + fault + b'data: "c"\n\n')
    assert error.value.completed == ['"a"', '"b"']
