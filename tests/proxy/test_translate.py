"""The relay's pure parts: one agent event translated, and the stream's statistics."""

import json

from streaming_proxy import contract
from streaming_proxy.app import AgentEvent, StreamRecord, translate


def event_data(payload: bytes) -> dict:
    lines = payload.decode().splitlines()
    return json.loads(lines[1].removeprefix("data: "))


def test_delta_forms_become_the_same_client_event():
    for payload in ('"Hi"', '{"type": "delta", "text": "Hi"}', '{"data": "Hi"}'):
        event = translate(payload, "s-1")
        assert (event.kind, event.text, event.terminal) == ("delta", "Hi", False)
        assert event_data(event.payload) == {"text": "Hi"}


def test_done_keeps_usage_and_stop_reason_and_names_the_session():
    usage = {"inputTokens": 4, "outputTokens": 3, "totalTokens": 7, "latencyMs": 12}
    event = translate(json.dumps({"type": "done", "stopReason": "end_turn", "usage": usage, "x": 1}), "s-1")
    assert event.terminal and event.kind == "done"
    assert event_data(event.payload) == {"sessionId": "s-1", "stopReason": "end_turn", "usage": usage}


def test_agent_error_reports_only_its_type_and_never_its_text():
    event = translate('{"error": "secret prompt text", "error_type": "ValueError", "message": "boom"}', "s-1")
    assert event.terminal and event.kind == contract.AGENT_ERROR
    assert event.agent_error_type == "ValueError"
    assert b"secret" not in event.payload and b"boom" not in event.payload


def test_unreadable_and_unknown_payloads():
    assert translate("{not json", "s-1").kind == contract.UPSTREAM_PROTOCOL_ERROR
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
    assert event.terminal and event.kind == contract.CONTENT_BLOCKED
    assert event.payload.startswith(b"event: error\n")
    assert event_data(event.payload) == {"code": "CONTENT_BLOCKED", "message": contract.CONTENT_BLOCKED_MESSAGE}
    assert b"blocked words" not in event.payload
