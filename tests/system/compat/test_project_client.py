"""The project's own Python client never sends a prompt twice, and reports Retry-After to its caller."""

from __future__ import annotations

import pytest
from tests.support.compat_support import inject_fault, invocations, raw_stream

from client import InvokeError, stream_invoke
from local.stack import LocalStack
from tests.support.streams import holding_the_only_slot


def test_throttling_raises_with_retry_after_and_sends_nothing_upstream(capped_stack: LocalStack) -> None:
    before = invocations(capped_stack)
    with holding_the_only_slot(capped_stack):
        with pytest.raises(InvokeError) as caught:
            list(stream_invoke(capped_stack.url, "hello", timeout=30))
    assert (caught.value.status, caught.value.code) == (429, "THROTTLED")
    assert caught.value.retry_after_seconds is not None and caught.value.retry_after_seconds > 0
    # At most the held stream's own call (it may not have opened yet): the refused prompt never went up.
    assert invocations(capped_stack) <= before + 1


def test_agentcore_throttling_is_an_error_event_and_the_prompt_is_sent_once(stack: LocalStack) -> None:
    inject_fault(stack, "ThrottlingException")
    before = invocations(stack)
    events = list(stream_invoke(stack.url, "hello", timeout=30))
    assert [event.name for event in events] == ["start", "error"]
    assert events[-1].data["code"] == "THROTTLED" and events[-1].data["retryAfterSeconds"] > 0
    assert invocations(stack) == before + 1


def test_keep_alives_reach_the_caller_as_keep_alive_and_never_as_data(stack: LocalStack) -> None:
    prompt = "[[pause:1.2]] [[pieces:1]] a quiet one"
    assert b": keep-alive\n" in raw_stream(stack, prompt)
    names = [event.name for event in stream_invoke(stack.url, prompt, timeout=30)]
    assert [name for name in names if name != "keep-alive"] == ["start", "delta", "done"]
    assert names.count("keep-alive") >= 2


def test_the_client_library_hands_tool_events_over_like_any_other_event(stack: LocalStack) -> None:
    events = [event for event in stream_invoke(stack.url, "[[tool:word_count {\"text\": \"a b\"}]]", timeout=30)
              if event.name != "keep-alive"]
    assert [event.name for event in events if event.name != "delta"] == ["start", "tool", "tool", "done"]
    assert [event.data["status"] for event in events if event.name == "tool"] == ["started", "finished"]
