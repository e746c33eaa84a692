"""Every accepted exception to a rule, in one place, each with the reason it is acceptable.

A suppression matches a finding when rule id, resource name and (if given) the finding's detail
match, and its condition holds for what the stack does (policy/properties.py); names use
shell-style wildcards. tests/policy/test_policy_pack.py fails on a suppression that matches
nothing, so stale exceptions do not pile up.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from policy.properties import EVERY_STACK, KEYED_AND_QUOTA_LIMITED, Condition, StackProperties
from policy.resources import Finding


@dataclass(frozen=True)
class Suppression:
    rule_id: str
    # Logical resource name pattern, e.g. "agent-role-policy".
    resource: str
    # Which stacks may use it, by what they do (EVERY_STACK, or a narrower condition).
    when: Condition
    reason: str
    # Pattern over Finding.detail (the offending action or resource); "*" for any.
    applies_to: str = "*"

    def matches(self, finding: Finding, properties: StackProperties) -> bool:
        return (
            self.rule_id == finding.rule_id
            and fnmatchcase(finding.resource_name, self.resource)
            and fnmatchcase(finding.detail, self.applies_to)
            and self.when.holds(properties)
        )


SUPPRESSIONS: tuple[Suppression, ...] = (
    # --- IAM5: wildcards that are scoped as far as the service allows -------------------------
    Suppression(
        "IAM5", "proxy-invoke-policy", EVERY_STACK,
        "Endpoints of this one runtime (DEFAULT and any qualifier the proxy may be pointed at); "
        "the runtime ARN itself is fixed.",
        applies_to="Resource:arn:*:bedrock-agentcore:*:runtime/*/runtime-endpoint/*",
    ),
    Suppression(
        "IAM5", "proxy-logs-policy", EVERY_STACK,
        "Log streams of the function's own log group; Lambda names streams at run time.",
        applies_to="Resource:arn:*:logs:*:log-group:/aws/lambda/*:log-stream:*",
    ),
    Suppression(
        "IAM5", "agent-role-policy", EVERY_STACK,
        "AgentCore names the runtime's log groups and streams after the runtime id it assigns; "
        "the pattern is the one AgentCore's runtime-permissions page documents.",
        applies_to="Resource:arn:*:logs:*:log-group:/aws/bedrock-agentcore/runtimes/*",
    ),
    Suppression(
        "IAM5", "agent-role-policy", EVERY_STACK,
        "logs:DescribeLogGroups lists groups and supports no narrower resource than the account's groups.",
        applies_to="Resource:arn:*:logs:*:log-group:[*]",
    ),
    Suppression(
        "IAM5", "agent-role-policy", EVERY_STACK,
        "Workload identities of this runtime only (AgentCore appends the runtime id to the name).",
        applies_to="Resource:arn:*:bedrock-agentcore:*:workload-identity-directory/default/workload-identity/*-[*]",
    ),
    Suppression(
        "IAM5", "agent-role-policy", EVERY_STACK,
        "A cross-region inference profile routes to the configured model in any of its regions; the "
        "model itself is fixed.",
        applies_to="Resource:arn:*:bedrock:[*]::foundation-model/*",
    ),
    Suppression(
        "IAM5", "agent-role-policy", EVERY_STACK,
        "Code zips under agent/ in the stack's own code bucket; each build has a new content-addressed "
        "key, and AgentCore may still read the previous one while a new version rolls out.",
        applies_to="Resource:arn:*:s3:::*/agent/[*]",
    ),
    Suppression(
        "IAM5", "api-cloudwatch-role-policy", EVERY_STACK,
        "API Gateway's account-level logging role writes execution logs of every API in the account "
        "and region (API-Gateway-Execution-Logs_<api id>/<stage>); this is AWS's documented grant, "
        "held to one account and region instead of the managed policy.",
        applies_to="Resource:arn:*:logs:*:[*]",
    ),
    # --- the hosted page ----------------------------------------------------------------------
    Suppression(
        "CFR4", "page-distribution", EVERY_STACK,
        "The page is served on its *.cloudfront.net name, whose certificate CloudFront pins at the "
        "TLSv1 security policy whatever the distribution asks; only a custom domain with an ACM "
        "certificate can require TLSv1.2_2021. Browsers negotiate TLS 1.2 or 1.3 anyway, and HSTS "
        "keeps them on HTTPS.",
        applies_to="DefaultCertificate",
    ),
    # --- stacks behind an API key with a quota: they trade protection for cost --------------
    Suppression(
        "APIG3", "api-stage", KEYED_AND_QUOTA_LIMITED,
        "A stack whose callers need an API key, with a quota and throttling per key, bounds what one "
        "caller can spend; a web ACL costs more per month than such a stack itself. dev is one; prod "
        "attaches a web ACL.",
    ),
    Suppression(
        # Both routes' methods (api-invoke-method, api-stop-method): the same callers, the same key.
        "APIG4", "api-*-method", KEYED_AND_QUOTA_LIMITED,
        "apiKey mode authenticates callers with an API key in a usage plan with a quota, which cdk-nag "
        "does not count as authorization; a key without a quota is not accepted, and iam or cognito "
        "need no exception.",
    ),
)
