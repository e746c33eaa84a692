"""Every accepted exception to a rule, in one place, each with the reason it is acceptable.

A suppression matches a finding when rule id, resource name, stack and (if given) the finding's
detail all match; names use shell-style wildcards. tests/infra/test_policy_pack.py fails on a
suppression that matches nothing, so stale exceptions do not pile up.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from policy.resources import Finding


@dataclass(frozen=True)
class Suppression:
    rule_id: str
    # Logical resource name pattern, e.g. "agent-role-policy".
    resource: str
    # Stack name pattern: "*" for every stack, "dev" for the throwaway stack only.
    stack: str
    reason: str
    # Pattern over Finding.detail (the offending action or resource); "*" for any.
    applies_to: str = "*"

    def matches(self, finding: Finding, stack: str) -> bool:
        return (
            self.rule_id == finding.rule_id
            and fnmatchcase(finding.resource_name, self.resource)
            and fnmatchcase(stack, self.stack)
            and fnmatchcase(finding.detail, self.applies_to)
        )


SUPPRESSIONS: tuple[Suppression, ...] = (
    # --- IAM5: wildcards that are scoped as far as the service allows -------------------------
    Suppression(
        "IAM5", "proxy-invoke-policy", "*",
        "Endpoints of this one runtime (DEFAULT and any qualifier the proxy may be pointed at); "
        "the runtime ARN itself is fixed.",
        applies_to="Resource:arn:*:bedrock-agentcore:*:runtime/*/runtime-endpoint/*",
    ),
    Suppression(
        "IAM5", "proxy-logs-policy", "*",
        "Log streams of the function's own log group; Lambda names streams at run time.",
        applies_to="Resource:arn:*:logs:*:log-group:/aws/lambda/*:log-stream:*",
    ),
    Suppression(
        "IAM5", "agent-role-policy", "*",
        "AgentCore names the runtime's log groups and streams after the runtime id it assigns; "
        "the pattern is the one AgentCore's runtime-permissions page documents.",
        applies_to="Resource:arn:*:logs:*:log-group:/aws/bedrock-agentcore/runtimes/*",
    ),
    Suppression(
        "IAM5", "agent-role-policy", "*",
        "logs:DescribeLogGroups lists groups and supports no narrower resource than the account's groups.",
        applies_to="Resource:arn:*:logs:*:log-group:[*]",
    ),
    Suppression(
        "IAM5", "agent-role-policy", "*",
        "Workload identities of this runtime only (AgentCore appends the runtime id to the name).",
        applies_to="Resource:arn:*:bedrock-agentcore:*:workload-identity-directory/default/workload-identity/*-[*]",
    ),
    Suppression(
        "IAM5", "agent-role-policy", "*",
        "A cross-region inference profile routes to the configured model in any of its regions; the "
        "model itself is fixed.",
        applies_to="Resource:arn:*:bedrock:[*]::foundation-model/*",
    ),
    Suppression(
        "IAM5", "agent-role-policy", "*",
        "Code zips under agent/ in the stack's own code bucket; each build has a new content-addressed "
        "key, and AgentCore may still read the previous one while a new version rolls out.",
        applies_to="Resource:arn:*:s3:::*/agent/[*]",
    ),
    Suppression(
        "IAM5", "api-cloudwatch-role-policy", "*",
        "API Gateway's account-level logging role writes execution logs of every API in the account "
        "and region (API-Gateway-Execution-Logs_<api id>/<stage>); this is AWS's documented grant, "
        "held to one account and region instead of the managed policy.",
        applies_to="Resource:arn:*:logs:*:[*]",
    ),
    # --- dev only: the throwaway stack trades protection for cost ---------------------------
    Suppression(
        "APIG3", "api-stage", "dev",
        "dev is a personal stack behind an API key with a small quota and stage throttling; a web ACL "
        "costs more per month than the stack itself. prod attaches one.",
    ),
    Suppression(
        "APIG4", "api-invoke-method", "dev",
        "dev authenticates callers with an API key and a usage plan (apiKey mode), which cdk-nag does not "
        "count as authorization; production stacks must use iam or cognito.",
    ),
)
