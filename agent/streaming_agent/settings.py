"""Agent settings, read once from the environment and validated.

Every error names the environment variable at fault and, where there is a closed set, the values
it accepts, so a misconfigured runtime fails at start-up with a message an operator can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
import re
from dataclasses import dataclass
from typing import Literal

from streaming_shared.agent_config import (
    DEFAULT_MAX_TOOL_CALLS,
    GUARDRAIL_ID_PATTERN,
    GUARDRAIL_VERSION_PATTERN,
    MAX_OUTPUT_TOKENS_RANGE,
    MAX_TOOL_CALLS_CEILING,
)
from streaming_shared.edge import MAX_STREAM_SECONDS

ModelProvider = Literal["bedrock", "offline"]
MODEL_PROVIDERS: tuple[ModelProvider, ...] = ("bedrock", "offline")

DEFAULT_HOST = "0.0.0.0"  # the AgentCore container contract: port 8080 on every interface
DEFAULT_PORT = 8080
DEFAULT_MAX_SESSIONS = 100
DEFAULT_OFFLINE_DELAY_MS = 40
# AGENT_TURN_TIME_LIMIT_SECONDS: the agent ends a turn that has run this long (docs/http-contract.md, the turn limits).
# Unset: no limit. The ceiling is API Gateway's 15-minute stream limit: nobody reads a turn past it.
TURN_TIME_LIMIT_SECONDS_RANGE = (1, MAX_STREAM_SECONDS)
# AgentCore Memory ids as the service model allows them: <name>-<10 characters>, or the full ARN.
MEMORY_ID_PATTERN = re.compile(
    r"(arn:(aws|aws-cn|aws-us-gov):bedrock-agentcore:[a-z0-9-]+:[0-9]{12}:memory/)?[a-zA-Z][a-zA-Z0-9_-]{0,99}-[a-zA-Z0-9]{10}"
)
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


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
    # AgentCore Memory id (AGENT_MEMORY_ID): conversations are kept there and survive a new microVM.
    memory_id: str | None = None
    # AGENT_OBSERVABILITY_ENABLED: the runtime is started under opentelemetry-instrument (ADOT).
    observability_enabled: bool = False
    # OFFLINE_MODEL_MARKDOWN: the offline model answers every prompt as [[markdown]] does (screenshots).
    offline_markdown: bool = False
    # AGENT_GUARDRAIL_ID / AGENT_GUARDRAIL_VERSION: the Bedrock guardrail the model applies to
    # prompts and answers (both or neither).
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    # AGENT_MAX_OUTPUT_TOKENS: most tokens one model call may answer with; None: the model's own limit.
    max_output_tokens: int | None = None
    # AGENT_TURN_TIME_LIMIT_SECONDS: seconds after which the agent ends a turn; None: no limit.
    turn_time_limit_seconds: int | None = None
    # AGENT_MAX_TOOL_CALLS: the most tool calls one turn may make; the turn is stopped beyond it.
    max_tool_calls: int = DEFAULT_MAX_TOOL_CALLS
    # AGENT_STREAM_TOOL_CONTENT: tool events carry the tool's input and result (they may hold user data).
    stream_tool_content: bool = False


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


def _optional_integer(environ: Mapping[str, str], name: str, allowed: tuple[int, int]) -> int | None:
    if _optional(environ, name) is None:
        return None
    return _integer(environ, name, allowed[0], *allowed)


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


def _boolean(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _optional(environ, name)
    if raw is None:
        return default
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise AgentConfigurationError(f"{name} must be one of {', '.join(TRUE_WORDS + FALSE_WORDS)}, got {raw!r}")


def _memory_id(environ: Mapping[str, str]) -> str | None:
    memory_id = _optional(environ, "AGENT_MEMORY_ID")
    if memory_id is not None and not MEMORY_ID_PATTERN.fullmatch(memory_id):
        raise AgentConfigurationError(
            f"AGENT_MEMORY_ID must be an AgentCore Memory id (<name>-<10 letters or digits>) or its ARN, got {memory_id!r}"
        )
    return memory_id


def _guardrail(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    guardrail_id = _optional(environ, "AGENT_GUARDRAIL_ID")
    version = _optional(environ, "AGENT_GUARDRAIL_VERSION")
    if (guardrail_id is None) != (version is None):
        raise AgentConfigurationError(
            "AGENT_GUARDRAIL_ID and AGENT_GUARDRAIL_VERSION go together: set both to apply a guardrail, or neither"
        )
    if guardrail_id is not None and not GUARDRAIL_ID_PATTERN.fullmatch(guardrail_id):
        raise AgentConfigurationError(
            f"AGENT_GUARDRAIL_ID must be a guardrail id (lower-case letters and digits) or its ARN, got {guardrail_id!r}"
        )
    if version is not None and not GUARDRAIL_VERSION_PATTERN.fullmatch(version):
        raise AgentConfigurationError(
            f"AGENT_GUARDRAIL_VERSION must be a version number (1, 2, ...) or 'DRAFT', got {version!r}"
        )
    return guardrail_id, version


def load_settings(environ: Mapping[str, str]) -> AgentSettings:
    """Parse and validate the agent's environment variables."""
    provider = _model_provider(environ)
    model_id = _optional(environ, "BEDROCK_MODEL_ID")
    if provider == "bedrock" and model_id is None:
        raise AgentConfigurationError(
            "BEDROCK_MODEL_ID is required when AGENT_MODEL_PROVIDER is 'bedrock' (the default); "
            "set it to a model or inference-profile id, or set AGENT_MODEL_PROVIDER=offline"
        )
    guardrail_id, guardrail_version = _guardrail(environ)
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
        memory_id=_memory_id(environ),
        observability_enabled=_boolean(environ, "AGENT_OBSERVABILITY_ENABLED", False),
        offline_markdown=_boolean(environ, "OFFLINE_MODEL_MARKDOWN", False),
        guardrail_id=guardrail_id,
        guardrail_version=guardrail_version,
        max_output_tokens=_optional_integer(environ, "AGENT_MAX_OUTPUT_TOKENS", MAX_OUTPUT_TOKENS_RANGE),
        turn_time_limit_seconds=_optional_integer(environ, "AGENT_TURN_TIME_LIMIT_SECONDS",
                                                  TURN_TIME_LIMIT_SECONDS_RANGE),
        max_tool_calls=_integer(environ, "AGENT_MAX_TOOL_CALLS", DEFAULT_MAX_TOOL_CALLS, 1, MAX_TOOL_CALLS_CEILING),
        stream_tool_content=_boolean(environ, "AGENT_STREAM_TOOL_CONTENT", False),
    )
