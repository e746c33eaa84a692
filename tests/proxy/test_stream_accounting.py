"""Every stream gives back its slot and closes its upstream stream, whatever path it leaves by.

The app is called as ASGI directly, so each failure can be placed exactly: headers that cannot be
sent, a client gone before the first byte, a task cancelled while AgentCore is still opening the
call, and a response that AgentCore hands over only after the client left.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from streaming_shared import edge
from streaming_proxy import contract
from streaming_proxy.app import LAST_SEND_SECONDS, STOP_WAIT_SECONDS, create_app
from streaming_shared.jsonlog import JsonLogger
from streaming_shared.edge import STREAM_LIMIT_HEADROOM_SECONDS, load_settings
from streaming_proxy.upstream import SESSION_HEADER
from tests.support.fake_agentcore import FakeAgentCore, breaking_answer, drop_answer, endless_answer

ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/my_agent-AbCdEf1234"
FAILURES_PER_KIND = 20


def make_app(agentcore: FakeAgentCore, **environment: str) -> Any:
    settings = load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_KEEPALIVE_SECONDS": "0.05", **environment})
    return create_app(settings, agentcore, JsonLogger("proxy-test", "ERROR"))


def scope_for(body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/invoke",
        "raw_path": b"/invoke",
        "root_path": "",
        "query_string": b"",
        "headers": headers or [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 8000),
    }


def body_then(body: bytes, disconnect: asyncio.Event) -> Any:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    return receive


REQUEST = json.dumps({"prompt": "hello"}).encode()


def wait_for(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.01)
    assert condition()


async def eventually(condition: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    assert condition()


def test_headers_that_cannot_be_sent_release_the_slot_and_the_upstream_stream() -> None:
    # Before: Starlette's StreamingResponse never started its generator, so neither was released.
    agentcore = FakeAgentCore()
    app = make_app(agentcore)

    async def main() -> None:
        for _ in range(FAILURES_PER_KIND):
            async def refusing_send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start" and message["status"] == 200:
                    raise RuntimeError("header value refused by the server")

            await app(scope_for(REQUEST), body_then(REQUEST, asyncio.Event()), refusing_send)
        assert app.state.proxy.active_streams == 0

    asyncio.run(main())
    # Nothing was opened at all: the stream failed before it asked AgentCore.
    assert agentcore.opened == 0


def test_a_client_that_leaves_before_the_first_byte_releases_everything() -> None:
    agentcore = FakeAgentCore()
    agentcore.gate.clear()  # AgentCore is slow to open the call
    app = make_app(agentcore)

    async def main() -> None:
        for _ in range(FAILURES_PER_KIND):
            gone = asyncio.Event()
            gone.set()  # the disconnect is waiting as soon as the body has been read

            async def send(message: dict[str, Any]) -> None:
                pass

            await asyncio.wait_for(app(scope_for(REQUEST), body_then(REQUEST, gone), send), 5)
        # AgentCore's calls still being opened hold their slots (a client leaving does not end them);
        # the last request may still be on its way to the fake.
        await eventually(lambda: app.state.proxy.active_streams == agentcore.opening)
        agentcore.gate.set()  # AgentCore answers now, for nobody: each response must be closed at once
        await eventually(lambda: app.state.proxy.active_streams == 0)
        await eventually(lambda: agentcore.held() == 0)

    asyncio.run(main())


def test_a_cancelled_request_task_releases_everything() -> None:
    agentcore = FakeAgentCore()
    agentcore.gate.clear()
    app = make_app(agentcore)

    async def main() -> None:
        tasks = []
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            chunks.append(message.get("body", b""))

        for _ in range(FAILURES_PER_KIND):
            tasks.append(asyncio.ensure_future(app(scope_for(REQUEST), body_then(REQUEST, asyncio.Event()), send)))
        await eventually(lambda: app.state.proxy.active_streams == FAILURES_PER_KIND)
        # `start` went out while AgentCore was still opening the call.
        assert sum(chunk.startswith(b"event: start") for chunk in chunks) == FAILURES_PER_KIND
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Each slot is given back once AgentCore has answered the call it was opening.
        await eventually(lambda: app.state.proxy.active_streams == agentcore.opening)
        agentcore.gate.set()
        await eventually(lambda: app.state.proxy.active_streams == 0)
        await eventually(lambda: agentcore.held() == 0)

    asyncio.run(main())


def test_a_client_that_leaves_mid_stream_closes_the_upstream_stream() -> None:
    agentcore = FakeAgentCore()
    app = make_app(agentcore)

    async def main() -> None:
        for _ in range(FAILURES_PER_KIND):
            gone = asyncio.Event()

            async def send(message: dict[str, Any]) -> None:
                if message.get("body", b"").startswith(b"event: start"):
                    gone.set()
                    await asyncio.sleep(0.01)

            await asyncio.wait_for(app(scope_for(REQUEST), body_then(REQUEST, gone), send), 5)
        assert app.state.proxy.active_streams == 0

    asyncio.run(main())
    wait_for(lambda: agentcore.held() == 0)


def test_slots_are_counted_while_streams_are_open_and_refused_beyond_the_limit() -> None:
    agentcore = FakeAgentCore()
    agentcore.gate.clear()
    app = make_app(agentcore, PROXY_MAX_CONCURRENT_STREAMS="2")

    async def main() -> None:
        statuses: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        tasks = [
            asyncio.ensure_future(app(scope_for(REQUEST), body_then(REQUEST, asyncio.Event()), send)) for _ in range(2)
        ]
        await eventually(lambda: app.state.proxy.active_streams == 2)
        await app(scope_for(REQUEST), body_then(REQUEST, asyncio.Event()), send)
        assert statuses == [200, 200, 429]
        agentcore.gate.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert app.state.proxy.active_streams == 0

    asyncio.run(main())
    # The reader thread closes the body once it sees the stream closed (it polls every 0.5 s).
    wait_for(lambda: agentcore.held() == 0 and agentcore.calls == 2)


def test_clients_that_leave_while_agentcore_is_opening_count_against_the_cap() -> None:
    # Before: a client that left gave its slot back at once, while its AgentCore call went on
    # opening in a worker thread, so 30 such clients opened up to 30 calls against a cap of 2.
    agentcore = FakeAgentCore()
    agentcore.gate.clear()
    app = make_app(agentcore, PROXY_MAX_CONCURRENT_STREAMS="2")
    opener = threading.Timer(0.2, agentcore.gate.set)  # AgentCore answers a little later

    async def main() -> None:
        statuses: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        for _ in range(30):
            gone = asyncio.Event()
            calls_before = agentcore.calls
            client = asyncio.ensure_future(app(scope_for(REQUEST), body_then(REQUEST, gone), send))
            # The client leaves once its AgentCore call is being opened (or it was refused).
            await eventually(lambda: agentcore.calls > calls_before or client.done())
            gone.set()
            await asyncio.wait_for(client, 5)
        opener.start()
        await eventually(lambda: app.state.proxy.active_streams == 0)
        assert statuses.count(200) == 2 and statuses.count(429) == 28, statuses

    asyncio.run(main())
    assert agentcore.most_opening <= 2
    wait_for(lambda: agentcore.held() == 0 and agentcore.calls == 2)
    # A client that leaves stops nothing, as on AWS where the proxy never learns of it.
    time.sleep(0.2)
    assert agentcore.stops == []


def test_a_call_answered_after_the_limit_struck_while_opening_gets_its_turn_stopped() -> None:
    agentcore = FakeAgentCore()
    agentcore.gate.clear()  # AgentCore answers only after the stream limit
    app = make_app(agentcore, PROXY_STREAM_TIMEOUT_SECONDS="1", PROXY_KEEPALIVE_SECONDS="0.5")
    chunks: list[bytes] = []

    async def main() -> None:
        async def send(message: dict[str, Any]) -> None:
            chunks.append(message.get("body", b""))

        await asyncio.wait_for(app(scope_for(REQUEST), body_then(REQUEST, asyncio.Event()), send), 5)
        # The opening call still holds the slot; AgentCore answers now, for nobody.
        assert app.state.proxy.active_streams == 1
        agentcore.gate.set()
        await eventually(lambda: app.state.proxy.active_streams == 0)

    asyncio.run(main())
    assert b'"code":"UPSTREAM_TIMEOUT"' in b"".join(chunks)
    wait_for(lambda: len(agentcore.stops) == 1 and agentcore.held() == 0 and agentcore.calls == 1)
    assert json.loads(agentcore.stops[0].body)["turnId"]


def test_the_last_send_and_the_stop_fit_in_the_headroom_left_after_lambdas_init() -> None:
    lambda_init_limit_seconds = 10  # Lambda's init phase limit, inside API Gateway's 900 s
    assert LAST_SEND_SECONDS + STOP_WAIT_SECONDS < STREAM_LIMIT_HEADROOM_SECONDS - lambda_init_limit_seconds


def test_a_client_that_stops_reading_is_cut_at_the_limit_and_its_turn_is_stopped() -> None:
    # Before: `send` blocked on the full window for ever, so the limit never struck and the slot,
    # the upstream call and the agent's turn were held until the client read again.
    agentcore = FakeAgentCore(endless_answer)
    app = make_app(agentcore, PROXY_STREAM_TIMEOUT_SECONDS="1", PROXY_KEEPALIVE_SECONDS="0.5")
    records: list[dict[str, Any]] = []
    app.state.proxy.logger.info = lambda message, **fields: records.append({"message": message, **fields})

    async def main() -> float:
        started = time.monotonic()

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and b"event: delta" in message["body"]:
                await asyncio.Event().wait()  # the client stopped reading: the window stays full

        await asyncio.wait_for(app(scope_for(REQUEST), body_then(REQUEST, asyncio.Event()), send), 10)
        assert app.state.proxy.active_streams == 0
        return time.monotonic() - started

    elapsed = asyncio.run(main())
    assert elapsed < 1 + LAST_SEND_SECONDS + 2  # the limit, the last event's allowance, room for a loaded machine
    wait_for(lambda: agentcore.held() == 0 and agentcore.calls == 1)
    assert len(agentcore.stops) == 1
    stop = agentcore.stops[0]
    opened_session = stop.headers[SESSION_HEADER.lower()]
    assert json.loads(stop.body)["action"] == "stop" and json.loads(stop.body)["turnId"]
    assert opened_session.startswith("session-")
    usage = [record for record in records if record["message"] == "turn usage"]
    assert len(usage) == 1 and usage[0]["outcome"] == f"error:{edge.STREAM_TIMEOUT}"


def test_a_broken_answer_still_ends_with_its_error_when_the_stop_of_its_turn_fails() -> None:
    agentcore = FakeAgentCore(breaking_answer)
    agentcore.stop_answer = drop_answer  # the runtime is gone: the stop's connection closes unanswered
    app = make_app(agentcore)
    warnings: list[dict[str, Any]] = []
    app.state.proxy.logger.warning = lambda message, **fields: warnings.append({"message": message, **fields})
    chunks: list[bytes] = []

    async def main() -> None:
        async def send(message: dict[str, Any]) -> None:
            chunks.append(message.get("body", b""))

        await asyncio.wait_for(app(scope_for(REQUEST), body_then(REQUEST, asyncio.Event()), send), 10)

    asyncio.run(main())
    assert b'"code":"UPSTREAM_INTERRUPTED"' in b"".join(chunks) and chunks[-1] == b""
    assert len(agentcore.stops) == 1
    failed = [w for w in warnings if w["message"] == "abandoned turn not stopped"]
    assert len(failed) == 1 and failed[0]["stopError"] == "ConnectionClosedBeforeResponse"


# -- the HTTP edges, through Starlette's test client ----------------------------------------------


def client_for(agentcore: FakeAgentCore | None = None, **environment: str) -> TestClient:
    return TestClient(make_app(agentcore or FakeAgentCore(), **environment), raise_server_exceptions=False)


def test_trailing_slash_is_a_404_json_error_not_a_redirect() -> None:
    response = client_for().post(
        "/invoke/", content=REQUEST, headers={"content-type": "application/json", "host": "evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == edge.NOT_FOUND
    assert "location" not in response.headers


def test_duplicate_content_type_headers_are_refused() -> None:
    client = client_for()
    response = client.post(
        "/invoke", content=REQUEST, headers=[("content-type", "application/json"), ("content-type", "text/plain")]
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == edge.UNSUPPORTED_MEDIA_TYPE


@pytest.mark.parametrize(
    "context",
    ["[" * 100_000 + "]" * 100_000, '{"requestId": ' + "[" * 100_000 + "]" * 100_000 + "}", "x" * (1024 * 1024),
     "not json", "[]", ""],
    ids=["nested", "nested-inside", "oversized", "text", "array", "empty"],
)
def test_an_unusable_request_context_is_refused_never_served_as_the_anonymous_caller(context: str) -> None:
    # Before: the first three were a text/plain 500 once, then all of these streamed as "anonymous".
    agentcore = FakeAgentCore()
    response = client_for(agentcore).post(
        "/invoke", content=REQUEST, headers={"content-type": "application/json", contract_header(): context},
    )
    assert response.status_code == 400, response.text[:200]
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == edge.INVALID_REQUEST and contract_header() in error["message"]
    assert error["requestId"] == response.headers["x-request-id"]
    assert agentcore.opened == 0


def test_a_missing_request_context_is_refused_where_a_gateway_stands_in_front() -> None:
    # PROXY_REQUIRE_REQUEST_CONTEXT: on for every deployed proxy and behind the local gateway.
    agentcore = FakeAgentCore()
    client = client_for(agentcore, PROXY_REQUIRE_REQUEST_CONTEXT="true")
    response = client.post("/invoke", content=REQUEST, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == edge.INVALID_REQUEST
    assert agentcore.opened == 0
    context = json.dumps({"requestId": "req-1", "identity": {"apiKeyId": "key-1"}})
    response = client.post("/invoke", content=REQUEST, headers={"content-type": "application/json", contract_header(): context})
    assert response.status_code == 200 and response.headers["x-request-id"] == "req-1"
    # Without a gateway in front (the local stack with no auth), a request without one is anonymous.
    response = client_for(agentcore).post("/invoke", content=REQUEST, headers={"content-type": "application/json"})
    assert response.status_code == 200


def contract_header() -> str:
    from streaming_shared.edge import REQUEST_CONTEXT_HEADER

    return REQUEST_CONTEXT_HEADER


@pytest.mark.parametrize("code", [*range(0x20), 0x7F])
def test_a_request_id_with_a_control_character_is_replaced(code: int) -> None:
    context = json.dumps({"requestId": f"abc{chr(code)}def"})
    response = client_for().post(
        "/invoke", content=REQUEST, headers={"content-type": "application/json", contract_header(): context}
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] != f"abc{chr(code)}def"
    assert contract.is_valid_request_id(response.headers["x-request-id"])


def test_a_prompt_at_the_limit_in_escaped_emoji_is_accepted() -> None:
    # Each 😀 is \ud83d\ude00 with ensure_ascii: 12 bytes per character. Before: 413 at 6 bytes each.
    limit = 500
    body = json.dumps({"prompt": "😀" * limit}, ensure_ascii=True).encode()
    assert len(body) > limit * 6 + 2048
    response = client_for(PROXY_MAX_PROMPT_CHARS=str(limit)).post(
        "/invoke", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text[:300]
    assert b"event: done" in response.content


@pytest.mark.parametrize("path", ["/invoke", "/elsewhere", "/_ready"])
def test_both_content_length_and_transfer_encoding_are_refused_with_connection_close(path: str) -> None:
    response = client_for().post(
        path, content=REQUEST,
        headers={"content-type": "application/json", "transfer-encoding": "chunked", "content-length": "10"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == edge.AMBIGUOUS_FRAMING
    assert response.headers["connection"] == "close"
