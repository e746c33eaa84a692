"""The streaming proxy: POST /invoke -> AgentCore InvokeAgentRuntime -> SSE events to the client.

Run by `run.sh` under uvicorn (`--factory streaming_proxy.app:create_app_from_environment`);
Lambda Web Adapter turns the streamed HTTP response into Lambda's streaming format for API Gateway.
The request path reads top to bottom in `invoke`: validate, open the upstream stream, relay, close.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import contract
from .caller import read_request_context
from .contract import ApiError, sse_event
from .cors import CorsMiddleware, CorsPolicy
from .logs import JsonLogger
from .settings import ProxySettings, SettingsError, load_settings
from .sse import SseDecoder, SseProtocolError
from .upstream import (
    Finished,
    UpstreamStream,
    create_client,
    derive_runtime_session_id,
    map_open_error,
    upstream_error_code,
    upstream_payload,
)

READY_PATH = "/_ready"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def error_response(error: ApiError, request_id: str) -> JSONResponse:
    headers = {"X-Request-Id": request_id, "Cache-Control": "no-store", **error.headers}
    return JSONResponse(error.body(request_id), status_code=error.status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = ApiError(413, contract.PAYLOAD_TOO_LARGE, f"The body may be at most {limit} bytes.")
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


class StreamingProxy:
    def __init__(self, settings: ProxySettings, client: Any, logger: JsonLogger) -> None:
        self.settings = settings
        self.client = client
        self.logger = logger
        self.cors = CorsPolicy(settings.cors_allowed_origins)
        self.active_streams = 0
        # Threads that open upstream calls; anyio's default of 40 would queue streams behind each other.
        self.open_limiter = anyio.CapacityLimiter(settings.max_concurrent_streams)

    # -- the request path -------------------------------------------------------------------------

    async def invoke(self, request: Request) -> Response:
        started = time.monotonic()
        context = read_request_context(request.headers)
        request_id = context.request_id or str(uuid.uuid4())
        try:
            contract.check_content_type(request.headers.get("content-type"))
            body = await read_body(request, self.settings.max_body_bytes)
            invoke_request = contract.parse_invoke_request(body, self.settings.max_prompt_chars)
            if self.active_streams >= self.settings.max_concurrent_streams:
                raise ApiError(
                    429,
                    contract.THROTTLED,
                    "Too many streams are open; retry after a short wait.",
                    {"Retry-After": str(self.settings.retry_after_seconds)},
                )
        except ApiError as error:
            self.logger.info(
                "request rejected", requestId=request_id, caller=context.caller, status=error.status, code=error.code
            )
            return error_response(error, request_id)
        except ClientDisconnect:
            self.logger.info("client left before sending its body", requestId=request_id)
            return Response(status_code=400)

        session_id = invoke_request.session_id or str(uuid.uuid4())
        runtime_session_id = derive_runtime_session_id(context.caller, session_id)
        fields = {"requestId": request_id, "caller": context.caller, "sessionId": session_id}
        if self.settings.log_content:
            fields["prompt"] = invoke_request.prompt
        self.logger.info("invoking agent", promptChars=len(invoke_request.prompt), **fields)

        self.active_streams += 1
        try:
            response = await anyio.to_thread.run_sync(
                self._open_upstream, runtime_session_id, invoke_request.prompt, limiter=self.open_limiter
            )
        except Exception as error:
            self.active_streams -= 1
            api_error = map_open_error(error)
            if api_error.status == 429:
                api_error.headers["Retry-After"] = str(self.settings.retry_after_seconds)
            self.logger.warning(
                "agent call failed before streaming",
                upstreamError=upstream_error_code(error),
                status=api_error.status,
                code=api_error.code,
                **fields,
            )
            return error_response(api_error, request_id)

        stream = UpstreamStream(response, asyncio.get_running_loop())
        stream.start()
        headers = {**STREAM_HEADERS, "X-Session-Id": session_id, "X-Request-Id": request_id}
        return StreamingResponse(
            self._relay(stream, session_id, request_id, started, fields),
            media_type="text/event-stream",
            headers=headers,
        )

    def _open_upstream(self, runtime_session_id: str, prompt: str) -> dict[str, Any]:
        return self.client.invoke_agent_runtime(
            agentRuntimeArn=self.settings.runtime_arn,
            qualifier=self.settings.qualifier,
            runtimeSessionId=runtime_session_id,
            contentType="application/json",
            accept="text/event-stream",
            payload=upstream_payload(prompt),
        )

    async def _relay(
        self, stream: UpstreamStream, session_id: str, request_id: str, started: float, fields: dict[str, Any]
    ) -> AsyncIterator[bytes]:
        settings = self.settings
        decoder = SseDecoder()
        deadline = started + settings.stream_timeout_seconds
        outcome = "client_disconnected"  # replaced below unless the client leaves first
        deltas = 0
        bytes_sent = 0
        first_delta_ms: float | None = None
        answer: list[str] | None = [] if settings.log_content else None
        try:
            yield sse_event("start", {"sessionId": session_id, "requestId": request_id})
            while True:
                # Checked on every pass, not only when waiting: a slow reader can keep chunks
                # always waiting, and the limit must still strike before Lambda's timeout does.
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    outcome = contract.STREAM_TIMEOUT
                    yield self._stream_error(contract.STREAM_TIMEOUT, "The answer took too long and was cut off.")
                    return
                item = stream.ready_item()
                if item is None:
                    try:
                        async with asyncio.timeout(min(settings.keepalive_seconds, remaining)):
                            item = await stream.next_item()
                    except TimeoutError:
                        yield contract.KEEPALIVE_COMMENT  # silence: keep API Gateway and proxies from idling out
                        continue

                if isinstance(item, Finished):
                    if item.failure is not None:
                        outcome = contract.UPSTREAM_INTERRUPTED
                        fields["upstreamError"] = item.failure
                        yield self._stream_error(contract.UPSTREAM_INTERRUPTED, "The agent's answer was interrupted.")
                    elif decoder.has_partial_event:
                        outcome = contract.UPSTREAM_PROTOCOL_ERROR
                        yield self._stream_error(contract.UPSTREAM_PROTOCOL_ERROR, "The agent's answer was cut short.")
                    else:
                        # The agent ended its answer without a final event; the answer is complete.
                        outcome = "done"
                        yield sse_event("done", {"sessionId": session_id})
                    return

                try:
                    payloads = decoder.feed(item.data)
                except SseProtocolError:
                    outcome = contract.UPSTREAM_PROTOCOL_ERROR
                    yield self._stream_error(contract.UPSTREAM_PROTOCOL_ERROR, "The agent sent an unreadable answer.")
                    return
                if not payloads:
                    continue
                out: list[bytes] = []
                terminal = False
                for payload in payloads:
                    event = self._translate(payload, session_id, fields)
                    if event.kind == "delta":
                        deltas += 1
                        if first_delta_ms is None:
                            first_delta_ms = round((time.monotonic() - started) * 1000, 1)
                        if answer is not None and event.text is not None:
                            answer.append(event.text)
                    if event.payload is not None:
                        out.append(event.payload)
                    if event.terminal:
                        outcome = event.kind
                        terminal = True
                        break
                if out:
                    chunk = b"".join(out)
                    bytes_sent += len(chunk)
                    yield chunk
                if terminal:
                    return
        finally:
            complete = outcome in ("done", contract.AGENT_ERROR)
            if not complete:
                stream.close()
            self.active_streams -= 1
            summary: dict[str, Any] = {
                "outcome": outcome,
                "deltas": deltas,
                "bytesSent": bytes_sent,
                "firstDeltaMs": first_delta_ms,
                "durationMs": round((time.monotonic() - started) * 1000, 1),
            }
            if answer is not None:
                summary["answer"] = "".join(answer)
            self.logger.info("stream finished", **fields, **summary)
            if complete:
                await stream.drain()  # the answer is complete: keep the connection for the next stream

    def _stream_error(self, code: str, message: str) -> bytes:
        return sse_event("error", {"code": code, "message": message})

    def _translate(self, payload: str, session_id: str, fields: dict[str, Any]) -> AgentEvent:
        try:
            value = json.loads(payload)
        except ValueError:
            return AgentEvent(
                self._stream_error(contract.UPSTREAM_PROTOCOL_ERROR, "The agent sent an unreadable answer."),
                True,
                contract.UPSTREAM_PROTOCOL_ERROR,
            )
        if isinstance(value, str):  # an entrypoint that yields plain strings
            return AgentEvent(sse_event("delta", {"text": value}), False, "delta", value)
        if not isinstance(value, dict):
            return AgentEvent(None, False, "ignored")
        if "error" in value and "error_type" in value:
            # BedrockAgentCoreApp's in-band error: the entrypoint raised after the 200 went out. Its text
            # may hold internals (or the prompt), so only its type reaches the logs.
            fields["agentErrorType"] = str(value.get("error_type"))[:100]
            return AgentEvent(
                self._stream_error(contract.AGENT_ERROR, "The agent failed while answering."),
                True,
                contract.AGENT_ERROR,
            )
        kind = value.get("type")
        if kind == "delta" and isinstance(value.get("text"), str):
            return AgentEvent(sse_event("delta", {"text": value["text"]}), False, "delta", value["text"])
        if kind == "done":
            done: dict[str, Any] = {"sessionId": session_id}
            for key in ("stopReason", "usage"):
                if key in value:
                    done[key] = value[key]
            return AgentEvent(sse_event("done", done), True, "done")
        if isinstance(value.get("data"), str):  # a raw Strands stream event
            return AgentEvent(sse_event("delta", {"text": value["data"]}), False, "delta", value["data"])
        return AgentEvent(None, False, "ignored")

    # -- everything else ----------------------------------------------------------------------------

    async def ready(self, request: Request) -> Response:
        # Lambda Web Adapter polls this until the app is up; it never touches the agent.
        return JSONResponse({"status": "ready"})

    async def http_error(self, request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        request_id = read_request_context(request.headers).request_id or str(uuid.uuid4())
        if error.status_code == 405:
            allow = (error.headers or {}).get("Allow", "POST")
            api_error = ApiError(405, contract.METHOD_NOT_ALLOWED, f"Use one of: {allow}.", {"Allow": allow})
        elif error.status_code == 404:
            api_error = ApiError(404, contract.NOT_FOUND, "No such route. The API serves POST /invoke.")
        else:
            api_error = ApiError(error.status_code, contract.INVALID_BODY, "The request could not be read.")
        return error_response(api_error, request_id)

    async def unexpected_error(self, request: Request, error: Exception) -> Response:
        request_id = read_request_context(request.headers).request_id or str(uuid.uuid4())
        self.logger.error("unexpected error", requestId=request_id, errorType=type(error).__name__)
        response = error_response(ApiError(500, contract.INTERNAL_ERROR, "Something went wrong on our side."), request_id)
        # Starlette answers this outside all middleware, so CorsMiddleware never sees this response.
        response.headers.update(self.cors.response_headers(request.headers.get("origin")))
        return response


def create_app(settings: ProxySettings, client: Any = None, logger: JsonLogger | None = None) -> Starlette:
    logger = logger or JsonLogger("proxy", settings.log_level)
    proxy = StreamingProxy(settings, client if client is not None else create_client(settings), logger)
    app = Starlette(
        routes=[
            Route("/invoke", proxy.invoke, methods=["POST"]),
            Route(READY_PATH, proxy.ready, methods=["GET"]),
        ],
        exception_handlers={HTTPException: proxy.http_error, Exception: proxy.unexpected_error},
        # Only with origins configured: otherwise OPTIONS /invoke stays a 405 like any other method.
        middleware=[Middleware(CorsMiddleware, policy=proxy.cors)] if proxy.cors.enabled else [],
    )
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
