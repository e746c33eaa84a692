"""The policy pack's rule input (policy.Resource) from what the infra harness records of a program run.

Test-only: the pack itself runs on what pulumi_policy hands over (policy/adapters.py). Recording
and pack see the same resource: its type token, name, URN, inputs and dependencies.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from policy.resources import Resource


class RecordedLike(Protocol):
    """The fields tests/infra/infra_harness.RecordedResource has."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    depends_on: list[str]


def from_recorded_run(resources: Sequence[RecordedLike]) -> list[Resource]:
    return [Resource(type=recorded.type, name=recorded.name, urn=recorded.urn, inputs=recorded.inputs,
                     depends_on=tuple(recorded.depends_on)) for recorded in resources]
