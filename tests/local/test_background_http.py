"""The page server and the hosted-login stand-in hold up against slow, greedy and malformed clients.

Both are local/background_http.py servers. Before: http.server kept a connection that sent nothing
(or its headers a byte at a time) open for ever, started a thread for every connection, raised a
ValueError traceback (and answered nothing) for a Content-Length that is not a number, and the
stand-in kept every code /oauth2/authorize issued until it was redeemed.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from local import background_http
from local.background_http import BackgroundHttpServer
from local.cognito_login import MAX_PENDING_CODES, CognitoLogin, LoginSettings
from local.gateway_auth import LOCAL_APP_CLIENT_ID
from local.page_server import PageServer

PAGE = "http://127.0.0.1:8001/"
SHORT_IDLE_SECONDS = 0.5
SHORT_REQUEST_SECONDS = 1.5
# Beyond every limit (the defaults too), well within pytest's timeout: a connection still open then was never dropped.
NEVER_SECONDS = background_http.IDLE_TIMEOUT_SECONDS + 5


def page_server() -> PageServer:
    return PageServer("http://127.0.0.1:9")


def login_server() -> CognitoLogin:
    return CognitoLogin(LoginSettings(jwt_secret="secret", callback_urls=[PAGE]))


SERVERS = {"page": page_server, "login": login_server}
# A request each server reads in full, Content-Length included.
REQUESTS = {
    "page": b"GET / HTTP/1.1\r\nHost: local\r\nContent-Length: %s\r\n\r\n",
    "login": b"POST /oauth2/token HTTP/1.1\r\nHost: local\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             b"Content-Length: %s\r\n\r\n",
}


@pytest.fixture(params=list(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, BackgroundHttpServer]]:
    running = SERVERS[request.param]().start()
    yield request.param, running
    running.stop()


def shorten_limits(server: BackgroundHttpServer) -> None:
    handler = server.server.RequestHandlerClass
    handler.timeout = SHORT_IDLE_SECONDS
    handler.request_timeout_seconds = SHORT_REQUEST_SECONDS


def seconds_until_closed(client: socket.socket) -> float:
    """How long until the server closes the connection (it may answer first)."""
    started = time.monotonic()
    client.settimeout(NEVER_SECONDS)
    try:
        while client.recv(65536):
            pass
    except socket.timeout:
        pytest.fail(f"the connection was still open after {NEVER_SECONDS} s")
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=NEVER_SECONDS) as client:
        client.sendall(data)
        received = b""
        try:
            while chunk := client.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        return received


@pytest.mark.parametrize("length", [b"abc", b"-1", b"1, 1", b"\xc2\xb2", b"0x10", b""])
def test_a_bad_content_length_gets_a_400_and_no_traceback(
    server: tuple[str, BackgroundHttpServer], length: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    name, running = server
    answer = exchange(running.port, REQUESTS[name] % length)
    assert answer.startswith(b"HTTP/1.0 400 "), answer[:200]
    assert b"Content-Length" in answer
    assert "Traceback" not in capfd.readouterr().err


def test_two_content_lengths_get_a_400(server: tuple[str, BackgroundHttpServer]) -> None:
    name, running = server
    request = REQUESTS[name].replace(b"\r\n\r\n", b"\r\nContent-Length: 3\r\n\r\n") % b"4"
    assert exchange(running.port, request + b"abcd").startswith(b"HTTP/1.0 400 ")


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(server: tuple[str, BackgroundHttpServer]) -> None:
    _, running = server  # at the servers' own limits: http.server alone has none
    with socket.create_connection(("127.0.0.1", running.port)) as client:
        assert seconds_until_closed(client) < background_http.IDLE_TIMEOUT_SECONDS + 2


def test_headers_sent_a_byte_at_a_time_are_cut_off_at_the_request_deadline(
    server: tuple[str, BackgroundHttpServer], capfd: pytest.CaptureFixture[str]
) -> None:
    _, running = server
    shorten_limits(running)
    with socket.create_connection(("127.0.0.1", running.port)) as client:
        started = time.monotonic()
        client.sendall(b"GET / HTTP/1.1\r\n")
        try:
            # Each byte within the idle timeout, so only the request deadline can end this.
            while time.monotonic() - started < NEVER_SECONDS:
                client.sendall(b"X")
                time.sleep(SHORT_IDLE_SECONDS / 4)
        except OSError:
            pass  # the server closed the connection
        waited = time.monotonic() - started + seconds_until_closed(client)
    assert waited < SHORT_REQUEST_SECONDS + 2
    assert "Traceback" not in capfd.readouterr().err


def test_connections_beyond_the_limit_get_a_503_and_freed_slots_serve_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(background_http.GuardedHttpServer, "max_connections", 3)
    running = page_server().start()
    try:
        idle = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(3)]
        time.sleep(0.2)  # each is accepted and holds a thread
        answer = exchange(running.port, b"GET / HTTP/1.1\r\nHost: local\r\n\r\n")
        assert answer.startswith(b"HTTP/1.0 503 "), answer[:200]
        for client in idle:
            client.close()
        deadline = time.monotonic() + NEVER_SECONDS
        while not (answer := exchange(running.port, b"GET / HTTP/1.1\r\nHost: local\r\n\r\n")).startswith(b"HTTP/1.0 200"):
            assert time.monotonic() < deadline, answer[:200]
            time.sleep(0.1)
    finally:
        running.stop()


def authorize_query() -> dict[str, str]:
    return {"client_id": LOCAL_APP_CLIENT_ID, "redirect_uri": PAGE, "response_type": "code",
            "scope": "openid", "code_challenge_method": "S256", "code_challenge": "c" * 43, "state": "s"}


def test_unredeemed_codes_are_bounded_and_expired_ones_make_room() -> None:
    login = login_server()  # the rules only: no need to serve
    try:
        for _ in range(MAX_PENDING_CODES):
            location, _ = login.authorize(authorize_query())
            assert "code" in parse_qs(urlsplit(location).query)
        location, error = login.authorize(authorize_query())
        assert error is None
        assert parse_qs(urlsplit(location).query) == {"error": ["temporarily_unavailable"], "state": ["s"]}
        assert len(login.codes) == MAX_PENDING_CODES

        for pending in login.codes.values():
            pending.expires_at = time.monotonic() - 1
        location, _ = login.authorize(authorize_query())
        assert "code" in parse_qs(urlsplit(location).query)
        assert len(login.codes) == 1
    finally:
        login.stop()
