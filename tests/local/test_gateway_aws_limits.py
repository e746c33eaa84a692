"""The local gateway hands the proxy what API Gateway and Lambda hand it on AWS (issue 18, item 10).

- Lambda refuses an invocation whose request payload (API Gateway's proxy event as JSON) is not
  smaller than 6,291,456 bytes, and API Gateway answers 413 "Request Too Long" without running the
  function: a 6-10 MB body never reaches the proxy, though API Gateway itself takes 10 MB.
- API Gateway puts each header's last value in the event's `headers`, and Lambda Web Adapter's
  request takes `headers` over `multiValueHeaders`: a header sent twice reaches the app once.

The proxy behind the gateway here is a recorder that answers 200 and keeps what it received.
"""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.servers import ServerThread

from local.gateway import MAX_LAMBDA_EVENT_BYTES, MAX_REQUEST_BYTES, LocalApiGateway
from local.gateway_auth import AuthSettings

LAMBDA_LIMIT = 6_291_456  # Lambda: "Request must be smaller than 6291456 bytes"


@dataclass
class Recorder:
    """Stands in for the proxy: records each request's headers and body size, answers 200."""

    requests: list[tuple[list[tuple[bytes, bytes]], int]] = field(default_factory=list)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.requests.append((list(scope["headers"]), size))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"reached the proxy"})


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def gateway(recorder: Recorder) -> Iterator[str]:
    with ServerThread(recorder, name="recorder") as upstream:
        with ServerThread(LocalApiGateway(upstream.url, AuthSettings()), name="gateway") as server:
            yield server.url


def raw_post(url: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, dict[str, str], bytes]:
    """POST /invoke with headers exactly as given (repeats included), Connection: close; the body
    comes back as sent (chunked when relayed)."""
    parts = urllib.parse.urlsplit(url)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    request = (f"POST /invoke HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}Content-Length: {len(body)}\r\n"
               "Connection: close\r\n\r\n").encode() + body
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(1 << 16):
            received += chunk
    head_bytes, _, content = received.partition(b"\r\n\r\n")
    status_line, *lines = head_bytes.decode("latin-1").split("\r\n")
    answer_headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), answer_headers, content


def test_the_gateway_uses_lambdas_limit() -> None:
    assert MAX_LAMBDA_EVENT_BYTES == LAMBDA_LIMIT < MAX_REQUEST_BYTES == 10 * 1024 * 1024


@pytest.mark.parametrize("body", [
    b'{"prompt": "' + b"x" * 7_000_000 + b'"}',       # 7 MB: under API Gateway's 10 MB, over Lambda's 6 MB
    b'{"prompt": "' + b'\\"' * 1_600_000 + b'"}',     # 3.2 MB that the event's JSON string escapes to 6.4 MB
    b'{"prompt": "' + b"x" * (LAMBDA_LIMIT - 14) + b'"}',  # the body alone is the limit; the event is more
])
def test_a_body_lambda_cannot_take_is_refused_before_the_proxy(gateway: str, recorder: Recorder, body: bytes) -> None:
    before = len(recorder.requests)
    status, headers, content = raw_post(gateway, [("Content-Type", "application/json")], body)
    assert status == 413, (status, content[:200])
    assert headers.get("x-amzn-errortype") == "RequestTooLargeException"  # the gateway's answer, not the proxy's
    assert b"PAYLOAD_TOO_LARGE" in content
    assert len(recorder.requests) == before, "the body reached the proxy"


def test_a_body_that_fits_lambda_reaches_the_proxy(gateway: str, recorder: Recorder) -> None:
    body = b'{"prompt": "' + b"x" * 5_000_000 + b'"}'
    status, _, content = raw_post(gateway, [("Content-Type", "application/json")], body)
    assert status == 200 and b"reached the proxy" in content  # relayed chunked
    assert recorder.requests[-1][1] == len(body)


@pytest.mark.parametrize(("sent", "reaches_the_proxy"), [
    (["text/plain", "application/json"], "application/json"),
    (["application/json", "text/plain"], "text/plain"),
    (["application/json", "application/json; charset=utf-8"], "application/json; charset=utf-8"),
])
def test_a_header_sent_twice_reaches_the_proxy_once_with_its_last_value(
    gateway: str, recorder: Recorder, sent: list[str], reaches_the_proxy: str
) -> None:
    status, _, _ = raw_post(gateway, [("Content-Type", value) for value in sent] + [("X-Note", "a"), ("x-note", "b")],
                            b'{"prompt": "hi"}')
    assert status == 200
    headers, _ = recorder.requests[-1]
    assert [value for name, value in headers if name == b"content-type"] == [reaches_the_proxy.encode()]
    assert [value for name, value in headers if name == b"x-note"] == [b"b"]


def test_a_header_sent_once_is_passed_unchanged(gateway: str, recorder: Recorder) -> None:
    response = httpx.post(f"{gateway}/invoke", content=b'{"prompt": "hi"}',
                          headers={"Content-Type": "application/json", "X-Trace": "t-1"}, timeout=30)
    assert response.status_code == 200
    headers, _ = recorder.requests[-1]
    assert (b"x-trace", b"t-1") in headers and (b"content-type", b"application/json") in headers
