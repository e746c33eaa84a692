"""The README's "Make it yours" steps, followed as written (issue 21).

The test takes the section's tool from its python block, adds it to a copy of agent/ as the section
says (at the end of tools.py), starts the local stack on that copy, and runs the section's client
command against it: the tool lines it promises on stderr and the answer it promises on stdout.
"""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path

from client.__main__ import EXIT_DONE, parse_arguments, run
from local.stack import REPO_ROOT, LocalStack, StackSettings
from tests.support.agent_copy import agent_copy_with_tools


def section(title: str) -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(f"\n## {title}\n")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def test_the_documented_tool_is_added_and_used_in_a_streamed_turn(tmp_path: Path) -> None:
    text = section("Make it yours")
    [tool_code] = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert len(tool_code.strip().splitlines()) <= 12  # "a tool in about ten lines"
    [client_line] = [line for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
                     for line in block.splitlines() if "-m client" in line]
    words = shlex.split(client_line)
    arguments = words[words.index("client") + 1:]
    promised_stdout = re.search(r"stdout\s+`([^`]+)`", text).group(1)  # type: ignore[union-attr]
    promised_stderr = re.findall(r"`(tool: [^`]+)`", text)
    assert promised_stderr and promised_stdout

    with LocalStack(StackSettings(offline_delay_ms=5, agent_dir=agent_copy_with_tools(tmp_path, tool_code))) as stack:
        arguments[arguments.index("--url") + 1] = stack.url
        stdout, stderr = io.StringIO(), io.StringIO()
        status = run(parse_arguments(arguments), stdout, stderr)

    assert status == EXIT_DONE, stderr.getvalue()
    assert stdout.getvalue().strip() == promised_stdout
    for line in promised_stderr:
        assert line + "\n" in stderr.getvalue()
