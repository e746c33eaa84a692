"""Fuzzing POST /invoke (and everything around it) against one local stack.

Every request must get a documented 4xx with the {"error": {"code", "message"}} body, or a valid
200 event stream that ends with done or error; never a 5xx, a hang, or internals in the body.
"""

from __future__ import annotations

import json
import string
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.reliability_support import (
    DOCUMENTED_CLIENT_ERRORS,
    Answer,
    assert_complete_stream,
    assert_error_body,
    echo_answer,
    send,
    stream_text,
    terminal_event,
)

from local.stack import LocalStack, StackSettings

MAX_PROMPT_CHARS = 300
MAX_BODY_BYTES = MAX_PROMPT_CHARS * 12 + 2048  # the proxy's default for this prompt limit
REQUEST_TIMEOUT_SECONDS = 20.0  # a hang fails the example instead of blocking the suite
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # examples are cheap to find again; keep the shared checkout free of state
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
header_safe_text = st.text(alphabet=string.ascii_letters + string.digits + " ;=/+-.*\"", max_size=60)
# The right type as often as all the wrong ones, so the bodies behind it are tested too.
content_types = st.just("application/json") | st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/json; charset=latin-1",
        "application/json;charset=\"UTF-8\"",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "",
    ]
) | header_safe_text
# Near the limit on both sides, and far beyond it.
prompt_lengths = st.sampled_from([MAX_PROMPT_CHARS - 1, MAX_PROMPT_CHARS, MAX_PROMPT_CHARS + 1, MAX_PROMPT_CHARS * 5])
prompts = (
    st.text(max_size=80)
    | st.builds(lambda n, c: c * n, prompt_lengths, st.sampled_from(["a", "é", "字", "😀", " ", "\\", '"', "\x00"]))
    | json_values
)
valid_session_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
session_ids = valid_session_ids | st.text(max_size=140) | json_values


@pytest.fixture(scope="module")
def fuzz_stack() -> Iterator[LocalStack]:
    # The model answers at full speed ([[delay-ms]] only exists in prompts we write).
    with LocalStack(StackSettings(
        offline_delay_ms=0, max_prompt_chars=MAX_PROMPT_CHARS, stream_timeout_seconds=15, keepalive_seconds=2
    )) as stack:
        yield stack


def assert_documented(answer: Answer) -> None:
    if answer.status == 200:
        assert_complete_stream(answer)
    else:
        assert_error_body(answer, DOCUMENTED_CLIENT_ERRORS)


def post_invoke(stack: LocalStack, body: bytes, content_type: str | None = "application/json", chunked: bool = False) -> Answer:
    headers = {} if content_type is None else {"Content-Type": content_type}
    payload: Any = iter([body[i : i + 1024] for i in range(0, len(body), 1024)] or [b""]) if chunked else body
    return send(stack.url, "POST", "/invoke", body=payload, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS, chunked=chunked)


def run_and_check_logs(stack: LocalStack, check: Callable[[], None]) -> None:
    check()
    stack.raise_if_exited()
    tracebacks = [line for line in stack.logs("proxy") if "Traceback" in line]
    assert not tracebacks, f"the proxy logged a traceback: {tracebacks[:3]}"


def test_random_json_bodies_get_a_documented_answer(fuzz_stack: LocalStack) -> None:
    @FUZZ
    @given(document=json_values, content_type=content_types)
    def check(document: Any, content_type: str | None) -> None:
        assert_documented(post_invoke(fuzz_stack, json.dumps(document).encode(), content_type))

    run_and_check_logs(fuzz_stack, check)


def test_invoke_objects_with_wrong_types_and_sizes_get_a_documented_answer(fuzz_stack: LocalStack) -> None:
    @FUZZ
    @given(
        prompt=prompts,
        session_id=st.none() | session_ids,
        extra=st.just({}) | st.dictionaries(st.text(max_size=8), json_scalars, max_size=2),
        omit_prompt=st.sampled_from([False, False, False, True]),
        chunked=st.booleans(),
    )
    def check(prompt: Any, session_id: Any, extra: dict[str, Any], omit_prompt: bool, chunked: bool) -> None:
        document: dict[str, Any] = dict(extra)
        if not omit_prompt:
            document["prompt"] = prompt
        if session_id is not None:
            document["sessionId"] = session_id
        answer = post_invoke(fuzz_stack, json.dumps(document).encode(), chunked=chunked)
        assert_documented(answer)
        well_formed = (
            set(document) <= {"prompt", "sessionId"}
            and isinstance(prompt, str)
            and not omit_prompt
            and 0 < len(prompt) <= MAX_PROMPT_CHARS
            and prompt.strip() != ""
            and (session_id is None or isinstance(session_id, str))
        )
        if not well_formed:  # a field the contract rejects must never start the agent
            assert answer.status != 200, document

    run_and_check_logs(fuzz_stack, check)


def test_any_valid_unicode_prompt_streams_back_intact(fuzz_stack: LocalStack) -> None:
    # Any text the contract accepts (every plane of Unicode, control characters, quotes, backslashes)
    # must reach the agent and come back in the echo unchanged: no piece lost, split or re-encoded.
    valid_prompts = st.text(min_size=1, max_size=MAX_PROMPT_CHARS).filter(
        lambda text: text.strip() != "" and "[[" not in text
    )

    @FUZZ
    @given(prompt=valid_prompts, session_id=st.none() | valid_session_ids)
    def check(prompt: str, session_id: str | None) -> None:
        # A fresh session each time: a replayed session id would make this turn 2 of a conversation.
        document = {"prompt": prompt}
        if session_id is not None:
            document["sessionId"] = f"{session_id[:90]}-{uuid.uuid4().hex}"
        answer = post_invoke(fuzz_stack, json.dumps(document).encode())
        events = assert_complete_stream(answer)
        assert terminal_event(events)[0] == "done"
        assert stream_text(events) == echo_answer(prompt)

    run_and_check_logs(fuzz_stack, check)


def test_raw_bytes_and_invalid_utf8_get_a_documented_answer(fuzz_stack: LocalStack) -> None:
    invalid_utf8 = st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
    bodies = (
        st.binary(max_size=3000)
        | st.builds(lambda bad, text: b'{"prompt": "' + text.encode() + bad + b'"}', invalid_utf8, st.text(max_size=20))
        | st.builds(lambda bad: b'{"prompt": "hi", "sessionId": "' + bad + b'"}', invalid_utf8)
    )

    @FUZZ
    @given(body=bodies, content_type=content_types, chunked=st.booleans())
    def check(body: bytes, content_type: str | None, chunked: bool) -> None:
        assert_documented(post_invoke(fuzz_stack, body, content_type, chunked))

    run_and_check_logs(fuzz_stack, check)


def test_oversized_bodies_are_refused_with_413(fuzz_stack: LocalStack) -> None:
    @settings(FUZZ, max_examples=30)
    @given(size=st.integers(MAX_BODY_BYTES + 1, MAX_BODY_BYTES * 20), chunked=st.booleans())
    def check(size: int, chunked: bool) -> None:
        body = b'{"prompt": "' + b"a" * size + b'"}'
        answer = post_invoke(fuzz_stack, body, chunked=chunked)
        assert assert_error_body(answer, {413}) == "PAYLOAD_TOO_LARGE"

    run_and_check_logs(fuzz_stack, check)


def test_other_methods_and_paths_never_reach_the_agent(fuzz_stack: LocalStack) -> None:
    methods = st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "POST"]) | st.text(
        alphabet=string.ascii_uppercase, min_size=1, max_size=10
    )
    paths = st.text(max_size=40).map(lambda text: "/" + urllib.parse.quote(text, safe="/"))
    query = st.text(max_size=20).map(lambda text: "" if not text else "?" + urllib.parse.quote(text, safe="=&"))

    @FUZZ
    @given(method=methods, path=paths, query=query)
    def check(method: str, path: str, query: str) -> None:
        if method == "POST" and path == "/invoke":
            path = "/invoke/"  # the one real route is fuzzed by the other tests
        answer = send(fuzz_stack.url, method, path + query, body=b"{}", headers={"Content-Type": "application/json"},
                      timeout=REQUEST_TIMEOUT_SECONDS)
        code = assert_error_body(answer, {404, 405} if path.rstrip("/") != "/_ready" else {200, 404, 405})
        if answer.status == 405:
            assert code in ("", "METHOD_NOT_ALLOWED")
            assert "allow" in answer.headers

    run_and_check_logs(fuzz_stack, check)
