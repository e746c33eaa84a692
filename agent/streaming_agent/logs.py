"""Structured JSON log lines carrying the AgentCore request id and a session hash.

Only ids, counts and timings are logged: never prompts, answers, keys or tokens. The raw session
id is a conversation handle, so it is logged as a short hash that still lets lines be grouped.
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
            "event": record.getMessage(),
        }
        request_id = BedrockAgentCoreContext.get_request_id()
        if request_id:
            entry["requestId"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: exception text may quote user input or internal details.
            entry["errorType"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


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
