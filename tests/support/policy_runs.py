"""The policy pack's rules over what the infra harness records of a program run.

Test-only: the pack itself runs each rule as a pulumi_policy stack validation over what the engine
hands over (policy/pack.py, policy/adapters.py). Here every rule runs at once, with the pack's
suppressions, over the harness's recording: the same resource (type token, name, URN, inputs,
dependencies) the pack sees.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from policy.resources import Finding, Resource
from policy.rules import RULES, Report, run_rule
from policy.suppressions import SUPPRESSIONS, Suppression


class RecordedLike(Protocol):
    """The fields tests/support/infra_harness.RecordedResource has."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    depends_on: list[str]


def from_recorded_run(resources: Sequence[RecordedLike]) -> list[Resource]:
    return [Resource(type=recorded.type, name=recorded.name, urn=recorded.urn, inputs=recorded.inputs,
                     depends_on=tuple(recorded.depends_on)) for recorded in resources]


def evaluate(resources: Sequence[Resource], suppressions: Sequence[Suppression] = SUPPRESSIONS) -> Report:
    """Every rule over the stack's resources, with the suppressions what the stack does allows."""
    findings: list[Finding] = []
    suppressed: list[tuple[Finding, Suppression]] = []
    for check in RULES:
        report = run_rule(check, resources, suppressions)
        findings += report.findings
        suppressed += report.suppressed
    return Report(findings, suppressed)
