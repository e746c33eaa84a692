"""The chat page signs in with a user pool's hosted login (code + PKCE) and streams with the ID token.

The local stack in cognito mode: its gateway checks ID tokens like API Gateway's Cognito authorizer,
and local/cognito_login.py stands in for the pool's /oauth2/authorize, /oauth2/token and /logout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from tests.support.chat_page import (
    AUTH_STATUS,
    SETTLE_SECONDS,
    assert_refused_and_nothing_sent,
    evaluate_when_loaded,
    invoke_requests,
    linked_page_url,
    save_settings,
    send_and_wait,
    sign_in,
    store_sign_in,
    stored_sign_in,
)
from tests.support.headless_chromium import Chromium, Page, open_page
from tests.support.recording_api import ANSWER_TEXT, RecordingApi

from local.cognito_login import CognitoLogin, code_challenge
from local.gateway_auth import issue_local_token
from local.stack import LocalStack, StackSettings


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(auth="cognito", serve_page=True, offline_delay_ms=5)) as running:
        yield running


@pytest.fixture
def login(stack: LocalStack) -> CognitoLogin:
    assert stack.cognito_login is not None
    stack.cognito_login.settings.token_requests.clear()
    return stack.cognito_login


@pytest.fixture
def page(chromium: Chromium, stack: LocalStack) -> Iterator[Page]:
    yield from open_page(chromium, stack.page_url)


def test_sign_in_with_pkce_then_stream_with_the_id_token(page: Page, stack: LocalStack, login: CognitoLogin):
    assert page.evaluate("document.getElementById('auth').hidden") is False
    # Not signed in: the page asks for a sign-in and sends nothing.
    refused = send_and_wait(page, "before signing in")
    assert refused["state"] == "error" and "Sign in" in refused["error"]
    assert invoke_requests(page) == []

    sign_in(page)
    assert page.evaluate(AUTH_STATUS) == f"Signed in as {login.settings.email}"
    # The authorize request carried an S256 challenge of the verifier the token request then proved.
    authorize = [event["request"]["url"] for event in page.events("Network.requestWillBeSent")
                 if "/oauth2/authorize" in event["request"]["url"]]
    assert len(authorize) == 1
    query = {name: values[0] for name, values in parse_qs(urlsplit(authorize[0]).query).items()}
    assert query["code_challenge_method"] == "S256" and query["response_type"] == "code"
    assert query["scope"] == "openid email" and query["redirect_uri"] == stack.page_url
    assert len(query["state"]) >= 32
    [token_request] = login.settings.token_requests
    assert code_challenge(token_request["code_verifier"]) == query["code_challenge"]
    # The code left the address bar; the token is in this tab's sessionStorage, never in localStorage,
    # kept with the API origin the page called when the sign-in started (the only one it goes to).
    assert page.evaluate("location.search") == ""
    stored = stored_sign_in(page)
    token = stored["idToken"]
    assert token and token.count(".") == 2
    assert stored["api"] == stack.url
    assert token not in page.evaluate("JSON.stringify(localStorage)")

    answer = send_and_wait(page, "Hello with a token")
    assert answer["state"] == "done", answer
    assert 'You said: "Hello with a token"' in answer["answer"]
    assert [request["headers"].get("Authorization") for request in invoke_requests(page)] == [f"Bearer {token}"]

    # Sign out: the hosted login's /logout, back to the page, signed out.
    page.click("#sign-out")
    evaluate_when_loaded(page, f"{AUTH_STATUS} === 'Not signed in'", 20, "the page to come back signed out")
    assert any("/logout?" in event["request"]["url"] for event in page.events("Network.requestWillBeSent"))
    assert page.evaluate("sessionStorage.getItem('agentcore-streaming.idToken')") is None


def come_back_from_login(page: Page, stack: LocalStack, login: CognitoLogin, *, pending: dict[str, str],
                         verifier: str, state: str) -> None:
    """As if this tab had started a sign-in (`pending` in sessionStorage), go through the hosted login."""
    page.evaluate(f"sessionStorage.setItem('agentcore-streaming.signIn', {json.dumps(json.dumps(pending))})")
    query = {"response_type": "code", "client_id": login.settings.client_id, "redirect_uri": stack.page_url,
             "scope": "openid email", "state": state, "code_challenge": code_challenge(verifier),
             "code_challenge_method": "S256"}
    page.navigate(f"{login.url}/oauth2/authorize?{urlencode(query)}")
    evaluate_when_loaded(page, f"{AUTH_STATUS}.startsWith('Sign-in failed')", 20, "the page to report the failed sign-in")


def test_a_wrong_verifier_is_refused_by_the_token_endpoint(page: Page, stack: LocalStack, login: CognitoLogin):
    stored = "s" * 64  # the verifier this tab kept is not the one the challenge was made from
    come_back_from_login(page, stack, login, pending={"state": "S" * 32, "verifier": stored, "redirectUri": stack.page_url},
                         verifier="x" * 64, state="S" * 32)
    assert "400 (invalid_grant)" in page.evaluate(AUTH_STATUS)
    assert [request["code_verifier"] for request in login.settings.token_requests] == [stored]
    assert page.evaluate("sessionStorage.getItem('agentcore-streaming.idToken')") is None
    assert page.evaluate("document.getElementById('sign-in').hidden") is False


def test_a_state_this_tab_did_not_send_is_never_redeemed(page: Page, stack: LocalStack, login: CognitoLogin):
    verifier = "v" * 64
    come_back_from_login(page, stack, login, pending={"state": "A" * 32, "verifier": verifier, "redirectUri": stack.page_url},
                         verifier=verifier, state="B" * 32)
    assert "did not match this tab's sign-in request" in page.evaluate(AUTH_STATUS)
    assert login.settings.token_requests == []
    assert page.evaluate("location.search") == ""


def test_an_expired_token_is_not_sent_and_a_refused_one_asks_for_a_new_sign_in(page: Page, stack: LocalStack):
    expired = issue_local_token(stack.jwt_secret, "local-user", expires_in=-10)
    store_sign_in(page, expired, stack.url)
    answer = send_and_wait(page, "with an expired token")
    assert answer["state"] == "error" and "Sign in" in answer["error"]
    assert invoke_requests(page) == []
    assert page.evaluate("sessionStorage.getItem('agentcore-streaming.idToken')") is None

    # Unexpired but not the pool's: the gateway (as API Gateway's authorizer) answers 401.
    forged = issue_local_token("not-the-pool-secret", "local-user", expires_in=3600)
    store_sign_in(page, forged, stack.url)
    answer = send_and_wait(page, "with a forged token")
    assert answer["state"] == "error" and "401" in answer["error"] and "sign in again" in answer["error"]
    assert [request["headers"].get("Authorization") for request in invoke_requests(page)] == [f"Bearer {forged}"]
    assert page.evaluate("sessionStorage.getItem('agentcore-streaming.idToken')") is None
    assert page.evaluate(AUTH_STATUS) == "Not signed in"


def test_a_page_opened_as_index_html_comes_back_to_its_registered_url(page: Page, stack: LocalStack, login: CognitoLogin):
    # The app client lists the page's URL (".../"); the same page opened as ".../index.html" must ask
    # for that URL too, or the hosted login refuses the sign-in (redirect_mismatch).
    page.navigate(stack.page_url + "index.html")
    sign_in(page)
    assert page.evaluate(AUTH_STATUS) == f"Signed in as {login.settings.email}"
    assert page.evaluate("location.origin + location.pathname") == stack.page_url


def test_a_linked_api_gets_no_id_token_until_the_person_signs_in_for_it(
        page: Page, stack: LocalStack, linked: RecordingApi):
    # A link's ?api= on another origin (tests/system/browser/test_api_link.py for API keys): the stack's
    # sign-in never goes there; only a sign-in made once the person chose that API does.
    sign_in(page)
    assert send_and_wait(page, "hello stack")["state"] == "done"
    [stack_request] = invoke_requests(page)
    token = stack_request["headers"]["Authorization"].removeprefix("Bearer ")

    page.navigate(linked_page_url(stack.page_url, f"{linked.url}/dev"))
    assert page.evaluate(AUTH_STATUS).startswith("Signed in as")  # the sign-in is the stack's, and stays
    assert_refused_and_nothing_sent(page, linked, "a prompt meant for nobody else")
    page.click("#api-link-use")
    assert page.evaluate(AUTH_STATUS) == "Not signed in"
    assert "Sign in again" in page.evaluate("document.getElementById('settings-status').textContent")
    refused = send_and_wait(page, "not signed in for it")
    assert refused["state"] == "error" and "Sign in" in refused["error"], refused
    time.sleep(SETTLE_SECONDS)
    assert linked.requests == [], f"sent to the linked API before a sign-in for it: {linked.credentials_and_bodies()}"
    assert [request["headers"].get("Authorization") for request in invoke_requests(page)] == [f"Bearer {token}"]

    # The person signs in again, now for the linked API: only that sign-in goes there.
    sign_in(page)
    assert (stored_sign_in(page) or {})["api"] == linked.url
    answer = send_and_wait(page, "signed in for the linked API")
    assert answer["state"] == "done" and answer["answer"] == ANSWER_TEXT, answer
    [post] = linked.posts()
    assert post.headers["authorization"] == f"Bearer {(stored_sign_in(page) or {})['idToken']}"
    for secret in ("a prompt meant for nobody else", "not signed in for it", "hello stack"):
        assert linked.carrying(secret) == [], f"{secret!r} reached the linked API"


def test_a_sign_in_goes_only_to_the_api_it_was_made_for(page: Page, stack: LocalStack, linked: RecordingApi):
    sign_in(page)
    # The person types another API into Settings: the stack's sign-in does not follow it there.
    save_settings(page, api_url=linked.url)
    assert page.evaluate(AUTH_STATUS) == "Not signed in"
    refused = send_and_wait(page, "to the other API")
    assert refused["state"] == "error" and "Sign in" in refused["error"], refused
    time.sleep(SETTLE_SECONDS)
    assert linked.requests == [], linked.credentials_and_bodies()
    # Back to the stack: its sign-in is good there again.
    save_settings(page, api_url=stack.url)
    assert page.evaluate(AUTH_STATUS).startswith("Signed in as")
    assert send_and_wait(page, "back at the stack")["state"] == "done"
    assert [request["url"] for request in invoke_requests(page)] == [f"{stack.url}/invoke"]
