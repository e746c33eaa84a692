"""Wherever the docs show the chat page's screenshot, the text under it says how to get that answer
yourself: the offline model's `[[markdown]]` directive, which the example prompt really triggers."""

from __future__ import annotations

import re
from pathlib import Path

from offline_model.model import MARKDOWN_ANSWER, plan_reply

REPO_ROOT = Path(__file__).resolve().parents[3]
SCREENSHOT = re.compile(r"^!\[[^\]]*\]\((?:\.\./)*docs/screenshot\.png\)\n|^!\[[^\]]*\]\(screenshot\.png\)\n", re.MULTILINE)


def pages_with_the_screenshot() -> list[tuple[Path, str]]:
    pages = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
    found = []
    for page in pages:
        text = page.read_text()
        for match in SCREENSHOT.finditer(text):
            after = text[match.end():]
            heading = re.search(r"^#", after, re.MULTILINE)
            found.append((page, after[: heading.start() if heading else len(after)]))
    return found


def test_the_text_under_the_screenshot_names_the_directive_that_reproduces_it() -> None:
    found = pages_with_the_screenshot()
    assert found, "no page shows docs/screenshot.png"
    for page, caption in found:
        assert "`[[markdown]]`" in caption, page
        example = re.search(r"`(\[\[markdown\]\][^`]*)`", caption)
        assert example, f"{page}: the caption gives no example prompt"
        _, pieces = plan_reply([{"role": "user", "content": [{"text": example[1]}]}])
        assert "".join(pieces) == MARKDOWN_ANSWER
