"""stream_invoke and the CLI against a tiny local SSE server (stdlib http.server, real sockets)."""

from __future__ import annotations

import base64
import email.utils
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import client.__main__ as cli
from client import Event, InvokeError, StreamBrokenError, stream_invoke

REPO_ROOT = Path(__file__).resolve().parents[2]
GATE_TIMEOUT_SECONDS = 20.0


def event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


START = event("start", {"sessionId": "sess-1", "requestId": "req-1"})
DONE = event("done", {"sessionId": "sess-1", "stopReason": "end_turn"})


# The exact bytes Lambda Web Adapter's runtime (the Rust lambda_runtime crate,
# lambda-runtime/src/types.rs, ToStreamErrorTrailer) sends as the last chunk of a body whose stream failed.
LAMBDA_MID_STREAM_ERROR = (
    b"Lambda-Runtime-Function-Error-Type: Runtime.StreamError\r\n"
    b"Lambda-Runtime-Function-Error-Body: " + base64.b64encode(b"error reading a body from connection") + b"\r\n"
)


class SseServer:
    """Answers POST /<scenario>/invoke with the scenario's bytes, chunk by chunk."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.gate_timed_out = threading.Event()
        self.client_gone = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                scenario = self.path.strip("/").split("/")[0]
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                getattr(server, f"scenario_{scenario.replace('-', '_')}")(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def start_stream(handler: BaseHTTPRequestHandler, headers: dict[str, str] | None = None) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()

    @staticmethod
    def chunk(handler: BaseHTTPRequestHandler, data: bytes) -> None:
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        handler.wfile.flush()

    @staticmethod
    def end(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()

    def json_error(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    # -- scenarios ---------------------------------------------------------------------------
    def scenario_ok(self, handler: BaseHTTPRequestHandler) -> None:
        self.start_stream(handler, {"X-Session-Id": "sess-1"})
        whole = START + b": keep-alive\n\n" + event("delta", {"text": "Hel"}) + event("delta", {"text": "lo"}) + DONE
        # Cut across event boundaries on purpose: the client must put them back together.
        for start in range(0, len(whole), 7):
            self.chunk(handler, whole[start : start + 7])
        self.end(handler)

    def scenario_crlf(self, handler: BaseHTTPRequestHandler) -> None:
        self.start_stream(handler)
        text = (START + event("delta", {"text": "a"}) + DONE).decode().replace("\n", "\r\n")
        self.chunk(handler, text.encode())
        self.end(handler)

    def scenario_gated(self, handler: BaseHTTPRequestHandler) -> None:
        self.start_stream(handler)
        self.chunk(handler, START)
        if not self.release.wait(GATE_TIMEOUT_SECONDS):
            self.gate_timed_out.set()
        self.chunk(handler, DONE)
        self.end(handler)

    def scenario_hold(self, handler: BaseHTTPRequestHandler) -> None:
        self.start_stream(handler)
        self.chunk(handler, START)
        handler.connection.settimeout(GATE_TIMEOUT_SECONDS)
        # The request body was read in full, so the next read returns b"" only when the client closes.
        try:
            if handler.rfile.read(1) == b"":
                self.client_gone.set()
        except OSError:
            self.client_gone.set()
        handler.close_connection = True

    def scenario_agent_error(self, handler: BaseHTTPRequestHandler) -> None:
        self.start_stream(handler)
        self.chunk(handler, START + event("delta", {"text": "par"}))
        self.chunk(handler, event("error", {"code": "UPSTREAM_INTERRUPTED", "message": "The agent's answer was interrupted."}))
        self.end(handler)

    def scenario_truncated(self, handler: BaseHTTPRequestHandler) -> None:
        self.start_stream(handler)
        self.chunk(handler, START)
        handler.close_connection = True  # no final 0-length chunk: the body is cut off

    def scenario_no_done(self, handler: BaseHTTPRequestHandler) -> None:
        self.start_stream(handler)
        self.chunk(handler, START)
        self.end(handler)

    def scenario_lambda_crash(self, handler: BaseHTTPRequestHandler) -> None:
        # What API Gateway relays when the proxy function fails mid-stream on AWS: the events so far,
        # then the two lines Lambda Web Adapter's runtime writes into the body (not as trailers),
        # then a normal end of the response.
        self.start_stream(handler)
        self.chunk(handler, START + event("delta", {"text": "par"}) + b'event: delta\ndata: {"text":"ti')
        self.chunk(handler, LAMBDA_MID_STREAM_ERROR)
        self.end(handler)

    def scenario_lambda_crash_after_done(self, handler: BaseHTTPRequestHandler) -> None:
        self.start_stream(handler)
        self.chunk(handler, START + DONE + LAMBDA_MID_STREAM_ERROR)
        self.end(handler)

    def scenario_not_json(self, handler: BaseHTTPRequestHandler) -> None:
        self.start_stream(handler)
        self.chunk(handler, b"event: delta\ndata: {not json\n\n")
        self.end(handler)

    def scenario_throttled(self, handler: BaseHTTPRequestHandler) -> None:
        body = json.dumps({"error": {"code": "THROTTLED", "message": "Too many requests.", "requestId": "body-id"}})
        self.json_error(
            handler,
            429,
            body.encode(),
            {"Content-Type": "application/json", "Retry-After": "3", "X-Request-Id": "req-429"},
        )

    def scenario_gateway_html(self, handler: BaseHTTPRequestHandler) -> None:
        self.json_error(handler, 502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"})

    def scenario_gateway_forbidden(self, handler: BaseHTTPRequestHandler) -> None:
        self.json_error(handler, 403, b'{"message":"Forbidden"}', {"Content-Type": "application/json"})


@pytest.fixture
def sse_server() -> Iterator[SseServer]:
    server = SseServer()
    server.thread.start()
    yield server
    server.release.set()
    server.httpd.shutdown()
    server.httpd.server_close()


def unused_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def names(events: list[Event]) -> list[str]:
    return [item.name for item in events]


def test_streams_events_in_order_and_sends_the_request(sse_server: SseServer) -> None:
    events = list(stream_invoke(f"{sse_server.url}/ok", "hi", session_id="abc", api_key="k-1"))

    assert names(events) == ["start", "keep-alive", "delta", "delta", "done"]
    assert [item.data["text"] for item in events if item.name == "delta"] == ["Hel", "lo"]
    assert events[1].data is None
    assert events[0].data == {"sessionId": "sess-1", "requestId": "req-1"}
    assert [item.received_at for item in events] == sorted(item.received_at for item in events)
    [request] = sse_server.requests
    assert request["path"] == "/ok/invoke"
    assert request["body"] == {"prompt": "hi", "sessionId": "abc"}
    assert request["headers"]["x-api-key"] == "k-1"
    assert request["headers"]["Content-Type"] == "application/json"


def test_new_conversation_sends_no_session_id_and_no_api_key(sse_server: SseServer) -> None:
    list(stream_invoke(f"{sse_server.url}/ok/", "hi"))
    [request] = sse_server.requests
    assert request["body"] == {"prompt": "hi"}
    assert "x-api-key" not in {name.lower() for name in request["headers"]}


def test_crlf_stream(sse_server: SseServer) -> None:
    assert names(list(stream_invoke(f"{sse_server.url}/crlf", "hi"))) == ["start", "delta", "done"]


def test_yields_each_event_as_it_arrives(sse_server: SseServer) -> None:
    events = stream_invoke(f"{sse_server.url}/gated", "hi")
    # The server holds back the rest until released, so reading to the end first would hang here.
    assert next(events).name == "start"
    assert not sse_server.gate_timed_out.is_set()
    sse_server.release.set()
    assert [item.name for item in events] == ["done"]


def test_breaking_out_of_the_loop_closes_the_connection(sse_server: SseServer) -> None:
    for item in stream_invoke(f"{sse_server.url}/hold", "hi"):
        assert item.name == "start"
        break
    assert sse_server.client_gone.wait(15)


def test_closing_a_held_iterator_closes_the_connection(sse_server: SseServer) -> None:
    events = stream_invoke(f"{sse_server.url}/hold", "hi")
    assert next(events).name == "start"
    events.close()  # type: ignore[attr-defined]
    assert sse_server.client_gone.wait(15)


def test_http_error_carries_status_code_message_request_id_and_retry_after(sse_server: SseServer) -> None:
    with pytest.raises(InvokeError) as raised:
        list(stream_invoke(f"{sse_server.url}/throttled", "hi"))
    error = raised.value
    assert (error.status, error.code, error.message) == (429, "THROTTLED", "Too many requests.")
    assert error.request_id == "req-429"
    assert error.retry_after == "3"


def test_http_error_with_a_non_json_body(sse_server: SseServer) -> None:
    with pytest.raises(InvokeError) as raised:
        list(stream_invoke(f"{sse_server.url}/gateway-html", "hi"))
    assert raised.value.status == 502
    assert raised.value.code == "HTTP_502"
    assert "Bad Gateway" in raised.value.message


def test_http_error_in_api_gateway_format(sse_server: SseServer) -> None:
    with pytest.raises(InvokeError) as raised:
        list(stream_invoke(f"{sse_server.url}/gateway-forbidden", "hi"))
    assert (raised.value.status, raised.value.message) == (403, "Forbidden")


def test_error_event_ends_the_stream_normally(sse_server: SseServer) -> None:
    events = list(stream_invoke(f"{sse_server.url}/agent-error", "hi"))
    assert names(events) == ["start", "delta", "error"]
    assert events[-1].data["code"] == "UPSTREAM_INTERRUPTED"


@pytest.mark.parametrize("scenario", ["truncated", "no-done", "not-json"])
def test_broken_streams_raise(sse_server: SseServer, scenario: str) -> None:
    with pytest.raises(StreamBrokenError):
        list(stream_invoke(f"{sse_server.url}/{scenario}", "hi"))


def test_lambdas_mid_stream_error_lines_end_the_stream_as_cut(sse_server: SseServer) -> None:
    received: list[Event] = []
    with pytest.raises(StreamBrokenError, match=r"failed in the middle of the stream \(Lambda reported Runtime\.StreamError\)"):
        for item in stream_invoke(f"{sse_server.url}/lambda-crash", "hi"):
            received.append(item)
    # What streamed before the failure was delivered; the half event and Lambda's lines were not.
    assert names(received) == ["start", "delta"]
    assert received[-1].data == {"text": "par"}


def test_a_stream_that_ended_with_done_is_complete_whatever_follows(sse_server: SseServer) -> None:
    assert names(list(stream_invoke(f"{sse_server.url}/lambda-crash-after-done", "hi"))) == ["start", "done"]


def test_cli_names_lambdas_mid_stream_failure(sse_server: SseServer, run_cli: CliRun) -> None:
    status, out, err = run_cli("hi", "--url", f"{sse_server.url}/lambda-crash")
    assert status == 2
    assert "par" in out
    assert "Runtime.StreamError" in err and "incomplete" in err


def test_rejects_a_url_that_is_not_http() -> None:
    with pytest.raises(ValueError):
        list(stream_invoke("ftp://example.com", "hi"))


# -- the command line -----------------------------------------------------------------------------

CliRun = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliRun:
    monkeypatch.delenv("AGENTCORE_STREAMING_URL", raising=False)
    monkeypatch.delenv("AGENTCORE_STREAMING_API_KEY", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        status = cli.main(list(argv))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def test_cli_prints_the_answer_and_the_session(sse_server: SseServer, run_cli: CliRun) -> None:
    status, out, err = run_cli("hi", "--url", f"{sse_server.url}/ok")
    assert status == 0
    assert out == "Hello\n"
    assert "session: sess-1" in err


def test_cli_reads_url_and_api_key_from_the_environment(
    sse_server: SseServer, run_cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTCORE_STREAMING_URL", f"{sse_server.url}/ok")
    monkeypatch.setenv("AGENTCORE_STREAMING_API_KEY", "env-key")
    assert run_cli("hi", "--session-id", "prev")[0] == 0
    [request] = sse_server.requests
    assert request["headers"]["x-api-key"] == "env-key"
    assert request["body"]["sessionId"] == "prev"


def test_cli_error_event_exits_1(sse_server: SseServer, run_cli: CliRun) -> None:
    status, out, err = run_cli("hi", "--url", f"{sse_server.url}/agent-error")
    assert status == 1
    assert out.startswith("par")
    assert "UPSTREAM_INTERRUPTED" in err


def test_cli_http_error_exits_2(sse_server: SseServer, run_cli: CliRun) -> None:
    status, out, err = run_cli("hi", "--url", f"{sse_server.url}/throttled")
    assert status == 2
    assert out == ""
    assert "429" in err and "THROTTLED" in err and "Too many requests." in err


def test_cli_broken_stream_exits_2(sse_server: SseServer, run_cli: CliRun) -> None:
    status, _, err = run_cli("hi", "--url", f"{sse_server.url}/truncated")
    assert status == 2
    assert sse_server.url in err


def test_cli_connection_refused_exits_2_and_names_the_url(run_cli: CliRun) -> None:
    url = unused_port_url()
    status, _, err = run_cli("hi", "--url", url)
    assert status == 2
    assert url in err


def test_cli_runs_as_a_module(sse_server: SseServer) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "client", "hi", "--url", f"{sse_server.url}/ok"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "Hello\n"
    assert "session: sess-1" in completed.stderr


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("2", 2.0), ("0", 0.0), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header: str | None, expected: float | None) -> None:
    error = InvokeError(429, "THROTTLED", "busy", retry_after=header)
    assert error.retry_after_seconds == expected


def test_retry_after_as_a_future_http_date_counts_down() -> None:
    header = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = InvokeError(429, "THROTTLED", "busy", retry_after=header).retry_after_seconds
    assert seconds is not None and 25 <= seconds <= 30


# --- apiUrl or invokeUrl: both stack outputs reach POST <stage>/invoke (issue 9) --------------


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://abc123.execute-api.us-east-1.amazonaws.com/v1", "/v1/invoke"),  # apiUrl
        ("https://abc123.execute-api.us-east-1.amazonaws.com/v1/", "/v1/invoke"),
        ("https://abc123.execute-api.us-east-1.amazonaws.com/v1/invoke", "/v1/invoke"),  # invokeUrl
        ("https://abc123.execute-api.us-east-1.amazonaws.com/v1/invoke/", "/v1/invoke"),
        ("http://127.0.0.1:8000", "/invoke"),
        ("http://127.0.0.1:8000/invoke", "/invoke"),
        # Only a whole last segment named invoke is the route.
        ("https://api.example.com/v1/reinvoke", "/v1/reinvoke/invoke"),
    ],
)
def test_either_stack_output_names_the_invoke_route(url: str, path: str) -> None:
    from client.api import invoke_target

    assert invoke_target(url)[3] == path


def test_a_url_with_a_query_is_refused_rather_than_silently_dropped() -> None:
    from client.api import invoke_target

    with pytest.raises(ValueError, match="query"):
        invoke_target("https://abc123.execute-api.us-east-1.amazonaws.com/v1/invoke?x=1")


def test_invoke_url_and_api_url_send_the_same_request(sse_server: SseServer) -> None:
    list(stream_invoke(f"{sse_server.url}/ok", "hi"))
    list(stream_invoke(f"{sse_server.url}/ok/invoke", "hi"))
    assert [request["path"] for request in sse_server.requests] == ["/ok/invoke", "/ok/invoke"]
