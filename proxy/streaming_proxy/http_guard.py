"""uvicorn's h11 protocol with the read timeouts it lacks: slow clients are dropped.

uvicorn 0.54 times out only an idle keep-alive connection, and only after a first response: a client
that connects and sends nothing, or sends its headers (or its body) a byte at a time, holds a
connection and a task for ever. This protocol closes a connection whose request headers are not
complete `HEADER_TIMEOUT_SECONDS` after its first byte (or after the connection opened), or whose
body is not complete `BODY_TIMEOUT_SECONDS` after its headers. The application then sees
`http.disconnect`, as when any client leaves.

    uvicorn --http streaming_proxy.http_guard:GuardedH11Protocol ...   (run.sh)
    uvicorn.run(app, http=GuardedH11Protocol)                          (the local gateway)

HTTP_HEADER_TIMEOUT_SECONDS and HTTP_BODY_TIMEOUT_SECONDS override the defaults (tests use short ones).

It never switches protocols. A request with `Connection: Upgrade` (`Upgrade: websocket`, `h2c`) is an
ordinary HTTP request to the app, which answers it like any other (the contract's JSON, or the
stream): neither the proxy nor the local gateway speaks WebSocket, and a REST API cannot carry one
(API Gateway's WebSocket APIs are a separate API type). With uvicorn's own choice, a `websockets`
package in the environment (there locally, absent from the Lambda zip) would turn such a request
into an empty 403, or leave a POST with a body unanswered.

A request it cannot parse gets uvicorn's 400 and then a lingering close, as web servers do: uvicorn
closes at once, and a close with request bytes still unread makes the kernel send a reset that can
destroy the 400 before the client reads it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 3600:
        raise SystemExit(f"{name} must be a number of seconds from 0 to 3600, got {raw!r}")
    return value


# API Gateway and Lambda Web Adapter send a whole request at once; only a hostile or broken client
# is this slow. The body limit is generous for a large prompt on a poor mobile link.
HEADER_TIMEOUT_SECONDS = _seconds("HTTP_HEADER_TIMEOUT_SECONDS", 10.0)
BODY_TIMEOUT_SECONDS = _seconds("HTTP_BODY_TIMEOUT_SECONDS", 30.0)
# How long a refused connection keeps reading (and dropping) what its client still sends.
LINGER_SECONDS = 2.0


class _LingerOnClose:
    """The transport as uvicorn's send_400_response uses it (write, then close), closing by lingering."""

    def __init__(self, transport: asyncio.Transport, linger: Callable[[asyncio.Transport], None]) -> None:
        self._transport = transport
        self._linger = linger

    def write(self, data: bytes) -> None:
        self._transport.write(data)

    def close(self) -> None:
        self._linger(self._transport)


class GuardedH11Protocol(H11Protocol):
    header_timeout_seconds = HEADER_TIMEOUT_SECONDS
    body_timeout_seconds = BODY_TIMEOUT_SECONDS

    _read_timer: asyncio.TimerHandle | None = None
    # Which part of the request the armed timer is for: "headers" or "body".
    _reading: str | None = None
    # After a 400 for bytes h11 cannot parse: the answer is out, input is read and dropped.
    _lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the rest of a refused request
        super().data_received(data)
        self._follow_request_state()

    def eof_received(self) -> None:
        if self._lingering:
            self.transport.close()  # the client has sent everything: nothing left to reset

    def _should_upgrade(self) -> bool:
        return False  # see the module docstring: an upgrade request is answered as plain HTTP

    def send_400_response(self, msg: str) -> None:
        transport = self.transport
        self.transport = _LingerOnClose(transport, self._linger)  # type: ignore[assignment]
        try:
            super().send_400_response(msg)
        finally:
            self.transport = transport

    def _linger(self, transport: asyncio.Transport) -> None:
        self._disarm()
        self._lingering = True
        if transport.can_write_eof():
            transport.write_eof()  # the answer ends here; the client reads it, then its EOF closes us
        self.loop.call_later(LINGER_SECONDS, self._end_linger)

    def _end_linger(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle now: uvicorn's keep-alive timer takes over until the next request's first byte.
        self._follow_request_state()

    def _follow_request_state(self) -> None:
        if self.transport is None or self.transport.is_closing():
            self._disarm()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            # Waiting for headers. With no byte of them yet, uvicorn's keep-alive timer (armed after
            # each response) already bounds the wait.
            if self.timeout_keep_alive_task is None and self._reading != "headers":
                self._arm("headers")
            elif self.timeout_keep_alive_task is not None:
                self._disarm()
        elif state is h11.SEND_BODY:
            if self._reading != "body":
                self._arm("body")
        else:
            self._disarm()  # the request is complete (or the connection is ending)

    def _arm(self, part: str) -> None:
        self._disarm()
        seconds = self.header_timeout_seconds if part == "headers" else self.body_timeout_seconds
        self._reading = part
        self._read_timer = self.loop.call_later(seconds, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
        self._read_timer = None
        self._reading = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        part, self._reading = self._reading, None
        if self.transport.is_closing():
            return
        self.logger.info("Closing a connection whose request %s did not arrive in time.", part)
        self.transport.close()
