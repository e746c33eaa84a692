"""python -m client --iam / --token / --api-key against the local gateway."""

from __future__ import annotations

import io

import pytest
from tests.support.auth_support import API_KEYS, IAM_CREDENTIALS, JWT_SECRET

from client.__main__ import EXIT_DONE, EXIT_REQUEST_FAILED, parse_arguments, run
from local.gateway_auth import issue_local_token
from local.stack import LocalStack


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return run(parse_arguments(argv), stdout, stderr), stdout.getvalue(), stderr.getvalue()


def test_iam_flag_signs_with_credentials_from_the_standard_chain(
    iam_stack: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    access_key, secret = next(iter(IAM_CREDENTIALS.items()))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path) + "/no-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path) + "/no-credentials")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    code, out, err = run_cli(["cli iam", "--url", iam_stack.url, "--iam", "--region", iam_stack.region])
    assert code == EXIT_DONE, err
    assert "cli iam" in out

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    code, _, err = run_cli(["cli iam", "--url", iam_stack.url, "--iam", "--region", iam_stack.region])
    assert code == EXIT_REQUEST_FAILED and "HTTP 403 FORBIDDEN" in err


def test_token_and_api_key_flags(cognito_stack: LocalStack, apikey_stack: LocalStack) -> None:
    token = issue_local_token(JWT_SECRET, "sub-cli")
    assert run_cli(["cli token", "--url", cognito_stack.url, "--token", token])[0] == EXIT_DONE
    code, _, err = run_cli(["cli token", "--url", cognito_stack.url])
    assert code == EXIT_REQUEST_FAILED and "HTTP 401 UNAUTHORIZED" in err
    assert run_cli(["cli key", "--url", apikey_stack.url, "--api-key", next(iter(API_KEYS))])[0] == EXIT_DONE


def test_iam_and_token_are_exclusive() -> None:
    with pytest.raises(SystemExit):
        parse_arguments(["p", "--iam", "--token", "t"])
