"""Tool calls in the agent's stream: progress events, and a bound on tool calls per turn.

Strands runs a tool through its ExecuteToolStage middleware chain once the model has asked for it.
`report_tool_progress` wraps that chain and puts two events of its own into the agent's stream
(Strands yields a middleware's callback events to `stream_async` as they arrive): one as the tool
starts, one as it returns, so the client hears of a tool at once and not after the whole batch.
They become the agent's events

    {"type": "tool", "toolUseId", "name", "status"}    status "started", then "finished" or "failed"

"failed" is a tool result with status "error": the tool raised (Strands tells the model
"Error: ..."), its input did not validate, or the model named a tool that does not exist. With
AGENT_STREAM_TOOL_CONTENT on, `started` also carries the tool's `input` and the last event its
`result` (the text the model was given); off (the default) neither leaves the agent.

`ToolCallLimit` bounds a runaway loop: before a batch of tools runs, it counts the batch against
the turn's budget (AGENT_MAX_TOOL_CALLS). A batch that would exceed it does not run: Strands hands
the model a cancelled result for each call (BeforeToolsEvent.cancel) and ends the turn without
another model call (AfterToolsEvent.end_turn). The turn's `TurnToolCalls` then says so, and the
agent ends the stream with {"type": "tool_limit", "maxToolCalls", "usage"} instead of `done`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from strands import Agent
from strands.hooks import AfterToolsEvent, BeforeToolsEvent, HookProvider, HookRegistry
from strands.middleware import ExecuteToolContext, ExecuteToolStage, MiddlewareNext, ToolResultEvent, TypedEvent

from .tools import TOOLS

STARTED, FINISHED, FAILED = "started", "finished", "failed"
# The key of the agent's own events in Strands' stream, and of the turn's state in its invocation state.
PROGRESS_KEY = "streaming_agent_tool"
TURN_STATE_KEY = "streaming_agent_tool_calls"
TOOL_LIMIT_MESSAGE = "Tool call limit reached: at most {limit} tool calls per turn. Answer without tools."


@dataclass
class TurnToolCalls:
    """One turn's tool calls against its budget, and whether tool content goes into the stream."""

    limit: int
    stream_content: bool = False
    calls: int = 0
    limit_reached: bool = False

    def admit(self, batch: int) -> bool:
        """Count a batch the model asked for; False (and the limit reached) when it does not fit."""
        if self.calls + batch > self.limit:
            self.limit_reached = True
            return False
        self.calls += batch
        return True

    def invocation_state(self) -> dict[str, Any]:
        return {TURN_STATE_KEY: self}


class ToolProgress(TypedEvent):
    """A tool started or returned; a callback event, so `stream_async` yields it to the agent."""

    def __init__(self, tool_use: Mapping[str, Any], status: str, content: Mapping[str, Any]) -> None:
        super().__init__({PROGRESS_KEY: {"toolUseId": str(tool_use.get("toolUseId")),
                                         "name": str(tool_use.get("name")), "status": status, **content}})


def _turn_of(invocation_state: Mapping[str, Any]) -> TurnToolCalls | None:
    turn = invocation_state.get(TURN_STATE_KEY)
    return turn if isinstance(turn, TurnToolCalls) else None


def result_text(tool_result: Mapping[str, Any]) -> str:
    """The text of a tool result as the model reads it (json blocks as JSON)."""
    parts = []
    for block in tool_result.get("content", []):
        if "text" in block:
            parts.append(str(block["text"]))
        elif "json" in block:
            parts.append(json.dumps(block["json"], ensure_ascii=False))
    return "\n".join(parts)


async def report_tool_progress(context: ExecuteToolContext, next_fn: MiddlewareNext) -> AsyncIterator[TypedEvent]:
    """ExecuteToolStage middleware: `started` before the tool runs, `finished` or `failed` once it returns."""
    turn = _turn_of(context.invocation_state)
    stream_content = turn is not None and turn.stream_content
    yield ToolProgress(context.tool_use, STARTED, {"input": context.tool_use.get("input")} if stream_content else {})
    result: Mapping[str, Any] | None = None
    try:
        async for event in next_fn(context):
            if isinstance(event, ToolResultEvent):
                result = event.tool_result
            yield event
    except Exception:
        # Strands turns what escapes the chain into an error result for the model: the call failed.
        yield ToolProgress(context.tool_use, FAILED, {})
        raise
    status = FINISHED if result is not None and result.get("status") != "error" else FAILED
    content = {"result": result_text(result)} if stream_content and result is not None else {}
    yield ToolProgress(context.tool_use, status, content)


class ToolCallLimit(HookProvider):
    """Refuses a batch of tool calls beyond the turn's budget and ends the turn (module docstring)."""

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        registry.add_callback(BeforeToolsEvent, self.before_tools)
        registry.add_callback(AfterToolsEvent, self.after_tools)

    def before_tools(self, event: BeforeToolsEvent) -> None:
        turn = _turn_of(event.invocation_state)
        batch = sum(1 for block in event.message.get("content", []) if "toolUse" in block)
        if turn is not None and not turn.admit(batch):
            event.cancel = TOOL_LIMIT_MESSAGE.format(limit=turn.limit)

    def after_tools(self, event: AfterToolsEvent) -> None:
        turn = _turn_of(event.invocation_state)
        if turn is not None and turn.limit_reached:
            event.end_turn = TOOL_LIMIT_MESSAGE.format(limit=turn.limit)


def equip(agent: Agent) -> Agent:
    """Give a new agent the reporting and the bound (its tools are TOOLS, passed to Agent())."""
    agent.add_middleware(ExecuteToolStage, report_tool_progress)
    agent.hooks.add_hook(ToolCallLimit())
    return agent


def agent_tools() -> list[Any]:
    return list(TOOLS)


def tool_event(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The agent's `tool` event for a Strands stream event, or None when it is not one of ours."""
    progress = event.get(PROGRESS_KEY)
    if not isinstance(progress, Mapping):
        return None
    return {"type": "tool", **progress}


def tool_limit_event(turn: TurnToolCalls, usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """The turn's last event when its tool calls hit the limit; the proxy sends TOOL_CALL_LIMIT for it."""
    event: dict[str, Any] = {"type": "tool_limit", "maxToolCalls": turn.limit}
    if usage is not None:
        event["usage"] = dict(usage)
    return event
