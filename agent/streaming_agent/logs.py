"""The agent's log lines: the project's one JSON format (streaming_shared/jsonlog.py), with AgentCore's request id.

Only ids, counts and timings are logged: never prompts, answers, keys or tokens. The raw session
id is a conversation handle, so it is logged as a short hash that still lets lines be grouped.

Other libraries' loggers (bedrock-agentcore's `bedrock_agentcore.app`, OpenTelemetry's, Strands')
are routed through the same formatter by `route_library_logs()`: their lines keep the message
template but not its arguments, and an exception's type but not its text or stack trace, since
either may quote the prompt (the SDK logs `Invocation failed` with the exception and traceback).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from bedrock_agentcore.runtime.context import BedrockAgentCoreContext

from streaming_shared.jsonlog import JsonFormatter

SERVICE = "agent"
LOGGER_NAME = "streaming_agent"
# Loggers of the libraries the agent runs on, and the least severe level each may write. The SDK's
# "bedrock_agentcore.app" is named itself: the SDK gives it a plain handler of its own unless it has one.
LIBRARY_LOGGERS = {
    "bedrock_agentcore": logging.INFO,
    "bedrock_agentcore.app": logging.INFO,
    "opentelemetry": logging.WARNING,
    "strands": logging.WARNING,
}


def agentcore_request() -> dict[str, Any]:
    """The SDK keeps the request id in its own context variable; every line carries it."""
    return {"requestId": BedrockAgentCoreContext.get_request_id()}


def json_handler() -> logging.Handler:
    # Written at once, line by line: the SDK and Strands log from worker threads too.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(SERVICE, own_loggers=(LOGGER_NAME,), context=agentcore_request))
    return handler


def route_library_logs() -> None:
    """Send the libraries' log lines through the JSON formatter, without their arguments or tracebacks.

    Called before BedrockAgentCoreApp exists: the SDK adds its own plain handler (which prints the
    exception text and stack trace) only to a logger that has none yet.
    """
    handler = json_handler()
    for name, level in LIBRARY_LOGGERS.items():
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False


def get_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        logger.addHandler(json_handler())
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def log_event(event: str, level: int = logging.INFO, exc_info: bool = False, **fields: Any) -> None:
    get_logger().log(level, event, exc_info=exc_info, extra={"fields": fields})
