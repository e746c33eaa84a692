"""The one way tests run a server in-process: an ASGI app under uvicorn, in a thread, on loopback."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class ServerThread:
    """Runs an ASGI app under uvicorn in a daemon thread on 127.0.0.1:<ephemeral port>.

        with ServerThread(app) as server:
            httpx.get(server.url + "/ping")

    The socket is bound before the thread starts, so the port is known at once and never raced
    for. uvicorn options (http=, loop=, ...) may be given; the defaults are h11 on asyncio.
    """

    def __init__(self, app: Any, name: str = "test server", **options: Any) -> None:
        self.name = name
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        settings = {"log_level": "warning", "access_log": False, "http": "h11", "loop": "asyncio",
                    "timeout_graceful_shutdown": 2, **options}
        self.server = uvicorn.Server(uvicorn.Config(app, **settings))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.socket.close()
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


def answer_head(port: int, request: bytes, seconds: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw request bytes; the answer's status, headers, and its body when it has a Content-Length
    (else whatever came with the headers).

    socket.timeout when no answer arrives within `seconds`; AssertionError when the server closes first.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as client:
        client.sendall(request)
        received = b""

        def more() -> None:
            nonlocal received
            chunk = client.recv(65536)
            assert chunk, f"connection closed before the whole answer: {received!r}"
            received += chunk

        while b"\r\n\r\n" not in received:
            more()
        head, _, rest = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
        length = int(headers.get("content-length", 0))
        while len(received) - len(head) - 4 < length:
            more()
    return int(status_line.split()[1]), headers, received[len(head) + 4:]
