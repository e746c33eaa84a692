"""The plain-text answer's tool lines (issue 21): on stderr, one per tool event, never mixed into stdout."""

from __future__ import annotations

import io

from client.api import Event
from client.output import Output, TextAnswer


def event(kind: str, **data: object) -> Event:
    return Event(kind, dict(data), 0.0)


def tool(status: str) -> Event:
    return event("tool", toolUseId="t1", name="current_time", status=status)


def test_tool_lines_go_to_stderr_and_start_on_a_new_line_after_open_text() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    answer = TextAnswer(Output(stdout), stderr)
    for item in (tool("started"), tool("finished"), event("delta", text="It is "), tool("started"),
                 tool("failed"), event("delta", text="noon.")):
        answer.event(item)
    answer.end()
    assert stdout.getvalue() == "It is noon.\n"
    assert stderr.getvalue() == ("tool: using current_time...\ntool: current_time done\n"
                                 "\ntool: using current_time...\n\ntool: current_time failed\n")


def test_an_unknown_status_prints_nothing_and_a_closed_stderr_does_not_stop_the_answer() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    TextAnswer(Output(stdout), stderr).event(tool("running"))
    assert stderr.getvalue() == ""
    stderr.close()
    answer = TextAnswer(Output(stdout), stderr)
    answer.event(tool("started"))
    answer.event(event("delta", text="ok"))
    assert stdout.getvalue() == "ok"
