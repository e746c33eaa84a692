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
    """The upstream bytes are not the event stream we expect."""


class SseDecoder:
    def __init__(self) -> None:
        self._buffer = b""
        self._data_lines: list[bytes] = []

    def feed(self, chunk: bytes) -> list[str]:
        """Add bytes; return the data of every event completed by them, in order."""
        completed: list[str] = []
        buffer = self._buffer + chunk if self._buffer else chunk
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
        if len(self._buffer) > MAX_FRAME_BYTES:
            raise SseProtocolError("upstream sent an event larger than the proxy accepts")
        return completed

    def _finish_event(self) -> str:
        data = b"\n".join(self._data_lines)
        self._data_lines = []
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise SseProtocolError("upstream sent an event that is not UTF-8") from None

    @property
    def has_partial_event(self) -> bool:
        return bool(self._buffer.strip() or self._data_lines)
