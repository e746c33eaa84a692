"""Usage metering in the proxy: `usage` checked before it reaches a client, and exactly one usage
record per turn in the log (an EMF document with the stack's metrics), whatever way the turn ends."""

from __future__ import annotations

import asyncio
import io
import json
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from streaming_shared import edge
from streaming_proxy.app import create_app, translate
from streaming_shared.edge import SettingsError, load_settings
from streaming_shared.jsonlog import JsonLogger, session_hash
from streaming_proxy.metering import Usage, parse_usage, usage_outcome, usage_record
from tests.support.docs import section
from tests.support.emf import emf_metrics, emf_problems
from tests.support.fake_agentcore import FakeAgentCore, sse_answer

ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/my_agent-AbCdEf1234"
NAMESPACE = "agentcore-streaming/prod"
METRICS_ENV = {edge.METRICS_NAMESPACE_VARIABLE: NAMESPACE, edge.METRICS_STACK_VARIABLE: "prod"}
USAGE = {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7, "latencyMs": 40}
PROMPT = "the secret plans for tuesday"
DELTAS = b'data: {"type": "delta", "text": "Hi"}\n\ndata: {"type": "delta", "text": " there"}\n\n'


def event_data(payload: bytes) -> dict:
    return json.loads(payload.decode().splitlines()[1].removeprefix("data: "))


# -- the done event's usage ------------------------------------------------------------------------


def test_done_forwards_a_well_formed_usage_and_keeps_it_for_the_record() -> None:
    event = translate(json.dumps({"type": "done", "stopReason": "end_turn", "usage": {**USAGE, "extra": 1}}), "s-1")
    assert event_data(event.payload) == {"sessionId": "s-1", "stopReason": "end_turn", "usage": USAGE}
    assert event.usage == Usage(5, 2, 7, 40)


@pytest.mark.parametrize("usage", [
    {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7},  # no latencyMs
    {**USAGE, "inputTokens": "5"},
    {**USAGE, "outputTokens": 2.5},
    {**USAGE, "totalTokens": True},
    {**USAGE, "latencyMs": -1},
    {**USAGE, "inputTokens": 2**60},
    {**USAGE, "latencyMs": None},
    [5, 2, 7, 40],
    "lots",
])
def test_done_leaves_out_a_malformed_usage_entirely(usage: Any) -> None:
    event = translate(json.dumps({"type": "done", "stopReason": "end_turn", "usage": usage}), "s-1")
    assert event_data(event.payload) == {"sessionId": "s-1", "stopReason": "end_turn"}
    assert event.usage is None and parse_usage(usage) is None


@pytest.mark.parametrize("stop_reason", [7, "", "x" * 65, {"a": 1}])
def test_done_leaves_out_a_stop_reason_that_is_not_a_short_string(stop_reason: Any) -> None:
    event = translate(json.dumps({"type": "done", "stopReason": stop_reason}), "s-1")
    assert event_data(event.payload) == {"sessionId": "s-1"}


# -- the record itself -----------------------------------------------------------------------------


def test_outcomes_name_errors_by_their_code() -> None:
    assert usage_outcome("done") == "done"
    assert usage_outcome("client_disconnected") == "client_disconnected"
    assert usage_outcome("send_failed") == "send_failed"
    assert usage_outcome(edge.AGENT_ERROR) == "error:AGENT_ERROR"


def test_a_record_with_usage_is_a_valid_emf_document_with_stack_metrics_only() -> None:
    record = usage_record(usage=Usage(5, 2, 7, 40), stream_outcome="done", duration_ms=812.34,
                          session_hash="abc", namespace=NAMESPACE, stack="prod", timestamp_ms=1_764_560_000_000)
    assert emf_problems(record, now_ms=1_764_560_000_000) == []
    assert (record["InputTokens"], record["OutputTokens"], record["TotalTokens"]) == (5, 2, 7)
    assert record["TurnDurationMs"] == 812.3 and record["Turns"] == 1 and record["modelLatencyMs"] == 40
    stack, outcome = ("stack", "prod"), ("outcome", "done")
    assert emf_metrics(record) == {
        (NAMESPACE, "InputTokens", (stack,)), (NAMESPACE, "OutputTokens", (stack,)),
        (NAMESPACE, "TotalTokens", (stack,)), (NAMESPACE, "TurnDurationMs", (stack,)),
        (NAMESPACE, "Turns", (stack,)), (NAMESPACE, "Turns", (stack, outcome)),
    }


def test_a_record_without_usage_has_null_tokens_and_declares_no_token_metric() -> None:
    record = usage_record(usage=None, stream_outcome=edge.AGENT_ERROR, duration_ms=5.0, session_hash="abc",
                          namespace=NAMESPACE, stack="prod", timestamp_ms=1_764_560_000_000)
    assert record["InputTokens"] is None and record["outcome"] == "error:AGENT_ERROR"
    assert emf_problems(record, now_ms=1_764_560_000_000) == []
    assert {name for _, name, _ in emf_metrics(record)} == {"TurnDurationMs", "Turns"}


def test_without_a_namespace_the_record_has_no_emf_directive() -> None:
    record = usage_record(usage=None, stream_outcome="done", duration_ms=1.0, session_hash=None,
                          namespace="", stack="", timestamp_ms=0)
    assert "_aws" not in record and "stack" not in record and record["Turns"] == 1


def test_the_validator_catches_what_the_specification_forbids() -> None:
    good = usage_record(usage=Usage(1, 1, 2, 0), stream_outcome="done", duration_ms=1.0, session_hash="h",
                        namespace=NAMESPACE, stack="prod", timestamp_ms=1_764_560_000_000)
    broken = [
        {**good, "InputTokens": "1"},                                           # metric not a number
        {key: value for key, value in good.items() if key != "stack"},          # dimension missing
        {**good, "stack": 3},                                                   # dimension not a string
        {**good, "_aws": {**good["_aws"], "Timestamp": 1_764_560_000}},         # seconds, not ms
        {key: value for key, value in good.items() if key != "_aws"},
    ]
    for document in broken:
        assert emf_problems(document, now_ms=1_764_560_000_000), document


# -- the proxy's settings --------------------------------------------------------------------------


def test_metrics_settings_round_trip_through_the_environment() -> None:
    settings = load_settings({"AGENT_RUNTIME_ARN": ARN, **METRICS_ENV})
    assert (settings.metrics_namespace, settings.metrics_stack) == (NAMESPACE, "prod")
    assert load_settings(settings.to_environ()) == settings
    assert edge.METRICS_NAMESPACE_VARIABLE not in load_settings({"AGENT_RUNTIME_ARN": ARN}).to_environ()


@pytest.mark.parametrize(("environment", "named"), [
    ({edge.METRICS_NAMESPACE_VARIABLE: "AWS/Lambda", edge.METRICS_STACK_VARIABLE: "prod"}, "PROXY_METRICS_NAMESPACE"),
    ({edge.METRICS_NAMESPACE_VARIABLE: ":x", edge.METRICS_STACK_VARIABLE: "prod"}, "PROXY_METRICS_NAMESPACE"),
    ({edge.METRICS_NAMESPACE_VARIABLE: "café", edge.METRICS_STACK_VARIABLE: "prod"}, "PROXY_METRICS_NAMESPACE"),
    ({edge.METRICS_STACK_VARIABLE: "prod"}, "PROXY_METRICS_NAMESPACE"),
    ({edge.METRICS_NAMESPACE_VARIABLE: NAMESPACE}, "PROXY_METRICS_STACK"),
])
def test_bad_metrics_settings_name_the_variable(environment: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings({"AGENT_RUNTIME_ARN": ARN, **environment})


# -- one record per turn, through the real app -----------------------------------------------------


def app_and_log(frames: bytes, **environment: str) -> tuple[Any, io.StringIO]:
    log = io.StringIO()
    settings = load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_KEEPALIVE_SECONDS": "0.05", **METRICS_ENV,
                              **environment})
    app = create_app(settings, FakeAgentCore(sse_answer(frames)), JsonLogger("proxy", "INFO", log, defer_in_loop=False))
    return app, log


def usage_records(log: io.StringIO) -> list[dict[str, Any]]:
    return [record for record in map(json.loads, log.getvalue().splitlines())
            if record["message"] == edge.USAGE_RECORD_MESSAGE]


CALLER_CONTEXT = json.dumps({"requestId": "req-1", "identity": {"apiKeyId": "key-42"}})


def post(app: Any, body: dict[str, Any]) -> str:
    client = TestClient(app, raise_server_exceptions=False)
    response = client.post("/invoke", json=body, headers={edge.REQUEST_CONTEXT_HEADER: CALLER_CONTEXT})
    return response.text


def test_a_finished_turn_logs_one_record_with_its_usage_caller_and_session_hash() -> None:
    done = f'data: {json.dumps({"type": "done", "stopReason": "end_turn", "usage": USAGE})}\n\n'.encode()
    app, log = app_and_log(DELTAS + done)
    text = post(app, {"prompt": PROMPT, "sessionId": "conversation-1"})
    assert '"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7,"latencyMs":40}' in text

    [record] = usage_records(log)
    assert record["caller"] == "apikey:key-42" and record["requestId"] == "req-1"
    assert record["sessionHash"] == session_hash("conversation-1") and record["outcome"] == "done"
    assert (record["InputTokens"], record["OutputTokens"], record["TotalTokens"], record["modelLatencyMs"]) == (
        5, 2, 7, 40)
    assert record["TurnDurationMs"] >= 0 and emf_problems(record) == []
    assert "conversation-1" not in json.dumps(record)
    assert "secret" not in log.getvalue() and "there" not in log.getvalue()


def test_an_agent_error_turn_logs_one_record_with_null_usage() -> None:
    failure = b'data: {"error": "the secret plans", "error_type": "ValueError", "message": "boom"}\n\n'
    app, log = app_and_log(DELTAS + failure)
    assert "AGENT_ERROR" in post(app, {"prompt": PROMPT})
    [record] = usage_records(log)
    assert record["outcome"] == "error:AGENT_ERROR" and record["InputTokens"] is None
    assert emf_problems(record) == [] and "secret" not in log.getvalue()


def test_a_refused_request_is_not_a_turn_and_logs_no_record() -> None:
    app, log = app_and_log(b"")
    post(app, {"prompt": ""})
    assert usage_records(log) == []


def test_a_client_that_leaves_mid_stream_gets_one_record_as_client_disconnected() -> None:
    app, log = app_and_log(b"")
    app.state.proxy.client = FakeAgentCore(sse_answer(b"", end=False))
    body = json.dumps({"prompt": PROMPT}).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/invoke", "raw_path": b"/invoke", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 8000)}

    async def main() -> None:
        left = asyncio.Event()
        messages = iter([{"type": "http.request", "body": body, "more_body": False}])

        async def receive() -> dict[str, Any]:
            message = next(messages, None)
            if message is not None:
                return message
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message.get("body", b"").startswith(b"event: start"):
                left.set()  # the client reads `start`, then goes

        await asyncio.wait_for(app(scope, receive, send), 5)

    asyncio.run(main())
    [record] = usage_records(log)
    assert record["outcome"] == "client_disconnected" and record["TotalTokens"] is None
    assert emf_problems(record) == [] and "secret" not in log.getvalue()


# -- the docs' Logs Insights query ----------------------------------------------------------------


def readme_usage_query() -> str:
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", section("Usage metering"), re.MULTILINE | re.DOTALL)
    [query] = [block for block in blocks if "stats" in block]
    return query


def query_fields(query: str) -> tuple[str, set[str]]:
    """The message the query filters on, and every log field it reads (aliases and functions aside)."""
    [message] = re.findall(r'filter message = "([^"]+)"', query)
    read = set(re.findall(r"\b(?:sum|avg|min|max|count|count_distinct)\((\w+)\)", query))
    for grouping in re.findall(r"\bby (.+)$", query, re.MULTILINE):
        read |= {part.strip() for part in grouping.split(",") if not part.strip().startswith("bin(")}
    return message, read


def test_the_readmes_tokens_per_caller_query_reads_fields_the_proxy_logs() -> None:
    message, fields = query_fields(readme_usage_query())
    assert {"InputTokens", "OutputTokens", "TotalTokens", "caller"} <= fields  # the parse found them
    done = f'data: {json.dumps({"type": "done", "stopReason": "end_turn", "usage": USAGE})}\n\n'.encode()
    app, log = app_and_log(DELTAS + done)
    post(app, {"prompt": PROMPT})
    [record] = usage_records(log)
    assert record["message"] == message
    assert fields <= set(record), f"the query reads fields the record does not have: {fields - set(record)}"
    assert all(isinstance(record[name], int) for name in fields if name.endswith("Tokens"))
