"""The browser's fetch reader against the local stack: keep-alives, incremental events, Retry-After.

The first test reads POST /invoke with a plain fetch() and ReadableStream reader in headless Chromium,
through the page's own SseParser, as any browser client would. The others drive the chat page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.headless_chromium import Chromium, Page, open_page, poll

from local.stack import LocalStack, StackSettings
from tests.support.streams import holding_the_only_slot, standin

PIECE_DELAY_MS = 40
KEEPALIVE_SECONDS = 0.25
RETRY_AFTER_SECONDS = 2


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(
        serve_page=True,
        offline_delay_ms=PIECE_DELAY_MS,
        keepalive_seconds=KEEPALIVE_SECONDS,
        proxy_env={"PROXY_RETRY_AFTER_SECONDS": str(RETRY_AFTER_SECONDS)},
    )) as running:
        yield running


@pytest.fixture(scope="module")
def capped_stack() -> Iterator[LocalStack]:
    """A proxy that allows one stream at a time: the only way the proxy itself answers HTTP 429."""
    with LocalStack(StackSettings(
        serve_page=True,
        proxy_env={"PROXY_RETRY_AFTER_SECONDS": str(RETRY_AFTER_SECONDS), "PROXY_MAX_CONCURRENT_STREAMS": "1"},
    )) as running:
        yield running


@pytest.fixture
def page(chromium: Chromium, stack: LocalStack) -> Iterator[Page]:
    yield from open_page(chromium, stack.page_url)


@pytest.fixture
def capped_page(chromium: Chromium, capped_stack: LocalStack) -> Iterator[Page]:
    yield from open_page(chromium, capped_stack.page_url)


def invocations(stack: LocalStack) -> int:
    return sum(event["kind"] == "invocation" for event in standin(stack, "GET", "/_standin/events"))


READ_SCRIPT = """
(async () => {
  const started = performance.now();
  const response = await fetch(%(url)s, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(%(body)s),
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder("utf-8");
  const parser = new SseParser();
  const events = [];
  for (;;) {
    const {value, done} = await reader.read();
    const at = performance.now() - started;
    for (const event of parser.feed(done ? decoder.decode() : decoder.decode(value, {stream: true}))) {
      events.push({name: event.name, data: JSON.parse(event.data), at});
    }
    if (done) break;
  }
  return {status: response.status, sessionHeader: response.headers.get("X-Session-Id"), events,
          comments: parser.comments, partial: parser.hasPartialEvent};
})()
"""


def read_in_browser(page: Page, stack: LocalStack, prompt: str) -> dict[str, Any]:
    script = READ_SCRIPT % {"url": json.dumps(f"{stack.url}/invoke"), "body": json.dumps({"prompt": prompt})}
    return dict(page.evaluate(script))


def test_the_fetch_reader_gets_events_one_by_one_and_no_keep_alive_as_an_event(page: Page, stack: LocalStack) -> None:
    quiet = read_in_browser(page, stack, "[[pause:1.2]] [[pieces:1]] a quiet one")
    assert quiet["status"] == 200 and not quiet["partial"]
    assert [event["name"] for event in quiet["events"]] == ["start", "delta", "done"]
    assert quiet["comments"] >= 2  # keep-alives did arrive, as comments only
    assert quiet["sessionHeader"] == quiet["events"][0]["data"]["sessionId"]

    pieces = 8
    counted = read_in_browser(page, stack, f"[[pieces:{pieces}]] count")
    names = [event["name"] for event in counted["events"]]
    assert names == ["start"] + ["delta"] * pieces + ["done"]
    deltas = [event["at"] for event in counted["events"] if event["name"] == "delta"]
    assert deltas[-1] - deltas[0] >= (pieces - 1) * PIECE_DELAY_MS * 0.5, deltas


def page_state(page: Page) -> dict[str, Any]:
    return page.evaluate("""({
      state: document.querySelector('#conversation .turn:last-child')?.dataset.state,
      error: document.querySelector('#conversation .turn:last-child .error')?.innerText,
      sendDisabled: document.getElementById('send').disabled,
    })""")


def send_and_wait_for_failure(page: Page) -> tuple[dict[str, Any], float]:
    page.focus("#prompt")
    page.type_text("hello")
    page.press_enter()
    failed = poll(lambda: (lambda state: state if state["state"] == "error" else None)(page_state(page)),
                  20, "the turn to fail", context=page.problems)
    return failed, time.monotonic()


def assert_send_held_then_back(page: Page, failed: dict[str, Any], failed_at: float) -> None:
    assert failed["sendDisabled"], "Send must stay off until the wait the API named has passed"
    # Enter does nothing while waiting.
    page.focus("#prompt")
    page.type_text("again")
    page.press_enter()
    poll(lambda: not page_state(page)["sendDisabled"] or None, RETRY_AFTER_SECONDS + 5, "Send to come back")
    assert time.monotonic() - failed_at >= RETRY_AFTER_SECONDS - 0.5
    posts = [event for event in page.events("Network.requestWillBeSent")
             if event["request"]["url"].endswith("/invoke") and event["request"]["method"] == "POST"]
    assert len(posts) == 1, "the page sent the prompt more than once"
    assert page.evaluate("document.querySelectorAll('#conversation .turn').length") == 1


def test_the_page_honours_retry_after_and_never_sends_the_prompt_again(capped_page: Page, capped_stack: LocalStack) -> None:
    with holding_the_only_slot(capped_stack):
        failed, failed_at = send_and_wait_for_failure(capped_page)
    assert "429 THROTTLED" in failed["error"] and f"Retry after {RETRY_AFTER_SECONDS} s" in failed["error"]
    assert_send_held_then_back(capped_page, failed, failed_at)


def test_the_page_honours_agentcore_throttling_sent_as_an_error_event(page: Page, stack: LocalStack) -> None:
    standin(stack, "POST", "/_standin/faults", {"fault": "ThrottlingException"})
    before = invocations(stack)
    failed, failed_at = send_and_wait_for_failure(page)
    assert "THROTTLED" in failed["error"] and f"Retry after {RETRY_AFTER_SECONDS} s" in failed["error"]
    assert_send_held_then_back(page, failed, failed_at)
    assert invocations(stack) == before + 1
