"""A failed send on the chat page: the prompt stays in the message box and Retry sends it again; on an
API-key stack a missing or refused key opens Settings on the key field with one sentence, never a bare
"403 FORBIDDEN". Against the local stack behind its API Gateway stand-in, which refuses a missing or
wrong key with 403 "Forbidden" as API Gateway does (local/gateway_auth.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from tests.support.chat_page import api_key_stack, save_settings, send_and_wait, type_into
from tests.support.headless_chromium import Chromium, Page, open_page, poll

from local.stack import LocalStack

STACK_KEY = "stack-key-3b9e41"
WRONG_KEY = "a-key-of-another-stack"
# What the page shows about the newest turn and the Settings panel, in one round trip.
SHOWN_SCRIPT = """(() => {
  const turns = document.querySelectorAll('#conversation .turn');
  const turn = turns[turns.length - 1];
  const error = turn.querySelector('.error');
  return {
    turns: turns.length,
    state: turn.dataset.state,
    error: error.hidden ? null : error.innerText,
    retry: turn.querySelector('.error .retry') !== null,
    retries: document.querySelectorAll('#conversation .retry').length,
    prompt: document.getElementById('prompt').value,
    settingsOpen: document.getElementById('settings-panel').open,
    focused: document.activeElement ? document.activeElement.id : null,
    settingsStatus: document.getElementById('settings-status').textContent,
  };
})()"""


@pytest.fixture(scope="module")
def key_stack() -> Iterator[LocalStack]:
    with api_key_stack(STACK_KEY) as running:
        yield running


@pytest.fixture
def page(chromium: Chromium, key_stack: LocalStack) -> Iterator[Page]:
    yield from open_page(chromium, key_stack.page_url)


def shown(page: Page) -> dict[str, object]:
    return dict(page.evaluate(SHOWN_SCRIPT))


def retry(page: Page) -> dict[str, object]:
    """Click the newest turn's Retry and wait for the new turn to end."""
    before = shown(page)["turns"]
    page.click("#conversation .turn:last-child .retry")
    return poll(lambda: (lambda now: now if now["turns"] == before + 1 and now["state"] in ("done", "error") else None)(
        shown(page)), 30, "the retried turn to end", context=page.problems)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_without_a_key_the_page_asks_for_it_then_says_a_wrong_one_was_refused(page: Page, key_stack: LocalStack):
    origin = key_stack.url
    send_and_wait(page, "hello without a key")
    first = shown(page)
    assert first["state"] == "error", first
    error = str(first["error"])
    assert "403" not in error and "FORBIDDEN" not in error and "Forbidden" not in error, error
    assert error.startswith("API key needed"), error
    # Settings open on the key field, with one sentence saying what to do.
    assert first["settingsOpen"] is True and first["focused"] == "api-key", first
    sentence = str(first["settingsStatus"])
    assert sentence.startswith("This API needs an API key") and sentence.count(".") == 1, sentence
    assert sentence in error
    # The prompt is back in the box, and Retry is offered.
    assert first["prompt"] == "hello without a key" and first["retry"] is True, first

    save_settings(page, api_key=WRONG_KEY)
    second = retry(page)
    error = str(second["error"])
    assert second["state"] == "error" and error.startswith("API key refused"), second
    assert f"refused the key saved for {origin}" in error and "403" not in error, error
    assert second["focused"] == "api-key" and second["settingsOpen"] is True, second
    assert second["prompt"] == "hello without a key" and second["retries"] == 1, second

    save_settings(page, api_key=STACK_KEY)
    third = retry(page)
    assert third["state"] == "done", third
    assert third["prompt"] == "" and third["retries"] == 0, third


def test_a_403_is_about_the_key_only_where_the_api_may_take_keys(page: Page, key_stack: LocalStack):
    # config.js names each mode's API; a 403 "Forbidden" from an API without keys (a WAF block, say)
    # shows what the API said, and an API config.js does not describe may take keys.
    cases = page.evaluate(f"""(() => {{
      const config = window.AGENTCORE_STREAMING_CONFIG;
      const ask = (mode, apiKey, status, refusal) => {{
        config.authMode = mode;
        const found = keyProblem(status, refusal, {{ origin: {key_stack.url!r}, apiKey }});
        return found && found.title;
      }};
      const other = keyProblem(403, 'Forbidden', {{ origin: 'https://other.example.com', apiKey: '' }});
      return [ask('apiKey', '', 403, 'Forbidden'), ask('apiKey', 'k', 403, 'Forbidden'), ask('none', '', 403, 'Forbidden'),
              ask('cognito', '', 403, 'Forbidden'), ask('iam', '', 403, 'Missing Authentication Token'),
              ask('apiKey', '', 429, 'Too Many Requests'), ask(undefined, '', 403, 'Forbidden'), other && other.title];
    }})()""")
    assert cases == ["API key needed", "API key refused", None, None, None, None, "API key needed", "API key needed"]


def test_an_unreachable_api_keeps_the_prompt_and_retry_sends_it_once_fixed(page: Page, key_stack: LocalStack):
    save_settings(page, api_url=closed_port_url())
    send_and_wait(page, "are you there?")
    failed = shown(page)
    assert failed["state"] == "error" and str(failed["error"]).startswith("Cannot reach the API"), failed
    assert failed["prompt"] == "are you there?" and failed["retry"] is True, failed

    save_settings(page, api_url=key_stack.url, api_key=STACK_KEY)
    answered = retry(page)
    assert answered["state"] == "done" and answered["prompt"] == "", answered
    assert "are you there?" in page.evaluate("document.querySelector('#conversation .turn:last-child .answer').textContent")


def test_a_failed_answer_does_not_overwrite_what_was_typed_meanwhile(page: Page):
    save_settings(page, api_key=STACK_KEY)
    page.evaluate("document.getElementById('prompt').value = '[[fail-after:3]] [[delay-ms:300]] break slowly'")
    page.click("#send")
    poll(lambda: page.evaluate("document.querySelector('#conversation .turn')?.dataset.state === 'streaming'"), 10,
         "the answer to start")
    type_into(page, "#prompt", "my next question")
    failed = poll(lambda: (lambda now: now if now["state"] == "error" else None)(shown(page)), 30, "the answer to fail")
    assert "AGENT_ERROR" in str(failed["error"]) and failed["retry"] is True, failed
    assert failed["prompt"] == "my next question", failed
    # The next send withdraws the failed turn's Retry: only the newest turn offers one.
    page.evaluate("document.getElementById('prompt').value = '[[delay-ms:200]] [[pieces:10]] slow'")
    page.click("#send")
    time.sleep(0.3)
    assert page.evaluate("document.querySelectorAll('#conversation .retry').length") == 0
    assert page.evaluate("document.getElementById('send').disabled") is True
