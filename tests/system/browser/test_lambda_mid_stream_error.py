"""The chat page when the proxy function fails mid-stream on AWS (issue 19, item 5).

Lambda Web Adapter's runtime (the Rust lambda_runtime crate, lambda-runtime/src/types.rs,
ToStreamErrorTrailer) writes the failure as two more lines of the body, not as HTTP trailers, and
the response then ends normally. A stand-in API serves those exact bytes to the real page in
headless Chromium.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from tests.support.headless_chromium import Chromium, Page, open_page
from tests.support.chat_page import send, wait_until_final

from local.background_http import BackgroundHttpServer
from local.page_server import PageServer

LAMBDA_MID_STREAM_ERROR = (
    b"Lambda-Runtime-Function-Error-Type: Runtime.StreamError\r\n"
    b"Lambda-Runtime-Function-Error-Body: " + base64.b64encode(b"error reading a body from connection") + b"\r\n"
)


def sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


START = sse("start", {"sessionId": "s-1", "requestId": "r-1"})
# What the stand-in API streams for each prompt: the bytes API Gateway relays from a failing function.
BODIES = {
    "crash": [START + sse("delta", {"text": "par"}) + b'event: delta\ndata: {"text":"ti', LAMBDA_MID_STREAM_ERROR],
    "crash-after-done": [START + sse("delta", {"text": "whole"}),
                         sse("done", {"sessionId": "s-1", "stopReason": "end_turn"}) + LAMBDA_MID_STREAM_ERROR],
    "cut": [START + sse("delta", {"text": "par"})],
}


class FakeApi(BackgroundHttpServer):
    """POST /invoke answers the prompt's body from BODIES, chunked, with CORS for any origin."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def cors(self) -> None:
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "content-type")
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")

            def do_OPTIONS(self) -> None:  # noqa: N802
                self.send_response(204)
                self.cors()
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                prompt = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["prompt"]
                self.send_response(200)
                self.cors()
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in BODIES[prompt]:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")  # a normal end of the response, as API Gateway sends
                self.wfile.flush()

        super().__init__(Handler, 0, "fake-api")
        self.url = f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def page_server() -> Iterator[PageServer]:
    api = FakeApi().start()
    pages = PageServer(api.url).start()
    yield pages
    pages.stop()
    api.stop()


@pytest.fixture
def page(chromium: Chromium, page_server: PageServer) -> Iterator[Page]:
    yield from open_page(chromium, page_server.url)


def test_lambdas_error_lines_show_the_answer_as_cut_off(page: Page) -> None:
    turn = wait_until_final(page, send(page, "crash"))
    assert turn["state"] == "error"
    assert "Answer cut off" in turn["error"]
    assert "Runtime.StreamError" in turn["error"] and "incomplete" in turn["error"]
    assert turn["answer"] == "par"  # what arrived before the failure stays; Lambda's lines never show
    assert "Lambda-Runtime-Function" not in str(page.evaluate("document.body.innerText"))


def test_a_stream_that_ended_with_done_is_complete(page: Page) -> None:
    turn = wait_until_final(page, send(page, "crash-after-done"))
    assert turn["state"] == "done" and turn["answer"] == "whole"


def test_a_stream_cut_without_lambdas_lines_is_still_a_lost_connection(page: Page) -> None:
    turn = wait_until_final(page, send(page, "cut"))
    assert turn["state"] == "error" and "Connection lost" in turn["error"]
