"""AgentCore and physical names derived from project and stack."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stack_config.naming import AGENTCORE_NAME_PATTERN, agentcore_name, physical_name

PROJECT = "agentcore-streaming"
# Pulumi stack names: letters, digits, "-", "_" and ".".
stack_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", min_size=1, max_size=100)


@pytest.mark.parametrize("stack", [
    "dev", "prod", "my-feature-branch", "9lives", "2024-q3", "-", "a.b.c",
    "team_a-prod-eu-west-1-blue-green-canary-long-stack-name", "x" * 100,
])
def test_agentcore_names_are_valid_for_awkward_stack_names(stack: str) -> None:
    assert AGENTCORE_NAME_PATTERN.fullmatch(agentcore_name(PROJECT, stack))


@given(stack_names)
def test_agentcore_names_are_always_valid(stack: str) -> None:
    assert AGENTCORE_NAME_PATTERN.fullmatch(agentcore_name(PROJECT, stack))


def test_short_names_stay_readable() -> None:
    assert agentcore_name(PROJECT, "dev") == "agentcore_streaming_dev_agent"
    assert physical_name(PROJECT, "dev", "proxy") == "agentcore-streaming-dev-proxy"


def test_long_stack_names_sharing_a_prefix_do_not_collide() -> None:
    base = "customer-onboarding-experiment-environment-"
    names = {agentcore_name(PROJECT, base + suffix) for suffix in ("one", "two", "three")}
    assert len(names) == 3
    physical = {physical_name(PROJECT, base * 2 + suffix, "proxy") for suffix in ("one", "two")}
    assert len(physical) == 2
    assert all(len(n) <= 64 for n in physical)


@given(stack_names, st.integers(min_value=20, max_value=128))
def test_physical_names_respect_their_length_limit(stack: str, limit: int) -> None:
    assert len(physical_name(PROJECT, stack, "proxy", limit)) <= limit
