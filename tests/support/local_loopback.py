"""Fakes for the stand-in and client tests (served with tests.support.servers.ServerThread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:000000000000:runtime/local_agent-0000000000"
SESSION_ID = "test-session-" + "0" * 30  # 43 characters: inside AgentCore's 33..256
FIRST_FRAME = b'data: "Hello"\n\n'
REST_FRAMES = [b'data: ", world"\n\n', b'data: {"done": true}\n\n']
# How long the fake agent waits for a test to release it; only reached when a test is broken.
GATE_TIMEOUT_SECONDS = 20.0


@dataclass
class FakeAgent:
    """Stands in for agent/main.py: streams one frame, then waits for the test to release the rest."""

    release: threading.Event = field(default_factory=threading.Event)
    stream_closed_early: threading.Event = field(default_factory=threading.Event)
    gate_timed_out: threading.Event = field(default_factory=threading.Event)
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_with_status: int | None = None

    def app(self) -> Starlette:
        async def invocations(request: Request) -> Response:
            self.requests.append({"headers": dict(request.headers), "body": await request.body()})
            if self.fail_with_status is not None:
                return JSONResponse({"error": "boom"}, status_code=self.fail_with_status)
            return StreamingResponse(self.frames(), media_type="text/event-stream")

        async def ping(request: Request) -> Response:
            return JSONResponse({"status": "Healthy"})

        return Starlette(routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)])

    async def frames(self) -> AsyncIterator[bytes]:
        finished = False
        try:
            yield FIRST_FRAME
            if not await asyncio.to_thread(self.release.wait, GATE_TIMEOUT_SECONDS):
                self.gate_timed_out.set()
            for frame in REST_FRAMES:
                yield frame
            finished = True
        finally:
            if not finished:
                self.stream_closed_early.set()


def agentcore_client(endpoint_url: str, read_timeout: float = 30.0) -> Any:
    """A real botocore bedrock-agentcore client aimed at a local endpoint, with dummy credentials."""
    return boto3.client(
        "bedrock-agentcore",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="local-dummy-key",
        aws_secret_access_key="local-dummy-secret",
        # One attempt: the default retry of 429/500 would hide an injected fault from the test.
        config=Config(retries={"total_max_attempts": 1}, read_timeout=read_timeout, connect_timeout=5),
    )
