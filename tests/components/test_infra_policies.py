"""IAM documents, checked as plain dicts without Pulumi."""

from __future__ import annotations

import pytest

from components import policies

RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/agent_x-AbC123"


def actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_proxy_may_only_invoke_its_runtime_and_its_endpoints() -> None:
    document = policies.proxy_invoke_policy(RUNTIME_ARN)
    [statement] = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert actions(statement) == ["bedrock-agentcore:InvokeAgentRuntime"]
    assert statement["Resource"] == [RUNTIME_ARN, f"{RUNTIME_ARN}/runtime-endpoint/*"]


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        (
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            [
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0",
                "arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
            ],
        ),
        (
            "amazon.nova-lite-v1:0",
            ["arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"],
        ),
    ],
)
def test_model_grant_names_only_the_configured_model(model_id: str, expected: list[str]) -> None:
    assert policies.model_resource_arns(model_id, "aws", "us-east-1", "123456789012") == expected


def test_runtime_role_statements_are_scoped_as_documented() -> None:
    document = policies.agent_runtime_policy(
        partition="aws", region="us-east-1", account_id="123456789012", runtime_name="agent_x",
        model_id="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        code_bucket_arn="arn:aws:s3:::code-bucket",
    )
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert by_sid["RuntimeLogStreams"]["Resource"].endswith(":log-group:/aws/bedrock-agentcore/runtimes/*:log-stream:*")
    assert by_sid["Metrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}}
    assert by_sid["WorkloadIdentity"]["Resource"][1].endswith("workload-identity-directory/default/workload-identity/agent_x-*")
    assert actions(by_sid["InvokeConfiguredModel"]) == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert "*" not in by_sid["InvokeConfiguredModel"]["Resource"]
    assert by_sid["ReadAgentCode"]["Resource"] == "arn:aws:s3:::code-bucket/agent/*"
    # Only actions AWS offers no resource scoping for may use "*".
    for statement in document["Statement"]:
        if statement["Resource"] == "*":
            assert all(a.startswith(("xray:", "cloudwatch:PutMetricData")) for a in actions(statement)), statement
    assert not any(a.endswith(":*") or a == "*" for s in document["Statement"] for a in actions(s))


def test_container_runtime_role_may_pull_only_its_repository() -> None:
    repository = "arn:aws:ecr:us-east-1:123456789012:repository/agent"
    document = policies.agent_runtime_policy(
        partition="aws", region="us-east-1", account_id="123456789012", runtime_name="agent_x",
        model_id="amazon.nova-lite-v1:0", image_repository_arn=repository,
    )
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert by_sid["PullAgentImage"]["Resource"] == repository
    assert "ReadAgentCode" not in by_sid


def test_agentcore_trust_is_limited_to_this_account() -> None:
    [statement] = policies.agentcore_assume_role_policy("aws", "us-east-1", "123456789012")["Statement"]
    assert statement["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:bedrock-agentcore:us-east-1:123456789012:*"}


def test_private_api_policy_denies_every_other_vpc_endpoint() -> None:
    api = "arn:aws:execute-api:us-east-1:123456789012:abc123/*"
    allow, deny = policies.private_api_policy(api, "vpce-1")["Statement"]
    assert allow["Effect"] == "Allow" and allow["Resource"] == api
    assert deny["Effect"] == "Deny" and deny["Resource"] == api
    assert deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}


def test_bucket_policy_refuses_plain_http() -> None:
    [statement] = policies.tls_only_bucket_policy("arn:aws:s3:::b")["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
