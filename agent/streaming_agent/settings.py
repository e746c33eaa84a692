"""Agent settings, read once from the environment and validated.

Every error names the environment variable at fault and, where there is a closed set, the values
it accepts, so a misconfigured runtime fails at start-up with a message an operator can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

ModelProvider = Literal["bedrock", "offline"]
MODEL_PROVIDERS: tuple[ModelProvider, ...] = ("bedrock", "offline")

DEFAULT_HOST = "0.0.0.0"  # the AgentCore container contract: port 8080 on every interface
DEFAULT_PORT = 8080
DEFAULT_MAX_SESSIONS = 100
DEFAULT_OFFLINE_DELAY_MS = 40


class AgentConfigurationError(ValueError):
    """The agent cannot start with this configuration; the message says what to change."""


@dataclass(frozen=True)
class AgentSettings:
    model_provider: ModelProvider
    bedrock_model_id: str | None
    aws_region: str | None
    system_prompt: str | None
    max_sessions: int
    offline_delay_ms: int
    offline_trace_file: str | None
    host: str
    port: int


def _optional(environ: Mapping[str, str], name: str) -> str | None:
    # Deployment tools often set a variable to "" rather than leaving it out; treat both alike.
    value = environ.get(name, "").strip()
    return value or None


def _integer(environ: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = _optional(environ, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise AgentConfigurationError(
            f"{name} must be an integer from {minimum} to {maximum}, got {raw!r}"
        ) from None
    if not minimum <= value <= maximum:
        raise AgentConfigurationError(f"{name} must be an integer from {minimum} to {maximum}, got {value}")
    return value


def _model_provider(environ: Mapping[str, str]) -> ModelProvider:
    raw = _optional(environ, "AGENT_MODEL_PROVIDER")
    if raw is None:
        return "bedrock"
    value = raw.lower()
    for provider in MODEL_PROVIDERS:
        if value == provider:
            return provider
    allowed = ", ".join(repr(provider) for provider in MODEL_PROVIDERS)
    raise AgentConfigurationError(f"AGENT_MODEL_PROVIDER must be one of {allowed}, got {raw!r}")


def load_settings(environ: Mapping[str, str]) -> AgentSettings:
    """Parse and validate the agent's environment variables."""
    provider = _model_provider(environ)
    model_id = _optional(environ, "BEDROCK_MODEL_ID")
    if provider == "bedrock" and model_id is None:
        raise AgentConfigurationError(
            "BEDROCK_MODEL_ID is required when AGENT_MODEL_PROVIDER is 'bedrock' (the default); "
            "set it to a model or inference-profile id, or set AGENT_MODEL_PROVIDER=offline"
        )
    return AgentSettings(
        model_provider=provider,
        bedrock_model_id=model_id,
        aws_region=_optional(environ, "AWS_REGION") or _optional(environ, "AWS_DEFAULT_REGION"),
        # The prompt is used verbatim: leading or trailing spaces may be deliberate.
        system_prompt=environ.get("AGENT_SYSTEM_PROMPT") or None,
        max_sessions=_integer(environ, "AGENT_MAX_SESSIONS", DEFAULT_MAX_SESSIONS, 1, 1_000_000),
        offline_delay_ms=_integer(environ, "OFFLINE_MODEL_DELAY_MS", DEFAULT_OFFLINE_DELAY_MS, 0, 600_000),
        offline_trace_file=_optional(environ, "OFFLINE_MODEL_TRACE_FILE"),
        host=_optional(environ, "AGENT_HOST") or DEFAULT_HOST,
        port=_integer(environ, "AGENT_PORT", DEFAULT_PORT, 1, 65535),
    )
