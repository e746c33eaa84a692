"""The proxy's configuration: environment variables, parsed and validated once at start-up."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .cors import CorsConfigError, parse_allowed_origins

# arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/my_agent-AbCdEf1234
RUNTIME_ARN_PATTERN = re.compile(
    r"arn:aws[a-z-]*:bedrock-agentcore:(?P<region>[a-z0-9-]+):\d{12}:runtime/[a-zA-Z][a-zA-Z0-9_]{0,47}-[a-zA-Z0-9]{10}"
)
QUALIFIER_PATTERN = re.compile(r"[a-zA-Z0-9_]{1,100}")
MAX_JSON_BYTES_PER_CHARACTER = 12
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


class SettingsError(ValueError):
    """A configuration value is missing or out of range; the message names the variable."""


@dataclass(frozen=True)
class ProxySettings:
    # ARN of the AgentCore runtime the proxy invokes (the only resource its role may call).
    runtime_arn: str
    # Endpoint qualifier; DEFAULT follows the runtime's newest version.
    qualifier: str
    # AWS region of the runtime, taken from AWS_REGION or else from the ARN.
    region: str
    # Longest prompt accepted, in characters.
    max_prompt_chars: int
    # Largest request body accepted, in bytes (413 above it).
    max_body_bytes: int
    # Seconds of upstream silence after which the proxy sends an SSE keep-alive comment.
    keepalive_seconds: float
    # Seconds after which a stream is ended with an error event; keep it below the Lambda timeout.
    stream_timeout_seconds: float
    # Seconds allowed to open the TCP connection to AgentCore.
    connect_timeout_seconds: float
    # Streams one process serves at once; beyond it requests get 429.
    max_concurrent_streams: int
    # Seconds a throttled client is told to wait (Retry-After).
    retry_after_seconds: int
    log_level: str
    # Log prompt and answer text. Off unless someone is debugging on purpose.
    log_content: bool
    # Origins whose browser pages may call the API (CORS); empty sends no CORS headers at all.
    cors_allowed_origins: tuple[str, ...] = ()


def _integer(environ: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number from {minimum} to {maximum}, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be a whole number from {minimum} to {maximum}, got {value}")
    return value


def _number(environ: Mapping[str, str], name: str, default: float, minimum: float, maximum: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds from {minimum} to {maximum}, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be a number of seconds from {minimum} to {maximum}, got {value}")
    return value


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise SettingsError(f"{name} must be one of {', '.join(TRUE_WORDS + FALSE_WORDS[:-1])}, got {raw!r}")


def load_settings(environ: Mapping[str, str]) -> ProxySettings:
    runtime_arn = environ.get("AGENT_RUNTIME_ARN", "").strip()
    if not runtime_arn:
        raise SettingsError("AGENT_RUNTIME_ARN is required: the ARN of the AgentCore runtime to invoke")
    arn_match = RUNTIME_ARN_PATTERN.fullmatch(runtime_arn)
    if not arn_match:
        raise SettingsError(
            "AGENT_RUNTIME_ARN must look like "
            "arn:aws:bedrock-agentcore:<region>:<account>:runtime/<name>-<10 characters>, "
            f"got {runtime_arn!r}"
        )
    qualifier = environ.get("AGENT_RUNTIME_QUALIFIER", "").strip() or "DEFAULT"
    if not QUALIFIER_PATTERN.fullmatch(qualifier):
        raise SettingsError(f"AGENT_RUNTIME_QUALIFIER must be letters, digits or _ (1-100), got {qualifier!r}")
    region = environ.get("AWS_REGION", "").strip() or environ.get("AWS_DEFAULT_REGION", "").strip()
    region = region or arn_match.group("region")

    max_prompt_chars = _integer(environ, "PROXY_MAX_PROMPT_CHARS", 8000, 1, 1_000_000)
    # The worst legal JSON spelling of a character outside the BMP is a surrogate pair of escapes,
    # \ud83d\ude00: 12 bytes for one code point. A prompt within the character limit is never refused
    # as too large, however the client encodes it; the rest of the body (keys, an escaped session id) fits
    # in the 2 KiB beyond it.
    default_body_bytes = max_prompt_chars * MAX_JSON_BYTES_PER_CHARACTER + 2048
    max_body_bytes = _integer(environ, "PROXY_MAX_BODY_BYTES", default_body_bytes, 64, 6 * 1024 * 1024)
    keepalive_seconds = _number(environ, "PROXY_KEEPALIVE_SECONDS", 15.0, 0.05, 300.0)
    stream_timeout_seconds = _number(environ, "PROXY_STREAM_TIMEOUT_SECONDS", 880.0, 1.0, 900.0)
    if keepalive_seconds >= stream_timeout_seconds:
        raise SettingsError(
            "PROXY_KEEPALIVE_SECONDS must be shorter than PROXY_STREAM_TIMEOUT_SECONDS "
            f"({keepalive_seconds} >= {stream_timeout_seconds})"
        )
    log_level = environ.get("PROXY_LOG_LEVEL", "").strip().upper() or "INFO"
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"PROXY_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")

    try:
        cors_allowed_origins = parse_allowed_origins(environ.get("PROXY_CORS_ALLOWED_ORIGINS", ""))
    except CorsConfigError as error:
        raise SettingsError(f"PROXY_CORS_ALLOWED_ORIGINS: {error}") from None

    return ProxySettings(
        runtime_arn=runtime_arn,
        qualifier=qualifier,
        region=region,
        max_prompt_chars=max_prompt_chars,
        max_body_bytes=max_body_bytes,
        keepalive_seconds=keepalive_seconds,
        stream_timeout_seconds=stream_timeout_seconds,
        connect_timeout_seconds=_number(environ, "PROXY_CONNECT_TIMEOUT_SECONDS", 5.0, 0.1, 60.0),
        max_concurrent_streams=_integer(environ, "PROXY_MAX_CONCURRENT_STREAMS", 256, 1, 10_000),
        retry_after_seconds=_integer(environ, "PROXY_RETRY_AFTER_SECONDS", 2, 1, 3600),
        log_level=log_level,
        log_content=_boolean(environ, "PROXY_LOG_CONTENT"),
        cors_allowed_origins=cors_allowed_origins,
    )
