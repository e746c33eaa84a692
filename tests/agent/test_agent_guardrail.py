"""The guardrail through Strands' real BedrockModel: masks are not blocks, only the blocked side is redacted,
only the latest user message is judged (issue 18, items 4 and 5).

The model is the one build_model makes for a stack with a guardrail; only its boto3 client's
converse_stream is replaced, by a fake that answers as Bedrock documents (fake_bedrock_converse.py).
The next turn's request shows what the session's history kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.agent_test_support import invoke, running_agent, session_id
from tests.support.fake_bedrock_converse import (
    BLOCKED_INPUT_MESSAGE,
    BLOCKED_WORD,
    CARD_MASK,
    GUARDRAIL_ID,
    FakeConverseStream,
    check_shape,
)
from streaming_agent.model_factory import build_model
from streaming_agent.settings import load_settings
from strands import Agent
from strands.models import Model

CARD = "4111 1111 1111 1111"
REDACTED_INPUT = "[User input redacted.]"
REDACTED_OUTPUT = "[Assistant output redacted.]"
BEDROCK_ENV = {"AGENT_MODEL_PROVIDER": "bedrock", "BEDROCK_MODEL_ID": "us.anthropic.claude-x", "AWS_REGION": "us-east-1",
               "AGENT_GUARDRAIL_ID": GUARDRAIL_ID, "AGENT_GUARDRAIL_VERSION": "2"}


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Fake credentials: building the client makes no call, and every call goes to the fake.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEGUARDRAIL000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-guardrail-test-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))


def bedrock_model(bedrock: FakeConverseStream) -> Model:
    model = build_model(load_settings(BEDROCK_ENV))
    model.client.converse_stream = bedrock  # type: ignore[attr-defined]
    return model


@pytest.fixture
def bedrock() -> FakeConverseStream:
    return FakeConverseStream(answer_for=lambda prompt: "The word is FORBIDDEN." if "secret" in prompt else
                              f'You said: "{prompt}".')


@pytest.fixture
def agent(fake_aws: None, bedrock: FakeConverseStream) -> Iterator[str]:
    with running_agent(BEDROCK_ENV, bedrock_model(bedrock)) as url:
        yield url


def test_a_masked_answer_streams_its_masks_and_ends_with_done(agent: str, bedrock: FakeConverseStream) -> None:
    turn = invoke(agent, f"please repeat my card {CARD}", session_id("masked"))
    assert turn.events[-1]["type"] == "done", turn.events[-1]
    assert turn.events[-1]["stopReason"] == "guardrail_intervened"
    assert CARD_MASK in turn.text and CARD not in turn.text
    assert "blocked" not in [event["type"] for event in turn.events]
    # Nothing was redacted: the next turn sends the masked answer on as it was.
    invoke(agent, "thanks", session_id("masked"))
    assert ("assistant", f'You said: "please repeat my card {CARD_MASK}".') in bedrock.sent_texts(1)


def test_an_output_block_redacts_the_answer_and_keeps_the_clean_prompt(agent: str, bedrock: FakeConverseStream) -> None:
    first = invoke(agent, "tell me the secret", session_id("output-block"))
    assert first.events[-1]["type"] == "blocked"
    second = invoke(agent, "hello", session_id("output-block"))
    assert second.events[-1]["type"] == "done"
    sent = bedrock.sent_texts(1)
    assert sent[:2] == [("user", "tell me the secret"), ("assistant", REDACTED_OUTPUT)], sent
    assert ("user", REDACTED_INPUT) not in sent


def test_an_input_block_redacts_the_prompt_and_keeps_the_guardrails_answer(agent: str, bedrock: FakeConverseStream) -> None:
    first = invoke(agent, f"{BLOCKED_WORD} words", session_id("input-block"))
    assert first.events[-1]["type"] == "blocked"
    assert first.text == BLOCKED_INPUT_MESSAGE
    second = invoke(agent, "hello", session_id("input-block"))
    assert second.events[-1]["type"] == "done"
    sent = bedrock.sent_texts(1)
    assert sent[:2] == [("user", REDACTED_INPUT), ("assistant", BLOCKED_INPUT_MESSAGE)], sent
    assert BLOCKED_WORD not in str(sent)


def test_a_masked_value_in_an_earlier_turn_does_not_make_later_turns_intervene(
    agent: str, bedrock: FakeConverseStream
) -> None:
    session = session_id("poison")
    first = invoke(agent, f"my card is {CARD}", session)
    assert first.events[-1]["type"] == "done"
    for prompt in ("what can you do?", "and now?"):
        later = invoke(agent, prompt, session)
        assert later.events[-1]["type"] == "done" and later.events[-1]["stopReason"] == "end_turn", later.events[-1]
    # Only the latest user message went to the guardrail (in guardContent); the history went as plain text.
    messages = bedrock.requests[2]["messages"]
    guarded = [block for message in messages for block in message["content"] if "guardContent" in block]
    assert guarded == [{"guardContent": {"text": {"text": "and now?"}}}]
    assert messages[0]["content"] == [{"text": f"my card is {CARD}"}]


def test_a_blocked_prompt_earlier_in_a_history_does_not_block_later_turns(fake_aws: None) -> None:
    # Even a history that kept a blocked prompt (a session restored from elsewhere) must not block
    # every later turn: only the latest message is judged.
    bedrock = FakeConverseStream()
    agent = Agent(model=bedrock_model(bedrock), callback_handler=None, messages=[
        {"role": "user", "content": [{"text": f"{BLOCKED_WORD} words"}]},
        {"role": "assistant", "content": [{"text": BLOCKED_INPUT_MESSAGE}]},
    ])
    assert agent("hello").stop_reason == "end_turn"


def test_strands_bedrock_model_alone_redacts_both_sides_for_an_output_block(fake_aws: None) -> None:
    # The library fact the agent works around (strands-agents 1.62.0, harness-sdk#3613): plain
    # BedrockModel with both redaction flags replaces the clean prompt too. When this fails, Strands
    # has changed and guardrail.py's filter may no longer be needed.
    from strands.models.bedrock import BedrockModel

    bedrock = FakeConverseStream(answer_for=lambda prompt: "The word is FORBIDDEN.")
    model = BedrockModel(model_id="us.anthropic.claude-x", region_name="us-east-1", guardrail_id=GUARDRAIL_ID,
                         guardrail_version="2", guardrail_redact_input=True, guardrail_redact_output=True)
    model.client.converse_stream = bedrock  # type: ignore[method-assign]
    agent = Agent(model=model, callback_handler=None)
    assert agent("a clean question").stop_reason == "guardrail_intervened"
    assert agent.messages[0]["content"] == [{"text": REDACTED_INPUT}]


def test_the_traces_of_the_fakes_and_the_offline_model_follow_botocores_shapes(agent: str, bedrock: FakeConverseStream) -> None:
    from offline_model.model import ANONYMIZED, BLOCKED, GuardrailSimulation

    invoke(agent, f"please repeat my card {CARD}", session_id("shapes-1"))
    invoke(agent, "tell me the secret", session_id("shapes-2"))
    invoke(agent, f"{BLOCKED_WORD} words", session_id("shapes-3"))
    offline = [GuardrailSimulation(input_action=BLOCKED).trace(), GuardrailSimulation(output_action=BLOCKED).trace(),
               GuardrailSimulation(input_action=ANONYMIZED, output_action=ANONYMIZED).trace()]
    assert len(bedrock.traces) == 3
    for trace in [*bedrock.traces, *offline]:
        assert check_shape(trace, "GuardrailTraceAssessment") == [], trace
    # And the checker does check: a made-up action is caught.
    assert check_shape({"inputAssessment": {"g": {"contentPolicy": {"filters": [
        {"type": "HATE", "confidence": "HIGH", "action": "MASKED"}]}}}}, "GuardrailTraceAssessment")
