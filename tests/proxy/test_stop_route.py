"""POST /stop in the proxy alone: what it asks AgentCore, and how each of AgentCore's answers reaches the caller."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from streaming_shared import edge
from streaming_proxy.app import create_app
from streaming_shared.edge import REQUEST_CONTEXT_HEADER, load_settings
from streaming_shared.jsonlog import JsonLogger
from streaming_proxy.upstream import SESSION_HEADER, STOP_PAYLOAD, derive_runtime_session_id, invocation_target
from tests.support.fake_agentcore import Answer, FakeAgentCore, drop_answer, error_answer, json_answer

ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/my_agent-AbCdEf1234"


SETTINGS = load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_STREAM_TIMEOUT_SECONDS": "1", "PROXY_KEEPALIVE_SECONDS": "0.5"})


def answered(answer: bytes | Answer = b'{"stopped": true}') -> FakeAgentCore:
    agentcore = FakeAgentCore(settings=SETTINGS)
    agentcore.stop_answer = json_answer(answer) if isinstance(answer, bytes) else answer
    return agentcore


def client_for(agentcore: FakeAgentCore) -> TestClient:
    settings = SETTINGS
    return TestClient(create_app(settings, agentcore, JsonLogger("proxy-test", "ERROR")), raise_server_exceptions=False)


def stop(client: TestClient, body: Any, caller_context: dict[str, Any] | None = None) -> Any:
    headers = {"content-type": "application/json"}
    if caller_context is not None:
        headers[REQUEST_CONTEXT_HEADER] = json.dumps(caller_context)
    return client.post("/stop", content=json.dumps(body).encode(), headers=headers)


def test_stop_is_a_control_invocation_on_the_callers_runtime_session() -> None:
    agentcore = answered()
    context = {"requestId": "req-1", "identity": {"apiKeyId": "key-alice"}}
    response = stop(client_for(agentcore), {"sessionId": "chat-1"}, context)
    assert (response.status_code, response.json()) == (200, {"stopped": True})
    assert response.headers["x-request-id"] == "req-1" and response.headers["cache-control"] == "no-store"
    [call] = agentcore.stops
    assert call.body == STOP_PAYLOAD and json.loads(call.body) == {"action": "stop"}
    assert call.target == invocation_target("", ARN, "DEFAULT") and call.headers["accept"] == "application/json"
    # The same runtime session /invoke derives for this caller and session id, so only the caller's own turn.
    alice = call.headers[SESSION_HEADER.lower()]
    assert alice == derive_runtime_session_id("apikey:key-alice", "chat-1")
    stop(client_for(bob := answered(b'{"stopped": false}')), {"sessionId": "chat-1"},
         {"requestId": "req-2", "identity": {"apiKeyId": "key-bob"}})
    assert bob.stops[0].headers[SESSION_HEADER.lower()] != alice
    assert agentcore.held() == 0


def test_stopped_false_is_passed_on() -> None:
    response = stop(client_for(answered(b'{"stopped": false}')), {"sessionId": "idle"})
    assert (response.status_code, response.json()) == (200, {"stopped": False})


def never_answered() -> FakeAgentCore:
    """AgentCore takes the stop and never answers (until the proxy closes the connection)."""
    return answered(lambda sock: sock.recv(1))


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        (error_answer(429, "ThrottlingException"), 429, edge.THROTTLED),
        (error_answer(404, "ResourceNotFoundException"), 502, edge.UPSTREAM_ERROR),
        (error_answer(424, "RuntimeClientError"), 502, edge.UPSTREAM_ERROR),
        (None, 504, edge.UPSTREAM_TIMEOUT),
        (drop_answer, 502, edge.UPSTREAM_ERROR),
        (b"not json", 502, edge.UPSTREAM_ERROR),
        (b'{"stopped": "yes"}', 502, edge.UPSTREAM_ERROR),
        (b'{"error": "x"}', 502, edge.UPSTREAM_ERROR),
        (b'{"stopped": true, "pad": "' + b"x" * 2000 + b'"}', 502, edge.UPSTREAM_ERROR),
    ],
)
def test_agentcore_failures_are_the_contracts_json_errors(answer: Any, status: int, code: str) -> None:
    response = stop(client_for(never_answered() if answer is None else answered(answer)), {"sessionId": "s1"})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["requestId"]
    assert "arn:aws" not in error["message"] and "internal detail" not in error["message"]
    if code == edge.THROTTLED:
        assert response.headers["retry-after"].isdigit()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, edge.MISSING_FIELD),
        ({"sessionId": None}, edge.INVALID_FIELD),
        ({"sessionId": ""}, edge.INVALID_FIELD),
        ({"sessionId": "x" * 129}, edge.INVALID_FIELD),
        ({"sessionId": "abc\n"}, edge.INVALID_FIELD),
        ({"sessionId": ["s"]}, edge.INVALID_FIELD),
        ({"sessionId": "s", "prompt": "hi"}, edge.UNKNOWN_FIELD),
        ("s", edge.INVALID_BODY),
    ],
)
def test_bad_bodies_never_reach_agentcore(body: Any, code: str) -> None:
    agentcore = answered()
    response = stop(client_for(agentcore), body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert "sessionId" in response.json()["error"]["message"]
    assert agentcore.stops == [] and agentcore.requests == []


def test_other_methods_on_stop_are_405_with_allow_post() -> None:
    response = client_for(FakeAgentCore()).get("/stop")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == edge.METHOD_NOT_ALLOWED
