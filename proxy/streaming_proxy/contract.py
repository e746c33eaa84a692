"""The public HTTP contract: request validation, error bodies and the SSE events the client sees.

Everything here is pure (no I/O), so every rule is testable on its own and the same rules hold
locally and on AWS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from streaming_shared.edge import (
    INVALID_BODY,
    INVALID_FIELD,
    MISSING_FIELD,
    PROMPT_TOO_LONG,
    UNKNOWN_FIELD,
    UNSUPPORTED_MEDIA_TYPE,
    error_body,
)

ALLOWED_FIELDS = ("prompt", "sessionId")
STOP_FIELDS = ("sessionId",)
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
SESSION_ID_RULE = "1-128 characters: letters, digits, '.', '_', ':' or '-', starting with a letter or digit"
# A request id taken from API Gateway's request context goes into a response header and the logs, so
# it must be header-safe; API Gateway's own are UUIDs. Anything else is replaced by a fresh UUID.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

# A comment line alone, with no blank line after it. Every Server-Sent Events parser ignores a comment
# line, but a blank line dispatches whatever came before it: @microsoft/fetch-event-source hands even
# an empty message to onmessage (where JSON.parse throws). The proxy only sends this between complete
# events, so the comment always starts a line and never joins or ends an event.
KEEPALIVE_COMMENT = b": keep-alive\n"
NOT_AN_OBJECT = 'The body must be a JSON object in UTF-8: {"prompt": "...", "sessionId": "..."}.'
STOP_NOT_AN_OBJECT = 'The body must be a JSON object in UTF-8: {"sessionId": "..."}.'



@dataclass
class ApiError(Exception):
    """An error answered as a plain JSON response, before any stream starts."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def body(self, request_id: str) -> dict[str, Any]:
        return error_body(self.code, self.message, request_id)


@dataclass(frozen=True)
class InvokeRequest:
    prompt: str
    # None when the client starts a new conversation.
    session_id: str | None


def is_valid_request_id(value: object) -> bool:
    return isinstance(value, str) and REQUEST_ID_PATTERN.fullmatch(value) is not None


def check_content_type(content_types: list[str]) -> None:
    """Exactly one Content-Type header, application/json in UTF-8 (415 otherwise)."""
    if len(content_types) > 1:
        # Servers and proxies disagree on which copy wins; refuse rather than guess.
        raise ApiError(415, UNSUPPORTED_MEDIA_TYPE, "Send exactly one Content-Type header: application/json.")
    media_type, _, parameters = (content_types[0] if content_types else "").partition(";")
    if media_type.strip().lower() != "application/json":
        raise ApiError(415, UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json.")
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise ApiError(415, UNSUPPORTED_MEDIA_TYPE, "The only charset accepted is utf-8.")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_object(body: bytes, allowed_fields: tuple[str, ...], not_an_object: str) -> dict[str, Any]:
    """The body as a JSON object holding only `allowed_fields`; ApiError naming what is wrong otherwise."""
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, INVALID_BODY, not_an_object) from None
    if not isinstance(document, dict):
        raise ApiError(400, INVALID_BODY, not_an_object)
    unknown = sorted(key for key in document if key not in allowed_fields)
    if unknown:
        raise ApiError(
            400,
            UNKNOWN_FIELD,
            f"Unknown field(s): {', '.join(repr(name)[:80] for name in unknown[:5])}. "
            f"Allowed fields: {', '.join(allowed_fields)}.",
        )
    return document


def _check_session_id(session_id: object, required: bool = False) -> None:
    if session_id is None and not required:
        return
    if not isinstance(session_id, str) or not SESSION_ID_PATTERN.fullmatch(session_id):
        raise ApiError(400, INVALID_FIELD, f"The field 'sessionId' must be {SESSION_ID_RULE}.")


def parse_invoke_request(body: bytes, max_prompt_chars: int) -> InvokeRequest:
    """Validate a POST /invoke body; raise ApiError naming what is wrong and what is allowed."""
    document = _json_object(body, ALLOWED_FIELDS, NOT_AN_OBJECT)

    if "prompt" not in document:
        raise ApiError(400, MISSING_FIELD, "The field 'prompt' is required.")
    prompt = document["prompt"]
    if not isinstance(prompt, str):
        raise ApiError(400, INVALID_FIELD, "The field 'prompt' must be a string.")
    if not prompt.strip():
        raise ApiError(400, INVALID_FIELD, "The field 'prompt' must not be empty.")
    if len(prompt) > max_prompt_chars:
        raise ApiError(
            400, PROMPT_TOO_LONG, f"The field 'prompt' may hold at most {max_prompt_chars} characters."
        )
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        # JSON can spell a lone surrogate (\ud800) that no model accepts.
        raise ApiError(400, INVALID_FIELD, "The field 'prompt' must be valid Unicode text.") from None

    session_id = document.get("sessionId")
    _check_session_id(session_id)
    return InvokeRequest(prompt=prompt, session_id=session_id)


def parse_stop_request(body: bytes) -> str:
    """Validate a POST /stop body, {"sessionId": "..."}; return the session id."""
    document = _json_object(body, STOP_FIELDS, STOP_NOT_AN_OBJECT)
    if "sessionId" not in document:
        raise ApiError(400, MISSING_FIELD, "The field 'sessionId' is required: the session whose turn to stop.")
    session_id = document["sessionId"]
    _check_session_id(session_id, required=True)
    return str(session_id)


def sse_event(name: str, data: dict[str, Any]) -> bytes:
    # json.dumps escapes newlines, so one `data:` line always holds the whole payload.
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode(
        "utf-8", "replace"
    )
