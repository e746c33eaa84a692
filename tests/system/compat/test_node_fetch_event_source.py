"""@microsoft/fetch-event-source (Node, pinned in node/package-lock.json) reads the stream correctly.

node/read_stream.cjs uses the handlers the README recommends (openWhenHidden, a throwing onerror,
onopen that checks the status) and prints what the library delivered; these tests read that.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.compat_support import (
    KEEPALIVE_SECONDS,
    MAX_PROMPT_CHARS,
    PIECE_DELAY_MS,
    inject_fault,
    invocations,
    raw_stream,
)

from local.stack import LocalStack
from tests.support.streams import holding_the_only_slot


def read_with_node(node_project: Path, stack: LocalStack, body: dict[str, Any]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "read_stream.cjs", json.dumps({"url": stack.url, "body": body})],
        cwd=node_project, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert records and records[-1]["type"] == "end", result.stdout
    return records


def messages(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [record for record in records if record["type"] == "message"]


def test_events_arrive_one_by_one_with_names_json_and_the_session_header(node_project: Path, stack: LocalStack) -> None:
    pieces = 8
    records = read_with_node(node_project, stack, {"prompt": f"[[pieces:{pieces}]] count"})
    assert not [record for record in records if record["type"] == "fatal"], records
    opened = records[0]
    assert opened["type"] == "open" and opened["status"] == 200
    delivered = messages(records)
    assert [message["event"] for message in delivered] == ["start"] + ["delta"] * pieces + ["done"]
    assert "".join(message["data"]["text"] for message in delivered if message["event"] == "delta") == "".join(
        f"w{index} " for index in range(pieces)
    )
    session_id = delivered[0]["data"]["sessionId"]
    assert opened["sessionHeader"] == session_id == delivered[-1]["data"]["sessionId"]
    # Incremental: the pieces are PIECE_DELAY_MS apart at the agent, and arrive spread out, not at once.
    deltas = [message["at"] for message in delivered if message["event"] == "delta"]
    assert deltas[-1] - deltas[0] >= (pieces - 1) * PIECE_DELAY_MS * 0.5, deltas
    assert records[-1]["attempts"] == 1


def test_keep_alives_are_never_delivered_as_messages(node_project: Path, stack: LocalStack) -> None:
    prompt = "[[pause:1.2]] [[pieces:1]] a quiet one"
    # The proxy does send keep-alives for this prompt (so the test below is not vacuous) ...
    silent_for = 1.2
    assert raw_stream(stack, prompt).count(b": keep-alive") >= int(silent_for / KEEPALIVE_SECONDS) - 2
    # ... and the library hands none of them to onmessage (an empty message would make JSON.parse throw).
    records = read_with_node(node_project, stack, {"prompt": prompt})
    assert not [record for record in records if record["type"] == "fatal"], records
    assert [message["event"] for message in messages(records)] == ["start", "delta", "done"]
    assert records[-1]["attempts"] == 1


def test_an_error_event_arrives_as_a_message_and_ends_the_call(node_project: Path, stack: LocalStack) -> None:
    records = read_with_node(node_project, stack, {"prompt": "[[fail-after:2]] then fail"})
    delivered = messages(records)
    assert [message["event"] for message in delivered] == ["start", "delta", "delta", "error"]
    assert delivered[-1]["data"]["code"] == "AGENT_ERROR"
    assert records[-1]["attempts"] == 1


def test_a_refused_request_is_not_sent_again(node_project: Path, stack: LocalStack) -> None:
    before = invocations(stack)
    records = read_with_node(node_project, stack, {"prompt": "x" * (MAX_PROMPT_CHARS + 1)})
    fatal = [record for record in records if record["type"] == "fatal"]
    assert fatal and (fatal[0]["status"], fatal[0]["code"]) == (400, "PROMPT_TOO_LONG")
    assert records[-1]["attempts"] == 1
    assert invocations(stack) == before


def test_throttling_is_reported_with_retry_after_and_not_retried(node_project: Path, capped_stack: LocalStack) -> None:
    with holding_the_only_slot(capped_stack):
        records = read_with_node(node_project, capped_stack, {"prompt": "hello"})
    fatal = [record for record in records if record["type"] == "fatal"]
    assert fatal and (fatal[0]["status"], fatal[0]["code"]) == (429, "THROTTLED")
    assert int(fatal[0]["retryAfter"]) > 0
    assert records[-1]["attempts"] == 1


def test_agentcore_throttling_arrives_as_an_error_message_and_is_not_retried(node_project: Path, stack: LocalStack) -> None:
    inject_fault(stack, "ThrottlingException")
    before = invocations(stack)
    records = read_with_node(node_project, stack, {"prompt": "hello"})
    delivered = messages(records)
    assert [message["event"] for message in delivered] == ["start", "error"]
    assert delivered[-1]["data"]["code"] == "THROTTLED" and delivered[-1]["data"]["retryAfterSeconds"] > 0
    assert records[-1]["attempts"] == 1
    assert invocations(stack) == before + 1


def test_tool_events_arrive_as_named_messages_a_delta_only_reader_skips(node_project: Path, stack: LocalStack) -> None:
    records = read_with_node(node_project, stack, {"prompt": "[[tool:current_time]] what time?"})
    assert not [record for record in records if record["type"] == "fatal"], records
    delivered = messages(records)
    assert [m["event"] for m in delivered if m["event"] != "delta"] == ["start", "tool", "tool", "done"]
    answer = "".join(m["data"]["text"] for m in delivered if m["event"] == "delta")
    assert answer.startswith("Offline model, turn 1. Tool current_time returned:")
    assert records[-1]["attempts"] == 1
