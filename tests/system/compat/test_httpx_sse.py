"""httpx-sse (pinned in requirements-dev.txt) reads the stream as the README tells Python users to."""

from __future__ import annotations

import json
import time

import httpx
from tests.support.compat_support import MAX_PROMPT_CHARS, PIECE_DELAY_MS, inject_fault, invocations
from httpx_sse import connect_sse

from local.stack import LocalStack
from tests.support.streams import holding_the_only_slot


def read(stack: LocalStack, body: dict) -> tuple[httpx.Response, list[tuple[str, dict, float]]]:
    """The response and (event, data, arrival time) of every event, read the README's way."""
    received: list[tuple[str, dict, float]] = []
    with httpx.Client(timeout=30) as client:
        with connect_sse(client, "POST", f"{stack.url}/invoke", json=body) as source:
            response = source.response
            # Check the status before iter_sse(): iter_sse() raises SSEError on a JSON error body.
            if response.status_code != 200:
                response.read()
                return response, received
            for event in source.iter_sse():
                received.append((event.event, json.loads(event.data), time.monotonic()))
    return response, received


def test_events_arrive_one_by_one_with_names_json_and_the_session_header(stack: LocalStack) -> None:
    pieces = 8
    response, received = read(stack, {"prompt": f"[[pieces:{pieces}]] count"})
    assert response.status_code == 200
    assert [name for name, _, _ in received] == ["start"] + ["delta"] * pieces + ["done"]
    assert "".join(data["text"] for name, data, _ in received if name == "delta") == "".join(
        f"w{index} " for index in range(pieces)
    )
    assert response.headers["x-session-id"] == received[0][1]["sessionId"] == received[-1][1]["sessionId"]
    arrivals = [at for name, _, at in received if name == "delta"]
    assert arrivals[-1] - arrivals[0] >= (pieces - 1) * PIECE_DELAY_MS / 1000 * 0.5, arrivals


def test_keep_alives_are_not_events(stack: LocalStack) -> None:
    response, received = read(stack, {"prompt": "[[pause:1.2]] [[pieces:1]] a quiet one"})
    assert response.status_code == 200
    assert [name for name, _, _ in received] == ["start", "delta", "done"]


def test_error_event(stack: LocalStack) -> None:
    response, received = read(stack, {"prompt": "[[fail-after:2]] then fail"})
    assert [name for name, _, _ in received] == ["start", "delta", "delta", "error"]
    assert received[-1][1]["code"] == "AGENT_ERROR"


def test_errors_before_the_stream_are_json_with_retry_after_on_429(stack: LocalStack, capped_stack: LocalStack) -> None:
    response, received = read(stack, {"prompt": "x" * (MAX_PROMPT_CHARS + 1)})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "PROMPT_TOO_LONG")
    with holding_the_only_slot(capped_stack):
        response, received = read(capped_stack, {"prompt": "hello"})
    assert (response.status_code, response.json()["error"]["code"]) == (429, "THROTTLED")
    assert int(response.headers["retry-after"]) > 0
    assert received == []


def test_agentcore_throttling_is_an_error_event_with_retry_after(stack: LocalStack) -> None:
    inject_fault(stack, "ThrottlingException")
    before = invocations(stack)
    response, received = read(stack, {"prompt": "hello"})
    assert response.status_code == 200
    assert [name for name, _, _ in received] == ["start", "error"]
    assert received[-1][1]["code"] == "THROTTLED" and received[-1][1]["retryAfterSeconds"] > 0
    assert invocations(stack) == before + 1


def test_a_reader_that_knows_only_delta_and_done_reads_a_tool_turn_whole(stack: LocalStack) -> None:
    # `tool` events (issue 21) are ordinary named events: a reader that does not know them skips them.
    response, received = read(stack, {"prompt": "[[tool:current_time]] what time?"})
    assert response.status_code == 200
    assert [name for name, _, _ in received if name not in ("delta",)] == ["start", "tool", "tool", "done"]
    known = [(name, data) for name, data, _ in received if name in ("start", "delta", "done")]
    answer = "".join(data["text"] for name, data in known if name == "delta")
    assert answer.startswith("Offline model, turn 1. Tool current_time returned:") and known[-1][0] == "done"
