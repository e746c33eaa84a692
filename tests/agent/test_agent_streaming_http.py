"""The real AgentCore app under uvicorn on loopback, driven over HTTP like AgentCore drives it."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.agent_test_support import invoke, read_trace, running_agent, session_id
from offline_model.model import SECRET_MARKER


def test_offline_model_streams_word_pieces_then_done(agent_url: str, trace_file: Path) -> None:
    turn = invoke(agent_url, "hello streaming world", session_id("words"))

    assert turn.status == 200
    assert turn.content_type.startswith("text/event-stream")
    assert turn.deltas == ["Offline ", "model, ", "turn ", "1. ", "You ", "said: ",
                           '"hello ', "streaming ", 'world".']
    assert turn.events[-1]["type"] == "done"
    assert turn.events[-1]["stopReason"] == "end_turn"
    # The offline model's usage rule: input = words of the conversation, output = pieces streamed.
    usage = turn.events[-1]["usage"]
    assert set(usage) == {"inputTokens", "outputTokens", "totalTokens", "latencyMs"}
    assert (usage["inputTokens"], usage["outputTokens"], usage["totalTokens"]) == (3, 9, 12)
    assert isinstance(usage["latencyMs"], int) and usage["latencyMs"] >= 0
    # One trace line per piece, in order, with no text in it.
    trace = read_trace(trace_file)
    assert [line["index"] for line in trace] == list(range(len(turn.deltas)))
    assert all(set(line) == {"t", "index"} for line in trace)


def test_pieces_are_spaced_by_the_configured_delay(tmp_path: Path) -> None:
    trace_file = tmp_path / "trace.jsonl"
    env = {"OFFLINE_MODEL_DELAY_MS": "150", "OFFLINE_MODEL_TRACE_FILE": str(trace_file)}
    with running_agent(env) as url:
        requested_at = time.monotonic()
        turn = invoke(url, "[[pieces:4]]", session_id("delay"))

    assert turn.deltas == ["w0 ", "w1 ", "w2 ", "w3 "]
    times = [line["t"] for line in read_trace(trace_file)]
    assert len(times) == 4
    # asyncio may wake a hair early (clock resolution), hence the 10 ms allowance.
    assert times[0] - requested_at >= 0.14, "the first piece also waits one delay"
    assert all(later - earlier >= 0.14 for earlier, later in zip(times, times[1:]))


def test_each_piece_reaches_the_client_before_the_next_is_produced(tmp_path: Path) -> None:
    # Batching would show up as a piece arriving only after its successor was produced.
    trace_file = tmp_path / "trace.jsonl"
    env = {"OFFLINE_MODEL_DELAY_MS": "400", "OFFLINE_MODEL_TRACE_FILE": str(trace_file)}
    with running_agent(env) as url:
        turn = invoke(url, "[[pieces:4]]", session_id("unbatched"))

    produced = [line["t"] for line in read_trace(trace_file)]
    received = [at for at, event in zip(turn.received_at, turn.events) if event["type"] == "delta"]
    assert len(produced) == len(received) == 4
    for index in range(3):
        assert produced[index] <= received[index] < produced[index + 1]


def test_a_session_remembers_its_first_prompt_and_others_do_not(agent_url: str) -> None:
    first = invoke(agent_url, "my name is Ada", session_id("ada"))
    second = invoke(agent_url, "what is my name?", session_id("ada"))
    other = invoke(agent_url, "who am I?", session_id("bob"))

    assert first.text == 'Offline model, turn 1. You said: "my name is Ada".'
    assert second.text == ('Offline model, turn 2. You said: "what is my name?". '
                           'Earlier you said: "my name is Ada".')
    assert other.text == 'Offline model, turn 1. You said: "who am I?".'


def test_each_turn_reports_its_own_usage_not_the_session_total(tmp_path: Path) -> None:
    # A session's agent lives across turns and Strands sums usage and latency over its whole life;
    # done must carry this turn's numbers. 200 ms between pieces makes each turn's latency large
    # enough that a running total would show.
    with running_agent({"OFFLINE_MODEL_DELAY_MS": "200"}) as url:
        first = invoke(url, "[[pieces:2]] one", session_id("usage"))
        second = invoke(url, "[[pieces:3]] two words", session_id("usage"))

    first_usage, second_usage = first.events[-1]["usage"], second.events[-1]["usage"]
    assert (first_usage["inputTokens"], first_usage["outputTokens"]) == (2, 2)
    # The second call sends the whole conversation: "[[pieces:2]] one", "w0 w1 ", "[[pieces:3]] two words".
    assert (second_usage["inputTokens"], second_usage["outputTokens"]) == (2 + 2 + 3, 3)
    assert second_usage["totalTokens"] == 10
    # Two pieces take about 400 ms and three about 600 ms; a lifetime total would be about 1000 ms.
    assert 350 <= first_usage["latencyMs"] < 900
    assert 550 <= second_usage["latencyMs"] < 950


def test_requests_without_a_session_id_are_not_remembered(agent_url: str) -> None:
    invoke(agent_url, "first")
    turn = invoke(agent_url, "second")
    assert turn.text == 'Offline model, turn 1. You said: "second".'


def test_fail_after_gives_pieces_then_the_sdk_error_event(agent_url: str) -> None:
    turn = invoke(agent_url, "boom [[fail-after:2]]", session_id("fail"))

    # The SDK has already sent 200 and its headers when the model fails mid-stream.
    assert turn.status == 200
    assert turn.deltas == ["Offline ", "model, "]
    error = turn.events[-1]
    assert set(error) == {"error", "error_type", "message"}
    assert error["error_type"] == "OfflineModelFailure"
    # The SDK puts the exception text in "error": the proxy must never pass it on.
    assert SECRET_MARKER in error["error"]
    assert not any(event.get("type") == "done" for event in turn.events)


def test_a_failed_turn_leaves_the_session_usable(agent_url: str) -> None:
    invoke(agent_url, "one", session_id("recover"))
    invoke(agent_url, "two [[fail-after:1]]", session_id("recover"))
    turn = invoke(agent_url, "three", session_id("recover"))
    # The failed turn was forgotten, so this is turn 2, not turn 3.
    assert turn.text == 'Offline model, turn 2. You said: "three". Earlier you said: "one".'


def test_pieces_directive(agent_url: str) -> None:
    turn = invoke(agent_url, "[[pieces:5]] ignored text", session_id("pieces"))
    assert turn.deltas == ["w0 ", "w1 ", "w2 ", "w3 ", "w4 "]


def test_bytes_directive_with_default_and_custom_piece_size(agent_url: str) -> None:
    default = invoke(agent_url, "[[bytes:2500]]", session_id("bytes-default"))
    assert [len(piece) for piece in default.deltas] == [1024, 1024, 452]
    custom = invoke(agent_url, "[[bytes:3000]] [[piece-size:1000]]", session_id("bytes-custom"))
    assert [len(piece) for piece in custom.deltas] == [1000, 1000, 1000]
    assert all(piece.isascii() and piece.isprintable() for piece in custom.deltas)


def test_pause_directive_delays_the_first_piece(tmp_path: Path) -> None:
    trace_file = tmp_path / "trace.jsonl"
    with running_agent({"OFFLINE_MODEL_DELAY_MS": "0", "OFFLINE_MODEL_TRACE_FILE": str(trace_file)}) as url:
        requested_at = time.monotonic()
        turn = invoke(url, "[[pause:0.6]] [[pieces:1]]", session_id("pause"))
    assert turn.deltas == ["w0 "]
    assert read_trace(trace_file)[0]["t"] - requested_at >= 0.59


def test_delay_directive_overrides_the_configured_delay(tmp_path: Path) -> None:
    trace_file = tmp_path / "trace.jsonl"
    # 20 pieces at the configured 1 s would take 20 s; the directive makes it immediate.
    with running_agent({"OFFLINE_MODEL_DELAY_MS": "1000", "OFFLINE_MODEL_TRACE_FILE": str(trace_file)}) as url:
        turn = invoke(url, "[[delay-ms:0]] [[pieces:20]]", session_id("fast"))
    assert len(turn.deltas) == 20
    times = [line["t"] for line in read_trace(trace_file)]
    assert times[-1] - times[0] < 10


def test_directives_are_stripped_from_the_echo(agent_url: str) -> None:
    turn = invoke(agent_url, "hello [[delay-ms:0]] there", session_id("strip"))
    assert turn.text == 'Offline model, turn 1. You said: "hello there".'


def test_a_bad_directive_value_ends_in_the_sdk_error_event(agent_url: str) -> None:
    turn = invoke(agent_url, "[[pieces:many]]", session_id("bad-directive"))
    assert turn.deltas == []
    assert turn.events[-1]["error_type"] == "ValueError"


def test_missing_or_invalid_prompt_raises_value_error(agent_url: str) -> None:
    for payload in ({}, {"prompt": ""}, {"prompt": 42}, ["not", "an", "object"]):
        turn = invoke(agent_url, None, session_id("invalid"), payload=payload)
        assert turn.status == 200
        assert turn.deltas == []
        assert turn.events == [{"error": turn.events[0]["error"], "error_type": "ValueError",
                                "message": "An error occurred during streaming"}]
