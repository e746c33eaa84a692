"""The local gateway answers a request that asks to switch protocols as API Gateway's REST API does:
as plain HTTP. Before: a WebSocket handshake got uvicorn's plain-text 500 (the gateway's app ignored
the websocket scope), and a POST with an upgrade and a body was never answered."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from local.gateway import LocalApiGateway
from local.gateway_auth import AuthSettings
from streaming_shared.edge import FORBIDDEN
from streaming_proxy.http_guard import GuardedH11Protocol
from tests.support.servers import ServerThread, answer_head

BODY = b'{"prompt": "hi"}'
WEBSOCKET_HANDSHAKE = (
    b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


async def invoke(request: Request) -> Response:
    """The proxy, as far as these tests need it: the stream starts once the body has arrived."""
    await request.body()
    return StreamingResponse(iter([b"event: start\ndata: {}\n\n"]), media_type="text/event-stream")


@pytest.fixture(scope="module")
def gateway_port() -> Iterator[int]:
    proxy = Starlette(routes=[Route("/invoke", invoke, methods=["POST"])])
    with ServerThread(proxy, name="proxy") as upstream:
        # As local.gateway.main() runs it.
        gateway = LocalApiGateway(upstream.url, AuthSettings())
        with ServerThread(gateway, name="gateway", http=GuardedH11Protocol) as server:
            yield server.port


def test_a_websocket_handshake_gets_api_gateways_json_403_not_a_plain_text_500(gateway_port: int) -> None:
    status, headers, rest = answer_head(gateway_port, b"GET /invoke HTTP/1.1\r\nHost: api\r\n" + WEBSOCKET_HANDSHAKE + b"\r\n")
    assert status == 403 and headers["content-type"] == "application/json"
    assert json.loads(rest)["error"]["code"] == FORBIDDEN
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_a_post_with_an_upgrade_and_a_body_is_answered_at_once(gateway_port: int) -> None:
    request = (
        b"POST /invoke HTTP/1.1\r\nHost: api\r\n" + WEBSOCKET_HANDSHAKE
        + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    )
    status, headers, _ = answer_head(gateway_port, request)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
