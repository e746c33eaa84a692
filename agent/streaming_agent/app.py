"""The AgentCore app: one entrypoint for turns and stops, per-session Strands agents, honest /ping.

A payload {"prompt": "..."} is a turn. Events yielded for it (BedrockAgentCoreApp frames each as
`data: <json>`):
    {"type": "delta", "text": "..."}                       one per model text delta, unbatched
    {"type": "done", "stopReason": "...", "usage": {...}}  once, at the end of a turn
    {"type": "blocked", "reason": "guardrail"}             instead of done, when the guardrail blocked
                                                           (a masked answer ends with done)
    {"type": "tool", "toolUseId", "name", "status"}        a tool started, finished or failed
    {"type": "tool_limit", "maxToolCalls": N, "usage"}     instead of done, when the turn asked for too
                                                           many tool calls (tool_events.py)
where usage is this turn's {"inputTokens", "outputTokens", "totalTokens", "latencyMs"} (ints), as
Strands counted them for the turn's model calls (see done_event). A turn ended by a stop or by a
newer turn of its session ends with done and stopReason "cancelled" (usage only when the model
reported any). A turn that reaches a limit still ends with done: stopReason "max_tokens" when the
model's answer reached AGENT_MAX_OUTPUT_TOKENS (the truncated answer stays in the session),
"time_limit" when the turn ran for AGENT_TURN_TIME_LIMIT_SECONDS (the agent cancels it; the turn is
dropped from the session, as a stopped turn is); usage as far as the model reported it.
A failure is raised, not yielded: the SDK then ends the stream with its own
{"error", "error_type", "message"} event, which the proxy recognises.

A payload {"action": "stop"} is a control request, answered at once as JSON {"stopped": bool}: it
stops the session's running turn (if any) without waiting for the session's turn lock. AgentCore
routes it to this same process by its runtime session id, while the turn's own invocation is
still open (docs/http-contract.md, "Stopping a turn").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bedrock_agentcore.runtime import BedrockAgentCoreApp
from bedrock_agentcore.runtime.context import RequestContext
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from strands import Agent
from strands.agent.agent_result import AgentResult
from strands.models import Model
from strands.types.exceptions import MaxTokensReachedException

from streaming_shared.agent_config import DEFAULT_MAX_TOOL_CALLS
from streaming_shared.jsonlog import session_hash

from .disconnect import DisconnectSignalMiddleware, current_disconnect_signal
from .guardrail import TurnGuardrail
from .logs import log_event, route_library_logs
from .memory import memory_session_manager
from .model_factory import build_model
from .sessions import SessionSlot, SessionStore
from .settings import AgentSettings
from .tool_events import TurnToolCalls, agent_tools, equip, tool_event, tool_limit_event


# The control request that stops a session's running turn: {"action": "stop"}.
STOP_ACTION = "stop"
ACTION_FIELD = "action"


def read_prompt(payload: Any) -> str:
    if not isinstance(payload, dict):
        raise ValueError("payload must be a JSON object with a 'prompt' string")
    prompt = payload.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("payload needs a non-empty 'prompt' string")
    return prompt


# The field naming one turn: the proxy sends its request id with a turn's prompt and with a stop
# for that turn alone (a stream it gave up on), so that stop never ends a newer turn of the session.
TURN_ID_FIELD = "turnId"
MAX_TURN_ID_CHARS = 256


def read_turn_id(payload: dict[str, Any]) -> str | None:
    turn_id = payload.get(TURN_ID_FIELD)
    if turn_id is None:
        return None
    if not isinstance(turn_id, str) or not 0 < len(turn_id) <= MAX_TURN_ID_CHARS:
        raise ValueError(f"{TURN_ID_FIELD!r} must be a string of 1 to {MAX_TURN_ID_CHARS} characters")
    return turn_id


@dataclass(frozen=True)
class StopRequest:
    # Stop only the turn with this id; None: whichever turn the session is running.
    turn_id: str | None


def read_stop_request(payload: Any) -> StopRequest | None:
    """The stop control request, or None for a turn (anything else with an action is refused)."""
    if not isinstance(payload, dict) or ACTION_FIELD not in payload:
        return None
    if payload.get(ACTION_FIELD) != STOP_ACTION or not set(payload) <= {ACTION_FIELD, TURN_ID_FIELD}:
        raise ValueError(f"the only control request is {{{ACTION_FIELD!r}: {STOP_ACTION!r}}}, "
                         f"optionally with {TURN_ID_FIELD!r}")
    return StopRequest(read_turn_id(payload))


USAGE_TOKEN_KEYS = ("inputTokens", "outputTokens", "totalTokens")


def done_event(result: AgentResult | None, model_latency_ms: int | None = None) -> dict[str, Any]:
    """The turn's last event; `model_latency_ms` is this turn's share of Strands' latency total."""
    event: dict[str, Any] = {"type": "done"}
    if result is None:
        return event
    event["stopReason"] = result.stop_reason
    # result.metrics is the agent's own EventLoopMetrics, kept for the agent's whole life (a session's
    # agent answers many turns): accumulated_usage and accumulated_metrics sum every turn so far.
    # Strands opens one AgentInvocation per call of stream_async, so its usage is this turn's alone.
    invocation = result.metrics.latest_agent_invocation
    if invocation is None:
        return event
    usage = {key: int(invocation.usage.get(key, 0)) for key in USAGE_TOKEN_KEYS}
    if model_latency_ms is not None:
        usage["latencyMs"] = max(0, int(model_latency_ms))
    event["usage"] = usage
    return event


def blocked_event(result: AgentResult | None = None, model_latency_ms: int | None = None) -> dict[str, Any]:
    """The turn's last event when the guardrail blocked; the proxy sends CONTENT_BLOCKED for it.

    It carries no text: what was blocked never leaves the agent, and the proxy words the message.
    It carries the turn's usage as `done` would: a blocked turn still spent tokens, and is metered.
    """
    event: dict[str, Any] = {"type": "blocked", "reason": "guardrail"}
    usage = done_event(result, model_latency_ms).get("usage")
    if usage is not None:
        event["usage"] = usage
    return event


def accumulated_latency_ms(agent: Agent) -> int:
    """Strands' running total of the model's reported latency (metadata.metrics.latencyMs), all turns."""
    return int(agent.event_loop_metrics.accumulated_metrics.get("latencyMs", 0))


def forget_unfinished_turn(agent: Agent, history_length: int) -> None:
    # Strands keeps the user message of a turn that failed or was abandoned, without an answer.
    # The next turn would then send two user messages in a row, which Bedrock's Converse API
    # rejects (roles must alternate), breaking the session for good. Drop the half turn instead.
    del agent.messages[history_length:]


# Strands' stop reason for a turn cancelled through its cancel signal (or agent.cancel()).
CANCELLED = "cancelled"


def was_cancelled(result: AgentResult | None, cancel: threading.Event) -> bool:
    """Whether the turn ended early because it was cancelled (an answer that was complete is kept)."""
    return cancel.is_set() and (result is None or result.stop_reason == CANCELLED)


def cancelled_event(result: AgentResult | None, model_latency_ms: int | None) -> dict[str, Any]:
    """The last event of a stopped turn: done with stopReason "cancelled", and usage only when the
    model reported any (Bedrock sends its token counts at the end of a response, so a response cut
    short usually has none)."""
    event: dict[str, Any] = {"type": "done", "stopReason": CANCELLED}
    usage = done_event(result, model_latency_ms).get("usage")
    if usage is not None and any(usage[key] for key in USAGE_TOKEN_KEYS):
        event["usage"] = usage
    return event


# The done event's stopReason for a turn the agent ended at its time limit (not a Strands reason:
# Strands reports such a turn as "cancelled", which the contract keeps for a caller's stop).
TIME_LIMIT_STOP_REASON = "time_limit"


def truncated_answer(agent: Agent) -> AgentResult:
    """The result of a turn whose answer reached the model's max tokens.

    Strands raises MaxTokensReachedException instead of returning a result, after adding the
    truncated answer to the history; the turn is kept, and reported like a finished one.
    """
    return AgentResult(stop_reason="max_tokens", message=agent.messages[-1],
                       metrics=agent.event_loop_metrics, state={})


@contextlib.contextmanager
def time_limit(agent: Agent, turn: Turn) -> Iterator[None]:
    """Cancel the agent's turn (Strands' agent.cancel) once it has run turn.time_limit_seconds;
    marks turn.timed_out."""
    seconds = turn.time_limit_seconds
    if seconds is None:
        yield
        return

    def time_is_up() -> None:
        turn.timed_out = True
        agent.cancel()
        turn.close_when_parked()

    # Runs on the event loop, so never between the end of the turn and the timer's cancel below.
    timer = asyncio.get_running_loop().call_later(seconds, time_is_up)
    try:
        yield
    finally:
        timer.cancel()


# A stopped turn whose events have waited this long for a reader is closed (Turn.close_when_parked).
PARKED_SECONDS = 1.0


@dataclass
class Turn:
    """One turn: its progress, for its closing log line, and how to stop it."""

    session_id: str | None
    # The proxy's name for the turn (TURN_ID_FIELD), when it sent one.
    turn_id: str | None = None
    # Strands' cancel signal for this turn. Set by a stop (stop()) or, should the caller of its
    # invocation ever close the connection, by the disconnect middleware (disconnect.py).
    cancel: threading.Event = field(default_factory=threading.Event)
    # True once a stop request or a newer turn of the session ended this turn: its caller still
    # reads the stream and gets done with stopReason "cancelled".
    stopped: bool = False
    # The agent ends the turn after this many seconds (AGENT_TURN_TIME_LIMIT_SECONDS); None: never.
    time_limit_seconds: int | None = None
    started: float = field(default_factory=time.monotonic)
    pieces: int = 0
    result: AgentResult | None = None
    # The model's latency for this turn's calls (Strands only keeps a lifetime total), once answered.
    model_latency_ms: int | None = None
    # Set once the answer is complete and kept in the session.
    completed: bool = False
    # What the guardrail traces of this turn's model calls said (blocked, or only masked).
    guardrail: TurnGuardrail = field(default_factory=TurnGuardrail)
    # Set when the agent's turn time limit struck (see time_limit).
    timed_out: bool = False
    tool_calls: TurnToolCalls = field(default_factory=lambda: TurnToolCalls(limit=DEFAULT_MAX_TOOL_CALLS))
    # The turn's event generator (run_turn), and since when it has been waiting at a `yield` for its
    # reader to take an event (None while it works): see close_when_parked.
    events: AsyncGenerator[dict[str, Any], None] | None = None
    parked_since: float | None = None
    ended: bool = False

    def stop(self) -> None:
        self.stopped = True
        self.cancel.set()
        self.close_when_parked()

    def close_when_parked(self) -> None:
        """End the turn even if nobody reads its events any more.

        Strands sees the cancel signal only while the turn runs. A turn whose reader stopped reading
        (its caller stopped, and AgentCore need not read on: the SDK's queue between the turn and
        the response fills up) waits at a `yield` for ever, holding its session's lock and Strands'
        own. Once it has waited PARKED_SECONDS it is closed instead, which unwinds it from that yield.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # stopped outside the event loop (a test): nothing is parked there
            return

        def check() -> None:
            if self.ended or self.events is None:
                return
            if self.parked_since is None or time.monotonic() - self.parked_since < PARKED_SECONDS:
                loop.call_later(PARKED_SECONDS / 4, check)
                return
            loop.create_task(close_parked(self.events))

        loop.call_later(PARKED_SECONDS / 4, check)

    def log_fields(self) -> dict[str, Any]:
        return {"sessionHash": session_hash(self.session_id), "pieces": self.pieces, "toolCalls": self.tool_calls.calls,
                "durationMs": int((time.monotonic() - self.started) * 1000)}


async def close_parked(events: AsyncGenerator[dict[str, Any], None]) -> None:
    with contextlib.suppress(RuntimeError):  # its reader took the event meanwhile: it runs, and sees the cancel
        await events.aclose()


def blocked_by_guardrail(turn: Turn) -> bool:
    """Whether the guardrail blocked the prompt or the answer (guardrail.py: masking is not blocking).

    Strands has then already replaced what was blocked in the session's history, so the turn is
    kept; the caller learns only that the guardrail intervened. A masked answer is an ordinary one.
    """
    return turn.result is not None and turn.guardrail.blocked_turn(turn.result.stop_reason)


def timed_out(turn: Turn) -> bool:
    """Whether the turn ended because the agent's time limit cancelled it (not merely struck late)."""
    return turn.timed_out and turn.result is not None and turn.result.stop_reason == "cancelled"


def turn_ending(turn: Turn) -> tuple[str, dict[str, Any]]:
    """A complete turn's outcome (for its log line) and last event: time limit, tool limit, blocked or done."""
    if timed_out(turn):
        event = done_event(turn.result, turn.model_latency_ms)
        # Strands says "cancelled"; the caller learns it was the limit, with what the turn cost so far.
        event["stopReason"] = TIME_LIMIT_STOP_REASON
        return "turn_time_limit", event
    if turn.tool_calls.limit_reached:
        usage = done_event(turn.result, turn.model_latency_ms).get("usage")
        return "turn_tool_limit", tool_limit_event(turn.tool_calls, usage)
    if blocked_by_guardrail(turn):
        return "turn_blocked", blocked_event(turn.result, turn.model_latency_ms)
    return "turn_finished", done_event(turn.result, turn.model_latency_ms)


def agent_factory(settings: AgentSettings, model: Model) -> Callable[[str | None], Agent]:
    """New Strands agents sharing one model; with memory configured, one per session remembers it."""

    def new_agent(session_id: str | None = None) -> Agent:
        session_manager = None
        if settings.memory_id is not None and session_id is not None:
            # Reads the session's history from AgentCore Memory with blocking boto3 calls, once per
            # session and microVM. AgentCore runs each session in its own microVM, so no other
            # session's stream waits on it; later writes run off the event loop (async_mode).
            session_manager = memory_session_manager(settings.memory_id, session_id, settings.aws_region)
        return equip(Agent(
            model=model,
            system_prompt=settings.system_prompt,
            callback_handler=None,
            session_manager=session_manager,
            tools=agent_tools(),
        ))

    return new_agent


def caller_event(turn: Turn, event: dict[str, Any]) -> dict[str, Any] | None:
    """What one Strands event of the turn means for its caller (None: nothing to send)."""
    text = event.get("data")
    if isinstance(text, str) and text:
        turn.pieces += 1
        return {"type": "delta", "text": text}
    if (tool := tool_event(event)) is not None:
        return tool
    if "event" in event:  # a raw model chunk: its metadata carries the guardrail trace
        turn.guardrail.observe(event["event"])
    elif isinstance(event.get("result"), AgentResult):
        turn.result = event["result"]
    return None


async def stream_answer(
    agent: Agent, turn_lock: contextlib.AbstractAsyncContextManager[Any], prompt: str, turn: Turn,
) -> AsyncIterator[dict[str, Any]]:
    """The model's text as delta events, one turn of a session at a time; sets turn.completed.

    A cancelled turn leaves nothing in the session: neither its prompt nor its partial answer
    (docs/http-contract.md, "Stopping a turn"). The next turn continues from the last completed one.
    """
    async with turn_lock:
        history_length = len(agent.messages)
        latency_before = accumulated_latency_ms(agent)
        completed = False
        try:
            # The turn may have been stopped while it waited for the one before it.
            if not turn.cancel.is_set():
                # Strands polls cancel_signal and stops the model stream (Bedrock's in-flight
                # request included), ending the turn with stop reason "cancelled". We do not
                # cancel the task instead: the SDK's bridge only finishes its response once
                # this generator returns, so it must end normally.
                with time_limit(agent, turn):
                    # Closed with the turn, never left to the garbage collector: Strands releases its
                    # own lock (ConcurrencyException for the session's next turn) only when closed.
                    answer = agent.stream_async(prompt, cancel_signal=turn.cancel,
                                                invocation_state=turn.tool_calls.invocation_state())
                    try:
                        async with contextlib.aclosing(answer):
                            async for event in answer:
                                if (out := caller_event(turn, event)) is not None:
                                    yield out
                    except MaxTokensReachedException:
                        turn.result = truncated_answer(agent)
                    turn.model_latency_ms = accumulated_latency_ms(agent) - latency_before
            completed = not was_cancelled(turn.result, turn.cancel) and not timed_out(turn)
        finally:
            # A turn stopped by the tool-call limit is not kept either: the client gets an error, not an answer.
            if not completed or turn.tool_calls.limit_reached:
                forget_unfinished_turn(agent, history_length)
    turn.completed = completed


class Turns:
    """The sessions' agents and their running turns: which agent a turn uses, and how it is stopped."""

    def __init__(self, settings: AgentSettings, new_agent: Callable[[str | None], Agent]) -> None:
        self.settings = settings
        self.new_agent = new_agent
        self.sessions: SessionStore[Agent] = SessionStore(settings.max_sessions, new_agent)

    def begin(self, turn: Turn) -> tuple[Agent, contextlib.AbstractAsyncContextManager[Any], SessionSlot[Agent] | None]:
        """The turn's agent, the lock to take, and its session's slot (None without a session)."""
        if turn.session_id is None:
            # Nothing to resume it by, so the agent lives for this turn only.
            return self.new_agent(None), contextlib.nullcontext(), None
        slot = self.sessions.slot_for(turn.session_id)
        # Supersede: the session's running turn (or one still waiting for it) is stopped, so this
        # one starts as soon as that one has let go of the model, not after it has answered.
        if slot.turn is not None:
            slot.turn.stop()
        slot.turn = turn
        return slot.agent, slot.lock, slot

    def stop(self, session_id: str | None, turn_id: str | None = None) -> bool:
        """Stop the session's running turn (with `turn_id`, only if it is that turn); False when
        there is no such turn (or this process never saw it)."""
        slot = self.sessions.get(session_id) if session_id is not None else None
        if slot is None or slot.turn is None:
            return False
        if turn_id is not None and slot.turn.turn_id != turn_id:
            return False
        slot.turn.stop()
        return True


def new_turn(turns: Turns, context: RequestContext) -> Turn:
    # The disconnect middleware's Event is the turn's cancel signal (see disconnect.py).
    return Turn(context.session_id or None, cancel=current_disconnect_signal(),
                time_limit_seconds=turns.settings.turn_time_limit_seconds,
                tool_calls=TurnToolCalls(turns.settings.max_tool_calls, turns.settings.stream_tool_content))


async def run_turn(app: BedrockAgentCoreApp, turns: Turns, turn: Turn, payload: Any) -> AsyncIterator[dict[str, Any]]:
    """One turn's events; exactly one of turn_finished, turn_blocked, turn_failed, turn_cancelled logged.

    Before each yield it marks the turn parked, so a stop can close a turn nobody reads
    (Turn.close_when_parked)."""
    prompt = read_prompt(payload)
    turn.turn_id = read_turn_id(payload)
    task_id = app.add_async_task("agent_turn")
    # Logged in `finally`: a caller that leaves closes this generator (GeneratorExit) or cancels its
    # task, and neither reaches code after the `yield` it was waiting at.
    outcome: str | None = None
    slot: SessionSlot[Agent] | None = None
    try:
        agent, turn_lock, slot = turns.begin(turn)
        log_event("turn_started", sessionHash=session_hash(turn.session_id))
        async with contextlib.aclosing(stream_answer(agent, turn_lock, prompt, turn)) as deltas:
            async for delta in deltas:
                turn.parked_since = time.monotonic()
                yield delta
                turn.parked_since = None
        turn.parked_since = time.monotonic()  # before any last event below
        if not turn.completed and not timed_out(turn):
            outcome = "turn_cancelled"
            if turn.stopped:
                # Stopped by a stop request or a newer turn: its caller still reads the stream.
                yield cancelled_event(turn.result, turn.model_latency_ms)
            # Otherwise its caller left: nobody reads the stream any more, so just end it.
            return
        # The answer is complete and kept in the session (redacted if the guardrail blocked it;
        # dropped if it hit the tool-call limit or the time limit), whether or not the caller
        # reads the last event.
        outcome, ending = turn_ending(turn)
        yield ending
    except Exception:
        outcome = "turn_failed"
        log_event(outcome, logging.ERROR, exc_info=True, **turn.log_fields())
        raise
    finally:
        turn.ended = True
        if slot is not None and slot.turn is turn:
            slot.turn = None
        if outcome is None:
            outcome = "turn_cancelled"  # closed or cancelled while the answer was still streaming
        if outcome != "turn_failed":
            stop_reason = turn.result.stop_reason if turn.result and outcome == "turn_finished" else None
            log_event(outcome, stopReason=stop_reason, stopped=turn.stopped, **turn.log_fields())
        app.complete_async_task(task_id)


def create_app(settings: AgentSettings, model: Model | None = None) -> BedrockAgentCoreApp:
    """Build the app; the model is created here once and shared by every session's agent."""
    turns = Turns(settings, agent_factory(settings, model if model is not None else build_model(settings)))
    # The middleware reports a caller's disconnect to the turn it belongs to (see disconnect.py).
    route_library_logs()  # before the app: the SDK's logger must find our handler, not add its own
    app = BedrockAgentCoreApp(middleware=[Middleware(DisconnectSignalMiddleware)])

    # /ping: the SDK reports HealthyBusy while any task added with add_async_task is open and
    # moves time_of_last_update only when the reported status changes. It records the first
    # status lazily, on the first ping; asking once now pins it to start-up instead, so an idle
    # runtime's timestamp never moves merely because it was pinged.
    app.get_current_ping_status()

    @app.entrypoint
    async def invoke(payload: Any, context: RequestContext) -> Any:
        # A coroutine, not an async generator, so that a stop is answered as plain JSON: the SDK
        # awaits it on its worker loop (the loop every turn runs on, so no lock is needed) and
        # streams the async generator it returns for a turn.
        try:
            stop = read_stop_request(payload)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        if stop is not None:
            stopped = turns.stop(context.session_id or None, stop.turn_id)
            log_event("stop_requested", sessionHash=session_hash(context.session_id or None), stopped=stopped,
                      ofOneTurn=stop.turn_id is not None)
            return {"stopped": stopped}
        turn = new_turn(turns, context)
        turn.events = run_turn(app, turns, turn, payload)
        return turn.events

    return app
