"""The relay's pure parts: one agent event translated, and the stream's statistics."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming_shared import edge
from streaming_proxy import contract
from streaming_proxy.app import AgentEvent, StreamRecord, translate


def event_data(payload: bytes) -> dict:
    lines = payload.decode().split("\n")  # SSE lines end at \n only (not at U+0085 and the like)
    return json.loads(lines[1].removeprefix("data: "))


def test_delta_forms_become_the_same_client_event():
    for payload in ('"Hi"', '{"type": "delta", "text": "Hi"}', '{"data": "Hi"}'):
        event = translate(payload, "s-1")
        assert (event.kind, event.answer_text, event.terminal) == ("delta", "Hi", False)
        assert event_data(event.payload) == {"text": "Hi"}


def test_done_keeps_usage_and_stop_reason_and_names_the_session():
    usage = {"inputTokens": 4, "outputTokens": 3, "totalTokens": 7, "latencyMs": 12}
    event = translate(json.dumps({"type": "done", "stopReason": "end_turn", "usage": usage, "x": 1}), "s-1")
    assert event.terminal and event.kind == "done"
    assert event_data(event.payload) == {"sessionId": "s-1", "stopReason": "end_turn", "usage": usage}


def test_agent_error_reports_only_its_type_and_never_its_text():
    event = translate('{"error": "secret prompt text", "error_type": "ValueError", "message": "boom"}', "s-1")
    assert event.terminal and event.kind == edge.AGENT_ERROR
    assert event.agent_error_type == "ValueError"
    assert b"secret" not in event.payload and b"boom" not in event.payload


def test_unreadable_and_unknown_payloads():
    assert translate("{not json", "s-1").kind == edge.UPSTREAM_PROTOCOL_ERROR
    assert translate("[1, 2]", "s-1") == AgentEvent(None, False, "ignored")
    assert translate('{"type": "tool"}', "s-1") == AgentEvent(None, False, "ignored")


def test_stream_record_counts_deltas_and_keeps_the_answer_only_when_asked():
    record = StreamRecord(started=0.0, answer=[])
    record.count(AgentEvent(b"x", False, "delta", "He"))
    record.count(AgentEvent(b"x", False, "delta", "llo"))
    record.count(AgentEvent(None, False, "ignored"))
    summary = record.summary()
    assert summary["deltas"] == 2 and summary["answer"] == "Hello" and summary["firstDeltaMs"] is not None
    assert "answer" not in StreamRecord(started=0.0).summary()


def test_a_guardrail_block_becomes_content_blocked_with_the_proxys_own_message():
    event = translate('{"type": "blocked", "reason": "guardrail", "text": "the blocked words"}', "s-1")
    assert event.terminal and event.kind == edge.CONTENT_BLOCKED
    assert event.payload.startswith(b"event: error\n")
    assert event_data(event.payload) == {"code": "CONTENT_BLOCKED", "message": edge.CONTENT_BLOCKED_MESSAGE}
    assert b"blocked words" not in event.payload


# -- the agent's own delta, forwarded without decoding and encoding it again ------------------------


def slow_path(payload: str) -> AgentEvent:
    """translate() as it was before the pass-through: json.loads, then contract.sse_event."""
    value = json.loads(payload)
    return AgentEvent(contract.sse_event("delta", {"text": value["text"]}), False, "delta", value["text"])


@settings(max_examples=1500, deadline=None)
@given(text=st.text())
def test_the_agents_delta_passes_through_byte_identical_to_the_slow_path(text: str) -> None:
    payload = json.dumps({"type": "delta", "text": text}, ensure_ascii=False)  # as BedrockAgentCoreApp writes it
    event = translate(payload, "s-1")
    expected = slow_path(payload)
    assert (event.payload, event.kind, event.terminal, event.answer_text) == (
        expected.payload, "delta", False, expected.text)


@settings(max_examples=1500, deadline=None)
@given(text=st.text(), ensure_ascii=st.booleans(), separators=st.sampled_from([None, (",", ":"), (", ", ": ")]),
       extra=st.dictionaries(st.sampled_from(["x", "usage", "text2"]), st.integers(), max_size=1))
def test_any_delta_the_slow_path_takes_reaches_the_client_as_the_same_event(
    text: str, ensure_ascii: bool, separators: tuple[str, str] | None, extra: dict[str, int]
) -> None:
    payload = json.dumps({"type": "delta", "text": text, **extra}, ensure_ascii=ensure_ascii, separators=separators)
    event = translate(payload, "s-1")
    assert event_data(event.payload) == event_data(slow_path(payload).payload)
    assert event.answer_text == text


@pytest.mark.parametrize("payload", [
    '{"type": "delta", "text": "a\nb"}',          # a raw newline: not JSON, never forwarded
    '{"type": "delta", "text": "a\\x41"}',        # an escape JSON does not have
    '{"type": "delta", "text": "a\\ud800"}',      # a lone surrogate escape: the slow path replaces it
    '{"type": "delta", "text": "a"} ',            # anything after the object
    '{"type": "delta", "text": "a" }',
    '{"type": "delta", "text": "a\\"}',           # an unterminated string
])
def test_what_is_not_exactly_the_agents_delta_takes_the_checked_path(payload: str) -> None:
    event = translate(payload, "s-1")
    try:
        expected = slow_path(payload).payload
    except ValueError:
        expected = None
    if expected is None:
        assert event.kind == edge.UPSTREAM_PROTOCOL_ERROR
    else:
        assert event.payload == expected
    assert event.text_literal is None


def test_the_agents_delta_is_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: every delta went through json.loads and json.dumps (about 3 µs of the proxy's CPU per event).
    import streaming_proxy.app as app_module

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr(app_module.json, "loads", refuse)
    event = translate('{"type": "delta", "text": "caf\\u00e9 \\"x\\" \\n"}', "s-1")
    monkeypatch.undo()
    assert event_data(event.payload) == {"text": 'café "x" \n'}


def test_a_long_or_malformed_delta_is_checked_in_linear_time() -> None:
    # A 1 MB text, and one that never closes its string: each in well under a second (no backtracking).
    import time

    for payload in ('{"type": "delta", "text": "' + "ab\\n" * 300_000 + '"}',
                    '{"type": "delta", "text": "' + "ab\\n" * 300_000 + "x"):
        started = time.monotonic()
        translate(payload, "s-1")
        assert time.monotonic() - started < 0.5
