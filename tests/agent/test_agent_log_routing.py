"""Library log lines (the SDK's, OpenTelemetry's) become one JSON line each, without text that may quote a prompt."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from streaming_agent.logs import LIBRARY_LOGGERS, route_library_logs

SECRET = "SECRET-PROMPT-in-exception"


@pytest.fixture
def routed() -> Iterator[io.StringIO]:
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level, logging.getLogger(name).propagate)
             for name in LIBRARY_LOGGERS}
    route_library_logs()
    output = io.StringIO()
    for name in LIBRARY_LOGGERS:  # one shared handler; read what it writes
        for handler in logging.getLogger(name).handlers:
            handler.setStream(output)  # type: ignore[attr-defined]
    yield output
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.level, logger.propagate = handlers, level, propagate


def lines(output: io.StringIO) -> list[str]:
    return [line for line in output.getvalue().splitlines() if line.strip()]


def test_the_sdks_invocation_failure_is_one_json_line_without_the_exception_text(routed) -> None:
    try:
        raise RuntimeError(f"model rejected the prompt: {SECRET}")
    except RuntimeError:
        logging.getLogger("bedrock_agentcore.app").exception("Invocation failed (%.3fs)", 0.25)
    logging.getLogger("bedrock_agentcore.app").warning("Invalid JSON in request (%.3fs): %s", 0.1, SECRET)
    output = lines(routed)
    assert len(output) == 2, output
    records = [json.loads(line) for line in output]
    assert records[0]["message"] == "Invocation failed (0.250s)" and records[0]["errorType"] == "RuntimeError"
    assert records[1]["message"] == "Invalid JSON in request (0.100s): <hidden>"
    assert SECRET not in "\n".join(output) and "Traceback" not in "\n".join(output)


def test_opentelemetrys_failed_detach_is_one_json_line(routed) -> None:
    try:
        raise ValueError("<Token var=<ContextVar name='current_context'>> was created in a different Context")
    except ValueError:
        logging.getLogger("opentelemetry.context").exception("Failed to detach context")
    output = lines(routed)
    assert len(output) == 1, output
    record = json.loads(output[0])
    assert (record["message"], record["errorType"], record["level"]) == ("Failed to detach context", "ValueError", "ERROR")


def test_a_non_string_message_gives_its_type_only(routed) -> None:
    logging.getLogger("strands").error(RuntimeError(SECRET))
    output = lines(routed)
    assert len(output) == 1 and SECRET not in output[0]
    assert json.loads(output[0])["message"] == "RuntimeError"
