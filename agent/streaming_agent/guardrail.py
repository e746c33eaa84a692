"""How the agent handles a Bedrock guardrail's verdict: the trace decides, and only what was blocked goes.

Bedrock ends a model call with the stop reason `guardrail_intervened` both when its guardrail
blocked the prompt or the answer and when it only masked (ANONYMIZED) sensitive information in
place. Only the guardrail trace (`metadata.trace.guardrail` of ConverseStream) tells them apart: a
policy entry with `"action": "BLOCKED"` and `"detected": true` is a block; `ANONYMIZED` entries are
masks, already replaced in the text the client received (`{CREDIT_DEBIT_CARD_NUMBER}`).
Strands' BedrockModel reads the trace the same way (`_should_redact_guardrail_content`), but then
redacts both the prompt and the answer whichever of the two was blocked (strands-agents 1.62.0,
strands-agents/harness-sdk#3613); `redact_only_the_blocked_side` passes on only the redaction of
the side that was blocked.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from strands.types.streaming import StreamEvent

# Strands' (and Bedrock's) stop reason when the guardrail blocked or masked something.
GUARDRAIL_INTERVENED = "guardrail_intervened"

# Only the latest user message goes through the guardrail (wrapped in guardContent): earlier turns
# were judged when they were new, and judging them again would make one masked value, or one
# blocked prompt kept in a history, intervene on every later turn. The offline model takes the
# same option, so local runs judge the messages Bedrock does.
GUARDRAIL_LATEST_MESSAGE_ONLY = True

# The agent's guardrail handling, in Strands' BedrockModel option names.
GUARDRAIL_HANDLING: dict[str, object] = {
    # The trace tells BLOCKED from ANONYMIZED (masked PII), so only a real block ends the turn.
    "guardrail_trace": "enabled",
    # sync (Bedrock's default, named so it stays): each chunk is checked before Bedrock sends it,
    # so no unchecked text ever streams; the price is some latency per chunk (docs/deploying.md, "Guardrails").
    "guardrail_stream_processing_mode": "sync",
    # A blocked prompt or a blocked answer is replaced in the session's history, so the next turn
    # never sends it to the model again (redact_only_the_blocked_side keeps the other side).
    "guardrail_redact_input": True,
    "guardrail_redact_output": True,
    "guardrail_latest_message": GUARDRAIL_LATEST_MESSAGE_ONLY,
}


def blocks(assessment: Any) -> bool:
    """Whether a guardrail assessment (any part of it) holds a policy entry that was detected and BLOCKED."""
    if isinstance(assessment, Mapping):
        if assessment.get("action") == "BLOCKED" and assessment.get("detected") is True:
            return True
        return any(blocks(value) for value in assessment.values())
    if isinstance(assessment, list):
        return any(blocks(item) for item in assessment)
    return False


@dataclass(frozen=True)
class GuardrailVerdict:
    """What one model call's guardrail trace says was blocked (masks are not blocks)."""

    input_blocked: bool = False
    output_blocked: bool = False

    @property
    def blocked(self) -> bool:
        return self.input_blocked or self.output_blocked

    @classmethod
    def of(cls, guardrail_trace: Mapping[str, Any]) -> GuardrailVerdict:
        """Read `metadata.trace.guardrail`: `inputAssessment` judged the prompt, `outputAssessments` the answer."""
        return cls(input_blocked=blocks(guardrail_trace.get("inputAssessment")),
                   output_blocked=blocks(guardrail_trace.get("outputAssessments")))


def guardrail_trace(chunk: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The guardrail trace a model stream chunk carries (only a `metadata` chunk does), else None."""
    metadata = chunk.get("metadata")
    trace = metadata.get("trace") if isinstance(metadata, Mapping) else None
    found = trace.get("guardrail") if isinstance(trace, Mapping) else None
    return found if isinstance(found, Mapping) else None


def _keeps(redaction: Mapping[str, Any], verdict: GuardrailVerdict | None) -> bool:
    if verdict is None:
        # No trace (a guardrail with trace off): nothing tells the sides apart, so redact as configured.
        return True
    if redaction.get("redactUserContentMessage") is not None:
        return verdict.input_blocked
    return verdict.output_blocked


async def redact_only_the_blocked_side(events: AsyncGenerator[StreamEvent, None]) -> AsyncIterator[StreamEvent]:
    """A model's stream with only the redaction of the side the guardrail blocked.

    BedrockModel emits its `redactContent` events just before the `metadata` chunk whose trace
    caused them (or at the end when no metadata came), so they are held until the trace is known.
    """
    async with contextlib.aclosing(events):  # a turn that stops early closes the provider's stream too
        async for event in _only_the_blocked_side(events):
            yield event


async def _only_the_blocked_side(events: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    held: list[StreamEvent] = []
    verdict: GuardrailVerdict | None = None
    async for event in events:
        redaction = event.get("redactContent")
        if isinstance(redaction, Mapping):
            if verdict is None:
                held.append(event)
            elif _keeps(redaction, verdict):
                yield event
            continue
        trace = guardrail_trace(event)
        if trace is not None:
            verdict = GuardrailVerdict.of(trace)
        yield event
        if trace is not None:
            for kept in held:
                if _keeps(kept["redactContent"], verdict):
                    yield kept
            held = []
    for kept in held:
        if _keeps(kept["redactContent"], verdict):
            yield kept


class RedactsOnlyTheBlockedSide:
    """Mixin for a Strands model provider (list it first): its stream goes through redact_only_the_blocked_side."""

    def stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[StreamEvent]:
        return redact_only_the_blocked_side(super().stream(*args, **kwargs))  # type: ignore[misc]


@dataclass
class TurnGuardrail:
    """One turn's guardrail outcome, from the raw model chunks the agent streamed."""

    blocked: bool = False
    traced: bool = False

    def observe(self, chunk: Any) -> None:
        trace = guardrail_trace(chunk) if isinstance(chunk, Mapping) else None
        if trace is not None:
            self.traced = True
            self.blocked = self.blocked or GuardrailVerdict.of(trace).blocked

    def blocked_turn(self, stop_reason: str | None) -> bool:
        """Blocked when a trace says so; with no trace at all, the stop reason is all there is (as in Strands)."""
        return self.blocked or (not self.traced and stop_reason == GUARDRAIL_INTERVENED)
