"""The streaming proxy: POST /invoke -> AgentCore InvokeAgentRuntime -> SSE events to the client,
and POST /stop -> a stop request on the same runtime session -> {"stopped": bool}.

Run by `run.sh` under uvicorn (`--factory streaming_proxy.app:create_app_from_environment`);
Lambda Web Adapter turns the streamed HTTP response into Lambda's streaming format for API Gateway.
The request path reads top to bottom: `invoke` validates; `EventStreamResponse` holds the stream's
lease while `events` sends `start`, opens the upstream stream, relays it, and the lease closes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import aclosing, asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streaming_shared import edge
from streaming_shared.edge import (
    INVOKE_METHOD,
    INVOKE_PATH,
    READY_PATH,
    REQUEST_ID_HEADER,
    SESSION_ID_HEADER,
    STOP_METHOD,
    STOP_PATH,
    USAGE_RECORD_MESSAGE,
    CorsPolicy,
    ProxySettings,
    SettingsError,
    load_settings,
)
from streaming_shared.jsonlog import JsonLogger, log_context, session_hash

from . import contract
from .caller import RequestContext, RequestContextError, check_token_claims, read_request_context, request_id_from
from .contract import ApiError, sse_event
from .cors import CorsMiddleware
from .metering import Usage, parse_usage, usage_record
from .sse import SseDecoder, SseProtocolError
from .tool_events import tool_event_data
from .upstream import (
    DRAIN_MAX_BYTES,
    DRAIN_SECONDS,
    StopAnswerError,
    create_client,
    derive_runtime_session_id,
    map_open_error,
    upstream_error_code,
)
from .upstream_http import Response as UpstreamResponse
from .upstream_http import UpstreamBroken

T = TypeVar("T")

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# Outcomes after which the agent has sent its last event, so the upstream body is about to end.
ANSWER_COMPLETE = frozenset({"done", edge.AGENT_ERROR, edge.CONTENT_BLOCKED, edge.TOOL_CALL_LIMIT})
# Outcomes where the proxy gave up on a stream whose agent turn may still run: it stops that turn.
# A client that leaves is not one: on AWS the proxy never learns of it (Lambda Web Adapter), so the
# turn runs on there, and the local stack must not do better (README, "Stopping a turn").
GAVE_UP = frozenset({edge.STREAM_TIMEOUT, edge.UPSTREAM_TIMEOUT, edge.SHUTTING_DOWN,
                     edge.UPSTREAM_INTERRUPTED, edge.UPSTREAM_PROTOCOL_ERROR, edge.INTERNAL_ERROR})
# Strands' stop reasons are short words ("end_turn", "max_tokens", "guardrail_intervened", ...).
MAX_STOP_REASON_CHARS = 64
# The agent's delta exactly as it writes it (json.dumps, ensure_ascii=False), with its text a valid JSON
# string literal: forwarded as it came, without decoding and encoding it again (README, Performance).
# No lone surrogate escapes (\ud800-\udfff), which the slow path turns into replacement characters.
# Possessive quantifiers (Python 3.11+): runs of plain characters are taken at once and never given
# back, so a long text costs about what json.loads does, and a malformed one never backtracks.
AGENT_DELTA = re.compile(
    r'\{"type": "delta", "text": ("(?:[^"\\\x00-\x1f]++|\\["\\/bfnrt]|\\u(?![dD][89a-fA-F])[0-9a-fA-F]{4})*+")\}'
)

# How long past the stream limit the last event may take to send before the client counts as gone
# (a slow reader still gets it; one that stopped reading does not hold the stream), and how long a
# stream's end then waits for the agent to take the stop of its turn. Together they fit in the 10 s
# of STREAM_LIMIT_HEADROOM_SECONDS that Lambda's init leaves (edge.py).
LAST_SEND_SECONDS = 6.0
STOP_WAIT_SECONDS = 3.0
# How long a stream ended by the server's shutdown may take to send its `error` event, and how long
# the app's shutdown waits for all of them to write their usage records (inside Lambda's 300 ms for
# the runtime after SIGTERM: README, "Facts").
SHUTDOWN_SEND_SECONDS = 0.1
SHUTTING_DOWN_MESSAGE = "The service is restarting; send the prompt again."
SHUTDOWN_REPORT_SECONDS = 0.2


def error_response(error: ApiError, request_id: str) -> JSONResponse:
    headers = {REQUEST_ID_HEADER: request_id, "Cache-Control": "no-store", **error.headers}
    return JSONResponse(error.body(request_id), status_code=error.status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = ApiError(413, edge.PAYLOAD_TOO_LARGE, f"The body may be at most {limit} bytes.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise too_large
        parts.append(part)
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """One upstream event translated for the client: the bytes to send and whether it ends the stream."""

    payload: bytes | None
    terminal: bool
    kind: str
    text: str | None = None
    # For BedrockAgentCoreApp's in-band error: the type the agent reported (only that reaches the logs).
    agent_error_type: str | None = None
    # For `done`: the turn's usage, when the agent reported a well-formed one.
    usage: Usage | None = None
    # For a delta forwarded as it came: its text as a JSON string literal, decoded only if asked for.
    text_literal: str | None = None

    @property
    def answer_text(self) -> str | None:
        return json.loads(self.text_literal) if self.text_literal is not None else self.text



def _stream_error(code: str, message: str) -> bytes:
    return sse_event("error", {"code": code, "message": message})


def delta_event(text_literal: str) -> bytes:
    """The client's `delta` event for a text that is already a valid JSON string literal (AGENT_DELTA)."""
    return b'event: delta\ndata: {"text":' + text_literal.encode() + b"}\n\n"


def translate(payload: str, session_id: str) -> AgentEvent:
    """One upstream event (the text of an SSE `data:` field) as the client's event. Pure."""
    delta = AGENT_DELTA.fullmatch(payload)
    if delta is not None:
        literal = delta.group(1)
        return AgentEvent(delta_event(literal), False, "delta", text_literal=literal)
    return translate_decoded(payload, session_id)


def translate_decoded(payload: str, session_id: str) -> AgentEvent:
    """translate for an event that is not the agent's plain delta (AGENT_DELTA): decoded as JSON. Pure."""
    try:
        value = json.loads(payload)
    except ValueError:
        return AgentEvent(
            _stream_error(edge.UPSTREAM_PROTOCOL_ERROR, "The agent sent an unreadable answer."),
            True,
            edge.UPSTREAM_PROTOCOL_ERROR,
        )
    if isinstance(value, str):  # an entrypoint that yields plain strings
        return AgentEvent(sse_event("delta", {"text": value}), False, "delta", value)
    if not isinstance(value, dict):
        return AgentEvent(None, False, "ignored")
    if "error" in value and "error_type" in value:
        # BedrockAgentCoreApp's in-band error: the entrypoint raised after the 200 went out. Its text
        # may hold internals (or the prompt), so only its type reaches the logs.
        return AgentEvent(
            _stream_error(edge.AGENT_ERROR, "The agent failed while answering."),
            True,
            edge.AGENT_ERROR,
            agent_error_type=str(value.get("error_type"))[:100],
        )
    kind = value.get("type")
    if kind == "delta" and isinstance(value.get("text"), str):
        return AgentEvent(sse_event("delta", {"text": value["text"]}), False, "delta", value["text"])
    if kind == "blocked":
        # The guardrail intervened: an error instead of `done`, worded here, never with any agent text.
        # Its usage (tokens were spent) goes to the usage record only, not to the client.
        return AgentEvent(
            _stream_error(edge.CONTENT_BLOCKED, edge.CONTENT_BLOCKED_MESSAGE), True, edge.CONTENT_BLOCKED,
            usage=parse_usage(value.get("usage")),
        )
    if kind == "tool" and (tool := tool_event_data(value)) is not None:
        return AgentEvent(sse_event("tool", tool), False, "tool")
    if kind == "tool_limit":  # the turn made too many tool calls; metered like `blocked`
        return AgentEvent(_stream_error(edge.TOOL_CALL_LIMIT, edge.TOOL_CALL_LIMIT_MESSAGE), True,
                          edge.TOOL_CALL_LIMIT, usage=parse_usage(value.get("usage")))
    if kind == "done":
        # Only what the contract promises, checked: a malformed field is left out, never forwarded.
        done: dict[str, Any] = {"sessionId": session_id}
        stop_reason = value.get("stopReason")
        if isinstance(stop_reason, str) and 0 < len(stop_reason) <= MAX_STOP_REASON_CHARS:
            done["stopReason"] = stop_reason
        usage = parse_usage(value.get("usage"))
        if usage is not None:
            done["usage"] = usage.as_event()
        return AgentEvent(sse_event("done", done), True, "done", usage=usage)
    if isinstance(value.get("data"), str):  # a raw Strands stream event
        return AgentEvent(sse_event("delta", {"text": value["data"]}), False, "delta", value["data"])
    return AgentEvent(None, False, "ignored")


class StreamSlots:
    """How many streams this process has open, against its limit.

    A slot is given back by the stream or by the task that was opening its AgentCore call (both on
    the event loop; the lock keeps the count exact should either ever run elsewhere).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._lock = threading.Lock()

    @property
    def full(self) -> bool:
        return self.active >= self.limit

    def acquire(self) -> StreamLease:
        with self._lock:
            self.active += 1
        return StreamLease(self)

    def give_back(self) -> None:
        with self._lock:
            self.active -= 1


class StreamLease:
    """One stream's hold on the proxy: its slot in the count and, once opened, the upstream stream.

    `release()` gives both back, exactly once. `EventStreamResponse` calls it in a `finally` around
    everything it does, so no path keeps either: not a response that never starts, a failure while
    sending headers, a client that leaves before the first byte, nor a cancelled task. The call that
    opens the upstream stream runs in a task of its own that may finish after the request is gone:
    while it runs, the slot stays taken (a client that leaves does not end AgentCore's call, so the
    cap must still count it), and it hands its result over with `adopt()`, which gives the slot back
    and refuses the result once the lease is released.
    """

    def __init__(self, slots: StreamSlots) -> None:
        self._slots = slots
        self._lock = threading.Lock()
        self._released = False
        self._opening = False
        # Whether AgentCore answered this stream's call: from then on its agent turn may be running.
        self.opened = False
        # AgentCore answered after the stream had ended; the opening thread dropped the response.
        self._answered_late = False
        # The stream gave up while the call was opening: the opening thread stops the turn.
        self._stop_when_answered = False
        self._response: UpstreamResponse | None = None

    def begin_opening(self) -> bool:
        """Called by the opening thread before it calls AgentCore; False once the stream has ended."""
        with self._lock:
            if self._released:
                return False
            self._opening = True
            return True

    def adopt(self, response: UpstreamResponse | None) -> bool:
        """Called by the opening thread when the call returned (None: it failed). False means nobody
        wants the response any more; the slot the opening held is then given back."""
        with self._lock:
            self._opening = False
            if self._released or self._stop_when_answered:
                if self._released:
                    self._slots.give_back()
                self._answered_late = response is not None
                return False
            self._response = response
            self.opened = response is not None
            return True

    def give_up_turn(self) -> bool:
        """The stream gave up before the answer ended: True when its turn should be stopped now
        (AgentCore has answered its call); while the call is still opening, the opening thread
        stops it once AgentCore answers (`stop_when_answered`)."""
        with self._lock:
            if self.opened or self._answered_late:
                return True
            self._stop_when_answered = self._opening
            return False

    @property
    def stop_when_answered(self) -> bool:
        with self._lock:
            return self._stop_when_answered

    def start_stream(self) -> UpstreamResponse:
        assert self._response is not None
        return self._response

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
            opening = self._opening
        if not opening:  # otherwise adopt() gives the slot back when AgentCore has answered
            self._slots.give_back()
        if self._response is not None:
            self._response.close()  # a no-op once the body was read to its end (its connection is pooled)

    async def drain(self) -> None:
        """After the agent's last event: take the body's end so its connection goes back to the pool.

        The agent's last event has arrived, so the rest of the body (its final empty chunk) is on its
        way. A body that does not end within DRAIN_SECONDS (or DRAIN_MAX_BYTES) is cut instead.
        """
        stream = self._response
        if stream is None or stream.complete:
            return
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                ended = await stream.read_to_end(DRAIN_MAX_BYTES)
        except (TimeoutError, UpstreamBroken):
            ended = False
        if not ended:
            stream.close()


# A stream's outcome until its last event is decided: it stays so only when the client leaves first.
CLIENT_DISCONNECTED = "client_disconnected"


@dataclass
class StreamRecord:
    """The stream's statistics, for the `stream finished` log line; filled in as the stream goes."""

    started: float
    outcome: str = CLIENT_DISCONNECTED  # replaced by the stream's last event unless the client leaves first
    deltas: int = 0
    bytes_sent: int = 0
    first_delta_ms: float | None = None
    # The answer's text, kept only when content logging is on.
    answer: list[str] | None = None
    # The agent's usage for the turn, from its `done` event.
    usage: Usage | None = None

    def count(self, event: AgentEvent) -> None:
        if event.usage is not None:
            self.usage = event.usage
        if event.kind == "delta":
            self.count_delta(event.text, event.text_literal)

    def count_delta(self, text: str | None, text_literal: str | None = None) -> None:
        """One delta sent: its text, or its text as a JSON string literal (decoded only if kept)."""
        self.deltas += 1
        if self.first_delta_ms is None:
            self.first_delta_ms = round((time.monotonic() - self.started) * 1000, 1)
        if self.answer is not None:
            if text_literal is not None:
                text = json.loads(text_literal)
            if text is not None:
                self.answer.append(text)

    @property
    def ended(self) -> bool:
        """Whether the stream's last event is decided (every last event sets the outcome first)."""
        return self.outcome != CLIENT_DISCONNECTED

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "outcome": self.outcome,
            "deltas": self.deltas,
            "bytesSent": self.bytes_sent,
            "firstDeltaMs": self.first_delta_ms,
            "durationMs": round((time.monotonic() - self.started) * 1000, 1),
        }
        if self.answer is not None:
            summary["answer"] = "".join(self.answer)
        return summary


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """A validated request, ready to stream."""

    request_id: str
    # Who is calling (caller.py); with the request id, in every log line of the stream.
    caller: str
    session_id: str
    runtime_session_id: str
    prompt: str
    started: float
    # time.monotonic() at which the stream limit strikes.
    deadline: float
    fields: dict[str, Any]


def response_start(plan: StreamPlan) -> Message:
    headers = {**STREAM_HEADERS, SESSION_ID_HEADER: plan.session_id, REQUEST_ID_HEADER: plan.request_id}
    return {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/event-stream; charset=utf-8")]
        + [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()],
    }


class EventStreamResponse:
    """The 200 event stream, as a plain ASGI callable that owns the stream's lease from start to end.

    Starlette's StreamingResponse runs an async generator's `finally` only once the generator has
    started, so a response that fails before its first chunk (an unsendable header, a client gone
    before the first byte) would keep its slot and its upstream connection for ever. Here the lease
    is taken and released in one `try`/`finally` that every path leaves through.
    """

    def __init__(self, proxy: ProxyApp, plan: StreamPlan) -> None:
        self.proxy = proxy
        self.plan = plan
        self._reported = False
        self._stop_sent = False

    def _report(self, record: StreamRecord) -> None:
        """The stream's closing log lines (`stream finished` and the usage record), exactly once."""
        if self._reported:
            return
        self._reported = True
        self.proxy.unreported.discard(self)
        self.proxy.logger.info("stream finished", **self.plan.fields, **record.summary())
        self.proxy.log_usage(self.plan, record)
        # Written now, not at the loop's next turn (jsonlog's deferred lines): the last event's
        # bytes may leave in this same step, and Lambda may freeze the environment after them.
        self.proxy.logger.flush()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.proxy.unreported.add(self)
        with log_context(requestId=self.plan.request_id, caller=self.plan.caller):
            await self._stream(receive, send)

    async def _stream(self, receive: Receive, send: Send) -> None:
        plan = self.plan
        record = StreamRecord(plan.started, answer=[] if self.proxy.settings.log_content else None)
        lease = self.proxy.slots.acquire()
        try:
            await self._pump(receive, send, lease, record)
        except asyncio.CancelledError:
            # uvicorn cancels the streams still open when its graceful shutdown period ends
            # (SIGTERM; run.sh sets the period). A client that leaves ends the task group's scope
            # instead, so only the server's cancel arrives here. The usage record first: the
            # process may be killed at any moment now.
            record.outcome = edge.SHUTTING_DOWN
            self.proxy.logger.warning("stream ended by shutdown", **plan.fields)
            self._report(record)
            await self._send_last(send, _stream_error(edge.SHUTTING_DOWN, SHUTTING_DOWN_MESSAGE))
            # Not re-raised: the response has ended, and the process is exiting; uvicorn would log
            # the cancel as an application error with a traceback.
        except Exception as error:
            if plan.fields.get("clientNotReading"):
                self.proxy.logger.warning("stream limit reached while the client was not reading", **plan.fields)
            else:
                # The client is gone or the server refused what we sent; nothing more can reach the client.
                record.outcome = "send_failed"
                self.proxy.logger.warning("stream broken", errorType=type(error).__name__, **plan.fields)
        finally:
            lease.release()
            # A stream that never reached its last event: the client left, a send failed or blocked.
            self._report(record)
            await self._stop_turn_left_running(lease, record)

    async def _pump(self, receive: Receive, send: Send, lease: StreamLease, record: StreamRecord) -> None:
        """The events to the client until the last one, or until the client leaves."""
        async with anyio.create_task_group() as group:

            async def stop_when_client_leaves() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(stop_when_client_leaves)
            # One timer for the whole stream, not one per send (the per-chunk path): a client that
            # stops reading blocks `send` once the TCP window and uvicorn's buffer are full, and the
            # stream limit must hold all the same. The relay itself ends at the limit; the last
            # event gets LAST_SEND_SECONDS more to reach a slow reader.
            try:
                async with asyncio.timeout(max(0.0, self.plan.deadline - time.monotonic()) + LAST_SEND_SECONDS):
                    await self._send_events(send, lease, record)
            except TimeoutError:
                record.outcome = edge.STREAM_TIMEOUT
                self.plan.fields["clientNotReading"] = True
                raise
            group.cancel_scope.cancel()

    async def _send_events(self, send: Send, lease: StreamLease, record: StreamRecord) -> None:
        await send(response_start(self.plan))
        events = self.proxy.events(lease, self.plan, record)
        async with aclosing(events):
            async for chunk in events:
                if record.ended:
                    # Lambda may freeze the environment as soon as the response is complete:
                    # the agent's turn is told to stop, and the closing log lines go out,
                    # before the last event's bytes do.
                    await self._stop_turn_left_running(lease, record)
                    self._report(record)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if record.outcome in ANSWER_COMPLETE:
            # Before the response ends, so the client's next request finds the connection
            # back in the pool; the body's last bytes are already on their way.
            await lease.drain()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _send_last(send: Send, event: bytes) -> None:
        """The last event and the body's end, if they can still go out at once (best effort)."""
        with anyio.move_on_after(SHUTDOWN_SEND_SECONDS):
            with suppress(Exception):
                await send({"type": "http.response.body", "body": event, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _stop_turn_left_running(self, lease: StreamLease, record: StreamRecord) -> None:
        """Tell the agent to stop this stream's turn when the proxy gave up on the stream (GAVE_UP).

        On AWS a closed connection to AgentCore does not reach the agent, so without this the turn
        would run (and bill) to its end and hold its session. Once per stream.
        """
        if self._stop_sent or record.outcome not in GAVE_UP:
            return
        self._stop_sent = True
        if not lease.give_up_turn():
            return
        stopping = self.proxy.in_background(self.proxy.stop_abandoned_turn(self.plan))
        try:
            await asyncio.wait_for(asyncio.shield(stopping), STOP_WAIT_SECONDS)
        except TimeoutError:
            pass  # the stop goes on in its task; nothing here waits for it any longer


class AmbiguousFramingGuard:
    """Refuses a request with both Content-Length and Transfer-Encoding, on any route, and closes the
    connection after the answer (RFC 9112 section 6.3: a request smuggling attempt until proven
    otherwise). h11 alone would frame it by Transfer-Encoding and keep the connection open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            names = {name for name, _ in scope["headers"]}
            if b"content-length" in names and b"transfer-encoding" in names:
                request_id = request_id_from(Headers(scope=scope)) or str(uuid.uuid4())
                error = ApiError(
                    400, edge.AMBIGUOUS_FRAMING, "Send Content-Length or Transfer-Encoding, not both.",
                    {"Connection": "close"},  # h11 closes the connection after a response that says so
                )
                await error_response(error, request_id)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ProxyApp:
    def __init__(self, settings: ProxySettings, client: Any, logger: JsonLogger) -> None:
        self.settings = settings
        self.client = client
        self.logger = logger
        self.cors = CorsPolicy(settings.cors_allowed_origins)
        self.slots = StreamSlots(settings.max_concurrent_streams)
        # Calls to AgentCore that outlive the request that made them (an opening, a stop); kept here
        # so that none is collected while it runs.
        self._background: set[asyncio.Task[None]] = set()
        # Streams that have not yet written their usage record (see lifespan).
        self.unreported: set[EventStreamResponse] = set()

    def in_background(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` to its end even when whoever started it stops waiting; its failure is retrieved."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: whoever waited for it has seen it, or nobody needs to

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """At shutdown, give the streams uvicorn has just cancelled the moment they need to send
        their `error` event and write their usage records: uvicorn cancels them when its graceful
        period ends and then only awaits this before the process exits."""
        yield
        with anyio.move_on_after(SHUTDOWN_REPORT_SECONDS):
            while self.unreported:
                await asyncio.sleep(0.01)

    @property
    def active_streams(self) -> int:
        return self.slots.active

    # -- the request path -------------------------------------------------------------------------

    def _request_context(self, request: Request) -> RequestContext | Response:
        """API Gateway's request context (caller, request id), or the 400 that refuses a request whose
        context did not come from API Gateway: never served as the anonymous caller (see caller.py)."""
        try:
            return read_request_context(request.headers, required=self.settings.require_request_context)
        except RequestContextError as problem:
            request_id = str(uuid.uuid4())
            with log_context(requestId=request_id):
                self.logger.warning("request rejected", status=400, code=edge.INVALID_REQUEST, reason=problem.reason)
            return error_response(ApiError(400, edge.INVALID_REQUEST, str(problem)), request_id)

    async def invoke(self, request: Request) -> Response:
        started = time.monotonic()
        context = self._request_context(request)
        if isinstance(context, Response):
            return context
        request_id = context.request_id or str(uuid.uuid4())
        with log_context(requestId=request_id, caller=context.caller):
            return await self._accept(request, request_id, context, started)

    async def _read_request(
        self, request: Request, request_id: str, context: RequestContext, parse: Callable[[bytes], T]
    ) -> T | Response:
        """The JSON body as `parse` reads it, or the response that refuses the request instead."""
        try:
            # First, as on AWS the authorizer runs before anything reads the body.
            check_token_claims(context, self.settings.cognito_app_client_id)
            contract.check_content_type(request.headers.getlist("content-type"))
            return parse(await read_body(request, self.settings.max_body_bytes))
        except ApiError as error:
            return self._rejected(error, request_id)
        except ClientDisconnect:
            self.logger.info("client left before sending its body")
            return Response(status_code=400)

    def _rejected(self, error: ApiError, request_id: str) -> Response:
        self.logger.info("request rejected", status=error.status, code=error.code)
        return error_response(error, request_id)

    async def _accept(self, request: Request, request_id: str, context: RequestContext, started: float) -> Response:
        """Validate the request: a plain JSON refusal, or the event stream that will answer it."""
        caller = context.caller
        max_prompt_chars = self.settings.max_prompt_chars
        invoke_request = await self._read_request(
            request, request_id, context, lambda body: contract.parse_invoke_request(body, max_prompt_chars)
        )
        if isinstance(invoke_request, Response):
            return invoke_request
        if self.slots.full:
            return self._rejected(
                ApiError(
                    429,
                    edge.THROTTLED,
                    "Too many streams are open; retry after a short wait.",
                    {"Retry-After": str(self.settings.retry_after_seconds)},
                ),
                request_id,
            )

        session_id = invoke_request.session_id or str(uuid.uuid4())
        fields: dict[str, Any] = {"sessionHash": session_hash(session_id)}
        if self.settings.log_content:
            fields["prompt"] = invoke_request.prompt
        self.logger.info("invoking agent", promptChars=len(invoke_request.prompt), **fields)
        # No await between the capacity check above and the slot the response takes: the check is exact.
        return EventStreamResponse(
            self,
            StreamPlan(
                request_id=request_id,
                caller=caller,
                session_id=session_id,
                runtime_session_id=derive_runtime_session_id(caller, session_id),
                prompt=invoke_request.prompt,
                started=started,
                deadline=started + self.settings.stream_timeout_seconds,
                fields=fields,
            ),
        )

    async def _open_upstream(self, lease: StreamLease, plan: StreamPlan) -> None:
        if not lease.begin_opening():
            return  # the stream ended before this task started
        response = None
        try:
            response = await self.client.open_stream(plan.runtime_session_id, plan.prompt, plan.request_id)
        finally:
            if not lease.adopt(response) and response is not None:
                # The stream ended while AgentCore was answering: the agent's turn runs on regardless.
                response.close()
                if lease.stop_when_answered:
                    await self.stop_abandoned_turn(plan)

    async def events(self, lease: StreamLease, plan: StreamPlan, record: StreamRecord) -> AsyncIterator[bytes]:
        """The stream's bytes: `start` at once, keep-alives while AgentCore opens, then the relayed events."""
        settings = self.settings
        deadline = plan.deadline
        yield sse_event("start", {"sessionId": plan.session_id, "requestId": plan.request_id})

        # Open the upstream call beside the keep-alives; a slow cold start must not leave the client in
        # silence. Not cancelled when the stream ends first: AgentCore's call runs on, and keeps its slot.
        # Once the stream has ended, adopt() refuses what the opening brings (and frees the slot).
        opening = self.in_background(self._open_upstream(lease, plan))
        while not opening.done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                record.outcome = edge.UPSTREAM_TIMEOUT
                plan.fields["upstreamError"] = "StreamLimitWhileOpening"
                yield _stream_error(edge.UPSTREAM_TIMEOUT, "The agent did not answer in time.")
                return
            await asyncio.wait({opening}, timeout=min(settings.keepalive_seconds, remaining))
            if not opening.done():
                yield contract.KEEPALIVE_COMMENT
        error = opening.exception()
        if error is not None:
            api_error = map_open_error(error)
            record.outcome = api_error.code
            plan.fields["upstreamError"] = upstream_error_code(error)
            self.logger.warning("agent call failed", status=api_error.status, code=api_error.code, **plan.fields)
            data: dict[str, Any] = {"code": api_error.code, "message": api_error.message}
            if api_error.code == edge.THROTTLED:
                data["retryAfterSeconds"] = settings.retry_after_seconds
            yield sse_event("error", data)
            return

        try:
            stream = lease.start_stream()
            async for chunk in self._relay(stream, plan, record, deadline):
                yield chunk
        except Exception as unexpected:  # a bug, or an upstream response of a shape we do not know
            record.outcome = edge.INTERNAL_ERROR
            self.logger.error("unexpected error while streaming", errorType=type(unexpected).__name__, **plan.fields)
            yield _stream_error(edge.INTERNAL_ERROR, "Something went wrong on our side.")

    async def _relay(
        self, stream: UpstreamResponse, plan: StreamPlan, record: StreamRecord, deadline: float
    ) -> AsyncIterator[bytes]:
        """Upstream bytes in, client events out, until the answer ends, breaks or runs out of time."""
        decoder = SseDecoder()
        # One timer for the stream, rescheduled once per quiet period, not armed for every read.
        stream.watch(self.settings.keepalive_seconds, deadline)
        while True:
            # Checked on every pass, not only when waiting: a slow reader can keep bytes
            # always waiting, and the limit must still strike before Lambda's timeout does.
            if time.monotonic() >= deadline:
                record.outcome = edge.STREAM_TIMEOUT
                yield _stream_error(edge.STREAM_TIMEOUT, "The answer took too long and was cut off.")
                return
            try:
                data = await stream.read()
            except UpstreamBroken as broken:
                yield self._finish(str(broken.args[0]), decoder, plan, record)
                return
            if data is None:
                yield contract.KEEPALIVE_COMMENT  # silence: keep API Gateway and proxies from idling out
                continue
            if not data:
                yield self._finish(None, decoder, plan, record)
                return
            try:
                payloads = decoder.feed(data)
                unreadable = False
            except SseProtocolError as error:
                # The events before the fault go out first, as they would have had they come apart.
                payloads, unreadable = error.completed, True
            chunk, terminal = self._forward(payloads, plan, record)
            if unreadable and not terminal:
                record.outcome = edge.UPSTREAM_PROTOCOL_ERROR
                chunk += _stream_error(edge.UPSTREAM_PROTOCOL_ERROR, "The agent sent an unreadable answer.")
                terminal = True
            if chunk:
                yield chunk
            if terminal:
                return

    def _finish(self, failure: str | None, decoder: SseDecoder, plan: StreamPlan, record: StreamRecord) -> bytes:
        """The last event when the upstream body ends (or breaks, `failure`) before the agent's own last event."""
        if failure is not None:
            record.outcome = edge.UPSTREAM_INTERRUPTED
            plan.fields["upstreamError"] = failure
            return _stream_error(edge.UPSTREAM_INTERRUPTED, "The agent's answer was interrupted.")
        if decoder.has_partial_event:
            record.outcome = edge.UPSTREAM_PROTOCOL_ERROR
            return _stream_error(edge.UPSTREAM_PROTOCOL_ERROR, "The agent's answer was cut short.")
        # The agent ended its answer without a final event; the answer is complete.
        record.outcome = "done"
        return sse_event("done", {"sessionId": plan.session_id})

    def _forward(self, payloads: Sequence[str], plan: StreamPlan, record: StreamRecord) -> tuple[bytes, bool]:
        """The client's bytes for a batch of agent events, and whether one of them ended the stream."""
        out: list[bytes] = []
        terminal = False
        for payload in payloads:
            # The agent's plain delta, by far the most frequent event: translate's first case, inline.
            delta = AGENT_DELTA.fullmatch(payload)
            if delta is not None:
                literal = delta.group(1)
                out.append(delta_event(literal))
                record.count_delta(None, literal)
                continue
            event = translate_decoded(payload, plan.session_id)
            record.count(event)
            if event.agent_error_type is not None:
                plan.fields["agentErrorType"] = event.agent_error_type
            if event.payload is not None:
                out.append(event.payload)
            if event.terminal:
                record.outcome = event.kind
                terminal = True
                break
        chunk = b"".join(out)
        record.bytes_sent += len(chunk)
        return chunk, terminal

    def log_usage(self, plan: StreamPlan, record: StreamRecord) -> None:
        """The turn's one usage record (and EMF metrics): every stream that started logs exactly one."""
        fields = usage_record(
            usage=record.usage,
            stream_outcome=record.outcome,
            duration_ms=(time.monotonic() - record.started) * 1000,
            session_hash=plan.fields["sessionHash"],
            namespace=self.settings.metrics_namespace,
            stack=self.settings.metrics_stack,
            timestamp_ms=int(time.time() * 1000),
        )
        self.logger.info(USAGE_RECORD_MESSAGE, **fields)

    # -- stopping a turn ---------------------------------------------------------------------------

    async def stop_abandoned_turn(self, plan: StreamPlan) -> None:
        """Stop the agent's turn of a stream that ended before its answer did.

        Named by its turn id, so a newer turn of the session (the client may already have sent one)
        is never stopped instead. A failure is logged; the agent's turn time limit is the backstop.
        """
        with log_context(requestId=plan.request_id, caller=plan.caller):
            try:
                stopped = await self.client.stop_turn(plan.runtime_session_id, plan.request_id)
            except Exception as error:
                self.logger.warning("abandoned turn not stopped", stopError=upstream_error_code(error), **plan.fields)
                return
            self.logger.info("abandoned turn stopped", stopped=stopped, **plan.fields)

    async def stop(self, request: Request) -> Response:
        """POST /stop: end the caller's running turn in one of its sessions, through the agent.

        The session id is bound to the caller as for /invoke, so another caller's session id names a
        runtime session of this caller's own, where no turn runs: {"stopped": false}, nothing revealed.
        """
        context = self._request_context(request)
        if isinstance(context, Response):
            return context
        request_id = context.request_id or str(uuid.uuid4())
        with log_context(requestId=request_id, caller=context.caller):
            session_id = await self._read_request(request, request_id, context, contract.parse_stop_request)
            if isinstance(session_id, Response):
                return session_id
            fields = {"sessionHash": session_hash(session_id)}
            runtime_session_id = derive_runtime_session_id(context.caller, session_id)
            try:
                stopped = await self.client.stop_turn(runtime_session_id)
            except Exception as error:  # AgentCore refused or failed, or the agent's answer was not one
                api_error = (
                    ApiError(502, edge.UPSTREAM_ERROR, "The agent could not be reached.")
                    if isinstance(error, StopAnswerError) else map_open_error(error)
                )
                if api_error.code == edge.THROTTLED:
                    api_error.headers["Retry-After"] = str(self.settings.retry_after_seconds)
                self.logger.warning("stop failed", status=api_error.status, code=api_error.code,
                                    upstreamError=upstream_error_code(error), **fields)
                return error_response(api_error, request_id)
            self.logger.info("stop requested", stopped=stopped, **fields)
            return JSONResponse({"stopped": stopped}, headers={REQUEST_ID_HEADER: request_id, "Cache-Control": "no-store"})

    # -- everything else ----------------------------------------------------------------------------

    async def ready(self, request: Request) -> Response:
        # Lambda Web Adapter polls this until the app is up; it never touches the agent. API Gateway
        # routes only POST /invoke, so only the adapter (and local tests) can read the stream count.
        return JSONResponse({"status": "ready", "activeStreams": self.slots.active})

    async def http_error(self, request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        request_id = request_id_from(request.headers) or str(uuid.uuid4())
        if error.status_code == 405:
            allow = (error.headers or {}).get("Allow", "POST")
            api_error = ApiError(405, edge.METHOD_NOT_ALLOWED, f"Use one of: {allow}.", {"Allow": allow})
        elif error.status_code == 404:
            api_error = ApiError(404, edge.NOT_FOUND, "No such route. The API serves POST /invoke and POST /stop.")
        else:
            api_error = ApiError(error.status_code, edge.INVALID_BODY, "The request could not be read.")
        return error_response(api_error, request_id)

    async def unexpected_error(self, request: Request, error: Exception) -> Response:
        request_id = request_id_from(request.headers) or str(uuid.uuid4())
        with log_context(requestId=request_id):
            self.logger.error("unexpected error", errorType=type(error).__name__)
        response = error_response(ApiError(500, edge.INTERNAL_ERROR, "Something went wrong on our side."), request_id)
        # Starlette answers this outside all middleware, so CorsMiddleware never sees this response.
        response.headers.update(self.cors.response_headers(request.headers.get("origin")))
        return response


def create_app(settings: ProxySettings, client: Any = None, logger: JsonLogger | None = None) -> Starlette:
    logger = logger or JsonLogger("proxy", settings.log_level)
    proxy = ProxyApp(settings, client if client is not None else create_client(settings), logger)
    app = Starlette(
        routes=[
            Route(INVOKE_PATH, proxy.invoke, methods=[INVOKE_METHOD]),
            Route(STOP_PATH, proxy.stop, methods=[STOP_METHOD]),
            Route(READY_PATH, proxy.ready, methods=["GET"]),
        ],
        exception_handlers={HTTPException: proxy.http_error, Exception: proxy.unexpected_error},
        lifespan=proxy.lifespan,
        # Only with origins configured: otherwise OPTIONS /invoke stays a 405 like any other method.
        # CORS outermost, so that even a refusal of the framing carries its headers.
        middleware=[
            *([Middleware(CorsMiddleware, policy=proxy.cors)] if proxy.cors.enabled else []),
            Middleware(AmbiguousFramingGuard),
        ],
    )
    # POST /invoke/ is a 404 like any other path, never a redirect to a URL built from the client's Host.
    app.router.redirect_slashes = False
    app.state.proxy = proxy
    return app


def create_app_from_environment() -> Starlette:
    """uvicorn's factory: settings from the environment, refused with a clear message when wrong."""
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        JsonLogger("proxy").error("invalid configuration", detail=str(error))
        raise SystemExit(f"proxy configuration error: {error}") from None
    return create_app(settings)
