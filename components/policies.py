"""IAM and resource policy documents as plain dicts, so they can be unit-tested without Pulumi.

Components call these inside `Output.all(...).apply(...)` and `json.dumps` the result.
"""

from __future__ import annotations

from typing import Any, Optional

from stack_config.regions import inference_profile_prefix

PolicyDocument = dict[str, Any]

# The data-plane calls the Strands/AgentCore memory session manager makes (events are the
# conversation, memory records what long-term strategies extract from it). No control-plane action:
# the memory is created by this program, never by the agent.
MEMORY_DATA_PLANE_ACTIONS: tuple[str, ...] = (
    "bedrock-agentcore:CreateEvent",
    "bedrock-agentcore:GetEvent",
    "bedrock-agentcore:ListEvents",
    "bedrock-agentcore:DeleteEvent",
    "bedrock-agentcore:ListSessions",
    "bedrock-agentcore:RetrieveMemoryRecords",
    "bedrock-agentcore:ListMemoryRecords",
    "bedrock-agentcore:GetMemoryRecord",
)

def _document(*statements: dict[str, Any]) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def assume_role_policy(service: str) -> PolicyDocument:
    return _document({
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    })


def agentcore_assume_role_policy(partition: str, region: str, account_id: str) -> PolicyDocument:
    # The conditions stop another account's AgentCore from using this role (confused deputy).
    return _document({
        "Effect": "Allow",
        "Principal": {"Service": "bedrock-agentcore.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:bedrock-agentcore:{region}:{account_id}:*"},
        },
    })


def proxy_invoke_policy(runtime_arn: str) -> PolicyDocument:
    """The proxy may invoke this one runtime (and its endpoints, e.g. DEFAULT) and nothing else."""
    return _document({
        "Sid": "InvokeAgentRuntime",
        "Effect": "Allow",
        "Action": "bedrock-agentcore:InvokeAgentRuntime",
        "Resource": [runtime_arn, f"{runtime_arn}/runtime-endpoint/*"],
    })


def log_group_write_policy(log_group_arn: str) -> PolicyDocument:
    """Replaces AWSLambdaBasicExecutionRole: write to this function's own log group only."""
    return _document({
        "Sid": "WriteOwnLogGroup",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
    })


def xray_write_policy() -> PolicyDocument:
    # X-Ray's write actions support no resource-level permissions, so "*" is the only choice.
    return _document({
        "Sid": "WriteTraces",
        "Effect": "Allow",
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        "Resource": "*",
    })


def model_resource_arns(model_id: str, partition: str, region: str, account_id: str) -> list[str]:
    """ARNs a role needs to invoke `model_id`, which may be a model id or an inference profile id."""
    if model_id.startswith("arn:"):
        return [model_id]
    prefix = inference_profile_prefix(model_id)
    if prefix is not None:
        base_model = model_id[len(prefix):]
        # A cross-region profile routes to the model in several regions, so the foundation
        # model ARN is allowed in every region, but only for this one model.
        return [
            f"arn:{partition}:bedrock:{region}:{account_id}:inference-profile/{model_id}",
            f"arn:{partition}:bedrock:*::foundation-model/{base_model}",
        ]
    return [f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}"]


def agent_runtime_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    runtime_name: str,
    model_id: str,
    code_bucket_arn: str | None = None,
    image_repository_arn: str | None = None,
    memory_arn: str | None = None,
    guardrail_arn: str | None = None,
) -> PolicyDocument:
    """The AgentCore execution role: the documented statements, scoped to this agent and model."""
    directory = f"arn:{partition}:bedrock-agentcore:{region}:{account_id}:workload-identity-directory/default"
    statements: list[dict[str, Any]] = [
        *_runtime_telemetry_statements(partition, region, account_id),
        {
            "Sid": "WorkloadIdentity",
            "Effect": "Allow",
            "Action": [
                "bedrock-agentcore:GetWorkloadAccessToken",
                "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
                "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
            ],
            "Resource": [directory, f"{directory}/workload-identity/{runtime_name}-*"],
        },
        {
            "Sid": "InvokeConfiguredModel",
            "Effect": "Allow",
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Resource": model_resource_arns(model_id, partition, region, account_id),
        },
    ]
    if code_bucket_arn is not None:
        statements.append({
            "Sid": "ReadAgentCode",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"{code_bucket_arn}/agent/*",
        })
    if memory_arn is not None:
        statements.append({
            "Sid": "ConversationMemory",
            "Effect": "Allow",
            "Action": list(MEMORY_DATA_PLANE_ACTIONS),
            "Resource": memory_arn,
        })
    if guardrail_arn is not None:
        statements.append(guardrail_statement(guardrail_arn))
    if image_repository_arn is not None:
        statements += _image_pull_statements(image_repository_arn)
    return _document(*statements)


def guardrail_statement(guardrail_arn: str) -> dict[str, Any]:
    """Applying the guardrail the agent's model calls name, and no other (Bedrock guardrails permissions guide)."""
    return {
        "Sid": "ApplyGuardrail",
        "Effect": "Allow",
        "Action": "bedrock:ApplyGuardrail",
        "Resource": guardrail_arn,
    }


def _runtime_telemetry_statements(partition: str, region: str, account_id: str) -> list[dict[str, Any]]:
    """Logs under /aws/bedrock-agentcore/runtimes/*, X-Ray, and metrics in bedrock-agentcore only."""
    logs = f"arn:{partition}:logs:{region}:{account_id}:log-group"
    return [
        {
            "Sid": "RuntimeLogGroups",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogStreams", "logs:CreateLogGroup"],
            "Resource": f"{logs}:/aws/bedrock-agentcore/runtimes/*",
        },
        {
            "Sid": "DescribeLogGroups",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": f"{logs}:*",
        },
        {
            "Sid": "RuntimeLogStreams",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{logs}:/aws/bedrock-agentcore/runtimes/*:log-stream:*",
        },
        {
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments", "xray:PutTelemetryRecords",
                "xray:GetSamplingRules", "xray:GetSamplingTargets",
            ],
            "Resource": "*",
        },
        {
            "Sid": "Metrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}},
        },
    ]


def _image_pull_statements(image_repository_arn: str) -> list[dict[str, Any]]:
    """Pull from the agent's own repository; the ECR token supports no narrower resource."""
    return [
        {
            "Sid": "PullAgentImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": image_repository_arn,
        },
        {
            "Sid": "EcrToken",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
    ]


def tls_only_bucket_policy(bucket_arn: str) -> PolicyDocument:
    return _document({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })


def account_root(partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def private_api_policy(
    execute_api_arn: str, vpc_endpoint_id: str, *, account_root_arn: str | None = None
) -> PolicyDocument:
    """A PRIVATE REST API's resource policy: who may invoke, and never from another VPC endpoint.

    With IAM authentication pass `account_root_arn`: the policy then allows the account itself,
    which API Gateway treats as delegating to IAM, so a same-account caller needs an identity policy
    that grants execute-api:Invoke. Allowing Principal "*" there would grant every principal of the
    account by itself (a same-account call is allowed when the resource policy OR the identity
    policy allows it). Without IAM authentication (API key, Cognito) callers are anonymous to IAM,
    so only Principal "*" can admit them; the key or the token then decides.
    """
    principal: Any = "*" if account_root_arn is None else {"AWS": account_root_arn}
    return _document(
        {
            "Sid": "InvokeFromThisVpcEndpoint",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "execute-api:Invoke",
            "Resource": execute_api_arn,
        },
        {
            "Sid": "DenyEveryOtherSource",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": execute_api_arn,
            "Condition": {"StringNotEquals": {"aws:SourceVpce": vpc_endpoint_id}},
        },
    )


def private_domain_policy(vpc_endpoint_id: str) -> PolicyDocument:
    """The `execute-api` policy of a private custom domain name: invocable through this VPC endpoint only.

    The form of API Gateway's tutorial ("Create and invoke a custom domain name for private APIs"):
    allow everyone, deny every other source. Who may call is still decided by the mapped API's own
    resource policy (with IAM: the account root, so identity policies decide) and its authorization,
    which every call through the domain passes as well.
    """
    return _document(
        {
            "Sid": "InvokeThroughTheDomain",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": ["execute-api:/*"],
        },
        {
            "Sid": "DenyEveryOtherSource",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": ["execute-api:/*"],
            "Condition": {"StringNotEquals": {"aws:SourceVpce": vpc_endpoint_id}},
        },
    )


def private_domain_invoke_arn(partition: str, region: str, account_id: str, domain_name: str, domain_name_id: str) -> str:
    """The `execute-api` ARN of a private custom domain name, what a policy allows invoking.

    The Service Authorization Reference's `execute-api-domain` resource type:
    arn:<partition>:execute-api:<region>:<account>:/domainnames/<name>+<id>. It is not the domain's
    own (`apigateway`) ARN, which names the resource for management calls.
    """
    return f"arn:{partition}:execute-api:{region}:{account_id}:/domainnames/{domain_name}+{domain_name_id}"


def execute_api_endpoint_policy(execute_api_arn: str, private_domain_arn: Optional[str] = None) -> PolicyDocument:
    """The execute-api VPC endpoint's own policy: it carries calls to this API and to no other.

    The endpoint's default policy allows everything, so any principal in the VPC could use it to
    reach any private API of any account. The principal stays "*" here: who may call is decided by
    the API's resource policy and the caller's IAM policy, and anonymous callers (API key, Cognito)
    must still pass.

    A call through a private custom domain name is checked against this policy twice: once for
    the domain name itself and once for the API mapped to it ("Use VPC endpoint policies for
    private APIs in API Gateway", examples 4 and 5). So with a private domain the policy also
    allows the domain's own `execute-api` ARN, and nothing else: no other domain, no other API.
    """
    statements: list[dict[str, Any]] = [{
        "Sid": "InvokeThisApiOnly",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "execute-api:Invoke",
        "Resource": execute_api_arn,
    }]
    if private_domain_arn is not None:
        statements.append({
            "Sid": "InvokeThisApisPrivateDomain",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": private_domain_arn,
        })
    return _document(*statements)


def api_gateway_cloudwatch_policy(partition: str, region: str, account_id: str) -> PolicyDocument:
    """What API Gateway's account-level role needs to write access and execution logs."""
    return _document({
        "Sid": "WriteApiGatewayLogs",
        "Effect": "Allow",
        "Action": [
            "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
            "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents",
        ],
        "Resource": f"arn:{partition}:logs:{region}:{account_id}:*",
    })


def alarm_topic_key_policy(partition: str, region: str, account_id: str, alarm_name_prefix: str) -> PolicyDocument:
    """The alarm topic's KMS key: the account administers it, CloudWatch alarms may encrypt with it.

    The AWS-managed key alias/aws/sns cannot be used here: its key policy cannot be changed, so
    CloudWatch gets AccessDenied from KMS and alarm notifications are silently dropped.
    """
    # In a key policy "Resource": "*" means this key itself.
    return _document(
        {
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {
                    "aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:{alarm_name_prefix}*",
                },
            },
        },
    )


def page_bucket_policy(bucket_arn: str, distribution_arn: str) -> PolicyDocument:
    """The hosted page's bucket: only this CloudFront distribution (through its origin access
    control) may read objects, and only over TLS. Nothing may list the bucket or write to it."""
    return _document(
        {
            "Sid": "AllowThisDistributionToReadThePage",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        },
        tls_only_bucket_policy(bucket_arn)["Statement"][0],
    )
