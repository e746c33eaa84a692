"""HTTP/1.1 to AgentCore on the event loop: h11 over an asyncio protocol, with kept-alive connections.

No thread per stream: the socket's bytes arrive in `data_received` on the event loop and go straight
to the stream that reads them. h11 is already in the proxy (uvicorn's parser), so this costs no import.
Why not httpx/httpcore: README, Performance ("Reading AgentCore on the event loop").

Backpressure: a connection stops reading its socket (`pause_reading`) once READ_LIMIT bytes wait for
the stream, and TCP's window then holds the sender back. Keep-alive: a response read to its end puts
its connection back in the pool; one cut short (a client that left, a timeout) closes it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

import h11

# Bytes a connection takes from its socket before the stream has read them; then it stops reading.
READ_LIMIT = 64 * 1024


class UpstreamUnreachable(Exception):
    """No connection, or the connection broke before a response began (nothing reached the agent's answer)."""


class UpstreamTimeout(Exception):
    """The connection or the response's head did not come in time."""


class UpstreamBroken(Exception):
    """The response's body broke off before its end (a label for the logs in `args[0]`)."""


@dataclass(frozen=True)
class Origin:
    """Where requests go: scheme, host and port, and the Host header they carry."""

    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


class _Connection(asyncio.Protocol):
    """One kept-alive connection: its transport, its h11 state, and the bytes not yet parsed."""

    def __init__(self) -> None:
        self.h11 = h11.Connection(h11.CLIENT)
        self.loop = asyncio.get_running_loop()
        self.transport: Any = None
        self.lost = False
        # The server closed its side (end of stream); connection_lost follows in a later callback.
        self.peer_closed = False
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._pending = 0

    # -- asyncio.Protocol: called by the event loop ---------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport  # asyncio's or uvloop's (which is no asyncio.Transport subclass)

    def data_received(self, data: bytes) -> None:
        self.h11.receive_data(data)
        self._pending += len(data)
        if self._pending > READ_LIMIT and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self.wake()

    def eof_received(self) -> bool:
        self.peer_closed = True
        self.h11.receive_data(b"")
        self.wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.h11.receive_data(b"")  # h11 takes the end of the data more than once
        self.wake()

    # -- used by Response ---------------------------------------------------------------------------

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def next_event(self) -> object:
        """The next parsed event, or h11.NEED_DATA; resumes reading once the stream took its bytes."""
        event = self.h11.next_event()
        if event is h11.NEED_DATA:
            self._pending = 0
            if self._paused and not self.lost:
                self._paused = False
                self.transport.resume_reading()
        return event

    async def wait(self) -> None:
        """Until bytes arrive, the connection ends, or `wake()` is called by someone else."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def send(self, *events: h11.Event) -> None:
        self.transport.write(b"".join(self.h11.send(event) or b"" for event in events))

    @property
    def reusable(self) -> bool:
        return (not self.lost and self.h11.our_state is h11.IDLE and self.h11.their_state is h11.IDLE
                and not self.transport.is_closing())

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class ConnectionPool:
    """Kept-alive connections to one origin, newest first; `opened` counts every connection made."""

    def __init__(self, origin: Origin, connect_timeout: float, max_idle: int, tls: ssl.SSLContext | None) -> None:
        self.origin = origin
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self.tls = tls
        self.opened = 0
        self._idle: list[_Connection] = []

    async def connection(self) -> tuple[_Connection, bool]:
        """A connection and whether it was reused (a kept-alive one whose server has not closed it)."""
        loop = asyncio.get_running_loop()
        while self._idle:
            connection = self._idle.pop()
            # A connection belongs to the loop that made it (tests may run one loop per request).
            if connection.reusable and connection.loop is loop:
                return connection, True
            connection.abort()
        try:
            async with asyncio.timeout(self.connect_timeout):
                transport, connection = await loop.create_connection(
                    _Connection, self.origin.host, self.origin.port, ssl=self.tls,
                    server_hostname=self.origin.host if self.tls else None,
                )
        except TimeoutError as error:
            raise UpstreamTimeout("ConnectTimeout") from error
        except OSError as error:
            raise UpstreamUnreachable(type(error).__name__) from error
        # uvloop calls connection_made() only in a later callback.
        connection.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.opened += 1
        return connection, False

    def give_back(self, connection: _Connection) -> None:
        """Pool a connection whose exchange is complete, unless either side said it closes (MUST_CLOSE)."""
        if connection.h11.states == {h11.CLIENT: h11.DONE, h11.SERVER: h11.DONE}:
            connection.h11.start_next_cycle()
        if connection.reusable and len(self._idle) < self.max_idle:
            self._idle.append(connection)
        else:
            connection.abort()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().abort()


class Response:
    """A response whose head has arrived; its body is read with `read()` on the event loop.

    `watch()` arms the stream's one timer: `read()` returns None when nothing arrived for
    `idle_seconds` or when the deadline passed, so the caller can send a keep-alive or stop. The
    timer is rescheduled once per idle period, not per read.
    """

    def __init__(self, pool: ConnectionPool, connection: _Connection, head: h11.Response) -> None:
        self._pool = pool
        self._connection: _Connection | None = connection
        self.status = head.status_code
        self.headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in head.headers}
        self.complete = False
        self._timer: asyncio.TimerHandle | None = None
        self._idle_seconds = 0.0
        self._deadline = 0.0
        self._last_activity = 0.0
        self._idle = False

    def watch(self, idle_seconds: float, deadline: float) -> None:
        """Arm the idle timer: `deadline` on time.monotonic()'s clock."""
        self._idle_seconds = idle_seconds
        self._deadline = deadline
        self._last_activity = time.monotonic()
        self._schedule()

    def _schedule(self) -> None:
        due = min(self._last_activity + self._idle_seconds, self._deadline)
        self._timer = asyncio.get_running_loop().call_later(max(0.0, due - time.monotonic()), self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self._connection is None:
            return
        now = time.monotonic()
        if now >= min(self._last_activity + self._idle_seconds, self._deadline):
            self._idle = True
            self._last_activity = now  # the keep-alive the caller sends counts as activity
            self._connection.wake()
        self._schedule()

    async def read(self) -> bytes | None:
        """The body's next bytes, as soon as any arrived; b"" at its end; None when the idle timer
        struck first (see watch). Raises UpstreamBroken."""
        connection = self._connection
        if connection is None:
            return b""
        while True:
            event = self._next(connection)
            if isinstance(event, h11.Data):
                self._idle = False
                self._last_activity = time.monotonic()
                return bytes(event.data)
            if isinstance(event, h11.EndOfMessage):
                self._finish(connection)
                return b""
            if event is not h11.NEED_DATA:
                continue
            if connection.lost:
                self.close()
                raise UpstreamBroken("ConnectionLost")
            if self._idle:
                self._idle = False
                return None
            await connection.wait()

    async def read_to_end(self, max_bytes: int) -> bool:
        """Read and drop the rest of the body; True when it ended within max_bytes (then pooled)."""
        dropped = 0
        while dropped <= max_bytes:
            data = await self.read()
            if data == b"":
                return True
            dropped += len(data or b"")
        return False

    def _next(self, connection: _Connection) -> object:
        try:
            return connection.next_event()
        except h11.RemoteProtocolError as error:
            self.close()
            closed = connection.lost or connection.peer_closed
            raise UpstreamBroken("IncompleteBody" if closed else "ProtocolError") from error

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _finish(self, connection: _Connection) -> None:
        self.complete = True
        self._connection = None
        self._stop_timer()
        self._pool.give_back(connection)

    def close(self) -> None:
        """Drop the connection now unless the body was read to its end (then it is already pooled)."""
        self._stop_timer()
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.abort()


async def request(
    pool: ConnectionPool, method: str, target: str, headers: list[tuple[str, str]], body: bytes, head_timeout: float
) -> Response:
    """Send one request and wait for its response's head (status and headers)."""
    connection, _ = await pool.connection()
    try:
        connection.send(h11.Request(method=method, target=target, headers=headers), h11.Data(data=body),
                        h11.EndOfMessage())
        async with asyncio.timeout(head_timeout):
            while True:
                event = connection.next_event()
                if isinstance(event, h11.Response):
                    return Response(pool, connection, event)
                if event is h11.NEED_DATA:
                    if connection.lost:
                        raise UpstreamUnreachable("ConnectionClosedBeforeResponse")
                    await connection.wait()
    except TimeoutError as error:
        connection.abort()
        raise UpstreamTimeout("ReadTimeout") from error
    except h11.ProtocolError as error:
        connection.abort()
        closed = connection.lost or connection.peer_closed
        raise UpstreamUnreachable("ConnectionClosedBeforeResponse" if closed else type(error).__name__) from error
    except BaseException:
        connection.abort()
        raise
