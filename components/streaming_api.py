"""The REST API: POST /invoke and POST /stop, streamed from the proxy Lambda, with logs, throttling and auth.

The component is built in parts, each a function creating its resources as children of the
component (so their URNs stay those of the component's children): the two routes with their
authorization, their CORS preflight routes, API Gateway's own error responses, and the deployment
with its stage and logs. The values they are made of (tables, templates, schemas) are pure
builders in components/api_builders.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, TypeVar, Union

import pulumi
import pulumi_aws as aws

from components import policies
from components.api_builders import (
    COGNITO_IDENTITY_SOURCE,
    PREFLIGHT_STATUS,
    ROUTE_METHOD,
    ROUTE_PATH,
    STAGE_NAME,
    STOP_ROUTE_METHOD,
    STOP_ROUTE_PATH,
    access_log_format,
    gateway_response_parameters,
    gateway_response_resource_suffix,
    integration_timeout_ms,
    method_authorization,
    preflight_origin_template,
    preflight_static_headers,
    request_body_schema,
)
from stack_config.auth import ApiKey, Auth, Cognito, ExistingUserPool, Iam, Throttle
from streaming_shared.edge import (
    ALLOW_ORIGIN,
    GATEWAY_RESPONSES,
    PREFLIGHT_METHOD,
    gateway_error_template,
    with_origin,
)

__all__ = ["STAGE_NAME", "StreamingApi", "StreamingApiArgs"]


@dataclass
class StreamingApiArgs:
    # Physical REST API name (also names the access log group).
    api_name: str
    # "REGIONAL" or "PRIVATE" (EDGE would cut silent streams after 30 s).
    endpoint_type: str
    # PRIVATE only: the execute-api VPC endpoint allowed by the resource policy.
    vpc_endpoint_id: Optional[pulumi.Input[str]]
    # How callers authenticate (stack_config/auth.py): decides the method's authorization, the
    # Cognito authorizer, and the API key with its usage plan (throttle and quota).
    auth: Auth
    # Cognito with a NewUserPool only: the ARN of the pool the program created (an existing pool's
    # ARN travels inside `auth`).
    created_user_pool_arn: Optional[pulumi.Input[str]]
    # Log WAF's verdict per request (only meaningful when a web ACL guards the stage).
    waf_enabled: bool
    # Proxy function the route streams from.
    function_name: pulumi.Input[str]
    function_streaming_invoke_arn: pulumi.Input[str]
    # The function's timeout; the integration may wait as long, but never longer than 900 s.
    function_timeout_seconds: int
    # Stage-wide steady rate (requests/s) and burst.
    throttle: Throttle
    log_retention_days: int
    # Create the account-wide API Gateway CloudWatch role setting (one per account and region:
    # exactly one stack may own it; turn off when another stack or the platform team manages it).
    # Kept in AWS when the stack is destroyed, so the other stacks' logging keeps working.
    manage_account_settings: bool
    protect_stateful_resources: bool
    # Browser origins allowed to call the API, or ("*",) (settings.py validates them). Empty: no
    # OPTIONS /invoke route and no CORS headers on gateway errors.
    cors_allowed_origins: tuple[str, ...] = ()
    # The hosted page's origin (https://<distribution domain>), added to the origins above; known
    # only once CloudFront has created the distribution, so the CORS values become Outputs then.
    page_origin: Optional[pulumi.Input[str]] = None
    # Set only when a custom domain fronts the API: True refuses calls to the execute-api URL
    # (403), False keeps it. None (no custom domain) leaves the REST API's own default untouched.
    disable_execute_api_endpoint: Optional[bool] = None
    # PRIVATE with a custom domain: the domain name's execute-api ARN
    # (policies.private_domain_invoke_arn), which the VPC endpoint's policy must allow as well.
    private_domain_invoke_arn: Optional[pulumi.Input[str]] = None


# The allowed origins: a plain tuple, or an Output of one when the hosted page's origin is among them.
Origins = Union[tuple[str, ...], pulumi.Output[tuple[str, ...]]]
T = TypeVar("T")


def allowed_origins(args: StreamingApiArgs) -> Origins:
    configured = tuple(args.cors_allowed_origins)
    if args.page_origin is None:
        return configured
    return pulumi.Output.from_input(args.page_origin).apply(lambda origin: with_origin(configured, origin))


def _from_origins(origins: Origins, build: Callable[[tuple[str, ...]], T]) -> pulumi.Input[T]:
    """build(origins) now, or once the page's origin is known."""
    if isinstance(origins, pulumi.Output):
        return origins.apply(build)
    return build(origins)


@dataclass
class _Definition:
    """What a deployment snapshots: resources it must wait for, and inputs whose change redeploys."""

    resources: list[pulumi.Resource] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)

    def add(self, resources: list[pulumi.Resource], *inputs: Any) -> None:
        self.resources += resources
        self.inputs += inputs

    def hash(self) -> pulumi.Output[str]:
        return pulumi.Output.json_dumps(self.inputs).apply(
            lambda text: hashlib.sha256(text.encode("utf-8")).hexdigest()
        )


def user_pool_arn(args: StreamingApiArgs) -> Optional[pulumi.Input[str]]:
    """The pool whose ID tokens the method accepts: None unless auth is Cognito."""
    if not isinstance(args.auth, Cognito):
        if args.created_user_pool_arn is not None:
            raise ValueError("created_user_pool_arn is only for Cognito auth")
        return None
    if isinstance(args.auth.pool, ExistingUserPool):
        if args.created_user_pool_arn is not None:
            raise ValueError("Cognito with an existing pool takes its ARN from auth, not created_user_pool_arn")
        return args.auth.pool.arn
    if args.created_user_pool_arn is None:
        raise ValueError("Cognito with a new user pool needs the created pool's ARN")
    return args.created_user_pool_arn


class StreamingApi(pulumi.ComponentResource):
    rest_api_id: pulumi.Output[str]
    stage_name: pulumi.Output[str]
    stage_arn: pulumi.Output[str]
    api_url: pulumi.Output[str]
    invoke_url: pulumi.Output[str]
    api_key: Optional[pulumi.Output[str]]
    access_log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: StreamingApiArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:streaming_api:StreamingApi", name, None, opts)
        if args.endpoint_type == "PRIVATE" and args.vpc_endpoint_id is None:
            raise ValueError("a PRIVATE API needs the execute-api VPC endpoint id")
        pool_arn = user_pool_arn(args)
        authorization, api_key_required = method_authorization(args.auth)

        api = aws.apigateway.RestApi(
            f"{name}-api",
            name=args.api_name,
            description="Streaming agent endpoint: POST /invoke, POST /stop",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types=args.endpoint_type),
            api_key_source="HEADER",
            disable_execute_api_endpoint=args.disable_execute_api_endpoint,
            opts=pulumi.ResourceOptions(parent=self),
        )
        definition = _Definition(inputs=[args.endpoint_type, authorization, api_key_required])
        if args.disable_execute_api_endpoint is not None:
            # The setting takes effect only with a new deployment of a stage (API Gateway Developer
            # Guide, "Disable the default endpoint for REST APIs"); hashed only when set, so a stack
            # without a custom domain keeps its deployment.
            definition.inputs.append({"disableExecuteApiEndpoint": args.disable_execute_api_endpoint})
        if args.endpoint_type == "PRIVATE":
            _private_access(self, name, args, api, definition)
        origins = allowed_origins(args)
        _routes(self, name, args, api, pool_arn, origins, definition)
        _gateway_responses(self, name, api.id, origins, definition)
        stage, access_logs = _deployed_stage(self, name, args, api, definition)

        self.api_key = None
        if isinstance(args.auth, ApiKey):
            self.api_key = _api_key(self, name, args.auth, api.id, stage.stage_name)
        self.stage_name = stage.stage_name
        self.access_log_group_name = access_logs.name
        self.rest_api_id = api.id
        self.stage_arn = stage.arn
        self.api_url = stage.invoke_url
        self.invoke_url = pulumi.Output.concat(stage.invoke_url, f"/{ROUTE_PATH}")
        outputs: dict[str, Any] = {
            "restApiId": self.rest_api_id,
            "stageArn": self.stage_arn,
            "apiUrl": self.api_url,
            "invokeUrl": self.invoke_url,
            "accessLogGroupName": self.access_log_group_name,
        }
        if self.api_key is not None:
            outputs["apiKey"] = self.api_key
        self.register_outputs(outputs)


# --- the routes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    """One route of the API: what it is called in resource names, its method, path and body model."""

    role: str  # resource names: f"{name}-{role}-resource", ...
    infix: str  # "" for /invoke (whose preflight and permission names predate /stop), else "-stop"
    method: str
    path: str
    model_name: str


_INVOKE = _Route("invoke", "", ROUTE_METHOD, ROUTE_PATH, "InvokeRequest")
_STOP = _Route("stop", "-stop", STOP_ROUTE_METHOD, STOP_ROUTE_PATH, "StopRequest")


def _routes(
    parent: pulumi.Resource,
    name: str,
    args: StreamingApiArgs,
    api: aws.apigateway.RestApi,
    pool_arn: Optional[pulumi.Input[str]],
    origins: Origins,
    definition: _Definition,
) -> None:
    """POST /invoke and POST /stop, with their preflights when CORS is on and their Lambda permissions.

    Both routes go to the same proxy function under the same authorization (and WAF, on the stage):
    /stop is a caller's way to end its own turn, never a weaker door to the agent.
    """
    authorizer_id = _authorizer_id(parent, name, api.id, pool_arn, definition)
    validator = aws.apigateway.RequestValidator(
        f"{name}-validator", rest_api=api.id, name="body", validate_request_body=True,
        validate_request_parameters=False, opts=pulumi.ResourceOptions(parent=parent),
    )
    definition.add([validator])
    for route in (_INVOKE, _STOP):
        resource = _route(parent, name, args, api, route, authorizer_id, validator, definition)
        if args.cors_allowed_origins or args.page_origin is not None:
            definition.add(_preflight_route(parent, f"{name}{route.infix}", api.id, resource.id, origins),
                           PREFLIGHT_METHOD, route.path, _from_origins(origins, list))
        aws.lambda_.Permission(
            f"{name}{route.infix}-invoke-permission",
            action="lambda:InvokeFunction",
            function=args.function_name,
            principal="apigateway.amazonaws.com",
            # Only this API's route, in any stage, may call the function.
            source_arn=pulumi.Output.concat(api.execution_arn, f"/*/{route.method}/{route.path}"),
            opts=pulumi.ResourceOptions(parent=parent),
        )


def _authorizer_id(
    parent: pulumi.Resource, name: str, api_id: pulumi.Output[str], pool_arn: Optional[pulumi.Input[str]],
    definition: _Definition,
) -> Optional[pulumi.Output[str]]:
    """The Cognito authorizer both routes use, or None when auth is not Cognito."""
    if pool_arn is None:
        return None
    authorizer = _cognito_authorizer(parent, name, api_id, pool_arn)
    definition.add([authorizer], pool_arn)
    return authorizer.id


def _route(
    parent: pulumi.Resource,
    name: str,
    args: StreamingApiArgs,
    api: aws.apigateway.RestApi,
    route: _Route,
    authorizer_id: Optional[pulumi.Output[str]],
    validator: aws.apigateway.RequestValidator,
    definition: _Definition,
) -> aws.apigateway.Resource:
    """One route: its resource, authorization, body check, and the streamed Lambda integration."""
    child = pulumi.ResourceOptions(parent=parent)
    authorization, api_key_required = method_authorization(args.auth)
    resource = aws.apigateway.Resource(
        f"{name}-{route.role}-resource", rest_api=api.id, parent_id=api.root_resource_id, path_part=route.path,
        opts=child,
    )
    model_schema = json.dumps(request_body_schema(route.model_name), sort_keys=True)
    model = aws.apigateway.Model(
        f"{name}-{route.role}-model", rest_api=api.id, name=route.model_name, content_type="application/json",
        schema=model_schema, opts=child,
    )
    method = aws.apigateway.Method(
        f"{name}-{route.role}-method",
        rest_api=api.id,
        resource_id=resource.id,
        http_method=route.method,
        authorization=authorization,
        authorizer_id=authorizer_id,
        api_key_required=api_key_required,
        request_validator_id=validator.id,
        request_models={"application/json": model.name},
        opts=child,
    )
    timeout_ms = integration_timeout_ms(args.function_timeout_seconds)
    integration = aws.apigateway.Integration(
        f"{name}-{route.role}-integration",
        rest_api=api.id,
        resource_id=resource.id,
        http_method=method.http_method,
        type="AWS_PROXY",
        integration_http_method="POST",
        # The response-streaming URI; the plain invoke_arn would buffer the whole answer. /stop's
        # short JSON answer goes the same way: one function, in one invoke mode.
        uri=args.function_streaming_invoke_arn,
        response_transfer_mode="STREAM",
        timeout_milliseconds=timeout_ms,
        opts=child,
    )
    definition.add([resource, model, method, integration],
                   route.method, route.path, model_schema, args.function_streaming_invoke_arn, timeout_ms)
    return resource


def _cognito_authorizer(
    parent: pulumi.Resource, name: str, api_id: pulumi.Output[str], pool_arn: pulumi.Input[str]
) -> aws.apigateway.Authorizer:
    # No authorization scopes on the method: API Gateway then validates the ID token
    # (audience = the pool's app client); access tokens would need scopes.
    return aws.apigateway.Authorizer(
        f"{name}-cognito-authorizer",
        rest_api=api_id,
        name="cognito",
        type="COGNITO_USER_POOLS",
        provider_arns=[pool_arn],
        identity_source=COGNITO_IDENTITY_SOURCE,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _preflight_route(
    parent: pulumi.Resource,
    name: str,
    api_id: pulumi.Output[str],
    resource_id: pulumi.Output[str],
    origins: Origins,
) -> list[pulumi.Resource]:
    """OPTIONS on one route answered by API Gateway itself (MOCK): 204 with the CORS headers.

    No authorization and no API key: a browser never sends credentials on a preflight, so
    requiring them would fail every cross-origin call. It reveals nothing and never reaches
    the Lambda. VTL response mapping is allowed here; only the STREAM integration forbids it.
    """
    child = pulumi.ResourceOptions(parent=parent)
    method = aws.apigateway.Method(
        f"{name}-preflight-method", rest_api=api_id, resource_id=resource_id, http_method=PREFLIGHT_METHOD,
        authorization="NONE", api_key_required=False, opts=child,
    )
    integration = aws.apigateway.Integration(
        f"{name}-preflight-integration", rest_api=api_id, resource_id=resource_id, http_method=method.http_method,
        type="MOCK",
        # MOCK picks its integration response from this status code.
        request_templates={"application/json": json.dumps({"statusCode": int(PREFLIGHT_STATUS)})},
        opts=child,
    )
    method_response = aws.apigateway.MethodResponse(
        f"{name}-preflight-method-response", rest_api=api_id, resource_id=resource_id,
        http_method=method.http_method, status_code=PREFLIGHT_STATUS,
        response_parameters={
            # The same headers whatever the number of origins: Allow-Origin is fixed or templated.
            f"method.response.header.{header}": True for header in sorted({*preflight_static_headers(()), ALLOW_ORIGIN})
        },
        opts=child,
    )
    integration_response = aws.apigateway.IntegrationResponse(
        f"{name}-preflight-integration-response", rest_api=api_id, resource_id=resource_id,
        http_method=method.http_method, status_code=method_response.status_code,
        # Static values are quoted; the template (several origins) adds Allow-Origin itself.
        response_parameters=_from_origins(origins, lambda allowed: {
            f"method.response.header.{header}": f"'{value}'"
            for header, value in preflight_static_headers(allowed).items()
        }),
        response_templates=_from_origins(origins, _preflight_templates),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[integration]),
    )
    return [method, integration, method_response, integration_response]


def _preflight_templates(origins: tuple[str, ...]) -> Optional[dict[str, str]]:
    template = preflight_origin_template(origins)
    return {"application/json": template} if template else None


# --- API Gateway's own errors ---------------------------------------------------------------------


def _gateway_responses(
    parent: pulumi.Resource, name: str, api_id: pulumi.Output[str], origins: Origins, definition: _Definition
) -> None:
    """Every gateway response of the edge's GATEWAY_RESPONSES, in the project's error shape."""
    for response_type, rewrite in GATEWAY_RESPONSES.items():
        status, code = rewrite.status_override, rewrite.code
        gateway_response = aws.apigateway.Response(
            f"{name}-{gateway_response_resource_suffix(response_type)}",
            rest_api_id=api_id,
            response_type=response_type,
            status_code=status,
            response_templates={"application/json": gateway_error_template(code)},
            response_parameters=_from_origins(
                origins, lambda allowed, response_type=response_type: gateway_response_parameters(response_type, allowed)
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        definition.add([gateway_response], response_type, status, code)


# --- private access -------------------------------------------------------------------------------


def _private_access(
    parent: pulumi.Resource, name: str, args: StreamingApiArgs, api: aws.apigateway.RestApi, definition: _Definition
) -> None:
    """A PRIVATE API's resource policy, and the VPC endpoint's policy that lets it reach the API
    (and the API's private custom domain name, when there is one)."""
    policy_document = _private_policy(parent, args, api.execution_arn)
    policy = aws.apigateway.RestApiPolicy(
        f"{name}-policy", rest_api_id=api.id, policy=policy_document, opts=pulumi.ResourceOptions(parent=parent),
    )
    definition.add([policy], policy_document)
    # The endpoint's policy refers to the API and the API's policy to the endpoint, so it
    # is a resource of its own (an inline policy on the endpoint would make a cycle).
    aws.ec2.VpcEndpointPolicy(
        f"{name}-endpoint-policy",
        vpc_endpoint_id=args.vpc_endpoint_id,
        policy=pulumi.Output.all(api.execution_arn, args.private_domain_invoke_arn).apply(
            lambda v: json.dumps(policies.execute_api_endpoint_policy(f"{v[0]}/*", private_domain_arn=v[1]))
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _private_policy(
    parent: pulumi.Resource, args: StreamingApiArgs, execution_arn: pulumi.Output[str]
) -> pulumi.Output[str]:
    """The PRIVATE API's resource policy; with IAM auth it allows the account root, not everyone."""
    account_root: pulumi.Input[Optional[str]] = None
    if isinstance(args.auth, Iam):
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=parent))
        partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=parent))
        account_root = pulumi.Output.all(partition.partition, caller.account_id).apply(
            lambda v: policies.account_root(v[0], v[1])
        )
    return pulumi.Output.all(execution_arn, args.vpc_endpoint_id, account_root).apply(
        lambda v: json.dumps(policies.private_api_policy(f"{v[0]}/*", v[1], account_root_arn=v[2]))
    )


# --- deployment, stage and logs -------------------------------------------------------------------


def _deployed_stage(
    parent: pulumi.Resource, name: str, args: StreamingApiArgs, api: aws.apigateway.RestApi, definition: _Definition
) -> tuple[aws.apigateway.Stage, aws.cloudwatch.LogGroup]:
    """A deployment of the definition, the stage serving it, its logs, tracing and throttling;
    returns the stage and its access log group."""
    deployment = aws.apigateway.Deployment(
        f"{name}-deployment",
        rest_api=api.id,
        description="POST /invoke",
        # A deployment is a snapshot: hash what it contains so any change makes a new one.
        triggers={"redeployment": definition.hash()},
        # A PRIVATE API deployed before its resource policy exists cannot be invoked.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=definition.resources),
    )
    stage_dependencies: list[pulumi.Resource] = []
    if args.manage_account_settings:
        stage_dependencies.append(_account_logging_role(parent, name))
    access_logs, execution_logs = _stage_log_groups(parent, name, args, api.id)
    stage = aws.apigateway.Stage(
        f"{name}-stage",
        rest_api=api.id,
        deployment=deployment.id,
        stage_name=STAGE_NAME,
        xray_tracing_enabled=True,
        access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
            destination_arn=access_logs.arn,
            format=access_log_format(waf_enabled=args.waf_enabled),
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*stage_dependencies, execution_logs]),
    )
    aws.apigateway.MethodSettings(
        f"{name}-method-settings",
        rest_api=api.id,
        stage_name=stage.stage_name,
        method_path="*/*",
        settings=aws.apigateway.MethodSettingsSettingsArgs(
            logging_level="INFO",
            metrics_enabled=True,
            # Data tracing would write request and response bodies (prompts, answers) to logs.
            data_trace_enabled=False,
            throttling_rate_limit=args.throttle.rate_limit,
            throttling_burst_limit=args.throttle.burst_limit,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return stage, access_logs


def _stage_log_groups(
    parent: pulumi.Resource, name: str, args: StreamingApiArgs, api_id: pulumi.Output[str]
) -> tuple[aws.cloudwatch.LogGroup, aws.cloudwatch.LogGroup]:
    """The access log group and the execution log group, both with the stack's retention."""
    protect = args.protect_stateful_resources
    options = pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=protect)
    access_logs = aws.cloudwatch.LogGroup(
        f"{name}-access-logs",
        # A generated suffix: a retained group (protect_stateful_resources) must not block
        # the next deployment of this stack with a name already in use.
        name_prefix=f"/aws/apigateway/{args.api_name}/access-",
        retention_in_days=args.log_retention_days,
        opts=options,
    )
    # API Gateway would create this group itself, without a retention; create it first.
    execution_logs = aws.cloudwatch.LogGroup(
        f"{name}-execution-logs",
        name=pulumi.Output.concat("API-Gateway-Execution-Logs_", api_id, f"/{STAGE_NAME}"),
        retention_in_days=args.log_retention_days,
        opts=options,
    )
    return access_logs, execution_logs


def _account_logging_role(parent: pulumi.Resource, name: str) -> aws.apigateway.Account:
    """API Gateway's account-level CloudWatch role, without which stage logging fails.

    The setting is one per account and region and every stack's stages depend on it, so it and
    its role are retained when this stack is destroyed: pulumi_aws 7 (Terraform provider 6)
    otherwise resets the setting on delete, and deleting the role would leave the setting
    pointing at nothing. Either way every other stack's stage logging would break.
    """
    caller = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=parent))
    partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=parent))
    region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=parent))
    retained = pulumi.ResourceOptions(parent=parent, retain_on_delete=True)
    role = aws.iam.Role(
        f"{name}-cloudwatch-role",
        description="API Gateway account setting: writes access and execution logs (kept on destroy)",
        assume_role_policy=json.dumps(policies.assume_role_policy("apigateway.amazonaws.com")),
        opts=retained,
    )
    role_policy = aws.iam.RolePolicy(
        f"{name}-cloudwatch-role-policy",
        role=role.id,
        policy=pulumi.Output.all(partition.partition, region.region, caller.account_id).apply(
            lambda v: json.dumps(policies.api_gateway_cloudwatch_policy(v[0], v[1], v[2]))
        ),
        opts=retained,
    )
    return aws.apigateway.Account(
        f"{name}-account",
        cloudwatch_role_arn=role.arn,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[role_policy], retain_on_delete=True),
    )


# --- API key mode -----------------------------------------------------------------------------------


def _api_key(
    parent: pulumi.Resource, name: str, auth: ApiKey, api_id: pulumi.Output[str], stage_name: pulumi.Output[str]
) -> pulumi.Output[str]:
    """A generated key in a usage plan on the stage, with the key's throttle and quota."""
    quota = None
    if auth.quota is not None:
        quota = aws.apigateway.UsagePlanQuotaSettingsArgs(limit=auth.quota.limit, period=auth.quota.period)
    plan = aws.apigateway.UsagePlan(
        f"{name}-usage-plan",
        description="Callers of POST /invoke",
        api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=api_id, stage=stage_name)],
        quota_settings=quota,
        throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(
            rate_limit=auth.throttle.rate_limit,
            burst_limit=auth.throttle.burst_limit,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    key = aws.apigateway.ApiKey(
        f"{name}-api-key",
        description="Generated key for POST /invoke",
        enabled=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.apigateway.UsagePlanKey(
        f"{name}-usage-plan-key",
        key_id=key.id,
        key_type="API_KEY",
        usage_plan_id=plan.id,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pulumi.Output.secret(key.value)
