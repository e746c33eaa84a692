"""Builds the one model instance a process uses, from settings."""

from __future__ import annotations

import boto3
import botocore.exceptions
from strands.models import Model

from .offline_model import OfflineEchoModel
from .settings import AgentConfigurationError, AgentSettings

NO_CREDENTIALS_MESSAGE = (
    "no AWS credentials for Bedrock; set AGENT_MODEL_PROVIDER=offline for the offline model"
)


def build_model(settings: AgentSettings) -> Model:
    if settings.model_provider == "offline":
        return OfflineEchoModel(delay_ms=settings.offline_delay_ms, trace_file=settings.offline_trace_file,
                                markdown=settings.offline_markdown, max_tokens=settings.max_output_tokens)
    return _build_bedrock_model(settings)


def _build_bedrock_model(settings: AgentSettings) -> Model:
    # Imported here so the offline path never pays for (or depends on) the Bedrock provider.
    from strands.models.bedrock import BedrockModel

    try:
        session = boto3.Session(region_name=settings.aws_region)
        # Resolving credentials now turns a missing role or profile into a start-up error
        # instead of a failure on the first user's turn.
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as error:  # e.g. AWS_PROFILE names no profile
        raise AgentConfigurationError(f"{NO_CREDENTIALS_MESSAGE} ({type(error).__name__}: {error})") from error
    if credentials is None:
        raise AgentConfigurationError(NO_CREDENTIALS_MESSAGE)
    if session.region_name is None:
        raise AgentConfigurationError(
            "AWS_REGION (or AWS_DEFAULT_REGION) is required when AGENT_MODEL_PROVIDER is 'bedrock'"
        )
    return BedrockModel(
        boto_session=session, model_id=settings.bedrock_model_id, streaming=True,
        **output_limit_config(settings), **guardrail_config(settings),
    )


def output_limit_config(settings: AgentSettings) -> dict[str, object]:
    """BedrockModel's max_tokens, which it sends as the Converse API's inferenceConfig.maxTokens."""
    return {} if settings.max_output_tokens is None else {"max_tokens": settings.max_output_tokens}


def guardrail_config(settings: AgentSettings) -> dict[str, object]:
    """BedrockModel's guardrail settings: applied to the prompt and the answer, checked before streaming."""
    if settings.guardrail_id is None:
        return {}
    return {
        "guardrail_id": settings.guardrail_id,
        "guardrail_version": settings.guardrail_version,
        # The trace tells BLOCKED from ANONYMIZED (masked PII), so only a real block ends the turn.
        "guardrail_trace": "enabled",
        # sync (Bedrock's default, named so it stays): each chunk is checked before Bedrock sends it,
        # so no unchecked text ever streams; the price is some latency per chunk (README, Guardrails).
        "guardrail_stream_processing_mode": "sync",
        # A blocked prompt and a blocked answer are replaced in the session's history, so the next
        # turn never sends them to the model again.
        "guardrail_redact_input": True,
        "guardrail_redact_output": True,
    }
