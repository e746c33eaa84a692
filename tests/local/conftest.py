"""Fixtures: a fake agent, the stand-in in front of it, and a real boto3 client aimed at the stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.local_loopback import RUNTIME_ARN, FakeAgent, agentcore_client

from tests.support.servers import ServerThread

from local.standin import create_app


@pytest.fixture
def fake_agent() -> Iterator[tuple[FakeAgent, str]]:
    agent = FakeAgent()
    with ServerThread(agent.app()) as server:
        yield agent, server.url
        agent.release.set()


@pytest.fixture
def standin(fake_agent: tuple[FakeAgent, str]) -> Iterator[str]:
    _, agent_url = fake_agent
    with ServerThread(create_app(agent_url, RUNTIME_ARN)) as server:
        yield server.url


@pytest.fixture
def agentcore(standin: str) -> Any:
    return agentcore_client(standin)
