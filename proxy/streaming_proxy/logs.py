"""Structured JSON log lines on stdout (CloudWatch Logs on Lambda, the terminal locally).

Inside the event loop a line is not written at once: lines are collected and written (and flushed)
together by a callback the loop runs as soon as the current step yields, so a request's path to its
first byte makes no write or flush system call for its log lines. Warnings, errors and lines logged
outside a running loop are written and flushed at once.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timezone
from typing import Any

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


class JsonLogger:
    def __init__(self, service: str, level: str = "INFO", stream: Any = None) -> None:
        self.service = service
        self.threshold = _LEVELS[level]
        self.stream = stream or sys.stdout
        self._pending: list[str] = []

    def log(self, level: str, message: str, **fields: Any) -> None:
        if _LEVELS[level] < self.threshold:
            return
        record = {
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "level": level,
            "service": self.service,
            "message": message,
            **fields,
        }
        self._pending.append(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        if len(self._pending) > 1:
            return  # a write is already scheduled and will take this line too
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or _LEVELS[level] >= _LEVELS["WARNING"]:
            self.flush()
        else:
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write every collected line and flush the stream."""
        if not self._pending:
            return
        lines, self._pending = "".join(self._pending), []
        self.stream.write(lines)
        self.stream.flush()

    def debug(self, message: str, **fields: Any) -> None:
        self.log("DEBUG", message, **fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log("INFO", message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log("WARNING", message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log("ERROR", message, **fields)
