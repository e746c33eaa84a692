"""The guarded h11 protocol answers a request it cannot parse even while the client is still sending.

uvicorn writes its 400 and closes at once. With request bytes still unread, the kernel answers them
with a reset, which can destroy the 400 before the client reads it: a "connection left without an
answer". The protocol closes the way web servers do (a lingering close): it stops writing, drops
what the client still sends, and closes on the client's end of input or after a short linger.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from streaming_proxy.http_guard import GuardedH11Protocol


async def app(scope, receive, send) -> None:  # never reached by the requests below
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=GuardedH11Protocol, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield listener.getsockname()[1]
    server.should_exit = True
    thread.join(10)


def exchange(port: int, head: bytes, body_size: int) -> bytes:
    """Send the whole request, as an HTTP client does before it reads, then read the answer.

    Most clients treat a failure to send (a reset, a broken pipe) as the end of the exchange and
    never read the answer that was already on its way, so the request must go out whole.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(head)
        time.sleep(0.05)  # the server has parsed the request line and answered by now
        chunk = b"x" * 16384
        for _ in range(body_size // len(chunk)):
            client.sendall(chunk)  # ConnectionResetError / BrokenPipeError here is the bug
        client.shutdown(socket.SHUT_WR)
        received = b""
        while True:
            data = client.recv(65536)
            if not data:
                return received
            received += data


@pytest.mark.parametrize("attempt", range(5))
def test_an_unparsable_request_gets_its_400_even_while_its_body_is_still_arriving(port: int, attempt: int) -> None:
    head = b"P\x00ST /invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n"
    answer = exchange(port, head, 1048576)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert answer.endswith(b"Invalid HTTP request received.")
