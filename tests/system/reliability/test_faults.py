"""Faults between the proxy and the agent, injected through the stand-in or done to the agent itself.

Each one: the client gets either a documented JSON error before streaming, or a stream that ends
with done or error, within the proxy's configured limits; and the very next request is served fine.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest
from tests.support.reliability_support import (
    DOCUMENTED_UPSTREAM_ERRORS,
    assert_complete_stream,
    assert_error_body,
    echo_answer,
    invoke,
    send,
    stream_text,
    terminal_event,
)

from client import stream_invoke
from local.stack import LocalStack, StackSettings
from local.standin import BEHAVIOUR_FAULTS, invoke_error_statuses

STREAM_TIMEOUT_SECONDS = 5.0
KEEPALIVE_SECONDS = 0.5
# What "within the limits" allows on top of the limit itself: process start-up jitter on a busy CI core.
SLACK_SECONDS = 3.0
LIMIT = STREAM_TIMEOUT_SECONDS + SLACK_SECONDS


@pytest.fixture(scope="module")
def fault_stack() -> Iterator[LocalStack]:
    # A short stop grace: the stand-in may still be sleeping in a slow-headers fault the proxy gave up on.
    with LocalStack(StackSettings(
        offline_delay_ms=5,
        stream_timeout_seconds=STREAM_TIMEOUT_SECONDS,
        keepalive_seconds=KEEPALIVE_SECONDS,
        stop_grace_seconds=3,
    )) as stack:
        yield stack


@pytest.fixture(autouse=True)
def no_leftover_faults(fault_stack: LocalStack) -> Iterator[None]:
    send(fault_stack.standin_url, "DELETE", "/_standin/faults")
    yield
    send(fault_stack.standin_url, "DELETE", "/_standin/faults")


def inject(stack: LocalStack, fault: str, **options: float | int) -> None:
    answer = send(
        stack.standin_url, "POST", "/_standin/faults",
        body=json.dumps({"fault": fault, **options}).encode(), headers={"Content-Type": "application/json"},
    )
    assert answer.status == 201, answer.body


def assert_serves_next_request(stack: LocalStack) -> None:
    prompt = f"are you still there {time.monotonic_ns()}"
    events = assert_complete_stream(invoke(stack.url, prompt))
    assert terminal_event(events)[0] == "done"
    assert stream_text(events) == echo_answer(prompt)


def test_the_fault_list_covers_every_behaviour_fault() -> None:
    # A fault added to the stand-in later should get a test here too.
    assert set(BEHAVIOUR_FAULTS) == {"slow-headers", "drop-mid-stream", "stall-mid-stream", "malformed-sse"}


@pytest.mark.parametrize("after_bytes", [0, 1, 150])
def test_connection_dropped_mid_stream_ends_with_an_error_event(fault_stack: LocalStack, after_bytes: int) -> None:
    inject(fault_stack, "drop-mid-stream", afterBytes=after_bytes)
    answer = invoke(fault_stack.url, "drop me [[pieces:40]]")
    events = assert_complete_stream(answer)
    assert terminal_event(events)[0] == "error"
    assert terminal_event(events)[1]["code"] == "UPSTREAM_INTERRUPTED"
    assert answer.seconds < LIMIT
    assert_serves_next_request(fault_stack)


def test_stall_longer_than_the_stream_limit_is_cut_off_with_keepalives_meanwhile(fault_stack: LocalStack) -> None:
    inject(fault_stack, "stall-mid-stream", afterBytes=100, seconds=60)
    answer = invoke(fault_stack.url, "stall me [[pieces:40]]")
    events = assert_complete_stream(answer)
    assert terminal_event(events)[1]["code"] == "STREAM_TIMEOUT"
    assert STREAM_TIMEOUT_SECONDS - 0.5 <= answer.seconds < LIMIT
    # Silence is filled with comments, so API Gateway and other proxies do not idle the stream out.
    assert sum(name == "keep-alive" for name, _ in events) >= 3
    assert_serves_next_request(fault_stack)


def test_short_stall_only_delays_the_answer(fault_stack: LocalStack) -> None:
    inject(fault_stack, "stall-mid-stream", afterBytes=100, seconds=1.5)
    prompt = "a short stall"
    events = assert_complete_stream(invoke(fault_stack.url, prompt))
    assert terminal_event(events)[0] == "done"
    assert stream_text(events) == echo_answer(prompt)
    assert any(name == "keep-alive" for name, _ in events)


def test_slow_headers_within_the_limit_only_delay_the_answer(fault_stack: LocalStack) -> None:
    inject(fault_stack, "slow-headers", seconds=1.5)
    prompt = "slow to start"
    answer = invoke(fault_stack.url, prompt)
    events = assert_complete_stream(answer)
    assert stream_text(events) == echo_answer(prompt)
    assert answer.seconds >= 1.5


def test_slow_headers_beyond_the_limit_end_within_the_limit(fault_stack: LocalStack) -> None:
    inject(fault_stack, "slow-headers", seconds=30)
    answer = invoke(fault_stack.url, "never answers in time", timeout=90)
    events = assert_complete_stream(answer)
    assert terminal_event(events)[1]["code"] == "UPSTREAM_TIMEOUT"
    assert answer.seconds < LIMIT
    assert_serves_next_request(fault_stack)


def test_the_client_hears_start_and_keep_alives_while_agentcore_is_slow_to_answer(fault_stack: LocalStack) -> None:
    # Before: the proxy waited for AgentCore's response headers before sending anything, so a slow
    # cold start left the client in silence for as long as it took.
    inject(fault_stack, "slow-headers", seconds=3)
    sent = time.monotonic()
    events = list(stream_invoke(fault_stack.url, "cold start [[pieces:2]]", timeout=30))
    names = [event.name for event in events]
    assert names[0] == "start" and names[-1] == "done", names
    assert events[0].received_at - sent < 1.5, "start waited for AgentCore"
    first_delta = names.index("delta")
    assert names[1:first_delta].count("keep-alive") >= 2, names  # 3 s of waiting at a 0.5 s interval
    assert_serves_next_request(fault_stack)


def test_malformed_sse_ends_with_a_protocol_error(fault_stack: LocalStack) -> None:
    inject(fault_stack, "malformed-sse")
    answer = invoke(fault_stack.url, "garbage please")
    events = assert_complete_stream(answer)
    assert terminal_event(events)[1]["code"] == "UPSTREAM_PROTOCOL_ERROR"
    assert_serves_next_request(fault_stack)


def test_throttling_is_a_throttled_error_event_with_retry_after(fault_stack: LocalStack) -> None:
    inject(fault_stack, "ThrottlingException")
    answer = invoke(fault_stack.url, "busy?")
    events = assert_complete_stream(answer)
    error = terminal_event(events)[1]
    assert error["code"] == "THROTTLED" and error["retryAfterSeconds"] >= 1
    assert_serves_next_request(fault_stack)


@pytest.mark.parametrize("aws_error", sorted(set(invoke_error_statuses()) - {"ThrottlingException"}))
def test_every_other_aws_error_is_a_documented_error_event(fault_stack: LocalStack, aws_error: str) -> None:
    inject(fault_stack, aws_error)
    answer = invoke(fault_stack.url, "fail to open")
    events = assert_complete_stream(answer)
    assert [name for name, _ in events if name != "keep-alive"] == ["start", "error"]
    assert terminal_event(events)[1]["code"] in ("THROTTLED", "UPSTREAM_ERROR", "UPSTREAM_TIMEOUT")
    assert aws_error not in answer.body.decode()  # AWS's own words stay in the logs
    assert_serves_next_request(fault_stack)


def test_agent_failing_mid_answer_ends_with_agent_error_and_no_internals(fault_stack: LocalStack) -> None:
    answer = invoke(fault_stack.url, "fail after three [[pieces:10]] [[fail-after:3]]")
    events = assert_complete_stream(answer)  # also checks the SECRET-INTERNAL-DETAIL marker is absent
    assert stream_text(events) == "w0 w1 w2 "
    assert terminal_event(events)[1]["code"] == "AGENT_ERROR"
    assert_serves_next_request(fault_stack)


def test_agent_process_killed_mid_stream_then_restarted(fault_stack: LocalStack) -> None:
    agent = fault_stack.components["agent"]
    names: list[str] = []
    codes: list[str] = []
    started = time.monotonic()
    for event in stream_invoke(fault_stack.url, "long answer [[pieces:500]] [[delay-ms:20]]", timeout=30):
        names.append(event.name)
        if event.name == "error" and event.data is not None:
            codes.append(event.data["code"])
        if names.count("delta") == 3:
            assert agent.process is not None
            os.killpg(agent.process.pid, signal.SIGKILL)  # the agent leads its own process group
    assert names[-1] == "error" and codes == ["UPSTREAM_INTERRUPTED"], names[-3:]
    assert time.monotonic() - started < LIMIT
    agent.process.wait(10)

    # While the agent is down, opening the call fails after `start`: an UPSTREAM_ERROR event.
    refused = list(stream_invoke(fault_stack.url, "anyone home?", timeout=30))
    assert refused[-1].name == "error" and refused[-1].data == {
        "code": "UPSTREAM_ERROR", "message": "The agent could not be reached."
    }

    agent.start(None)
    deadline = time.monotonic() + 60
    while not agent.is_ready():
        assert agent.exit_code() is None, agent.last_log_lines()
        assert time.monotonic() < deadline, "the agent did not come back"
        time.sleep(0.1)
    assert_serves_next_request(fault_stack)
