"""Cross-origin access for browser pages (the chat page in web/), off unless origins are configured.

PROXY_CORS_ALLOWED_ORIGINS is a comma-separated list of origins (``https://chat.example.com``,
``http://127.0.0.1:8001``) or ``*`` alone for any origin, in the one origin grammar of edge.py.
Empty means no CORS headers at all and no OPTIONS route, so a stack that serves no browser page
exposes nothing extra. The policy and the header values live in edge.py; this is the middleware.

For an allowed Origin every response (errors included) carries Access-Control-Allow-Origin with that
origin and Access-Control-Expose-Headers, so a page can read X-Session-Id, X-Request-Id and
Retry-After. The proxy answers the preflights (OPTIONS /invoke, OPTIONS /stop) itself; on AWS, API Gateway answers it
with a MOCK integration built from the same edge.py constants.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streaming_shared.edge import ALLOWED_METHODS, PREFLIGHT_METHOD, PREFLIGHT_PATHS, PREFLIGHT_STATUS, CorsPolicy


def merge_vary(existing: str | None, value: str) -> str:
    if not existing:
        return value
    names = [name.strip() for name in existing.split(",")]
    return existing if value.lower() in (name.lower() for name in names) else f"{existing}, {value}"


class CorsMiddleware:
    """Adds the policy's headers to every response and answers the preflight for each route.

    A plain ASGI middleware, not BaseHTTPMiddleware: it only touches the response-start message, so a
    streamed body passes through chunk by chunk and a client disconnect still reaches the app.
    """

    def __init__(self, app: ASGIApp, policy: CorsPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.policy.enabled:
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        origin = request_headers.get("origin")
        if scope["method"] == PREFLIGHT_METHOD and scope["path"] in PREFLIGHT_PATHS:
            await self._answer_preflight(origin, send)
            return

        extra = self.policy.response_headers(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(message, extra)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _answer_preflight(self, origin: str | None, send: Send) -> None:
        # 204 whether or not the origin is allowed: without Access-Control-Allow-Origin the browser
        # refuses the real request anyway, and a refusal here would tell a prober nothing more.
        message: Message = {"type": "http.response.start", "status": PREFLIGHT_STATUS, "headers": []}
        add_headers(message, {"Allow": ALLOWED_METHODS, "Cache-Control": "no-store"})
        add_headers(message, self.policy.preflight_headers(origin))
        await send(message)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def add_headers(message: Message, headers: Mapping[str, str]) -> None:
    mutable = MutableHeaders(scope=message)
    for name, value in headers.items():
        if name == "Vary":
            mutable["Vary"] = merge_vary(mutable.get("Vary"), value)
        else:
            mutable[name] = value
