"""A link's ?api= cannot lead the chat page's saved API key, or a prompt, to another API.

The other API is tests/support/recording_api.py: a loopback server on an origin of its own that
records every request and lets any page read its answers (as an attacker's would). Before the person
accepts it, nothing at all reaches it; after, it gets only a key entered for it. Keys are kept per
API origin, so the stack's key keeps going to the stack alone. The same for an ID token:
test_cognito_sign_in.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from tests.support.chat_page import (
    SETTLE_SECONDS,
    api_key_stack,
    api_link_shown,
    assert_refused_and_nothing_sent,
    invoke_requests,
    linked_page_url,
    save_settings,
    send_and_wait,
    settings_fields,
    type_into,
)
from tests.support.headless_chromium import Chromium, Page, open_page
from tests.support.recording_api import ANSWER_TEXT, RecordingApi

from local.stack import LocalStack

STACK_KEY = "stack-key-6f1d2a"
LINKED_KEY = "key-typed-for-the-linked-api"
SETTINGS_KEY = "agentcore-streaming.settings"


@pytest.fixture(scope="module")
def key_stack() -> Iterator[LocalStack]:
    with api_key_stack(STACK_KEY) as running:
        yield running


@pytest.fixture
def page(chromium: Chromium, key_stack: LocalStack) -> Iterator[Page]:
    yield from open_page(chromium, key_stack.page_url)


def link(stack: LocalStack, api_url: str) -> str:
    return linked_page_url(stack.page_url, api_url)


def stored_settings(page: Page) -> dict[str, object]:
    return dict(page.evaluate(f"JSON.parse(localStorage.getItem('{SETTINGS_KEY}'))"))


def test_a_linked_api_gets_nothing_until_accepted_and_then_needs_its_own_key(
        page: Page, key_stack: LocalStack, linked: RecordingApi):
    save_settings(page, api_key=STACK_KEY)
    assert send_and_wait(page, "hello stack")["state"] == "done"  # the gateway took the saved key

    linked_url = f"{linked.url}/dev"
    page.navigate(link(key_stack, linked_url))
    assert_refused_and_nothing_sent(page, linked, "a prompt meant for nobody else")
    shown = api_link_shown(page)
    assert shown["hidden"] is False and shown["url"] == linked_url and shown["canUse"] is True, shown
    assert key_stack.url in str(shown["help"])  # where the saved key stays
    # Settings still name the stack and its key; the link changed nothing yet.
    assert settings_fields(page) == (key_stack.url, STACK_KEY)

    page.click("#api-link-use")
    assert api_link_shown(page)["hidden"] is True
    assert page.evaluate("location.search") == ""
    assert settings_fields(page) == (linked_url, "")  # the key is entered again for this API
    assert "Enter its API key" in page.evaluate("document.getElementById('settings-status').textContent")
    time.sleep(SETTLE_SECONDS)
    assert linked.requests == [], "accepting the link sent something by itself"

    answer = send_and_wait(page, "now for the linked API")
    assert answer["state"] == "done" and answer["answer"] == ANSWER_TEXT, answer
    [post] = linked.posts()
    assert post.path == "/dev/invoke" and json.loads(post.body) == {"prompt": "now for the linked API"}
    assert "x-api-key" not in post.headers
    save_settings(page, api_key=LINKED_KEY)
    assert send_and_wait(page, "with its own key")["state"] == "done"
    assert linked.posts()[-1].headers.get("x-api-key") == LINKED_KEY
    for secret in (STACK_KEY, "a prompt meant for nobody else", "hello stack"):
        assert linked.carrying(secret) == [], f"{secret!r} reached the linked API"


def test_keys_are_kept_per_api_origin(page: Page, key_stack: LocalStack, linked: RecordingApi):
    save_settings(page, api_key=STACK_KEY)
    # Typing another API's URL brings that origin's key (none yet), never the stack's.
    type_into(page, "#api-url", f"{linked.url}/dev")
    assert settings_fields(page) == (f"{linked.url}/dev", "")
    save_settings(page, api_key=LINKED_KEY)
    type_into(page, "#api-url", key_stack.url)
    assert settings_fields(page) == (key_stack.url, STACK_KEY)
    save_settings(page)
    assert stored_settings(page) == {"apiUrl": key_stack.url, "apiKeys": {key_stack.url: STACK_KEY, linked.url: LINKED_KEY}}
    # Emptying the key field forgets that origin's key only.
    type_into(page, "#api-url", f"{linked.url}/other-stage")
    assert settings_fields(page) == (f"{linked.url}/other-stage", LINKED_KEY)
    save_settings(page, api_key="")
    assert stored_settings(page)["apiKeys"] == {key_stack.url: STACK_KEY}

    save_settings(page, api_url=key_stack.url)
    assert settings_fields(page) == (key_stack.url, STACK_KEY)
    assert send_and_wait(page, "back at the stack")["state"] == "done"
    assert [request["headers"].get("x-api-key") for request in invoke_requests(page)] == [STACK_KEY]
    assert linked.requests == []


def test_an_accepted_link_does_not_bring_back_a_key_saved_for_it_before(
        page: Page, key_stack: LocalStack, linked: RecordingApi):
    save_settings(page, api_url=linked.url, api_key=LINKED_KEY)
    save_settings(page, api_url=key_stack.url, api_key=STACK_KEY)
    page.navigate(link(key_stack, linked.url))
    assert_refused_and_nothing_sent(page, linked, "undecided")
    page.click("#api-link-use")
    assert settings_fields(page) == (linked.url, "")
    assert send_and_wait(page, "accepted")["state"] == "done"
    assert [request.headers.get("x-api-key") for request in linked.posts()] == [None]
    assert linked.carrying(LINKED_KEY) == [] and linked.carrying(STACK_KEY) == []


def test_keeping_the_current_api_sends_to_it_with_its_key(page: Page, key_stack: LocalStack, linked: RecordingApi):
    save_settings(page, api_key=STACK_KEY)
    page.navigate(link(key_stack, linked.url))
    page.click("#api-link-keep")
    assert api_link_shown(page)["hidden"] is True
    assert page.evaluate("location.search") == ""
    answer = send_and_wait(page, "kept")
    assert answer["state"] == "done" and 'You said: "kept"' in answer["answer"], answer
    assert [request["headers"].get("x-api-key") for request in invoke_requests(page)] == [STACK_KEY]
    page.navigate(key_stack.page_url or "")  # a reload does not ask again
    assert api_link_shown(page)["hidden"] is True
    assert linked.requests == []


@pytest.mark.parametrize("value", ["javascript:alert(document.domain)", "ftp://files.example.com/dev", "not a url"])
def test_a_link_to_something_that_is_not_an_http_api_can_only_be_dismissed(
        page: Page, key_stack: LocalStack, linked: RecordingApi, value: str):
    save_settings(page, api_key=STACK_KEY)
    page.navigate(link(key_stack, value))
    shown = api_link_shown(page)
    assert shown["hidden"] is False and shown["url"] == value and shown["canUse"] is False, shown
    assert "not an http(s) URL" in str(shown["help"])
    assert_refused_and_nothing_sent(page, linked, "undecided")
    page.click("#api-link-keep")
    assert send_and_wait(page, "kept")["state"] == "done"
    assert [request["url"] for request in invoke_requests(page)] == [f"{key_stack.url}/invoke"]


def test_a_key_saved_before_keys_were_kept_per_api_stays_with_its_api(
        page: Page, key_stack: LocalStack, linked: RecordingApi):
    # What the page saved before: one URL and one key.
    earlier = json.dumps({"apiUrl": key_stack.url, "apiKey": STACK_KEY})
    page.evaluate(f"localStorage.setItem('{SETTINGS_KEY}', {json.dumps(earlier)})")
    page.navigate(link(key_stack, f"{linked.url}/dev"))
    assert settings_fields(page) == (key_stack.url, STACK_KEY)
    assert_refused_and_nothing_sent(page, linked, "undecided")
    page.click("#api-link-use")
    assert send_and_wait(page, "accepted")["state"] == "done"
    assert linked.carrying(STACK_KEY) == []
    assert stored_settings(page) == {"apiUrl": f"{linked.url}/dev", "apiKeys": {key_stack.url: STACK_KEY}}
