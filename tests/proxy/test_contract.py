import json

import pytest

from streaming_shared import edge
from streaming_proxy import contract
from streaming_proxy.contract import ApiError, check_content_type, parse_invoke_request, sse_event


def parse(document: object, max_prompt_chars: int = 50):
    return parse_invoke_request(json.dumps(document).encode(), max_prompt_chars)


def rejected(body: bytes, max_prompt_chars: int = 50) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_invoke_request(body, max_prompt_chars)
    return caught.value


def test_valid_request_with_and_without_session():
    assert parse({"prompt": "hello"}) == contract.InvokeRequest("hello", None)
    assert parse({"prompt": "hello", "sessionId": "abc-1"}) == contract.InvokeRequest("hello", "abc-1")
    assert parse({"prompt": "hello", "sessionId": None}).session_id is None


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{not json", edge.INVALID_BODY),
        (b"\xff\xfe{}", edge.INVALID_BODY),
        (b'{"prompt": NaN}', edge.INVALID_BODY),
        (b"[1, 2]", edge.INVALID_BODY),
        (b'"prompt"', edge.INVALID_BODY),
        (b"{}", edge.MISSING_FIELD),
        (b'{"prompt": 5}', edge.INVALID_FIELD),
        (b'{"prompt": "   "}', edge.INVALID_FIELD),
        (b'{"prompt": "\\ud800"}', edge.INVALID_FIELD),
        (b'{"prompt": "hi", "model": "x"}', edge.UNKNOWN_FIELD),
        (b'{"prompt": "hi", "sessionId": 7}', edge.INVALID_FIELD),
        (b'{"prompt": "hi", "sessionId": "has space"}', edge.INVALID_FIELD),
        (b'{"prompt": "hi", "sessionId": ""}', edge.INVALID_FIELD),
        (json.dumps({"prompt": "x" * 51}).encode(), edge.PROMPT_TOO_LONG),
    ],
)
def test_bad_bodies_get_a_400_with_a_machine_code(body, code):
    error = rejected(body)
    assert (error.status, error.code) == (400, code)
    assert error.message


def test_unknown_field_message_names_the_field_and_the_allowed_ones():
    error = rejected(b'{"prompt": "hi", "temperature": 1}')
    assert "temperature" in error.message and "prompt" in error.message and "sessionId" in error.message


def test_prompt_limit_counts_characters_not_bytes():
    assert parse({"prompt": "é" * 50}).prompt == "é" * 50
    assert "50" in rejected(json.dumps({"prompt": "é" * 51}).encode()).message


@pytest.mark.parametrize("value", [None, "", "text/plain", "application/json; charset=latin-1", "multipart/form-data"])
def test_content_type_other_than_json_is_415(value):
    with pytest.raises(ApiError) as caught:
        check_content_type([] if value is None else [value])
    assert (caught.value.status, caught.value.code) == (415, edge.UNSUPPORTED_MEDIA_TYPE)


@pytest.mark.parametrize("value", ["application/json", "Application/JSON", "application/json; charset=UTF-8"])
def test_json_content_types_are_accepted(value):
    check_content_type([value])


def test_duplicate_content_type_headers_are_refused_even_when_both_are_json():
    with pytest.raises(ApiError) as caught:
        check_content_type(["application/json", "application/json"])
    assert (caught.value.status, caught.value.code) == (415, edge.UNSUPPORTED_MEDIA_TYPE)
    with pytest.raises(ApiError):
        check_content_type(["application/json", "text/plain"])


CONTROL_CHARACTERS = [chr(code) for code in [*range(0x20), 0x7F, 0x85, 0x2028, 0x2029]]


@pytest.mark.parametrize("character", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_session_id_with_a_control_character_anywhere_is_refused(character):
    # A trailing newline passed `^...$` (re's `$` matches before a final newline), then broke the
    # X-Session-Id header after the agent had run; every position of every control character is refused.
    valid = "session-0123456789"
    for position in range(len(valid) + 1):
        session_id = valid[:position] + character + valid[position:]
        error = rejected(json.dumps({"prompt": "hi", "sessionId": session_id}).encode())
        assert error.code == edge.INVALID_FIELD, (position, session_id)


@pytest.mark.parametrize("character", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_request_id_with_a_control_character_anywhere_is_not_used(character):
    valid = "c0ffee00-1234-4abc-8def-0123456789ab"
    assert contract.is_valid_request_id(valid)
    for position in range(len(valid) + 1):
        assert not contract.is_valid_request_id(valid[:position] + character + valid[position:])


def test_error_body_shape():
    error = ApiError(429, edge.THROTTLED, "slow down")
    assert error.body("r-1") == {"error": {"code": "THROTTLED", "message": "slow down", "requestId": "r-1"}}


def test_sse_event_keeps_newlines_inside_one_data_line():
    frame = sse_event("delta", {"text": "a\nb\r\nc"})
    assert frame.startswith(b"event: delta\ndata: ") and frame.endswith(b"\n\n")
    assert frame.count(b"\n") == 3
    assert json.loads(frame.split(b"data: ", 1)[1]) == {"text": "a\nb\r\nc"}
