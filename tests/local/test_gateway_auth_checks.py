"""The local gateway's checks on their own: SigV4 recomputation, token validation, API keys."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
import time

import pytest
from botocore.credentials import Credentials
from starlette.datastructures import Headers

from client.auth import region_from_url, sigv4_headers
from local.gateway_auth import (
    LOCAL_APP_CLIENT_ID,
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


# -- the local token check, against tokens API Gateway's authorizer (or the proxy) would refuse ------

HEADER_SEGMENT = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()


def segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed_token(payload: bytes | str, secret: str = "s3cret", header: str = HEADER_SEGMENT) -> str:
    """A token over exactly these payload bytes (or this already-encoded segment), correctly signed."""
    body = payload if isinstance(payload, str) else segment(payload)
    signature = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{segment(signature)}"


def claims_text(exp: str) -> bytes:
    return ('{"sub":"user-1","token_use":"id","aud":"%s","exp":%s}' % (LOCAL_APP_CLIENT_ID, exp)).encode()


def is_refused(token: str) -> bool:
    outcome = check(COGNITO, {"Authorization": f"Bearer {token}"})
    return isinstance(outcome, GatewayRejection) and outcome.response_type == "UNAUTHORIZED"


def test_the_signing_helper_makes_tokens_the_check_accepts() -> None:
    assert not is_refused(signed_token(claims_text(str(int(time.time()) + 600))))


@pytest.mark.parametrize("exp", ["NaN", "Infinity", "-Infinity", "1e400", "true", '"9999999999"', "null"])
def test_an_exp_that_is_not_a_finite_number_is_refused(exp: str) -> None:
    # Python's json reads NaN and Infinity (and 1e400 as infinity), and infinity is never "past".
    assert is_refused(signed_token(claims_text(exp)))


def last_character_with_other_spare_bits(signature: str) -> str:
    """The same signature bytes spelled differently: 43 characters carry 258 bits for 256."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]


@pytest.mark.parametrize("tamper", [
    lambda token: token + "!",
    lambda token: token + "=",
    lambda token: token + "==",
    lambda token: token + "\x00",
    lambda token: token + " ",  # stripped as header whitespace, so still the same token...
    lambda token: token + "%20",
    lambda token: token + "*garbage*",
    lambda token: token[:-3] + "!" + token[-3:],
    lambda token: last_character_with_other_spare_bits(token),
])
def test_bytes_after_or_inside_the_signature_are_refused(tamper) -> None:
    good = issue_local_token("s3cret", "user-1")
    tampered = tamper(good)
    if tampered.strip() == good:
        assert not is_refused(tampered)  # ...which an HTTP server trims from a header value anyway
    else:
        assert is_refused(tampered), tampered[-12:]


def test_a_padded_or_stuffed_payload_segment_is_refused_even_when_signed() -> None:
    payload = segment(claims_text(str(int(time.time()) + 600)))
    assert is_refused(signed_token(payload + "=" * (-len(payload) % 4 or 4)))
    assert is_refused(signed_token(payload[:8] + "\n" + payload[8:]))


@pytest.mark.parametrize("audience", ["another_app_client", LOCAL_APP_CLIENT_ID.upper(), "", None])
def test_an_id_token_of_another_app_client_is_refused(audience: str | None) -> None:
    assert is_refused(issue_local_token("s3cret", "user-1", audience=audience))
    assert not is_refused(issue_local_token("s3cret", "user-1"))  # the local app client's own


def test_the_claims_go_on_as_api_gateway_passes_them() -> None:
    issued_at = 1_513_488_492  # Sun Dec 17 05:28:12 UTC 2017
    token = issue_local_token("s3cret", "user-1", now=issued_at, expires_in=2 * 3600,
                              extra_claims={"email_verified": True, "auth_time": issued_at})
    claims = check(COGNITO, {"Authorization": f"Bearer {token}"}, now=issued_at + 60).authorizer["claims"]
    assert claims["aud"] == LOCAL_APP_CLIENT_ID and claims["token_use"] == "id"
    assert claims["iat"] == "Sun Dec 17 05:28:12 UTC 2017" and claims["exp"] == "Sun Dec 17 07:28:12 UTC 2017"
    assert claims["email_verified"] == "true" and claims["auth_time"] == "1513488492"
    assert all(isinstance(value, str) for value in claims.values())
