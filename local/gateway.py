"""A local API Gateway in front of the proxy: authenticates like the deployed REST API, then streams.

For each request it does what API Gateway and Lambda Web Adapter do together:
- only POST /invoke and POST /stop are routed; anything else gets API Gateway's "Missing Authentication
  Token" 403;
- the caller is authenticated per auth mode (see gateway_auth.py) and refused with the deployed API's
  rewritten gateway responses (GATEWAY_RESPONSES in streaming_shared/edge.py);
- the identity and a fresh requestId go to the proxy as the JSON header x-amzn-request-context, the
  way Lambda Web Adapter passes API Gateway's request context. A client-sent copy of that header is
  dropped first, so no client can forge an identity;
- a header sent more than once reaches the proxy once, with its last value, and a request whose
  Lambda event would not fit Lambda's 6 MB request payload is refused with 413 before the proxy,
  as on AWS (see forwarded_headers and MAX_LAMBDA_EVENT_BYTES);
- the proxy's answer is relayed chunk by chunk as it arrives, and read to its end even after the client
  left, as Lambda keeps a streamed response running when its client's connection breaks (the proxy
  never learns of it; a turn is stopped with POST /stop);
- with CORS on (PROXY_CORS_ALLOWED_ORIGINS in its environment, the proxy's own setting), OPTIONS on
  each route goes to the proxy unauthenticated, as the deployed API's open MOCK preflight routes do,
  and its own errors carry Access-Control-Allow-Origin for an allowed Origin, so a page can read them.

    LOCAL_GATEWAY_AUTH='{"mode": "apiKey", "api_keys": {"secret-key": "key-id-1"}}' \
        python -m local.gateway --port 8000 --upstream http://127.0.0.1:8001
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from streaming_shared.edge import (
    AMBIGUOUS_FRAMING,
    API_ROUTES,
    CORS_VARIABLE,
    GATEWAY_RESPONSES,
    PREFLIGHT_METHOD,
    PREFLIGHT_PATHS,
    ORIGIN_FORMS,
    REQUEST_CONTEXT_HEADER,
    CorsPolicy,
    OriginError,
    error_body,
    parse_allowed_origins,
)

from streaming_shared.jsonlog import log_context, log_fields, write_json_lines
from local.gateway_auth import AuthSettings, CallerIdentity, GatewayRejection, authenticate

HEALTH_PATH = "/_gateway/health"
PREFLIGHT_ROUTES = tuple((PREFLIGHT_METHOD, path) for path in PREFLIGHT_PATHS)
# API Gateway's payload limit for REST APIs.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# Lambda's request payload limit, on the proxy event as JSON ("Request must be smaller than 6291456
# bytes for the InvokeFunction operation"); API Gateway then answers 413 "Request Too Long" itself
# and the function never runs. So a body of 6 to 10 MB never reaches the proxy.
MAX_LAMBDA_EVENT_BYTES = 6 * 1024 * 1024
AUTH_SETTINGS_ENV = "LOCAL_GATEWAY_AUTH"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}

logger = logging.getLogger("local.gateway")


def log(message: str, **fields: Any) -> None:
    log_fields(logger, logging.INFO, message, **fields)


def request_context(request_id: str, caller: CallerIdentity, scope: Scope) -> dict[str, Any]:
    """The subset of API Gateway's requestContext the proxy reads, shaped like the real one."""
    client = scope.get("client") or ("127.0.0.1", 0)
    return {
        "requestId": request_id,
        "accountId": "000000000000",
        "apiId": "local",
        "stage": "local",
        "resourcePath": scope["path"],
        "httpMethod": scope["method"],
        "path": scope["path"],
        "requestTimeEpoch": int(time.time() * 1000),
        "identity": {"sourceIp": client[0], **caller.identity},
        **({"authorizer": caller.authorizer} if caller.authorizer else {}),
    }


def error_cors_headers(origins: tuple[str, ...], origin: str | None) -> list[tuple[bytes, bytes]]:
    """CORS headers for a gateway error to a request from `origin` (none when CORS is off or the
    origin is not allowed), so the page can show why it was refused.

    The deployed API can only give its gateway errors one fixed origin (the first; see
    components/streaming_api.py gateway_error_cors_headers); here every allowed origin is echoed,
    which matters for the local page that is reachable as both localhost and 127.0.0.1.
    """
    headers = CorsPolicy(origins).response_headers(origin)
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


async def send_gateway_error(
    send: Send, response_type: str, message: str, request_id: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    response = GATEWAY_RESPONSES[response_type]
    extra = [
        *([(b"x-amzn-errortype", response.error_type.encode())] if response.error_type else []),
        *((name.lower().encode(), value.encode()) for name, value in response.headers.items()),
        *(extra_headers or []),
    ]
    await send_json_error(send, response.status, response.code, message, request_id, extra)


async def send_json_error(
    send: Send, status: int, code: str, message: str, request_id: str, extra_headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps(error_body(code, message, request_id)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-amzn-requestid", request_id.encode()),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def read_request_body(receive: Receive) -> bytes | None:
    """The whole body (API Gateway buffers requests too), or None when it is too large."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client left before sending its body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def forwarded_headers(scope: Scope, context: Mapping[str, Any] | None) -> list[tuple[bytes, bytes]]:
    """The client's headers for the proxy, as the bytes they arrived as, plus the gateway's request
    context when there is one. Bytes, not text: a value with obs-text (bytes 0x80-0xFF) is valid HTTP
    but not ASCII, which httpx would refuse to encode.

    A header sent more than once reaches the app once, with its last value, as on AWS: API Gateway's
    proxy event carries each header's last value in `headers` (all of them in `multiValueHeaders`),
    and Lambda Web Adapter's request (lambda_http's `into_proxy_request`) extends the multi-value map
    with `headers`, which replaces every name present there."""
    last_values: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        # The client's own x-amzn-request-context is dropped: identity comes only from the gateway.
        if name.decode("latin-1") not in HOP_BY_HOP and name not in (
            b"host", b"content-length", REQUEST_CONTEXT_HEADER.encode()
        ):
            last_values[name.lower()] = value
    kept = list(last_values.items())
    if context is None:
        return kept
    return kept + [(REQUEST_CONTEXT_HEADER.encode(), json.dumps(context, separators=(",", ":")).encode())]


def lambda_event_bytes(scope: Scope, body: bytes, context: Mapping[str, Any]) -> int:
    """The size of the proxy event API Gateway hands Lambda for this request, as JSON: the headers
    twice (`headers` with each one's last value, `multiValueHeaders` with all), the request context
    and the body as a JSON string (escaped: a quote costs two bytes). No binary media types are
    configured, so the body is never base64-encoded."""
    headers: dict[str, list[str]] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
    event = {
        "resource": scope["path"], "path": scope["path"], "httpMethod": scope["method"],
        "headers": {name: values[-1] for name, values in headers.items()}, "multiValueHeaders": headers,
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None, "requestContext": context,
        "body": body.decode("utf-8", errors="replace"), "isBase64Encoded": False,
    }
    return len(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


async def watch_for_disconnect(receive: Receive, client_gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    client_gone.set()


class LocalApiGateway:
    """The ASGI app. One httpx client to the proxy for the life of the process."""

    def __init__(self, upstream_url: str, auth: AuthSettings, cors_origins: tuple[str, ...] = ()) -> None:
        self.upstream_url = upstream_url.rstrip("/")
        self.auth = auth
        self.cors_origins = cors_origins
        # No read timeout: the proxy owns the stream limit. trust_env=False: never via HTTP_PROXY.
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=5.0), trust_env=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = str(uuid.uuid4())
        with log_context(requestId=request_id):
            await self.handle(scope, receive, send, request_id)

    async def handle(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        method, path = scope["method"], scope["path"]
        if (method, path) == ("GET", HEALTH_PATH):
            body = b'{"status":"ready"}'
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        headers = Headers(scope=scope)
        cors_headers = error_cors_headers(self.cors_origins, headers.get("origin"))
        if "content-length" in headers and "transfer-encoding" in headers:
            # RFC 9112 section 6.3: a request smuggling attempt until proven otherwise; refuse it and
            # close the connection (Connection: close makes the server do so after the answer).
            await send_json_error(
                send, 400, AMBIGUOUS_FRAMING, "Send Content-Length or Transfer-Encoding, not both.", request_id,
                [(b"connection", b"close"), *cors_headers],
            )
            return
        # Without configured origins the deployed API has no OPTIONS route: the 403 below, as there.
        preflight = bool(self.cors_origins) and (method, path) in PREFLIGHT_ROUTES
        if (method, path) not in API_ROUTES and not preflight:
            await send_gateway_error(
                send, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", request_id, cors_headers
            )
            return
        try:
            body = await read_request_body(receive)
        except ConnectionResetError:
            return
        if body is None:
            await send_gateway_error(send, "REQUEST_TOO_LARGE", "Request Too Long", request_id, cors_headers)
            return
        if preflight:
            # No authentication: a browser never sends credentials on a preflight (on AWS a MOCK
            # route with authorization NONE answers it). No identity either: the proxy only answers.
            await self.forward(scope, receive, send, body, forwarded_headers(scope, None), request_id, cors_headers)
            return
        outcome = authenticate(
            self.auth,
            method=method,
            path=scope.get("raw_path", path.encode()).decode("latin-1").split("?")[0],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
        )
        if isinstance(outcome, GatewayRejection):
            log("request refused", responseType=outcome.response_type)
            await send_gateway_error(send, outcome.response_type, outcome.message, request_id, cors_headers)
            return
        context = request_context(request_id, outcome, scope)
        if lambda_event_bytes(scope, body, context) >= MAX_LAMBDA_EVENT_BYTES:
            log("request refused", responseType="REQUEST_TOO_LARGE", reason="lambda_payload_limit")
            await send_gateway_error(send, "REQUEST_TOO_LARGE", "Request Too Long", request_id, cors_headers)
            return
        await self.forward(scope, receive, send, body, forwarded_headers(scope, context), request_id, cors_headers)

    async def forward(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, headers: list[tuple[bytes, bytes]],
        request_id: str, cors_headers: list[tuple[bytes, bytes]],
    ) -> None:
        url = self.upstream_url + scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        request = self.http.build_request(scope["method"], url + (f"?{query}" if query else ""), headers=headers, content=body)
        try:
            upstream = await self.http.send(request, stream=True)
        except httpx.HTTPError as error:
            log("proxy unreachable", error=type(error).__name__)
            await send_gateway_error(send, "INTEGRATION_FAILURE", "Internal server error", request_id, cors_headers)
            return
        client_gone = asyncio.Event()
        watcher = asyncio.ensure_future(watch_for_disconnect(receive, client_gone))
        try:
            outcome = await self.relay(upstream, send, request_id, client_gone)
        finally:
            watcher.cancel()
            await upstream.aclose()
        log("request relayed", status=upstream.status_code, outcome=outcome)

    async def relay(self, upstream: httpx.Response, send: Send, request_id: str, client_gone: asyncio.Event) -> str:
        """The proxy's answer to the client, and to its end even once the client has left.

        Lambda does not interrupt a streamed response when the invoking client's connection breaks,
        and Lambda Web Adapter's writes keep succeeding, so the proxy never learns that its client
        left. Here, too, the rest of the answer is read and dropped.
        """
        headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in upstream.headers.multi_items()
            if name.lower() not in HOP_BY_HOP
        ] + [(b"x-amzn-requestid", request_id.encode())]
        await self.send_to_client(send, client_gone, {"type": "http.response.start", "status": upstream.status_code, "headers": headers})
        try:
            # aiter_raw: bytes exactly as they arrive, one send per chunk, nothing held back.
            async for chunk in upstream.aiter_raw():
                if chunk:
                    await self.send_to_client(send, client_gone, {"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.HTTPError:
            return "upstream_broken"  # leave the body unfinished, as a broken integration would
        if client_gone.is_set():
            return "client_disconnected"  # the proxy's answer was read to its end all the same
        await self.send_to_client(send, client_gone, {"type": "http.response.body", "body": b"", "more_body": False})
        return "completed"

    @staticmethod
    async def send_to_client(send: Send, client_gone: asyncio.Event, message: Message) -> None:
        if client_gone.is_set():
            return
        try:
            await send(message)
        except OSError:  # servers may raise on send after the client left
            client_gone.set()

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.http.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def auth_settings_from_json(raw: str) -> AuthSettings:
    values = json.loads(raw) if raw.strip() else {}
    return AuthSettings(**values)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m local.gateway", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the proxy's base URL, e.g. http://127.0.0.1:8001")
    args = parser.parse_args(argv)
    write_json_lines(logger, "gateway", sys.stderr)
    # Secrets come from the environment, not the command line, where `ps` would show them.
    try:
        auth = auth_settings_from_json(os.environ.get(AUTH_SETTINGS_ENV, ""))
    except (TypeError, ValueError) as error:
        raise SystemExit(f"gateway configuration error in {AUTH_SETTINGS_ENV}: {error}") from None
    try:
        origins = parse_allowed_origins(os.environ.get(CORS_VARIABLE, ""))
    except OriginError as error:
        raise SystemExit(f"gateway configuration error in {CORS_VARIABLE}: {error}; allowed: {ORIGIN_FORMS}") from None
    app = LocalApiGateway(args.upstream, auth, origins)
    # The proxy's guarded h11 protocol: clients that send headers or a body too slowly are dropped.
    from proxy.streaming_proxy.http_guard import GuardedH11Protocol

    uvicorn.run(
        app, host=args.host, port=args.port, access_log=False, log_level="warning", http=GuardedH11Protocol,
        loop="asyncio",
    )


if __name__ == "__main__":
    main()
