"""The client on a custom domain's URL (issue 13): no execute-api in the host, so SigV4 cannot read
the region from it; --region or AWS_REGION gives it, and the request is signed for that host."""

from __future__ import annotations

import io
import urllib.parse

import pytest
from tests.support.auth_support import IAM_CREDENTIALS

from client.__main__ import EXIT_DONE, EXIT_REQUEST_FAILED, parse_arguments, run
from client.api import invoke_target
from client.auth import region_from_url, sigv4_headers
from local.stack import LocalStack


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return run(parse_arguments(argv), stdout, stderr), stdout.getvalue(), stderr.getvalue()


def custom_domain_url(stack: LocalStack) -> str:
    """The local gateway under a host name that is not an execute-api one, as a custom domain is."""
    parts = urllib.parse.urlsplit(stack.url)
    return urllib.parse.urlunsplit(parts._replace(netloc=f"localhost:{parts.port}"))


@pytest.fixture
def iam_caller(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    access_key, secret = next(iter(IAM_CREDENTIALS.items()))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_path}/no-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_path}/no-credentials")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)


def test_a_custom_domain_url_takes_the_invoke_route_at_its_root() -> None:
    # apiUrl on a custom domain is https://<name> (the stage mapped at the root), invokeUrl adds /invoke.
    for url in ("https://chat.example.com", "https://chat.example.com/", "https://chat.example.com/invoke"):
        _, host, port, path = invoke_target(url)
        assert (host, port, path) == ("chat.example.com", None, "/invoke")
    assert region_from_url("https://chat.example.com/invoke") is None
    assert region_from_url("https://abc123.execute-api.eu-west-1.amazonaws.com/v1") == "eu-west-1"


def test_sigv4_on_a_custom_domain_signs_its_host_in_the_given_region() -> None:
    class Credentials:
        access_key, secret_key, token = "AKIAEXAMPLE", "secret", None

    headers = sigv4_headers("POST", "https://chat.example.com/invoke", {"Content-Type": "application/json"},
                            b"{}", Credentials(), "eu-west-1")
    assert headers["Host"] == "chat.example.com"
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    assert "host" in headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")


def test_iam_on_a_custom_domain_needs_a_region_and_says_how_to_give_it(
    iam_stack: LocalStack, iam_caller: None
) -> None:
    url = custom_domain_url(iam_stack)
    code, _, err = run_cli(["custom domain", "--url", url, "--iam"])
    assert code == EXIT_REQUEST_FAILED
    assert "cannot sign the request" in err and "--region" in err and "AWS_REGION" in err


def test_iam_on_a_custom_domain_streams_with_region_from_flag_or_environment(
    iam_stack: LocalStack, iam_caller: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = custom_domain_url(iam_stack)
    code, out, err = run_cli(["custom domain flag", "--url", url, "--iam", "--region", iam_stack.region])
    assert code == EXIT_DONE, err
    assert "custom domain flag" in out
    monkeypatch.setenv("AWS_REGION", iam_stack.region)
    code, out, err = run_cli(["custom domain env", "--url", f"{url}/invoke", "--iam"])
    assert code == EXIT_DONE, err
    assert "custom domain env" in out
    # Signed for another region, the gateway (like API Gateway) refuses the signature.
    code, _, err = run_cli(["wrong region", "--url", url, "--iam", "--region", "ap-south-2"])
    assert code == EXIT_REQUEST_FAILED and "HTTP 403 FORBIDDEN" in err
