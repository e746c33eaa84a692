"""The offline model's test directives: [[NAME:VALUE]], [[FLAG]] and [[tool:NAME {json}]] in a prompt.

One home for the grammar (model.py says what each directive makes the offline model do), read by
the offline model and by the bench's fake upstream (bench/fake_upstream.py), which understands some
of the same directives and adds its own in the same syntax. Standard library and streaming_shared
only (a tool's name follows Bedrock's grammar, streaming_shared.agent_config.TOOL_NAME), so the fake
starts without Strands.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streaming_shared.agent_config import TOOL_NAME

DEFAULT_PIECE_SIZE = 1024


def valued_directives(names: Iterable[str]) -> re.Pattern[str]:
    """The [[NAME:VALUE]] syntax for these names: group 1 is the name, group 2 the value as written."""
    return re.compile(r"\[\[(" + "|".join(map(re.escape, names)) + r"):([^\[\]]*)\]\]")


_VALUED = ("pause", "pieces", "bytes", "piece-size", "delay-ms", "fail-after", "guardrail")
_FLAGS = ("markdown", "narrate")
# [[NAME:VALUE]] (groups 1 and 2) or [[FLAG]] (group 3).
_DIRECTIVE = re.compile(valued_directives(_VALUED).pattern + r"|\[\[(" + "|".join(_FLAGS) + r")\]\]")
# [[tool:NAME]] or [[tool:NAME {json}]]; the JSON runs to the first "}" followed by "]]".
_TOOL_DIRECTIVE = re.compile(r"\[\[tool:([^\s\[\]{}]*)\s*(\{.*?\})?\s*\]\]", re.DOTALL)
GUARDRAIL_SIMULATIONS = ("input", "output", "mask")


@dataclass(frozen=True)
class Directives:
    pause_seconds: float = 0.0
    pieces: int | None = None
    total_bytes: int | None = None
    piece_size: int = DEFAULT_PIECE_SIZE
    delay_ms: int | None = None
    fail_after: int | None = None
    markdown: bool = False
    # "input", "output" or "mask": simulate a guardrail intervention (model.py's docstring).
    guardrail: str | None = None
    # [[tool:NAME {input}]]: the tools to ask for, in order, as (name, input).
    tools: tuple[tuple[str, dict[str, Any]], ...] = ()
    narrate: bool = False


# Directives drive tests and benchmarks; the cap keeps a typo from exhausting memory.
MAX_DIRECTIVE_VALUE = 100_000_000


def non_negative_int(name: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"directive [[{name}:N]] needs a whole number, got {raw!r}") from None
    if not 0 <= value <= MAX_DIRECTIVE_VALUE:
        raise ValueError(f"directive [[{name}:N]] must be from 0 to {MAX_DIRECTIVE_VALUE}, got {value}")
    return value


def parse_directives(prompt: str) -> tuple[Directives, str]:
    """Return the directives in the prompt and the prompt without them (whitespace collapsed)."""
    values: dict[str, Any] = {}
    for match in _DIRECTIVE.finditer(prompt):
        name, raw = match.group(1), match.group(2)
        if match.group(3) in ("markdown", "narrate"):
            values[match.group(3)] = True
        elif name == "pause":
            try:
                seconds = float(raw.strip())
            except ValueError:
                raise ValueError(f"directive [[pause:SECONDS]] needs a number, got {raw!r}") from None
            if not 0 <= seconds < 3600:  # also rejects nan and inf
                raise ValueError(f"directive [[pause:SECONDS]] must be from 0 to 3600, got {raw!r}")
            values["pause_seconds"] = seconds
        elif name == "guardrail":
            if raw.strip() not in GUARDRAIL_SIMULATIONS:
                raise ValueError(f"directive [[guardrail:...]] must be one of {', '.join(GUARDRAIL_SIMULATIONS)}, got {raw!r}")
            values["guardrail"] = raw.strip()
        else:
            field = {"bytes": "total_bytes", "piece-size": "piece_size", "delay-ms": "delay_ms",
                     "fail-after": "fail_after"}.get(name, name)
            values[field] = non_negative_int(name, raw)
    directives = Directives(**values, tools=parse_tool_directives(prompt))
    replies = [name for name, chosen in (("[[pieces:N]]", directives.pieces is not None),
                                         ("[[bytes:N]]", directives.total_bytes is not None),
                                         ("[[markdown]]", directives.markdown)) if chosen]
    if len(replies) > 1:
        raise ValueError(f"directives {' and '.join(replies)} cannot be combined")
    if directives.piece_size < 1:
        raise ValueError("directive [[piece-size:K]] must be at least 1")
    return directives, without_directives(prompt)


def parse_tool_directives(prompt: str) -> tuple[tuple[str, dict[str, Any]], ...]:
    tools = []
    for match in _TOOL_DIRECTIVE.finditer(prompt):
        name, raw_input = match.group(1), match.group(2)
        if not TOOL_NAME.fullmatch(name):
            raise ValueError(f"directive [[tool:NAME]] needs a tool name of 1 to 64 letters, digits, '_' or '-', got {name!r}")
        try:
            tool_input = json.loads(raw_input) if raw_input else {}
        except ValueError:
            raise ValueError(f"directive [[tool:{name} {{json}}]] needs a JSON object as its input, got {raw_input!r}") from None
        if not isinstance(tool_input, dict):
            raise ValueError(f"directive [[tool:{name} {{json}}]] needs a JSON object as its input, got {raw_input!r}")
        tools.append((name, tool_input))
    left = _TOOL_DIRECTIVE.sub(" ", prompt)
    if "[[tool:" in left:
        raise ValueError("directive [[tool:NAME]] or [[tool:NAME {json}]] needs a tool name of 1 to 64 letters, "
                         f"digits, '_' or '-', then optionally a JSON object; got {left[left.index('[[tool:'):][:80]!r}")
    return tuple(tools)


def without_directives(prompt: str) -> str:
    return " ".join(_DIRECTIVE.sub(" ", _TOOL_DIRECTIVE.sub(" ", prompt)).split())


def asked_guardrail(prompt: str) -> str | None:
    """The prompt's [[guardrail:...]] simulation, read leniently: an earlier turn's bad directive already failed."""
    asked = [match.group(2).strip() for match in _DIRECTIVE.finditer(prompt) if match.group(1) == "guardrail"]
    valid = [value for value in asked if value in GUARDRAIL_SIMULATIONS]
    return valid[-1] if valid else None
