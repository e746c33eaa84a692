"""Turn what pulumi_policy hands over into policy.Resource (the test harness's recordings are turned
by tests/support/policy_runs.py)."""

from __future__ import annotations

from typing import Any

from policy.resources import UNKNOWN, Resource


def plain(value: Any) -> Any:
    """A pulumi_policy property tree as plain dicts and lists, unknowns replaced by UNKNOWN.

    pulumi_policy wraps properties in proxies that raise on an unknown value; rules should see the
    unknown and decide, not abort the whole policy, so the wrappers are unpacked here.
    """
    # Imported here so the rules and the tests of other adapters do not need pulumi_policy.
    from pulumi_policy.proxy import _is_unknown  # the same test the proxies themselves use

    if _is_unknown(value):
        return UNKNOWN
    if hasattr(value, "keys") and hasattr(value, "__getitem__"):
        target = value["__target"] if _is_proxy(value) else value
        return {key: plain(item) for key, item in target.items()}
    if _is_proxy(value):
        return [plain(item) for item in value["__target"]]
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def _is_proxy(value: Any) -> bool:
    return type(value).__name__ in ("_DictProxy", "_ListProxy")


def from_policy_resource(resource: Any) -> Resource:
    """A pulumi_policy.PolicyResource (stack validation) as a rule input."""
    return Resource(
        type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        inputs=plain(resource.props),
        depends_on=tuple(dependency.urn for dependency in resource.dependencies),
    )
