"""The hosted-login stand-in (local/cognito_login.py) keeps Cognito's rules: PKCE S256, single-use codes, registered URLs."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from starlette.datastructures import Headers

from local.cognito_login import CognitoLogin, LoginSettings, code_challenge
from local.gateway_auth import AuthSettings, CallerIdentity, check_cognito_token

SECRET = "test-secret-for-the-local-pool"
PAGE = "http://127.0.0.1:8001/"
VERIFIER = "v" * 20 + "-._~" + "A1b2C3d4E5f6G7h8I9j0K"  # 45 characters of the PKCE alphabet


@pytest.fixture(scope="module")
def login() -> Iterator[CognitoLogin]:
    running = CognitoLogin(LoginSettings(jwt_secret=SECRET, callback_urls=[PAGE])).start()
    yield running
    running.stop()


def request(login: CognitoLogin, method: str, path: str, form: dict[str, str] | None = None,
            content_type: str = "application/x-www-form-urlencoded") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", login.port, timeout=10)
    try:
        body = urlencode(form).encode() if form is not None else None
        headers = {"Content-Type": content_type, "Origin": "http://127.0.0.1:8001"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def authorize(login: CognitoLogin, **overrides: str) -> tuple[int, dict[str, str]]:
    query = {"response_type": "code", "client_id": login.settings.client_id, "redirect_uri": PAGE,
             "scope": "openid email", "state": "state-123", "code_challenge": code_challenge(VERIFIER),
             "code_challenge_method": "S256", **overrides}
    status, headers, _ = request(login, "GET", f"/oauth2/authorize?{urlencode(query)}")
    location = headers.get("location", "")
    return status, {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()} | (
        {"_to": location.split("?")[0]} if location else {})


def redeem(login: CognitoLogin, code: str, verifier: str = VERIFIER, **overrides: str) -> tuple[int, dict]:
    form = {"grant_type": "authorization_code", "client_id": login.settings.client_id, "code": code,
            "redirect_uri": PAGE, "code_verifier": verifier, **overrides}
    status, headers, body = request(login, "POST", "/oauth2/token", form)
    assert headers.get("access-control-allow-origin") == "http://127.0.0.1:8001"
    return status, json.loads(body)


def test_the_code_flow_with_the_right_verifier_yields_an_id_token_the_gateway_accepts(login):
    assert code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B
    status, back = authorize(login)
    assert status == 302 and back["_to"] == PAGE and back["state"] == "state-123"
    status, tokens = redeem(login, back["code"])
    assert status == 200, tokens
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    caller = check_cognito_token(AuthSettings(mode="cognito", jwt_secret=SECRET, jwt_audience=login.settings.client_id),
                                 Headers({"authorization": f"Bearer {tokens['id_token']}"}))
    assert isinstance(caller, CallerIdentity)
    assert caller.authorizer["claims"]["sub"] == "local-user"
    assert caller.authorizer["claims"]["email"] == "local-user@example.com"
    # The access token is not an ID token: the API's authorizer (no OAuth scopes) refuses it.
    refused = check_cognito_token(AuthSettings(mode="cognito", jwt_secret=SECRET),
                                  Headers({"authorization": f"Bearer {tokens['access_token']}"}))
    assert not isinstance(refused, CallerIdentity)


def test_a_wrong_verifier_is_refused_and_the_code_is_spent(login):
    _, back = authorize(login)
    status, answer = redeem(login, back["code"], verifier="w" * 43)
    assert (status, answer) == (400, {"error": "invalid_grant"})
    # Cognito redeems a code once: after a failed attempt even the right verifier is refused.
    assert redeem(login, back["code"]) == (400, {"error": "invalid_grant"})


def test_a_code_is_redeemed_once(login):
    _, back = authorize(login)
    assert redeem(login, back["code"])[0] == 200
    assert redeem(login, back["code"]) == (400, {"error": "invalid_grant"})


@pytest.mark.parametrize("overrides, error", [
    ({"redirect_uri": "http://127.0.0.1:8001/index.html"}, "invalid_grant"),  # not the one it was issued for
    ({"client_id": "another-client"}, "invalid_client"),
    ({"grant_type": "refresh_token"}, "unsupported_grant_type"),
    ({"code_verifier": "short"}, "invalid_grant"),
])
def test_token_requests_that_do_not_match_the_code_are_refused(login, overrides, error):
    _, back = authorize(login)
    assert redeem(login, back["code"], **overrides) == (400, {"error": error})


@pytest.mark.parametrize("overrides, error", [
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": ""}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "email"}, "invalid_scope"),
])
def test_authorize_sends_errors_back_to_the_page_with_its_state(login, overrides, error):
    status, back = authorize(login, **overrides)
    assert status == 302 and back["error"] == error and back["state"] == "state-123" and "code" not in back


@pytest.mark.parametrize("overrides", [{"redirect_uri": "https://evil.example/"}, {"client_id": "another-client"}])
def test_authorize_never_redirects_to_an_unregistered_url(login, overrides):
    status, back = authorize(login, **overrides)
    assert status == 400 and back == {}


def test_logout_returns_only_to_a_registered_sign_out_url(login):
    status, headers, _ = request(login, "GET", f"/logout?{urlencode({'client_id': login.settings.client_id, 'logout_uri': PAGE})}")
    assert status == 302 and headers["location"] == PAGE
    status, headers, _ = request(login, "GET", f"/logout?{urlencode({'client_id': login.settings.client_id, 'logout_uri': 'https://evil.example/'})}")
    assert status == 400 and "location" not in headers
