"""Builds the one model instance a process uses, from settings."""

from __future__ import annotations

import boto3
import botocore.exceptions
from strands.models import Model

from .guardrail import GUARDRAIL_HANDLING, GUARDRAIL_LATEST_MESSAGE_ONLY
from .settings import AgentConfigurationError, AgentSettings

NO_CREDENTIALS_MESSAGE = (
    "no AWS credentials for Bedrock: sign in to AWS (aws sso login --profile NAME with AWS_PROFILE=NAME, "
    "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or set AGENT_MODEL_PROVIDER=offline for the offline model"
)

# The offline model is test code that no zip or image carries (agent/offline_model/__init__.py).
OFFLINE_MODEL_NOT_DEPLOYED_MESSAGE = (
    "AGENT_MODEL_PROVIDER is 'offline', but the offline model is not deployed: it is test-only code "
    "that runs from a checkout (the local stack, the tests, the bench), and the agent's zip and image "
    "leave it out. A deployed agent needs AGENT_MODEL_PROVIDER=bedrock (or unset, which means bedrock)"
)


def build_model(settings: AgentSettings) -> Model:
    if settings.model_provider == "offline":
        return _build_offline_model(settings)
    return _build_bedrock_model(settings)


def _build_offline_model(settings: AgentSettings) -> Model:
    # Imported here, never at module level: only a checkout has the package (agent/offline_model/).
    try:
        from offline_model.model import GuardedOfflineModel
    except ModuleNotFoundError as error:
        if error.name != "offline_model":
            raise
        raise AgentConfigurationError(OFFLINE_MODEL_NOT_DEPLOYED_MESSAGE) from None
    return GuardedOfflineModel(
        delay_ms=settings.offline_delay_ms, trace_file=settings.offline_trace_file,
        markdown=settings.offline_markdown,
        guardrail_latest_message=GUARDRAIL_LATEST_MESSAGE_ONLY, max_tokens=settings.max_output_tokens,
    )


def _build_bedrock_model(settings: AgentSettings) -> Model:
    # Imported here so the offline path never pays for (or depends on) the Bedrock provider.
    from .bedrock_model import GuardedBedrockModel

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
    return GuardedBedrockModel(
        boto_session=session, model_id=settings.bedrock_model_id, streaming=True,
        **output_limit_config(settings), **guardrail_config(settings),
    )


def output_limit_config(settings: AgentSettings) -> dict[str, object]:
    """BedrockModel's max_tokens, which it sends as the Converse API's inferenceConfig.maxTokens."""
    return {} if settings.max_output_tokens is None else {"max_tokens": settings.max_output_tokens}


def guardrail_config(settings: AgentSettings) -> dict[str, object]:
    """BedrockModel's guardrail settings: the guardrail, and how the agent handles it (guardrail.py)."""
    if settings.guardrail_id is None:
        return {}
    return {"guardrail_id": settings.guardrail_id, "guardrail_version": settings.guardrail_version,
            **GUARDRAIL_HANDLING}
