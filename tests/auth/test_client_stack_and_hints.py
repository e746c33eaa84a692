"""python -m client against each auth mode's local gateway: --stack (a fake pulumi) per authMode, and
the one-line hints for a 403 without credentials and a 401."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from auth_support import API_KEYS, IAM_CREDENTIALS, JWT_SECRET

from client.__main__ import EXIT_DONE, EXIT_REQUEST_FAILED
from local.gateway_auth import issue_local_token
from local.stack import LocalStack
from tests.support.client_cli import FakePulumi, FakeStdin, run_cli

API_KEY = next(iter(API_KEYS))
ACCESS_KEY, SECRET = next(iter(IAM_CREDENTIALS.items()))


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    fake = FakePulumi(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{fake.folder}{os.pathsep}{os.environ.get('PATH', '')}")
    for name in ("AGENTCORE_STREAMING_URL", "AGENTCORE_STREAMING_API_KEY", "AGENTCORE_STREAMING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return fake


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The standard chain finds exactly the local IAM stack's test credentials."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


def hints(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("hint: ")]


# -- --stack per authMode -------------------------------------------------------------------------


def test_api_key_stack_sends_the_stack_key_and_an_explicit_key_wins(apikey_stack: LocalStack, pulumi: FakePulumi) -> None:
    pulumi.outputs({"apiUrl": apikey_stack.url, "authMode": "apiKey", "apiKey": API_KEY, "region": apikey_stack.region})
    status, out, err = run_cli("key from the stack", "--stack", "dev")
    assert status == EXIT_DONE, err
    assert 'You said: "key from the stack"' in out
    assert pulumi.argv == ["stack", "output", "--json", "--show-secrets", "--stack", "dev"]

    status, _, err = run_cli("explicit key", "--stack", "dev", "--api-key", "not-a-key")
    assert status == EXIT_REQUEST_FAILED and "HTTP 403 FORBIDDEN" in err


def test_iam_stack_signs_with_the_stack_region(iam_stack: LocalStack, pulumi: FakePulumi, aws_credentials: None) -> None:
    # A loopback URL names no region: only the stack's `region` output can scope the signature.
    pulumi.outputs({"invokeUrl": f"{iam_stack.url}/invoke", "authMode": "iam", "region": iam_stack.region})
    status, out, err = run_cli("signed", "--stack", "dev")
    assert status == EXIT_DONE, err
    assert 'You said: "signed"' in out

    pulumi.outputs({"invokeUrl": f"{iam_stack.url}/invoke", "authMode": "iam", "region": "eu-west-3"})
    status, _, err = run_cli("signed for another region", "--stack", "dev")
    assert status == EXIT_REQUEST_FAILED
    assert "HTTP 403" in err and "scoped to correct service and region" in err
    # An explicit --region wins over the output.
    assert run_cli("explicit region", "--stack", "dev", "--region", iam_stack.region)[0] == EXIT_DONE


def test_cognito_stack_takes_the_token_from_the_environment(
    cognito_stack: LocalStack, pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch
) -> None:
    pulumi.outputs({"apiUrl": cognito_stack.url, "authMode": "cognito", "region": cognito_stack.region})
    monkeypatch.setenv("AGENTCORE_STREAMING_TOKEN", issue_local_token(JWT_SECRET, "sub-stack"))
    status, out, err = run_cli("with a token", "--stack", "dev")
    assert status == EXIT_DONE, err
    assert 'You said: "with a token"' in out


# -- hints ----------------------------------------------------------------------------------------


def test_403_without_an_api_key_hints_at_api_key(apikey_stack: LocalStack) -> None:
    status, _, err = run_cli("no key", "--url", apikey_stack.url)
    assert status == EXIT_REQUEST_FAILED and "HTTP 403 FORBIDDEN: Forbidden" in err
    [hint] = hints(err)
    assert "--api-key" in hint and "pulumi stack output apiKey --show-secrets" in hint


def test_403_without_a_signature_hints_at_iam(iam_stack: LocalStack) -> None:
    status, _, err = run_cli("unsigned", "--url", iam_stack.url)
    assert status == EXIT_REQUEST_FAILED and "Missing Authentication Token" in err
    [hint] = hints(err)
    assert "--iam" in hint and "check the URL" in hint


def test_403_with_credentials_gets_no_credentials_hint(apikey_stack: LocalStack) -> None:
    status, _, err = run_cli("wrong key", "--url", apikey_stack.url, "--api-key", "not-a-key")
    assert status == EXIT_REQUEST_FAILED and "HTTP 403" in err
    assert hints(err) == []


def test_401_without_a_token_hints_at_token(cognito_stack: LocalStack) -> None:
    status, _, err = run_cli("no token", "--url", cognito_stack.url)
    assert status == EXIT_REQUEST_FAILED and "HTTP 401 UNAUTHORIZED" in err
    [hint] = hints(err)
    assert "--token" in hint and "AGENTCORE_STREAMING_TOKEN" in hint


def test_401_with_an_expired_token_hints_at_a_fresh_one(cognito_stack: LocalStack) -> None:
    expired = issue_local_token(JWT_SECRET, "sub-expired", expires_in=-60)
    status, _, err = run_cli("stale token", "--url", cognito_stack.url, "--token", expired)
    assert status == EXIT_REQUEST_FAILED and "HTTP 401" in err
    [hint] = hints(err)
    assert "expired" in hint and "fresh ID token" in hint


def test_chat_ends_on_a_refusal_instead_of_asking_again(apikey_stack: LocalStack) -> None:
    status, _, err = run_cli("--chat", "--url", apikey_stack.url, stdin=FakeStdin("first\nsecond\n"))
    assert status == EXIT_REQUEST_FAILED
    assert err.count("HTTP 403") == 1 and len(hints(err)) == 1
