"""A REGIONAL WAF web ACL in front of the API stage: AWS managed rules, a per-IP rate limit, logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

# (rule group, why). Evaluated in this order, before the rate limit.
MANAGED_RULE_GROUPS: tuple[tuple[str, str], ...] = (
    ("AWSManagedRulesAmazonIpReputationList", "drop known bots and scanners first, cheaply"),
    ("AWSManagedRulesCommonRuleSet", "OWASP-style common exploits"),
    ("AWSManagedRulesKnownBadInputsRuleSet", "payloads such as Log4Shell probes"),
)
# The common rule set's SizeRestrictions_BODY blocks every body over 8 KB (8,192 bytes), but a
# valid prompt of maxPromptChars (8,000) characters can take far more once JSON-encoded (quotes,
# newlines and control characters become escapes; non-ASCII text is 2-4 bytes a character, or a
# 6-12 byte \u escape). The proxy enforces its own documented limits (PROMPT_TOO_LONG,
# PAYLOAD_TOO_LARGE), so this one rule only counts.
WAF_SIZE_RESTRICTION_BODY_BYTES = 8 * 1024
RULES_SET_TO_COUNT: dict[str, tuple[str, ...]] = {
    "AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",),
}
# Headers that carry credentials; WAF logs them otherwise.
REDACTED_HEADERS: tuple[str, ...] = ("authorization", "x-api-key", "x-amz-security-token")


def _visibility(metric_name: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric_name, "sampled_requests_enabled": True}


def _managed_group_statement(group: str) -> dict[str, Any]:
    statement: dict[str, Any] = {"vendor_name": "AWS", "name": group}
    counted = RULES_SET_TO_COUNT.get(group, ())
    if counted:
        statement["rule_action_overrides"] = [
            {"name": rule, "action_to_use": {"count": {}}} for rule in counted
        ]
    return {"managed_rule_group_statement": statement}


def web_acl_rules(rate_limit: int) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {
            "name": group,
            "priority": priority,
            "override_action": {"none": {}},  # keep each group's own block actions (but see RULES_SET_TO_COUNT)
            "statement": _managed_group_statement(group),
            "visibility_config": _visibility(group),
        }
        for priority, (group, _why) in enumerate(MANAGED_RULE_GROUPS)
    ]
    rules.append({
        "name": "RateLimitPerIp",
        "priority": len(rules),
        "action": {"block": {}},
        # Requests per source IP over WAF's 5-minute window.
        "statement": {"rate_based_statement": {"limit": rate_limit, "aggregate_key_type": "IP"}},
        "visibility_config": _visibility("RateLimitPerIp"),
    })
    return rules


@dataclass
class WafArgs:
    # Physical name of the web ACL; the log group becomes aws-waf-logs-<name> (WAF requires it).
    web_acl_name: str
    # The API stage to protect (a REGIONAL resource).
    stage_arn: pulumi.Input[str]
    # Requests per IP per 5 minutes before WAF blocks that IP.
    rate_limit: int
    log_retention_days: int
    protect_stateful_resources: bool


class Waf(pulumi.ComponentResource):
    web_acl_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: WafArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:waf:Waf", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protect = args.protect_stateful_resources

        web_acl = aws.wafv2.WebAcl(
            f"{name}-web-acl",
            name=args.web_acl_name,
            description="Managed rules and a per-IP rate limit for the streaming API",
            scope="REGIONAL",  # API Gateway stages take REGIONAL ACLs (CLOUDFRONT is for edge)
            default_action={"allow": {}},
            rules=web_acl_rules(args.rate_limit),
            visibility_config=_visibility(args.web_acl_name),
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-association",
            resource_arn=args.stage_arn,
            web_acl_arn=web_acl.arn,
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            # WAF requires the aws-waf-logs- prefix; a generated suffix lets a retained group
            # (protect_stateful_resources) stay behind without blocking the next deployment.
            name_prefix=f"aws-waf-logs-{args.web_acl_name}-",
            retention_in_days=args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=web_acl.arn,
            log_destination_configs=[log_group.arn],
            redacted_fields=[{"single_header": {"name": header}} for header in REDACTED_HEADERS],
            opts=child,
        )

        self.web_acl_arn = web_acl.arn
        self.log_group_name = log_group.name
        self.register_outputs({"webAclArn": self.web_acl_arn, "logGroupName": self.log_group_name})
