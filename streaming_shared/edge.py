"""The HTTP edge: every fact that the client, API Gateway, the proxy and the local stack share.

One home for each: error codes and the error body, API Gateway's gateway responses as the deployed
API rewrites them, the CORS headers and the origin grammar, the request-context header, the
readiness path, and the proxy's environment (names, types, defaults; `ProxySettings.from_environ`
and `to_environ`).

Standard library only: it ships at the root of both zips (streaming_shared/), and every folder of the
repository imports it under the same name, `streaming_shared.edge`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# -- paths and headers --------------------------------------------------------------------------

INVOKE_PATH = "/invoke"
INVOKE_METHOD = "POST"
# Ends the caller's running turn in one of its sessions (README, "Stopping a turn").
STOP_PATH = "/stop"
STOP_METHOD = "POST"
# Every route the API serves, as (method, path); each also has its CORS preflight when CORS is on.
API_ROUTES = ((INVOKE_METHOD, INVOKE_PATH), (STOP_METHOD, STOP_PATH))
# Lambda Web Adapter polls this until the app is up (AWS_LWA_READINESS_CHECK_PATH); never routed by
# API Gateway, so only the adapter and local tools read it.
READY_PATH = "/_ready"
# Lambda Web Adapter hands API Gateway's request context to the app as this JSON header, replacing
# any copy a client sent; the local gateway does the same.
REQUEST_CONTEXT_HEADER = "x-amzn-request-context"
# The contract's response headers: the turn's session (to continue it) and the request's id.
SESSION_ID_HEADER = "X-Session-Id"
REQUEST_ID_HEADER = "X-Request-Id"
# A Cognito user-pool authorizer on a method without OAuth scopes takes ID tokens, whose
# `token_use` claim is "id" (an access token's is "access", and names its client in `client_id`).
ID_TOKEN_USE = "id"

# -- error codes and the error body -------------------------------------------------------------

# Errors answered before a stream starts (plain JSON responses).
# One code for "not a JSON object", whether the bytes are not JSON at all or JSON of another type:
# on AWS, API Gateway's request validator answers both before the proxy runs, and cannot tell them
# apart, so the contract does not either.
INVALID_BODY = "INVALID_BODY"
INVALID_REQUEST = "INVALID_REQUEST"
MISSING_FIELD = "MISSING_FIELD"
INVALID_FIELD = "INVALID_FIELD"
UNKNOWN_FIELD = "UNKNOWN_FIELD"
PROMPT_TOO_LONG = "PROMPT_TOO_LONG"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
NOT_FOUND = "NOT_FOUND"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
THROTTLED = "THROTTLED"
QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
FORBIDDEN = "FORBIDDEN"
UNAUTHORIZED = "UNAUTHORIZED"
CLIENT_ERROR = "CLIENT_ERROR"
UPSTREAM_ERROR = "UPSTREAM_ERROR"
UPSTREAM_TIMEOUT = "UPSTREAM_TIMEOUT"
INTERNAL_ERROR = "INTERNAL_ERROR"
# A request with both Content-Length and Transfer-Encoding (RFC 9112 section 6.3): refused, connection closed.
AMBIGUOUS_FRAMING = "AMBIGUOUS_FRAMING"
# Codes of `error` events sent after a stream started.
AGENT_ERROR = "AGENT_ERROR"
UPSTREAM_INTERRUPTED = "UPSTREAM_INTERRUPTED"
UPSTREAM_PROTOCOL_ERROR = "UPSTREAM_PROTOCOL_ERROR"
STREAM_TIMEOUT = "STREAM_TIMEOUT"
# The proxy's process was told to stop (SIGTERM) and the stream was still open after its graceful period.
SHUTTING_DOWN = "SHUTTING_DOWN"
# The Bedrock guardrail blocked the prompt or the answer: the stream ends with this instead of `done`,
# and the message is the proxy's own, never the blocked text (README, Guardrails).
CONTENT_BLOCKED = "CONTENT_BLOCKED"
CONTENT_BLOCKED_MESSAGE = (
    "The content guardrail blocked this request or its answer. Discard any partial answer and rephrase the request."
)
# The turn asked for more tool calls than the agent allows (AGENT_MAX_TOOL_CALLS): stopped, instead of `done`.
TOOL_CALL_LIMIT = "TOOL_CALL_LIMIT"
TOOL_CALL_LIMIT_MESSAGE = "The agent called too many tools in one turn and was stopped. Try a simpler request."


def error_body(code: str, message: str, request_id: str) -> dict[str, Any]:
    """The body of every refusal, whoever refuses: the proxy, API Gateway or the local gateway."""
    return {"error": {"code": code, "message": message, "requestId": request_id}}


def gateway_error_template(code: str) -> str:
    """`error_body` spelled as an API Gateway response template.

    $context.error.messageString is API Gateway's own text (e.g. "Forbidden"), already quoted.
    """
    return (
        '{"error":{"code":"' + code + '","message":$context.error.messageString,'
        '"requestId":"$context.requestId"}}'
    )


# -- API Gateway's own refusals -----------------------------------------------------------------


@dataclass(frozen=True)
class GatewayResponse:
    """How the deployed API rewrites one of API Gateway's gateway responses, and the local gateway too."""

    # The status the client sees. With `keeps_gateway_status` the deployed API leaves API Gateway's
    # own (which varies for the DEFAULT_* types); the local gateway then answers with this one.
    status: int
    code: str
    keeps_gateway_status: bool = False
    # API Gateway's x-amzn-ErrorType for the types the local gateway answers itself.
    error_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def status_override(self) -> str | None:
        """The gateway response's status_code: None keeps API Gateway's."""
        return None if self.keeps_gateway_status else str(self.status)


# Rewritten so clients parse one error format whether the gateway or the proxy refused them; the codes
# are the proxy's own wherever the two can refuse the same thing.
GATEWAY_RESPONSES: dict[str, GatewayResponse] = {
    "BAD_REQUEST_BODY": GatewayResponse(400, INVALID_BODY),
    "BAD_REQUEST_PARAMETERS": GatewayResponse(400, INVALID_REQUEST),
    "UNSUPPORTED_MEDIA_TYPE": GatewayResponse(415, UNSUPPORTED_MEDIA_TYPE),
    "REQUEST_TOO_LARGE": GatewayResponse(413, PAYLOAD_TOO_LARGE, error_type="RequestTooLargeException"),
    "MISSING_AUTHENTICATION_TOKEN": GatewayResponse(
        403, FORBIDDEN, keeps_gateway_status=True, error_type="MissingAuthenticationTokenException"
    ),
    "INVALID_API_KEY": GatewayResponse(403, FORBIDDEN, error_type="ForbiddenException"),
    "ACCESS_DENIED": GatewayResponse(403, FORBIDDEN),
    "INVALID_SIGNATURE": GatewayResponse(403, FORBIDDEN, error_type="InvalidSignatureException"),
    "EXPIRED_TOKEN": GatewayResponse(403, FORBIDDEN),
    "UNAUTHORIZED": GatewayResponse(401, UNAUTHORIZED, error_type="UnauthorizedException"),
    "WAF_FILTERED": GatewayResponse(403, FORBIDDEN),
    # The contract promises Retry-After with every 429 THROTTLED.
    "THROTTLED": GatewayResponse(429, THROTTLED, headers={"Retry-After": "1"}),
    # A quota resets at the end of its period, unknown here: no Retry-After.
    "QUOTA_EXCEEDED": GatewayResponse(429, QUOTA_EXCEEDED),
    "INTEGRATION_TIMEOUT": GatewayResponse(504, UPSTREAM_TIMEOUT),
    "INTEGRATION_FAILURE": GatewayResponse(502, UPSTREAM_ERROR, error_type="InternalServerErrorException"),
    "DEFAULT_4XX": GatewayResponse(400, CLIENT_ERROR, keeps_gateway_status=True),
    "DEFAULT_5XX": GatewayResponse(500, INTERNAL_ERROR, keeps_gateway_status=True),
}

# -- CORS ---------------------------------------------------------------------------------------

ANY_ORIGIN = "*"
PREFLIGHT_PATHS = tuple(path for _, path in API_ROUTES)
PREFLIGHT_METHOD = "OPTIONS"
PREFLIGHT_STATUS = 204
ALLOWED_METHODS = "POST, OPTIONS"
# What the chat page sends (content-type, x-api-key) and what IAM-signed or Cognito callers add.
ALLOWED_HEADERS = "content-type, x-api-key, authorization, x-amz-date, x-amz-security-token"
EXPOSED_HEADERS = f"{SESSION_ID_HEADER}, {REQUEST_ID_HEADER}, Retry-After"
# Browsers cap this (Chromium at 2 h); 10 minutes keeps a changed policy from lingering long.
PREFLIGHT_MAX_AGE_SECONDS = 600
ALLOW_ORIGIN = "Access-Control-Allow-Origin"

# The origin grammar, for every reader of an origin list (stack config, the proxy, the local gateway):
# an origin exactly as a browser serialises it, scheme://host[:port], lower case, no path, no slash.
_ORIGIN = re.compile(
    r"(?P<scheme>https?)://(?P<host>\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)"
    r"(:(?P<port>[0-9]{1,5}))?"
)
# Plain http only for a page on the developer's own machine; anything else must be https.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_DEFAULT_PORTS = {"https": "443", "http": "80"}
ORIGIN_FORMS = (
    "'*' alone, or origins written https://host[:port] (http:// only for localhost, 127.0.0.1 and [::1]), "
    "without a path, a trailing slash or the scheme's default port"
)


class OriginError(ValueError):
    """An entry is not an origin a browser would send; the message names it and says why."""


def parse_origin(entry: str) -> str:
    """One origin, lower-cased; OriginError naming the entry and the rule it breaks."""
    origin = entry.strip().lower()
    match = _ORIGIN.fullmatch(origin)
    if match is None:
        hint = " (drop the trailing slash)" if origin.endswith("/") else ""
        raise OriginError(f"{entry!r} is not an origin{hint}")
    scheme, host, port = match["scheme"], match["host"], match["port"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise OriginError(f"{entry!r} has an invalid IPv6 address") from None
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise OriginError(f"{entry!r} uses http; only {', '.join(LOOPBACK_HOSTS)} may (use https)")
    if port is not None and not 1 <= int(port) <= 65535:
        raise OriginError(f"{entry!r} has an invalid port")
    # A browser leaves the default port out of Origin, so an entry with it would never match.
    if port == _DEFAULT_PORTS[scheme]:
        raise OriginError(f"{entry!r} names the default port; drop ':{port}'")
    return origin


def parse_allowed_origins(entries: str | Sequence[str]) -> tuple[str, ...]:
    """A list of origins (or one comma-separated string), in order, without duplicates or blanks."""
    if isinstance(entries, str):
        entries = entries.split(",")
    present = [entry.strip() for entry in entries if entry.strip()]
    if ANY_ORIGIN in present:
        if len(present) != 1:
            raise OriginError("'*' must be the only entry")
        return (ANY_ORIGIN,)
    return tuple(dict.fromkeys(parse_origin(entry) for entry in present))


def with_origin(origins: Sequence[str], origin: str) -> tuple[str, ...]:
    """The list plus one more origin (the hosted page's, known only once it is deployed).

    "*" already admits every origin, so it stays alone; an origin already listed is not repeated.
    """
    if tuple(origins) == (ANY_ORIGIN,):
        return (ANY_ORIGIN,)
    return parse_allowed_origins([*origins, origin])


def origins_variable(origins: Sequence[str]) -> str:
    """PROXY_CORS_ALLOWED_ORIGINS's value for a list of origins (parse_allowed_origins reads it back)."""
    return ",".join(origins)


@dataclass(frozen=True)
class CorsPolicy:
    """Which browser origins may read responses; no origins means no CORS headers at all."""

    allowed_origins: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.allowed_origins)

    def allows(self, origin: str | None) -> bool:
        if not origin or not self.enabled:
            return False
        # Browsers send lower-case scheme and host; lower-casing here only forgives hand-made requests.
        return ANY_ORIGIN in self.allowed_origins or origin.lower() in self.allowed_origins

    def response_headers(self, origin: str | None) -> dict[str, str]:
        """Headers every response to a request from `origin` carries (empty when CORS is off)."""
        if not self.enabled:
            return {}
        # Vary even for refused origins: a shared cache must not hand one origin's answer to another.
        headers = {"Vary": "Origin"}
        if origin is not None and self.allows(origin):
            headers[ALLOW_ORIGIN] = origin
            headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return headers

    def preflight_headers(self, origin: str | None) -> dict[str, str]:
        """The answer to OPTIONS /invoke: permission to POST JSON with credentials, or nothing."""
        headers = self.response_headers(origin)
        if ALLOW_ORIGIN in headers:
            headers.update(PREFLIGHT_GRANT_HEADERS)
        return headers


# What a preflight answer adds for an allowed origin (the proxy's answer and the deployed MOCK route's).
PREFLIGHT_GRANT_HEADERS = {
    "Access-Control-Allow-Methods": ALLOWED_METHODS,
    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
    "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
}

# -- usage metering -------------------------------------------------------------------------------

# One usage record per turn in the proxy's log, which is also a CloudWatch embedded metric format
# (EMF) document; the prod dashboard reads these metrics. Names defined once, here, for both.
USAGE_RECORD_MESSAGE = "turn usage"
INPUT_TOKENS_METRIC = "InputTokens"
OUTPUT_TOKENS_METRIC = "OutputTokens"
TOTAL_TOKENS_METRIC = "TotalTokens"
TURNS_METRIC = "Turns"
TURN_DURATION_METRIC = "TurnDurationMs"
TOKEN_METRICS = (INPUT_TOKENS_METRIC, OUTPUT_TOKENS_METRIC, TOTAL_TOKENS_METRIC)
# Dimensions: the stack, and for Turns also the outcome. Never the caller: every distinct dimension
# value is a metric of its own (billed), and callers are unbounded; the log record names the caller.
STACK_DIMENSION = "stack"
OUTCOME_DIMENSION = "outcome"
# A CloudWatch namespace: printable ASCII, 1-255 characters, not starting with ':' (and "AWS/" is
# reserved for AWS's own services).
METRICS_NAMESPACE_PATTERN = re.compile(r"(?!:)(?!AWS/)[ -~]{1,255}")
# A dimension value: printable ASCII, 1-1024 characters, not only spaces.
DIMENSION_VALUE_PATTERN = re.compile(r"(?=.*[^ ])[ -~]{1,1024}")


# -- the proxy's environment --------------------------------------------------------------------

# arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/my_agent-AbCdEf1234
RUNTIME_ARN_PATTERN = re.compile(
    r"arn:aws[a-z-]*:bedrock-agentcore:(?P<region>[a-z0-9-]+):\d{12}:runtime/[a-zA-Z][a-zA-Z0-9_]{0,47}-[a-zA-Z0-9]{10}"
)
QUALIFIER_PATTERN = re.compile(r"[a-zA-Z0-9_]{1,100}")
MAX_JSON_BYTES_PER_CHARACTER = 12
# The proxy function's log levels. Never DEBUG or TRACE, for the proxy or for Lambda Web Adapter in
# front of it: LWA logs every request header at DEBUG ("sending request to app server", req_headers),
# Authorization, x-api-key and the request context with the caller's API key included.
LOG_LEVELS = ("INFO", "WARNING", "ERROR")
REFUSED_LOG_LEVELS = ("DEBUG", "TRACE")
REFUSED_LOG_LEVEL_REASON = (
    "never DEBUG or TRACE: Lambda Web Adapter then logs every request header, API keys and tokens included"
)
# Lambda's application log level for the function (logging_config), which Lambda hands to LWA as
# AWS_LAMBDA_LOG_LEVEL. INFO: LWA logs no headers, and Lambda's filter drops none of the proxy's lines.
FUNCTION_LOG_LEVEL = "INFO"
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message names the environment variable (the
    proxy's) or the full config key (the stack's, stack_config/settings.py) and what is allowed."""


@dataclass(frozen=True)
class Variable:
    """One environment variable of the proxy: its name, the settings field, and its bounds."""

    name: str
    field: str
    default: Any
    minimum: float = 0
    maximum: float = 0


# API Gateway ends a streamed integration after 900 s counted from the request, so the function's
# init (a cold start, up to Lambda's 10 s init limit) is inside it, though neither the Lambda
# timeout nor the proxy's clock counts it. The proxy's stream limit ends 20 s earlier: the init, and
# 10 s to send the last event and write the usage record. The stack sets the function's timeout
# and the integration's to the stream limit plus this headroom.
MAX_STREAM_SECONDS = 900
STREAM_LIMIT_HEADROOM_SECONDS = 20
MAX_STREAM_LIMIT_SECONDS = MAX_STREAM_SECONDS - STREAM_LIMIT_HEADROOM_SECONDS

# The variables with a plain default; AGENT_RUNTIME_ARN, the qualifier, the log level, the content
# switch, the body limit (derived from the prompt limit) and the origins are read by hand below.
INTEGER_VARIABLES = (
    Variable("PROXY_MAX_PROMPT_CHARS", "max_prompt_chars", 8000, 1, 1_000_000),
    Variable("PROXY_MAX_CONCURRENT_STREAMS", "max_concurrent_streams", 256, 1, 10_000),
    Variable("PROXY_RETRY_AFTER_SECONDS", "retry_after_seconds", 2, 1, 3600),
)
NUMBER_VARIABLES = (
    Variable("PROXY_KEEPALIVE_SECONDS", "keepalive_seconds", 15.0, 0.05, 300.0),
    Variable("PROXY_STREAM_TIMEOUT_SECONDS", "stream_timeout_seconds", float(MAX_STREAM_LIMIT_SECONDS), 1.0,
             float(MAX_STREAM_LIMIT_SECONDS)),
    Variable("PROXY_CONNECT_TIMEOUT_SECONDS", "connect_timeout_seconds", 5.0, 0.1, 60.0),
)
# Written by to_environ even at their defaults: the limits an operator looks for on the function.
ALWAYS_WRITTEN = ("max_prompt_chars", "keepalive_seconds", "stream_timeout_seconds")
RUNTIME_ARN_VARIABLE = "AGENT_RUNTIME_ARN"
QUALIFIER_VARIABLE = "AGENT_RUNTIME_QUALIFIER"
MAX_BODY_BYTES_VARIABLE = "PROXY_MAX_BODY_BYTES"
LOG_LEVEL_VARIABLE = "PROXY_LOG_LEVEL"
LOG_CONTENT_VARIABLE = "PROXY_LOG_CONTENT"
CORS_VARIABLE = "PROXY_CORS_ALLOWED_ORIGINS"
METRICS_NAMESPACE_VARIABLE = "PROXY_METRICS_NAMESPACE"
METRICS_STACK_VARIABLE = "PROXY_METRICS_STACK"
COGNITO_APP_CLIENT_VARIABLE = "PROXY_COGNITO_APP_CLIENT_ID"
REQUIRE_REQUEST_CONTEXT_VARIABLE = "PROXY_REQUIRE_REQUEST_CONTEXT"
DEFAULT_QUALIFIER = "DEFAULT"
# A user pool app client id (botocore's cognito-idp model, ClientIdType: 1-128 characters of [\w+]).
APP_CLIENT_ID_PATTERN = re.compile(r"[\w+]{1,128}", re.ASCII)


def default_max_body_bytes(max_prompt_chars: int) -> int:
    # The worst legal JSON spelling of a character outside the BMP is a surrogate pair of escapes,
    # \ud83d\ude00: 12 bytes for one code point. A prompt within the character limit is never refused
    # as too large, however the client encodes it; the rest of the body (keys, an escaped session id)
    # fits in the 2 KiB beyond it.
    return max_prompt_chars * MAX_JSON_BYTES_PER_CHARACTER + 2048


@dataclass(frozen=True)
class ProxySettings:
    # ARN of the AgentCore runtime the proxy invokes (the only resource its role may call). The
    # infrastructure passes a Pulumi Output here, which `to_environ` hands on untouched.
    runtime_arn: Any
    # Endpoint qualifier; DEFAULT follows the runtime's newest version.
    qualifier: str = DEFAULT_QUALIFIER
    # AWS region of the runtime, taken from AWS_REGION or else from the ARN (never written: Lambda sets it).
    region: str = ""
    # Longest prompt accepted, in characters.
    max_prompt_chars: int = 8000
    # Largest request body accepted, in bytes (413 above it); None: derived from max_prompt_chars.
    max_body_bytes: int | None = None
    # Seconds of upstream silence after which the proxy sends an SSE keep-alive comment.
    keepalive_seconds: float = 15.0
    # Seconds after which a stream is ended with an error event (the stack's stream limit).
    stream_timeout_seconds: float = float(MAX_STREAM_LIMIT_SECONDS)
    # Seconds allowed to open the TCP connection to AgentCore.
    connect_timeout_seconds: float = 5.0
    # Streams one process serves at once; beyond it requests get 429.
    max_concurrent_streams: int = 256
    # Seconds a throttled client is told to wait (Retry-After).
    retry_after_seconds: int = 2
    log_level: str = "INFO"
    # Log prompt and answer text. Off unless someone is debugging on purpose.
    log_content: bool = False
    # Origins whose browser pages may call the API (CORS); empty sends no CORS headers at all.
    cors_allowed_origins: tuple[str, ...] = ()
    # CloudWatch namespace of the usage metrics (one per stack) and the value of their `stack`
    # dimension; empty: the usage record is still logged, with no EMF directive in it.
    metrics_namespace: str = ""
    metrics_stack: str = ""
    # authMode cognito: the app client whose ID tokens the proxy accepts (API Gateway's authorizer
    # accepts an ID token of any app client of the pool, so the proxy checks `aud`); empty: no check.
    # The infrastructure passes the created client's id as a Pulumi Output, handed on untouched.
    cognito_app_client_id: Any = ""
    # Refuse (400) a request without x-amzn-request-context instead of serving the anonymous caller.
    # On wherever a gateway stands in front: Lambda Web Adapter sends API Gateway's context with every
    # request, the local gateway too. Off only where nothing authenticates (the local stack without auth).
    require_request_context: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ProxySettings:
        return load_settings(environ)

    def to_environ(self) -> dict[str, Any]:
        """The variables that configure a proxy with these settings (region aside: Lambda sets it).

        Values that equal their default are still written where an operator looks for them (the
        runtime, limits and log switches); the optional ones (body limit, CORS) only when set.
        """
        environ: dict[str, Any] = {RUNTIME_ARN_VARIABLE: self.runtime_arn, QUALIFIER_VARIABLE: self.qualifier}
        for variable in (*INTEGER_VARIABLES, *NUMBER_VARIABLES):
            value = getattr(self, variable.field)
            if variable.field in ALWAYS_WRITTEN or value != variable.default:
                environ[variable.name] = _format(value)
        environ[LOG_LEVEL_VARIABLE] = self.log_level
        environ[LOG_CONTENT_VARIABLE] = "true" if self.log_content else "false"
        if self.max_body_bytes is not None and self.max_body_bytes != default_max_body_bytes(self.max_prompt_chars):
            environ[MAX_BODY_BYTES_VARIABLE] = str(self.max_body_bytes)
        if self.cors_allowed_origins:
            # Left out when off: the proxy then sends no CORS headers and answers no preflight.
            environ[CORS_VARIABLE] = origins_variable(self.cors_allowed_origins)
        if self.metrics_namespace:
            environ[METRICS_NAMESPACE_VARIABLE] = self.metrics_namespace
            environ[METRICS_STACK_VARIABLE] = self.metrics_stack
        if self.cognito_app_client_id:
            environ[COGNITO_APP_CLIENT_VARIABLE] = self.cognito_app_client_id
        if self.require_request_context:
            environ[REQUIRE_REQUEST_CONTEXT_VARIABLE] = "true"
        return environ


def _format(value: float) -> str:
    """15.0 -> "15", 0.3 -> "0.3": what an operator would have typed."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _bounded(environ: Mapping[str, str], variable: Variable, kind: type) -> Any:
    raw = environ.get(variable.name, "").strip()
    if not raw:
        return variable.default
    what = "a whole number" if kind is int else "a number of seconds"
    rule = f"{variable.name} must be {what} from {variable.minimum} to {variable.maximum}"
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{rule}, got {raw!r}") from None
    if not variable.minimum <= value <= variable.maximum:
        raise SettingsError(f"{rule}, got {value}")
    return value


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise SettingsError(f"{name} must be one of {', '.join(TRUE_WORDS + FALSE_WORDS[:-1])}, got {raw!r}")


def _runtime(environ: Mapping[str, str]) -> tuple[str, str, str]:
    """The runtime ARN, the qualifier and the region (AWS_REGION, else the ARN's)."""
    runtime_arn = environ.get(RUNTIME_ARN_VARIABLE, "").strip()
    if not runtime_arn:
        raise SettingsError(f"{RUNTIME_ARN_VARIABLE} is required: the ARN of the AgentCore runtime to invoke")
    arn_match = RUNTIME_ARN_PATTERN.fullmatch(runtime_arn)
    if not arn_match:
        raise SettingsError(
            f"{RUNTIME_ARN_VARIABLE} must look like "
            "arn:aws:bedrock-agentcore:<region>:<account>:runtime/<name>-<10 characters>, "
            f"got {runtime_arn!r}"
        )
    qualifier = environ.get(QUALIFIER_VARIABLE, "").strip() or DEFAULT_QUALIFIER
    if not QUALIFIER_PATTERN.fullmatch(qualifier):
        raise SettingsError(f"{QUALIFIER_VARIABLE} must be letters, digits or _ (1-100), got {qualifier!r}")
    region = environ.get("AWS_REGION", "").strip() or environ.get("AWS_DEFAULT_REGION", "").strip()
    return runtime_arn, qualifier, region or arn_match.group("region")


def load_settings(environ: Mapping[str, str]) -> ProxySettings:
    """Read and validate the proxy's environment; SettingsError names the first bad variable."""
    runtime_arn, qualifier, region = _runtime(environ)
    values: dict[str, Any] = {variable.field: _bounded(environ, variable, int) for variable in INTEGER_VARIABLES}
    values.update({variable.field: _bounded(environ, variable, float) for variable in NUMBER_VARIABLES})
    body_limit = Variable(MAX_BODY_BYTES_VARIABLE, "max_body_bytes",
                          default_max_body_bytes(values["max_prompt_chars"]), 64, 6 * 1024 * 1024)
    values["max_body_bytes"] = _bounded(environ, body_limit, int)
    if values["keepalive_seconds"] >= values["stream_timeout_seconds"]:
        raise SettingsError(
            "PROXY_KEEPALIVE_SECONDS must be shorter than PROXY_STREAM_TIMEOUT_SECONDS "
            f"({values['keepalive_seconds']} >= {values['stream_timeout_seconds']})"
        )
    log_level = environ.get(LOG_LEVEL_VARIABLE, "").strip().upper() or "INFO"
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"{LOG_LEVEL_VARIABLE} must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}"
                            + (f" ({REFUSED_LOG_LEVEL_REASON})" if log_level in REFUSED_LOG_LEVELS else ""))
    try:
        cors_allowed_origins = parse_allowed_origins(environ.get(CORS_VARIABLE, ""))
    except OriginError as error:
        raise SettingsError(f"{CORS_VARIABLE}: {error}; allowed: {ORIGIN_FORMS}") from None
    metrics_namespace, metrics_stack = _metrics(environ)
    app_client_id = environ.get(COGNITO_APP_CLIENT_VARIABLE, "").strip()
    if app_client_id and not APP_CLIENT_ID_PATTERN.fullmatch(app_client_id):
        raise SettingsError(
            f"{COGNITO_APP_CLIENT_VARIABLE} must be empty or a Cognito app client id "
            f"(1-128 letters, digits, '_' or '+'), got {app_client_id!r}"
        )
    return ProxySettings(
        runtime_arn=runtime_arn, qualifier=qualifier, region=region, log_level=log_level,
        log_content=_boolean(environ, LOG_CONTENT_VARIABLE), cors_allowed_origins=cors_allowed_origins,
        metrics_namespace=metrics_namespace, metrics_stack=metrics_stack,
        cognito_app_client_id=app_client_id,
        require_request_context=_boolean(environ, REQUIRE_REQUEST_CONTEXT_VARIABLE), **values,
    )


def _metrics(environ: Mapping[str, str]) -> tuple[str, str]:
    """The usage metrics' namespace and stack dimension: both or neither."""
    namespace = environ.get(METRICS_NAMESPACE_VARIABLE, "").strip()
    stack = environ.get(METRICS_STACK_VARIABLE, "").strip()
    if not namespace and not stack:
        return "", ""
    if not METRICS_NAMESPACE_PATTERN.fullmatch(namespace):
        raise SettingsError(
            f"{METRICS_NAMESPACE_VARIABLE} must be a CloudWatch namespace: 1-255 printable ASCII characters, "
            f"not starting with ':' or 'AWS/' (and it is required with {METRICS_STACK_VARIABLE}), got {namespace!r}"
        )
    if not DIMENSION_VALUE_PATTERN.fullmatch(stack):
        raise SettingsError(
            f"{METRICS_STACK_VARIABLE} must be a CloudWatch dimension value: 1-1024 printable ASCII characters "
            f"(and it is required with {METRICS_NAMESPACE_VARIABLE}), got {stack!r}"
        )
    return namespace, stack
