"""Call the streaming API: POST /invoke, its events yielded as they arrive, and POST /stop (standard library only)."""

from __future__ import annotations

import datetime
import email.utils
import http.client
import json
import re
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from client.auth import resolve_region, sigv4_headers
from client.sse import SseComment, SseMessage, SseParser
from streaming_shared.edge import INVOKE_PATH, REQUEST_ID_HEADER, SESSION_ID_HEADER, STOP_PATH

DEFAULT_TIMEOUT_SECONDS = 960.0  # above API Gateway's 15-minute stream limit: the server ends first
# A stop is answered at once, unless AgentCore has to start the session's microVM first.
STOP_TIMEOUT_SECONDS = 30.0
READ_SIZE = 65536
MAX_ERROR_BODY_BYTES = 65536
TERMINAL_EVENTS = ("done", "error")
# When the proxy function fails mid-stream on AWS, Lambda Web Adapter's runtime (the Rust
# lambda_runtime crate, lambda-runtime/src/types.rs ToStreamErrorTrailer) writes its error "trailer"
# as two more lines of the body, not as HTTP trailers:
#   Lambda-Runtime-Function-Error-Type: Runtime.StreamError\r\n
#   Lambda-Runtime-Function-Error-Body: <base64 of the error>\r\n
# and API Gateway then ends the response normally. The last bytes of a stream are kept to find it.
LAMBDA_ERROR_TYPE_LINE = re.compile(rb"Lambda-Runtime-Function-Error-Type: ?([\x21-\x7e]{1,100})", re.IGNORECASE)
STREAM_TAIL_BYTES = 4096


@dataclass(frozen=True)
class Event:
    name: str  # "start", "delta", "done", "error", or "keep-alive" for `: keep-alive` comments
    data: dict[str, Any] | None
    received_at: float  # time.monotonic() when the bytes that completed the event were read


class InvokeError(Exception):
    """The API answered with an HTTP status other than 200 (nothing was streamed)."""

    def __init__(
        self, status: int, code: str, message: str, request_id: str | None = None, retry_after: str | None = None
    ) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after

    @property
    def retry_after_seconds(self) -> float | None:
        """Seconds to wait before sending the prompt again (Retry-After as seconds or an HTTP date), or None.

        The client never retries by itself: a second POST runs the agent again, so the caller decides.
        """
        if self.retry_after is None:
            return None
        value = self.retry_after.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


class StreamBrokenError(Exception):
    """The stream started but ended without a done or error event, or carried data that is not JSON."""


def invoke_target(url: str, route: str = INVOKE_PATH) -> tuple[type[http.client.HTTPConnection], str, int | None, str]:
    """Connection class, host, port and request path of one of the API's routes (POST /invoke by default).

    ``url`` may be either stack output: the base ``apiUrl`` (``https://host/v1``, the route is
    appended) or the full ``invokeUrl`` (``https://host/v1/invoke``, whose route is replaced).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"API URL must be http(s)://host[:port][/stage][/invoke], got {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"API URL must not carry a query or fragment, got {url!r}")
    try:
        port = parts.port
    except ValueError:  # urllib's own message does not name the URL
        raise ValueError(f"API URL has a port that is not a number from 0 to 65535, got {url!r}") from None
    connection = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = parts.path.rstrip("/")
    if path.endswith(INVOKE_PATH):
        path = path[: -len(INVOKE_PATH)]
    return connection, parts.hostname, port, path + route


@dataclass(frozen=True)
class Credentials:
    """How the caller authenticates, matching the API's auth mode (see stream_invoke)."""

    api_key: str | None = None
    iam_credentials: Any = None
    region: str | None = None
    bearer_token: str | None = None


def post_json(
    connection: http.client.HTTPConnection, url: str, route: str, body: dict[str, Any], accept: str,
    credentials: Credentials, headers: Mapping[str, str] | None,
) -> http.client.HTTPResponse:
    """POST the JSON body to the route on `connection` (authenticated, signed last); the 200 response,
    or InvokeError for any other status."""
    _, _, _, path = invoke_target(url, route)
    request_headers = {"Content-Type": "application/json", "Accept": accept, **(headers or {})}
    if credentials.api_key is not None:
        request_headers["x-api-key"] = credentials.api_key
    if credentials.bearer_token is not None:
        request_headers["Authorization"] = f"Bearer {credentials.bearer_token}"
    # UTF-8 as it is: escaping every non-ASCII character (\uXXXX, 6 or 12 bytes) would make a prompt
    # within the character limit take far more bytes than it needs.
    encoded_body = json.dumps(body, ensure_ascii=False).encode("utf-8")
    if credentials.iam_credentials is not None:
        # Signed last, over every header above, so nothing is added after the signature.
        signed_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=path, query="", fragment=""))
        request_headers = sigv4_headers(
            "POST", signed_url, request_headers, encoded_body, credentials.iam_credentials,
            resolve_region(url, credentials.region),
        )
    connection.request("POST", path, body=encoded_body, headers=request_headers)
    response = connection.getresponse()
    if response.status != 200:
        raise error_from_response(response)
    return response


def connection_for(url: str, timeout: float) -> http.client.HTTPConnection:
    """An unopened connection to the API's host (the route does not matter here)."""
    connection_class, host, port, _ = invoke_target(url)
    return connection_class(host, port, timeout=timeout)


def stream_invoke(
    url: str,
    prompt: str,
    *,
    session_id: str | None = None,
    api_key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    headers: Mapping[str, str] | None = None,
    iam_credentials: Any = None,
    region: str | None = None,
    bearer_token: str | None = None,
    stop_on_close: bool = True,
) -> Iterator[Event]:
    """Yield the answer's events as they arrive.

    Authentication, matching the API's auth mode: ``api_key`` (sent as x-api-key),
    ``iam_credentials`` (botocore-style credentials; the request is SigV4-signed for execute-api in
    ``region``, or the region of an execute-api URL), or ``bearer_token`` (a Cognito token, sent as
    ``Authorization: Bearer``).

    The request is sent on the first ``next()``; a non-200 answer raises InvokeError there.
    Stopping early (``break`` out of a for loop, ``close()``, or Ctrl-C while it reads) sends
    ``POST /stop`` for the session and then closes the connection: on AWS closing alone would not
    stop the agent's turn, nor its cost. ``stop_on_close=False`` only closes (a stop that fails is
    not raised: the stream is being abandoned either way).
    """
    body: dict[str, Any] = {"prompt": prompt}
    if session_id is not None:
        body["sessionId"] = session_id
    credentials = Credentials(api_key, iam_credentials, region, bearer_token)
    connection = connection_for(url, timeout)
    ended = False
    try:
        response = post_json(connection, url, INVOKE_PATH, body, "text/event-stream", credentials, headers)
        session_id = response.getheader(SESSION_ID_HEADER) or session_id
        for event in events_from(response):
            ended = ended or event.name in TERMINAL_EVENTS
            yield event
    except (GeneratorExit, KeyboardInterrupt):
        if stop_on_close and not ended and session_id is not None:
            stop_quietly(url, session_id, credentials, headers)
        raise
    finally:
        connection.close()


def stop_quietly(url: str, session_id: str, credentials: Credentials, headers: Mapping[str, str] | None) -> None:
    """POST /stop for an answer being abandoned; a failure changes nothing for the caller, so it is dropped."""
    try:
        stop_turn(url, session_id, api_key=credentials.api_key, headers=headers,
                  iam_credentials=credentials.iam_credentials, region=credentials.region,
                  bearer_token=credentials.bearer_token)
    except Exception:  # InvokeError, a network error, an IAM signing error: the stream is closed below
        pass


def stop_turn(
    url: str,
    session_id: str,
    *,
    api_key: str | None = None,
    timeout: float = STOP_TIMEOUT_SECONDS,
    headers: Mapping[str, str] | None = None,
    iam_credentials: Any = None,
    region: str | None = None,
    bearer_token: str | None = None,
) -> bool:
    """POST /stop: end the running turn of one of the caller's sessions (authentication as for stream_invoke).

    True when a turn was running and is now ending (its stream ends with ``done`` and stopReason
    "cancelled"), False when none was. A non-200 answer raises InvokeError.
    """
    credentials = Credentials(api_key, iam_credentials, region, bearer_token)
    connection = connection_for(url, timeout)
    try:
        response = post_json(connection, url, STOP_PATH, {"sessionId": session_id}, "application/json", credentials,
                             headers)
        raw = response.read(MAX_ERROR_BODY_BYTES)
    finally:
        connection.close()
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("stopped"), bool):
        raise InvokeError(200, "INVALID_ANSWER", 'the answer to POST /stop was not {"stopped": true|false}')
    return bool(answer["stopped"])


def events_from(response: http.client.HTTPResponse) -> Iterator[Event]:
    parser = SseParser()
    finished = False
    tail = b""
    while True:
        try:
            # read1 returns as soon as some bytes arrived (chunked or not); read(n) would wait for n.
            chunk = response.read1(READ_SIZE)
        except http.client.IncompleteRead as error:
            raise StreamBrokenError("the connection closed in the middle of the stream") from error
        except TimeoutError as error:
            raise StreamBrokenError("no bytes arrived within the timeout") from error
        except OSError as error:
            raise StreamBrokenError(f"the connection failed in the middle of the stream: {error}") from error
        received_at = time.monotonic()
        tail = (tail + chunk)[-STREAM_TAIL_BYTES:]
        items = parser.feed(chunk) if chunk else parser.finish()
        for item in items:
            event = to_event(item, received_at)
            if event is not None:
                finished = finished or event.name in TERMINAL_EVENTS
                yield event
        if not chunk:
            break
    if not finished:
        raise StreamBrokenError(unfinished_stream_message(tail))


def unfinished_stream_message(tail: bytes) -> str:
    """Why a stream that ended without done or error is incomplete, from its last bytes."""
    crash = LAMBDA_ERROR_TYPE_LINE.search(tail)
    if crash is not None:
        return (f"the proxy function failed in the middle of the stream (Lambda reported "
                f"{crash.group(1).decode('ascii')}); the answer is incomplete")
    return "the stream ended without a done or error event"


def to_event(item: SseMessage | SseComment, received_at: float) -> Event | None:
    if isinstance(item, SseComment):
        # Other comments carry nothing for the caller; keep-alives show the stream is alive.
        return Event("keep-alive", None, received_at) if item.text.strip() == "keep-alive" else None
    try:
        data = json.loads(item.data)
    except json.JSONDecodeError as error:
        raise StreamBrokenError(f"event {item.event!r} carried data that is not JSON") from error
    if not isinstance(data, dict):
        raise StreamBrokenError(f"event {item.event!r} carried JSON that is not an object")
    return Event(item.event, data, received_at)


def error_from_response(response: http.client.HTTPResponse) -> InvokeError:
    raw = response.read(MAX_ERROR_BODY_BYTES)
    code, message, request_id = f"HTTP_{response.status}", response.reason or "", None
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        request_id = error.get("requestId")
    elif isinstance(parsed, dict) and parsed.get("message"):
        message = str(parsed["message"])  # API Gateway's own answers, e.g. a missing API key
    elif raw.strip():
        message = raw.decode("utf-8", errors="replace").strip()[:500]
    return InvokeError(
        status=response.status,
        code=code,
        message=message,
        request_id=response.getheader(REQUEST_ID_HEADER) or request_id or response.getheader("x-amzn-RequestId"),
        retry_after=response.getheader("Retry-After"),
    )
