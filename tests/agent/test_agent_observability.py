"""AGENT_OBSERVABILITY_ENABLED: off by default; on, ADOT auto-instrumentation starts or says why not."""

from __future__ import annotations

import sys
import types

import pytest
from streaming_agent import observability
from streaming_agent.settings import AgentConfigurationError, load_settings

BASE = {"AGENT_MODEL_PROVIDER": "offline"}


def test_observability_is_off_unless_enabled() -> None:
    assert load_settings(BASE).observability_enabled is False
    assert load_settings({**BASE, "AGENT_OBSERVABILITY_ENABLED": "true"}).observability_enabled is True
    with pytest.raises(AgentConfigurationError, match="AGENT_OBSERVABILITY_ENABLED"):
        load_settings({**BASE, "AGENT_OBSERVABILITY_ENABLED": "maybe"})
    assert observability.start_observability(False) == "off"


def test_enabled_without_the_distro_warns_instead_of_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observability, "ADOT_DISTRO_MODULE", "amazon.not_installed_distro_for_tests")
    monkeypatch.delitem(sys.modules, "sitecustomize", raising=False)
    assert observability.start_observability(True) == "unavailable"


def test_enabled_with_the_distro_initialises_auto_instrumentation(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    fake = types.ModuleType("opentelemetry.instrumentation.auto_instrumentation")
    fake.initialize = lambda: calls.append("initialize")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.auto_instrumentation", fake)
    monkeypatch.delitem(sys.modules, "sitecustomize", raising=False)
    monkeypatch.setattr(observability.importlib.util, "find_spec", lambda name: object())
    assert observability.start_observability(True) == "initialised"
    assert calls == ["initialize"]


def test_started_under_opentelemetry_instrument_is_not_initialised_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    sitecustomize = types.ModuleType("sitecustomize")
    sitecustomize.__file__ = "/x/opentelemetry/instrumentation/auto_instrumentation/sitecustomize.py"
    monkeypatch.setitem(sys.modules, "sitecustomize", sitecustomize)
    assert observability.start_observability(True) == "entry-point"
