"""Calling the AgentCore Runtime: the one module that talks to it.

The InvokeAgentRuntime request (as botocore's service model `bedrock-agentcore` defines it), its
signing, session ids, error mapping, and the response body, all on the event loop: no thread per
stream (upstream_http.py holds the HTTP/1.1 client), and no botocore: sigv4.py signs, and
credentials.py reads the credentials Lambda provides (README, Performance).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import ssl
import urllib.parse
from typing import Any

from streaming_shared import edge
from streaming_shared.edge import ProxySettings

from .contract import ApiError
from .credentials import CredentialsError, CredentialSource
from .sigv4 import sign
from .upstream_http import (
    ConnectionPool,
    Origin,
    Response,
    UpstreamBroken,
    UpstreamTimeout,
    UpstreamUnreachable,
    request,
)

# Error codes that mean "slow down" rather than "broken".
_THROTTLING_CODES = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}
# After the answer's last event, the body's end (the final empty chunk) is normally already on its way.
# Reading it puts the connection back in the pool, so the next stream skips a TCP (and on AWS a TLS)
# handshake. A body that has not ended within this time or this many bytes is cut instead.
DRAIN_SECONDS = 1.0
DRAIN_MAX_BYTES = 256 * 1024
# An error response's body is a short JSON document; more than this is not read.
MAX_ERROR_BODY_BYTES = 64 * 1024
SERVICE = "bedrock-agentcore"
# The endpoint override of this service, then the global one, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
# is true (AWS SDKs and Tools reference guide, "Service-specific endpoints").
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE", "AWS_ENDPOINT_URL")
SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
USER_AGENT = "agentcore-streaming-proxy"


class AgentCoreError(Exception):
    """AgentCore answered with an error: its code (x-amzn-ErrorType or the body's __type) and status."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


def endpoint_url(region: str, environ: dict[str, str] | os._Environ[str]) -> str:
    """The data plane's URL: an override from the environment, else the region's public endpoint
    (endpoint rule set of botocore's `bedrock-agentcore` model: https://bedrock-agentcore.{region}.{dnsSuffix})."""
    ignored = environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true"
    for name in () if ignored else ENDPOINT_VARIABLES:
        if environ.get(name, "").strip():
            return environ[name].strip()
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{SERVICE}.{region}.{suffix}"


def _origin(url: str) -> tuple[Origin, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the AgentCore endpoint must be an http(s) URL, not {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Origin(parts.scheme, parts.hostname, port), parts.path.rstrip("/")


def invocation_target(base_path: str, runtime_arn: str, qualifier: str | None) -> str:
    """/runtimes/{agentRuntimeArn}/invocations?qualifier=...: the ARN percent-encoded as botocore
    encodes a URI label (every reserved character, '/' included), the query as it encodes a query."""
    target = f"{base_path}/runtimes/{urllib.parse.quote(runtime_arn, safe='-_.~')}/invocations"
    if qualifier:
        target += "?" + urllib.parse.urlencode({"qualifier": qualifier}, quote_via=urllib.parse.quote)
    return target


def error_code(response: Response, body: bytes) -> str:
    """The AWS error code as botocore's rest-json parser reads it: the HTTP status for a 5xx whose body
    is empty or HTML; else x-amzn-ErrorType, else the body's `code` (or `Code`), else its `__type`,
    else the status; each cut before its first ':' and after its last '#'."""
    if response.status >= 500 and (not body.strip() or body.strip().startswith(b"<html>")):
        return str(response.status)
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    code = (response.headers.get("x-amzn-errortype") or document.get("code") or document.get("Code")
            or document.get("__type") or str(response.status))
    return str(code).split(":", 1)[0].rsplit("#", 1)[-1]


class Signer:
    """SigV4 (sigv4.py) over the credentials Lambda provides (credentials.py)."""

    def __init__(self, region: str, credentials: CredentialSource) -> None:
        self.region = region
        self.credentials = credentials

    async def headers(self, url: str, headers: dict[str, str], body: bytes) -> list[tuple[str, str]]:
        try:
            credentials = await self.credentials.current()
        except CredentialsError as error:
            raise UpstreamUnreachable("NoCredentials") from error
        return list(sign("POST", url, headers, body, credentials, self.region, SERVICE).items())


class AgentCore:
    """The one AgentCore data-plane client of this process: a pool of kept-alive connections."""

    def __init__(self, settings: ProxySettings, signer: Any, url: str, tls: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.signer = signer
        origin, self._base_path = _origin(url)
        self._url_prefix = f"{origin.scheme}://{origin.host_header}"
        if origin.scheme == "https" and tls is None:
            tls = default_tls()
        self.pool = ConnectionPool(origin, settings.connect_timeout_seconds, settings.max_concurrent_streams,
                                   tls if origin.scheme == "https" else None)

    async def request_headers(self, runtime_session_id: str, accept: str, payload: bytes) -> tuple[str, list[tuple[str, str]]]:
        """The target and the signed headers of InvokeAgentRuntime, as botocore sends them."""
        target = invocation_target(self._base_path, self.settings.runtime_arn, self.settings.qualifier)
        headers = {
            "Host": self.pool.origin.host_header,
            SESSION_HEADER: runtime_session_id,
            "Content-Type": "application/json",
            "Accept": accept,
        }
        signed = await self.signer.headers(self._url_prefix + target, headers, payload)
        return target, signed + [("User-Agent", USER_AGENT), ("Content-Length", str(len(payload)))]

    async def invoke(self, runtime_session_id: str, accept: str, payload: bytes) -> Response:
        """InvokeAgentRuntime: the response once its head arrived, or AgentCoreError / Upstream*."""
        target, headers = await self.request_headers(runtime_session_id, accept, payload)
        # Never retried: a retry could run the agent twice for one prompt. The head's wait, and an error's
        # body after it, are bounded by the stream limit, as botocore's read timeout was (the relay's
        # deadline usually comes first; the stream keeps its slot until this call returns).
        limit = self.settings.stream_timeout_seconds
        deadline = asyncio.get_running_loop().time() + limit
        response = await request(self.pool, "POST", target, headers, payload, limit)
        if response.status == 200:
            return response
        try:
            async with asyncio.timeout_at(deadline):
                body = await _read_bounded(response, MAX_ERROR_BODY_BYTES)
        except TimeoutError as error:
            raise UpstreamTimeout("ReadTimeout") from error
        raise AgentCoreError(error_code(response, body), response.status)

    async def open_stream(self, runtime_session_id: str, prompt: str, turn_id: str) -> Response:
        """The agent's answer as a stream of SSE bytes.

        `turn_id` (the proxy's request id) names the turn, so that a stop sent for this stream alone
        (stop_turn) can never end a newer turn of the same session."""
        return await self.invoke(runtime_session_id, "text/event-stream", upstream_payload(prompt, turn_id))

    async def stop_turn(self, runtime_session_id: str, turn_id: str | None = None) -> bool:
        """Ask the agent to stop the session's running turn; True when a turn was running and is ending.
        With `turn_id`, only when the running turn is that one (the proxy ending a stream it gave up on).

        A second InvokeAgentRuntime on the same runtime session: AgentCore routes it to the session's
        microVM while the turn's own invocation is still open, and the agent answers it outside the
        turn's lock (README, "Stopping a turn").
        """
        try:
            async with asyncio.timeout(self.settings.stream_timeout_seconds):
                payload = STOP_PAYLOAD if turn_id is None else json.dumps({"action": "stop", "turnId": turn_id}).encode()
                response = await self.invoke(runtime_session_id, "application/json", payload)
                body = await _read_bounded(response, MAX_STOP_ANSWER_BYTES + 1)
        except TimeoutError as error:
            raise UpstreamTimeout("ReadTimeout") from error
        try:
            answer = json.loads(body) if len(body) <= MAX_STOP_ANSWER_BYTES else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("stopped"), bool):
            raise StopAnswerError("the agent's answer to a stop was not {\"stopped\": true|false}")
        return bool(answer["stopped"])

    def close(self) -> None:
        self.pool.close()


async def _read_bounded(response: Response, limit: int) -> bytes:
    """Up to `limit` bytes of a short body; the connection is pooled when the body ended, else cut."""
    parts: list[bytes] = []
    size = 0
    try:
        while size < limit:
            data = await response.read()
            if not data:
                break
            parts.append(data)
            size += len(data)
    finally:
        response.close()  # a no-op when the body ended (then the connection is already pooled)
    return b"".join(parts)


def default_tls() -> ssl.SSLContext:
    """TLS with the system's certificate store (on Lambda, the runtime image's)."""
    return ssl.create_default_context()


def create_client(settings: ProxySettings) -> AgentCore:
    """The process's AgentCore client; AWS_ENDPOINT_URL_BEDROCK_AGENTCORE points it at the local stand-in."""
    return AgentCore(settings, Signer(settings.region, CredentialSource(os.environ)),
                     endpoint_url(settings.region, os.environ))


# The agent's control request that stops the session's running turn; it answers {"stopped": bool}.
STOP_PAYLOAD = b'{"action":"stop"}'
# The agent's answer to a stop is a few bytes; anything longer is not that answer.
MAX_STOP_ANSWER_BYTES = 1024


class StopAnswerError(Exception):
    """The agent's answer to a stop request was not {"stopped": true|false}."""


def derive_runtime_session_id(caller: str, session_id: str) -> str:
    """AgentCore's session id for one caller's conversation: 33-256 characters, stable, unguessable.

    The caller's identity is part of the hash, so one caller can never name another's session.
    """
    digest = hashlib.sha256(f"{caller}\x00{session_id}".encode()).hexdigest()
    return f"session-{digest}"


def map_open_error(error: Exception) -> ApiError:
    """Turn a failure to open the upstream stream into the client's error, without internals."""
    if isinstance(error, AgentCoreError) and error.code in _THROTTLING_CODES:
        return ApiError(429, edge.THROTTLED, "The agent is busy; retry after a short wait.")
    if isinstance(error, UpstreamTimeout):
        return ApiError(504, edge.UPSTREAM_TIMEOUT, "The agent did not answer in time.")
    return ApiError(502, edge.UPSTREAM_ERROR, "The agent could not be reached.")


def upstream_error_code(error: Exception) -> str:
    """A short label for logs: the AWS error code or the failure's label, never a message."""
    if isinstance(error, AgentCoreError):
        return error.code
    if isinstance(error, (UpstreamTimeout, UpstreamUnreachable, UpstreamBroken)) and error.args:
        return str(error.args[0])
    return type(error).__name__


def upstream_payload(prompt: str, turn_id: str) -> bytes:
    return json.dumps({"prompt": prompt, "turnId": turn_id}).encode()
