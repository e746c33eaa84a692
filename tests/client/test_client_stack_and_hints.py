"""python -m client against each auth mode's local gateway: --stack (a fake pulumi) per authMode, and
the one-line hints for a 403 without credentials and a 401."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.support.auth_support import API_KEYS, IAM_CREDENTIALS, JWT_SECRET

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


def test_403_with_a_wrong_api_key_hints_at_the_stacks_own_key(apikey_stack: LocalStack) -> None:
    status, _, err = run_cli("wrong key", "--url", apikey_stack.url, "--api-key", "not-a-key")
    assert status == EXIT_REQUEST_FAILED and "HTTP 403 FORBIDDEN: Forbidden" in err
    [hint] = hints(err)
    assert "refused this API key" in hint and "pulumi stack output apiKey --show-secrets" in hint
    assert "not-a-key" not in hint


def test_credentials_of_another_auth_mode_get_the_hint_for_the_one_the_api_wants(
    apikey_stack: LocalStack, iam_stack: LocalStack, cognito_stack: LocalStack, aws_credentials: None
) -> None:
    wanted = {apikey_stack.url: "this API wants an API key", iam_stack.url: "this API wants a SigV4 signature",
              cognito_stack.url: "this API wants a Cognito ID token"}
    given = {apikey_stack.url: ("--iam", "--region", apikey_stack.region), iam_stack.url: ("--api-key", API_KEY),
             cognito_stack.url: ("--api-key", API_KEY)}
    for url, hint_start in wanted.items():
        status, _, err = run_cli("the wrong kind of credentials", "--url", url, *given[url])
        assert status == EXIT_REQUEST_FAILED
        [hint] = hints(err)
        assert hint.startswith(f"hint: {hint_start}"), (url, err)


@pytest.mark.parametrize(
    ("access_key", "secret", "region", "hint_part"),
    [
        ("AKIAUNKNOWNCALLER001", SECRET, None, "aws sso login"),  # "The security token ... is invalid."
        (ACCESS_KEY, "not-the-secret", None, "check AWS_SECRET_ACCESS_KEY"),  # "...signature ... does not match"
        (ACCESS_KEY, SECRET, "eu-west-3", "pass --region REGION"),  # "Credential should be scoped ..."
    ],
)
def test_403_with_wrong_aws_credentials_hints_at_what_to_fix(
    iam_stack: LocalStack, aws_credentials: None, monkeypatch: pytest.MonkeyPatch,
    access_key: str, secret: str, region: str | None, hint_part: str,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    status, _, err = run_cli("signed wrongly", "--url", iam_stack.url, "--iam", "--region", region or iam_stack.region)
    assert status == EXIT_REQUEST_FAILED and "HTTP 403" in err
    [hint] = hints(err)
    assert hint_part in hint and secret not in hint


def test_a_signed_request_to_a_path_the_api_lacks_hints_at_the_url(iam_stack: LocalStack, aws_credentials: None) -> None:
    status, _, err = run_cli("wrong stage", "--url", f"{iam_stack.url}/no-such-stage/invoke", "--iam", "--region", iam_stack.region)
    assert status == EXIT_REQUEST_FAILED and "Missing Authentication Token" in err
    [hint] = hints(err)
    assert "check the URL" in hint and "--iam" not in hint


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
