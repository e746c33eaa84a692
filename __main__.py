"""agentcore-streaming: API Gateway (REST, streaming) -> proxy Lambda (LWA) -> AgentCore runtime.

Reads the stack's settings once, builds the deployable zips (so `pulumi up` needs no separate
build step), wires the components together and exports what a caller needs.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as pulumi_config

from components.agent_memory import NAME_BASE_MAX_LENGTH as MEMORY_NAME_BASE_MAX_LENGTH
from components.agent_memory import AgentMemory, AgentMemoryArgs
from components.agent_runtime import AgentRuntime, AgentRuntimeArgs, agent_artifact
from stack_config.auth import Cognito, ExistingUserPool, user_pool_to_create
from components.buckets import BUCKET_PREFIX_MAX_LENGTH
from components.custom_domain import CustomDomainName, CustomDomainNameArgs, VpcEndpointTarget
from components.guardrail import AppliedGuardrail, BedrockGuardrail, GuardrailArgs
from stack_config.guardrail import ExistingGuardrail
from stack_config.naming import agentcore_name, metrics_namespace, physical_name
from components.network import Network, NetworkArgs
from components.observability import MonitoredNames, Observability, ObservabilityArgs
from components.page_hosting import HostedSignIn, PageConfig, PageConfigArgs, PageHosting, PageHostingArgs
from components.private_access import PrivateAccess, PrivateAccessArgs
from components.proxy_function import ProxyFunction, ProxyFunctionArgs
from stack_config.settings import (
    PROJECT_CONFIG_KEYS,
    REGION_KEY,
    check_settings_namespace,
    parse_settings,
    settings_warnings,
)
from components.streaming_api import STAGE_NAME, StreamingApi, StreamingApiArgs
from components.user_pool import UserPool, UserPoolArgs, hosted_login_domain_prefix
from components.waf import Waf, WafArgs
from packager.artifacts import build_proxy_zip, bytecode_warning

REPO_ROOT = Path(__file__).resolve().parent


def read_config_values(project: str) -> dict[str, object]:
    """Raw values of every setting; Pulumi fills in the defaults declared in Pulumi.yaml."""
    project_config = pulumi.Config(project)
    values: dict[str, object] = {
        f"{project}:{key}": project_config.get(key) for key in PROJECT_CONFIG_KEYS
    }
    values[REGION_KEY] = pulumi.Config("aws").get("region")
    # A key Pulumi returned nothing for is left out, so parse_settings reports it as missing.
    return {key: value for key, value in values.items() if value is not None}


def every_config_key() -> set[str]:
    """Every key the stack's configuration holds, whatever its namespace.

    pulumi.Config reads one key at a time; the SDK lists none. The CLI hands the program the whole
    merged configuration as PULUMI_CONFIG (and the SDK's mocks through set_all_config).
    """
    return {*pulumi_config.CONFIG.get(), *pulumi_config.get_config_env()}


project = pulumi.get_project()
stack = pulumi.get_stack()
check_settings_namespace(project, stack, every_config_key())
settings = parse_settings(project, stack, read_config_values(project))
for warning in settings_warnings(settings):
    pulumi.log.warn(warning)

caller = aws.get_caller_identity_output()
partition_info = aws.get_partition_output()
partition = partition_info.partition


def name(role: str, max_length: int = 64) -> str:
    return physical_name(project, stack, role, max_length)


# Physical names the alarms and the dashboard refer to as well as the resources themselves.
api_name = name("api")
proxy_function_name = name("proxy")
web_acl_name = name("waf", max_length=128 - len("aws-waf-logs-")) if settings.waf_enabled else None
usage_metrics_namespace = metrics_namespace(project, stack) if settings.usage_metrics_enabled else None


network = None
if settings.needs_network:
    network = Network("network", NetworkArgs(
        vpc_id=settings.vpc_id,
        subnet_ids=settings.subnet_ids,
        cidr_block=settings.vpc_cidr,
        agent_zone_ids=settings.agent_zone_ids,
        subnet_ids_key=f"{project}:subnetIds",
    ))

agent_subnets = None
if settings.agent_in_vpc:
    assert network is not None  # settings.needs_network is true for a VPC-mode agent
    agent_subnets = network.private_subnets

memory_store = None
if settings.memory_enabled:
    memory = AgentMemory("memory", AgentMemoryArgs(
        memory_name_base=agentcore_name(project, stack, "memory", max_length=MEMORY_NAME_BASE_MAX_LENGTH),
        event_expiry_days=settings.memory_event_expiry_days,
        protect_stateful_resources=settings.protect_stateful_resources,
    ))
    memory_store = memory.store
    pulumi.export("memoryId", memory.memory_id)

applied_guardrail = None
if isinstance(settings.guardrail, ExistingGuardrail):
    existing_guardrail = settings.guardrail
    applied_guardrail = AppliedGuardrail(
        id=existing_guardrail.identifier,
        version=existing_guardrail.version,
        arn=pulumi.Output.all(partition, caller.account_id).apply(
            lambda v: existing_guardrail.arn(v[0], settings.region, v[1])
        ),
    )
elif settings.guardrail is not None:
    guardrail = BedrockGuardrail("guardrail", GuardrailArgs(
        guardrail_name=name("guardrail", max_length=50),
        policies=settings.guardrail,
        keep_old_versions=settings.protect_stateful_resources,
    ))
    applied_guardrail = guardrail.applied
if applied_guardrail is not None:
    pulumi.export("guardrailId", applied_guardrail.id)
    pulumi.export("guardrailVersion", applied_guardrail.version)

# Both artifacts are built before any component, so that a missing bytecode compiler is one warning.
built_agent_artifact = agent_artifact(settings.agent_artifact, REPO_ROOT)
proxy_zip = build_proxy_zip(REPO_ROOT)
missing_bytecode = bytecode_warning([proxy_zip, built_agent_artifact])
if missing_bytecode is not None:
    pulumi.log.warn(missing_bytecode)

agent = AgentRuntime("agent", AgentRuntimeArgs(
    runtime_name=agentcore_name(project, stack),
    model_id=settings.model_id,
    system_prompt=settings.system_prompt,
    max_sessions=settings.agent_max_sessions,
    max_tool_calls=settings.agent_max_tool_calls,
    stream_tool_content=settings.agent_stream_tool_content,
    idle_timeout_seconds=settings.agent_idle_timeout_seconds,
    max_lifetime_seconds=settings.agent_max_lifetime_seconds,
    max_output_tokens=settings.max_output_tokens,
    turn_time_limit_seconds=settings.turn_time_limit_seconds,
    artifact=built_agent_artifact,
    network=agent_subnets,
    partition=partition,
    region=settings.region,
    account_id=caller.account_id,
    bucket_name_prefix=name("code", max_length=BUCKET_PREFIX_MAX_LENGTH),
    protect_stateful_resources=settings.protect_stateful_resources,
    memory=memory_store,
    guardrail=applied_guardrail,
    production=settings.production,
))

# The hosted page comes before the proxy and the API, whose CORS lists need its origin. Two values it
# needs are known only later, and neither depends on the page, so they are deferred: the API's
# execute-api origin (for the page's CSP; it depends on the REST API's id alone) and, for Cognito,
# the login domain and app client (the client lists the page's URL as a callback).
page = None
page_sign_in = None
if settings.page_hosting:
    api_origin, resolve_api_origin = pulumi.deferred_output()
    if isinstance(settings.auth, Cognito):  # parse_settings allows only a pool the stack creates
        login_domain_url, resolve_login_domain_url = pulumi.deferred_output()
        login_client_id, resolve_login_client_id = pulumi.deferred_output()
        page_sign_in = HostedSignIn(domain_url=login_domain_url, client_id=login_client_id)
    page = PageHosting("page", PageHostingArgs(
        web_dir=REPO_ROOT / "web",
        bucket_name_prefix=name("page", max_length=BUCKET_PREFIX_MAX_LENGTH),
        access_control_name=name("page", max_length=64),
        headers_policy_name=name("page-headers", max_length=128),
        price_class=settings.page_price_class,
        # The execute-api origin, and the custom domain's (the URL config.js names) when one is set.
        api_origins=[api_origin, *([f"https://{settings.custom_domain.name}"] if settings.custom_domain else [])],
        sign_in=page_sign_in,
    ))

# The user pool comes before the proxy, which accepts only ID tokens of the stack's app client: the
# one it creates, or the one cognitoAppClientId names in an existing pool.
created_user_pool_arn = None
cognito_app_client_id = None
if isinstance(settings.auth, Cognito) and isinstance(settings.auth.pool, ExistingUserPool):
    cognito_app_client_id = settings.auth.pool.app_client_id
new_pool = user_pool_to_create(settings.auth)
if new_pool is not None:
    user_pool = UserPool("users", UserPoolArgs(
        pool_name=name("users", max_length=128),
        client_name=name("client", max_length=128),
        allow_self_sign_up=new_pool.allow_self_sign_up,
        protect_stateful_resources=settings.protect_stateful_resources,
        # Unique among all pools of the region: the account id makes it so.
        domain_prefix=caller.account_id.apply(lambda account: hosted_login_domain_prefix(name("login", max_length=50), account)),
        region=settings.region,
        # The hosted page (pageHosting) signs in and out through its own URL too.
        page_callback_urls=[*new_pool.page_callback_urls, *([page.url] if page is not None else [])],
        allow_password_auth=new_pool.allow_password_auth,
    ))
    if page_sign_in is not None:
        resolve_login_domain_url(user_pool.hosted_login_url)
        resolve_login_client_id(user_pool.client_id)
    created_user_pool_arn = user_pool.user_pool_arn
    cognito_app_client_id = user_pool.client_id
    pulumi.export("userPoolId", user_pool.user_pool_id)
    pulumi.export("userPoolClientId", user_pool.client_id)
    # The chat page's sign-in: its config.js `cognito` value (authMode "cognito").
    pulumi.export("cognitoHostedLoginUrl", user_pool.hosted_login_url)
    pulumi.export("pageCognitoConfig", user_pool.page_config)

proxy = ProxyFunction("proxy", ProxyFunctionArgs(
    function_name=proxy_function_name,
    code_zip=proxy_zip,
    runtime=agent,
    timeout_seconds=settings.function_timeout_seconds,
    stream_timeout_seconds=settings.stream_timeout_seconds,
    keepalive_seconds=settings.keepalive_seconds,
    max_prompt_chars=settings.max_prompt_chars,
    memory_mb=settings.proxy_memory_mb,
    log_level=settings.log_level,
    log_retention_days=settings.log_retention_days,
    lwa_layer_version=settings.lwa_layer_version,
    partition=partition,
    region=settings.region,
    protect_stateful_resources=settings.protect_stateful_resources,
    cors_allowed_origins=settings.cors_allowed_origins,
    page_origin=page.origin if page is not None else None,
    # Usage metrics (EMF in the proxy's log): one namespace per stack, read by the dashboard.
    metrics_namespace=usage_metrics_namespace or "",
    metrics_stack=stack if usage_metrics_namespace else "",
    cognito_app_client_id=cognito_app_client_id,
))

vpc_endpoint_id = None
vpc_endpoint_target = None
if settings.endpoint_type == "PRIVATE":
    assert network is not None  # settings.needs_network is true for PRIVATE
    private_access = PrivateAccess("private-access", PrivateAccessArgs(
        subnets=network.private_subnets,
        vpc_cidr=network.cidr_block,
        region=settings.region,
    ))
    vpc_endpoint_id = private_access.vpc_endpoint_id
    vpc_endpoint_target = VpcEndpointTarget(vpc_endpoint_id, private_access.dns_name, private_access.dns_zone_id)
    pulumi.export("vpcEndpointId", vpc_endpoint_id)

# A PRIVATE API's custom domain is created after the API (its mapping needs the stage), but the VPC
# endpoint's policy, which the API creates, must allow invoking the domain: deferred until it exists.
private_domain_invoke_arn = None
if settings.custom_domain is not None and settings.endpoint_type == "PRIVATE":
    private_domain_invoke_arn, resolve_private_domain_invoke_arn = pulumi.deferred_output()

api = StreamingApi("api", StreamingApiArgs(
    api_name=api_name,
    endpoint_type=settings.endpoint_type,
    vpc_endpoint_id=vpc_endpoint_id,
    auth=settings.auth,
    created_user_pool_arn=created_user_pool_arn,
    waf_enabled=settings.waf_enabled,
    function_name=proxy.function_name,
    function_streaming_invoke_arn=proxy.streaming_invoke_arn,
    function_timeout_seconds=settings.function_timeout_seconds,
    throttle=settings.throttle,
    log_retention_days=settings.log_retention_days,
    manage_account_settings=settings.manage_api_gateway_account,
    protect_stateful_resources=settings.protect_stateful_resources,
    cors_allowed_origins=settings.cors_allowed_origins,
    page_origin=page.origin if page is not None else None,
    disable_execute_api_endpoint=(
        settings.disable_execute_api_endpoint if settings.custom_domain is not None else None
    ),
    private_domain_invoke_arn=private_domain_invoke_arn,
))

# The URL users call: the custom domain's when there is one, else the stage's execute-api URL.
api_url, invoke_url = api.api_url, api.invoke_url
if settings.custom_domain is not None:
    custom_domain = CustomDomainName("domain", CustomDomainNameArgs(
        domain=settings.custom_domain,
        endpoint_type=settings.endpoint_type,
        rest_api_id=api.rest_api_id,
        stage_name=api.stage_name,
        partition=partition,
        region=settings.region,
        account_id=caller.account_id,
        vpc_endpoint=vpc_endpoint_target,
    ))
    if custom_domain.invoke_arn is not None:
        resolve_private_domain_invoke_arn(custom_domain.invoke_arn)
    api_url, invoke_url = custom_domain.url, custom_domain.invoke_url
    pulumi.export("executeApiUrl", api.api_url)
    pulumi.export("executeApiEnabled", not settings.disable_execute_api_endpoint)
    pulumi.export("customDomainName", settings.custom_domain.name)
    if custom_domain.target_domain_name is not None and settings.custom_domain.hosted_zone_id is None:
        # No hosted zone given: the user points the name here (alias, or CNAME at another DNS host).
        pulumi.export("customDomainTarget", custom_domain.target_domain_name)
        pulumi.export("customDomainTargetZoneId", custom_domain.target_zone_id)

if page is not None:
    resolve_api_origin(pulumi.Output.concat(
        "https://", api.rest_api_id, ".execute-api.", settings.region, ".", partition_info.dns_suffix
    ))
    # Last: config.js names the URL users call, which exists once the API is deployed.
    PageConfig("page-config", PageConfigArgs(
        bucket_id=page.bucket_id,
        api_url=api_url,
        auth_mode=settings.auth_mode,
        sign_in=page_sign_in,
    ))
    pulumi.export("pageUrl", page.url)

if web_acl_name is not None:
    waf = Waf("waf", WafArgs(
        web_acl_name=web_acl_name,
        stage_arn=api.stage_arn,
        rate_limit=settings.waf_rate_limit,
        log_retention_days=settings.log_retention_days,
        protect_stateful_resources=settings.protect_stateful_resources,
    ))
    pulumi.export("webAclArn", waf.web_acl_arn)
    pulumi.export("wafLogGroup", waf.log_group_name)

if settings.observability_enabled:
    observability = Observability("observability", ObservabilityArgs(
        names=MonitoredNames(
            region=settings.region,
            api_name=api_name,
            stage_name=STAGE_NAME,
            function_name=proxy_function_name,
            function_timeout_seconds=settings.function_timeout_seconds,
            web_acl_name=web_acl_name,
            metrics_namespace=usage_metrics_namespace,
            stack_name=stack,
            log_metrics_namespace=metrics_namespace(project, stack),
        ),
        alarm_name_prefix=f"{name('alarm')}-",
        topic_name=name("alarms", max_length=256),
        dashboard_name=name("stream", max_length=255),
        alarm_email=settings.alarm_email,
        partition=partition,
        account_id=caller.account_id,
        proxy_log_group_name=proxy.log_group_name,
    ))
    pulumi.export("alarmTopicArn", observability.topic_arn)
    pulumi.export("dashboardName", observability.dashboard_name)

pulumi.export("invokeUrl", invoke_url)
pulumi.export("apiUrl", api_url)
pulumi.export("restApiId", api.rest_api_id)
pulumi.export("runtimeArn", agent.runtime_arn)
pulumi.export("region", settings.region)
pulumi.export("authMode", settings.auth_mode)
pulumi.export("endpointType", settings.endpoint_type)
pulumi.export("proxyFunctionName", proxy.function_name)
pulumi.export("proxyLogGroup", proxy.log_group_name)
pulumi.export("apiAccessLogGroup", api.access_log_group_name)
pulumi.export("agentLogGroup", agent.log_group_name)
pulumi.export("agentArtifact", agent.artifact_location)
if api.api_key is not None:
    pulumi.export("apiKey", api.api_key)
