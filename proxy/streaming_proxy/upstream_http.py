"""HTTP/1.1 to AgentCore on the event loop: h11 over an asyncio protocol, with kept-alive connections.

No thread per stream: the socket's bytes arrive in `data_received` on the event loop and go straight
to the stream that reads them. h11 is already in the proxy (uvicorn's parser), so this costs no import.
Why not httpx/httpcore: README, Performance ("Reading AgentCore on the event loop").
h11 writes the request and parses the response's head; the body is unframed by `_Body` (chunked,
Content-Length or until the connection closes, as h11 would frame it), which takes everything that
has arrived in one pass instead of one h11 event per chunk (docs/performance.md, "The per-event path").

Backpressure: a connection stops reading its socket (`pause_reading`) once READ_LIMIT bytes wait for
the stream, and TCP's window then holds the sender back. Keep-alive: a response read to its end puts
its connection back in the pool; one cut short (a client that left, a timeout) closes it.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

import h11

# Bytes a connection takes from its socket before the stream has read them; then it stops reading.
READ_LIMIT = 64 * 1024
# The longest chunk-size line or trailer section waited for: h11's default max_incomplete_event_size.
MAX_LINE_BYTES = 16 * 1024
# A chunk-size line (RFC 9112 section 7.1): hex digits, extensions (ignored, as h11 does), spaces.
CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;[^\r\n]*)?[ \t]*")
# The same line with its CRLF, matched in place at the start of a chunk.
CHUNK_HEAD = re.compile(CHUNK_SIZE_LINE.pattern + rb"\r\n")


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


class BodyProtocolError(Exception):
    """The body's framing is broken (a malformed chunk-size line or chunk end, an over-long line)."""


class _Body:
    """A response body's bytes as they arrive, unframed: everything complete so far in one `take()`.

    Framed as h11 frames a response to a POST (RFC 9112 section 6.3): no body for 204 and 304,
    chunked when Transfer-Encoding is (h11 accepts no other coding), else Content-Length, else
    until the connection closes. Chunk extensions and trailers are read and dropped, as h11 does.
    """

    def __init__(self, head: h11.Response, buffered: bytes) -> None:
        # What arrived and is not taken yet: the parts as they came, joined once per take(), and
        # how much of the first part was taken already (the rest is not copied until more arrives).
        self._parts = [buffered] if buffered else []
        self._offset = 0
        self.chunked = False
        self.until_close = False
        # Bytes left: of the current chunk (chunked) or of the whole body (Content-Length).
        self._remaining = 0
        self._chunk_end = False  # the CRLF after a chunk's data is due
        self._trailers = False  # the last chunk came: trailer lines until a blank one
        self.ended = False
        # Framing found broken after some of the body's bytes: those go out first, this on the next take.
        self._broken: BodyProtocolError | None = None
        self.keep_alive = head.http_version >= b"1.1"
        length: int | None = None
        for name, value in head.headers:  # names in lower case, values checked by h11
            if name == b"connection" and b"close" in (token.strip() for token in value.lower().split(b",")):
                self.keep_alive = False
            elif name == b"transfer-encoding":
                self.chunked = True  # h11 refused any coding but chunked when it parsed the head
            elif name == b"content-length":
                length = int(value)
        if head.status_code in (204, 304):
            self.chunked, length = False, 0
        if self.chunked and length is not None:
            # Both: Transfer-Encoding wins, as in h11, but the framing is suspect (a smuggling or
            # splitting attempt, RFC 9112 section 6.3): the connection is not used again.
            self.keep_alive = False
        if not self.chunked:
            self.until_close = length is None
            self.keep_alive = self.keep_alive and not self.until_close
            self._remaining = length or 0
            self.ended = length == 0

    def feed(self, data: bytes) -> None:
        self._parts.append(data)

    @property
    def leftover(self) -> bool:
        """Bytes past the body's end: nothing a kept-alive connection may hold."""
        return bool(self._parts)

    @property
    def buffered(self) -> int:
        """Bytes that arrived and are not taken yet."""
        return sum(map(len, self._parts)) - self._offset

    def _keep(self, buffer: bytes, position: int) -> None:
        """`buffer` is taken up to `position`."""
        self._parts, self._offset = ([buffer], position) if position < len(buffer) else ([], 0)

    def take(self) -> bytes:
        """The body's bytes that have arrived since the last call, unframed (b"" if none); of a
        chunked body, whole chunks up to READ_LIMIT bytes (and the rest of the chunk that passes it),
        so that what one read holds, and its copies on the way to the client, stay bounded."""
        if self._broken is not None:
            raise self._broken
        parts = self._parts
        if self.ended or not parts:
            return b""
        position = self._offset
        if len(parts) == 1:
            buffer = parts[0]
        else:
            buffer, position = b"".join([parts[0][position:], *parts[1:]]), 0
        if not self.chunked:
            data = buffer[position:] if self.until_close else buffer[position: position + self._remaining]
            self._keep(buffer, position + len(data))
            if not self.until_close:
                self._remaining -= len(data)
                self.ended = self._remaining == 0
            return data
        taken: list[bytes] = []
        try:
            position = self._unchunk(buffer, position, taken)
        except BodyProtocolError as error:
            if not taken:
                raise
            self._broken, position = error, len(buffer)
        self._keep(buffer, position)
        return taken[0] if len(taken) == 1 else b"".join(taken)

    def _unchunk(self, buffer: bytes, position: int, taken: list[bytes]) -> int:
        """Append the data of the chunks in `buffer` from `position` on to `taken`; the position
        where the unread rest begins."""
        size = len(buffer)
        taken_bytes = 0
        while position < size:
            if not (self._remaining or self._chunk_end or self._trailers):
                if taken_bytes >= READ_LIMIT:
                    break
                # A whole chunk, its size line to its closing CRLF, taken in one step.
                head = CHUNK_HEAD.match(buffer, position)
                if head is not None:
                    start = head.end()
                    end = start + int(head.group(1), 16)
                    if end > start and buffer.startswith(b"\r\n", end):
                        taken.append(buffer[start:end])
                        taken_bytes += end - start
                        position = end + 2
                        continue
            if self._remaining:
                data = buffer[position: position + self._remaining]
                taken.append(data)
                taken_bytes += len(data)
                position += len(data)
                self._remaining -= len(data)
                if self._remaining:
                    break
                self._chunk_end = True
            if self._chunk_end:
                if size - position < 2:
                    if buffer[position:] not in (b"", b"\r"):
                        raise BodyProtocolError("malformed chunk end")
                    break
                if buffer[position: position + 2] != b"\r\n":
                    raise BodyProtocolError("malformed chunk end")
                position += 2
                self._chunk_end = False
                continue
            # A trailer line may end in a bare LF, as h11 reads field lines (RFC 9112 section 2.2
            # allows it); a chunk-size line ends in CRLF, as h11 requires.
            end_of_line = b"\n" if self._trailers else b"\r\n"
            line_end = buffer.find(end_of_line, position)
            if line_end < 0:
                if size - position > MAX_LINE_BYTES:
                    raise BodyProtocolError("chunk-size line or trailer too long")
                break
            line = buffer[position:line_end]
            position = line_end + len(end_of_line)
            if self._trailers:
                self._trailer_line(line)
                if self.ended:
                    break
                continue
            match = CHUNK_SIZE_LINE.fullmatch(line)
            if match is None:
                raise BodyProtocolError("malformed chunk-size line")
            self._remaining = int(match.group(1), 16)
            self._trailers = self._remaining == 0
        return position

    def _trailer_line(self, line: bytes) -> None:
        """A line of the trailer section (its fields are dropped, as h11 does); a blank one ends the body."""
        line = line[:-1] if line.endswith(b"\r") else line
        if not line:
            self.ended = True
        elif b":" not in line:
            raise BodyProtocolError("malformed trailer")


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
        # The response's body once its head is parsed: the socket's bytes go to it, not to h11.
        self.body: _Body | None = None

    # -- asyncio.Protocol: called by the event loop ---------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport  # asyncio's or uvloop's (which is no asyncio.Transport subclass)

    def data_received(self, data: bytes) -> None:
        if self.body is not None:
            self.body.feed(data)
        else:
            self.h11.receive_data(data)
        self._pending += len(data)
        if self._pending > READ_LIMIT and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self.wake()

    def eof_received(self) -> bool:
        self.peer_closed = True
        if self.body is None:
            self.h11.receive_data(b"")
        self.wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.body is None:
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
            self.consumed(0)
        return event

    def consumed(self, waiting: int) -> None:
        """The stream took bytes; `waiting` are still to take: read the socket again if it was paused
        and they are few enough."""
        self._pending = waiting
        if self._paused and waiting <= READ_LIMIT and not self.lost:
            self._paused = False
            self.transport.resume_reading()

    def begin_body(self, head: h11.Response) -> _Body:
        """From the response's head on, the bytes are its body's (those h11 already holds included)."""
        self.body = _Body(head, self.h11.trailing_data[0])
        return self.body

    def end_body(self) -> None:
        """The body was read to its end: ready for the next request unless either side closes."""
        body, self.body = self.body, None
        if body is not None and body.keep_alive and not body.leftover:
            self.h11 = h11.Connection(h11.CLIENT)  # h11 saw only the head; the next exchange starts afresh

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
        # Bytes that arrived while the connection waited in the pool (a response nobody asked for)
        # would be read as the answer to the next request: never reuse such a connection.
        return (not self.lost and self.body is None and self.h11.our_state is h11.IDLE
                and self.h11.their_state is h11.IDLE and not self.h11.trailing_data[0]
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
        return await self.open(), False

    async def open(self) -> _Connection:
        """A new connection to the origin."""
        loop = asyncio.get_running_loop()
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
        return connection

    def give_back(self, connection: _Connection) -> None:
        """Pool a connection whose exchange is complete, unless either side said it closes."""
        connection.end_body()
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
        self._body = connection.begin_body(head)
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
        """The body's bytes that have arrived, as soon as any did (all of them at once); b"" at its
        end; None when the idle timer struck first (see watch). Raises UpstreamBroken."""
        connection = self._connection
        if connection is None:
            return b""
        body = self._body
        while True:
            try:
                data = body.take()
            except BodyProtocolError as error:
                self.close()
                raise UpstreamBroken("ProtocolError") from error
            connection.consumed(body.buffered)
            if data:
                self._idle = False
                self._last_activity = time.monotonic()
                return data
            if body.ended:
                self._finish(connection)
                return b""
            if connection.lost or connection.peer_closed:
                if body.until_close:
                    self._finish(connection)
                    return b""
                self.close()
                raise UpstreamBroken("IncompleteBody" if connection.peer_closed else "ConnectionLost")
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
