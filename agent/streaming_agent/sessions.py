"""A bounded, least-recently-used map from AgentCore session id to that session's agent.

Each entry carries an asyncio.Lock because a Strands Agent refuses to be invoked while it is
already running: a new turn stops the session's running one (app.py) and waits on the lock only
until that one has ended. The entry also names the session's newest turn, which a stop request
or the next turn stops.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

AgentT = TypeVar("AgentT")


@dataclass
class SessionSlot(Generic[AgentT]):
    agent: AgentT
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The session's newest turn until it ends (running, or waiting for the lock): app.Turn.
    turn: Any = None


class SessionStore(Generic[AgentT]):
    """Keeps at most max_sessions idle sessions; the least recently used idle one goes first.

    A session whose lock is held (a turn in flight or queued) is never evicted, so an answer in
    progress and the turn queued behind it keep one shared history. While every session is busy
    the store may briefly hold more than max_sessions; it shrinks again as turns finish.
    Not thread-safe: all calls come from the one event loop that runs the entrypoint.
    """

    def __init__(self, max_sessions: int, create_agent: Callable[[str], AgentT]) -> None:
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self._max_sessions = max_sessions
        self._create_agent = create_agent
        self._slots: OrderedDict[str, SessionSlot[AgentT]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._slots

    def get(self, session_id: str) -> SessionSlot[AgentT] | None:
        """The session's slot if this process has one; neither creates it nor marks it used."""
        return self._slots.get(session_id)

    def slot_for(self, session_id: str) -> SessionSlot[AgentT]:
        """The session's slot, created on first use and marked most recently used."""
        slot = self._slots.get(session_id)
        if slot is None:
            slot = SessionSlot(agent=self._create_agent(session_id))
            self._slots[session_id] = slot
        self._slots.move_to_end(session_id)
        self._evict_idle_beyond_limit()
        return slot

    def _evict_idle_beyond_limit(self) -> None:
        excess = len(self._slots) - self._max_sessions
        if excess <= 0:
            return
        # The newest entry is the one just asked for; its caller is about to take its lock.
        candidates = list(self._slots.items())[:-1]
        for session_id, slot in candidates:
            if excess == 0:
                break
            if not slot.lock.locked() and slot.turn is None:
                del self._slots[session_id]
                excess -= 1
