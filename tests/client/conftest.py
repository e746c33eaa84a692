"""One local stack (no auth) for the command-line client's tests, and ways to run the client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.stack import LocalStack, StackSettings


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackSettings(offline_delay_ms=0)) as running:
        yield running


@pytest.fixture(autouse=True)
def no_client_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own AGENTCORE_STREAMING_* settings must not reach the client under test."""
    for name in ("AGENTCORE_STREAMING_URL", "AGENTCORE_STREAMING_API_KEY", "AGENTCORE_STREAMING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
