from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.agent_test_support import running_agent


@pytest.fixture
def trace_file(tmp_path: Path) -> Path:
    return tmp_path / "offline-trace.jsonl"


@pytest.fixture
def agent_url(trace_file: Path) -> Iterator[str]:
    """An offline agent with a short delay and a trace file, on a loopback port."""
    with running_agent({"OFFLINE_MODEL_DELAY_MS": "20", "OFFLINE_MODEL_TRACE_FILE": str(trace_file)}) as url:
        yield url
