"""The prompt from an argument or stdin, and --json: one JSON object per event, a line each, as it arrives."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from tests.support.client_cli import FakeStdin, client_process, run_cli, run_client
from starlette.responses import StreamingResponse

from client.__main__ import EXIT_AGENT_ERROR, EXIT_DONE, EXIT_USAGE
from local.stack import LocalStack
from tests.support.servers import ServerThread




def echo(prompt: str, turn: int = 1) -> str:
    """What the offline model answers to a first prompt."""
    return f'Offline model, turn {turn}. You said: "{prompt}".'


# -- the prompt ---------------------------------------------------------------------------------


def test_prompt_from_stdin_with_a_dash(stack: LocalStack) -> None:
    completed = run_client("-", "--url", stack.url, input_text="from a pipe\n")
    assert completed.returncode == EXIT_DONE, completed.stderr
    assert completed.stdout == echo("from a pipe") + "\n"


def test_prompt_from_stdin_when_absent_and_stdin_is_not_a_terminal(stack: LocalStack) -> None:
    completed = run_client("--url", stack.url, input_text="two lines\nof prompt\n")
    assert completed.returncode == EXIT_DONE, completed.stderr
    # The whole of stdin is the prompt (the offline model echoes it with its whitespace folded).
    assert completed.stdout == echo("two lines of prompt") + "\n"


def test_no_prompt_and_a_terminal_on_stdin_is_a_usage_error_naming_what_is_missing() -> None:
    status, out, err = run_cli("--url", "http://127.0.0.1:9", stdin=FakeStdin(terminal=True))
    assert status == EXIT_USAGE and out == ""
    assert "no prompt given" in err
    assert "argument" in err and "stdin" in err and "--chat" in err


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_an_empty_prompt_on_stdin_is_a_usage_error(text: str) -> None:
    status, _, err = run_cli("-", "--url", "http://127.0.0.1:9", stdin=FakeStdin(text))
    assert status == EXIT_USAGE
    assert "the prompt read from stdin is empty" in err


def test_a_dash_with_chat_is_a_usage_error() -> None:
    status, _, err = run_cli("-", "--chat", "--url", "http://127.0.0.1:9", stdin=FakeStdin("hi\n"))
    assert status == EXIT_USAGE and "--chat" in err


def test_the_argument_wins_over_stdin(stack: LocalStack) -> None:
    status, out, _ = run_cli("from the argument", "--url", stack.url, stdin=FakeStdin("from stdin"))
    assert status == EXIT_DONE and out == echo("from the argument") + "\n"


# -- --json -------------------------------------------------------------------------------------


def test_json_prints_each_event_on_its_own_line_as_it_arrives(stack: LocalStack) -> None:
    # The agent stays silent for a while before its first piece: `start` must be on stdout by then.
    process = client_process(
        "[[pause:1]] [[pieces:3]] slow", "--json", "--url", stack.url,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )
    try:
        first = json.loads(process.stdout.readline())
        assert first["event"] == "start"
        assert process.poll() is None, "start arrived only when the client exited: not flushed per event"
        lines = process.stdout.read().decode().splitlines()
        assert process.wait(30) == EXIT_DONE
    finally:
        process.kill()
        process.wait()
    events = [first, *(json.loads(line) for line in lines)]
    assert [event["event"] for event in events] == ["start", "delta", "delta", "delta", "done"]
    assert all(set(event) == {"event", "data"} for event in events)
    assert "".join(event["data"]["text"] for event in events if event["event"] == "delta") == "w0 w1 w2 "
    session = first["data"]["sessionId"]
    assert events[-1]["data"]["sessionId"] == session and first["data"]["requestId"]


def test_json_error_event_ends_the_output_and_exits_1(stack: LocalStack) -> None:
    completed = run_client("[[pieces:5]] [[fail-after:2]] breaks", "--json", "--url", stack.url)
    assert completed.returncode == EXIT_AGENT_ERROR
    events = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [event["event"] for event in events] == ["start", "delta", "delta", "error"]
    assert events[-1]["data"]["code"] and events[-1]["data"]["message"]


def canned_stream() -> Iterator[bytes]:
    yield b'event: start\ndata: {"sessionId": "s-1", "requestId": "r-1"}\n\n'
    yield b": keep-alive\n\n"
    yield 'event: delta\ndata: {"text": "line one\\nline two \\u00e9\\u2603"}\n\n'.encode()
    yield b'event: progress\ndata: {"step": 1}\n\n'  # an event this client does not know (yet)
    usage = {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17, "latencyMs": 321}
    yield f'event: done\ndata: {json.dumps({"sessionId": "s-1", "usage": usage, "later": [1, None]})}\n\n'.encode()


async def canned_api(scope: dict, receive: object, send: object) -> None:
    assert scope["type"] == "http"
    await StreamingResponse(canned_stream(), media_type="text/event-stream")(scope, receive, send)


def test_json_passes_unknown_events_and_fields_through_and_leaves_keep_alives_out() -> None:
    with ServerThread(canned_api, name="canned SSE API") as server:
        status, out, _ = run_cli("hi", "--json", "--url", server.url)
    assert status == EXIT_DONE
    lines = out.splitlines()
    assert len(lines) == 4 and out.endswith("\n")  # the delta's newline is escaped: still one line per event
    events = [json.loads(line) for line in lines]
    assert events == [
        {"event": "start", "data": {"sessionId": "s-1", "requestId": "r-1"}},
        {"event": "delta", "data": {"text": "line one\nline two \u00e9\u2603"}},
        {"event": "progress", "data": {"step": 1}},
        {"event": "done", "data": {"sessionId": "s-1", "later": [1, None],
                                   "usage": {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17, "latencyMs": 321}}},
    ]
