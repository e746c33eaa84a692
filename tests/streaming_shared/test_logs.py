"""JsonLogger: one JSON object per line; inside the event loop, lines are written after the step that logged them."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from streaming_shared.jsonlog import JsonLogger


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_outside_a_loop_each_line_is_written_and_flushed_at_once() -> None:
    stream = CountingStream()
    logger = JsonLogger("proxy", stream=stream)
    logger.info("hello", requestId="r-1")
    assert [(line["message"], line["requestId"], line["level"]) for line in lines(stream)] == [("hello", "r-1", "INFO")]
    assert stream.flushes == 1


def test_inside_the_loop_lines_wait_for_the_step_to_yield_then_go_out_in_one_flush() -> None:
    stream = CountingStream()
    logger = JsonLogger("proxy", stream=stream)

    async def request_path() -> list[int]:
        logger.info("invoking agent")
        logger.info("second line")
        seen_before_yield = len(lines(stream))
        await asyncio.sleep(0)
        return [seen_before_yield, len(lines(stream)), stream.flushes]

    assert asyncio.run(request_path()) == [0, 2, 1]
    assert [line["message"] for line in lines(stream)] == ["invoking agent", "second line"]


def test_a_warning_is_written_at_once_even_inside_the_loop() -> None:
    stream = CountingStream()
    logger = JsonLogger("proxy", stream=stream)

    async def failing_path() -> int:
        logger.warning("agent call failed")
        return len(lines(stream))

    assert asyncio.run(failing_path()) == 1


def test_lines_below_the_level_are_dropped() -> None:
    stream = CountingStream()
    JsonLogger("proxy", "WARNING", stream=stream).info("quiet")
    assert stream.getvalue() == "" and stream.flushes == 0


# -- the one format, shared by proxy, agent, gateway and stand-in ----------------------------------

import logging  # noqa: E402

from streaming_shared.jsonlog import JsonFormatter, log_context, session_hash, write_json_lines  # noqa: E402


def test_request_keys_come_from_the_context_and_end_with_it() -> None:
    stream = CountingStream()
    logger = JsonLogger("proxy", stream=stream)
    with log_context(requestId="r-1", caller="anonymous"):
        logger.info("inside", deltas=2)
        with log_context(requestId="r-2"):
            logger.info("nested")
    logger.info("outside")
    records = lines(stream)
    assert {key: records[0][key] for key in ("message", "requestId", "caller", "deltas", "service")} == {
        "message": "inside", "requestId": "r-1", "caller": "anonymous", "deltas": 2, "service": "proxy"
    }
    assert (records[1]["requestId"], records[1]["caller"]) == ("r-2", "anonymous")
    assert "requestId" not in records[2] and "caller" not in records[2]


def test_concurrent_requests_keep_their_own_keys() -> None:
    stream = CountingStream()
    logger = JsonLogger("proxy", stream=stream)

    async def request(request_id: str) -> None:
        with log_context(requestId=request_id):
            await asyncio.sleep(0)
            logger.info("step", mine=request_id)

    async def both() -> None:
        await asyncio.gather(request("a"), request("b"))

    asyncio.run(both())
    assert all(record["requestId"] == record["mine"] for record in lines(stream))


def library_logger(stream: io.StringIO) -> logging.Logger:
    library = logging.Logger("some.library")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("agent", own_loggers=("streaming_agent",)))
    library.addHandler(handler)
    return library


def test_a_library_line_hides_its_string_arguments_and_an_exception_keeps_only_its_type() -> None:
    stream = io.StringIO()
    try:
        raise ValueError("the prompt was: secret")
    except ValueError:
        library_logger(stream).error("Invocation failed for %s", "secret prompt", exc_info=True)
    (record,) = lines(stream)
    assert record["message"] == "Invocation failed for <hidden>" and record["errorType"] == "ValueError"
    assert "secret" not in stream.getvalue()


@pytest.mark.parametrize(
    ("template", "args", "message"),
    [
        # bedrock-agentcore's own lines (bedrock_agentcore/runtime/app.py)
        ("Returning streaming response (generator) (%.3fs)", (0.0123,), "Returning streaming response (generator) (0.012s)"),
        ("Async task started: %s (ID: %s)", ("stream", 17), "Async task started: <hidden> (ID: 17)"),
        ("Async task completed: %s (ID: %s, Duration: %.2fs)", ("stream", 17, 1.5),
         "Async task completed: <hidden> (ID: 17, Duration: 1.50s)"),
        ("HTTP %d (%.3fs): %s", (400, 0.25, "the prompt"), "HTTP 400 (0.250s): <hidden>"),
        ("%5.1f%% done, %r left, ok=%s", (12.34, 3, True), " 12.3% done, 3 left, ok=True"),
        ("%(count)d items for %(who)s", ({"count": 3, "who": "a user"},), "3 items for <hidden>"),
        ("a template, %s and all", (), "a template, %s and all"),  # no arguments: as logging leaves it
        ("%s and %s", (1,), "%s and %s"),  # arguments that do not fit: the template, never a crash
        ("%*d", (5, 1), "%*d"),
    ],
)
def test_a_library_line_has_its_numbers_merged(template: str, args: tuple, message: str) -> None:
    stream = io.StringIO()
    library_logger(stream).info(template, *args)
    (record,) = lines(stream)
    assert record["message"] == message
    assert "the prompt" not in stream.getvalue() and "a user" not in stream.getvalue()


def test_a_named_logger_writes_the_format() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.jsonlog.named")
    write_json_lines(logger, "gateway", stream)
    logger.info("request relayed %s", "x", extra={"fields": {"status": 200}})
    (record,) = lines(stream)
    assert (record["service"], record["message"], record["status"]) == ("gateway", "request relayed x", 200)


def test_session_ids_are_logged_as_a_hash() -> None:
    assert session_hash(None) is None
    assert session_hash("abc") == session_hash("abc") != session_hash("abd")
    assert len(session_hash("abc")) == 16 and "abc" not in session_hash("abc")
