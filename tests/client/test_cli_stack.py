"""--stack NAME: the URL and how to authenticate from `pulumi stack output --json --show-secrets` (a fake pulumi)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.support.client_cli import FakePulumi, run_cli

from client.__main__ import EXIT_DONE, EXIT_REQUEST_FAILED, EXIT_USAGE
from stack_config.auth import ApiKey, Cognito, Iam, NoAuth
from streaming_shared.auth_modes import AUTH_MODES
from local.stack import LocalStack

PULUMI_ARGV = ["stack", "output", "--json", "--show-secrets", "--stack", "dev"]


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    fake = FakePulumi(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{fake.folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return fake


def test_reads_api_url_from_the_stack_and_runs_pulumi_as_documented(stack: LocalStack, pulumi: FakePulumi) -> None:
    pulumi.outputs({"apiUrl": stack.url, "invokeUrl": f"{stack.url}/invoke", "authMode": "none", "region": "us-east-1"})
    status, out, err = run_cli("via the stack", "--stack", "dev")
    assert status == EXIT_DONE, err
    assert 'You said: "via the stack"' in out
    assert pulumi.argv == PULUMI_ARGV


def test_an_invoke_url_alone_is_enough(stack: LocalStack, pulumi: FakePulumi) -> None:
    pulumi.outputs({"invokeUrl": f"{stack.url}/invoke", "authMode": "none"})
    status, out, err = run_cli("invoke url", "--stack", "dev")
    assert status == EXIT_DONE, err
    assert 'You said: "invoke url"' in out


def test_an_explicit_url_wins_over_the_stack(stack: LocalStack, pulumi: FakePulumi) -> None:
    pulumi.outputs({"apiUrl": "http://127.0.0.1:9/v1", "authMode": "none"})  # nothing listens on port 9
    status, _, err = run_cli("explicit", "--stack", "dev", "--url", stack.url)
    assert status == EXIT_DONE, err


def test_missing_pulumi_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no pulumi anywhere
    status, out, err = run_cli("hi", "--stack", "dev")
    assert status == EXIT_REQUEST_FAILED and out == ""
    assert "`pulumi` is not on PATH" in err and "--url" in err
    assert "Traceback" not in err


def test_a_failing_pulumi_shows_its_error_line(pulumi: FakePulumi) -> None:
    pulumi.answer("", "warning: something unrelated\nerror: no stack named 'dev' found\n", 255)
    status, _, err = run_cli("hi", "--stack", "dev")
    assert status == EXIT_REQUEST_FAILED
    assert "pulumi stack output --json --show-secrets --stack dev" in err
    assert "exit status 255" in err and "error: no stack named 'dev' found" in err
    assert len(err.strip().splitlines()) == 1


def test_pulumi_printing_no_json_is_a_clear_error(pulumi: FakePulumi) -> None:
    pulumi.answer("Current stack outputs (0):\n    No output values currently exist\n", "", 0)
    status, _, err = run_cli("hi", "--stack", "dev")
    assert status == EXIT_REQUEST_FAILED and "not JSON" in err


@pytest.mark.parametrize(
    ("outputs", "named"),
    [
        ({"authMode": "none"}, "apiUrl or invokeUrl"),
        ({"apiUrl": "https://a.example/v1"}, "authMode"),
        ({"apiUrl": "https://a.example/v1", "authMode": "apiKey"}, "apiKey"),
    ],
    ids=["no-url", "no-auth-mode", "apiKey-without-key"],
)
def test_a_missing_output_is_named(pulumi: FakePulumi, outputs: dict[str, str], named: str) -> None:
    pulumi.outputs(outputs)
    status, _, err = run_cli("hi", "--stack", "dev")
    assert status == EXIT_REQUEST_FAILED
    assert f"stack dev has no output {named}" in err
    assert "pulumi up --stack dev" in err


def test_an_unknown_auth_mode_is_named_with_the_known_ones(pulumi: FakePulumi) -> None:
    pulumi.outputs({"apiUrl": "https://a.example/v1", "authMode": "password"})
    status, _, err = run_cli("hi", "--stack", "dev")
    assert status == EXIT_REQUEST_FAILED
    assert "'password'" in err and all(mode in err for mode in AUTH_MODES)


def test_a_cognito_stack_needs_a_token_and_says_so(pulumi: FakePulumi) -> None:
    pulumi.outputs({"apiUrl": "https://a.example/v1", "authMode": "cognito", "region": "us-east-1"})
    status, _, err = run_cli("hi", "--stack", "dev")
    assert status == EXIT_USAGE
    assert "uses Cognito" in err and "--token" in err and "AGENTCORE_STREAMING_TOKEN" in err


def test_the_client_knows_every_auth_mode_the_stack_can_export() -> None:
    # One list of names (streaming_shared/auth_modes.py), which the stack's auth types use and the
    # client reads without importing the Pulumi program.
    from client import stack as client_stack

    assert client_stack.AUTH_MODES is AUTH_MODES
    assert [kind.mode for kind in (NoAuth, ApiKey, Iam, Cognito)] == list(AUTH_MODES)


def test_the_stack_wins_over_the_environment(
    stack: LocalStack, pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTCORE_STREAMING_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AGENTCORE_STREAMING_API_KEY", "a-key-for-another-api")
    pulumi.outputs({"apiUrl": stack.url, "authMode": "none"})
    status, _, err = run_cli("stack first", "--stack", "dev")
    assert status == EXIT_DONE, err
