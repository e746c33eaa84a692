"""The one-line hints on stderr: a malformed URL, no server where the URL points, and refusals of
credentials that a local gateway cannot produce (those it can are in test_client_stack_and_hints.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from tests.support.client_cli import run_cli

from client.__main__ import DEFAULT_URL, EXIT_REQUEST_FAILED, EXIT_USAGE
from client.api import InvokeError
from client.hints import refused, unreachable
from local.stack import LocalStack


@pytest.mark.parametrize(
    "url",
    ["localhost:8000", "127.0.0.1:8000", "ftp://example.com/v1", "https://", "http://127.0.0.1:80a0", "https://a.example/v1?x=1"],
)
def test_a_malformed_url_gets_a_one_line_hint_and_no_request(url: str) -> None:
    status, out, err = run_cli("hi", "--url", url)
    assert status == EXIT_USAGE and out == ""
    lines = err.splitlines()
    hints = [line for line in lines if line.startswith("hint: ")]
    assert len(hints) == 1, err
    assert repr(url) in hints[0]
    assert "https://<api-id>.execute-api.<region>.amazonaws.com/<stage>" in hints[0]
    assert "http://127.0.0.1:8000" in hints[0]
    assert not any("cannot reach" in line for line in lines)


# -- no answer at all: nothing listening, an unknown host, https to the local stack ------------------


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


def one_hint(err: str) -> str:
    [hint] = [line for line in err.splitlines() if line.startswith("hint: ")]
    return hint


def test_no_local_stack_running_gets_a_hint_to_start_it_on_that_port(closed_port: int) -> None:
    status, out, err = run_cli("hi", "--url", f"http://127.0.0.1:{closed_port}")
    assert status == EXIT_REQUEST_FAILED and out == ""
    assert "Connection refused" in err
    assert f"start the local stack with `python3 dev.py local --port {closed_port}`" in one_hint(err)


def test_the_default_url_with_nothing_listening_names_the_plain_command() -> None:
    hint = unreachable(DEFAULT_URL, ConnectionRefusedError(111, "Connection refused"))
    assert hint is not None and "`python3 dev.py local`" in hint


def test_a_refused_connection_elsewhere_does_not_suggest_the_local_stack() -> None:
    hint = unreachable("https://abc123.execute-api.us-east-1.amazonaws.com/v1", ConnectionRefusedError(111, "refused"))
    assert hint is not None and "dev.py local" not in hint and "apiUrl" in hint


def test_a_host_that_does_not_resolve_gets_a_hint() -> None:
    # .invalid never resolves (RFC 6761).
    status, _, err = run_cli("hi", "--url", "https://no-such-api.invalid/v1")
    assert status == EXIT_REQUEST_FAILED
    assert "'no-such-api.invalid' does not resolve" in one_hint(err)


def test_https_to_the_local_stack_hints_at_plain_http(stack: LocalStack) -> None:
    https_url = stack.url.replace("http://", "https://")
    status, _, err = run_cli("hi", "--url", https_url)
    assert status == EXIT_REQUEST_FAILED
    assert f"use {stack.url}" in one_hint(err)


def test_a_timeout_gets_a_hint_and_other_failures_none() -> None:
    assert "--timeout" in (unreachable("https://a.example/v1", TimeoutError("timed out")) or "")
    assert unreachable("https://a.example/v1", OSError("something else")) is None


# -- refusals of credentials the local gateway does not produce, as API Gateway words them -------------


@pytest.mark.parametrize(
    ("message", "hint_part"),
    [
        ("The security token included in the request is expired", "aws sso login"),
        ("Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z", "clock"),
        ("User: arn:aws:sts::123456789012:assumed-role/dev/me is not authorized to perform: execute-api:Invoke on "
         "resource: arn:aws:execute-api:us-east-1:123456789012:abc123/v1/POST/invoke with an explicit deny",
         "execute-api:Invoke"),
    ],
)
def test_signed_requests_refused_by_api_gateway_get_a_hint(message: str, hint_part: str) -> None:
    hint = refused(InvokeError(403, "FORBIDDEN", message), signed=True)
    assert hint is not None and hint_part in hint


def test_a_refusal_without_a_known_cause_gets_no_hint_when_credentials_were_sent() -> None:
    assert refused(InvokeError(403, "FORBIDDEN", "Something new"), signed=True) is None
    assert refused(InvokeError(403, "FORBIDDEN", "Something new"), token=True) is None
