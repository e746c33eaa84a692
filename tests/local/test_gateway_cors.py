"""The local API Gateway with CORS on: the preflight passes unauthenticated to the proxy (like the
deployed API's open MOCK route) and the gateway's own errors carry Access-Control-Allow-Origin for
an allowed Origin, so a page can read why it was refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from local.gateway import LocalApiGateway, error_cors_headers
from streaming_shared.edge import parse_allowed_origins
from local.gateway_auth import AuthSettings
from local.stack import LocalStack, StackSettings

PAGE_ORIGIN = "http://localhost:8001"
OTHER_ALLOWED_ORIGIN = "https://chat.example.com"
FOREIGN_ORIGIN = "https://evil.example.net"
API_KEY = "cors-test-key-0123456789"
PREFLIGHT_REQUEST_HEADERS = {
    "Origin": PAGE_ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, x-api-key",
}


@pytest.fixture(scope="module")
def cors_stack() -> Iterator[LocalStack]:
    # LocalStack hands its own environment to the gateway and the proxy alike, which is how both
    # learn the origins here (as both are configured from corsAllowedOrigins on AWS).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PROXY_CORS_ALLOWED_ORIGINS", f"{PAGE_ORIGIN},{OTHER_ALLOWED_ORIGIN}")
        stack = LocalStack(StackSettings(offline_delay_ms=0, auth="apiKey", api_keys={API_KEY: "cors-key-id"}))
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def test_preflight_from_an_allowed_origin_passes_without_a_key(cors_stack: LocalStack) -> None:
    response = httpx.options(f"{cors_stack.url}/invoke", headers=PREFLIGHT_REQUEST_HEADERS, timeout=30)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == PAGE_ORIGIN
    assert response.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert response.headers["access-control-allow-headers"] == (
        "content-type, x-api-key, authorization, x-amz-date, x-amz-security-token"
    )
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["access-control-expose-headers"] == "X-Session-Id, X-Request-Id, Retry-After"
    assert "Origin" in response.headers["vary"]
    # Answered by the proxy behind the gateway, not refused by the gateway itself.
    assert "x-amzn-errortype" not in response.headers


def test_preflight_from_a_foreign_origin_grants_nothing(cors_stack: LocalStack) -> None:
    response = httpx.options(
        f"{cors_stack.url}/invoke", headers={**PREFLIGHT_REQUEST_HEADERS, "Origin": FOREIGN_ORIGIN}, timeout=30
    )
    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("origin", [PAGE_ORIGIN, OTHER_ALLOWED_ORIGIN])
def test_missing_key_is_refused_readably_for_an_allowed_origin(cors_stack: LocalStack, origin: str) -> None:
    response = httpx.post(f"{cors_stack.url}/invoke", json={"prompt": "hi"}, headers={"Origin": origin}, timeout=30)
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "ForbiddenException"
    assert response.headers["access-control-allow-origin"] == origin
    assert "X-Request-Id" in response.headers["access-control-expose-headers"]
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_missing_key_from_a_foreign_origin_gets_no_cors_header(cors_stack: LocalStack) -> None:
    response = httpx.post(
        f"{cors_stack.url}/invoke", json={"prompt": "hi"}, headers={"Origin": FOREIGN_ORIGIN}, timeout=30
    )
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


def test_unknown_route_error_carries_the_origin(cors_stack: LocalStack) -> None:
    response = httpx.get(f"{cors_stack.url}/other", headers={"Origin": PAGE_ORIGIN}, timeout=30)
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert response.headers["access-control-allow-origin"] == PAGE_ORIGIN


def test_an_authenticated_stream_from_an_allowed_origin_is_readable(cors_stack: LocalStack) -> None:
    with httpx.stream(
        "POST", f"{cors_stack.url}/invoke", json={"prompt": "hello"},
        headers={"Origin": PAGE_ORIGIN, "x-api-key": API_KEY}, timeout=60,
    ) as response:
        body = response.read().decode()
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == PAGE_ORIGIN
    assert "event: done" in body


# --- Without CORS: the gateway behaves as the deployed API without an OPTIONS route -----------------


def asgi_request(app: LocalApiGateway, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
            return await client.request(method, path, headers=headers)

    return asyncio.run(call())


def test_without_origins_a_preflight_is_refused_like_a_missing_route() -> None:
    # The upstream is never contacted: the port is closed, and a forward would end in a 502.
    app = LocalApiGateway("http://127.0.0.1:9", AuthSettings(mode="apiKey", api_keys={API_KEY: "id"}))
    response = asgi_request(app, "OPTIONS", "/invoke", PREFLIGHT_REQUEST_HEADERS)
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert "access-control-allow-origin" not in response.headers
    assert "vary" not in response.headers


def test_error_cors_headers() -> None:
    origins = parse_allowed_origins(f" {PAGE_ORIGIN} ,, HTTPS://Chat.Example.com,{PAGE_ORIGIN}")
    assert origins == (PAGE_ORIGIN, OTHER_ALLOWED_ORIGIN)
    assert error_cors_headers((), PAGE_ORIGIN) == []
    assert dict(error_cors_headers(origins, FOREIGN_ORIGIN)) == {b"vary": b"Origin"}
    assert dict(error_cors_headers(origins, None)) == {b"vary": b"Origin"}
    allowed = dict(error_cors_headers(origins, OTHER_ALLOWED_ORIGIN))
    assert allowed[b"access-control-allow-origin"] == OTHER_ALLOWED_ORIGIN.encode()
    assert dict(error_cors_headers(("*",), FOREIGN_ORIGIN))[b"access-control-allow-origin"] == FOREIGN_ORIGIN.encode()


def test_the_served_page_can_reach_an_authenticating_gateway() -> None:
    # serve_page picks the page's origins itself; the gateway in front must learn them too.
    with LocalStack(StackSettings(offline_delay_ms=0, auth="apiKey", api_keys={API_KEY: "page-key-id"}, serve_page=True)) as stack:
        origin = stack.page_server.origins[0]
        preflight = httpx.options(
            f"{stack.url}/invoke", headers={**PREFLIGHT_REQUEST_HEADERS, "Origin": origin}, timeout=30
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == origin
        refused = httpx.post(f"{stack.url}/invoke", json={"prompt": "hi"}, headers={"Origin": origin}, timeout=30)
        assert refused.status_code == 403
        assert refused.headers["access-control-allow-origin"] == origin
