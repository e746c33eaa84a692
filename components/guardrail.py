"""Bedrock guardrail: the component that creates one, from the `guardrail` setting as
stack_config/guardrail.py parses it (NewGuardrail).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from stack_config.guardrail import NewGuardrail


@dataclass(frozen=True)
class AppliedGuardrail:
    """A guardrail as the agent runtime uses it: id and version for the model, the ARN for the grant."""

    id: pulumi.Input[str]
    version: pulumi.Input[str]
    arn: pulumi.Input[str]


@dataclass
class GuardrailArgs:
    # Physical name of the guardrail (1-50 of letters, digits, '-' and '_').
    guardrail_name: str
    # What it checks and what Bedrock answers instead of blocked content.
    policies: NewGuardrail
    # Keep old versions when a change publishes a new one (prod: an audit trail of what applied).
    keep_old_versions: bool


class BedrockGuardrail(pulumi.ComponentResource):
    """A Bedrock guardrail and a numbered version of it; a change to the policies publishes a new version."""

    guardrail_id: pulumi.Output[str]
    guardrail_arn: pulumi.Output[str]
    version: pulumi.Output[str]
    applied: AppliedGuardrail

    def __init__(self, name: str, args: GuardrailArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:guardrail:BedrockGuardrail", name, None, opts)
        policies = args.policies
        guardrail = aws.bedrock.Guardrail(
            f"{name}-guardrail",
            name=args.guardrail_name,
            description="Content guardrail of the streaming agent (input and output)",
            blocked_input_messaging=policies.blocked_input_message,
            blocked_outputs_messaging=policies.blocked_output_message,
            content_policy_config=aws.bedrock.GuardrailContentPolicyConfigArgs(
                filters_configs=[aws.bedrock.GuardrailContentPolicyConfigFiltersConfigArgs(
                    type=f.type, input_strength=f.input_strength, output_strength=f.output_strength,
                ) for f in policies.content_filters],
            ) if policies.content_filters else None,
            topic_policy_config=aws.bedrock.GuardrailTopicPolicyConfigArgs(
                topics_configs=[aws.bedrock.GuardrailTopicPolicyConfigTopicsConfigArgs(
                    name=t.name, definition=t.definition, examples=list(t.examples), type="DENY",
                ) for t in policies.denied_topics],
            ) if policies.denied_topics else None,
            sensitive_information_policy_config=aws.bedrock.GuardrailSensitiveInformationPolicyConfigArgs(
                pii_entities_configs=[aws.bedrock.GuardrailSensitiveInformationPolicyConfigPiiEntitiesConfigArgs(
                    type=p.type, action=p.action,
                ) for p in policies.pii_entities],
            ) if policies.pii_entities else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # A version is a frozen copy of the guardrail as it was when published. The description
        # carries the policies' fingerprint so that a changed policy replaces the version resource,
        # which publishes a new number for the agent; the guardrail itself updates in place.
        version = aws.bedrock.GuardrailVersion(
            f"{name}-version",
            guardrail_arn=guardrail.guardrail_arn,
            description=f"Published by Pulumi, policies {policies.fingerprint()}",
            skip_destroy=args.keep_old_versions,
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["description"],
                                        delete_before_replace=False),
        )
        self.guardrail_id = guardrail.guardrail_id
        self.guardrail_arn = guardrail.guardrail_arn
        self.version = version.version
        self.applied = AppliedGuardrail(id=self.guardrail_id, version=self.version, arn=self.guardrail_arn)
        self.register_outputs({"guardrailId": self.guardrail_id, "guardrailArn": self.guardrail_arn,
                               "version": self.version})
