"""A reader that closes stdout early (`python -m client ... | head -c 10`): a quiet exit with status 141."""

from __future__ import annotations

import subprocess

import pytest
from tests.support.client_cli import client_process

from client.__main__ import EXIT_OUTPUT_CLOSED
from local.stack import LocalStack

# Long enough that the answer is still streaming when the reader leaves.
LONG_ANSWER = "[[pieces:300]] [[delay-ms:20]] a long answer"


@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["text", "json"])
def test_closed_stdout_ends_quietly_with_141(stack: LocalStack, mode: list[str]) -> None:
    process = client_process(
        LONG_ANSWER, "--url", stack.url, *mode, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        first = process.stdout.read(10)  # like `head -c 10`
        process.stdout.close()
        status = process.wait(30)
        stderr = process.stderr.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert len(first) == 10
    assert status == EXIT_OUTPUT_CLOSED, stderr
    # Nothing at all on stderr: no traceback, no "Exception ignored", never "cannot reach".
    assert stderr == ""


@pytest.mark.parametrize("mode", [[], ["--chat"]], ids=["answer", "chat"])
def test_stdout_and_stderr_closed_together_still_exit_141(stack: LocalStack, mode: list[str]) -> None:
    # `python -m client ... 2>&1 | head -c 10`: the session line and any message go to the closed pipe too.
    process = client_process(
        *mode, "--url", stack.url, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        process.stdin.write(f"{LONG_ANSWER}\n".encode())
        process.stdin.close()
        assert len(process.stdout.read(10)) == 10
        process.stdout.close()
        status = process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # An exception escaping (a BrokenPipeError on stderr) would end the interpreter with status 1.
    assert status == EXIT_OUTPUT_CLOSED
