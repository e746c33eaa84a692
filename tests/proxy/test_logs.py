"""JsonLogger: one JSON object per line; inside the event loop, lines are written after the step that logged them."""

from __future__ import annotations

import asyncio
import io
import json

from streaming_proxy.logs import JsonLogger


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
