"""The REST API: POST /invoke only, streamed from the proxy Lambda, with logs, throttling and auth."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components import policies

STAGE_NAME = "v1"
ROUTE_PATH = "invoke"
ROUTE_METHOD = "POST"
# API Gateway's hard ceiling for a streamed integration (15 minutes).
MAX_STREAM_INTEGRATION_MS = 900_000

# The header a Cognito ID token arrives in (as "Bearer <token>" or the bare token).
COGNITO_IDENTITY_SOURCE = "method.request.header.Authorization"


def access_log_format(*, waf_enabled: bool) -> str:
    """One JSON object per request. Only metadata and identities: never bodies, keys or tokens."""
    fields = {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        # Who called: the IAM principal (iam), the API key's id (apiKey), the user pool subject
        # (cognito). Ids, never the secret itself.
        "caller": "$context.identity.caller",
        "user": "$context.identity.user",
        "apiKeyId": "$context.identity.apiKeyId",
        "cognitoSubject": "$context.authorizer.claims.sub",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        # Time to the integration's response headers vs. the whole request as API Gateway saw it;
        # for a stream the second is the stream's length, the first its time to first byte.
        "integrationLatency": "$context.integration.latency",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "integrationErrorMessage": "$context.integrationErrorMessage",
        "errorMessage": "$context.error.message",
        "vpceId": "$context.identity.vpceId",
    }
    if waf_enabled:
        fields["wafResponseCode"] = "$context.wafResponseCode"
    return json.dumps(fields, separators=(",", ":"))

# API Gateway's own errors (bad body, missing key, throttling, ...) rewritten into the project's
# error shape, so clients parse one format whether the gateway or the proxy refused them.
_GATEWAY_ERRORS: dict[str, tuple[Optional[str], str]] = {
    # response type: (status override or None to keep the gateway's, machine code). The codes are
    # the proxy's own (proxy/streaming_proxy/contract.py) wherever the two can refuse the same thing.
    "BAD_REQUEST_BODY": ("400", "INVALID_BODY"),
    "BAD_REQUEST_PARAMETERS": ("400", "INVALID_REQUEST"),
    "UNSUPPORTED_MEDIA_TYPE": ("415", "UNSUPPORTED_MEDIA_TYPE"),
    "REQUEST_TOO_LARGE": ("413", "PAYLOAD_TOO_LARGE"),
    "MISSING_AUTHENTICATION_TOKEN": (None, "FORBIDDEN"),
    "INVALID_API_KEY": ("403", "FORBIDDEN"),
    "ACCESS_DENIED": ("403", "FORBIDDEN"),
    "INVALID_SIGNATURE": ("403", "FORBIDDEN"),
    "EXPIRED_TOKEN": ("403", "FORBIDDEN"),
    "UNAUTHORIZED": ("401", "UNAUTHORIZED"),
    "WAF_FILTERED": ("403", "FORBIDDEN"),
    "THROTTLED": ("429", "THROTTLED"),
    "QUOTA_EXCEEDED": ("429", "QUOTA_EXCEEDED"),
    "INTEGRATION_TIMEOUT": ("504", "UPSTREAM_TIMEOUT"),
    "INTEGRATION_FAILURE": ("502", "UPSTREAM_ERROR"),
    "DEFAULT_4XX": (None, "CLIENT_ERROR"),
    "DEFAULT_5XX": (None, "INTERNAL_ERROR"),
}
# The contract promises Retry-After with every 429 THROTTLED; a quota resets at the period's end.
_GATEWAY_ERROR_HEADERS: dict[str, dict[str, str]] = {"THROTTLED": {"Retry-After": "1"}}


def gateway_error_template(code: str) -> str:
    # $context.error.message is API Gateway's own text (e.g. "Forbidden"), never the proxy's.
    return (
        '{"error":{"code":"' + code + '","message":$context.error.messageString,'
        '"requestId":"$context.requestId"}}'
    )


# CORS (off unless the stack lists origins). The proxy answers the same preflight locally
# (proxy/streaming_proxy/cors.py); tests/infra/test_infra_cors.py checks the two agree.
ANY_ORIGIN = "*"
PREFLIGHT_METHOD = "OPTIONS"
PREFLIGHT_STATUS = "204"
CORS_ALLOWED_METHODS = "POST, OPTIONS"
# What the chat page sends (content-type, x-api-key) and what IAM-signed or Cognito callers add.
CORS_ALLOWED_HEADERS = "content-type, x-api-key, authorization, x-amz-date, x-amz-security-token"
CORS_EXPOSED_HEADERS = "X-Session-Id, X-Request-Id, Retry-After"
CORS_MAX_AGE_SECONDS = 600
ALLOW_ORIGIN = "Access-Control-Allow-Origin"


def preflight_static_headers(origins: tuple[str, ...]) -> dict[str, str]:
    """Headers the OPTIONS /invoke MOCK answer carries as fixed values (header -> value)."""
    headers = {
        "Access-Control-Allow-Methods": CORS_ALLOWED_METHODS,
        "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
        "Access-Control-Max-Age": str(CORS_MAX_AGE_SECONDS),
        "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS,
        # A cache in front must not hand one origin's preflight answer to another.
        "Vary": "Origin",
    }
    # One origin (or "*") is a fixed value; several need the template below to pick one.
    if len(origins) == 1:
        headers[ALLOW_ORIGIN] = origins[0]
    return headers


def preflight_origin_template(origins: tuple[str, ...]) -> Optional[str]:
    """VTL for the MOCK integration response that echoes the request's Origin only when listed.

    None for one origin (a fixed header value does). Safe to embed: settings.py admits only
    origins made of [a-z0-9.:/-], so no entry can close the string literal or start a reference.
    """
    if len(origins) < 2:
        return None
    allowed = ", ".join(f'"{origin}"' for origin in origins)
    # $input.params looks the header up by name; HTTP/2 clients send it lower-cased.
    return (
        "#set($origin = $input.params('Origin'))\n"
        "#if($origin == \"\")#set($origin = $input.params('origin'))#end\n"
        f"#set($allowed = [{allowed}])\n"
        "#if($allowed.contains($origin))"
        f"#set($context.responseOverride.header.{ALLOW_ORIGIN} = $origin)"
        "#end\n"
    )


def gateway_error_cors_headers(origins: tuple[str, ...]) -> dict[str, str]:
    """CORS headers on API Gateway's own errors (missing key, throttled, WAF, timeouts...).

    Without Access-Control-Allow-Origin a page cannot read why it was refused. A gateway response
    can only map fixed values or request parameters, and has no condition: echoing
    method.request.header.Origin would grant every site on the internet, not the listed ones. So
    with one origin (or "*") that value is used; with several only the FIRST origin can read
    gateway errors, and pages on the others see an opaque network error for those (their own
    requests and the proxy's errors are unaffected: the proxy echoes any listed origin).
    """
    if not origins:
        return {}
    return {ALLOW_ORIGIN: origins[0], "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS}


def request_body_schema() -> dict[str, Any]:
    """The validator checks only that the body is a JSON object.

    Field rules (required prompt, lengths, session id form, unknown fields) stay with the proxy, so
    every field error has the same code and message locally and on AWS; API Gateway's validator could
    only answer them all as one BAD_REQUEST_BODY.
    """
    return {"$schema": "http://json-schema.org/draft-04/schema#", "title": "InvokeRequest", "type": "object"}


def _method_authorization(auth_mode: str) -> tuple[str, bool]:
    """(authorization type, API key required) for an auth mode from settings.AUTH_MODES.

    "cognito" also needs an authorizer on the method; StreamingApi creates it.
    """
    if auth_mode == "none":
        return "NONE", False
    if auth_mode == "apiKey":
        return "NONE", True
    if auth_mode == "iam":
        return "AWS_IAM", False
    if auth_mode == "cognito":
        return "COGNITO_USER_POOLS", False
    raise ValueError(f"unsupported auth mode {auth_mode!r}")


@dataclass
class StreamingApiArgs:
    # Physical REST API name (also names the access log group).
    api_name: str
    # "REGIONAL" or "PRIVATE" (EDGE would cut silent streams after 30 s).
    endpoint_type: str
    # PRIVATE only: the execute-api VPC endpoint allowed by the resource policy.
    vpc_endpoint_id: Optional[pulumi.Input[str]]
    # One of settings.AUTH_MODES.
    auth_mode: str
    # cognito mode: the user pool whose ID tokens the method accepts (existing or created).
    cognito_user_pool_arn: Optional[pulumi.Input[str]]
    # Log WAF's verdict per request (only meaningful when a web ACL guards the stage).
    waf_enabled: bool
    # Proxy function the route streams from.
    function_name: pulumi.Input[str]
    function_streaming_invoke_arn: pulumi.Input[str]
    # The function's timeout; the integration may wait as long, but never longer than 900 s.
    function_timeout_seconds: int
    # Stage-wide steady rate (requests/s) and burst.
    throttle_rate_limit: int
    throttle_burst_limit: int
    # apiKey mode: requests per quota period per key (0 = no quota).
    quota_limit: int
    quota_period: str
    log_retention_days: int
    # Create the account-wide API Gateway CloudWatch role setting (one per account and region:
    # exactly one stack may own it; turn off when another stack or the platform team manages it).
    # Kept in AWS when the stack is destroyed, so the other stacks' logging keeps working.
    manage_account_settings: bool
    protect_stateful_resources: bool
    # Browser origins allowed to call the API, or ("*",) (settings.py validates them). Empty: no
    # OPTIONS /invoke route and no CORS headers on gateway errors.
    cors_allowed_origins: tuple[str, ...] = ()


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
        child = pulumi.ResourceOptions(parent=self)
        protect = args.protect_stateful_resources
        authorization, api_key_required = _method_authorization(args.auth_mode)
        if args.endpoint_type == "PRIVATE" and args.vpc_endpoint_id is None:
            raise ValueError("a PRIVATE API needs the execute-api VPC endpoint id")
        if (args.auth_mode == "cognito") != (args.cognito_user_pool_arn is not None):
            raise ValueError("cognito mode needs a user pool ARN, and only cognito mode takes one")

        api = aws.apigateway.RestApi(
            f"{name}-api",
            name=args.api_name,
            description="Streaming agent endpoint: POST /invoke",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types=args.endpoint_type),
            api_key_source="HEADER",
            opts=child,
        )

        # Resources the deployment must wait for and whose definition changes must redeploy.
        definition: list[pulumi.Resource] = []
        definition_inputs: list[Any] = [args.endpoint_type, authorization, api_key_required]

        if args.endpoint_type == "PRIVATE":
            policy_document = self._private_policy(args, api.execution_arn)
            policy = aws.apigateway.RestApiPolicy(
                f"{name}-policy", rest_api_id=api.id, policy=policy_document, opts=child,
            )
            definition.append(policy)
            definition_inputs.append(policy_document)
            # The endpoint's policy refers to the API and the API's policy to the endpoint, so it
            # is a resource of its own (an inline policy on the endpoint would make a cycle).
            aws.ec2.VpcEndpointPolicy(
                f"{name}-endpoint-policy",
                vpc_endpoint_id=args.vpc_endpoint_id,
                policy=api.execution_arn.apply(
                    lambda arn: json.dumps(policies.execute_api_endpoint_policy(f"{arn}/*"))
                ),
                opts=child,
            )

        route = aws.apigateway.Resource(
            f"{name}-invoke-resource",
            rest_api=api.id,
            parent_id=api.root_resource_id,
            path_part=ROUTE_PATH,
            opts=child,
        )
        authorizer_id: Optional[pulumi.Output[str]] = None
        if args.cognito_user_pool_arn is not None:
            # No authorization scopes on the method: API Gateway then validates the ID token
            # (audience = the pool's app client); access tokens would need scopes.
            authorizer = aws.apigateway.Authorizer(
                f"{name}-cognito-authorizer",
                rest_api=api.id,
                name="cognito",
                type="COGNITO_USER_POOLS",
                provider_arns=[args.cognito_user_pool_arn],
                identity_source=COGNITO_IDENTITY_SOURCE,
                opts=child,
            )
            authorizer_id = authorizer.id
            definition.append(authorizer)
            definition_inputs.append(args.cognito_user_pool_arn)

        model_schema = json.dumps(request_body_schema(), sort_keys=True)
        model = aws.apigateway.Model(
            f"{name}-invoke-model",
            rest_api=api.id,
            name="InvokeRequest",
            content_type="application/json",
            schema=model_schema,
            opts=child,
        )
        validator = aws.apigateway.RequestValidator(
            f"{name}-validator",
            rest_api=api.id,
            name="body",
            validate_request_body=True,
            validate_request_parameters=False,
            opts=child,
        )
        method = aws.apigateway.Method(
            f"{name}-invoke-method",
            rest_api=api.id,
            resource_id=route.id,
            http_method=ROUTE_METHOD,
            authorization=authorization,
            authorizer_id=authorizer_id,
            api_key_required=api_key_required,
            request_validator_id=validator.id,
            request_models={"application/json": model.name},
            opts=child,
        )
        timeout_ms = min(args.function_timeout_seconds * 1000, MAX_STREAM_INTEGRATION_MS)
        integration = aws.apigateway.Integration(
            f"{name}-invoke-integration",
            rest_api=api.id,
            resource_id=route.id,
            http_method=method.http_method,
            type="AWS_PROXY",
            integration_http_method="POST",
            # The response-streaming URI; the plain invoke_arn would buffer the whole answer.
            uri=args.function_streaming_invoke_arn,
            response_transfer_mode="STREAM",
            timeout_milliseconds=timeout_ms,
            opts=child,
        )
        definition += [route, model, validator, method, integration]
        definition_inputs += [ROUTE_METHOD, ROUTE_PATH, model_schema, args.function_streaming_invoke_arn, timeout_ms]

        origins = tuple(args.cors_allowed_origins)
        if origins:
            definition += self._preflight_route(name, api.id, route.id, origins)
            definition_inputs += [PREFLIGHT_METHOD, list(origins)]

        error_headers = {
            f"gatewayresponse.header.{header}": f"'{value}'"
            for header, value in gateway_error_cors_headers(origins).items()
        }
        for response_type, (status, code) in _GATEWAY_ERRORS.items():
            gateway_response = aws.apigateway.Response(
                f"{name}-error-{response_type.lower().replace('_', '-')}",
                rest_api_id=api.id,
                response_type=response_type,
                status_code=status,
                response_templates={"application/json": gateway_error_template(code)},
                response_parameters={
                    **error_headers,
                    **{
                        f"gatewayresponse.header.{header}": f"'{value}'"
                        for header, value in _GATEWAY_ERROR_HEADERS.get(response_type, {}).items()
                    },
                }
                or None,
                opts=child,
            )
            definition.append(gateway_response)
            definition_inputs += [response_type, status, code]

        aws.lambda_.Permission(
            f"{name}-invoke-permission",
            action="lambda:InvokeFunction",
            function=args.function_name,
            principal="apigateway.amazonaws.com",
            # Only this API's POST /invoke, in any stage, may call the function.
            source_arn=pulumi.Output.concat(api.execution_arn, f"/*/{ROUTE_METHOD}/{ROUTE_PATH}"),
            opts=child,
        )

        deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=api.id,
            description="POST /invoke",
            # A deployment is a snapshot: hash what it contains so any change makes a new one.
            triggers={"redeployment": pulumi.Output.json_dumps(definition_inputs).apply(
                lambda text: hashlib.sha256(text.encode("utf-8")).hexdigest()
            )},
            # A PRIVATE API deployed before its resource policy exists cannot be invoked.
            opts=pulumi.ResourceOptions(parent=self, depends_on=definition),
        )

        stage_dependencies: list[pulumi.Resource] = []
        if args.manage_account_settings:
            stage_dependencies.append(self._account_logging_role(name))

        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            # A generated suffix: a retained group (protect_stateful_resources) must not block
            # the next deployment of this stack with a name already in use.
            name_prefix=f"/aws/apigateway/{args.api_name}/access-",
            retention_in_days=args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        # API Gateway would create this group itself, without a retention; create it first.
        execution_logs = aws.cloudwatch.LogGroup(
            f"{name}-execution-logs",
            name=pulumi.Output.concat("API-Gateway-Execution-Logs_", api.id, f"/{STAGE_NAME}"),
            retention_in_days=args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*stage_dependencies, execution_logs]),
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
                throttling_rate_limit=args.throttle_rate_limit,
                throttling_burst_limit=args.throttle_burst_limit,
            ),
            opts=child,
        )

        self.api_key = None
        if api_key_required:
            self.api_key = self._api_key(name, args, api.id, stage.stage_name)

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

    def _preflight_route(
        self, name: str, api_id: pulumi.Output[str], resource_id: pulumi.Output[str], origins: tuple[str, ...]
    ) -> list[pulumi.Resource]:
        """OPTIONS /invoke answered by API Gateway itself (MOCK): 204 with the CORS headers.

        No authorization and no API key: a browser never sends credentials on a preflight, so
        requiring them would fail every cross-origin call. It reveals nothing and never reaches
        the Lambda. VTL response mapping is allowed here; only the STREAM integration forbids it.
        """
        child = pulumi.ResourceOptions(parent=self)
        static_headers = preflight_static_headers(origins)
        declared = sorted({*static_headers, ALLOW_ORIGIN})
        method = aws.apigateway.Method(
            f"{name}-preflight-method",
            rest_api=api_id,
            resource_id=resource_id,
            http_method=PREFLIGHT_METHOD,
            authorization="NONE",
            api_key_required=False,
            opts=child,
        )
        integration = aws.apigateway.Integration(
            f"{name}-preflight-integration",
            rest_api=api_id,
            resource_id=resource_id,
            http_method=method.http_method,
            type="MOCK",
            # MOCK picks its integration response from this status code.
            request_templates={"application/json": json.dumps({"statusCode": int(PREFLIGHT_STATUS)})},
            opts=child,
        )
        method_response = aws.apigateway.MethodResponse(
            f"{name}-preflight-method-response",
            rest_api=api_id,
            resource_id=resource_id,
            http_method=method.http_method,
            status_code=PREFLIGHT_STATUS,
            response_parameters={f"method.response.header.{header}": True for header in declared},
            opts=child,
        )
        template = preflight_origin_template(origins)
        integration_response = aws.apigateway.IntegrationResponse(
            f"{name}-preflight-integration-response",
            rest_api=api_id,
            resource_id=resource_id,
            http_method=method.http_method,
            status_code=method_response.status_code,
            # Static values are quoted; the template (several origins) adds Allow-Origin itself.
            response_parameters={
                f"method.response.header.{header}": f"'{value}'" for header, value in static_headers.items()
            },
            response_templates={"application/json": template} if template else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[integration]),
        )
        return [method, integration, method_response, integration_response]

    def _private_policy(self, args: StreamingApiArgs, execution_arn: pulumi.Output[str]) -> pulumi.Output[str]:
        """The PRIVATE API's resource policy; with IAM auth it allows the account root, not everyone."""
        account_root: pulumi.Input[Optional[str]] = None
        if args.auth_mode == "iam":
            caller = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
            partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=self))
            account_root = pulumi.Output.all(partition.partition, caller.account_id).apply(
                lambda v: policies.account_root(v[0], v[1])
            )
        return pulumi.Output.all(execution_arn, args.vpc_endpoint_id, account_root).apply(
            lambda v: json.dumps(policies.private_api_policy(f"{v[0]}/*", v[1], account_root_arn=v[2]))
        )

    def _account_logging_role(self, name: str) -> aws.apigateway.Account:
        """API Gateway's account-level CloudWatch role, without which stage logging fails.

        The setting is one per account and region and every stack's stages depend on it, so it and
        its role are retained when this stack is destroyed: pulumi_aws 7 (Terraform provider 6)
        otherwise resets the setting on delete, and deleting the role would leave the setting
        pointing at nothing. Either way every other stack's stage logging would break.
        """
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self))
        retained = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy], retain_on_delete=True),
        )

    def _api_key(
        self, name: str, args: StreamingApiArgs, api_id: pulumi.Output[str], stage_name: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        quota = None
        if args.quota_limit > 0:
            quota = aws.apigateway.UsagePlanQuotaSettingsArgs(limit=args.quota_limit, period=args.quota_period)
        plan = aws.apigateway.UsagePlan(
            f"{name}-usage-plan",
            description="Callers of POST /invoke",
            api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=api_id, stage=stage_name)],
            quota_settings=quota,
            throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(
                rate_limit=args.throttle_rate_limit,
                burst_limit=args.throttle_burst_limit,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        key = aws.apigateway.ApiKey(
            f"{name}-api-key",
            description="Generated key for POST /invoke",
            enabled=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.apigateway.UsagePlanKey(
            f"{name}-usage-plan-key",
            key_id=key.id,
            key_type="API_KEY",
            usage_plan_id=plan.id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return pulumi.Output.secret(key.value)
