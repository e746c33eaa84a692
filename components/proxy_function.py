"""The proxy Lambda: a Python ASGI app on Lambda Web Adapter that streams AgentCore's answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import policies
from components.agent_runtime import AgentRuntime
from packager.artifacts import LAMBDA_PYTHON_RUNTIME, CodeZip
from streaming_shared.edge import (
    CORS_VARIABLE,
    FUNCTION_LOG_LEVEL,
    READY_PATH,
    ProxySettings,
    origins_variable,
    with_origin,
)

# The type this component had while it was called StreamingProxy; the alias carries the deployed
# component (and, through it, its children) over to the new type instead of replacing them.
PREVIOUS_TYPE = "agentcore-streaming:streaming_proxy:StreamingProxy"

# Lambda Web Adapter's public layer account (same in every commercial region).
LWA_LAYER_ACCOUNT = "753240598075"
PROXY_PORT = 8080


def lwa_layer_arn(partition: str, region: str, version: int) -> str:
    return f"arn:{partition}:lambda:{region}:{LWA_LAYER_ACCOUNT}:layer:LambdaAdapterLayerArm64:{version}"


@dataclass
class ProxyFunctionArgs:
    # Physical function name (also fixes the log group name, /aws/lambda/<name>).
    function_name: str
    # The built proxy zip; its sha256 is the source_code_hash, so an unchanged zip gives no diff.
    code_zip: CodeZip
    # The AgentCore runtime the proxy calls; the role may invoke only this one.
    runtime: AgentRuntime
    # Lambda timeout; equals the stream limit (at most 900 s).
    timeout_seconds: int
    # How long the proxy lets a stream run before ending it with an error event (< timeout).
    stream_timeout_seconds: int
    # Seconds of upstream silence before the proxy sends an SSE keep-alive comment.
    keepalive_seconds: int
    max_prompt_chars: int
    memory_mb: int
    log_level: str
    log_retention_days: int
    lwa_layer_version: int
    partition: pulumi.Input[str]
    region: str
    # Protect and retain the log group (prod).
    protect_stateful_resources: bool
    # Browser origins the proxy adds CORS headers for; empty: none (no CORS variable at all).
    cors_allowed_origins: tuple[str, ...] = ()
    # The hosted page's origin (https://<distribution domain>), added to the origins above; known
    # only once CloudFront has created the distribution. None: no hosted page.
    page_origin: Optional[pulumi.Input[str]] = None
    # CloudWatch namespace of the usage metrics the proxy logs (EMF) and the stack they are for;
    # empty: usage records without metrics.
    metrics_namespace: str = ""
    metrics_stack: str = ""
    # authMode cognito: the app client whose ID tokens the proxy accepts (API Gateway's authorizer
    # accepts every app client of the pool). None: no Cognito, no check.
    cognito_app_client_id: Optional[pulumi.Input[str]] = None


class ProxyFunction(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    streaming_invoke_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: ProxyFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        renamed = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)])
        super().__init__("agentcore-streaming:proxy_function:ProxyFunction", name, None,
                         pulumi.ResourceOptions.merge(opts, renamed))
        protect = args.protect_stateful_resources
        # Created before the function so Lambda never auto-creates it without a retention. A name
        # prefix, not a fixed name: a protected group is retained by `pulumi destroy`, and the
        # next `pulumi up` would fail on a fixed name still in use (the function's logging_config
        # names its group, so it need not be /aws/lambda/<function>).
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name_prefix=f"/aws/lambda/{args.function_name}-",
            retention_in_days=args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        role, role_policies = self._role(name, args, log_group)

        function = aws.lambda_.Function(
            f"{name}-function",
            name=args.function_name,
            runtime=LAMBDA_PYTHON_RUNTIME,
            architectures=["arm64"],
            # LWA's exec wrapper starts run.sh (uvicorn) and turns its HTTP stream into Lambda's.
            handler="run.sh",
            code=pulumi.FileArchive(str(args.code_zip.path)),
            source_code_hash=args.code_zip.sha256,
            layers=[pulumi.Output.from_input(args.partition).apply(
                lambda partition: lwa_layer_arn(partition, args.region, args.lwa_layer_version)
            )],
            role=role.arn,
            timeout=args.timeout_seconds,
            memory_size=args.memory_mb,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON",
                log_group=log_group.name,
                # Lambda passes it to Lambda Web Adapter as AWS_LAMBDA_LOG_LEVEL; stated, never DEBUG
                # or TRACE (LWA would log every request header, keys and tokens included).
                application_log_level=FUNCTION_LOG_LEVEL,
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=proxy_environment(args)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, *role_policies]),
        )

        self.function_name = function.name
        self.function_arn = function.arn
        self.streaming_invoke_arn = function.response_streaming_invoke_arn
        self.role_arn = role.arn
        self.log_group_name = log_group.name
        self.register_outputs({
            "functionName": self.function_name,
            "functionArn": self.function_arn,
            "streamingInvokeArn": self.streaming_invoke_arn,
            "roleArn": self.role_arn,
            "logGroupName": self.log_group_name,
        })

    def _role(
        self, name: str, args: ProxyFunctionArgs, log_group: aws.cloudwatch.LogGroup
    ) -> tuple[aws.iam.Role, list[aws.iam.RolePolicy]]:
        """The function's role and its three inline policies (each grant names its one resource,
        which managed policies would not)."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(policies.assume_role_policy("lambda.amazonaws.com")),
            opts=child,
        )
        invoke_policy = aws.iam.RolePolicy(
            f"{name}-invoke-policy",
            role=role.id,
            policy=args.runtime.runtime_arn.apply(lambda arn: json.dumps(policies.proxy_invoke_policy(arn))),
            opts=child,
        )
        logs_policy = aws.iam.RolePolicy(
            f"{name}-logs-policy",
            role=role.id,
            policy=log_group.arn.apply(lambda arn: json.dumps(policies.log_group_write_policy(arn))),
            opts=child,
        )
        tracing_policy = aws.iam.RolePolicy(
            f"{name}-tracing-policy",
            role=role.id,
            policy=json.dumps(policies.xray_write_policy()),
            opts=child,
        )
        return role, [invoke_policy, logs_policy, tracing_policy]


def proxy_environment(args: ProxyFunctionArgs) -> dict[str, pulumi.Input[str]]:
    """Lambda Web Adapter's switches and the proxy app's settings, spelled by the edge's schema
    (ProxySettings.to_environ), which the proxy reads back with ProxySettings.from_environ."""
    settings = ProxySettings(
        runtime_arn=args.runtime.runtime_arn,
        max_prompt_chars=args.max_prompt_chars,
        keepalive_seconds=args.keepalive_seconds,
        stream_timeout_seconds=args.stream_timeout_seconds,
        log_level=args.log_level,
        cors_allowed_origins=tuple(args.cors_allowed_origins),
        metrics_namespace=args.metrics_namespace,
        metrics_stack=args.metrics_stack,
        cognito_app_client_id=args.cognito_app_client_id or "",
        # Lambda Web Adapter sends x-amzn-request-context with every request: one without it never
        # came through API Gateway, and is refused rather than served as the anonymous caller.
        require_request_context=True,
    )
    environ: dict[str, pulumi.Input[str]] = {
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
        "AWS_LWA_INVOKE_MODE": "response_stream",
        "AWS_LWA_PORT": str(PROXY_PORT),
        # A dedicated path: LWA's default "/" would reach the app's own routes.
        "AWS_LWA_READINESS_CHECK_PATH": READY_PATH,
        **settings.to_environ(),
    }
    if args.page_origin is not None:
        configured = tuple(args.cors_allowed_origins)
        environ[CORS_VARIABLE] = pulumi.Output.from_input(args.page_origin).apply(
            lambda origin: origins_variable(with_origin(configured, origin))
        )
    return environ
