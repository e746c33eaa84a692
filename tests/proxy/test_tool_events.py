"""The agent's tool events as the client sees them: the contract's fields, checked (issue 21)."""

import json

import pytest
from streaming_shared import edge
from streaming_proxy.app import AgentEvent, translate


def event_data(payload: bytes) -> dict:
    lines = payload.decode().splitlines()
    return json.loads(lines[1].removeprefix("data: "))


@pytest.mark.parametrize("status", ["started", "finished", "failed"])
def test_a_tool_event_reaches_the_client_with_the_contracts_fields_only(status: str) -> None:
    agent_event = {"type": "tool", "toolUseId": "tooluse_Ab1-x.y:z", "name": "current_time", "status": status,
                   "internal": "left out"}
    event = translate(json.dumps(agent_event), "s-1")
    assert (event.kind, event.terminal) == ("tool", False)
    assert event.payload.startswith(b"event: tool\n")
    assert event_data(event.payload) == {"toolUseId": "tooluse_Ab1-x.y:z", "name": "current_time", "status": status}


@pytest.mark.parametrize(
    "fields",
    [{"status": "running"}, {"status": None}, {"name": "bad name"}, {"name": ""}, {"name": "x" * 65},
     {"toolUseId": "id with spaces"}, {"toolUseId": "x" * 65}, {"toolUseId": 7}, {"name": ["current_time"]}],
)
def test_a_malformed_tool_event_is_dropped_not_forwarded(fields: dict) -> None:
    agent_event = {"type": "tool", "toolUseId": "tooluse_1", "name": "current_time", "status": "started", **fields}
    assert translate(json.dumps(agent_event), "s-1") == AgentEvent(None, False, "ignored")


def test_tool_input_and_result_pass_through_when_the_agent_streams_them() -> None:
    started = {"type": "tool", "toolUseId": "t1", "name": "word_count", "status": "started", "input": {"text": "a b"}}
    finished = {"type": "tool", "toolUseId": "t1", "name": "word_count", "status": "finished", "result": "2 words"}
    assert event_data(translate(json.dumps(started), "s").payload)["input"] == {"text": "a b"}
    assert event_data(translate(json.dumps(finished), "s").payload)["result"] == "2 words"
    # Of the wrong type, they are left out; the event itself still goes.
    odd = {**finished, "input": "not an object", "result": {"not": "text"}}
    assert set(event_data(translate(json.dumps(odd), "s").payload)) == {"toolUseId", "name", "status"}


def test_the_tool_call_limit_ends_the_stream_with_its_own_code_and_is_metered() -> None:
    usage = {"inputTokens": 40, "outputTokens": 4, "totalTokens": 44, "latencyMs": 9}
    event = translate(json.dumps({"type": "tool_limit", "maxToolCalls": 3, "usage": usage, "text": "agent words"}), "s")
    assert event.terminal and event.kind == edge.TOOL_CALL_LIMIT
    assert event.payload.startswith(b"event: error\n")
    assert event_data(event.payload) == {"code": "TOOL_CALL_LIMIT", "message": edge.TOOL_CALL_LIMIT_MESSAGE}
    assert event.usage is not None and event.usage.input_tokens == 40
    assert b"agent words" not in event.payload
