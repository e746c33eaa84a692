"""OpenTelemetry for the agent, the way AgentCore documents it: the AWS Distro for OpenTelemetry (ADOT).

AgentCore's documented set-up for a code zip is `aws-opentelemetry-distro` among the requirements and
the entry point ["opentelemetry-instrument", "main.py"]; the runtime supplies the OTEL_* variables
(exporters, endpoints, resource attributes). When the runtime was started with the plain
["main.py"] entry point, the same auto-instrumentation is started here instead, before the app
exists. AGENT_OBSERVABILITY_ENABLED (false by default, so local runs export nothing) turns it on.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from typing import Literal

from .logs import log_event

ObservabilityState = Literal["off", "entry-point", "initialised", "unavailable"]
ADOT_DISTRO_MODULE = "amazon.opentelemetry.distro"


def started_by_opentelemetry_instrument() -> bool:
    # opentelemetry-instrument puts its own sitecustomize first on PYTHONPATH, which runs
    # initialize() before main.py; seeing that module loaded means the work is done.
    module = sys.modules.get("sitecustomize")
    return "opentelemetry" in (getattr(module, "__file__", None) or "")


def start_observability(enabled: bool) -> ObservabilityState:
    if not enabled:
        return "off"
    if started_by_opentelemetry_instrument():
        state: ObservabilityState = "entry-point"
    elif importlib.util.find_spec("amazon") is None or importlib.util.find_spec(ADOT_DISTRO_MODULE) is None:
        # Not fatal: the agent still answers; the operator learns why no traces arrive.
        log_event(
            "observability_unavailable",
            logging.WARNING,
            reason="AGENT_OBSERVABILITY_ENABLED is true but aws-opentelemetry-distro is not installed",
        )
        return "unavailable"
    else:
        from opentelemetry.instrumentation.auto_instrumentation import initialize

        initialize()
        state = "initialised"
    log_event("observability_started", mode=state)
    return state
