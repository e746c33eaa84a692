"""Hostile HTTP through the local stack in every auth mode: generated requests over raw sockets.

Hypothesis writes each request byte by byte (method, target, headers with any byte a client can
put there, duplicated or conflicting framing, bodies with control characters, escapes, deep nesting
or invalid UTF-8, forged request contexts), mostly with valid credentials so the proxy sees them.
Every request must get an answer that the contract documents: never a 5xx, never a connection
closed without a response, a 200 only as a complete event stream. Afterwards no stream slot or
upstream stream is held, the agent is Healthy, no log holds a prompt, a session id or a secret, a
normal request still streams, and the proxy's open file descriptors and threads are back to their
idle counts (read from /proc).

At least HOSTILE_EXAMPLES requests per auth mode (default 1000): minutes, so behind the `hostile`
marker (`python3 dev.py test -m hostile`), which CI runs as a second command.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.reliability_support import (
    NoResponse,
    assert_complete_stream,
    assert_error_body,
    describe_fds,
    open_fds,
    raw_exchange,
    threads,
    wait_until_settled,
)

from client.auth import sigv4_headers
from local.gateway_auth import issue_local_token
from local.stack import LocalStack, StackSettings

pytestmark = pytest.mark.hostile

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "1000"))
MAX_PROMPT_CHARS = 200
REQUEST_TIMEOUT_SECONDS = 20.0
# Marks every prompt and session id sent, so a log line that quotes one is found.
PROMPT_MARK = "ZQXPROMPT"
SESSION_MARK = "ZQXSESSION"
API_KEY = "hostile-api-key-0123456789abcdef"
IAM_ACCESS_KEY = "AKIAHOSTILECALLER001"
IAM_SECRET = "hostile-iam-secret-0123456789abcdefABCDEF"
JWT_SECRET = "hostile-jwt-secret-0123456789abcdefABCDEF"
SECRETS = (API_KEY, IAM_SECRET, JWT_SECRET)
# Statuses an answer may have: the contract's errors, API Gateway's refusals, uvicorn's 400 for
# bytes that are not HTTP at all.
ALLOWED_ERRORS = {400, 401, 403, 404, 405, 413, 415, 429}
IDLE_SETTLE_SECONDS = 11.0  # anyio prunes worker threads idle for 10 s when the next job arrives


@dataclass
class ModeStack:
    mode: str
    stack: LocalStack
    token: str
    idle_fds: int = 0
    idle_threads: int = 0
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


def normal_stream(target: ModeStack) -> list[tuple[str, dict[str, Any] | None]]:
    body = json.dumps({"prompt": "a normal question [[pieces:3]]"}).encode()
    answer = raw_exchange(target.stack.url, build(target, "POST", "/invoke", [("Content-Type", "application/json")], body, "length", True))
    return assert_complete_stream(answer)


def idle_counts(target: ModeStack) -> tuple[int, int]:
    """The proxy's fds and threads at rest: after idle workers expired and one more request pruned them.

    Not counted: boto3's pooled keep-alive connections to the stand-in that the stand-in has since
    closed (CLOSE_WAIT); urllib3 keeps them until their next use. They are bounded separately, and a
    leaked upstream stream shows in the stand-in's own count of open streams.
    """
    pid = target.stack.components["proxy"].process.pid
    time.sleep(IDLE_SETTLE_SECONDS)
    normal_stream(target)
    assert wait_until_settled(target.stack) == (0, 0, "Healthy")
    time.sleep(6)  # uvicorn's keep-alive (5 s) closes the gateway's idle connections to the proxy
    pooled = pooled_upstream_connections(target)
    assert pooled <= 2, describe_fds(pid)  # requests here come one at a time
    return open_fds(pid) - pooled, threads(pid)


def pooled_upstream_connections(target: ModeStack) -> int:
    standin_port = urllib.parse.urlsplit(target.stack.standin_url).port
    pid = target.stack.components["proxy"].process.pid
    return sum(f"->{standin_port} state 08" in line for line in describe_fds(pid))


@pytest.fixture(scope="module", params=["none", "apiKey", "iam", "cognito"])
def target(request: pytest.FixtureRequest) -> Iterator[ModeStack]:
    timeouts = {"HTTP_HEADER_TIMEOUT_SECONDS": "5", "HTTP_BODY_TIMEOUT_SECONDS": "5"}
    with LocalStack(StackSettings(
        auth=request.param,
        offline_delay_ms=0,
        max_prompt_chars=MAX_PROMPT_CHARS,
        keepalive_seconds=2,
        stream_timeout_seconds=15,
        proxy_env=timeouts,
        gateway_env=timeouts,
        api_keys={API_KEY: "hostile-key-id"},
        iam_credentials={IAM_ACCESS_KEY: IAM_SECRET},
        jwt_secret=JWT_SECRET,
    )) as stack:
        token = issue_local_token(JWT_SECRET, "hostile-user", expires_in=3600)
        mode = ModeStack(request.param, stack, token)
        mode.idle_fds, mode.idle_threads = idle_counts(mode)
        yield mode


def build(
    target: ModeStack, method: str, path: str, headers: list[tuple[str, str]], body: bytes, framing: str,
    authenticated: bool,
) -> bytes:
    """The request's bytes, with the mode's credentials when `authenticated`."""
    url = target.stack.url
    host = urllib.parse.urlsplit(url).netloc
    head: list[tuple[str, str]] = [("Host", host)]
    if authenticated and target.mode == "apiKey":
        head.append(("x-api-key", API_KEY))
    elif authenticated and target.mode == "cognito":
        head.append(("Authorization", f"Bearer {target.token}"))
    elif authenticated and target.mode == "iam":
        # A target that is not a path ("*", an absolute URL) is signed as /invoke: the gateway refuses it.
        signed_path = path if path.startswith("/") and path.isascii() else "/invoke"
        signed = sigv4_headers(
            method if method.isascii() else "POST", f"{url}{signed_path}", {}, body,
            Credentials(IAM_ACCESS_KEY, IAM_SECRET), target.stack.region,
        )
        head += [(name, value) for name, value in signed.items() if name.lower() != "host"]
    head += headers
    if framing in ("length", "length+chunked", "duplicate-length"):
        head.append(("Content-Length", str(len(body))))
    if framing == "duplicate-length":
        head.append(("Content-Length", str(len(body))))
    if framing in ("chunked", "length+chunked"):
        head.append(("Transfer-Encoding", "chunked"))
        pieces = [body[index : index + 7] for index in range(0, len(body), 7)]
        body = b"".join(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in pieces) + b"0\r\n\r\n"
    lines = [f"{method} {path} HTTP/1.1".encode("utf-8", "surrogateescape")]
    lines += [name.encode("latin-1", "replace") + b": " + value.encode("utf-8", "surrogateescape") for name, value in head]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# -- what is generated --------------------------------------------------------------------------

control_text = st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=12)
any_text = st.text(max_size=40)
session_ids = (
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,40}", fullmatch=True).map(lambda text: SESSION_MARK + text)
    | st.builds(lambda text, c: SESSION_MARK + text + c, st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True),
                st.sampled_from(["\n", "\r", "\r\n", "\x00", "\t", " ", "\x7f", "\u2028", "\x85"]))
    | control_text.map(lambda text: SESSION_MARK + text)
)
prompts = (
    st.text(max_size=60).map(lambda text: text + " " + PROMPT_MARK)
    | st.builds(lambda n: "😀" * n + PROMPT_MARK, st.integers(0, MAX_PROMPT_CHARS + 5))
    | control_text.map(lambda text: text + PROMPT_MARK)
)


BODY_KINDS = st.sampled_from(["valid", "valid", "valid", "escaped", "fields", "nested", "bytes", "empty"])


@st.composite
def bodies(draw: st.DrawFn, kinds: st.SearchStrategy[str] = BODY_KINDS) -> bytes:
    kind = draw(kinds)
    document: dict[str, Any] = {"prompt": draw(prompts)}
    if draw(st.booleans()):
        document["sessionId"] = draw(session_ids)
    if kind == "valid":
        return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if kind == "escaped":
        return json.dumps(document, ensure_ascii=True).encode()
    if kind == "fields":
        document[draw(any_text)] = draw(st.none() | st.integers() | any_text)
        return json.dumps(document).encode()
    if kind == "nested":
        depth = draw(st.integers(1, 50_000))
        return ("[" * depth + "]" * depth).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=300)) + PROMPT_MARK.encode()
    return b""


header_names = st.sampled_from(
    ["X-Custom", "x-amzn-request-context", "Accept", "Origin", "X-Amz-Date", "Connection", "Expect", "Te",
     "Trailer", "Upgrade", "X-Forwarded-For", "Range"]
) | st.from_regex(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}", fullmatch=True)
header_values = (
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
    | st.sampled_from(["\x00", "a\rb", "a\nb", "a\r\nX-Injected: 1", " leading", "trailing ", "\x7f", "close",
                       "100-continue", "websocket", "chunked", "gzip, chunked"])
    | st.builds(lambda depth: "[" * depth + "]" * depth, st.integers(1, 4000))
    | st.builds(lambda value: json.dumps({"requestId": value, "identity": {"apiKeyId": value}}), control_text)
)
content_types = st.sampled_from(
    [["application/json"], ["application/json"], ["application/json"], ["application/json; charset=utf-8"],
     ["application/json", "application/json"], ["application/json", "text/plain"], [], ["text/plain"],
     ["application/json; charset=latin-1"], ["application/json\x00"], ["application/json; charset=utf-8; x=\x01"]]
)
methods = st.sampled_from(["POST"] * 12 + ["GET", "PUT", "OPTIONS", "HEAD", "DELETE", "post", "P\x00ST", "PRI"])
paths = st.sampled_from(
    ["/invoke"] * 12 + ["/invoke/", "//invoke", "/INVOKE", "/invoke?x=1", "/invoke%0a", "/invoke%00", "/_ready",
                        "/../invoke", "/invoke#x", "*", "http://evil.example/invoke"]
)
framings = st.sampled_from(["length"] * 8 + ["chunked", "chunked", "length+chunked", "duplicate-length", "none"])


@st.composite
def hostile_requests(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, str]], bytes, str, bool]:
    """Half of them well-formed but for their content (so they reach the proxy and the agent),
    half hostile in every part at once."""
    if draw(st.booleans()):
        headers = [("Content-Type", "application/json")]
        headers += draw(st.lists(st.tuples(header_names, header_values), max_size=1))
        kind = st.sampled_from(["valid", "escaped"])
        body = draw(bodies(kind))
        return ("POST", "/invoke", headers, body, draw(st.sampled_from(["length", "chunked"])), True)
    headers = [("Content-Type", value) for value in draw(content_types)]
    headers += draw(st.lists(st.tuples(header_names, header_values), max_size=3))
    return (draw(methods), draw(paths), headers, draw(bodies()), draw(framings), draw(st.integers(0, 9)) > 0)


def check_answer(target: ModeStack, data: bytes) -> None:
    try:
        answer = raw_exchange(target.stack.url, data, timeout=REQUEST_TIMEOUT_SECONDS)
    except NoResponse:
        # The only way to get none: bytes HTTP cannot frame at all are answered by uvicorn with a
        # 400, so a missing answer is a failure too.
        raise
    target.sent += 1
    target.statuses[answer.status] = target.statuses.get(answer.status, 0) + 1
    assert answer.status < 500, (answer.status, answer.body[:300], data[:300])
    if answer.status == 200 and data.startswith((b"GET /_ready ", b"HEAD /_ready ")) and target.mode == "none":
        # With no gateway in front the proxy itself answers its readiness path (Lambda Web Adapter
        # polls it; on AWS only POST /invoke is routed to the function, and locally the gateway
        # refuses it in every other mode).
        assert answer.headers["content-type"] == "application/json", answer.headers
        assert data.startswith(b"HEAD ") or json.loads(answer.body)["status"] == "ready"
    elif answer.status == 200:
        assert_complete_stream(answer)
    elif answer.headers.get("content-type", "").startswith("text/plain"):
        # uvicorn's own answer to bytes h11 cannot parse (no body for HEAD).
        expected = b"" if data.startswith(b"HEAD ") else b"Invalid HTTP request received."
        assert answer.status == 400 and answer.body == expected, (answer.body, data[:300])
    else:
        assert_error_body(answer, ALLOWED_ERRORS)


def test_hostile_requests_get_documented_answers(target: ModeStack) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(request=hostile_requests())
    def check(request: tuple[str, str, list[tuple[str, str]], bytes, str, bool]) -> None:
        method, path, headers, body, framing, authenticated = request
        check_answer(target, build(target, method, path, headers, body, framing, authenticated))

    check()
    assert target.sent >= EXAMPLES
    # Enough of them reached the agent and streamed: the suite is not only testing refusals.
    assert target.statuses.get(200, 0) >= EXAMPLES // 10, target.statuses


def test_afterwards_nothing_is_held_and_nothing_leaked(target: ModeStack) -> None:
    stack = target.stack
    stack.raise_if_exited()
    assert wait_until_settled(stack, 60) == (0, 0, "Healthy")
    events = normal_stream(target)
    assert events[-1][0] == "done"

    logs = {name: "\n".join(stack.logs(name)) for name in stack.components}
    for name, text in logs.items():
        assert PROMPT_MARK not in text, f"{name} logged a prompt"
        assert SESSION_MARK not in text, f"{name} logged a session id"
        for secret in (*SECRETS, target.token):
            assert secret not in text, f"{name} logged a secret"
        assert "Traceback" not in text, f"{name} logged a traceback"

    pid = stack.components["proxy"].process.pid
    fds, thread_count = idle_counts(target)
    assert (fds, thread_count) == (target.idle_fds, target.idle_threads), (
        f"proxy at rest: {fds} fds and {thread_count} threads, before: {target.idle_fds} and {target.idle_threads}; "
        f"{describe_fds(pid)}"
    )
