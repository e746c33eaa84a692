"""The documentation as tests read it: README.md and the pages in docs/, found by their headings.

Tests that check what the docs say (settings tables, error codes, commands) name a section by its
heading and never by the file it lives in, so a section can move between pages without the test
following it by hand; a heading must be unique across the pages.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
HEADING = re.compile(r"^(#{1,6}) (.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def pages() -> list[Path]:
    """README.md, then every markdown page under docs/."""
    return [README, *sorted((REPO_ROOT / "docs").rglob("*.md"))]


def all_text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in pages())


@dataclass(frozen=True)
class Heading:
    line: int
    level: int
    title: str


def headings(text: str) -> list[Heading]:
    """The markdown headings of `text`, outside fenced code blocks (a `# comment` in a shell block is none)."""
    found, fenced = [], False
    for number, line in enumerate(text.splitlines()):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            found.append(Heading(number, len(match[1]), match[2]))
    return found


def github_anchor(title: str) -> str:
    """The anchor GitHub gives a heading: its text, lower-cased, punctuation dropped, spaces as hyphens.

    As github-slugger does it: markdown emphasis and code marks go with the punctuation, letters and
    digits of any script stay, `-` and `_` stay, each space becomes `-` (runs are not merged).
    """
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title).lower()  # a link's text only
    kept = "".join(char for char in text
                   if char in " -_" or unicodedata.category(char)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a page offers; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(text):
        slug = github_anchor(heading.title)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def section(title: str) -> str:
    """The text under the heading `title`, up to the next heading of the same or a higher level.

    The heading is looked up in every page and must be in exactly one.
    """
    found = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        lines = text.splitlines()
        marks = headings(text)
        for index, heading in enumerate(marks):
            if heading.title == title:
                end = next((later.line for later in marks[index + 1:] if later.level <= heading.level), len(lines))
                found.append((page, "\n".join(lines[heading.line + 1:end]) + "\n"))
    assert len(found) == 1, f"the heading {title!r} is in {[str(page.relative_to(REPO_ROOT)) for page, _ in found]}"
    return found[0][1]


def page_with(title: str) -> Path:
    """The page holding the heading `title`."""
    holders = [page for page in pages() if any(h.title == title for h in headings(page.read_text(encoding="utf-8")))]
    assert len(holders) == 1, (title, holders)
    return holders[0]
