"""A guardrail intervention end to end on loopback: agent -> proxy -> client (issue 13, guardrails; issue 18).

The offline model simulates Bedrock's guardrail on request ([[guardrail:input]] / [[guardrail:output]]
block, [[guardrail:mask]] masks a card number; agent/offline_model/model.py). The prompt
carries a marker that stands for the blocked text: an unblocked turn echoes it, a blocked one must
show it nowhere (stream, client output, logs). A masked answer is an answer: it ends with `done`.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator

import pytest

from client import stream_invoke
from client.__main__ import EXIT_AGENT_ERROR, parse_arguments, run
from local.stack import LocalStack, StackSettings
from streaming_shared.edge import CONTENT_BLOCKED, CONTENT_BLOCKED_MESSAGE

CARD_MASK = "{CREDIT_DEBIT_CARD_NUMBER}"

BLOCKED_MARKER = "FORBIDDEN-PAYLOAD-7731"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(offline_delay_ms=5)) as running:
        yield running


def events_of(stack: LocalStack, prompt: str, session_id: str | None = None) -> list:
    return list(stream_invoke(stack.url, prompt, session_id=session_id, timeout=30))


def test_without_a_simulated_intervention_the_marker_is_echoed(stack: LocalStack) -> None:
    # The control: the marker would reach the client if nothing blocked it.
    events = events_of(stack, f"say {BLOCKED_MARKER}")
    assert events[-1].name == "done"
    assert BLOCKED_MARKER in "".join(e.data.get("text", "") for e in events if e.name == "delta")


@pytest.mark.parametrize("where", ["input", "output"])
def test_an_intervention_ends_the_stream_with_content_blocked_and_no_blocked_text(stack: LocalStack, where: str) -> None:
    events = events_of(stack, f"[[guardrail:{where}]] say {BLOCKED_MARKER}")
    names = [event.name for event in events]
    assert names[0] == "start" and names[-1] == "error" and "done" not in names
    assert events[-1].data == {"code": CONTENT_BLOCKED, "message": CONTENT_BLOCKED_MESSAGE}
    wire = json.dumps([event.data for event in events])
    assert BLOCKED_MARKER not in wire
    for component in ("agent", "proxy", "standin"):
        assert not [line for line in stack.logs(component) if BLOCKED_MARKER in line], component
    agent_log = [json.loads(line) for line in stack.logs("agent") if line.startswith("{")]
    assert any(entry.get("event") == "turn_blocked" or entry.get("message") == "turn_blocked" for entry in agent_log), \
        agent_log[-5:]


def test_the_session_goes_on_after_a_blocked_turn_without_the_blocked_prompt(stack: LocalStack) -> None:
    first = events_of(stack, f"[[guardrail:input]] {BLOCKED_MARKER}", session_id="guardrail-session-1")
    assert first[-1].data["code"] == CONTENT_BLOCKED
    second = events_of(stack, "hello again", session_id="guardrail-session-1")
    assert second[-1].name == "done"
    answer = "".join(e.data.get("text", "") for e in second if e.name == "delta")
    # The blocked prompt was redacted from the history, so the model never sees it again.
    assert "turn 2" in answer and BLOCKED_MARKER not in answer and "redacted" in answer


def test_the_client_prints_the_readable_message_and_exits_with_the_agent_error_status(stack: LocalStack) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = run(parse_arguments([f"[[guardrail:output]] {BLOCKED_MARKER}", "--url", stack.url]), stdout, stderr)
    assert status == EXIT_AGENT_ERROR
    assert f"error: {CONTENT_BLOCKED}: {CONTENT_BLOCKED_MESSAGE}" in stderr.getvalue()
    assert BLOCKED_MARKER not in stdout.getvalue() + stderr.getvalue()


def answer_of(events: list) -> str:
    return "".join(e.data.get("text", "") for e in events if e.name == "delta")


def test_a_masked_answer_streams_with_its_mask_and_ends_with_done(stack: LocalStack) -> None:
    events = events_of(stack, "[[guardrail:mask]] what is my card?")
    assert events[-1].name == "done", events[-1]
    assert events[-1].data["stopReason"] == "guardrail_intervened"
    assert "error" not in [event.name for event in events]
    assert answer_of(events).endswith(f"The card number on file is {CARD_MASK}.")
    # The agent logs the turn's end after its last event leaves, so the line may come after `done`.
    deadline = time.monotonic() + 10
    while not turn_finished_masked(stack) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert turn_finished_masked(stack)
    assert not [line for line in stack.logs("agent") if "4111" in line]


def turn_finished_masked(stack: LocalStack) -> bool:
    agent_log = [json.loads(line) for line in stack.logs("agent") if line.startswith("{")]
    return any(entry.get("message") == "turn_finished" and entry.get("stopReason") == "guardrail_intervened"
               for entry in agent_log)


def test_the_client_prints_the_masked_answer_as_it_came(stack: LocalStack) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = run(parse_arguments(["[[guardrail:mask]] what is my card?", "--url", stack.url]), stdout, stderr)
    assert status == 0, stderr.getvalue()
    assert f"The card number on file is {CARD_MASK}." in stdout.getvalue()


def test_an_output_block_keeps_the_clean_prompt_in_the_session(stack: LocalStack) -> None:
    first = events_of(stack, f"[[guardrail:output]] tell me about {BLOCKED_MARKER}", session_id="guardrail-session-2")
    assert first[-1].data["code"] == CONTENT_BLOCKED
    second = events_of(stack, "go on", session_id="guardrail-session-2")
    assert second[-1].name == "done"
    # Only the answer was blocked: the prompt stays in the history (the model sees it again).
    assert f'Earlier you said: "tell me about {BLOCKED_MARKER}"' in answer_of(second)


def test_a_masked_value_in_an_earlier_turn_does_not_make_later_turns_intervene(stack: LocalStack) -> None:
    first = events_of(stack, "[[guardrail:mask]] my card", session_id="guardrail-session-3")
    assert first[-1].name == "done"
    for prompt in ("thanks", "one more"):
        later = events_of(stack, prompt, session_id="guardrail-session-3")
        assert later[-1].name == "done" and later[-1].data["stopReason"] == "end_turn", later[-1]
        assert CARD_MASK not in answer_of(later)
