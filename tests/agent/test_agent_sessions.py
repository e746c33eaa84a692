from __future__ import annotations

import asyncio
import itertools

from streaming_agent.sessions import SessionStore


def numbered_agents() -> SessionStore[int]:
    counter = itertools.count()
    return SessionStore(max_sessions=2, create_agent=lambda session_id: next(counter))


def test_same_session_gets_the_same_agent() -> None:
    store = numbered_agents()
    assert store.slot_for("a").agent == store.slot_for("a").agent
    assert store.slot_for("a").agent != store.slot_for("b").agent


def test_least_recently_used_session_is_evicted_beyond_the_limit() -> None:
    store = numbered_agents()
    first_a = store.slot_for("a").agent
    store.slot_for("b")
    store.slot_for("a")  # "b" is now the least recently used
    store.slot_for("c")
    assert len(store) == 2
    assert "a" in store and "c" in store and "b" not in store
    assert store.slot_for("a").agent == first_a
    # "b" comes back as a new agent: its history is gone.
    assert store.slot_for("b").agent not in (0, 1, 2)


def test_a_busy_session_is_not_evicted() -> None:
    async def scenario() -> None:
        store = numbered_agents()
        busy = store.slot_for("busy")
        await busy.lock.acquire()
        store.slot_for("b")
        store.slot_for("c")  # over the limit: the idle "b" goes, the busy one stays
        assert "busy" in store and "c" in store and "b" not in store
        store.slot_for("d")
        assert "busy" in store
        busy.lock.release()
        store.slot_for("e")  # "busy" is idle and oldest now
        assert "busy" not in store
        assert len(store) == 2

    asyncio.run(scenario())
