"""The deployed agent's model: Strands' BedrockModel, redacting only what its guardrail blocked.

A module of its own so that only the Bedrock path imports the Bedrock provider (model_factory.py).
"""

from __future__ import annotations

from strands.models.bedrock import BedrockModel

from .guardrail import RedactsOnlyTheBlockedSide


class GuardedBedrockModel(RedactsOnlyTheBlockedSide, BedrockModel):
    """BedrockModel whose guardrail redaction keeps the side that was not blocked (guardrail.py)."""
