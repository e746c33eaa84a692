"""agentcore-streaming: API Gateway (REST, streaming) -> proxy Lambda (LWA) -> AgentCore runtime.

Reads the stack's settings once, builds the deployable zips (so `pulumi up` needs no separate
build step), wires the components together and exports what a caller needs.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.agent_memory import NAME_BASE_MAX_LENGTH as MEMORY_NAME_BASE_MAX_LENGTH
from components.agent_memory import AgentMemory, AgentMemoryArgs
from components.agent_runtime import AgentRuntime, AgentRuntimeArgs
from components.auth import user_pool_to_create
from components.naming import agentcore_name, metrics_namespace, physical_name
from components.network import Network, NetworkArgs
from components.observability import MonitoredNames, Observability, ObservabilityArgs
from components.private_access import PrivateAccess, PrivateAccessArgs
from components.proxy_function import ProxyFunction, ProxyFunctionArgs
from components.settings import PROJECT_CONFIG_KEYS, REGION_KEY, parse_settings, settings_warnings
from components.streaming_api import STAGE_NAME, StreamingApi, StreamingApiArgs
from components.user_pool import UserPool, UserPoolArgs
from components.waf import Waf, WafArgs
from packager.artifacts import agent_artifact, build_proxy_zip

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


project = pulumi.get_project()
stack = pulumi.get_stack()
settings = parse_settings(project, stack, read_config_values(project))
for warning in settings_warnings(settings):
    pulumi.log.warn(warning)

caller = aws.get_caller_identity_output()
partition = aws.get_partition_output().partition


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

agent = AgentRuntime("agent", AgentRuntimeArgs(
    runtime_name=agentcore_name(project, stack),
    model_id=settings.model_id,
    system_prompt=settings.system_prompt,
    max_sessions=settings.agent_max_sessions,
    idle_timeout_seconds=settings.agent_idle_timeout_seconds,
    max_lifetime_seconds=settings.agent_max_lifetime_seconds,
    artifact=agent_artifact(settings.agent_artifact, REPO_ROOT),
    network=agent_subnets,
    partition=partition,
    region=settings.region,
    account_id=caller.account_id,
    # S3 allows at most 37 characters for a bucket_prefix (it appends 26).
    bucket_name_prefix=name("code", max_length=37),
    protect_stateful_resources=settings.protect_stateful_resources,
    memory=memory_store,
))

proxy = ProxyFunction("proxy", ProxyFunctionArgs(
    function_name=proxy_function_name,
    code_zip=build_proxy_zip(REPO_ROOT),
    runtime=agent,
    timeout_seconds=settings.stream_timeout_seconds,
    stream_timeout_seconds=settings.proxy_stream_timeout_seconds,
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
    # Usage metrics (EMF in the proxy's log): one namespace per stack, read by the dashboard.
    metrics_namespace=usage_metrics_namespace or "",
    metrics_stack=stack if usage_metrics_namespace else "",
))

vpc_endpoint_id = None
if settings.endpoint_type == "PRIVATE":
    assert network is not None  # settings.needs_network is true for PRIVATE
    private_access = PrivateAccess("private-access", PrivateAccessArgs(
        subnets=network.private_subnets,
        vpc_cidr=network.cidr_block,
        region=settings.region,
    ))
    vpc_endpoint_id = private_access.vpc_endpoint_id
    pulumi.export("vpcEndpointId", vpc_endpoint_id)

created_user_pool_arn = None
new_pool = user_pool_to_create(settings.auth)
if new_pool is not None:
    user_pool = UserPool("users", UserPoolArgs(
        pool_name=name("users", max_length=128),
        client_name=name("client", max_length=128),
        allow_self_sign_up=new_pool.allow_self_sign_up,
        protect_stateful_resources=settings.protect_stateful_resources,
    ))
    created_user_pool_arn = user_pool.user_pool_arn
    pulumi.export("userPoolId", user_pool.user_pool_id)
    pulumi.export("userPoolClientId", user_pool.client_id)

api = StreamingApi("api", StreamingApiArgs(
    api_name=api_name,
    endpoint_type=settings.endpoint_type,
    vpc_endpoint_id=vpc_endpoint_id,
    auth=settings.auth,
    created_user_pool_arn=created_user_pool_arn,
    waf_enabled=settings.waf_enabled,
    function_name=proxy.function_name,
    function_streaming_invoke_arn=proxy.streaming_invoke_arn,
    function_timeout_seconds=settings.stream_timeout_seconds,
    throttle=settings.throttle,
    log_retention_days=settings.log_retention_days,
    manage_account_settings=settings.manage_api_gateway_account,
    protect_stateful_resources=settings.protect_stateful_resources,
    cors_allowed_origins=settings.cors_allowed_origins,
))

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
            function_timeout_seconds=settings.stream_timeout_seconds,
            web_acl_name=web_acl_name,
            metrics_namespace=usage_metrics_namespace,
            stack_name=stack,
        ),
        alarm_name_prefix=f"{name('alarm')}-",
        topic_name=name("alarms", max_length=256),
        dashboard_name=name("stream", max_length=255),
        alarm_email=settings.alarm_email,
        partition=partition,
        account_id=caller.account_id,
    ))
    pulumi.export("alarmTopicArn", observability.topic_arn)
    pulumi.export("dashboardName", observability.dashboard_name)

pulumi.export("invokeUrl", api.invoke_url)
pulumi.export("apiUrl", api.api_url)
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
