"""Third-party SSE clients against the local stack: one stack for the folder, and Node's client installed.

The Node client (@microsoft/fetch-event-source, pinned in node/package-lock.json) is installed with
`npm ci` into tests/system/compat/node/node_modules the first time, and again whenever the lock file changes.
Without node and npm the Node tests skip, and fail under CI (which must run them).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.compat_support import KEEPALIVE_SECONDS, MAX_PROMPT_CHARS, PIECE_DELAY_MS

from tests.support.locks import exclusive

from local.stack import LocalStack, StackSettings

NODE_PROJECT = Path(__file__).parent / "node"


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(
        offline_delay_ms=PIECE_DELAY_MS, keepalive_seconds=KEEPALIVE_SECONDS, max_prompt_chars=MAX_PROMPT_CHARS
    )) as running:
        yield running


@pytest.fixture(scope="session")
def capped_stack() -> Iterator[LocalStack]:
    """A stack whose proxy allows one stream at a time: the only way the proxy itself answers 429."""
    with LocalStack(StackSettings(proxy_env={"PROXY_MAX_CONCURRENT_STREAMS": "1"})) as running:
        yield running


def _lock_digest() -> str:
    return hashlib.sha256((NODE_PROJECT / "package-lock.json").read_bytes()).hexdigest()[:16]


@pytest.fixture(scope="session")
def node_project() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        message = "node and npm are needed for the Node client tests (Debian: apt-get install -y nodejs npm)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}. CI must run them.", pytrace=False)
        pytest.skip(message)
    stamp = NODE_PROJECT / "node_modules" / f".installed-{_lock_digest()}"
    # npm ci deletes node_modules first: one process at a time (xdist workers share this folder).
    with exclusive(NODE_PROJECT.parents[3] / ".build" / "npm-ci.lock"):
        if not stamp.exists():
            # npm ci installs exactly the versions in package-lock.json (with their integrity hashes).
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_PROJECT, capture_output=True, text=True, timeout=300,
            )
            if result.returncode != 0:
                pytest.fail(f"npm ci failed in {NODE_PROJECT}:\n{result.stdout}\n{result.stderr}", pytrace=False)
            stamp.touch()
    return NODE_PROJECT
