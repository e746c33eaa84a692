"""Structured JSON log lines carrying the AgentCore request id and a session hash.

Only ids, counts and timings are logged: never prompts, answers, keys or tokens. The raw session
id is a conversation handle, so it is logged as a short hash that still lets lines be grouped.

Other libraries' loggers (bedrock-agentcore's `bedrock_agentcore.app`, OpenTelemetry's, Strands')
are routed through the same formatter by `route_library_logs()`: their lines keep the message
template but not its arguments, and an exception's type but not its text or stack trace, since
either may quote the prompt (the SDK logs `Invocation failed` with the exception and traceback).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from typing import Any

from bedrock_agentcore.runtime.context import BedrockAgentCoreContext

LOGGER_NAME = "streaming_agent"
# Loggers of the libraries the agent runs on, and the least severe level each may write. The SDK's
# "bedrock_agentcore.app" is named itself: the SDK gives it a plain handler of its own unless it has one.
LIBRARY_LOGGERS = {
    "bedrock_agentcore": logging.INFO,
    "bedrock_agentcore.app": logging.INFO,
    "opentelemetry": logging.WARNING,
    "strands": logging.WARNING,
}


def session_hash(session_id: str | None) -> str | None:
    if not session_id:
        return None
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:16]


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "event": self.event_text(record),
        }
        request_id = BedrockAgentCoreContext.get_request_id()
        if request_id:
            entry["requestId"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: exception text may quote user input or internal details.
            entry["errorType"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)

    @staticmethod
    def event_text(record: logging.LogRecord) -> str:
        if record.name == LOGGER_NAME or record.name.startswith(LOGGER_NAME + "."):
            return record.getMessage()  # our own events: names, with fields kept apart
        # A library's line: the template only ("Invocation failed (%.3fs)"); its arguments may quote
        # the prompt or an exception's text. A message that is not a string (an exception) gives its type.
        return record.msg if isinstance(record.msg, str) else type(record.msg).__name__


def route_library_logs() -> None:
    """Send the libraries' log lines through the JSON formatter, without their arguments or tracebacks.

    Called before BedrockAgentCoreApp exists: the SDK adds its own plain handler (which prints the
    exception text and stack trace) only to a logger that has none yet.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLineFormatter())
    for name, level in LIBRARY_LOGGERS.items():
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False


def get_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonLineFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def log_event(event: str, level: int = logging.INFO, exc_info: bool = False, **fields: Any) -> None:
    get_logger().log(level, event, exc_info=exc_info, extra={"fields": fields})
