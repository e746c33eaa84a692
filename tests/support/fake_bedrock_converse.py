"""A fake of Bedrock's ConverseStream with a guardrail, for Strands' real BedrockModel (its boto3 client).

It answers the way Bedrock documents a guardrail in ConverseStream (synchronous mode):
- The input judged is the request's `guardContent` blocks when it has any, else the text of every
  message (Bedrock User Guide, "Include a guardrail with the Converse API": guardContent makes the
  guardrail judge only that content, e.g. the latest message).
- A blocked input: only the guardrail's blocked-input message, no model inference.
- A blocked answer: the blocked-output message instead of the answer.
- A card number (PII set to ANONYMIZE): replaced by `{CREDIT_DEBIT_CARD_NUMBER}` in the streamed
  answer (Bedrock User Guide, "Remove PII from conversations by using sensitive information filters").
- Any intervention: stop reason `guardrail_intervened` and the trace in the metadata event,
  `inputAssessment` for the prompt and `outputAssessments` for the answer, shaped as botocore's
  bedrock-runtime model says (`check_shape` verifies that against the installed service model).
Events are dicts as botocore parses the ConverseStream event stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session

GUARDRAIL_ID = "ab12cd34ef56"
BLOCKED_WORD = "FORBIDDEN"
CARD_NUMBER = re.compile(r"\b\d{4}(?: \d{4}){3}\b")
CARD_MASK = "{CREDIT_DEBIT_CARD_NUMBER}"
BLOCKED_INPUT_MESSAGE = "Sorry, the guardrail blocked this request."
BLOCKED_OUTPUT_MESSAGE = "Sorry, the guardrail blocked this answer."


def echo(prompt: str) -> str:
    return f'You said: "{prompt}".'


def _texts(block: dict[str, Any]) -> list[str]:
    if "text" in block:
        return [block["text"]]
    guarded = block.get("guardContent", {}).get("text", {}).get("text")
    return [guarded] if guarded is not None else []


def _content_filter() -> dict[str, Any]:
    return {"contentPolicy": {"filters": [
        {"type": "MISCONDUCT", "confidence": "HIGH", "filterStrength": "HIGH", "action": "BLOCKED", "detected": True},
    ]}}


def _masked(matches: list[str]) -> dict[str, Any]:
    return {"sensitiveInformationPolicy": {"piiEntities": [
        {"match": value, "type": "CREDIT_DEBIT_CARD_NUMBER", "action": "ANONYMIZED", "detected": True}
        for value in matches
    ], "regexes": []}}


@dataclass
class FakeConverseStream:
    """Stands in for `BedrockModel.client.converse_stream`; records every request it was sent."""

    answer_for: Callable[[str], str] = echo
    requests: list[dict[str, Any]] = field(default_factory=list)
    traces: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"stream": self._events(request)}

    def _events(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        messages = request["messages"]
        guarded = [block for message in messages for block in message["content"] if "guardContent" in block]
        judged = " ".join(text for block in (guarded or [b for m in messages for b in m["content"]])
                          for text in _texts(block))
        latest = " ".join(text for block in messages[-1]["content"] for text in _texts(block))
        trace: dict[str, Any] = {}
        if BLOCKED_WORD in judged:
            trace["inputAssessment"] = {GUARDRAIL_ID: _content_filter()}
            text = BLOCKED_INPUT_MESSAGE
        else:
            if CARD_NUMBER.search(judged):
                trace["inputAssessment"] = {GUARDRAIL_ID: _masked(CARD_NUMBER.findall(judged))}
            text = self.answer_for(latest)
            if BLOCKED_WORD in text:
                trace["outputAssessments"] = {GUARDRAIL_ID: [_content_filter()]}
                text = BLOCKED_OUTPUT_MESSAGE
            elif CARD_NUMBER.search(text):
                trace["outputAssessments"] = {GUARDRAIL_ID: [_masked(CARD_NUMBER.findall(text))]}
                text = CARD_NUMBER.sub(CARD_MASK, text)
        yield {"messageStart": {"role": "assistant"}}
        for piece in re.findall(r"\S+\s*", text):
            yield {"contentBlockDelta": {"delta": {"text": piece}, "contentBlockIndex": 0}}
        yield {"contentBlockStop": {"contentBlockIndex": 0}}
        yield {"messageStop": {"stopReason": "guardrail_intervened" if trace else "end_turn"}}
        metadata: dict[str, Any] = {"usage": {"inputTokens": len(judged.split()), "outputTokens": len(text.split()),
                                              "totalTokens": len(judged.split()) + len(text.split())},
                                    "metrics": {"latencyMs": 1}}
        if trace:
            metadata["trace"] = {"guardrail": trace}
            self.traces.append(trace)
        yield {"metadata": metadata}

    def sent_texts(self, call: int) -> list[tuple[str, str]]:
        """(role, text) of every text block the given call sent, guardContent unwrapped."""
        return [(message["role"], text) for message in self.requests[call]["messages"]
                for block in message["content"] for text in _texts(block)]


def check_shape(value: Any, shape_name: str, service: str = "bedrock-runtime") -> list[str]:
    """Where `value` disagrees with the installed botocore service model's shape (members, required, enums)."""
    model = botocore.session.get_session().get_service_model(service)
    return _shape_errors(value, model.shape_for(shape_name), shape_name)


def _shape_errors(value: Any, shape: Any, path: str) -> list[str]:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        errors = [f"{path}.{name}: required" for name in shape.required_members if name not in value]
        for name, member in value.items():
            if name not in shape.members:
                errors.append(f"{path}.{name}: not a member of {shape.name}")
            else:
                errors += _shape_errors(member, shape.members[name], f"{path}.{name}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [error for index, item in enumerate(value) for error in _shape_errors(item, shape.member, f"{path}[{index}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        return [error for key, item in value.items() for error in _shape_errors(item, shape.value, f"{path}[{key}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string"]
        return [f"{path}: {value!r} not one of {shape.enum}"] if shape.enum and value not in shape.enum else []
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean"]
    return []
