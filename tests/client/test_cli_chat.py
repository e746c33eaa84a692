"""--chat: a conversation on a real pseudo-terminal (typed keys, Ctrl-C, Ctrl-D), and with piped stdin."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
from tests.support.client_cli import Terminal, run_client
from tests.support.streams import standin

from client.__main__ import CHAT_PROMPT, EXIT_DONE, EXIT_INTERRUPTED
from local.stack import LocalStack
from streaming_proxy.upstream import STOP_PAYLOAD

CTRL_C = b"\x03"
CTRL_D = b"\x04"
ENTER = b"\r"


@pytest.fixture
def chat(stack: LocalStack) -> Iterator[Terminal]:
    terminal = Terminal("--chat", "--url", stack.url)
    yield terminal
    terminal.close()


def test_two_turns_keep_the_session_and_ctrl_d_leaves_with_status_0(chat: Terminal) -> None:
    chat.expect("Ctrl-D leaves")
    chat.expect(CHAT_PROMPT)
    chat.type(b"Hello there" + ENTER)
    chat.expect('Offline model, turn 1. You said: "Hello there".')
    chat.expect(CHAT_PROMPT)
    chat.type(b"And then?" + ENTER)
    # Turn 2 of the same session: the agent remembers turn 1.
    chat.expect('Offline model, turn 2. You said: "And then?". Earlier you said: "Hello there".')
    chat.expect(CHAT_PROMPT)
    chat.type(CTRL_D)
    assert chat.wait() == EXIT_DONE
    assert "session: " in chat.expect("session: ")


def standin_count(stack: LocalStack, counted: Callable[[dict], bool]) -> int:
    return sum(1 for event in standin(stack, "GET", "/_standin/events") if counted(event))


def stops(stack: LocalStack) -> int:
    """How many stop requests reached the AgentCore stand-in so far."""
    return standin_count(stack, lambda event: event["kind"] == "invocation" and event["payloadBytes"] == len(STOP_PAYLOAD))


def turn_ends(stack: LocalStack) -> int:
    """How many of the agent's answers ended so far, whether their caller stayed or not."""
    return standin_count(stack, lambda event: event["kind"] in ("completed", "client_disconnected"))


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_ctrl_c_during_an_answer_stops_it_and_returns_to_the_prompt(stack: LocalStack, chat: Terminal) -> None:
    stops_before = stops(stack)
    chat.expect(CHAT_PROMPT)
    chat.type(b"[[pause:30]] [[pieces:2]] a slow one" + ENTER)
    chat.expect("a slow one\r\n")  # the line is taken (typed too early, Ctrl-C would discard it)
    # The agent stays silent for 30 s: a moment lets the request go out, well within the answer.
    time.sleep(0.5)
    ends_before = turn_ends(stack)
    chat.type(CTRL_C)
    shown = chat.expect("(answer stopped)", timeout=10)
    assert "w0" not in shown and "Traceback" not in shown
    # Closing the stream would not stop the turn on AWS: the client sent POST /stop, which reached
    # the agent, and the turn ended long before its 30 s.
    assert wait_until(lambda: stops(stack) == stops_before + 1, 10), "no stop request reached AgentCore"
    assert wait_until(lambda: turn_ends(stack) > ends_before, 10), "the turn ran on after Ctrl-C"
    chat.expect(CHAT_PROMPT)
    chat.type(b"still here?" + ENTER)
    chat.expect('You said: "still here?"')
    chat.expect(CHAT_PROMPT)
    chat.type(CTRL_D)
    assert chat.wait() == EXIT_DONE


def test_ctrl_c_at_the_prompt_leaves_with_status_130(chat: Terminal) -> None:
    chat.expect(CHAT_PROMPT)
    # The prompt shows a moment before input() waits on the terminal (readline's first call sets
    # itself up); a SIGINT in between is handled only with the next key, as in any program's read.
    # No person is that quick; a loaded test machine can be, hence the pause and a second press.
    time.sleep(0.5)
    for _ in range(3):
        chat.type(CTRL_C)
        try:
            status = chat.wait(5)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        raise AssertionError("Ctrl-C at the prompt did not end the chat")
    assert status == EXIT_INTERRUPTED
    assert "Traceback" not in chat.shown.decode(errors="replace")


def test_piped_chat_keeps_stdout_for_the_answers_and_survives_a_failed_turn(stack: LocalStack) -> None:
    turns = "first\n[[pieces:4]] [[fail-after:1]] this turn fails\n\nsecond\n"
    completed = run_client("--chat", "--url", stack.url, input_text=turns)
    assert completed.returncode == EXIT_DONE, completed.stderr
    answers = completed.stdout.splitlines()
    assert answers[0] == 'Offline model, turn 1. You said: "first".'
    assert answers[1] == "w0 "  # the failed turn's text, its error on stderr
    assert answers[2].startswith("Offline model, turn ") and 'You said: "second"' in answers[2]
    assert 'Earlier you said: "first"' in answers[2]
    assert len(answers) == 3 and CHAT_PROMPT not in completed.stdout
    assert completed.stderr.count(CHAT_PROMPT) == 5  # four lines (the empty one sends nothing), then end of input
    assert "error: " in completed.stderr and "session: " in completed.stderr


def test_a_first_prompt_argument_is_the_first_turn(stack: LocalStack) -> None:
    completed = run_client("opening line", "--chat", "--url", stack.url, input_text="next\n")
    assert completed.returncode == EXIT_DONE, completed.stderr
    assert completed.stdout.splitlines() == [
        'Offline model, turn 1. You said: "opening line".',
        'Offline model, turn 2. You said: "next". Earlier you said: "opening line".',
    ]


def test_chat_and_json_cannot_be_combined() -> None:
    completed = run_client("--chat", "--json", input_text="")
    assert completed.returncode == 2 and "not allowed with" in completed.stderr
