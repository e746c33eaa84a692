"""A request that asks to switch protocols is answered as the plain HTTP request it also is.

The proxy speaks no WebSocket, and a REST API cannot carry one. Before: with the `websockets`
package installed (it is, locally) uvicorn took `Upgrade: websocket` as a handshake, so GET /invoke
got an empty 403 instead of the contract's 405, and a POST with a body got no answer at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from streaming_shared import edge
from streaming_proxy.app import create_app
from streaming_shared.edge import load_settings
from streaming_proxy.http_guard import GuardedH11Protocol
from tests.support.fake_agentcore import FakeAgentCore, drop_answer
from tests.support.servers import ServerThread, answer_head

ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/my_agent-AbCdEf1234"
BODY = b'{"prompt": "hi"}'
WEBSOCKET_HANDSHAKE = (
    b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


@pytest.fixture(scope="module")
def proxy_port() -> Iterator[int]:
    app = create_app(load_settings({"AGENT_RUNTIME_ARN": ARN}), client=FakeAgentCore(drop_answer))
    with ServerThread(app, name="proxy", http=GuardedH11Protocol) as server:
        yield server.port


def post(upgrade: bytes) -> bytes:
    return (
        b"POST /invoke HTTP/1.1\r\nHost: proxy\r\n" + upgrade
        + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    )


def test_a_websocket_handshake_gets_the_contracts_json_not_an_empty_403(proxy_port: int) -> None:
    status, headers, rest = answer_head(proxy_port, b"GET /invoke HTTP/1.1\r\nHost: proxy\r\n" + WEBSOCKET_HANDSHAKE + b"\r\n")
    assert status == 405 and headers["content-type"] == "application/json"
    body = json.loads(rest)
    assert body["error"]["code"] == edge.METHOD_NOT_ALLOWED
    assert headers["allow"] == "POST"


@pytest.mark.parametrize("upgrade", [WEBSOCKET_HANDSHAKE, b"Connection: Upgrade\r\nUpgrade: h2c\r\n"])
def test_a_post_with_an_upgrade_and_a_body_is_answered_at_once(proxy_port: int, upgrade: bytes) -> None:
    status, headers, _ = answer_head(proxy_port, post(upgrade))
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert "upgrade" not in headers  # no switch was offered
