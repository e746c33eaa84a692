"""Tell the running turn that the caller of POST /invocations has gone away.

bedrock-agentcore 1.25 runs an async-generator entrypoint on its own worker loop and hands chunks
to Starlette through a sync generator. When the client disconnects, Starlette stops reading, but
the SDK's bridge only stops its producer once that sync generator is closed, which does not
happen until the turn ends. So the turn would run to completion for nobody, spending model
tokens and holding its session's turn lock.

DisconnectSignalMiddleware gives each invocation a threading.Event in a contextvar and sets it
when the server reports `http.disconnect`. The SDK copies the request's context into its worker
loop, so the entrypoint reads the same Event with current_disconnect_signal() and passes it to
Strands as the turn's cancel_signal. A threading.Event, because the middleware and the
entrypoint run on different threads and event loops.
"""

from __future__ import annotations

import contextvars
import threading

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INVOCATIONS_PATH = "/invocations"

_disconnect_signal: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "streaming_agent_disconnect_signal", default=None
)


def current_disconnect_signal() -> threading.Event:
    """The Event that is set once this invocation's client disconnects.

    Outside the middleware (a direct call, a test) nothing can report a disconnect, so a fresh
    Event that is never set keeps callers free of None checks.
    """
    signal = _disconnect_signal.get()
    return signal if signal is not None else threading.Event()


class DisconnectSignalMiddleware:
    """Pure ASGI: it only wraps `receive`, so response chunks pass through untouched and unbuffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != INVOCATIONS_PATH:
            await self.app(scope, receive, send)
            return

        disconnected = threading.Event()

        async def receive_and_watch() -> Message:
            message = await receive()
            # Starlette's StreamingResponse keeps calling receive while it streams (ASGI spec
            # 2.3, which uvicorn speaks), so a client that leaves mid-answer is seen here.
            if message["type"] == "http.disconnect":
                disconnected.set()
            return message

        token = _disconnect_signal.set(disconnected)
        try:
            await self.app(scope, receive_and_watch, send)
        finally:
            _disconnect_signal.reset(token)
