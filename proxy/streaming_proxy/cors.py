"""Cross-origin access for browser pages (the chat page in web/), off unless origins are configured.

PROXY_CORS_ALLOWED_ORIGINS is a comma-separated list of origins (``https://chat.example.com``,
``http://127.0.0.1:8001``) or ``*`` for any origin. Empty means no CORS headers at all and no
OPTIONS route, so a stack that serves no browser page exposes nothing extra.

For an allowed Origin every response (errors included) carries Access-Control-Allow-Origin with that
origin and Access-Control-Expose-Headers, so a page can read X-Session-Id, X-Request-Id and
Retry-After. The proxy answers the preflight (OPTIONS /invoke) itself; on AWS, API Gateway answers it
with a MOCK integration that must return the same headers as `preflight_headers`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ANY_ORIGIN = "*"
PREFLIGHT_PATH = "/invoke"
ALLOWED_METHODS = "POST, OPTIONS"
# What the chat page sends (content-type, x-api-key) and what IAM-signed or Cognito callers add.
ALLOWED_HEADERS = "content-type, x-api-key, authorization, x-amz-date, x-amz-security-token"
EXPOSED_HEADERS = "X-Session-Id, X-Request-Id, Retry-After"
# Browsers cap this (Chromium at 2 h); 10 minutes keeps a changed policy from lingering long.
PREFLIGHT_MAX_AGE_SECONDS = 600
# scheme://host[:port] exactly as a browser serialises an Origin header: no path, no trailing slash.
_ORIGIN_PATTERN = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:[0-9]{1,5})?")


class CorsConfigError(ValueError):
    """An entry of PROXY_CORS_ALLOWED_ORIGINS is not an origin; the message names it."""


def parse_allowed_origins(raw: str) -> tuple[str, ...]:
    """The origins in a comma-separated setting, lower-cased, in order, without duplicates."""
    origins: list[str] = []
    for entry in raw.split(","):
        origin = entry.strip()
        if not origin:
            continue
        if origin != ANY_ORIGIN:
            origin = origin.lower()
            if not _ORIGIN_PATTERN.fullmatch(origin):
                hint = " (drop the trailing slash)" if origin.endswith("/") else ""
                raise CorsConfigError(
                    f"{origin!r} is not an origin: write scheme://host[:port], e.g. https://chat.example.com{hint}"
                )
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


@dataclass(frozen=True)
class CorsPolicy:
    allowed_origins: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.allowed_origins)

    def allows(self, origin: str | None) -> bool:
        if not origin or not self.enabled:
            return False
        # Browsers send lower-case scheme and host; lower-casing here only forgives hand-made requests.
        return ANY_ORIGIN in self.allowed_origins or origin.lower() in self.allowed_origins

    def response_headers(self, origin: str | None) -> dict[str, str]:
        """Headers every response to a request from `origin` carries (empty when CORS is off)."""
        if not self.enabled:
            return {}
        # Vary even for refused origins: a shared cache must not hand one origin's answer to another.
        headers = {"Vary": "Origin"}
        if origin is not None and self.allows(origin):
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return headers

    def preflight_headers(self, origin: str | None) -> dict[str, str]:
        """The answer to OPTIONS /invoke: permission to POST JSON with an API key, or nothing."""
        headers = self.response_headers(origin)
        if "Access-Control-Allow-Origin" in headers:
            headers.update(
                {
                    "Access-Control-Allow-Methods": ALLOWED_METHODS,
                    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                    "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
                }
            )
        return headers


def merge_vary(existing: str | None, value: str) -> str:
    if not existing:
        return value
    names = [name.strip() for name in existing.split(",")]
    return existing if value.lower() in (name.lower() for name in names) else f"{existing}, {value}"


class CorsMiddleware:
    """Adds the policy's headers to every response and answers the preflight for /invoke.

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
        if scope["method"] == "OPTIONS" and scope["path"] == PREFLIGHT_PATH:
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
        message: Message = {"type": "http.response.start", "status": 204, "headers": []}
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
