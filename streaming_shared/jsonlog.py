"""One JSON log format for every process of the project: the proxy, the agent, the local gateway and
the AgentCore stand-in.

Standard library only: stdlib `logging` underneath, one `JsonFormatter`, and the per-request keys
(request id, caller) in a context variable (`log_context`), so a line logged anywhere inside a
request carries them without passing them along.

One source file, in the shared package: both zips and the agent's image carry it at their root
(packager/artifacts.py), and the proxy, the agent and `local/` import it as `streaming_shared.jsonlog`.

Never log prompts, answers, keys, tokens or raw session ids by default: `session_hash` is what a
log line says instead of a session id. Other libraries' lines get their numeric arguments merged
(durations, counts, status codes) and every other argument shown as `<hidden>`, and an exception's
type but not its text, since a string or an exception may quote the prompt.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, TextIO

# The keys every line logged inside the current request carries (requestId, caller, ...).
_LOG_CONTEXT: ContextVar[Mapping[str, Any]] = ContextVar("log_context", default={})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add keys to every line logged inside this block (and the tasks it starts)."""
    token = _LOG_CONTEXT.set({**_LOG_CONTEXT.get(), **fields})
    try:
        yield
    finally:
        _LOG_CONTEXT.reset(token)


def session_hash(session_id: str | None) -> str | None:
    """What the logs say instead of a session id: a conversation handle is not for log readers."""
    if not session_id:
        return None
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:16]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, service, logger, message, context, fields.

    `own_loggers` are the logger names (and their children) whose messages are the project's own
    event names; any other logger's line keeps only its template. `context` adds keys that a
    library keeps in its own context variable (the AgentCore SDK's request id).
    """

    def __init__(
        self,
        service: str,
        own_loggers: tuple[str, ...] = (),
        context: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.own_loggers = own_loggers
        self.context = context

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, timezone.utc)
        entry: dict[str, Any] = {
            "timestamp": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": self.message_text(record),
        }
        entry.update(_LOG_CONTEXT.get())
        if self.context is not None:
            entry.update({key: value for key, value in self.context().items() if value is not None})
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: exception text may quote user input or internal details.
            entry["errorType"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str, ensure_ascii=False)

    def message_text(self, record: logging.LogRecord) -> str:
        if any(record.name == name or record.name.startswith(name + ".") for name in self.own_loggers):
            return record.getMessage()  # our own events: names, with fields kept apart
        # A message that is not a string (an exception) gives its type.
        if not isinstance(record.msg, str):
            return type(record.msg).__name__
        return merge_numeric_arguments(record.msg, record.args)


# One printf-style conversion, as logging's %-formatting reads it: %%, or % [(key)] [flags] [width]
# [.precision] [length] type.
_CONVERSION = re.compile(
    r"%(?:%|(?:\((?P<key>[^)]*)\))?(?P<spec>[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa]))"
)
HIDDEN_ARGUMENT = "<hidden>"


def merge_numeric_arguments(template: str, args: Any) -> str:
    """A library's message with its numbers merged and any other argument shown as `<hidden>`.

    "Invocation failed (%.3fs)" with 0.25 reads "Invocation failed (0.250s)"; a string argument may
    quote the prompt or an exception's text, so it never reaches the line. A template whose arguments
    do not fit it (logging itself would report an error) is left as it is.
    """
    if not args:
        return template  # logging leaves a message without arguments as it is, % signs and all
    by_key = args if isinstance(args, Mapping) else None
    positional = iter(() if by_key is not None else args)

    def convert(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        if "*" in match["spec"]:
            raise ValueError("a width or precision taken from the arguments")
        value = by_key[match["key"]] if by_key is not None and match["key"] is not None else next(positional)
        if isinstance(value, (int, float)):  # bool is an int: True, False and numbers quote nothing
            return ("%" + match["spec"]) % value
        return HIDDEN_ARGUMENT

    try:
        return _CONVERSION.sub(convert, template)
    except (KeyError, StopIteration, TypeError, ValueError):
        return template


class DeferredStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Inside a running event loop, lines are collected and written (and flushed) together by a
    callback the loop runs as soon as the current step yields, so a request's path to its first
    byte makes no write or flush system call for its log lines. Warnings, errors and lines logged
    outside a running loop are written and flushed at once."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:
            self.handleError(record)
            return
        self._pending.append(line)
        if len(self._pending) > 1:
            return  # a write is already scheduled and will take this line too
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or record.levelno >= logging.WARNING:
            self.flush()
        else:
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write every collected line and flush the stream."""
        self.acquire()
        try:
            if not self._pending:
                return
            lines, self._pending = "".join(self._pending), []
            self.stream.write(lines)
            self.stream.flush()
        finally:
            self.release()


def write_json_lines(logger: logging.Logger, service: str, stream: TextIO, level: int = logging.INFO) -> None:
    """Make a named stdlib logger (and its children) write this format to `stream`, line by line."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service, own_loggers=(logger.name,)))
    logger.handlers = [handler]
    logger.setLevel(level)
    logger.propagate = False


def log_fields(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """`logger.log` with the line's own keys as keywords."""
    logger.log(level, message, extra={"fields": fields})


class JsonLogger:
    """A stdlib logger of its own that writes JSON lines, with fields as keywords:
    `logger.info("stream finished", deltas=3)`.

    The logger is private (not in logging's registry), so two of them never share handlers.
    `defer_in_loop` batches lines per event-loop step (see DeferredStreamHandler), for hot paths.
    """

    def __init__(
        self, service: str, level: str = "INFO", stream: TextIO | None = None, *, defer_in_loop: bool = True
    ) -> None:
        self.logger = logging.Logger(service, logging.getLevelName(level.upper()))
        output = stream or sys.stdout
        handler = DeferredStreamHandler(output) if defer_in_loop else logging.StreamHandler(output)
        handler.setFormatter(JsonFormatter(service, own_loggers=(service,)))
        self.logger.addHandler(handler)

    def log(self, level: int, message: str, exc_info: bool = False, **fields: Any) -> None:
        self.logger.log(level, message, exc_info=exc_info, extra={"fields": fields})

    def debug(self, message: str, **fields: Any) -> None:
        self.log(logging.DEBUG, message, **fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log(logging.INFO, message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log(logging.WARNING, message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log(logging.ERROR, message, **fields)

    def flush(self) -> None:
        for handler in self.logger.handlers:
            handler.flush()
