"""Tool calls end to end on loopback: agent (Strands' real tool loop) -> stand-in -> proxy -> client (issue 21).

The offline model asks for a tool with [[tool:NAME {input}]] (a real toolUse content block), Strands
runs the real tool from agent/streaming_agent/tools.py, and the model's next reply echoes its result.
"""

from __future__ import annotations

import io
import threading
import time
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from client import stop_turn, stream_invoke
from client.__main__ import EXIT_AGENT_ERROR, EXIT_DONE, parse_arguments, run
from local.stack import LocalStack, StackSettings
from streaming_shared.edge import (
    CONTENT_BLOCKED,
    INPUT_TOKENS_METRIC,
    STREAM_TIMEOUT,
    TOOL_CALL_LIMIT,
    TOOL_CALL_LIMIT_MESSAGE,
    USAGE_RECORD_MESSAGE,
)
from tests.support.agent_copy import agent_copy_with_tools

BLOCKED_MARKER = "FORBIDDEN-PAYLOAD-4417"
MAX_TOOL_CALLS = 3


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    settings = StackSettings(offline_delay_ms=5, agent_env={"AGENT_MAX_TOOL_CALLS": str(MAX_TOOL_CALLS)})
    with LocalStack(settings) as running:
        yield running


def events_of(stack: LocalStack, prompt: str, session_id: str | None = None) -> list:
    return list(stream_invoke(stack.url, prompt, session_id=session_id, timeout=30))


def answer_of(events: list) -> str:
    return "".join(e.data.get("text", "") for e in events if e.name == "delta")


def shape(events: list) -> list[str]:
    """Event names, runs of deltas collapsed, tool events with their status."""
    names: list[str] = []
    for event in events:
        if event.name == "keep-alive":
            continue
        name = f"tool:{event.data['status']}" if event.name == "tool" else event.name
        if not (name == "delta" and names and names[-1] == "delta"):
            names.append(name)
    return names


def test_a_tool_call_streams_started_finished_the_answer_and_done_in_that_order(stack: LocalStack) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    events = events_of(stack, "What time is it? [[tool:current_time]]")
    assert shape(events) == ["start", "tool:started", "tool:finished", "delta", "done"]
    started, finished = (e.data for e in events if e.name == "tool")
    assert set(started) == {"toolUseId", "name", "status"}  # no input or result by default
    assert started["name"] == finished["name"] == "current_time"
    assert started["toolUseId"] == finished["toolUseId"] == "tooluse_offline_1_1"
    # The model's next reply echoes what the real tool returned: the time now, in UTC.
    answer = answer_of(events)
    assert "Tool current_time returned:" in answer
    said = datetime.fromisoformat(answer.split('returned: "')[1].split('"')[0])
    assert said.utcoffset().total_seconds() == 0
    assert before <= said <= datetime.now(timezone.utc)


def test_done_usage_counts_both_model_calls_of_the_turn(stack: LocalStack) -> None:
    prompt = "clock please [[tool:current_time]]"
    events = events_of(stack, prompt)
    usage = events[-1].data["usage"]
    words = len(prompt.split())
    # Call 1 reads the prompt and asks for the tool (1 output token); call 2 reads the prompt again
    # (tool requests and results are not counted) and streams the answer, one token per delta.
    deltas = sum(1 for e in events if e.name == "delta")
    assert usage["inputTokens"] == 2 * words
    assert usage["outputTokens"] == 1 + deltas
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]


def test_text_before_and_after_a_tool_call_streams_as_deltas(stack: LocalStack) -> None:
    events = events_of(stack, "[[narrate]] [[tool:word_count {\"text\": \"one two three\"}]]")
    assert shape(events) == ["start", "delta", "tool:started", "tool:finished", "delta", "done"]
    first_tool = next(i for i, e in enumerate(events) if e.name == "tool")
    assert answer_of(events[:first_tool]) == "Calling word_count. "
    assert '"words": 3' in answer_of(events[first_tool:])


def test_a_tool_that_raises_gives_failed_the_model_is_told_and_the_session_goes_on(stack: LocalStack) -> None:
    session = "tool-failure-session"
    events = events_of(stack, '[[tool:current_time {"timezone": "Mars/Olympus_Mons"}]]', session_id=session)
    assert shape(events) == ["start", "tool:started", "tool:failed", "delta", "done"]
    answer = answer_of(events)
    assert "Tool current_time failed:" in answer and "unknown time zone 'Mars/Olympus_Mons'" in answer
    after = events_of(stack, "and now?", session_id=session)
    assert after[-1].name == "done" and "turn 2" in answer_of(after)


def test_a_runaway_loop_of_tool_calls_ends_with_its_own_error_and_the_session_goes_on(stack: LocalStack) -> None:
    session = "tool-runaway-session"
    events = events_of(stack, "[[tool:current_time]]" * (MAX_TOOL_CALLS + 1), session_id=session)
    assert shape(events) == ["start", *["tool:started", "tool:finished"] * MAX_TOOL_CALLS, "error"]
    assert events[-1].data == {"code": TOOL_CALL_LIMIT, "message": TOOL_CALL_LIMIT_MESSAGE}
    # The stopped turn is not kept: the next one is the session's first answer.
    after = events_of(stack, "hello", session_id=session)
    assert after[-1].name == "done" and "turn 1." in answer_of(after)
    # The stopped turn spent tokens, and is metered with its own outcome.
    records = [r for r in stack.log_records("proxy") if r.get("message") == USAGE_RECORD_MESSAGE]
    limited = [r for r in records if r.get("outcome") == f"error:{TOOL_CALL_LIMIT}"]
    assert len(limited) == 1 and limited[0][INPUT_TOKENS_METRIC] > 0, records[-3:]
    agent_lines = [r for r in stack.log_records("agent") if r.get("message") == "turn_tool_limit"]
    assert len(agent_lines) == 1 and agent_lines[0]["toolCalls"] == MAX_TOOL_CALLS, agent_lines


def test_tool_input_and_result_never_reach_a_log(stack: LocalStack) -> None:
    marker = "PRIVATE-TOOL-INPUT-5521"
    # The marker is word_count's input, and in current_time's result (the refused zone is quoted).
    events = events_of(stack, f'[[tool:word_count {{"text": "{marker} here"}}]] [[tool:current_time {{"timezone": "{marker}"}}]]')
    assert events[-1].name == "done" and marker in answer_of(events)  # the model saw it, as it should
    for component in ("agent", "proxy", "standin"):
        assert not [line for line in stack.logs(component) if marker in line], component


def test_the_guardrail_blocks_an_answer_after_a_tool_call(stack: LocalStack) -> None:
    events = events_of(stack, f"[[tool:current_time]] [[guardrail:output]] say {BLOCKED_MARKER}")
    assert shape(events) == ["start", "tool:started", "tool:finished", "delta", "error"]
    assert events[-1].data["code"] == CONTENT_BLOCKED
    assert BLOCKED_MARKER not in json.dumps([e.data for e in events])


def test_a_prompt_the_guardrail_blocks_never_reaches_a_tool(stack: LocalStack) -> None:
    events = events_of(stack, f"[[tool:current_time]] [[guardrail:input]] {BLOCKED_MARKER}")
    assert [e.name for e in events] == ["start", "delta", "error"]
    assert events[-1].data["code"] == CONTENT_BLOCKED


def test_the_client_prints_tool_lines_on_stderr_and_only_the_answer_on_stdout(stack: LocalStack) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = run(parse_arguments(["[[tool:current_time]]", "--url", stack.url]), stdout, stderr)
    assert status == EXIT_DONE
    assert "tool: using current_time...\ntool: current_time done\n" in stderr.getvalue()
    assert stdout.getvalue().startswith("Offline model, turn 1. Tool current_time returned:")
    assert "tool:" not in stdout.getvalue()


def test_the_client_json_mode_passes_tool_events_through(stack: LocalStack) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = run(parse_arguments(["[[tool:current_time]]", "--url", stack.url, "--json"]), stdout, stderr)
    assert status == EXIT_DONE
    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    tools = [line["data"] for line in lines if line["event"] == "tool"]
    assert [tool["status"] for tool in tools] == ["started", "finished"]
    assert stderr.getvalue().count("tool:") == 0


def test_the_client_reports_the_tool_call_limit_as_an_agent_error(stack: LocalStack) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = run(parse_arguments(["[[tool:word_count {\"text\": \"x\"}]]" * (MAX_TOOL_CALLS + 1), "--url", stack.url]),
                 stdout, stderr)
    assert status == EXIT_AGENT_ERROR
    assert f"error: {TOOL_CALL_LIMIT}: {TOOL_CALL_LIMIT_MESSAGE}" in stderr.getvalue()


SLOW_TOOL = '''
import time as _time


@tool
def slow_lookup(seconds: float) -> str:
    """Wait, then answer (a test's stand-in for a slow tool).

    Args:
        seconds: How long to wait.
    """
    _time.sleep(seconds)
    return "looked up"


TOOLS = [*TOOLS, slow_lookup]
'''


def test_the_stream_limit_cuts_a_turn_during_a_slow_tool_call(tmp_path: Path) -> None:
    settings = StackSettings(offline_delay_ms=5, stream_timeout_seconds=2, keepalive_seconds=0.5,
                             agent_dir=agent_copy_with_tools(tmp_path, SLOW_TOOL))
    with LocalStack(settings) as running:
        events = list(stream_invoke(running.url, '[[tool:slow_lookup {"seconds": 6}]]', timeout=30))
    assert shape(events) == ["start", "tool:started", "error"]
    assert events[-1].data["code"] == STREAM_TIMEOUT


def test_stop_during_a_slow_tool_call_ends_the_turn_once_the_tool_returns(tmp_path: Path) -> None:
    # Issue 21: stop behaves the same during a tool call. Strands lets a running sync tool finish
    # (it cannot interrupt the tool's thread), then ends the turn with "cancelled".
    tool_seconds = 3.0
    settings = StackSettings(offline_delay_ms=5, agent_dir=agent_copy_with_tools(tmp_path, SLOW_TOOL))
    with LocalStack(settings) as running:
        session = "stop-during-tool-0001"
        events: list = []
        arrived: list[float] = []
        tool_started = threading.Event()

        def read() -> None:
            prompt = f'[[tool:slow_lookup {{"seconds": {tool_seconds}}}]]'
            for event in stream_invoke(running.url, prompt, session_id=session, timeout=30):
                events.append(event)
                arrived.append(time.monotonic())
                if event.name == "tool" and event.data["status"] == "started":
                    tool_started.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert tool_started.wait(30), "the tool never started"
        tool_returns_at = arrived[-1] + tool_seconds
        assert stop_turn(running.url, session) is True
        reader.join(30)
        assert not reader.is_alive()
        assert events[-1].name == "done" and events[-1].data["stopReason"] == "cancelled"
        # Not before the tool returned (README, "Stopping a turn"), and within 2 s of it.
        assert tool_returns_at - 0.5 < arrived[-1] < tool_returns_at + 2.0
        # The stopped turn left nothing behind: the session's next turn is its first and answers normally.
        following = events_of(running, "and now?", session)
        assert following[-1].name == "done" and following[-1].data["stopReason"] == "end_turn"
        assert answer_of(following) == 'Offline model, turn 1. You said: "and now?".'
