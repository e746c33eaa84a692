"""Regenerate the chat page's pictures in docs/: a streamed markdown answer at a desktop's width
(docs/screenshot.png, 1100 x 800) and at a phone's (docs/screenshot-narrow.png, 390 x 844).

    .venv/bin/python tests/support/screenshot.py                       # writes both into docs/
    .venv/bin/python tests/support/screenshot.py --output-dir /tmp

Starts the local stack with the page, the offline model answering every prompt in markdown
(OFFLINE_MODEL_MARKDOWN=1, see agent/offline_model/model.py), asks one question in
headless Chromium through the keyboard path, waits for the answer to finish and captures the tab,
once per size.
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO_ROOT)]

from tests.support.headless_chromium import Chromium, find_chromium, open_page, poll  # noqa: E402

from local.stack import LocalStack, StackSettings  # noqa: E402

QUESTION = "How does an answer reach this page while the agent is still writing it?"
# file name -> (width, height, a phone's viewport)
PICTURES = {"screenshot.png": (1100, 800, False), "screenshot-narrow.png": (390, 844, True)}


def capture(chromium: Chromium, page_url: str, width: int, height: int, mobile: bool) -> bytes:
    for page in open_page(chromium, page_url, width, height, mobile):
        page.focus("#prompt")
        page.type_text(QUESTION)
        page.press_enter()
        poll(lambda: page.evaluate("document.querySelector('#conversation .turn')?.dataset.state === 'done'"),
             60, "the answer to finish", context=page.problems)
        page.evaluate("document.activeElement.blur()")
        return page.screenshot()
    raise RuntimeError("the page did not open")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", type=Path, default=REPO_ROOT / "docs")
    arguments = parser.parse_args(argv)
    binary = find_chromium()
    if binary is None:
        print("Chromium not found: apt-get install -y chromium, or set CHROMIUM_BINARY", file=sys.stderr)
        return 2
    settings = StackSettings(serve_page=True, offline_delay_ms=15, agent_env={"OFFLINE_MODEL_MARKDOWN": "1"})
    with LocalStack(settings) as stack, Chromium(binary) as chromium:
        assert stack.page_url is not None
        for name, (width, height, mobile) in PICTURES.items():
            png = capture(chromium, stack.page_url, width, height, mobile)
            assert png.startswith(b"\x89PNG\r\n\x1a\n") and struct.unpack(">II", png[16:24]) == (width, height)
            output = arguments.output_dir / name
            output.write_bytes(png)
            print(f"wrote {output} ({len(png)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
