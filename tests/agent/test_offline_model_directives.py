from __future__ import annotations

import pytest
from streaming_agent.offline_model import MARKDOWN_ANSWER, Directives, parse_directives, plan_reply


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
    with pytest.raises(ValueError, match="input, output"):
        parse_directives("[[guardrail:both]]")
