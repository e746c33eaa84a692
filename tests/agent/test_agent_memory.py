"""Durable memory: with AGENT_MEMORY_ID a conversation survives a new agent process (a new microVM).

Two separate app instances share nothing but the fake AgentCore Memory they both reach with real
boto3 clients, so the second can only know the first turn through Memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from tests.support.agent_test_support import invoke, running_agent, session_id
from tests.support.fake_agentcore_memory import FakeMemory, serving
from streaming_agent.memory import memory_actor_id, memory_config, memory_session_id
from streaming_agent.settings import AgentConfigurationError, load_settings

MEMORY_ID = "agentcore_streaming_dev-AbCdEf1234"
EARLIER = "Earlier you said"


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMemory]:
    fake = FakeMemory()
    with serving(fake) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE", url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FAKEMEMORYTESTKEY")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-memory-test-secret")
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        yield fake


AGENT_ENV = {"AGENT_MEMORY_ID": MEMORY_ID, "AWS_REGION": "us-east-1", "OFFLINE_MODEL_DELAY_MS": "0"}


def test_a_conversation_survives_a_new_agent_process(memory: FakeMemory) -> None:
    session = session_id("durable")
    with running_agent(AGENT_ENV) as first_vm:
        first = invoke(first_vm, "remember the blue door", session)
    assert first.status == 200 and EARLIER not in first.text

    with running_agent(AGENT_ENV) as second_vm:
        second = invoke(second_vm, "what did I say?", session)
        other = invoke(second_vm, "hello", session_id("someone-else"))
    assert 'Earlier you said: "remember the blue door"' in second.text
    assert "turn 2" in second.text
    # Another session on the same new microVM starts empty.
    assert EARLIER not in other.text and "blue door" not in other.text

    writers = {(params["actorId"], params["sessionId"]) for name, params in memory.calls if name == "CreateEvent"}
    assert (memory_actor_id(session), memory_session_id(session)) in writers


def test_without_memory_id_a_new_process_forgets(memory: FakeMemory) -> None:
    session = session_id("ephemeral")
    env = {key: value for key, value in AGENT_ENV.items() if key != "AGENT_MEMORY_ID"}
    with running_agent(env) as first_vm:
        invoke(first_vm, "remember the red door", session)
    with running_agent(env) as second_vm:
        second = invoke(second_vm, "what did I say?", session)
    assert EARLIER not in second.text
    assert memory.calls == []


def test_memory_ids_follow_the_service_limits() -> None:
    long_id = "x" * 40 + ":" + "y" * 200  # a valid runtime session id Memory would refuse as is
    assert len(memory_session_id(long_id)) <= 100 and ":" not in memory_session_id(long_id)
    assert memory_session_id("session-" + "a" * 64) == "session-" + "a" * 64
    assert memory_actor_id("a" * 40) != memory_actor_id("b" * 40)
    config = memory_config(MEMORY_ID, "session-" + "a" * 64)
    assert config.memory_id == MEMORY_ID and config.async_mode


def test_memory_id_is_validated() -> None:
    base = {"AGENT_MODEL_PROVIDER": "offline"}
    assert load_settings(base).memory_id is None
    assert load_settings({**base, "AGENT_MEMORY_ID": MEMORY_ID}).memory_id == MEMORY_ID
    with pytest.raises(AgentConfigurationError, match="AGENT_MEMORY_ID"):
        load_settings({**base, "AGENT_MEMORY_ID": "not a memory id"})


# --- a guardrail block with Memory on (issue 18, item 5) ----------------------------------------


@pytest.mark.parametrize(
    ("where", "earlier"),
    [("input", "[User input redacted.]"), ("output", "tell me about tea")],
)
def test_after_a_block_memory_keeps_exactly_what_the_next_turn_may_see(
    memory: FakeMemory, where: str, earlier: str
) -> None:
    # Only the blocked side is redacted, and the redaction reaches AgentCore Memory: a new microVM
    # reading the session back sees the clean prompt of an output block, never the blocked prompt of
    # an input block, and goes on (the blocked prompt is not judged again).
    session = session_id(f"guarded-{where}")
    marker = "FORBIDDEN-PAYLOAD-4417"
    prompt = f"[[guardrail:{where}]] tell me about tea" + (f" {marker}" if where == "input" else "")
    with running_agent(AGENT_ENV) as first_vm:
        blocked = invoke(first_vm, prompt, session)
    assert blocked.events[-1]["type"] == "blocked"
    stored = json.dumps([event["payload"] for event in memory.events])
    assert marker not in stored
    assert ("tell me about tea" in stored) == (where == "output")
    assert ("[Assistant output redacted.]" in stored) == (where == "output")

    with running_agent(AGENT_ENV) as second_vm:
        after = invoke(second_vm, "what did I say?", session)
    assert after.events[-1]["type"] == "done", after.events[-1]
    assert f'Earlier you said: "{earlier}"' in after.text and "turn 2" in after.text
