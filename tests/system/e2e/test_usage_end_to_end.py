"""Usage metering end to end on loopback: client -> proxy -> stand-in -> agent with the offline model.

The `done` event's usage is the offline model's own count (input: words of the conversation sent to
the model; output: pieces streamed), and the proxy writes exactly one usage record per turn, also for
a failed turn and a client that left, with no prompt or answer text and a valid EMF document.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from client import Event, stream_invoke
from local.stack import LOCAL_METRICS_NAMESPACE, LocalStack, StackSettings
from streaming_shared.edge import USAGE_RECORD_MESSAGE
from streaming_shared.jsonlog import session_hash
from tests.support.emf import emf_metrics, emf_problems

# A word no answer and no log may ever contain unless the prompt leaked.
MARKER = "quokkaplatypus"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(offline_delay_ms=5, keepalive_seconds=0.3)) as running:
        yield running


def new_session(label: str) -> str:
    return f"usage-{label}-{uuid.uuid4().hex[:12]}"


def collect(stack: LocalStack, prompt: str, session_id: str) -> list[Event]:
    return list(stream_invoke(stack.url, prompt, session_id=session_id, timeout=30))


def proxy_records(stack: LocalStack) -> list[dict[str, Any]]:
    return stack.log_records("proxy")


def usage_records_for(stack: LocalStack, session_id: str, count: int, seconds: float = 10.0) -> list[dict[str, Any]]:
    """The session's usage records once `count` have been logged, and a little longer (to catch a double)."""
    wanted = session_hash(session_id)
    deadline = time.monotonic() + seconds
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = [r for r in proxy_records(stack) if r.get("message") == USAGE_RECORD_MESSAGE
                 and r.get("sessionHash") == wanted]
        if len(found) >= count:
            time.sleep(0.3)  # the stream has ended: a second record would already be on its way
            return [r for r in proxy_records(stack) if r.get("message") == USAGE_RECORD_MESSAGE
                    and r.get("sessionHash") == wanted]
        time.sleep(0.05)
    return found


def words(text: str) -> int:
    return len(text.split())


def text_of(events: list[Event]) -> str:
    return "".join(event.data["text"] for event in events if event.name == "delta")


def test_done_usage_is_the_offline_models_count_and_the_record_repeats_it(stack: LocalStack) -> None:
    session_id = new_session("done")
    first_prompt = f"please count my {MARKER} words"
    first = collect(stack, first_prompt, session_id)
    second_prompt = f"and {MARKER} again"
    second = collect(stack, second_prompt, session_id)

    first_usage = first[-1].data["usage"]
    deltas = [event for event in first if event.name == "delta"]
    assert (first_usage["inputTokens"], first_usage["outputTokens"]) == (words(first_prompt), len(deltas))
    assert first_usage["totalTokens"] == first_usage["inputTokens"] + first_usage["outputTokens"]
    assert isinstance(first_usage["latencyMs"], int) and first_usage["latencyMs"] >= 0
    # The second turn sends the whole conversation to the model, and reports this turn's count only.
    second_usage = second[-1].data["usage"]
    expected_input = words(first_prompt) + words(text_of(first)) + words(second_prompt)
    expected_output = sum(1 for event in second if event.name == "delta")
    assert (second_usage["inputTokens"], second_usage["outputTokens"]) == (expected_input, expected_output)

    records = usage_records_for(stack, session_id, 2)
    assert [record["outcome"] for record in records] == ["done", "done"]
    for record, usage in zip(records, (first_usage, second_usage)):
        assert (record["InputTokens"], record["OutputTokens"], record["TotalTokens"], record["modelLatencyMs"]) == (
            usage["inputTokens"], usage["outputTokens"], usage["totalTokens"], usage["latencyMs"])
        assert record["caller"] == "anonymous" and record["requestId"]
        assert record["TurnDurationMs"] > 0 and emf_problems(record) == []
        assert {namespace for namespace, _, _ in emf_metrics(record)} == {LOCAL_METRICS_NAMESPACE}


def test_an_agent_failure_is_one_record_with_its_error_code_and_no_tokens(stack: LocalStack) -> None:
    session_id = new_session("error")
    events = collect(stack, f"{MARKER} [[fail-after:2]]", session_id)
    assert events[-1].name == "error" and events[-1].data["code"] == "AGENT_ERROR"

    [record] = usage_records_for(stack, session_id, 1)
    assert record["outcome"] == "error:AGENT_ERROR"
    assert (record["InputTokens"], record["OutputTokens"], record["TotalTokens"]) == (None, None, None)
    assert emf_problems(record) == []


def test_a_client_that_leaves_is_one_record_as_client_disconnected(stack: LocalStack) -> None:
    session_id = new_session("leaver")
    events = stream_invoke(stack.url, f"{MARKER} [[pieces:2]] [[pause:30]]", session_id=session_id, timeout=30,
                           stop_on_close=False)
    assert next(events).name == "start"
    events.close()

    [record] = usage_records_for(stack, session_id, 1, seconds=20)
    assert record["outcome"] == "client_disconnected" and record["TotalTokens"] is None
    assert emf_problems(record) == []


def test_no_proxy_log_line_holds_prompt_or_session_id(stack: LocalStack) -> None:
    session_id = new_session("quiet")
    collect(stack, f"{MARKER} once more", session_id)
    usage_records_for(stack, session_id, 1)
    log = "\n".join(stack.logs("proxy"))
    assert MARKER not in log
    assert session_id not in log and "usage-done-" not in log


def test_a_turn_the_guardrail_blocked_is_metered_with_the_tokens_it_spent(stack: LocalStack) -> None:
    # The client gets CONTENT_BLOCKED and no usage; the usage record still counts what the model
    # used (the offline guardrail streams the blocked-input message as its only piece).
    session_id = new_session("blocked")
    prompt = f"[[guardrail:input]] {MARKER} blocked please"
    events = collect(stack, prompt, session_id)
    assert events[-1].name == "error" and events[-1].data["code"] == "CONTENT_BLOCKED"
    assert "usage" not in events[-1].data

    [record] = usage_records_for(stack, session_id, 1)
    assert record["outcome"] == "error:CONTENT_BLOCKED"
    assert record["InputTokens"] == words(prompt) and record["OutputTokens"] >= 1
    assert record["TotalTokens"] == record["InputTokens"] + record["OutputTokens"]
    assert emf_problems(record) == []
