"""The chat page in headless Chromium against the local stack (offline model, real proxy, real CORS)."""

from __future__ import annotations

import http.client
import json
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from tests.support.headless_chromium import Chromium, Page, open_page, poll
from tests.support.chat_page import FINAL_STATES, send, turns, wait_until_final

from local.stack import REPO_ROOT, LocalStack, StackSettings
from streaming_shared.edge import CONTENT_BLOCKED_MESSAGE
from streaming_proxy.upstream import STOP_PAYLOAD

# Every run saves a screenshot of the two-turn conversation under .build/ (ignored by git). The
# README's picture (docs/screenshot.png, a markdown answer) comes from tests/support/screenshot.py.
SCREENSHOT = REPO_ROOT / ".build" / "screenshots" / "chat-page.png"
# Slow enough that a person, and a poll every few tens of milliseconds, sees text arrive piece by piece.
OFFLINE_DELAY_MS = 150
MAX_PROMPT_CHARS = 500


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(serve_page=True, offline_delay_ms=OFFLINE_DELAY_MS, max_prompt_chars=MAX_PROMPT_CHARS)) as running:
        yield running


@pytest.fixture
def page(chromium: Chromium, stack: LocalStack) -> Iterator[Page]:
    yield from open_page(chromium, stack.page_url)


def page_text(page: Page) -> str:
    return str(page.evaluate("document.body.innerText"))


def assert_no_raw_sse(page: Page) -> None:
    text = page_text(page)
    for marker in ("data:", "event:", '{"text"', "SECRET-INTERNAL-DETAIL"):
        assert marker not in text, f"{marker!r} shown on the page: {text!r}"


def standin_request(stack: LocalStack, method: str, path: str) -> Any:
    address = urlsplit(stack.standin_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        body = response.read()
        return json.loads(body) if body else None
    finally:
        connection.close()


def trace_times(stack: LocalStack) -> list[float]:
    path = Path(stack.trace_file)
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line)["t"] for line in lines if line.strip()]


def test_the_page_shows_text_while_the_agent_is_still_producing_it(page: Page, stack: LocalStack):
    pieces = 20  # 20 pieces, 150 ms apart: about 3 s of streaming
    produced_before = len(trace_times(stack))
    index = send(page, f"[[pieces:{pieces}]] stream slowly")

    first_seen: tuple[float, str] | None = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        turn = turns(page)[index]
        if first_seen is None and turn["answer"]:
            first_seen = (time.monotonic(), turn["answer"])
        if turn["state"] in FINAL_STATES:
            break
        time.sleep(0.02)
    assert turn["state"] == "done", turn
    # Rendered as markdown (one paragraph); TURNS_SCRIPT trims the text around it.
    assert turn["answer"] == "".join(f"w{i} " for i in range(pieces)).strip()

    produced = trace_times(stack)[produced_before:]
    assert len(produced) == pieces
    assert first_seen is not None
    seen_at, partial = first_seen
    # time.monotonic() is the system-wide monotonic clock on Linux, the same one the agent's trace uses.
    assert seen_at < produced[-1], "the first delta was only shown after the agent had produced the last one"
    assert partial.startswith("w0") and f"w{pieces - 1}" not in partial
    assert int(turn["firstTokenMs"]) >= 0
    assert "first token" in turn["meta"] and "ms" in turn["meta"]
    assert_no_raw_sse(page)


def test_a_second_message_continues_the_conversation(page: Page):
    first = send(page, "Remember the blue kite.")
    assert wait_until_final(page, first)["state"] == "done"
    session_id = page.evaluate("document.getElementById('session-id').textContent")
    assert session_id and session_id != "new"

    second = send(page, "What did I say first?")
    answer = wait_until_final(page, second)
    assert answer["state"] == "done", answer
    assert "turn 2" in answer["answer"]
    assert 'Earlier you said: "Remember the blue kite."' in answer["answer"]
    assert page.evaluate("document.getElementById('session-id').textContent") == session_id
    # The page sent the session id it was given, and the API answered for the same one.
    posted = [json.loads(event["request"]["postData"]) for event in page.events("Network.requestWillBeSent")
              if event["request"]["url"].endswith("/invoke") and event["request"]["method"] == "POST"]
    assert posted == [{"prompt": "Remember the blue kite."}, {"prompt": "What did I say first?", "sessionId": session_id}]
    assert_no_raw_sse(page)

    # A picture of a streamed two-turn conversation, as the page shows it.
    png = page.screenshot()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1100, 800)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(png)


def test_new_conversation_forgets_the_session(page: Page):
    first = send(page, "First conversation.")
    assert wait_until_final(page, first)["state"] == "done"
    page.click("#new-conversation")
    assert turns(page) == []
    assert page.evaluate("document.getElementById('session-id').textContent") == "new"
    index = send(page, "A fresh start.")
    answer = wait_until_final(page, index)
    assert "turn 1" in answer["answer"] and "Earlier" not in answer["answer"]


def test_stop_sends_post_stop_then_closes_and_the_turn_ends(page: Page, stack: LocalStack):
    standin_request(stack, "DELETE", "/_standin/events")
    index = send(page, "[[pieces:400]] a very long answer")  # a minute of text unless stopped
    poll(lambda: turns(page)[index]["answer"].startswith("w0 w1 "), 30, "the answer to start streaming")
    assert page.evaluate("document.getElementById('stop').disabled") is False
    page.click("#stop")

    turn = wait_until_final(page, index, timeout=10)
    assert turn["state"] == "stopped"
    assert "stopped" in turn["meta"]
    # Closing the page's stream would not stop the agent on AWS: the page sent POST /stop, which
    # reached the agent through AgentCore, and the agent's answer ended long before its 400 pieces.
    kinds = poll(
        lambda: (lambda found: found if ("completed" in found or "client_disconnected" in found) else None)(
            [event["kind"] for event in standin_request(stack, "GET", "/_standin/events")]
        ),
        15,
        "the agent's answer to end",
    )
    stop_payload = len(STOP_PAYLOAD)
    invocations = [e for e in standin_request(stack, "GET", "/_standin/events") if e["kind"] == "invocation"]
    assert [e["payloadBytes"] for e in invocations].count(stop_payload) == 1, invocations
    assert kinds
    shown = turns(page)[index]["answer"]
    time.sleep(1.0)  # six more pieces would have arrived by now had the stream gone on
    assert turns(page)[index]["answer"] == shown
    assert len(shown.split()) < 400
    assert page.evaluate("[document.getElementById('send').disabled, document.getElementById('stop').disabled]") == [
        False,
        True,
    ]
    # The session goes on, and the stopped turn left nothing in it: this is its turn 1 again.
    following = send(page, "Still there?")
    assert "turn 1" in wait_until_final(page, following)["answer"]


def test_an_error_event_is_shown_readably(page: Page):
    index = send(page, "[[fail-after:2]] please break")
    turn = wait_until_final(page, index)
    assert turn["state"] == "error"
    assert "AGENT_ERROR" in turn["error"]
    assert "The agent failed while answering." in turn["error"]
    assert turn["answer"] == "Offline model,"  # the text that arrived before the failure stays
    assert page.evaluate("document.querySelector('.turn .error').getAttribute('role')") == "alert"
    assert_no_raw_sse(page)


def test_a_400_response_is_shown_readably(page: Page):
    index = send(page, "x" * (MAX_PROMPT_CHARS + 100))
    turn = wait_until_final(page, index)
    assert turn["state"] == "error"
    assert "400 PROMPT_TOO_LONG" in turn["error"]
    assert f"may hold at most {MAX_PROMPT_CHARS} characters" in turn["error"]
    assert "request " in turn["error"]  # the request id, to quote when asking for help
    assert_no_raw_sse(page)


def test_settings_persist_and_the_api_key_is_sent(page: Page, stack: LocalStack):
    assert page.evaluate("document.getElementById('api-url').value") == stack.url
    page.click("#settings-panel summary")
    page.focus("#api-key")
    page.type_text("local-test-key")
    page.click("#settings-form button[type=submit]")
    page.wait_for("document.getElementById('settings-status').textContent === 'Saved.'", 5, "the settings to save")

    assert stack.page_url is not None
    page.navigate(stack.page_url)
    assert page.evaluate("document.getElementById('api-key').value") == "local-test-key"
    index = send(page, "Hello with a key")
    # The proxy ignores the key, but the browser only sends it if the preflight allowed the header.
    assert wait_until_final(page, index)["state"] == "done"
    sent = [event["request"]["headers"] for event in page.events("Network.requestWillBeSent")
            if event["request"]["url"].endswith("/invoke") and event["request"]["method"] == "POST"]
    assert sent and all(headers.get("x-api-key") == "local-test-key" for headers in sent)


def test_the_sse_parser_handles_any_chunk_boundary(page: Page):
    # Every split of a stream with CRLF and LF endings, a comment and a multi-byte character, fed through
    # TextDecoder({stream: true}) as the page does, yields the same events as the whole stream at once.
    result = page.evaluate(r"""
(() => {
  const stream = 'event: start\r\ndata: {"sessionId":"s-1"}\r\n\r\n: keep-alive\n\n'
    + 'event: delta\ndata: {"text":"h\u00e9llo \u65e5\u672c \ud83c\udf89"}\n\n'
    + 'event: delta\rdata: {"text":"two\\nlines"}\r\rdata: {"a":1}\ndata: {"b":2}\n\nevent: done\ndata: {}\n\n';
  const bytes = new TextEncoder().encode(stream);
  const parse = (chunks) => {
    const parser = new SseParser();
    const decoder = new TextDecoder('utf-8');
    const events = [];
    for (const chunk of chunks) events.push(...parser.feed(decoder.decode(chunk, {stream: true})));
    events.push(...parser.feed(decoder.decode()));
    return {events: JSON.stringify(events), comments: parser.comments, partial: parser.hasPartialEvent};
  };
  const whole = parse([bytes]);
  const mismatches = [];
  for (let cut = 1; cut < bytes.length; cut++) {
    for (let second = cut; second <= Math.min(bytes.length - 1, cut + 3); second++) {
      const split = parse([bytes.slice(0, cut), bytes.slice(cut, second), bytes.slice(second)]);
      if (split.events !== whole.events || split.comments !== whole.comments || split.partial) mismatches.push([cut, second]);
    }
  }
  return {whole, mismatches};
})()
""")
    assert result["mismatches"] == []
    events = json.loads(result["whole"]["events"])
    assert [event["name"] for event in events] == ["start", "delta", "delta", "message", "done"]
    assert json.loads(events[1]["data"]) == {"text": "h\u00e9llo \u65e5\u672c \U0001f389"}
    assert json.loads(events[2]["data"]) == {"text": "two\nlines"}
    assert events[3]["data"] == '{"a":1}\n{"b":2}'
    assert result["whole"]["comments"] == 1


def test_the_invoke_url_follows_the_api_url_and_a_link_on_the_api_origin_wins(page: Page, stack: LocalStack):
    urls = page.evaluate("""[
      'https://abc.execute-api.us-east-1.amazonaws.com/dev', 'https://abc.execute-api.us-east-1.amazonaws.com/dev/',
      'https://abc.example.com/dev/invoke', 'http://127.0.0.1:8000', 'ftp://abc.example.com', 'not a url', ''
    ].map(invokeUrl)""")
    assert urls == [
        "https://abc.execute-api.us-east-1.amazonaws.com/dev/invoke",
        "https://abc.execute-api.us-east-1.amazonaws.com/dev/invoke",
        "https://abc.example.com/dev/invoke",
        "http://127.0.0.1:8000/invoke",
        None,
        None,
        None,
    ]
    assert stack.page_url is not None
    # ?api= on the configured API's origin (another stage, say) is used as it is; on any other origin
    # it waits for the person (tests/system/browser/test_api_link.py).
    page.navigate(f"{stack.page_url}?api={quote(stack.url + '/prod/', safe='')}")
    assert page.evaluate("document.getElementById('api-url').value") == f"{stack.url}/prod/"
    assert page.evaluate("document.getElementById('api-link').hidden") is True
    page.navigate(f"{stack.page_url}?api=https://abc.example.com/prod")
    assert page.evaluate("document.getElementById('api-url').value") == stack.url
    assert page.evaluate("document.getElementById('api-link').hidden") is False


# What the answer's DOM holds at one moment, read in one round trip.
ANSWER_DOM_SCRIPT = """
((index) => {
  const turn = document.querySelectorAll('#conversation .turn')[index];
  const answer = turn.querySelector('.answer');
  const has = (selector) => answer.querySelector(selector) !== null;
  return {
    state: turn.dataset.state,
    heading: has('h2'), strong: has('strong'), em: has('em'), item: has('ol > li'), table: has('table th'),
    code: has('pre > code'), link: has('a'),
  };
})
"""


def answer_dom(page: Page, index: int) -> dict[str, Any]:
    return dict(page.evaluate(f"({ANSWER_DOM_SCRIPT})({index})"))


def test_markdown_is_rendered_while_the_answer_streams(page: Page):
    index = send(page, "[[markdown]] [[delay-ms:40]] format this")
    snapshots = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snapshot = answer_dom(page, index)
        snapshots.append(snapshot)
        if snapshot["state"] in FINAL_STATES:
            break
        time.sleep(0.01)
    assert snapshots[-1]["state"] == "done", snapshots[-1]
    streaming = [snapshot for snapshot in snapshots if snapshot["state"] == "streaming"]
    # The link is the answer's last line: until it arrives the stream is still going, and by then the
    # heading, emphasis, the list, the table and the (still unclosed, then closed) code block are elements.
    assert any(s["heading"] and s["strong"] and s["item"] and not s["link"] for s in streaming), streaming
    assert any(s["table"] and s["code"] and not s["link"] for s in streaming), streaming
    assert any(not s["code"] for s in streaming), "the first render already had everything: not incremental"

    final = page.evaluate(f"""(() => {{
      const answer = document.querySelectorAll('#conversation .turn')[{index}].querySelector('.answer');
      const link = answer.querySelector('a');
      return {{
        heading: answer.querySelector('h2').textContent,
        strong: answer.querySelector('strong').textContent,
        items: [...answer.querySelectorAll('ol > li')].map((item) => item.textContent),
        headers: [...answer.querySelectorAll('th')].map((cell) => cell.textContent),
        code: answer.querySelector('pre > code').textContent,
        codeFont: getComputedStyle(answer.querySelector('pre > code')).fontFamily,
        codeOverflow: getComputedStyle(answer.querySelector('pre')).overflowX,
        link: [link.getAttribute('href'), link.getAttribute('target'), link.getAttribute('rel')],
      }};
    }})()""")
    assert final["heading"] == "Streaming on AWS"
    assert final["strong"] == "API Gateway"
    assert final["items"][0] == "The page posts the prompt to /invoke."
    assert final["headers"] == ["Endpoint", "Silent stream cut after"]
    assert final["code"] == 'for event in stream_invoke(url, "Hello"):\n    print(event.text, end="")\n'
    assert "monospace" in final["codeFont"]
    assert final["codeOverflow"] == "auto"
    assert final["link"] == [
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html",
        "_blank",
        "noopener noreferrer",
    ]
    assert "**" not in page_text(page) and "```" not in page_text(page)


# Model text the page must never turn into live markup: each tries to run `mark(N)` or to load something.
HOSTILE_ANSWER_PARTS = [
    '<img src=x onerror="mark(1)">',
    "<script>mark(2)</script>",
    "[markdown link](javascript:mark(3))",
    '<a href="javascript:mark(4)">html link</a>',
    '<svg onload="mark(5)"><circle r="5"></circle></svg>',
    '<iframe src="javascript:mark(6)"></iframe>',
    '<a href="data:text/html;base64,PHNjcmlwdD5tYXJrKDcpPC9zY3JpcHQ+">data link</a>',
    '<details open ontoggle="mark(8)">x</details>',
    '<a href="https://example.com/safe" onclick="mark(9)" style="color:red">safe link</a>',
    "[vb](vbscript:mark(10)) [rel](/relative/path) <form action=/x><input autofocus onfocus=mark(11)></form>",
]


def test_hostile_markup_in_an_answer_stays_inert(page: Page):
    # `mark` would record a call; an element that tried to load something (the img, the iframe) would
    # show as a request. (DOMPurify's own parse in an inert document reports the blocked handlers as
    # CSP violations, so violations cannot tell a bypass apart; the DOM and the network can.)
    page.evaluate("window.__marks = []; window.mark = (n) => window.__marks.push(n);")
    requests_before = len(page.events("Network.requestWillBeSent"))
    # The offline model echoes the prompt, so the answers carry every part as model text (in two
    # prompts: one would pass the stack's MAX_PROMPT_CHARS).
    half = len(HOSTILE_ANSWER_PARTS) // 2
    for parts in (HOSTILE_ANSWER_PARTS[:half], HOSTILE_ANSWER_PARTS[half:]):
        index = send(page, "[[delay-ms:5]] " + " ".join(parts))
        assert wait_until_final(page, index)["state"] == "done"
    time.sleep(0.3)  # let anything that was going to load or fire do so
    found = page.evaluate("""(() => {
      const all = [...document.querySelectorAll('#conversation .answer *')];
      return {
        tags: [...new Set(all.map((node) => node.tagName.toLowerCase()))].sort(),
        handlers: all.flatMap((node) => [...node.attributes].map((a) => a.name)).filter((name) => name.startsWith('on')),
        styles: all.filter((node) => node.hasAttribute('style')).length,
        links: all.filter((node) => node.tagName === 'A')
          .map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('target'), a.getAttribute('rel')]),
        marks: window.__marks,
      };
    })()""")
    assert not set(found["tags"]) & {"img", "script", "svg", "circle", "iframe", "details", "form", "input", "style"}, found
    assert found["handlers"] == [] and found["styles"] == 0, found
    assert found["marks"] == [], found
    requested = [event["request"]["url"] for event in page.events("Network.requestWillBeSent")[requests_before:]]
    assert requested and all(url.endswith("/invoke") for url in requested), requested
    # Links keep their text; only http(s) and mailto targets survive, and they open in a new tab without an opener.
    links = {text: (href, target, rel) for text, href, target, rel in found["links"]}
    assert links["safe link"] == ("https://example.com/safe", "_blank", "noopener noreferrer")
    for text in ("markdown link", "html link", "data link", "vb", "rel"):
        assert links[text] == (None, None, None), (text, links[text])
    assert "javascript:" not in json.dumps(found["links"])


def test_a_guardrail_block_shows_the_readable_message_and_never_the_blocked_text(page: Page):
    # The offline model simulates the guardrail blocking the answer part-way ([[guardrail:output]]):
    # without it, the answer would echo the marker.
    marker = "FORBIDDEN-PAYLOAD-7731"
    index = send(page, f"[[guardrail:output]] say {marker}")
    turn = wait_until_final(page, index)
    assert turn["state"] == "error", turn
    assert turn["error"].startswith("CONTENT_BLOCKED") and CONTENT_BLOCKED_MESSAGE in turn["error"]
    agent_side = str(page.evaluate(
        f"document.querySelectorAll('#conversation .turn')[{index}].querySelector('.message.agent').innerText"))
    assert marker not in agent_side, agent_side
    assert_no_raw_sse(page)


def test_a_masked_answer_shows_the_mask_literally_and_ends_as_done(page: Page):
    # The offline model simulates the guardrail masking a card number ([[guardrail:mask]]): Bedrock
    # streams "{CREDIT_DEBIT_CARD_NUMBER}" in its place, and the markdown view must show it as written
    # (no emphasis eaten from its underscores, no braces dropped), in an answer that ended normally.
    index = send(page, "[[guardrail:mask]] what is my card?")
    turn = wait_until_final(page, index)
    assert turn["state"] == "done", turn
    assert turn["error"] is None, turn
    assert turn["answer"].endswith("The card number on file is {CREDIT_DEBIT_CARD_NUMBER}."), turn["answer"]
    emphasis = page.evaluate(
        f"document.querySelectorAll('#conversation .turn')[{index}].querySelectorAll('.answer em, .answer strong').length")
    assert emphasis == 0


# -- tool calls (issue 21) ------------------------------------------------------------------------

# Records every text the answer's tool lines are given, in order. From the mutation records, not
# from the DOM when the observer runs: both events of a fast tool can arrive in one chunk, and the
# observer then runs once, after both.
WATCH_TOOL_LINES_SCRIPT = """
(() => {
  window.toolLineStates = [];
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type !== 'childList' || !record.target.classList || !record.target.classList.contains('tool-call')) continue;
      for (const node of record.addedNodes) window.toolLineStates.push(node.textContent);
    }
  }).observe(document.getElementById('conversation'), { childList: true, subtree: true });
  return true;
})()
"""
# The answer's children in order: a tool line as ["tool", status, text], a text part as ["text", text].
ANSWER_PARTS_SCRIPT = """
((index) => [...document.querySelectorAll('#conversation .turn')[index].querySelector('.answer').children]
  .map((child) => child.classList.contains('tool-call')
    ? ['tool', child.dataset.status, child.textContent] : ['text', child.textContent.trim()]))
"""


def answer_parts(page: Page, index: int) -> list[list[str]]:
    return [list(part) for part in page.evaluate(f"({ANSWER_PARTS_SCRIPT})({index})")]


def test_a_tool_call_shows_using_then_done_inside_the_answer_in_order_with_the_text(page: Page):
    page.evaluate(WATCH_TOOL_LINES_SCRIPT)
    index = send(page, "[[narrate]] [[tool:current_time]] what time is it?")
    assert wait_until_final(page, index)["state"] == "done"
    parts = answer_parts(page, index)
    assert [part[0] for part in parts] == ["text", "tool", "text"]
    assert parts[0][1] == "Calling current_time."
    assert parts[1][1:] == ["finished", "Using current_time… done"]
    assert parts[2][1].startswith("Offline model, turn") and "Tool current_time returned:" in parts[2][1]
    states = page.evaluate("window.toolLineStates")
    assert states == ["Using current_time…", "Using current_time… done"], states
    assert_no_raw_sse(page)


def test_a_failed_tool_call_is_marked_failed_and_the_answer_goes_on(page: Page):
    index = send(page, '[[tool:current_time {"timezone": "Nowhere/Atlantis"}]] time there?')
    assert wait_until_final(page, index)["state"] == "done"
    parts = answer_parts(page, index)
    assert parts[0] == ["tool", "failed", "Using current_time… failed"]
    assert parts[1][0] == "text" and "unknown time zone" in parts[1][1]
