"""What the command line prints on stdout: the answer's text, or one JSON object per event (--json).

Every write is flushed at once, so text and events appear as they stream. A reader that closes
stdout early (`| head`) raises OutputClosed here, never an OSError that could be mistaken for the
network failing.
"""

from __future__ import annotations

import errno
import json
from typing import TextIO

from client.api import Event


class OutputClosed(Exception):
    """stdout was closed by its reader (a broken pipe): stop quietly."""


class Output:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            raise OutputClosed from None
        except OSError as error:
            if error.errno in (errno.EPIPE, errno.EINVAL):  # EINVAL: a closed pipe on Windows
                raise OutputClosed from None
            raise


# What a `tool` event's status reads as on the tool line.
TOOL_LINES = {"started": "using {name}...", "finished": "{name} done", "failed": "{name} failed"}


class TextAnswer:
    """The answer as plain text: each delta's text as it arrives, and a final newline.

    A `tool` event is one line on `notes` (stderr), so stdout stays the answer alone.
    """

    def __init__(self, output: Output, notes: TextIO | None = None) -> None:
        self.output = output
        self.notes = notes
        self.open_line = False

    def event(self, event: Event) -> None:
        if event.name == "delta" and event.data:
            text = str(event.data.get("text", ""))
            if text:
                self.output.write(text)
                self.open_line = True
        elif event.name == "tool" and event.data and self.notes is not None:
            line = TOOL_LINES.get(str(event.data.get("status")))
            if line is not None:
                # On a terminal the answer's open line would run into the tool line: start a new one.
                self._note(("\n" if self.open_line else "") + "tool: " + line.format(name=event.data.get("name")) + "\n")

    def _note(self, text: str) -> None:
        try:
            self.notes.write(text)  # type: ignore[union-attr]
            self.notes.flush()  # type: ignore[union-attr]
        except (OSError, ValueError):  # stderr closed: the tool line has nowhere to go, the answer goes on
            pass

    def end(self) -> None:
        """Finish the answer's line (after done, an error event, a broken stream or an interruption)."""
        if self.open_line:
            self.output.write("\n")
            self.open_line = False


class JsonEvents:
    """One line per event: {"event": <name>, "data": <the event's data exactly as received>}.

    Keep-alive comments are not events and are left out; events this client does not know yet are
    printed like the others, and fields it does not know (such as `done`'s usage) pass through.
    """

    def __init__(self, output: Output) -> None:
        self.output = output

    def event(self, event: Event) -> None:
        if event.name == "keep-alive":
            return
        # json.dumps escapes newlines (and non-ASCII), so each event is exactly one line in any encoding.
        self.output.write(json.dumps({"event": event.name, "data": event.data}) + "\n")

    def end(self) -> None:
        pass
