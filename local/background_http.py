"""A stdlib HTTP server in a daemon thread on loopback: the page server and the hosted-login stand-in."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

HOST = "127.0.0.1"
ServerT = TypeVar("ServerT", bound="BackgroundHttpServer")


class BackgroundHttpServer:
    """Binds at construction (port 0: any free one), serves after start(), and stop() frees the port."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int, thread_name: str) -> None:
        self.server = ThreadingHTTPServer((HOST, port), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, name=thread_name, daemon=True)

    def start(self: ServerT) -> ServerT:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
