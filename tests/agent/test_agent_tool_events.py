"""Tool calls in the agent's own stream, served by the real app (issue 21): events, content opt-in, the bound."""

from __future__ import annotations

import pytest
from tests.support.agent_test_support import invoke, running_agent, session_id
from streaming_agent.settings import AgentConfigurationError, load_settings
from streaming_shared.agent_config import DEFAULT_MAX_TOOL_CALLS
from streaming_agent.tool_events import TurnToolCalls


def tool_events(events: list[dict]) -> list[dict]:
    return [event for event in events if event.get("type") == "tool"]


def test_by_default_tool_events_carry_no_input_and_no_result() -> None:
    with running_agent({"OFFLINE_MODEL_DELAY_MS": "0"}) as url:
        turn = invoke(url, '[[tool:word_count {"text": "private words here"}]]')
    assert [set(event) for event in tool_events(turn.events)] == [{"type", "toolUseId", "name", "status"}] * 2
    assert "private" not in str(tool_events(turn.events))


def test_with_tool_content_on_started_carries_the_input_and_the_last_event_the_result() -> None:
    with running_agent({"OFFLINE_MODEL_DELAY_MS": "0", "AGENT_STREAM_TOOL_CONTENT": "1"}) as url:
        turn = invoke(url, '[[tool:word_count {"text": "a b"}]] [[tool:current_time {"timezone": "Nowhere/City"}]]')
    started, finished, started_2, failed = tool_events(turn.events)
    assert started["input"] == {"text": "a b"} and "result" not in started
    assert finished["status"] == "finished" and finished["result"] == '{"words": 2, "characters": 3}'
    assert started_2["input"] == {"timezone": "Nowhere/City"}
    assert failed["status"] == "failed" and "unknown time zone 'Nowhere/City'" in failed["result"]


def test_the_bound_stops_the_turn_before_the_call_beyond_it_and_forgets_the_turn() -> None:
    session = session_id("tool-bound")
    with running_agent({"OFFLINE_MODEL_DELAY_MS": "0", "AGENT_MAX_TOOL_CALLS": "2"}) as url:
        turn = invoke(url, "[[tool:current_time]]" * 3, session=session)
        statuses = [event["status"] for event in tool_events(turn.events)]
        assert statuses == ["started", "finished"] * 2  # the third call never ran
        last = turn.events[-1]
        assert last["type"] == "tool_limit" and last["maxToolCalls"] == 2
        assert last["usage"]["outputTokens"] == 3  # three model calls, each asking for one tool
        assert not turn.deltas
        after = invoke(url, "hello", session=session)
    assert after.events[-1]["type"] == "done" and after.text.startswith("Offline model, turn 1.")


def test_a_turn_within_the_bound_is_not_stopped() -> None:
    with running_agent({"OFFLINE_MODEL_DELAY_MS": "0", "AGENT_MAX_TOOL_CALLS": "2"}) as url:
        turn = invoke(url, "[[tool:current_time]]" * 2)
    assert turn.events[-1]["type"] == "done"


def test_a_batch_is_admitted_whole_or_not_at_all() -> None:
    calls = TurnToolCalls(limit=3)
    assert calls.admit(2) and calls.calls == 2 and not calls.limit_reached
    assert not calls.admit(2) and calls.calls == 2 and calls.limit_reached


def test_tool_settings_default_and_are_checked() -> None:
    settings = load_settings({"AGENT_MODEL_PROVIDER": "offline"})
    assert (settings.max_tool_calls, settings.stream_tool_content) == (DEFAULT_MAX_TOOL_CALLS, False)
    for value in ("0", "1001", "many"):
        with pytest.raises(AgentConfigurationError, match="AGENT_MAX_TOOL_CALLS must be an integer from 1 to 1000"):
            load_settings({"AGENT_MODEL_PROVIDER": "offline", "AGENT_MAX_TOOL_CALLS": value})
    with pytest.raises(AgentConfigurationError, match="AGENT_STREAM_TOOL_CONTENT must be one of"):
        load_settings({"AGENT_MODEL_PROVIDER": "offline", "AGENT_STREAM_TOOL_CONTENT": "maybe"})


def test_a_failure_that_escapes_the_tool_chain_still_ends_with_failed() -> None:
    import asyncio
    from types import SimpleNamespace

    from streaming_agent.tool_events import PROGRESS_KEY, report_tool_progress

    async def breaking_chain(context: object):
        raise RuntimeError("the executor makes this an error result")
        yield  # pragma: no cover - an async generator

    context = SimpleNamespace(tool_use={"toolUseId": "t9", "name": "word_count", "input": {}}, invocation_state={})

    async def collect() -> list[dict]:
        seen: list[dict] = []
        with pytest.raises(RuntimeError):
            async for event in report_tool_progress(context, breaking_chain):  # type: ignore[arg-type]
                seen.append(event[PROGRESS_KEY])
        return seen

    assert [event["status"] for event in asyncio.run(collect())] == ["started", "failed"]
