"""What a rule sees: one resource as the test harness records it and as Pulumi's policy engine
hands it over (type token, logical name, URN, properties, dependencies)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


class Unknown:
    """A value Pulumi cannot know during a preview (e.g. an ARN computed on create)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    # URNs of the resources this one depends on (explicitly or through its inputs).
    depends_on: tuple[str, ...] = field(default_factory=tuple)

    def get(self, *path: str | int, default: Any = None) -> Any:
        """inputs[path[0]][path[1]]..., or default when a step is missing or unknown."""
        value: Any = self.inputs
        for step in path:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                return default
            if value is UNKNOWN:
                return default
        return value


@dataclass(frozen=True)
class Finding:
    rule_id: str
    resource_name: str
    message: str
    # What exactly offends (e.g. the wildcard action or resource), for suppressions' applies_to.
    detail: str = ""
