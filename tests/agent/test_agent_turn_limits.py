"""The agent's two bounds on one turn: the model's output tokens and the turn's time limit."""

from __future__ import annotations

import time

from tests.support.agent_test_support import invoke, running_agent, session_id


def test_max_output_tokens_ends_the_answer_with_strands_max_tokens_stop_reason() -> None:
    env = {"OFFLINE_MODEL_DELAY_MS": "0", "AGENT_MAX_OUTPUT_TOKENS": "3"}
    with running_agent(env) as url:
        turn = invoke(url, "[[pieces:10]]", session_id("max-tokens"))

    assert turn.status == 200
    assert turn.deltas == ["w0 ", "w1 ", "w2 "]
    done = turn.events[-1]
    assert done["type"] == "done"
    assert done["stopReason"] == "max_tokens"
    # Billed like any answer: Bedrock reports the tokens of a truncated answer too.
    assert done["usage"]["outputTokens"] == 3
    assert done["usage"]["inputTokens"] == 1


def test_a_truncated_answer_stays_in_the_session_and_the_next_turn_works() -> None:
    env = {"OFFLINE_MODEL_DELAY_MS": "0", "AGENT_MAX_OUTPUT_TOKENS": "5"}
    with running_agent(env) as url:
        first = invoke(url, "first question", session_id("max-tokens-next"))
        second = invoke(url, "second", session_id("max-tokens-next"))

    assert first.events[-1]["stopReason"] == "max_tokens"
    assert second.events[-1]["type"] == "done"
    # The second turn's input counts the first prompt (2 words), the kept truncated answer (5
    # pieces, each one word) and its own prompt (1 word): the conversation still alternates.
    assert second.events[-1]["usage"]["inputTokens"] == 2 + 5 + 1
    assert "turn 2." in second.text


def test_the_turn_time_limit_ends_the_turn_with_done_time_limit() -> None:
    env = {"OFFLINE_MODEL_DELAY_MS": "200", "AGENT_TURN_TIME_LIMIT_SECONDS": "1"}
    with running_agent(env) as url:
        started = time.monotonic()
        turn = invoke(url, "[[pieces:100]]", session_id("time-limit"))
        elapsed = time.monotonic() - started

    assert turn.status == 200
    # Generous against a loaded machine; the whole answer would take 20 s.
    assert 1.0 <= elapsed < 8.0, "the turn ends at its limit, not after its 20 s answer"
    assert len(turn.deltas) < 40
    done = turn.events[-1]
    assert done["type"] == "done"
    assert done["stopReason"] == "time_limit"
    assert set(done["usage"]) >= {"inputTokens", "outputTokens", "totalTokens"}


def test_the_time_limit_ends_a_silent_model_too_and_the_session_stays_usable() -> None:
    env = {"OFFLINE_MODEL_DELAY_MS": "0", "AGENT_TURN_TIME_LIMIT_SECONDS": "1"}
    with running_agent(env) as url:
        started = time.monotonic()
        stopped = invoke(url, "[[pause:30]] first", session_id("time-limit-next"))
        elapsed = time.monotonic() - started
        after = invoke(url, "second", session_id("time-limit-next"))

    assert elapsed < 8.0, "the 30 s pause ends at the 1 s limit"
    assert stopped.deltas == []
    assert stopped.events[-1]["stopReason"] == "time_limit"
    # The stopped turn is dropped from the session: the next one is turn 1 again, and it answers.
    assert after.events[-1]["stopReason"] == "end_turn"
    assert after.text.startswith("Offline model, turn 1.")


def test_a_turn_within_its_limit_is_untouched() -> None:
    env = {"OFFLINE_MODEL_DELAY_MS": "0", "AGENT_TURN_TIME_LIMIT_SECONDS": "5", "AGENT_MAX_OUTPUT_TOKENS": "50"}
    with running_agent(env) as url:
        turn = invoke(url, "[[pieces:4]]", session_id("within"))
    assert turn.deltas == ["w0 ", "w1 ", "w2 ", "w3 "]
    assert turn.events[-1]["stopReason"] == "end_turn"
