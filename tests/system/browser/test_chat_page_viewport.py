"""The chat page at a desktop's width and a phone's (390 px): while an answer streams the view follows
its end unless the person scrolls up, the message box and Stop stay on screen, and nothing is wider
than the window (code blocks and tables scroll inside their own box)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.headless_chromium import Chromium, Page, open_page, poll

from local.stack import LocalStack, StackSettings

# name -> (width, height, a phone's viewport). 390 x 844 is a common phone's CSS viewport.
VIEWPORTS = {"desktop": (1100, 800, False), "narrow": (390, 844, True)}
# A long answer in 40-character pieces, 25 ms apart: many screens at either width, over about 12 s
# (the test stops it when it has seen enough).
LONG_ANSWER = "[[bytes:20000]] [[piece-size:40]] [[delay-ms:25]] a long answer"
# Where the newest answer's end is, where the message box starts, and what is in flight, in one round trip.
VIEW_SCRIPT = """(() => {
  const turns = document.querySelectorAll('#conversation .turn');
  const turn = turns[turns.length - 1];
  const answer = turn.querySelector('.answer');
  return {
    state: turn.dataset.state,
    length: answer.textContent.length,
    answerBottom: answer.getBoundingClientRect().bottom,
    composerTop: document.getElementById('chat-form').getBoundingClientRect().top,
    scrollY: window.scrollY,
    windowHeight: window.innerHeight,
    overflow: document.documentElement.scrollHeight - window.innerHeight,
  };
})()"""
# Whether a control is on screen and is what a tap at its centre reaches (not covered by the answer).
REACHABLE_SCRIPT = """((selector) => {
  const control = document.querySelector(selector);
  const box = control.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const hit = document.elementFromPoint(x, y);
  return box.top >= 0 && box.bottom <= window.innerHeight && box.left >= 0 && box.right <= window.innerWidth
    && hit !== null && (hit === control || control.contains(hit));
})"""
# Markdown a model may write that is wider than a phone: a table, a code line, a URL, inline code.
WIDE_MARKDOWN = (
    "| Log group | Metric namespace |\n"
    "| --- | --- |\n"
    "| agentcore_streaming_prod_proxy_function_access_logs_0123456789abcdef "
    "| AgentcoreStreamingProductionUsageMeteringNamespaceForTheProxyFunction |\n\n"
    "```python\nresponse = client.invoke_agent_runtime(agentRuntimeArn=runtime_arn, runtimeSessionId=session_id)\n```\n\n"
    "See https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html and "
    "`a_very_long_identifier_that_a_model_might_write_without_any_break`.\n"
)
# Everything wider than the window, and each code block's and table's own widths.
OVERFLOW_SCRIPT = """(() => {
  const width = document.documentElement.clientWidth;
  const insideScroller = (node) => node.parentElement && node.parentElement.closest('pre, table');
  const wider = [...document.body.querySelectorAll('*')]
    .filter((node) => node.checkVisibility() && !insideScroller(node) && node.getBoundingClientRect().right > width + 0.5)
    .map((node) => `${node.tagName.toLowerCase()}.${node.className}`);
  const boxes = [...document.querySelectorAll('#conversation pre, #conversation table')].map((box) => ({
    tag: box.tagName.toLowerCase(), scrollWidth: box.scrollWidth, clientWidth: box.clientWidth,
    overflowX: getComputedStyle(box).overflowX,
    insideMessage: box.getBoundingClientRect().right <= box.closest('.message').getBoundingClientRect().right,
  }));
  return {pageWidth: document.documentElement.scrollWidth, width, wider, boxes};
})()"""


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(serve_page=True, offline_delay_ms=5)) as running:
        yield running


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, chromium: Chromium, stack: LocalStack) -> Iterator[Page]:
    width, height, mobile = VIEWPORTS[request.param]
    yield from open_page(chromium, stack.page_url, width, height, mobile)


def view(page: Page) -> dict[str, Any]:
    return dict(page.evaluate(VIEW_SCRIPT))


def reachable(page: Page, selector: str) -> bool:
    return bool(page.evaluate(f"({REACHABLE_SCRIPT})({json.dumps(selector)})"))


def wheel(page: Page, delta_y: float) -> None:
    """Turn the mouse wheel over the conversation, as a person scrolls (negative: up)."""
    width = page.evaluate("window.innerWidth")
    page.send("Input.dispatchMouseEvent", {"type": "mouseWheel", "x": width // 2, "y": 150, "deltaX": 0, "deltaY": delta_y})


def send(page: Page, prompt: str) -> None:
    page.focus("#prompt")
    page.type_text(prompt)
    page.press_enter()


def end_in_view(shown: dict[str, Any]) -> bool:
    # The answer's last line is on screen, just above the message box: not under the box or below the window.
    return bool(shown["composerTop"] - 120 < shown["answerBottom"] <= min(shown["composerTop"] + 1, shown["windowHeight"]))


def assert_end_in_view(shown: dict[str, Any]) -> None:
    assert end_in_view(shown), shown


def samples_while_streaming(page: Page, count: int) -> list[dict[str, Any]]:
    """`count` views taken as the answer grows (each after more text arrived)."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        last = found[-1]["length"] if found else -1
        shown = poll(lambda: (lambda now: now if now["length"] > last or now["state"] != "streaming" else None)(view(page)),
                     10, "more of the answer", context=page.problems)
        assert shown["state"] == "streaming", f"the answer ended before {count} samples: {found}"
        found.append(shown)
    return found


def scrolled_still(page: Page) -> dict[str, Any]:
    """The view once a wheel's (smooth) scroll has come to rest: the same position twice, 150 ms apart."""
    def settled() -> dict[str, Any] | None:
        before = view(page)
        time.sleep(0.15)
        after = view(page)
        return after if after["scrollY"] == before["scrollY"] else None
    return dict(poll(settled, 5, "the scroll to come to rest"))


def test_the_view_follows_the_answer_unless_the_person_scrolls_up(page: Page):
    send(page, LONG_ANSWER)
    poll(lambda: (lambda now: now["state"] == "streaming" and now["overflow"] > 600)(view(page)), 20,
         "the answer to grow taller than the window", context=page.problems)
    for shown in samples_while_streaming(page, 5):
        assert_end_in_view(shown)
    assert reachable(page, "#prompt") and reachable(page, "#stop")

    # The person scrolls up to read: the view stays where they put it while the answer goes on.
    wheel(page, -500)
    held = scrolled_still(page)
    assert held["answerBottom"] > held["composerTop"] + 300, held
    time.sleep(0.5)
    later = view(page)
    assert later["state"] == "streaming" and later["length"] > held["length"], later
    assert later["scrollY"] == held["scrollY"], (held, later)
    # The message box and Stop are still on screen and not covered by the answer.
    assert reachable(page, "#prompt") and reachable(page, "#stop")
    assert page.evaluate("document.getElementById('stop').disabled") is False

    # Back at the end (the text grows while the wheel's scroll glides there), the view follows again.
    wheel(page, 100000)
    poll(lambda: end_in_view(view(page)), 10, "the view to catch up with the answer")
    for shown in samples_while_streaming(page, 3):
        assert_end_in_view(shown)
    page.click("#stop")
    poll(lambda: view(page)["state"] == "stopped", 10, "the answer to stop")


def test_nothing_is_wider_than_the_window_and_wide_blocks_scroll_inside_their_box(page: Page):
    send(page, "[[markdown]] how does it stream?")
    poll(lambda: view(page)["state"] == "done", 30, "the markdown answer", context=page.problems)
    # Wider markdown than the offline model writes, through the page's own answer view.
    page.evaluate(f"""(() => {{
      const turn = new Turn('wide things');
      page.conversation.append(turn.root);
      turn.appendText({json.dumps(WIDE_MARKDOWN)});
      turn.finish('done');
    }})()""")
    found = page.evaluate(OVERFLOW_SCRIPT)
    assert found["pageWidth"] <= found["width"], found
    assert found["wider"] == [], found
    assert len(found["boxes"]) == 4, found  # the markdown answer's table and code block, and the wide ones
    for box in found["boxes"]:
        assert box["insideMessage"] and box["overflowX"] == "auto", box
    wide_table, wide_code = found["boxes"][2:]
    assert wide_table["scrollWidth"] > wide_table["clientWidth"], wide_table  # it scrolls inside its box
    assert wide_code["scrollWidth"] > wide_code["clientWidth"], wide_code


def test_on_a_phone_the_composer_leaves_the_screen_to_the_answers(page: Page):
    # The composer sticks to the bottom, so its height is taken from every screen of answer: on a phone
    # the keyboard hints (Enter, Shift+Enter, Escape: no use on a touch keyboard) give way.
    found = page.evaluate("""({
      width: window.innerWidth,
      share: document.getElementById('chat-form').getBoundingClientRect().height / window.innerHeight,
      hints: document.getElementById('prompt-help').checkVisibility(),
    })""")
    if found["width"] < 480:
        assert found["hints"] is False and found["share"] < 0.2, found
    else:
        assert found["hints"] is True, found
