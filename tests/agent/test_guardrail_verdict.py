"""guardrail.py on its own: what a trace says was blocked, and which redactions pass (issue 18)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from streaming_agent.guardrail import GuardrailVerdict, TurnGuardrail, redact_only_the_blocked_side

USER = {"redactContent": {"redactUserContentMessage": "[User input redacted.]"}}
ASSISTANT = {"redactContent": {"redactAssistantContentMessage": "[Assistant output redacted.]"}}
BLOCKED_FILTER = {"contentPolicy": {"filters": [{"type": "HATE", "confidence": "HIGH", "action": "BLOCKED", "detected": True}]}}
MASKED_CARD = {"sensitiveInformationPolicy": {"piiEntities": [
    {"match": "4111 1111 1111 1111", "type": "CREDIT_DEBIT_CARD_NUMBER", "action": "ANONYMIZED", "detected": True}],
    "regexes": []}}


def metadata(trace: dict[str, Any] | None) -> dict[str, Any]:
    chunk: dict[str, Any] = {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}, "metrics": {"latencyMs": 1}}
    if trace is not None:
        chunk["trace"] = {"guardrail": trace}
    return {"metadata": chunk}


def filtered(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    async def source():  # type: ignore[no-untyped-def]
        for event in events:
            yield event

    async def collect() -> list[dict[str, Any]]:
        return [event async for event in redact_only_the_blocked_side(source())]

    return asyncio.run(collect())


STOP = {"messageStop": {"stopReason": "guardrail_intervened"}}


@pytest.mark.parametrize(
    ("trace", "kept"),
    [
        ({"outputAssessments": {"g": [BLOCKED_FILTER]}}, [ASSISTANT]),
        ({"inputAssessment": {"g": BLOCKED_FILTER}}, [USER]),
        ({"inputAssessment": {"g": BLOCKED_FILTER}, "outputAssessments": {"g": [BLOCKED_FILTER]}}, [USER, ASSISTANT]),
        ({"inputAssessment": {"g": MASKED_CARD}, "outputAssessments": {"g": [MASKED_CARD]}}, []),
    ],
)
def test_only_the_blocked_sides_redaction_passes_in_either_order(trace: dict[str, Any], kept: list[dict[str, Any]]) -> None:
    # BedrockModel's streaming order (redactions just before the metadata) and its non-streaming one (after).
    before = filtered([STOP, USER, ASSISTANT, metadata(trace)])
    after = filtered([STOP, metadata(trace), USER, ASSISTANT])
    assert before == after == [STOP, metadata(trace), *kept]


def test_without_a_trace_the_redactions_stay_as_configured() -> None:
    # A guardrail with trace off: nothing tells the sides apart, so nothing is dropped.
    assert filtered([STOP, USER, ASSISTANT]) == [STOP, USER, ASSISTANT]
    assert filtered([STOP, USER, ASSISTANT, metadata(None)]) == [STOP, metadata(None), USER, ASSISTANT]


def test_a_verdict_needs_a_detected_blocked_entry() -> None:
    assert GuardrailVerdict.of({"outputAssessments": {"g": [BLOCKED_FILTER]}}) == GuardrailVerdict(output_blocked=True)
    assert not GuardrailVerdict.of({"inputAssessment": {"g": MASKED_CARD}}).blocked
    undetected = {"contentPolicy": {"filters": [{"type": "HATE", "confidence": "LOW", "action": "NONE", "detected": False}]}}
    assert not GuardrailVerdict.of({"inputAssessment": {"g": undetected}}).blocked
    not_detected = {"contentPolicy": {"filters": [{"type": "HATE", "confidence": "LOW", "action": "BLOCKED", "detected": False}]}}
    assert not GuardrailVerdict.of({"inputAssessment": {"g": not_detected}}).blocked


def test_a_turn_is_blocked_by_a_blocking_trace_or_by_the_stop_reason_alone_when_no_trace_came() -> None:
    masked = TurnGuardrail()
    masked.observe(metadata({"outputAssessments": {"g": [MASKED_CARD]}}))
    assert not masked.blocked_turn("guardrail_intervened")
    blocked = TurnGuardrail()
    blocked.observe({"contentBlockDelta": {"delta": {"text": "x"}}})
    blocked.observe(metadata({"inputAssessment": {"g": BLOCKED_FILTER}}))
    assert blocked.blocked_turn("guardrail_intervened")
    untraced = TurnGuardrail()
    untraced.observe(metadata(None))
    assert untraced.blocked_turn("guardrail_intervened") and not untraced.blocked_turn("end_turn")
