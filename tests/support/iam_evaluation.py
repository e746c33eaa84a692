"""A small, pure model of how API Gateway decides a same-account IAM-authenticated call.

Written from AWS's documents, not from our code:
- API Gateway, "How API Gateway resource policies affect authorization workflow" (IAM
  authentication and resource policy; policy evaluation outcome table): for a caller in the API's
  own account, the call is allowed when the resource policy OR the caller's identity policy
  allows it, and denied when either explicitly denies it.
- IAM, "AWS JSON policy elements: Principal": an account principal (arn:...:iam::<account>:root
  or the account id) delegates to the account; an identity there still needs an identity policy
  that grants the action. It does not name any one role or user.
- API Gateway, "Use VPC endpoint policies for private APIs in API Gateway" (examples 4 and 5) and
  the Service Authorization Reference for execute-api: a call through a private custom domain name
  must be allowed on the domain name's own ARN (arn:...:execute-api:<region>:<account>:/domainnames/
  <name>+<id>) and on the mapped API's ARN, where the `execute-api:viaDomainArn` condition key holds
  the domain's ARN (example 4 admits both checks with that condition alone, so the key is in the
  context of the whole call); the domain name's `policy` admits the call first.
Only what the stack's policies use is modelled: Allow/Deny, Principal "*" / {"AWS": ...}, Action
and Resource with * wildcards, String(Not)Equals and ArnEquals/ArnLike conditions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Mapping, Sequence

Policy = Mapping[str, Any]


@dataclass(frozen=True)
class Request:
    principal_arn: str  # e.g. arn:aws:iam::123456789012:role/reader
    account_id: str
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)  # e.g. {"aws:SourceVpce": "vpce-1"}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _principal_is_named(principal: Any, request: Request) -> bool:
    """Does a resource policy's Principal name this caller itself (not merely its account)?"""
    if principal == "*":
        return True
    for arn in _as_list(principal.get("AWS", [])) if isinstance(principal, Mapping) else []:
        if arn == "*" or arn == request.principal_arn:
            return True
        # The account principal names the account; only the root user *is* the account.
        if arn in (request.account_id, f"arn:aws:iam::{request.account_id}:root"):
            if request.principal_arn == f"arn:aws:iam::{request.account_id}:root":
                return True
    return False


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            actual = request.context.get(key)
            if operator in ("StringEquals", "StringNotEquals", "ArnEquals"):
                matches = actual is not None and actual in _as_list(expected)
            elif operator == "ArnLike":
                matches = actual is not None and any(fnmatchcase(actual, pattern) for pattern in _as_list(expected))
            else:
                raise NotImplementedError(operator)
            # A key absent from the request never satisfies a positive operator.
            if matches == (operator == "StringNotEquals"):
                return False
    return True


def _applies(statement: Mapping[str, Any], request: Request, *, resource_policy: bool) -> bool:
    if resource_policy and not _principal_is_named(statement.get("Principal"), request):
        return False
    if not any(fnmatchcase(request.action, a) for a in _as_list(statement.get("Action", []))):
        return False
    if not any(fnmatchcase(request.resource, r) for r in _as_list(statement.get("Resource", []))):
        return False
    return _conditions_hold(statement.get("Condition", {}), request)


def _effects(policy: Policy, request: Request, *, resource_policy: bool) -> set[str]:
    return {s["Effect"] for s in policy["Statement"] if _applies(s, request, resource_policy=resource_policy)}


def same_account_api_call_allowed(
    resource_policy: Policy, identity_policies: Sequence[Policy], request: Request
) -> bool:
    """API Gateway's decision for an IAM-authenticated caller in the API's own account."""
    resource_effects = _effects(resource_policy, request, resource_policy=True)
    identity_effects: set[str] = set()
    for policy in identity_policies:
        identity_effects |= _effects(policy, request, resource_policy=False)
    if "Deny" in resource_effects or "Deny" in identity_effects:
        return False
    return "Allow" in resource_effects or "Allow" in identity_effects


def vpc_endpoint_allows(endpoint_policy: Policy, request: Request) -> bool:
    """An interface endpoint's policy, evaluated before API Gateway's own decision.

    API Gateway, "Use VPC endpoint policies for private APIs": a caller without a SigV4 signature
    (API key, bearer token) is evaluated as an anonymous principal, so only Principal "*" matches it.
    """
    effects = _effects(endpoint_policy, request, resource_policy=True)
    return "Allow" in effects and "Deny" not in effects


@dataclass(frozen=True)
class DomainCall:
    """An invocation of a private API through its private custom domain name, from a VPC endpoint."""

    principal_arn: str
    account_id: str
    domain_arn: str  # arn:aws:execute-api:<region>:<account>:/domainnames/<name>+<id>
    api_resource: str  # arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>
    source_vpce: str

    def on_domain(self) -> Request:
        # The condition key travels with the whole call: example 4 admits the domain itself through it.
        return Request(self.principal_arn, self.account_id, "execute-api:Invoke", self.domain_arn,
                       {"aws:SourceVpce": self.source_vpce, "execute-api:viaDomainArn": self.domain_arn})

    def on_api(self) -> Request:
        return Request(self.principal_arn, self.account_id, "execute-api:Invoke", self.api_resource,
                       {"aws:SourceVpce": self.source_vpce, "execute-api:viaDomainArn": self.domain_arn})


def _expand_shorthand(policy: Policy, owner_arn: str) -> Policy:
    """A resource policy may name its own resource as `execute-api:/<path>` (the private domain
    tutorial's `execute-api:/*`): that is the owner's ARN followed by the path, `*` covering the
    owner itself too."""
    def expand(resource: str) -> list[str]:
        if not resource.startswith("execute-api:/"):
            return [resource]
        path = resource[len("execute-api:"):]
        return [owner_arn, f"{owner_arn}{path}"] if path == "/*" else [f"{owner_arn}{path}"]

    statements = [
        {**s, "Resource": [full for r in _as_list(s.get("Resource", [])) for full in expand(r)]}
        for s in policy["Statement"]
    ]
    return {**policy, "Statement": statements}


def private_domain_call_allowed(
    endpoint_policy: Policy, domain_policy: Policy, api_policy: Policy,
    identity_policies: Sequence[Policy], call: DomainCall,
) -> bool:
    """Every check a call through a private custom domain name passes: the endpoint's policy for
    the domain and for the mapped API, the domain name's own policy, then the API's decision."""
    return (
        vpc_endpoint_allows(endpoint_policy, call.on_domain())
        and vpc_endpoint_allows(endpoint_policy, call.on_api())
        and same_account_api_call_allowed(_expand_shorthand(domain_policy, call.domain_arn), identity_policies,
                                          call.on_domain())
        and same_account_api_call_allowed(api_policy, identity_policies, call.on_api())
    )
