"""A hostile API for the chat page's tests: its own loopback origin, every request recorded.

It is as welcoming as an attacker's server would be: it answers any CORS preflight for any origin
and any header, and answers POST .../invoke with a well-formed event stream. So when the page keeps
something from it, the page did, not the browser's CORS rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.servers import ServerThread

ANSWER_TEXT = "The linked API answered."
SESSION_ID = "linked-api-session"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: str

    def carries(self, secret: str) -> bool:
        """Whether `secret` appears anywhere in what the browser sent: path, any header, the body."""
        return any(secret in text for text in (self.path, self.body, *self.headers.values()))


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


STREAM = (_event("start", {"sessionId": SESSION_ID, "requestId": "linked-1"})
          + _event("delta", {"text": ANSWER_TEXT})
          + _event("done", {"sessionId": SESSION_ID}))


class RecordingApi(ServerThread):
    """`requests` holds every request in arrival order, preflights included."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]
        super().__init__(Starlette(routes=[Route("/{path:path}", self._answer, methods=methods)]),
                         name="recording API")

    async def _answer(self, request: Request) -> Response:
        body = await request.body()
        self.requests.append(RecordedRequest(request.method, request.url.path, dict(request.headers),
                                             body.decode("utf-8", errors="replace")))
        cors = {
            "Access-Control-Allow-Origin": request.headers.get("origin", "*"),
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": request.headers.get("access-control-request-headers", "*"),
            "Access-Control-Expose-Headers": "X-Session-Id, X-Request-Id",
        }
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=cors)
        if request.method == "POST" and request.url.path.endswith("/invoke"):
            return Response(STREAM, media_type="text/event-stream", headers={**cors, "X-Session-Id": SESSION_ID})
        return Response(status_code=404, headers=cors)

    def credentials_and_bodies(self) -> list[tuple[str, str, str | None, str | None, str]]:
        """(method, path, x-api-key, authorization, body) of each request: what an assertion shows."""
        return [(request.method, request.path, request.headers.get("x-api-key"), request.headers.get("authorization"),
                 request.body) for request in self.requests]

    def posts(self) -> list[RecordedRequest]:
        return [request for request in self.requests if request.method == "POST"]

    def carrying(self, secret: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.carries(secret)]
