"""A stdlib HTTP server in a daemon thread on loopback: the page server and the hosted-login stand-in.

http.server alone has no limits: a client that connects and sends nothing, or its headers a byte at
a time, holds a thread for ever; every connection gets a thread; and a Content-Length that is not a
number raises inside the handler (a traceback, and no answer). These servers, like the proxy's
guarded protocol (streaming_proxy/http_guard.py), close a connection whose request (line, headers,
and the small body a handler reads) has not arrived REQUEST_TIMEOUT_SECONDS after it opened, or that
stays silent IDLE_TIMEOUT_SECONDS; serve at most MAX_CONNECTIONS at once (a 503 beyond them); and
answer a bad Content-Length with a 400 before any handler reads it.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

HOST = "127.0.0.1"
REQUEST_TIMEOUT_SECONDS = 10.0
IDLE_TIMEOUT_SECONDS = 5.0
# A browser opens about six connections to one host; the rest are someone else's.
MAX_CONNECTIONS = 64
CONTENT_LENGTH = re.compile(r"[0-9]{1,15}")
BUSY_ANSWER = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 30\r\n"
    b"Retry-After: 1\r\nConnection: close\r\n\r\nToo many connections; retry.\r\n"
)
ServerT = TypeVar("ServerT", bound="BackgroundHttpServer")


class GuardedRequestHandler(BaseHTTPRequestHandler):
    """BaseHTTPRequestHandler with the module's time limits and Content-Length check."""

    # StreamRequestHandler makes this the socket's timeout: a read or write that waits longer fails,
    # which http.server answers by closing the connection.
    timeout = IDLE_TIMEOUT_SECONDS
    request_timeout_seconds = REQUEST_TIMEOUT_SECONDS
    _timed_out = False

    def handle_one_request(self) -> None:
        watchdog = threading.Timer(self.request_timeout_seconds, self._request_too_slow)
        watchdog.daemon = True
        self._watchdog = watchdog
        watchdog.start()
        try:
            super().handle_one_request()
        finally:
            watchdog.cancel()

    def _request_too_slow(self) -> None:
        self._timed_out = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once
        except OSError:
            pass

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self._timed_out:  # the deadline struck while the headers were read: they may be cut short
            self.close_connection = True
            return False
        lengths = self.headers.get_all("Content-Length") or []
        if lengths and (len(lengths) != 1 or not CONTENT_LENGTH.fullmatch(lengths[0].strip())):
            self.send_error(HTTPStatus.BAD_REQUEST, "Content-Length must be one decimal number of bytes")
            self.close_connection = True
            return False
        return True

    @property
    def content_length(self) -> int:
        """The request's Content-Length, 0 without one (parse_request has refused any other value)."""
        return int(self.headers.get("Content-Length") or 0)

    def send_response(self, code: int, message: str | None = None) -> None:
        self._watchdog.cancel()  # the request has arrived; the idle timeout still bounds each write
        super().send_response(code, message)


class GuardedHttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with at most `max_connections` threads; quiet about clients that leave."""

    daemon_threads = True
    max_connections = MAX_CONNECTIONS

    def __init__(self, address: tuple[str, int], handler: type[GuardedRequestHandler]) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(BUSY_ANSWER)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # the client left, or was dropped for being too slow: nothing to report
        super().handle_error(request, client_address)


class BackgroundHttpServer:
    """Binds at construction (port 0: any free one), serves after start(), and stop() frees the port."""

    def __init__(self, handler: type[GuardedRequestHandler], port: int, thread_name: str) -> None:
        self.server = GuardedHttpServer((HOST, port), handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, name=thread_name, daemon=True)

    def start(self: ServerT) -> ServerT:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
