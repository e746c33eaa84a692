"""Calling the AgentCore Runtime: the one module that talks to it.

The boto3 client, the InvokeAgentRuntime call, session ids, error mapping, and the byte pump.

boto3 is synchronous. Opening the call runs in a worker thread; reading the response body runs in
one reader thread per stream that hands chunks to the event loop as they arrive, so the loop never
blocks and no chunk waits for the next one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from . import contract
from .contract import ApiError
from .edge import ProxySettings

# Error codes that mean "slow down" rather than "broken".
_THROTTLING_CODES = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}
# Each read returns what the socket has, up to this much; small events are never held back for it.
READ_SIZE = 64 * 1024
# Chunks the reader may hand over before the client has taken them: bounds memory when the client
# reads slower than the agent writes (at most READ_SIZE * this many bytes per stream).
MAX_CHUNKS_IN_FLIGHT = 16
# After the answer's last event, the body's end (the final empty chunk) is normally already on its way.
# Reading it returns the connection to urllib3's pool, so the next stream skips a TCP (and on AWS a
# TLS) handshake. A body that has not ended within this time or this many bytes is cut instead.
DRAIN_SECONDS = 1.0
DRAIN_MAX_BYTES = 256 * 1024


def create_client(settings: ProxySettings) -> Any:
    """The one bedrock-agentcore client of this process.

    AWS_ENDPOINT_URL_BEDROCK_AGENTCORE (read by boto3 itself) points it at the local stand-in.
    """
    config = Config(
        region_name=settings.region,
        connect_timeout=settings.connect_timeout_seconds,
        # botocore's default 60 s read timeout would cut an agent that thinks quietly for a minute.
        # Exactly the stream limit: it also bounds the wait for the response headers, which nothing
        # else does (a longer value let a runtime that never answers hold the client, and the Lambda,
        # beyond the limit). Once streaming, the relay's own deadline always comes first, because a
        # read can only start after the request did.
        read_timeout=settings.stream_timeout_seconds,
        # A retry could run the agent twice for one prompt once it has started work: never retry.
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=settings.max_concurrent_streams,
        tcp_keepalive=True,
        user_agent_extra="agentcore-streaming-proxy",
    )
    return boto3.session.Session().client("bedrock-agentcore", config=config)


def open_agent_stream(
    client: Any, settings: ProxySettings, runtime_session_id: str, prompt: str, turn_id: str
) -> dict[str, Any]:
    """InvokeAgentRuntime: the agent's answer as a streaming response (blocking; run it in a thread).

    `turn_id` (the proxy's request id) names the turn, so that a stop sent for this stream alone
    (stop_agent_turn) can never end a newer turn of the same session."""
    return client.invoke_agent_runtime(
        agentRuntimeArn=settings.runtime_arn,
        qualifier=settings.qualifier,
        runtimeSessionId=runtime_session_id,
        contentType="application/json",
        accept="text/event-stream",
        payload=upstream_payload(prompt, turn_id),
    )


# The agent's control request that stops the session's running turn; it answers {"stopped": bool}.
STOP_PAYLOAD = b'{"action":"stop"}'
# The agent's answer to a stop is a few bytes; anything longer is not that answer.
MAX_STOP_ANSWER_BYTES = 1024


class StopAnswerError(Exception):
    """The agent's answer to a stop request was not {"stopped": true|false}."""


def stop_agent_turn(client: Any, settings: ProxySettings, runtime_session_id: str, turn_id: str | None = None) -> bool:
    """Ask the agent to stop the session's running turn (blocking; run it in a thread); with
    `turn_id`, only when the running turn is that one (the proxy ending a stream it gave up on).

    A second InvokeAgentRuntime on the same runtime session: AgentCore routes it to the session's
    microVM while the turn's own invocation is still open, and the agent answers it outside the
    turn's lock (README, "Stopping a turn"). True when a turn was running and is now ending.
    """
    response = client.invoke_agent_runtime(
        agentRuntimeArn=settings.runtime_arn,
        qualifier=settings.qualifier,
        runtimeSessionId=runtime_session_id,
        contentType="application/json",
        accept="application/json",
        payload=STOP_PAYLOAD if turn_id is None else json.dumps({"action": "stop", "turnId": turn_id}).encode(),
    )
    try:
        body = response["response"].read(MAX_STOP_ANSWER_BYTES + 1)
    finally:
        close_response(response)
    try:
        answer = json.loads(body) if len(body) <= MAX_STOP_ANSWER_BYTES else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("stopped"), bool):
        raise StopAnswerError("the agent's answer to a stop was not {\"stopped\": true|false}")
    return bool(answer["stopped"])


def close_response(response: dict[str, Any]) -> None:
    """Drop an upstream response nobody will read (its connection is not worth reusing)."""
    try:
        response["response"].close()
    except Exception:
        pass


def derive_runtime_session_id(caller: str, session_id: str) -> str:
    """AgentCore's session id for one caller's conversation: 33-256 characters, stable, unguessable.

    The caller's identity is part of the hash, so one caller can never name another's session.
    """
    digest = hashlib.sha256(f"{caller}\x00{session_id}".encode()).hexdigest()
    return f"session-{digest}"


def map_open_error(error: Exception) -> ApiError:
    """Turn a failure to open the upstream stream into the client's error, without internals."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in _THROTTLING_CODES:
            return ApiError(429, contract.THROTTLED, "The agent is busy; retry after a short wait.")
        return ApiError(502, contract.UPSTREAM_ERROR, "The agent could not be reached.")
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError)):
        return ApiError(504, contract.UPSTREAM_TIMEOUT, "The agent did not answer in time.")
    if isinstance(error, (EndpointConnectionError, BotoCoreError)):
        return ApiError(502, contract.UPSTREAM_ERROR, "The agent could not be reached.")
    return ApiError(502, contract.UPSTREAM_ERROR, "The agent could not be reached.")


def upstream_error_code(error: Exception) -> str:
    """A short label for logs: the AWS error code or the exception class, never its message."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


@dataclass
class Chunk:
    data: bytes


@dataclass
class Finished:
    # None on a clean end of the body; otherwise what broke it (a label, for the logs).
    failure: str | None


class UpstreamStream:
    """The agent's response body, read by a thread and consumed with `await next_item()`."""

    def __init__(self, response: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        self._body = response["response"]
        self._raw = self._body._raw_stream  # urllib3 HTTPResponse: read1() returns what has arrived
        self._loop = loop
        self._queue: asyncio.Queue[Chunk | Finished] = asyncio.Queue()
        self._slots = threading.Semaphore(MAX_CHUNKS_IN_FLIGHT)
        self._closed = threading.Event()
        # Set by drain(): read the rest of the body (bounded) instead of cutting the connection.
        self._drain = False
        # Done when the reader thread has finished with the body (and released or dropped the connection).
        self._reader_done: asyncio.Future[None] = loop.create_future()
        self._thread = threading.Thread(target=self._pump, name="upstream-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _hand_over(self, item: Chunk | Finished) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def _pump(self) -> None:
        failure: str | None = None
        at_end = False
        try:
            while not self._closed.is_set():
                # Wait for the consumer to take chunks before reading more (bounded memory).
                while not self._slots.acquire(timeout=0.5):
                    if self._closed.is_set():
                        break
                if self._closed.is_set():
                    break
                data = self._raw.read1(READ_SIZE)
                if not data:
                    at_end = True
                    break
                self._hand_over(Chunk(data))
            if not at_end and self._drain:
                at_end = self._read_to_end()
        except Exception as error:  # the connection broke or was shut down by close()
            failure = type(error).__name__
        finally:
            # At the end of the body urllib3 has already put the connection back in the pool, and
            # close() only marks the body closed; anywhere else close() drops the connection.
            try:
                self._body.close()
            except Exception:
                pass
            try:
                self._loop.call_soon_threadsafe(self._mark_reader_done)
            except RuntimeError:  # the event loop is gone (process shutting down)
                pass
            if not self._closed.is_set():
                try:
                    self._hand_over(Finished(failure))
                except RuntimeError:  # the event loop is gone (process shutting down)
                    pass

    async def next_item(self) -> Chunk | Finished:
        item = await self._queue.get()
        if isinstance(item, Chunk):
            self._slots.release()
        return item

    def ready_item(self) -> Chunk | Finished | None:
        """An item that has already arrived, or None; avoids arming a timer per chunk."""
        try:
            item = self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        if isinstance(item, Chunk):
            self._slots.release()
        return item

    def _read_to_end(self) -> bool:
        """Read and drop what is left of the body; True when it ended within DRAIN_MAX_BYTES."""
        dropped = 0
        while dropped <= DRAIN_MAX_BYTES:
            data = self._raw.read1(READ_SIZE)
            if not data:
                return True
            dropped += len(data)
        return False

    def _mark_reader_done(self) -> None:
        if not self._reader_done.done():
            self._reader_done.set_result(None)

    async def drain(self) -> None:
        """End a stream whose answer is complete: take the body's end so the connection is reused.

        The agent's last event has arrived, so the rest of the body (its final empty chunk) is on its
        way. Reading it lets urllib3 put the connection back in the pool before the next stream asks
        for one. A body that does not end within DRAIN_SECONDS (or DRAIN_MAX_BYTES) is cut instead.
        """
        if self._closed.is_set():
            return
        self._drain = True
        self._closed.set()
        self._slots.release()
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                await asyncio.shield(self._reader_done)
        except TimeoutError:  # the body did not end: cut it rather than wait
            self._cut()
        except BaseException:  # cancelled while waiting: never leave the connection to a stray read
            self._cut()
            raise

    def close(self) -> None:
        """Stop reading and drop the upstream connection now (the client left, or time ran out)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._slots.release()
        # The AgentCore data plane sees the closed connection as the caller going away.
        self._cut()

    def _cut(self) -> None:
        try:
            # Wakes a reader blocked in recv(); the reader then closes the connection.
            self._raw.shutdown()
        except Exception:
            try:
                self._body.close()
            except Exception:
                pass


def upstream_payload(prompt: str, turn_id: str) -> bytes:
    return json.dumps({"prompt": prompt, "turnId": turn_id}).encode()
