"""The local gateway's checks on their own: SigV4 recomputation, token validation, API keys."""

from __future__ import annotations

import datetime
import re
import time

from botocore.credentials import Credentials
from starlette.datastructures import Headers

from client.auth import region_from_url, sigv4_headers
from local.gateway_auth import (
    AuthSettings,
    CallerIdentity,
    GatewayRejection,
    authenticate,
    issue_local_token,
    local_user_arn,
)

ACCESS_KEY = "AKIAUNITTEST00000001"
SECRET = "unit-test-secret"
IAM = AuthSettings(mode="iam", iam_credentials={ACCESS_KEY: SECRET}, region="eu-west-1")
URL = "http://127.0.0.1:9999/invoke"
BODY = b'{"prompt": "hi"}'
SIGV4_SHAPE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/execute-api/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def signed(body: bytes = BODY, secret: str = SECRET, region: str = "eu-west-1") -> dict[str, str]:
    return sigv4_headers("POST", URL, {"Content-Type": "application/json"}, body, Credentials(ACCESS_KEY, secret), region)


def check(settings: AuthSettings, headers: dict[str, str], body: bytes = BODY, **extra: object) -> object:
    return authenticate(settings, method="POST", path="/invoke", query="", headers=Headers(headers), body=body, **extra)


def test_the_client_signature_has_the_sigv4_shape_for_execute_api() -> None:
    headers = signed()
    match = SIGV4_SHAPE.match(headers["Authorization"])
    assert match, headers["Authorization"]
    assert match["key"] == ACCESS_KEY and match["region"] == "eu-west-1"
    signed_names = match["signed"].split(";")
    assert {"host", "x-amz-date", "content-type"} <= set(signed_names)
    assert signed_names == sorted(signed_names)
    assert headers["X-Amz-Date"].startswith(match["date"])
    assert headers["Host"] == "127.0.0.1:9999"


def test_a_correct_signature_names_the_iam_caller() -> None:
    outcome = check(IAM, signed())
    assert isinstance(outcome, CallerIdentity)
    assert outcome.identity["userArn"] == local_user_arn(ACCESS_KEY)


def test_a_tampered_signature_body_secret_or_region_is_refused() -> None:
    headers = signed()
    last = headers["Authorization"][-1]
    tampered = {**headers, "Authorization": headers["Authorization"][:-1] + ("0" if last != "0" else "1")}
    for outcome in (
        check(IAM, tampered),
        check(IAM, signed(), body=b'{"prompt": "changed"}'),
        check(IAM, signed(secret="wrong-secret")),
        check(IAM, signed(region="us-west-2")),
        check(IAM, {"Content-Type": "application/json"}),
    ):
        assert isinstance(outcome, GatewayRejection), outcome
    assert check(IAM, {}).response_type == "MISSING_AUTHENTICATION_TOKEN"
    assert check(IAM, tampered).response_type == "INVALID_SIGNATURE"


def test_an_old_signature_is_refused() -> None:
    headers = signed()
    signed_at = datetime.datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    assert isinstance(check(IAM, headers, now=signed_at.timestamp() + 60), CallerIdentity)
    late = check(IAM, headers, now=signed_at.timestamp() + 3600)
    assert isinstance(late, GatewayRejection) and "expired" in late.message


def test_region_is_read_from_execute_api_urls() -> None:
    assert region_from_url("https://abc123.execute-api.ap-northeast-1.amazonaws.com/prod") == "ap-northeast-1"
    assert region_from_url("https://abc-vpce-0a1b.execute-api.eu-west-1.vpce.amazonaws.com/dev") == "eu-west-1"
    assert region_from_url("https://api.example.com/prod") is None


COGNITO = AuthSettings(mode="cognito", jwt_secret="s3cret")


def test_cognito_tokens_must_be_signed_unexpired_id_tokens() -> None:
    good = issue_local_token("s3cret", "user-1")
    outcome = check(COGNITO, {"Authorization": f"Bearer {good}"})
    assert isinstance(outcome, CallerIdentity) and outcome.authorizer["claims"]["sub"] == "user-1"
    now = time.time()
    refused = [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {issue_local_token('other-secret', 'user-1')}"},
        {"Authorization": f"Bearer {issue_local_token('s3cret', 'user-1', now=now - 7200, expires_in=3600)}"},
        {"Authorization": f"Bearer {issue_local_token('s3cret', 'user-1', token_use='access')}"},
        {"Authorization": f"Bearer {good[:-2]}xx"},
    ]
    for headers in refused:
        rejection = check(COGNITO, headers)
        assert isinstance(rejection, GatewayRejection) and rejection.response_type == "UNAUTHORIZED", headers


def test_api_keys_map_to_their_key_ids() -> None:
    settings = AuthSettings(mode="apiKey", api_keys={"k-one": "id-one", "k-two": "id-two"})
    assert check(settings, {"x-api-key": "k-two"}).identity["apiKeyId"] == "id-two"
    assert check(settings, {"x-api-key": "k-three"}) == GatewayRejection("INVALID_API_KEY", "Forbidden")
    assert check(settings, {}) == GatewayRejection("INVALID_API_KEY", "Forbidden")
