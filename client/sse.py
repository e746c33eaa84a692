"""An incremental Server-Sent Events parser (the WHATWG event-stream rules), standard library only.

Feed it bytes exactly as they come off the socket; it returns whatever messages and comments those
bytes completed and keeps the unfinished rest. Events may be split anywhere, even inside a UTF-8
character or between the CR and LF of a line ending.
"""

from __future__ import annotations

from dataclasses import dataclass

UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class SseMessage:
    event: str  # "message" when the stream gave no `event:` field
    data: str  # the `data:` lines joined with "\n"
    id: str | None


@dataclass(frozen=True)
class SseComment:
    text: str  # the comment without its leading ":" and one optional space


class SseParser:
    def __init__(self) -> None:
        self._pending = b""
        self._at_start = True
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None

    @property
    def has_partial_event(self) -> bool:
        """True when bytes or fields wait for a blank line that has not come yet."""
        return bool(self._pending or self._data or self._event)

    def feed(self, chunk: bytes) -> list[SseMessage | SseComment]:
        buffer = self._pending + chunk
        if self._at_start:
            # A stream may begin with a byte-order mark; wait until we can tell.
            if len(buffer) < len(UTF8_BOM) and UTF8_BOM.startswith(buffer):
                self._pending = buffer
                return []
            if buffer.startswith(UTF8_BOM):
                buffer = buffer[len(UTF8_BOM) :]
            self._at_start = False

        completed: list[SseMessage | SseComment] = []
        start = 0
        # Remember where the next CR and LF are, so a chunk of many lines is scanned once, not once per line.
        next_cr = buffer.find(b"\r")
        next_lf = buffer.find(b"\n")
        while True:
            if next_cr != -1 and next_cr < start:
                next_cr = buffer.find(b"\r", start)
            if next_lf != -1 and next_lf < start:
                next_lf = buffer.find(b"\n", start)
            if next_lf != -1 and (next_cr == -1 or next_lf < next_cr):
                line_stop, next_start = next_lf, next_lf + 1
            elif next_cr != -1 and next_cr + 1 < len(buffer):
                line_stop = next_cr
                next_start = next_cr + 2 if buffer[next_cr + 1] == 0x0A else next_cr + 1
            else:
                # No line end yet, or a CR as the last byte, which may be the first half of CRLF.
                break
            item = self._process_line(buffer[start:line_stop].decode("utf-8", errors="replace"))
            if item is not None:
                completed.append(item)
            start = next_start
        self._pending = buffer[start:]
        return completed

    def finish(self) -> list[SseMessage | SseComment]:
        """Call at end of stream: a final CR is then a line end. Unterminated events are dropped, per the spec."""
        if not self._pending.endswith(b"\r"):
            return []
        return self.feed(b"\n")

    def _process_line(self, line: str) -> SseMessage | SseComment | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            text = line[1:]
            return SseComment(text[1:] if text.startswith(" ") else text)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._last_id = value
        # "retry" only matters to browsers that reconnect; unknown fields are ignored by the spec.
        return None

    def _dispatch(self) -> SseMessage | None:
        event, data = self._event, self._data
        self._event, self._data = "", []
        if not data:
            return None  # the spec drops an event without data lines
        return SseMessage(event=event or "message", data="\n".join(data), id=self._last_id)

