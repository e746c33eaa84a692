"""OfflineEchoModel: a real Strands model provider that needs no network and no AWS account.

It is selected only by AGENT_MODEL_PROVIDER=offline, for the local stack, tests and benchmarks.
Its reply is deterministic and shows the conversation it was given, so a test can tell whether
a session kept its history:

    Offline model, turn {n}. You said: "{latest prompt}".  Earlier you said: "{first prompt}".

(the "Earlier" sentence only from the second user turn on). The reply streams as word pieces (a
word with its trailing whitespace), each one after the configured delay, the first one included.

Test directives, written anywhere in the latest prompt and removed from the echoed text:

    [[pause:SECONDS]]    stay silent SECONDS (float) before the first piece (a cancelled turn
                         ends the pause at once, as a real provider aborts its request)
    [[pieces:N]]         reply with exactly N pieces "w0 ", "w1 ", ... instead of the echo
    [[bytes:N]]          reply with N bytes of ASCII text in all, in pieces of [[piece-size:K]]
                         bytes (default 1024)
    [[piece-size:K]]     piece size for [[bytes:N]]
    [[delay-ms:N]]       delay between pieces for this turn only (0 allowed)
    [[fail-after:N]]     raise OfflineModelFailure after N pieces; its message contains the
                         marker SECRET-INTERNAL-DETAIL so tests can prove it never reaches a client
    [[markdown]]         reply with MARKDOWN_ANSWER (a heading, emphasis, a list, a table, a code
                         block and a link), in word pieces, as a real model formats an answer

Constructed with markdown=True (OFFLINE_MODEL_MARKDOWN=1), every reply without another reply
directive is MARKDOWN_ANSWER, as if the prompt said [[markdown]] (for the screenshots in docs/).

    [[guardrail:input]]  simulate a Bedrock guardrail blocking the prompt: the reply is only the
                         guardrail's blocked-input message, stop reason guardrail_intervened
    [[guardrail:output]] simulate the guardrail blocking the answer part-way: the reply's first
                         sentence ("Offline model, turn N."), then the blocked-output message in place
                         of the rest (the echo of the prompt never streams), stop reason
                         guardrail_intervened
    [[guardrail:mask]]   simulate a prompt carrying a card number that the guardrail masks
                         (ANONYMIZE): the usual reply, then "The card number on file is
                         {CREDIT_DEBIT_CARD_NUMBER}." (the card number replaced the way Bedrock
                         replaces it), stop reason guardrail_intervened, a trace saying ANONYMIZED

Tools (the agent's tools are in tools.py; Strands runs them, this model only asks):

    [[tool:NAME]]               ask for the tool NAME with the input {} ...
    [[tool:NAME {json input}]]  ... or with this JSON object as its input

The model call asks for the next tool the latest prompt names that this turn has not asked for yet,
in the order written (a real `toolUse` content block: contentBlockStart with the toolUse id and name,
a contentBlockDelta with the input as JSON text, contentBlockStop, messageStop with stop reason
`tool_use`), and streams no text; so a prompt naming a tool twice calls it twice. Once every named
tool has been asked for, the reply echoes what each returned, in order:

    Offline model, turn {n}. Tool current_time returned: "2026-12-06T15:00:00+00:00". ...

("failed" instead of "returned" for a tool result with status error, which carries Strands' "Error:
..." text). The toolUse ids are `tooluse_offline_{turn}_{k}`, k counting this turn's requests from 1.

    [[narrate]]          each call that asks for a tool first streams the text "Calling NAME. "

A simulated intervention streams what Bedrock streams with a guardrail in synchronous mode
(text that passed the check, then the guardrail's message instead of the blocked text, or the
text with its masks), followed by the metadata trace (shaped as botocore's
GuardrailTraceAssessment: `inputAssessment` judged the prompt, `outputAssessments` the answer).
A block also brings the redactContent events Strands' BedrockModel emits just before that
metadata: with both redaction flags on it redacts the prompt and the answer whichever side was
blocked (strands-agents 1.62.0), and so does this model; a mask brings none.

Like Bedrock, the simulated guardrail judges every user message of the conversation unless the
model was built with guardrail_latest_message=True (BedrockModel's option, which sends only the
latest user message in guardContent): then a masked card number in an earlier prompt, or a
blocked prompt kept in the history, makes the later turns intervene again.

Constructed with max_tokens=N (AGENT_MAX_OUTPUT_TOKENS, as BedrockModel's max_tokens), a reply of more
than N pieces stops after N of them with stop reason max_tokens, as Bedrock ends an answer that
reaches inferenceConfig.maxTokens (its metadata then reports N output tokens).

Usage, reported like Bedrock's ConverseStream in a final `metadata` event once the reply is complete
(none for a turn that fails or is cancelled, as Bedrock sends none either):

    inputTokens   the number of whitespace-separated words in the text of every message the model
                  was given (the whole conversation so far, user and assistant turns, directives
                  included as written; the system prompt, tool requests and tool results are not
                  counted)
    outputTokens  the number of pieces streamed (and 1 for a tool request)
    totalTokens   inputTokens + outputTokens
    latencyMs     (in `metrics`) milliseconds from the request to the last piece

So a first turn "hello streaming world" costs 3 input tokens, and a test can predict every count.

When OFFLINE_MODEL_TRACE_FILE is set, one JSON line {"t": time.monotonic(), "index": i} is appended
per piece at the moment the piece is produced (never any text).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import string
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar

from pydantic import BaseModel
from strands.models import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from streaming_agent.guardrail import RedactsOnlyTheBlockedSide

from .directives import Directives, asked_guardrail, parse_directives, without_directives

T = TypeVar("T", bound=BaseModel)

OFFLINE_MODEL_ID = "offline-echo"
SECRET_MARKER = "SECRET-INTERNAL-DETAIL"
# What the simulated guardrail answers instead of blocked text (a real guardrail's
# blockedInputMessaging / blockedOutputsMessaging).
OFFLINE_BLOCKED_INPUT_MESSAGE = "Offline guardrail: this request was blocked."
OFFLINE_BLOCKED_OUTPUT_MESSAGE = "Offline guardrail: the answer was blocked."
# Strands BedrockModel's default redaction texts, which replace blocked turns in the history.
REDACTED_INPUT = "[User input redacted.]"
REDACTED_OUTPUT = "[Assistant output redacted.]"
# [[guardrail:mask]]: the card number the answer would have said (a well-known test number), and
# what Bedrock streams in its place: the PII type in braces (Bedrock User Guide, sensitive filters).
OFFLINE_CARD_NUMBER = "4111 1111 1111 1111"
CARD_NUMBER_MASK = "{CREDIT_DEBIT_CARD_NUMBER}"
MASKED_SENTENCE = f"The card number on file is {CARD_NUMBER_MASK}."
# Guardrail trace actions (botocore bedrock-runtime: GuardrailContentPolicyAction, GuardrailSensitiveInformationPolicyAction).
BLOCKED = "BLOCKED"
ANONYMIZED = "ANONYMIZED"
_WORD_PIECE = re.compile(r"\S+\s*")
_FILLER = string.ascii_lowercase + string.digits
# What [[markdown]] answers: the kinds of markdown a model writes, for the chat page's rendering.
MARKDOWN_ANSWER = """## Streaming on AWS

**API Gateway** can stream a Lambda response *as it is written*:

1. The page posts the prompt to `/invoke`.
2. The proxy relays each `delta` event.
3. The page renders the markdown so far.

| Endpoint | Silent stream cut after |
| --- | --- |
| REGIONAL | 5 minutes |
| EDGE | 30 seconds |

```python
for event in stream_invoke(url, "Hello"):
    print(event.text, end="")
```

See [response streaming](https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html) for details.
"""


class OfflineModelFailure(RuntimeError):
    """The failure [[fail-after:N]] asks for."""


class OfflineModelConfig(TypedDict, total=False):
    model_id: str
    delay_ms: int
    trace_file: str | None
    markdown: bool
    # BedrockModel's option of the same name: the guardrail judges only the latest user message.
    guardrail_latest_message: bool
    max_tokens: int | None


def _prompt_text(message: Mapping[str, Any]) -> str | None:
    """The text of a user turn's prompt; None for other messages (tool results are not turns)."""
    if message.get("role") != "user":
        return None
    texts = [block["text"] for block in message.get("content", []) if "text" in block]
    if texts and not any("toolResult" in block for block in message.get("content", [])):
        return " ".join(texts)
    return None


def _user_prompts(messages: Messages) -> list[str]:
    """The text of each user turn, oldest first."""
    return [text for message in messages if (text := _prompt_text(message)) is not None]


def _current_turn(messages: Messages) -> Messages:
    """The messages after the latest prompt: this turn's tool requests and tool results so far."""
    for index in range(len(messages) - 1, -1, -1):
        if _prompt_text(messages[index]) is not None:
            return messages[index + 1 :]
    return []


@dataclass(frozen=True)
class ToolRequest:
    tool_use_id: str
    name: str
    input: dict[str, Any]


def next_tool_request(messages: Messages, directives: Directives, turn_number: int) -> ToolRequest | None:
    """The next tool the latest prompt names that this turn has not asked for, or None (module docstring)."""
    asked = sum(1 for message in _current_turn(messages) if message.get("role") == "assistant"
                for block in message.get("content", []) if "toolUse" in block)
    if asked >= len(directives.tools):
        return None
    name, tool_input = directives.tools[asked]
    return ToolRequest(f"tooluse_offline_{turn_number}_{asked + 1}", name, tool_input)


def _tool_result_text(result: Mapping[str, Any]) -> str:
    parts = [str(block["text"]) if "text" in block else json.dumps(block.get("json"))
             for block in result.get("content", []) if "text" in block or "json" in block]
    return " ".join(parts)


def _tool_echo(messages: Messages) -> str:
    """What this turn's tools returned, as the reply says it ("" when no tool ran)."""
    turn = _current_turn(messages)
    names = {block["toolUse"]["toolUseId"]: block["toolUse"]["name"] for message in turn
             for block in message.get("content", []) if "toolUse" in block}
    sentences = []
    for message in turn:
        for block in message.get("content", []):
            if "toolResult" in block:
                result = block["toolResult"]
                verb = "failed" if result.get("status") == "error" else "returned"
                name = names.get(result.get("toolUseId"), "unknown")
                sentences.append(f'Tool {name} {verb}: "{_tool_result_text(result)}".')
    return " ".join(sentences)


def count_input_tokens(messages: Messages) -> int:
    """The offline model's input tokens: words in the text of every message (module docstring)."""
    return sum(
        len(block["text"].split())
        for message in messages
        for block in message.get("content", [])
        if isinstance(block.get("text"), str)
    )


def _echo_pieces(prompts: list[str], tool_echo: str = "") -> list[str]:
    turn = len(prompts)
    if tool_echo:
        return _WORD_PIECE.findall(f"Offline model, turn {turn}. {tool_echo}")
    _, latest = parse_directives(prompts[-1])
    reply = f'Offline model, turn {turn}. You said: "{latest}".'
    if turn > 1:
        # Only the text of the first turn matters now; a bad directive it carried already
        # failed that turn and must not break every later one.
        reply += f' Earlier you said: "{without_directives(prompts[0])}".'
    return _WORD_PIECE.findall(reply)


def _byte_pieces(total_bytes: int, piece_size: int) -> list[str]:
    filler = "".join(itertools.islice(itertools.cycle(_FILLER), total_bytes))
    return [filler[start : start + piece_size] for start in range(0, total_bytes, piece_size)]


@dataclass(frozen=True)
class GuardrailSimulation:
    """What the simulated guardrail did to this turn, per side: None (passed), BLOCKED or ANONYMIZED."""

    input_action: str | None = None
    output_action: str | None = None

    @property
    def intervened(self) -> bool:
        return self.input_action is not None or self.output_action is not None

    @property
    def blocked(self) -> bool:
        return BLOCKED in (self.input_action, self.output_action)

    def trace(self) -> dict[str, Any]:
        """`metadata.trace.guardrail`: assessments keyed by the guardrail's id, as Bedrock reports them."""
        trace: dict[str, Any] = {}
        if self.input_action is not None:
            trace["inputAssessment"] = {"offline-guardrail": _assessment(self.input_action)}
        if self.output_action is not None:
            trace["outputAssessments"] = {"offline-guardrail": [_assessment(self.output_action)]}
        return trace


def _assessment(action: str) -> dict[str, Any]:
    """A GuardrailAssessment: a content filter that blocked, or a card number that was masked."""
    if action == BLOCKED:
        return {"contentPolicy": {"filters": [
            {"type": "MISCONDUCT", "confidence": "HIGH", "action": BLOCKED, "detected": True},
        ]}}
    return {"sensitiveInformationPolicy": {"piiEntities": [
        {"match": OFFLINE_CARD_NUMBER, "type": "CREDIT_DEBIT_CARD_NUMBER", "action": ANONYMIZED, "detected": True},
    ], "regexes": []}}


def simulate_guardrail(prompts: list[str], latest_message_only: bool = False) -> GuardrailSimulation:
    """The simulated guardrail's verdict on a conversation's user prompts (module docstring)."""
    judged = {asked_guardrail(prompt) for prompt in (prompts[-1:] if latest_message_only else prompts)}
    if "input" in judged:
        # A blocked prompt never reaches the model, so there is no answer to judge.
        return GuardrailSimulation(input_action=BLOCKED)
    latest = asked_guardrail(prompts[-1])
    return GuardrailSimulation(
        input_action=ANONYMIZED if "mask" in judged else None,
        output_action={"output": BLOCKED, "mask": ANONYMIZED}.get(latest or ""),
    )


def plan_reply(
    messages: Messages, markdown: bool = False, latest_message_only: bool = False
) -> tuple[Directives, list[str]]:
    """The directives of the latest turn and the pieces the model will stream for it.

    `markdown`: reply as [[markdown]] does unless the prompt asks for another reply.
    `latest_message_only`: the simulated guardrail judges only the latest prompt.
    """
    prompts = _user_prompts(messages)
    if not prompts:
        raise ValueError("the offline model needs at least one user message with text")
    directives, _ = parse_directives(prompts[-1])
    guardrail = simulate_guardrail(prompts, latest_message_only)
    if guardrail.input_action == BLOCKED:
        return directives, [OFFLINE_BLOCKED_INPUT_MESSAGE]
    if guardrail.output_action == BLOCKED:
        first_sentence = f"Offline model, turn {len(prompts)}. "
        return directives, [*_WORD_PIECE.findall(first_sentence), OFFLINE_BLOCKED_OUTPUT_MESSAGE]
    pieces = _unguarded_reply(directives, prompts, markdown, _tool_echo(messages))
    if guardrail.output_action == ANONYMIZED:
        if pieces and not pieces[-1][-1:].isspace():
            pieces[-1] += " "
        pieces += _WORD_PIECE.findall(MASKED_SENTENCE)
    return directives, pieces


def _unguarded_reply(directives: Directives, prompts: list[str], markdown: bool, tool_echo: str) -> list[str]:
    if directives.pieces is not None:
        return [f"w{index} " for index in range(directives.pieces)]
    if directives.total_bytes is not None:
        return _byte_pieces(directives.total_bytes, directives.piece_size)
    if directives.markdown or markdown:
        return _WORD_PIECE.findall(MARKDOWN_ANSWER)
    return _echo_pieces(prompts, tool_echo)


# Like Strands' own cancel watcher: a threading.Event has no async wait, so poll it on the loop.
_CANCEL_POLL_SECONDS = 0.05


async def _pause_unless_cancelled(seconds: float, cancel_signal: threading.Event | None) -> bool:
    """Sleep `seconds`; return False early if cancel_signal is set meanwhile.

    A real provider aborts a request that is still waiting for its first token when the turn is
    cancelled (Strands' BedrockModel does), so a long [[pause]] must not outlive a cancelled turn.
    """
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        if cancel_signal is not None and cancel_signal.is_set():
            return False
        await asyncio.sleep(min(remaining, _CANCEL_POLL_SECONDS))
    return cancel_signal is None or not cancel_signal.is_set()


def _usage_metadata(messages: Messages, output_tokens: int, started: float) -> dict[str, Any]:
    """A ConverseStream `metadata` chunk's usage and metrics, counted as the module docstring says."""
    input_tokens = count_input_tokens(messages)
    return {
        "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens,
                  "totalTokens": input_tokens + output_tokens},
        "metrics": {"latencyMs": int((time.monotonic() - started) * 1000)},
    }


class OfflineEchoModel(Model):
    """Deterministic streaming model for local runs and tests (see the module docstring)."""

    def __init__(
        self, *, delay_ms: int = 40, trace_file: str | None = None, markdown: bool = False,
        guardrail_latest_message: bool = False, max_tokens: int | None = None,
    ) -> None:
        self.config: OfflineModelConfig = {"model_id": OFFLINE_MODEL_ID, "delay_ms": delay_ms,
                                           "trace_file": trace_file, "markdown": markdown,
                                           "guardrail_latest_message": guardrail_latest_message,
                                           "max_tokens": max_tokens}

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)  # type: ignore[typeddict-item]

    def get_config(self) -> OfflineModelConfig:
        return self.config

    def _trace(self, index: int) -> None:
        trace_file = self.config.get("trace_file")
        if trace_file:
            # Opened per piece with O_APPEND so lines from concurrent turns never interleave.
            with open(trace_file, "a", encoding="utf-8") as trace:
                trace.write(json.dumps({"t": time.monotonic(), "index": index}) + "\n")

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterable[StreamEvent]:
        started = time.monotonic()
        latest_only = bool(self.config.get("guardrail_latest_message"))
        directives, pieces = plan_reply(messages, markdown=bool(self.config.get("markdown")),
                                        latest_message_only=latest_only)
        guardrail = simulate_guardrail(_user_prompts(messages), latest_only)
        max_tokens = self.config.get("max_tokens")
        stop_reason = "guardrail_intervened" if guardrail.intervened else "end_turn"
        if max_tokens is not None and len(pieces) > max_tokens:
            pieces, stop_reason = pieces[:max_tokens], "max_tokens"
        delay_ms = directives.delay_ms if directives.delay_ms is not None else self.config.get("delay_ms", 0)
        cancel_signal = kwargs.get("cancel_signal")
        request = None if guardrail.input_action == BLOCKED else next_tool_request(
            messages, directives, len(_user_prompts(messages)))
        if request is not None:
            async for event in self._ask_for_tool(request, directives, messages, delay_ms, cancel_signal, started):
                yield event
            return

        yield {"messageStart": {"role": "assistant"}}
        yield {"contentBlockStart": {"start": {}}}
        if directives.pause_seconds and not await _pause_unless_cancelled(directives.pause_seconds, cancel_signal):
            return
        for index, piece in enumerate(pieces):
            if directives.fail_after is not None and index >= directives.fail_after:
                break
            # Sleep first, so even the first piece comes one delay after the request: a test
            # can then see the caller's start event precede any model text.
            await asyncio.sleep(delay_ms / 1000)
            if cancel_signal is not None and cancel_signal.is_set():
                return
            self._trace(index)
            yield {"contentBlockDelta": {"delta": {"text": piece}}}
        if directives.fail_after is not None:
            raise OfflineModelFailure(
                f"offline model failed on request after {directives.fail_after} pieces ({SECRET_MARKER})"
            )
        yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": stop_reason}}
        metadata = _usage_metadata(messages, len(pieces), started)
        if guardrail.intervened:
            metadata["trace"] = {"guardrail": guardrail.trace()}
        if guardrail.blocked:
            # What BedrockModel 1.62 emits, just before the metadata chunk, for a trace with any
            # BLOCKED entry when guardrail_redact_input and guardrail_redact_output are both on.
            yield {"redactContent": {"redactUserContentMessage": REDACTED_INPUT}}
            yield {"redactContent": {"redactAssistantContentMessage": REDACTED_OUTPUT}}
        yield {"metadata": metadata}  # type: ignore[misc]

    async def _ask_for_tool(
        self, request: ToolRequest, directives: Directives, messages: Messages, delay_ms: float,
        cancel_signal: threading.Event | None, started: float,
    ) -> AsyncIterator[StreamEvent]:
        """One model call that asks for a tool, as Bedrock's ConverseStream streams a toolUse block."""
        yield {"messageStart": {"role": "assistant"}}
        if directives.pause_seconds and not await _pause_unless_cancelled(directives.pause_seconds, cancel_signal):
            return
        narration = _WORD_PIECE.findall(f"Calling {request.name}. ") if directives.narrate else []
        if narration:
            yield {"contentBlockStart": {"start": {}}}
            for index, piece in enumerate(narration):
                await asyncio.sleep(delay_ms / 1000)
                if cancel_signal is not None and cancel_signal.is_set():
                    return
                self._trace(index)
                yield {"contentBlockDelta": {"delta": {"text": piece}}}
            yield {"contentBlockStop": {}}
        await asyncio.sleep(delay_ms / 1000)
        if cancel_signal is not None and cancel_signal.is_set():
            return
        yield {"contentBlockStart": {"start": {"toolUse": {"toolUseId": request.tool_use_id, "name": request.name}}}}
        yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(request.input)}}}}
        yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": "tool_use"}}
        # The tool request counts as one output token, after the narration's pieces.
        yield {"metadata": _usage_metadata(messages, len(narration) + 1, started)}  # type: ignore[misc]

    async def structured_output(
        self, output_model: type[T], prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        raise NotImplementedError("OfflineEchoModel only streams text; it has no structured output")
        yield {}  # pragma: no cover - makes this an async generator, as the base class declares


class GuardedOfflineModel(RedactsOnlyTheBlockedSide, OfflineEchoModel):
    """The offline model with the agent's guardrail handling, as the Bedrock model has it
    (streaming_agent/guardrail.py): what AGENT_MODEL_PROVIDER=offline runs (model_factory.py)."""
