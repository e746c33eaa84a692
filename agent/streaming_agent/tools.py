"""The agent's tools: the one place to add yours (README, "Make it yours").

A tool is a typed Python function decorated with Strands' `@tool`: its docstring is the description
the model reads, its typed arguments become the input schema. What it returns goes back to the
model. An exception it raises goes back to the model as a tool error (Strands turns it into a
`toolResult` with status "error" and the text "Error: ..."), the stream says `failed`, and the turn
goes on: raise with a message the model can act on.

Every function in TOOLS is offered to the model on every turn. These two need no AWS and no network.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from strands import tool


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    # The IANA names this system knows; anything else (a path, "localtime", a typo) is refused.
    return frozenset(available_timezones())


@tool
def current_time(timezone: str = "UTC") -> str:
    """The current date and time in a time zone, as ISO 8601 with its UTC offset.

    Args:
        timezone: An IANA time zone name, such as "UTC", "Europe/Paris" or "Asia/Tokyo".
    """
    zones = _time_zones()
    if not zones:
        # zoneinfo reads the system's database, else the tzdata package the agent ships (requirements.txt).
        raise RuntimeError("this system has no IANA time zone database: install tzdata (agent/requirements.txt pins it)")
    if timezone not in zones:
        raise ValueError(f"unknown time zone {timezone!r}: use an IANA name such as 'Europe/Paris' or 'UTC'")
    return datetime.now(ZoneInfo(timezone)).isoformat(timespec="seconds")


@tool
def word_count(text: str) -> dict[str, int]:
    """Count the words (runs of non-space characters) and the characters of a text.

    Args:
        text: The text to count.
    """
    return {"words": len(text.split()), "characters": len(text)}


TOOLS = [current_time, word_count]
