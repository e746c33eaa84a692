"""A stand-in for the Bedrock AgentCore data plane (InvokeAgentRuntime only).

To botocore's real ``bedrock-agentcore`` client it looks like AWS: same path, query, headers,
status codes and restJson error convention. Instead of a managed runtime it forwards each
invocation to a local agent's ``POST /invocations`` and relays the answer byte for byte as it
arrives. Tests observe it through ``/_standin/events`` and break it on purpose through
``/_standin/faults``.

    python -m local.standin --port 9000 --agent-url http://127.0.0.1:8080 \
        --runtime-arn arn:aws:bedrock-agentcore:us-east-1:000000000000:runtime/local_agent-0000000000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import httpx
from botocore.loaders import Loader
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from streaming_shared.jsonlog import log_fields, write_json_lines

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
AGENT_REQUEST_ID_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id"
# Headers a real runtime passes on to the agent container; everything else stays at the edge.
FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "X-Amzn-Trace-Id", "traceparent", "tracestate", "baggage")
SESSION_ID_MIN_CHARS = 33
SESSION_ID_MAX_CHARS = 256
# Only the shape of a SigV4 header is checked: there are no real credentials to verify locally,
# but a request that was not signed for this service is still refused like AWS would.
SIGV4_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[^/\s]+/\d{8}/[a-z0-9-]+/bedrock-agentcore/aws4_request,"
    r"\s*SignedHeaders=[a-z0-9;-]+,\s*Signature=[0-9a-f]{64}"
)

SLOW_HEADERS = "slow-headers"
DROP_MID_STREAM = "drop-mid-stream"
STALL_MID_STREAM = "stall-mid-stream"
MALFORMED_SSE = "malformed-sse"
BEHAVIOUR_FAULTS = (SLOW_HEADERS, DROP_MID_STREAM, STALL_MID_STREAM, MALFORMED_SSE)
MALFORMED_SSE_BODY = b"data: {this is not json\n\n\x00\xfe\xff garbage without a field name\r\ndata: [1, 2\n\n"

logger = logging.getLogger("local.standin")


@lru_cache(maxsize=1)
def invoke_error_statuses() -> dict[str, int]:
    """AWS error code -> HTTP status, read from botocore's own service model so they cannot drift."""
    model = Loader().load_service_model("bedrock-agentcore", "service-2")
    operation = model["operations"]["InvokeAgentRuntime"]
    return {
        error["shape"]: model["shapes"][error["shape"]]["error"]["httpStatusCode"]
        for error in operation["errors"]
    }


def aws_error(code: str, message: str, request_id: str) -> JSONResponse:
    """An error the way restJson services send it: the code in x-amzn-ErrorType, a JSON message."""
    body: dict[str, Any] = {"message": message}
    if code == "ValidationException":
        body["reason"] = "FieldValidationFailed"
    return JSONResponse(
        body,
        status_code=invoke_error_statuses()[code],
        headers={"x-amzn-ErrorType": code, "x-amzn-RequestId": request_id},
    )


@dataclass
class Fault:
    name: str
    seconds: float = 5.0
    after_bytes: int = 0


@dataclass
class FaultQueue:
    """Faults queued by tests; each entry applies to its next ``remaining`` invocations."""

    entries: list[tuple[Fault, int]] = field(default_factory=list)

    def add(self, fault: Fault, count: int) -> None:
        self.entries.append((fault, count))

    def take(self) -> Fault | None:
        if not self.entries:
            return None
        fault, remaining = self.entries[0]
        if remaining <= 1:
            self.entries.pop(0)
        else:
            self.entries[0] = (fault, remaining - 1)
        return fault

    def clear(self) -> None:
        self.entries.clear()


@dataclass
class EventLog:
    events: list[dict[str, Any]] = field(default_factory=list)

    def record(self, kind: str, **fields: Any) -> None:
        self.events.append({"kind": kind, "at": time.time(), **fields})

    def clear(self) -> None:
        self.events.clear()


def log_invocation(**fields: Any) -> None:
    # One line per invocation; identifiers and sizes only, never the payload or the answer.
    log_fields(logger, logging.INFO, "invocation", **fields)


def parse_fault(body: Any) -> tuple[Fault, int]:
    if not isinstance(body, dict) or not isinstance(body.get("fault"), str):
        raise ValueError('expected {"fault": NAME, "count"?: N, "seconds"?: S, "afterBytes"?: B}')
    name = body["fault"]
    if name not in BEHAVIOUR_FAULTS and name not in invoke_error_statuses():
        known = sorted([*BEHAVIOUR_FAULTS, *invoke_error_statuses()])
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(known)}")
    count = body.get("count", 1)
    seconds = body.get("seconds", 5.0)
    after_bytes = body.get("afterBytes", 0)
    if not isinstance(count, int) or count < 1:
        raise ValueError("count must be an integer >= 1")
    if not isinstance(seconds, (int, float)) or seconds < 0:
        raise ValueError("seconds must be a number >= 0")
    if not isinstance(after_bytes, int) or after_bytes < 0:
        raise ValueError("afterBytes must be an integer >= 0")
    return Fault(name=name, seconds=float(seconds), after_bytes=after_bytes), count


async def wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class RelayResponse(Response):
    """Relays the agent's open streaming response chunk by chunk, honouring mid-stream faults.

    A caller that leaves does not end the agent's request: AgentCore Runtime does not pass a
    client's abort on to the container, so the answer is read to its end and dropped (a turn is
    stopped by a stop request on its session instead). Written as a raw ASGI response because it
    must notice the caller leaving while the agent is silent, and must be able to end the
    connection without finishing the chunked body (the drop-mid-stream fault).
    """

    def __init__(
        self,
        agent_response: httpx.Response,
        headers: dict[str, str],
        fault: Fault | None,
        on_finish: Callable[[str, int], None],
    ) -> None:
        # Not Response.__init__: it would declare Content-Length: 0 for the empty initial body.
        self.status_code = 200
        self.background = None
        self.init_headers(headers)
        self.agent_response = agent_response
        self.fault = fault
        self.on_finish = on_finish
        self.bytes_sent = 0
        self.caller_gone = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.ensure_future(self.watch_caller(receive))
        try:
            outcome = await self.relay(send)
        finally:
            watcher.cancel()
            await self.agent_response.aclose()
        if self.caller_gone.is_set() and outcome == "completed":
            outcome = "client_disconnected"  # the caller left; the agent's answer still ran to its end
        self.on_finish(outcome, self.bytes_sent)

    async def watch_caller(self, receive: Receive) -> None:
        await wait_for_disconnect(receive)
        self.caller_gone.set()

    async def send_to_caller(self, send: Send, message: Message) -> None:
        if self.caller_gone.is_set():
            return
        try:
            await send(message)
        except OSError:  # ASGI spec 2.4 servers raise on send after a disconnect
            self.caller_gone.set()

    async def relay(self, send: Send) -> str:
        await self.send_to_caller(send, {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        fault = self.fault if self.fault and self.fault.name in (DROP_MID_STREAM, STALL_MID_STREAM) else None
        try:
            async for chunk in self.agent_response.aiter_raw():
                if fault is not None and self.bytes_sent + len(chunk) >= fault.after_bytes:
                    split = fault.after_bytes - self.bytes_sent
                    head, chunk = chunk[:split], chunk[split:]
                    await self.send_body(send, head)
                    if fault.name == DROP_MID_STREAM:
                        # Returning without the final empty body makes the server close the
                        # connection with the chunked body unfinished, as a broken network would.
                        return "dropped"
                    await asyncio.sleep(fault.seconds)
                    fault = None
                await self.send_body(send, chunk)
        except httpx.HTTPError:
            # The agent broke off mid-answer: leave the body unfinished so the caller sees a broken stream.
            return "agent_failed"
        if fault is not None and fault.name == DROP_MID_STREAM:
            return "dropped"  # the agent said less than afterBytes; still never finish the body
        await self.send_to_caller(send, {"type": "http.response.body", "body": b"", "more_body": False})
        return "completed"

    async def send_body(self, send: Send, chunk: bytes) -> None:
        if chunk and not self.caller_gone.is_set():
            await self.send_to_caller(send, {"type": "http.response.body", "body": chunk, "more_body": True})
            self.bytes_sent += len(chunk)


@dataclass
class Invocation:
    """One call to InvokeAgentRuntime, for its closing log line."""

    session_id: str | None
    qualifier: str | None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    def finish(self, outcome: str, status: int, bytes_sent: int = 0) -> None:
        log_invocation(
            requestId=self.request_id,
            runtimeSessionId=self.session_id,
            qualifier=self.qualifier,
            outcome=outcome,
            status=status,
            bytesSent=bytes_sent,
            durationMs=round((time.monotonic() - self.started) * 1000),
        )


@dataclass
class StandIn:
    agent_url: str
    runtime_arn: str
    faults: FaultQueue = field(default_factory=FaultQueue)
    events: EventLog = field(default_factory=EventLog)
    http: httpx.AsyncClient | None = None

    def agent_client(self) -> httpx.AsyncClient:
        if self.http is None:
            # No read timeout: an agent may think for minutes; the proxy owns the stream limit.
            # trust_env=False: a developer's HTTP(S)_PROXY must not capture loopback traffic.
            # No connection cap: httpx's default of 100 made stream 101 wait for a free connection
            # and fail after the 10 s pool timeout, while AgentCore runs each session on its own and
            # the proxy already bounds how many streams are open (PROXY_MAX_CONCURRENT_STREAMS).
            self.http = httpx.AsyncClient(
                timeout=httpx.Timeout(10.0, read=None),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=100),
                trust_env=False,
            )
        return self.http

    async def invoke(self, request: Request) -> Response:
        call = Invocation(request.headers.get(SESSION_HEADER), request.query_params.get("qualifier"))
        refusal = self.check(request, call)
        if refusal is not None:
            return refusal
        payload = await request.body()
        self.events.record(
            "invocation",
            requestId=call.request_id,
            runtimeSessionId=call.session_id,
            qualifier=call.qualifier,
            contentType=request.headers.get("content-type"),
            payloadBytes=len(payload),
            # The caller's TCP source port: one port for many calls means the caller reused its connection.
            clientPort=request.client.port if request.client else None,
        )
        fault = self.faults.take()
        if fault is not None:
            self.events.record("fault", requestId=call.request_id, runtimeSessionId=call.session_id, fault=fault.name)
            injected = await self.inject(fault, call)
            if injected is not None:
                return injected
        return await self.forward(request, payload, call, fault)

    def check(self, request: Request, call: Invocation) -> Response | None:
        """AWS's refusals, in AWS's order: it authenticates before it looks at the resource."""
        if not SIGV4_AUTHORIZATION.fullmatch(request.headers.get("authorization", "")):
            return self.refuse(call, "AccessDeniedException", "Missing or malformed SigV4 Authorization header.")
        if request.path_params["agent_runtime_arn"] != self.runtime_arn:
            return self.refuse(call, "ResourceNotFoundException", "No agent runtime with this ARN exists.")
        if call.session_id is None or not SESSION_ID_MIN_CHARS <= len(call.session_id) <= SESSION_ID_MAX_CHARS:
            return self.refuse(
                call, "ValidationException",
                f"{SESSION_HEADER} must be {SESSION_ID_MIN_CHARS} to {SESSION_ID_MAX_CHARS} characters.",
            )
        return None

    def refuse(self, call: Invocation, code: str, message: str) -> Response:
        self.events.record("rejected", requestId=call.request_id, code=code)
        call.finish(code, invoke_error_statuses()[code])
        return aws_error(code, message, call.request_id)

    async def inject(self, fault: Fault, call: Invocation) -> Response | None:
        """The response a fault replaces the agent's with, or None when the fault acts later."""
        if fault.name in invoke_error_statuses():
            call.finish(fault.name, invoke_error_statuses()[fault.name])
            return aws_error(fault.name, f"Injected {fault.name}.", call.request_id)
        if fault.name == MALFORMED_SSE:
            call.finish(MALFORMED_SSE, 200, len(MALFORMED_SSE_BODY))
            headers = self.response_headers(call.request_id, call.session_id or "", "text/event-stream")
            return Response(MALFORMED_SSE_BODY, headers=headers)
        if fault.name == SLOW_HEADERS:
            await asyncio.sleep(fault.seconds)
        return None

    async def forward(self, request: Request, payload: bytes, call: Invocation, fault: Fault | None) -> Response:
        """Relay the invocation to the agent and its answer back, as the data plane does."""
        request_id, session_id = call.request_id, call.session_id or ""
        forwarded = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
        forwarded[SESSION_HEADER] = session_id
        forwarded[AGENT_REQUEST_ID_HEADER] = request_id
        client = self.agent_client()
        try:
            agent_request = client.build_request("POST", f"{self.agent_url}/invocations", content=payload, headers=forwarded)
            agent_response = await client.send(agent_request, stream=True)
        except httpx.HTTPError as error:
            self.events.record("agent_unreachable", requestId=request_id, error=type(error).__name__)
            call.finish("agent_unreachable", 424)
            return aws_error("RuntimeClientError", "Failed to reach the runtime.", request_id)
        if agent_response.status_code >= 400:
            await agent_response.aclose()
            self.events.record("agent_error", requestId=request_id, status=agent_response.status_code)
            call.finish("agent_error", 424)
            # 424 RuntimeClientError is the service model's error for a runtime that fails the call.
            return aws_error(
                "RuntimeClientError",
                f"Received error ({agent_response.status_code}) from runtime. Please check your CloudWatch logs for more information.",
                request_id,
            )

        def relay_finished(outcome: str, bytes_sent: int) -> None:
            # outcome: completed, client_disconnected (the caller left; the agent's answer still ran to
            # its end), dropped (the fault) or agent_failed
            self.events.record(outcome, requestId=request_id, runtimeSessionId=session_id, bytesSent=bytes_sent)
            call.finish(outcome, 200, bytes_sent)

        content_type = agent_response.headers.get("content-type", "application/octet-stream")
        return RelayResponse(agent_response, self.response_headers(request_id, session_id, content_type), fault, relay_finished)

    @staticmethod
    def response_headers(request_id: str, session_id: str, content_type: str) -> dict[str, str]:
        return {"content-type": content_type, SESSION_HEADER: session_id, "x-amzn-RequestId": request_id}

    async def list_events(self, request: Request) -> Response:
        return JSONResponse(self.events.events)

    async def clear_events(self, request: Request) -> Response:
        self.events.clear()
        return Response(status_code=204)

    async def add_fault(self, request: Request) -> Response:
        try:
            fault, count = parse_fault(json.loads(await request.body()))
        except ValueError as error:  # json.JSONDecodeError is a ValueError too
            return JSONResponse({"message": str(error)}, status_code=400)
        self.faults.add(fault, count)
        return JSONResponse({"queued": fault.name, "count": count}, status_code=201)

    async def clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return Response(status_code=204)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()


def create_app(agent_url: str, runtime_arn: str) -> Starlette:
    standin = StandIn(agent_url=agent_url.rstrip("/"), runtime_arn=runtime_arn)
    routes = [
        # uvicorn hands Starlette the percent-decoded path, so the ARN's "/" needs the path converter.
        Route("/runtimes/{agent_runtime_arn:path}/invocations", standin.invoke, methods=["POST"]),
        Route("/_standin/events", standin.list_events, methods=["GET"]),
        Route("/_standin/events", standin.clear_events, methods=["DELETE"]),
        Route("/_standin/faults", standin.add_fault, methods=["POST"]),
        Route("/_standin/faults", standin.clear_faults, methods=["DELETE"]),
        Route("/_standin/health", standin.health, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await standin.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.standin = standin
    return app


STANDIN_KEEP_ALIVE_SECONDS = 60


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m local.standin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--agent-url", required=True, help="base URL of the agent, e.g. http://127.0.0.1:8080")
    parser.add_argument("--runtime-arn", required=True, help="the only runtime ARN this stand-in answers for")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    # Only the stand-in's own logger writes (httpx's request lines stay off): its structured line.
    write_json_lines(logger, "standin", sys.stderr, logging.getLevelName(args.log_level.upper()))
    app = create_app(args.agent_url, args.runtime_arn)
    # The proxy keeps its upstream connection for the next stream. With uvicorn's default keep-alive of
    # 5 s the stand-in closed idle pooled connections between bursts of streams, and a request that
    # raced such a close failed (ConnectionClosedError, 502). AWS does not document the data plane's
    # idle timeout; 60 s keeps that uvicorn default out of local figures (docs/design.md, "Known limits").
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        log_level="warning",
        http="h11",
        loop="asyncio",
        timeout_keep_alive=STANDIN_KEEP_ALIVE_SECONDS,
    )


if __name__ == "__main__":
    main()
