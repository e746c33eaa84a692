"""--help shows the examples and the exit statuses; its section in the docs documents every flag."""

from __future__ import annotations

import re

import pytest

import client.__main__ as cli
from tests.support.docs import section


def help_text(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.parse_arguments(["--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_help_shows_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys)
    examples = text[text.index("examples:"):]
    for example in (
        'python -m client "Hello" ',  # the local stack
        "--stack dev",
        '| python -m client ',  # stdin
        "--json | jq",
        "--chat",
    ):
        assert example in examples, example


def test_help_lists_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    statuses = help_text(capsys).split("exit status:")[1]
    for status in (cli.EXIT_DONE, cli.EXIT_AGENT_ERROR, cli.EXIT_REQUEST_FAILED, cli.EXIT_INTERRUPTED, cli.EXIT_OUTPUT_CLOSED):
        assert re.search(rf"^  {status} ", statuses, re.MULTILINE), status


def test_the_client_section_documents_every_flag_and_exit_status() -> None:
    client_section = section("The client")
    parser_flags = [
        option for action in cli.build_parser()._actions for option in action.option_strings
        if option.startswith("--") and option != "--help"
    ]
    assert len(parser_flags) >= 10
    missing = [flag for flag in parser_flags if f"`{flag}" not in client_section and f"{flag} " not in client_section]
    assert not missing, f"the client's section does not mention {missing}"
    for status in (cli.EXIT_DONE, cli.EXIT_AGENT_ERROR, cli.EXIT_REQUEST_FAILED, cli.EXIT_INTERRUPTED, cli.EXIT_OUTPUT_CLOSED):
        assert f"| {status} |" in client_section, status
