"""The AgentCore stand-in, seen through botocore's real bedrock-agentcore client."""

from __future__ import annotations

import time
from typing import Any

import botocore.exceptions
import httpx
import pytest
from tests.support.local_loopback import FIRST_FRAME, REST_FRAMES, RUNTIME_ARN, SESSION_ID, FakeAgent, agentcore_client

from local.standin import SESSION_HEADER, invoke_error_statuses

PAYLOAD = b'{"prompt": "hi"}'


def invoke(agentcore: Any, **overrides: Any) -> dict[str, Any]:
    arguments = {
        "agentRuntimeArn": RUNTIME_ARN,
        "qualifier": "DEFAULT",
        "runtimeSessionId": SESSION_ID,
        "payload": PAYLOAD,
        "contentType": "application/json",
        "accept": "text/event-stream",
    }
    return agentcore.invoke_agent_runtime(**{**arguments, **overrides})


def events_of(standin: str, kind: str | None = None) -> list[dict[str, Any]]:
    events = httpx.get(f"{standin}/_standin/events").json()
    return [event for event in events if kind is None or event["kind"] == kind]


def wait_for_event(standin: str, kind: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = events_of(standin, kind)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {kind!r} event within {timeout}s: {events_of(standin)}")


def queue_fault(standin: str, **fault: Any) -> None:
    response = httpx.post(f"{standin}/_standin/faults", json=fault)
    assert response.status_code == 201, response.text


def test_health(standin: str) -> None:
    assert httpx.get(f"{standin}/_standin/health").status_code == 200


def test_relays_the_agents_stream_with_aws_response_headers(
    agentcore: Any, standin: str, fake_agent: tuple[FakeAgent, str]
) -> None:
    agent, _ = fake_agent
    agent.release.set()
    response = invoke(agentcore)

    assert response["statusCode"] == 200
    assert response["contentType"].startswith("text/event-stream")
    assert response["runtimeSessionId"] == SESSION_ID
    assert response["response"].read() == FIRST_FRAME + b"".join(REST_FRAMES)

    [forwarded] = agent.requests
    assert forwarded["body"] == PAYLOAD
    assert forwarded["headers"][SESSION_HEADER.lower()] == SESSION_ID
    assert forwarded["headers"]["content-type"] == "application/json"
    invocation = wait_for_event(standin, "invocation")
    assert invocation["runtimeSessionId"] == SESSION_ID
    assert invocation["qualifier"] == "DEFAULT"
    assert wait_for_event(standin, "completed")["bytesSent"] == len(FIRST_FRAME) + sum(map(len, REST_FRAMES))


def test_relays_the_first_chunk_before_the_agent_has_finished(
    agentcore: Any, fake_agent: tuple[FakeAgent, str]
) -> None:
    agent, _ = fake_agent
    # The agent holds the rest of its answer until the first frame has reached the client,
    # so a buffering stand-in would make this read wait until the agent's gate times out.
    body = invoke(agentcore)["response"]
    assert body.read(len(FIRST_FRAME)) == FIRST_FRAME
    assert not agent.gate_timed_out.is_set(), "the first frame only arrived after the agent gave up waiting"
    agent.release.set()
    assert body.read() == b"".join(REST_FRAMES)


def first_frame_read(agentcore: Any) -> Any:
    """An invocation's response body with the agent's first frame read; the agent holds the rest."""
    body = invoke(agentcore)["response"]
    assert body.read(len(FIRST_FRAME)) == FIRST_FRAME
    return body


def test_a_caller_that_leaves_does_not_end_the_agent_request(
    agentcore: Any, standin: str, fake_agent: tuple[FakeAgent, str]
) -> None:
    agent, _ = fake_agent
    first_frame_read(agentcore).close()

    # AgentCore Runtime does not pass a client's abort on to the container: the agent's request
    # stays open and its answer runs to the end, for nobody.
    time.sleep(1.0)
    assert not agent.stream_closed_early.is_set(), "the stand-in closed the agent's request when its caller left"
    assert events_of(standin, "client_disconnected") == []
    agent.release.set()
    disconnected = wait_for_event(standin, "client_disconnected")
    assert disconnected["runtimeSessionId"] == SESSION_ID
    assert not agent.stream_closed_early.is_set() and not agent.gate_timed_out.is_set()
    assert events_of(standin, "completed") == []


def test_a_second_invocation_on_a_busy_session_reaches_the_agent_at_once(
    agentcore: Any, standin: str, fake_agent: tuple[FakeAgent, str]
) -> None:
    # As AgentCore does (README, "Stopping a turn"): the stand-in neither refuses nor queues an
    # invocation on a session whose earlier invocation is still open; the agent decides.
    agent, _ = fake_agent
    first, second = first_frame_read(agentcore), first_frame_read(agentcore)
    assert len(agent.requests) == 2 and not agent.release.is_set()
    agent.release.set()
    assert first.read() == second.read() == b"".join(REST_FRAMES)


@pytest.mark.parametrize(
    ("arn", "session", "authorization", "code", "status"),
    [
        (RUNTIME_ARN.replace("local_agent", "other_agent"), SESSION_ID, True, "ResourceNotFoundException", 404),
        (RUNTIME_ARN, "too-short", True, "ValidationException", 400),
        (RUNTIME_ARN, "x" * 257, True, "ValidationException", 400),
        (RUNTIME_ARN, None, True, "ValidationException", 400),
        (RUNTIME_ARN, SESSION_ID, False, "AccessDeniedException", 403),
    ],
)
def test_rejects_bad_requests_like_aws(
    agentcore: Any, standin: str, arn: str, session: str | None, authorization: bool, code: str, status: int
) -> None:
    # botocore validates lengths and fills a missing session id itself, so bend the request on
    # its way out: the stand-in must still see and refuse what AWS would refuse.
    def bend(request: Any, **_: Any) -> None:
        if session is None:
            del request.headers[SESSION_HEADER]
        else:
            request.headers[SESSION_HEADER] = session
        if not authorization:
            del request.headers["Authorization"]

    agentcore.meta.events.register_first("before-send.bedrock-agentcore.InvokeAgentRuntime", bend)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        invoke(agentcore, agentRuntimeArn=arn)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert raised.value.response["Error"]["Message"]
    assert events_of(standin, "invocation") == []


def test_unsigned_raw_request_is_refused(standin: str) -> None:
    response = httpx.post(
        f"{standin}/runtimes/{RUNTIME_ARN.replace(':', '%3A').replace('/', '%2F')}/invocations",
        content=PAYLOAD,
        headers={SESSION_HEADER: SESSION_ID},
    )
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert "message" in response.json()


@pytest.mark.parametrize("code", sorted(invoke_error_statuses()))
def test_injected_aws_errors_parse_to_their_client_error(agentcore: Any, standin: str, code: str) -> None:
    queue_fault(standin, fault=code)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        invoke(agentcore)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == invoke_error_statuses()[code]
    assert events_of(standin, "fault")[0]["fault"] == code


def test_error_statuses_come_from_the_service_model() -> None:
    assert invoke_error_statuses()["ThrottlingException"] == 429
    assert invoke_error_statuses()["ServiceQuotaExceededException"] == 402
    assert invoke_error_statuses()["RuntimeClientError"] == 424
    assert invoke_error_statuses()["InternalServerException"] == 500


def test_fault_count_applies_to_that_many_invocations_then_stops(
    agentcore: Any, standin: str, fake_agent: tuple[FakeAgent, str]
) -> None:
    fake_agent[0].release.set()
    queue_fault(standin, fault="ThrottlingException", count=2)
    for _ in range(2):
        with pytest.raises(agentcore.exceptions.ThrottlingException):
            invoke(agentcore)
    assert invoke(agentcore)["response"].read().startswith(FIRST_FRAME)


def test_cleared_faults_do_not_fire(agentcore: Any, standin: str, fake_agent: tuple[FakeAgent, str]) -> None:
    fake_agent[0].release.set()
    queue_fault(standin, fault="InternalServerException")
    assert httpx.delete(f"{standin}/_standin/faults").status_code == 204
    assert invoke(agentcore)["statusCode"] == 200


def test_unknown_fault_is_refused(standin: str) -> None:
    response = httpx.post(f"{standin}/_standin/faults", json={"fault": "gremlins"})
    assert response.status_code == 400
    assert "gremlins" in response.json()["message"]


def test_drop_mid_stream_breaks_the_body_after_the_given_bytes(
    agentcore: Any, standin: str, fake_agent: tuple[FakeAgent, str]
) -> None:
    fake_agent[0].release.set()
    queue_fault(standin, fault="drop-mid-stream", afterBytes=5)
    body = invoke(agentcore)["response"]
    assert body.read(5) == FIRST_FRAME[:5]
    with pytest.raises(botocore.exceptions.ResponseStreamingError):
        body.read()
    assert wait_for_event(standin, "dropped")["bytesSent"] == 5
    assert events_of(standin, "completed") == []


def test_stall_mid_stream_goes_silent_after_the_given_bytes(
    agentcore: Any, standin: str, fake_agent: tuple[FakeAgent, str]
) -> None:
    fake_agent[0].release.set()
    queue_fault(standin, fault="stall-mid-stream", afterBytes=3, seconds=1.0)
    body = invoke(agentcore)["response"]
    assert body.read(3) == FIRST_FRAME[:3]
    started = time.monotonic()
    rest = body.read()
    # Lower bound only: a busy machine can make the stall longer, never shorter.
    assert time.monotonic() - started >= 0.9
    assert rest == FIRST_FRAME[3:] + b"".join(REST_FRAMES)


def test_slow_headers_delays_the_response(agentcore: Any, standin: str, fake_agent: tuple[FakeAgent, str]) -> None:
    fake_agent[0].release.set()
    queue_fault(standin, fault="slow-headers", seconds=1.0)
    started = time.monotonic()
    response = invoke(agentcore)
    assert time.monotonic() - started >= 0.9
    assert response["response"].read().startswith(FIRST_FRAME)


def test_slow_headers_beyond_the_read_timeout_times_the_client_out(standin: str) -> None:
    queue_fault(standin, fault="slow-headers", seconds=3.0)
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        invoke(agentcore_client(standin, read_timeout=0.5))


def test_malformed_sse_answers_200_with_garbage(agentcore: Any, standin: str, fake_agent: tuple[FakeAgent, str]) -> None:
    queue_fault(standin, fault="malformed-sse")
    response = invoke(agentcore)
    assert response["statusCode"] == 200
    assert response["contentType"] == "text/event-stream"
    body = response["response"].read()
    assert body and b"Hello" not in body
    assert fake_agent[0].requests == []  # the agent is never asked


def test_agent_error_status_becomes_runtime_client_error(
    agentcore: Any, standin: str, fake_agent: tuple[FakeAgent, str]
) -> None:
    fake_agent[0].fail_with_status = 500
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        invoke(agentcore)
    assert raised.value.response["Error"]["Code"] == "RuntimeClientError"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_events_can_be_cleared(agentcore: Any, standin: str, fake_agent: tuple[FakeAgent, str]) -> None:
    fake_agent[0].release.set()
    invoke(agentcore)["response"].read()
    assert events_of(standin)
    assert httpx.delete(f"{standin}/_standin/events").status_code == 204
    assert events_of(standin) == []
