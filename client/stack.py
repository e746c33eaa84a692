"""Where to call and how to authenticate, read from a deployed stack's outputs (`--stack NAME`).

Runs `pulumi stack output --json --show-secrets --stack NAME` in the current directory, as any
pulumi command would (so run it from the project, where Pulumi.yaml is). The stack exports
`apiUrl` and `invokeUrl` (either is enough), `authMode`, `region` and, in apiKey mode, `apiKey`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

# Every mode the stack can export as authMode: the stack's own names (standard library only, so the
# client still imports nothing of the Pulumi program).
from streaming_shared.auth_modes import AUTH_MODES
URL_OUTPUTS = ("apiUrl", "invokeUrl")
PULUMI_TIMEOUT_SECONDS = 120


class StackOutputError(Exception):
    """The stack's outputs could not be read, or lack what the client needs; the message says which."""


@dataclass(frozen=True)
class StackOutputs:
    stack: str
    url: str  # apiUrl, else invokeUrl: the client accepts either
    auth_mode: str  # one of AUTH_MODES
    region: str | None
    api_key: str | None  # only in apiKey mode (a secret output, hence --show-secrets)


def pulumi_command(stack: str) -> list[str]:
    return ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack]


def read_stack_outputs(stack: str) -> StackOutputs:
    return outputs_from(stack, run_pulumi(stack))


def run_pulumi(stack: str) -> dict[str, object]:
    executable = shutil.which("pulumi")
    if executable is None:
        raise StackOutputError(
            f"--stack {stack} needs the Pulumi CLI, and `pulumi` is not on PATH "
            "(install it: https://www.pulumi.com/docs/install/), or pass --url and the credentials yourself"
        )
    command = pulumi_command(stack)
    shown = " ".join(command)
    try:
        completed = subprocess.run(
            [executable, *command[1:]], capture_output=True, text=True, timeout=PULUMI_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise StackOutputError(f"`{shown}` did not finish within {PULUMI_TIMEOUT_SECONDS} s") from None
    except OSError as error:
        raise StackOutputError(f"cannot run `{shown}`: {error}") from None
    if completed.returncode != 0:
        raise StackOutputError(f"`{shown}` failed (exit status {completed.returncode}): {pulumi_error_line(completed.stderr)}")
    try:
        outputs = json.loads(completed.stdout)
    except ValueError:
        raise StackOutputError(f"`{shown}` printed something that is not JSON") from None
    if not isinstance(outputs, dict):
        raise StackOutputError(f"`{shown}` printed JSON that is not an object of outputs")
    return outputs


def pulumi_error_line(stderr: str) -> str:
    """The line of pulumi's stderr that says what went wrong (its `error:` line, else the last one)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    if errors:
        return errors[0]
    return lines[-1] if lines else "(pulumi printed nothing on stderr)"


def outputs_from(stack: str, outputs: dict[str, object]) -> StackOutputs:
    def text(name: str) -> str | None:
        value = outputs.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    def missing(what: str) -> StackOutputError:
        present = ", ".join(sorted(outputs)) or "none"
        return StackOutputError(
            f"stack {stack} has no output {what} (its outputs: {present}); deploy it with `pulumi up --stack {stack}`"
        )

    url = text("apiUrl") or text("invokeUrl")
    if url is None:
        raise missing(" or ".join(URL_OUTPUTS))
    auth_mode = text("authMode")
    if auth_mode is None:
        raise missing("authMode")
    if auth_mode not in AUTH_MODES:
        raise StackOutputError(
            f"stack {stack} exports authMode {auth_mode!r}, which this client does not know; known: {', '.join(AUTH_MODES)}"
        )
    api_key = text("apiKey")
    if auth_mode == "apiKey" and api_key is None:
        raise missing("apiKey (a secret output, read with --show-secrets)")
    return StackOutputs(stack=stack, url=url, auth_mode=auth_mode, region=text("region"), api_key=api_key)
