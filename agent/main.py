"""Entry point AgentCore runs (and `python agent/main.py` runs locally, from any directory).

Environment: see streaming_agent/settings.py. AGENT_HOST/AGENT_PORT default to 0.0.0.0:8080,
the AgentCore contract; the local stack passes 127.0.0.1 and a free port.
"""

from __future__ import annotations

import os
import sys

from streaming_agent.app import create_app
from streaming_agent.logs import log_event
from streaming_agent.observability import start_observability
from streaming_agent.settings import AgentConfigurationError, load_settings


def main() -> int:
    try:
        settings = load_settings(os.environ)
        # Before the app and its boto3 clients exist, so auto-instrumentation sees them created.
        start_observability(settings.observability_enabled)
        app = create_app(settings)
    except AgentConfigurationError as error:
        print(f"agent configuration error: {error}", file=sys.stderr)
        return 2
    log_event("agent_starting", modelProvider=settings.model_provider, host=settings.host, port=settings.port)
    # Host passed explicitly: app.run() would otherwise bind 127.0.0.1 outside Docker, which
    # AgentCore's health checks cannot reach.
    app.run(port=settings.port, host=settings.host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
