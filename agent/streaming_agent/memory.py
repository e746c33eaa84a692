"""Durable conversation memory: Strands' AgentCore Memory session manager, when AGENT_MEMORY_ID is set.

Without it a conversation lives only in this microVM's SessionStore and is gone when AgentCore
replaces the microVM (idle timeout, max lifetime, new deployment). With it every message is written
to AgentCore Memory as an event, and a new microVM reads the session's history back before the
first turn.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

# AgentCore Memory's CreateEvent/ListEvents limits (botocore service model): sessionId is at most
# 100 characters of [a-zA-Z0-9][a-zA-Z0-9-_]*, while runtime session ids may be 256 of anything.
MEMORY_SESSION_ID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def memory_session_id(runtime_session_id: str) -> str:
    """The Memory session id for a runtime session: the id itself when Memory accepts it, else a hash."""
    if MEMORY_SESSION_ID.fullmatch(runtime_session_id):
        return runtime_session_id
    return f"s-{_digest(runtime_session_id)}"


def memory_actor_id(runtime_session_id: str) -> str:
    # The proxy already folds the caller's identity into the runtime session id, and the agent never
    # sees the caller itself, so the actor is derived from that id: one caller's conversation can
    # never be listed under another actor. (Long-term strategies that group by actor would want
    # the caller; pass it in the payload first if that is ever needed.)
    return f"actor-{_digest(runtime_session_id)[:40]}"


def memory_config(memory_id: str, runtime_session_id: str) -> Any:
    # Imported here: the session manager pulls in much of Strands, which an agent without memory never needs.
    from bedrock_agentcore.memory.integrations.strands.config import AgentCoreMemoryConfig

    return AgentCoreMemoryConfig(
        memory_id=memory_id,
        session_id=memory_session_id(runtime_session_id),
        actor_id=memory_actor_id(runtime_session_id),
        # Per-turn writes run in a worker thread, so the event loop keeps streaming meanwhile.
        async_mode=True,
    )


def memory_session_manager(memory_id: str, runtime_session_id: str, region: str | None) -> Any:
    """A session manager for one runtime session, backed by AgentCore Memory.

    Its boto3 client honours AWS_ENDPOINT_URL_BEDROCK_AGENTCORE, which is how tests aim it at a fake.
    """
    from bedrock_agentcore.memory.integrations.strands.session_manager import AgentCoreMemorySessionManager

    return AgentCoreMemorySessionManager(memory_config(memory_id, runtime_session_id), region_name=region)
