"""What a person does on the chat page, as the browser tests drive it: send, wait, sign in, settings."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

from tests.support.headless_chromium import BrowserError, Page, poll
from tests.support.recording_api import RecordingApi

from local.stack import LocalStack, StackSettings

AUTH_STATUS = "document.getElementById('auth-status').textContent"
# The tab's sign-in: {idToken, api: the API origin it was got for} (web/app.js TOKEN_KEY).
TOKEN_KEY = "agentcore-streaming.idToken"
# Long enough for anything the page was going to send to arrive.
SETTLE_SECONDS = 0.5

# Everything the page shows about its turns, read in one round trip.
TURNS_SCRIPT = """
[...document.querySelectorAll('#conversation .turn')].map((turn) => ({
  state: turn.dataset.state,
  answer: turn.querySelector('.answer').textContent.trim(),
  error: turn.querySelector('.error').hidden ? null : turn.querySelector('.error').innerText,
  firstTokenMs: turn.dataset.firstTokenMs || null,
  meta: turn.querySelector('.meta').textContent,
}))
"""
FINAL_STATES = ("done", "error", "stopped")


def evaluate_when_loaded(page: Page, expression: str, timeout: float, what: str) -> Any:
    """Poll `expression` across navigations (a page being replaced cannot answer for a moment)."""
    def probe() -> Any:
        try:
            return page.evaluate(f"document.readyState === 'complete' && ({expression})")
        except BrowserError:
            return None
    return poll(probe, timeout, what, context=page.problems)


def invoke_requests(page: Page) -> list[dict[str, Any]]:
    return [event["request"] for event in page.events("Network.requestWillBeSent")
            if event["request"]["url"].endswith("/invoke") and event["request"]["method"] == "POST"]


def turns(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate(TURNS_SCRIPT))


def send(page: Page, prompt: str) -> int:
    """Type the prompt and press Enter (the keyboard path); return the new turn's index."""
    before = len(turns(page))
    page.focus("#prompt")
    page.type_text(prompt)
    page.press_enter()
    poll(lambda: len(turns(page)) > before, 10, "the page to show the new turn")
    return before


def wait_until_final(page: Page, index: int, timeout: float = 60) -> dict[str, Any]:
    return poll(lambda: (lambda turn: turn if turn["state"] in FINAL_STATES else None)(turns(page)[index]),
                timeout, f"turn {index} to finish", context=page.problems)


def send_and_wait(page: Page, prompt: str) -> dict[str, Any]:
    before = page.evaluate("document.querySelectorAll('#conversation .turn').length")
    page.evaluate(f"document.getElementById('prompt').value = {json.dumps(prompt)}")
    page.click("#send")
    return dict(poll(lambda: page.evaluate(f"""(() => {{
      const turn = document.querySelectorAll('#conversation .turn')[{before}];
      if (!turn || !['done', 'error', 'stopped'].includes(turn.dataset.state)) return null;
      return {{state: turn.dataset.state, answer: turn.querySelector('.answer').textContent.trim(),
               error: turn.querySelector('.error').hidden ? null : turn.querySelector('.error').innerText}};
    }})()"""), 30, "the answer to finish", context=page.problems))


def sign_in(page: Page) -> None:
    assert page.evaluate(AUTH_STATUS) == "Not signed in"
    page.click("#sign-in")
    evaluate_when_loaded(page, f"{AUTH_STATUS}.startsWith('Signed in as')", 20, "the page to come back signed in")


def stored_sign_in(page: Page) -> dict[str, Any] | None:
    return page.evaluate(f"JSON.parse(sessionStorage.getItem('{TOKEN_KEY}'))")


def store_sign_in(page: Page, id_token: str, api_origin: str) -> None:
    record = json.dumps({"idToken": id_token, "api": api_origin})
    page.evaluate(f"sessionStorage.setItem('{TOKEN_KEY}', {json.dumps(record)})")


def type_into(page: Page, selector: str, text: str) -> None:
    """Replace a field's text as a person does (select all, then type or delete): the page sees `input` events."""
    page.focus(selector)
    page.evaluate(f"document.querySelector({json.dumps(selector)}).select()")
    if text:
        page.type_text(text)
    else:
        page.evaluate("document.execCommand('delete')")


def save_settings(page: Page, api_url: str | None = None, api_key: str | None = None) -> None:
    """Open Settings, type what is given, and Save."""
    page.evaluate("document.getElementById('settings-panel').open = true")
    if api_url is not None:
        type_into(page, "#api-url", api_url)
    if api_key is not None:
        type_into(page, "#api-key", api_key)
    page.evaluate("document.getElementById('settings-status').textContent = ''")
    page.click("#settings-form button[type=submit]")
    page.wait_for("document.getElementById('settings-status').textContent === 'Saved.'", 5, "the settings to save")


def settings_fields(page: Page) -> tuple[str, str]:
    return tuple(page.evaluate("[document.getElementById('api-url').value, document.getElementById('api-key').value]"))


# -- a link's ?api= (web/app.js: showApiLink) ---------------------------------------------------------

def linked_page_url(page_url: str | None, api_url: str) -> str:
    """The chat page opened from a link that names `api_url`."""
    assert page_url is not None
    return f"{page_url}?api={quote(api_url, safe='')}"


def api_link_shown(page: Page) -> dict[str, object]:
    return dict(page.evaluate("""({
      hidden: document.getElementById('api-link').hidden,
      url: document.getElementById('api-link-url').textContent,
      help: document.getElementById('api-link-help').textContent,
      canUse: !document.getElementById('api-link-use').hidden,
    })"""))


def assert_refused_and_nothing_sent(page: Page, linked: RecordingApi, prompt: str) -> None:
    """Send `prompt` while the link is undecided: the page refuses it, and no API gets anything."""
    sent_before = len(invoke_requests(page))
    turn = send_and_wait(page, prompt)
    time.sleep(SETTLE_SECONDS)
    assert linked.requests == [], f"sent to the linked API before the person accepted it: {linked.credentials_and_bodies()}"
    assert turn["state"] == "error" and "Choose the API first" in turn["error"], turn
    assert len(invoke_requests(page)) == sent_before, "the prompt went to some API while the link was undecided"


def api_key_stack(key: str) -> LocalStack:
    """A local stack behind the gateway in apiKey mode, serving the page, that accepts `key`."""
    return LocalStack(StackSettings(auth="apiKey", api_keys={key: "stack-key-id"}, serve_page=True, offline_delay_ms=5))
