"""What a stack does, read from its resources: the facts a suppression may depend on.

The policy engine hands over the stack's resources, not its configuration, so a property is what
the resources show. Never the stack's name: a stack called "dev" may serve real users, and one
called "staging" may be a throwaway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from policy.resources import Resource
from streaming_shared.edge import PREFLIGHT_METHOD

METHOD = "aws:apigateway/method:Method"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"
# A browser's CORS preflight never carries credentials, so that route is open in every stack.


@dataclass(frozen=True)
class StackProperties:
    # Every route but the CORS preflight requires an API key.
    api_key_required: bool
    # A usage plan with a quota (and its throttle) limits each key.
    key_quota_limited: bool

    @classmethod
    def of(cls, resources: Sequence[Resource]) -> StackProperties:
        routes = [r for r in resources if r.type == METHOD and r.get("httpMethod") != PREFLIGHT_METHOD]
        plans = [r for r in resources if r.type == USAGE_PLAN]
        return cls(
            api_key_required=bool(routes) and all(r.get("apiKeyRequired") is True for r in routes),
            key_quota_limited=any(_positive(p.get("quotaSettings", "limit")) for p in plans),
        )


def _positive(value: object) -> bool:
    # Numbers arrive as floats (protobuf's Struct has no integers). Unknown during a preview reads
    # as None here: no property is assumed that the resources do not show.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True)
class Condition:
    """When a suppression applies, in words (for the report) and as a test of the properties."""

    description: str
    holds: Callable[[StackProperties], bool]


EVERY_STACK = Condition("every stack", lambda properties: True)
KEYED_AND_QUOTA_LIMITED = Condition(
    "callers need an API key, and a usage plan's quota and throttle limit each key",
    lambda properties: properties.api_key_required and properties.key_quota_limited,
)
