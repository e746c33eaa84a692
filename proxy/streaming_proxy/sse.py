"""Incremental decoding of the agent's Server-Sent Events (`data: <json>` frames).

BedrockAgentCoreApp frames every value its entrypoint yields as `data: <json>\\n\\n`. Chunks from the
network split those frames anywhere, so the decoder keeps the unfinished tail between calls.
"""

from __future__ import annotations

# Fields the SSE specification defines; anything else means we are not talking to an SSE server.
_KNOWN_FIELDS = (b"data", b"event", b"id", b"retry")
# A frame larger than this is not something the agent sends; stop before memory runs away.
MAX_FRAME_BYTES = 8 * 1024 * 1024


class SseProtocolError(ValueError):
    """The upstream bytes are not the event stream we expect.

    `completed`: the events that the same `feed` completed before the fault, in order (they came first).
    """

    completed: list[str] = []


class SseDecoder:
    def __init__(self) -> None:
        self._buffer = b""
        self._data_lines: list[bytes] = []

    def feed(self, chunk: bytes) -> list[str]:
        """Add bytes; return the data of every event completed by them, in order. SseProtocolError
        when they break the format, with the events completed before the fault (`completed`)."""
        buffer = self._buffer + chunk if self._buffer else chunk
        completed: list[str] = []
        try:
            if self._data_lines or b"\r" in buffer:
                self._feed_lines(buffer, completed)
            else:
                self._feed_events(buffer, completed)
        except SseProtocolError as error:
            error.completed = completed
            raise
        return completed

    def _feed_events(self, buffer: bytes, completed: list[str]) -> None:
        """The agent's own framing, `data: <json>` and a blank line, taken a whole event at a time:
        one split for all the events that arrived together. Anything else goes line by line."""
        *events, rest = buffer.split(b"\n\n")
        for event in events:
            if event.startswith(b"data: ") and b"\n" not in event:
                completed.append(_text(event[6:]))
            else:
                self._feed_lines(event + b"\n\n", completed)
        if b"\n" in rest:  # complete lines of an event still open: checked now, as they come
            self._feed_lines(rest, completed)
        else:
            self._buffer = rest
            self._check_size()

    def _feed_lines(self, buffer: bytes, completed: list[str]) -> None:
        """`buffer` line by line (LF or CRLF endings, comments, several `data` lines, other fields)."""
        start = 0
        while True:
            newline = buffer.find(b"\n", start)
            if newline < 0:
                break
            line = buffer[start:newline]
            start = newline + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if self._data_lines:
                    completed.append(self._finish_event())
                continue
            if line.startswith(b":"):
                continue
            name, colon, value = line.partition(b":")
            if not colon or name not in _KNOWN_FIELDS:
                raise SseProtocolError("upstream sent a line that is not a Server-Sent Events field")
            if name == b"data":
                self._data_lines.append(value[1:] if value.startswith(b" ") else value)
        self._buffer = buffer[start:]
        self._check_size()

    def _check_size(self) -> None:
        if len(self._buffer) > MAX_FRAME_BYTES:
            raise SseProtocolError("upstream sent an event larger than the proxy accepts")

    def _finish_event(self) -> str:
        data = b"\n".join(self._data_lines)
        self._data_lines = []
        return _text(data)

    @property
    def has_partial_event(self) -> bool:
        return bool(self._buffer.strip() or self._data_lines)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SseProtocolError("upstream sent an event that is not UTF-8") from None
