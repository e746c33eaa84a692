"""The local stack's log lines read as sentences: no library line keeps an unmerged `%s` or `%.3f`."""

from __future__ import annotations

import json
import re
import time

from client import stream_invoke
from local.stack import LocalStack, StackSettings

PROMPT = "a prompt that must stay out of the logs"
# A printf conversion logging would have replaced: %s, %d, %.3f, %(name)s, ... (not %% or a bare %).
UNMERGED = re.compile(r"%(\([^)]*\))?[#0 +-]*\d*(\.\d+)?[diouxXeEfFgGcrsa]")


def test_every_json_log_line_of_a_turn_has_its_arguments_merged() -> None:
    with LocalStack(StackSettings(offline_delay_ms=0)) as stack:
        assert [event.name for event in stream_invoke(stack.url, PROMPT, timeout=30)][-1] == "done"
        time.sleep(0.5)  # the last lines of the turn
        messages = {name: [json.loads(line)["message"] for line in stack.logs(name) if line.startswith("{")]
                    for name in stack.component_order}
        everything = "\n".join("\n".join(stack.logs(name)) for name in stack.component_order)
    # The SDK logs each turn's duration (bedrock_agentcore.app): merged, it reads as a number.
    assert any(re.fullmatch(r"Returning streaming response \(.*\) \(\d+\.\d{3}s\)", line) for line in messages["agent"])
    unmerged = [(name, line) for name, lines in messages.items() for line in lines if UNMERGED.search(line)]
    assert unmerged == []
    assert PROMPT not in everything
