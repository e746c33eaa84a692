"""The rules as pulumi_policy stack validations (policy/__main__.py serves them to the engine)."""

from __future__ import annotations

from typing import Callable

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy

from policy.adapters import from_policy_resource
from policy.rules import RULES, Rule, run_rule

PACK_NAME = "agentcore-streaming-guardrails"


def validation_for(check: Rule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [from_policy_resource(r) for r in args.resources]
        urns = {r.name: r.urn for r in resources}
        for finding in run_rule(check, resources).findings:
            report_violation(f"{finding.resource_name}: {finding.message}", urns.get(finding.resource_name))
    return validate


def build_policies() -> list[StackValidationPolicy]:
    # Mandatory unless the rule is advisory: an unsuppressed finding fails the preview.
    # Exceptions live in policy/suppressions.py.
    return [
        StackValidationPolicy(
            name=check.id.lower(),
            description=check.description,
            validate=validation_for(check),
            enforcement_level=EnforcementLevel.ADVISORY if check.advisory else EnforcementLevel.MANDATORY,
        )
        for check in RULES
    ]
