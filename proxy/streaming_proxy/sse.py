"""Incremental decoding of the agent's Server-Sent Events (`data: <json>` frames).

BedrockAgentCoreApp frames every value its entrypoint yields as `data: <json>\\n\\n`. Chunks from the
network split those frames anywhere, so the decoder keeps the unfinished tail between calls.
"""

from __future__ import annotations

from collections.abc import Sequence

# Fields the SSE specification defines; anything else means we are not talking to an SSE server.
_KNOWN_FIELDS = (b"data", b"event", b"id", b"retry")
# An event larger than this (its unfinished line and its data lines so far) is not something the
# agent sends; stop before memory runs away.
MAX_FRAME_BYTES = 8 * 1024 * 1024


class SseProtocolError(ValueError):
    """The upstream bytes are not the event stream we expect.

    `completed`: the events that the same `feed` completed before the fault, in order (they came first).
    """

    completed: Sequence[str] = ()


class SseDecoder:
    def __init__(self) -> None:
        self._buffer = b""
        self._data_lines: list[bytes] = []
        self._data_bytes = 0  # the size of _data_lines joined

    def feed(self, chunk: bytes) -> list[str]:
        """Add bytes; return the data of every event completed by them, in order. SseProtocolError
        when they break the format, with the events completed before the fault (`completed`)."""
        if b"\n" not in chunk:  # no line ends here (a long event's middle): nothing to look at yet
            self._buffer += chunk
            self._check_size()
            return []
        buffer = self._buffer + chunk if self._buffer else chunk
        completed: list[str] = []
        try:
            self._buffer = buffer[self._feed_lines(buffer, completed):]  # the unfinished line
            self._check_size()
        except SseProtocolError as error:
            error.completed = completed
            raise
        return completed

    def _feed_lines(self, buffer: bytes, completed: list[str]) -> int:
        """Every complete line of `buffer`; returns where the unfinished one starts."""
        # The agent's own framing, `data: <json>` and a blank line (LF only), is one event taken at
        # once; any other line goes through _line. Lines are found by bytes.find (memchr), which
        # is far faster than bytes.split on a long event.
        plain = b"\r" not in buffer
        find, startswith = buffer.find, buffer.startswith
        start = 0
        while (newline := find(b"\n", start)) >= 0:
            if plain and startswith(b"data: ", start) and startswith(b"\n", newline + 1) and not self._data_lines:
                completed.append(_text(buffer[start + 6:newline]))
                start = newline + 2
            else:
                self._line(buffer[start:newline], completed)
                start = newline + 1
        return start

    def _line(self, line: bytes, completed: list[str]) -> None:
        """One line of any other form: a blank line, a comment, a field (several `data` lines join)."""
        if line.endswith(b"\r"):  # a CRLF line end
            line = line[:-1]
        if not line:
            if self._data_lines:
                completed.append(self._finish_event())
            return
        if line.startswith(b":"):
            return
        name, colon, value = line.partition(b":")
        if not colon or name not in _KNOWN_FIELDS:
            raise SseProtocolError("upstream sent a line that is not a Server-Sent Events field")
        if name == b"data":
            value = value[1:] if value.startswith(b" ") else value
            self._data_lines.append(value)
            self._data_bytes += len(value) + 1  # and the line feed that joins it to the next

    def _check_size(self) -> None:
        if len(self._buffer) + self._data_bytes > MAX_FRAME_BYTES:
            raise SseProtocolError("upstream sent an event larger than the proxy accepts")

    def _finish_event(self) -> str:
        data = b"\n".join(self._data_lines)
        self._data_lines = []
        self._data_bytes = 0
        return _text(data)

    @property
    def has_partial_event(self) -> bool:
        return bool(self._buffer.strip() or self._data_lines)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SseProtocolError("upstream sent an event that is not UTF-8") from None
