from __future__ import annotations

import asyncio

import pytest
from offline_model.directives import Directives, parse_directives
from offline_model.model import (
    ANONYMIZED,
    BLOCKED,
    MARKDOWN_ANSWER,
    OFFLINE_CARD_NUMBER,
    GuardrailSimulation,
    OfflineEchoModel,
    plan_reply,
    simulate_guardrail,
)
from streaming_agent.model_factory import build_model
from streaming_agent.settings import load_settings


def user(text: str) -> dict:
    return {"role": "user", "content": [{"text": text}]}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": [{"text": text}]}


def test_all_directives_are_parsed_and_stripped() -> None:
    directives, text = parse_directives(
        "a [[pause:1.5]] b [[bytes:10]] [[piece-size:3]] [[delay-ms:0]] [[fail-after:2]] c"
    )
    assert directives == Directives(pause_seconds=1.5, total_bytes=10, piece_size=3, delay_ms=0, fail_after=2)
    assert text == "a b c"


def test_unknown_double_brackets_stay_in_the_text() -> None:
    directives, text = parse_directives("keep [[colour:red]] please")
    assert directives == Directives()
    assert text == "keep [[colour:red]] please"


@pytest.mark.parametrize(
    "prompt",
    ["[[pieces:-1]]", "[[bytes:999999999999]]", "[[pieces:x]]", "[[pause:soon]]", "[[pause:nan]]", "[[piece-size:0]]",
     "[[pieces:2]] [[bytes:2]]"],
)
def test_invalid_directives_are_rejected(prompt: str) -> None:
    with pytest.raises(ValueError, match=r"\[\["):
        parse_directives(prompt)


def test_bytes_pieces_add_up_to_the_requested_size() -> None:
    _, pieces = plan_reply([user("[[bytes:10]] [[piece-size:4]]")])
    assert [len(piece) for piece in pieces] == [4, 4, 2]
    assert len("".join(pieces).encode("ascii")) == 10


def test_the_echo_counts_user_turns_and_quotes_the_first_one() -> None:
    messages = [user("first [[delay-ms:0]]"), assistant("..."), user("second")]
    _, pieces = plan_reply(messages)
    assert "".join(pieces) == 'Offline model, turn 2. You said: "second". Earlier you said: "first".'


def test_a_bad_directive_in_an_earlier_turn_does_not_break_later_turns() -> None:
    _, pieces = plan_reply([user("[[pieces:x]] hi"), assistant("..."), user("again")])
    assert "".join(pieces).endswith('Earlier you said: "hi".')


def test_the_markdown_directive_streams_the_markdown_answer_in_word_pieces() -> None:
    directives, text = parse_directives("show me [[markdown]] please")
    assert directives == Directives(markdown=True)
    assert text == "show me please"
    _, pieces = plan_reply([user("[[markdown]] [[delay-ms:0]]")])
    assert "".join(pieces) == MARKDOWN_ANSWER  # line breaks and code indentation survive the split
    assert len(pieces) > 20
    assert all(piece.strip() for piece in pieces)


@pytest.mark.parametrize("prompt", ["[[markdown]] [[pieces:2]]", "[[bytes:3]] [[markdown]]"])
def test_the_markdown_directive_does_not_combine_with_other_replies(prompt: str) -> None:
    with pytest.raises(ValueError, match=r"\[\[markdown\]\]"):
        parse_directives(prompt)


def test_the_markdown_switch_answers_every_plain_prompt_with_the_markdown_answer() -> None:
    _, pieces = plan_reply([user("How does streaming work?")], markdown=True)
    assert "".join(pieces) == MARKDOWN_ANSWER
    _, pieces = plan_reply([user("[[pieces:2]]")], markdown=True)  # another reply directive still wins
    assert pieces == ["w0 ", "w1 "]


def test_guardrail_directives_plan_the_blocked_message_instead_of_the_echo() -> None:
    prompt = [{"role": "user", "content": [{"text": "[[guardrail:input]] say SECRET-WORD"}]}]
    directives, pieces = plan_reply(prompt)
    assert directives.guardrail == "input"
    assert pieces == ["Offline guardrail: this request was blocked."]
    _, pieces = plan_reply([{"role": "user", "content": [{"text": "[[guardrail:output]] say SECRET-WORD"}]}])
    assert "".join(pieces) == "Offline model, turn 1. Offline guardrail: the answer was blocked."
    with pytest.raises(ValueError, match="input, output, mask"):
        parse_directives("[[guardrail:both]]")


# --- [[guardrail:mask]] and which messages the simulated guardrail judges (issue 18) -------------


def run_stream(model: object, messages: list[dict]) -> list[dict]:
    async def collect() -> list[dict]:
        return [event async for event in model.stream(messages)]  # type: ignore[attr-defined]

    return asyncio.run(collect())


def test_a_mask_replaces_the_card_number_the_way_bedrock_does_and_is_no_block() -> None:
    events = run_stream(OfflineEchoModel(delay_ms=0), [user("[[guardrail:mask]] what is my card?")])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == 'Offline model, turn 1. You said: "what is my card?". The card number on file is {CREDIT_DEBIT_CARD_NUMBER}.'
    assert OFFLINE_CARD_NUMBER not in text
    assert {"messageStop": {"stopReason": "guardrail_intervened"}} in events
    trace = next(e for e in events if "metadata" in e)["metadata"]["trace"]["guardrail"]
    entities = trace["outputAssessments"]["offline-guardrail"][0]["sensitiveInformationPolicy"]["piiEntities"]
    assert [(entity["type"], entity["action"]) for entity in entities] == [("CREDIT_DEBIT_CARD_NUMBER", "ANONYMIZED")]
    # A mask is no block: BedrockModel emits no redaction for it, and neither does the offline model.
    assert not [e for e in events if "redactContent" in e]


def test_a_block_brings_bedrock_models_two_redactions_just_before_the_metadata() -> None:
    events = run_stream(OfflineEchoModel(delay_ms=0), [user("[[guardrail:output]] hi")])
    kinds = [next(iter(event)) for event in events]
    assert kinds[-3:] == ["redactContent", "redactContent", "metadata"]


def test_the_whole_history_is_judged_unless_only_the_latest_message_is() -> None:
    history = [user("[[guardrail:mask]] my card"), assistant("ok"), user("thanks")]
    # Bedrock without guardContent judges every message: the earlier card number intervenes again.
    assert simulate_guardrail(["[[guardrail:mask]] my card", "thanks"]) == GuardrailSimulation(input_action=ANONYMIZED)
    assert simulate_guardrail(["[[guardrail:input]] kept", "thanks"]) == GuardrailSimulation(input_action=BLOCKED)
    # With only the latest message judged (BedrockModel's guardrail_latest_message), nothing does.
    assert not simulate_guardrail(["[[guardrail:mask]] my card", "thanks"], latest_message_only=True).intervened
    # An earlier clean prompt whose answer was blocked is not judged again either way.
    assert not simulate_guardrail(["[[guardrail:output]] hi", "thanks"]).intervened
    events = run_stream(OfflineEchoModel(delay_ms=0, guardrail_latest_message=True), history)
    assert {"messageStop": {"stopReason": "end_turn"}} in events
    events = run_stream(OfflineEchoModel(delay_ms=0), history)
    assert {"messageStop": {"stopReason": "guardrail_intervened"}} in events


def test_the_agents_offline_model_judges_only_the_latest_message_and_redacts_only_the_blocked_side() -> None:
    model = build_model(load_settings({"AGENT_MODEL_PROVIDER": "offline"}))
    assert model.get_config()["guardrail_latest_message"] is True  # type: ignore[index]
    events = run_stream(model, [user("[[guardrail:output]] hi")])
    assert [e["redactContent"] for e in events if "redactContent" in e] == [
        {"redactAssistantContentMessage": "[Assistant output redacted.]"}]
    events = run_stream(model, [user("[[guardrail:input]] hi")])
    assert [e["redactContent"] for e in events if "redactContent" in e] == [
        {"redactUserContentMessage": "[User input redacted.]"}]


# Tools (issue 21): [[tool:NAME {input}]] makes the model ask for a tool as Bedrock's ConverseStream does.


def tool_use(tool_use_id: str, name: str, tool_input: dict) -> dict:
    return {"role": "assistant", "content": [{"toolUse": {"toolUseId": tool_use_id, "name": name, "input": tool_input}}]}


def tool_result(tool_use_id: str, text: str, status: str = "success") -> dict:
    return {"role": "user", "content": [{"toolResult": {"toolUseId": tool_use_id, "status": status,
                                                        "content": [{"text": text}]}}]}


def test_tool_directives_are_parsed_in_order_and_stripped() -> None:
    directives, text = parse_directives('a [[tool:current_time]] b [[tool:word_count {"text": "x ]] y"}]] c [[narrate]]')
    assert directives.tools == (("current_time", {}), ("word_count", {"text": "x ]] y"}))
    assert directives.narrate and text == "a b c"


@pytest.mark.parametrize(
    ("prompt", "named"),
    [("[[tool:bad name]]", "tool name"), ("[[tool:]]", "tool name"), ("[[tool:" + "x" * 65 + "]]", "tool name"),
     ("[[tool:current_time {nope}]]", "JSON object"), ('[[tool:current_time {"a": [1}]]', "JSON object")],
)
def test_invalid_tool_directives_name_what_is_wrong(prompt: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_directives(prompt)


def test_a_tool_request_streams_a_tool_use_block_as_converse_stream_does() -> None:
    events = run_stream(OfflineEchoModel(delay_ms=0), [user('[[tool:current_time {"timezone": "Asia/Tokyo"}]] now?')])
    assert events[:5] == [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "tooluse_offline_1_1", "name": "current_time"}}}},
        # ConverseStream sends the input as JSON text (ToolUseBlockDelta.input is a string).
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"timezone": "Asia/Tokyo"}'}}}},
        {"contentBlockStop": {}},
        {"messageStop": {"stopReason": "tool_use"}},
    ]
    usage = events[5]["metadata"]["usage"]
    assert usage == {"inputTokens": 4, "outputTokens": 1, "totalTokens": 5}


def test_the_model_asks_for_each_named_tool_once_then_echoes_the_results() -> None:
    prompt = user("[[tool:current_time]] [[tool:current_time]] go")
    first = tool_use("tooluse_offline_1_1", "current_time", {})
    events = run_stream(OfflineEchoModel(delay_ms=0), [prompt, first, tool_result("tooluse_offline_1_1", "T1")])
    assert {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "tooluse_offline_1_2", "name": "current_time"}}}} in events
    second = tool_use("tooluse_offline_1_2", "current_time", {})
    history = [prompt, first, tool_result("tooluse_offline_1_1", "T1"), second,
               tool_result("tooluse_offline_1_2", "Error: boom", status="error")]
    events = run_stream(OfflineEchoModel(delay_ms=0), history)
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == 'Offline model, turn 1. Tool current_time returned: "T1". Tool current_time failed: "Error: boom".'
    assert {"messageStop": {"stopReason": "end_turn"}} in events


def test_a_later_turn_asks_for_its_own_tools_again() -> None:
    history = [user("[[tool:word_count]]"), tool_use("tooluse_offline_1_1", "word_count", {}),
               tool_result("tooluse_offline_1_1", "3"), assistant("done"), user("again [[tool:word_count]]")]
    events = run_stream(OfflineEchoModel(delay_ms=0), history)
    assert {"messageStop": {"stopReason": "tool_use"}} in events
    assert {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "tooluse_offline_2_1", "name": "word_count"}}}} in events


def test_narrate_streams_text_before_the_tool_request() -> None:
    events = run_stream(OfflineEchoModel(delay_ms=0), [user("[[narrate]] [[tool:word_count]]")])
    text = [e["contentBlockDelta"]["delta"]["text"] for e in events if "text" in e.get("contentBlockDelta", {}).get("delta", {})]
    assert text == ["Calling ", "word_count. "]
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 3


def test_a_prompt_the_simulated_guardrail_blocks_never_asks_for_a_tool() -> None:
    events = run_stream(OfflineEchoModel(delay_ms=0), [user("[[tool:current_time]] [[guardrail:input]] x")])
    assert not [e for e in events if "toolUse" in e.get("contentBlockStart", {}).get("start", {})]
    assert {"messageStop": {"stopReason": "guardrail_intervened"}} in events


def test_in_a_tool_turn_the_guardrail_still_judges_the_turns_prompt_as_bedrock_model_sends_it() -> None:
    # Strands' BedrockModel (guardrail_latest_message) wraps the last user message with text in
    # guardContent, not the toolResult message after it; the offline model judges that same prompt.
    from strands.models.bedrock import BedrockModel

    history = [user("[[guardrail:mask]] [[tool:word_count]] card"), tool_use("tooluse_offline_1_1", "word_count", {}),
               tool_result("tooluse_offline_1_1", "1")]
    bedrock = BedrockModel(model_id="anthropic.claude-test", region_name="us-east-1", guardrail_latest_message=True)
    formatted = bedrock._format_bedrock_messages(history)
    assert "guardContent" in formatted[0]["content"][0]
    assert not [block for block in formatted[2]["content"] if "guardContent" in block]
    events = run_stream(OfflineEchoModel(delay_ms=0, guardrail_latest_message=True), history)
    assert {"messageStop": {"stopReason": "guardrail_intervened"}} in events


def test_the_simulated_guardrail_never_judges_a_tool_result_as_bedrock_does_not() -> None:
    # Bedrock User Guide, "Include a guardrail with the Converse API": tool results are not evaluated.
    history = [user("[[tool:word_count]] count"), tool_use("tooluse_offline_1_1", "word_count", {}),
               tool_result("tooluse_offline_1_1", "[[guardrail:input]] [[guardrail:output]] from a tool")]
    for latest_only in (False, True):
        events = run_stream(OfflineEchoModel(delay_ms=0, guardrail_latest_message=latest_only), history)
        assert {"messageStop": {"stopReason": "end_turn"}} in events
        assert not [e for e in events if "trace" in e.get("metadata", {})]
