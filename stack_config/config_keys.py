"""Every configuration key of the stack, declared once: name, Pulumi type, default, allowed values and
description.

Everything else about a key is derived from this table: PROJECT_CONFIG_KEYS (what __main__ reads),
the allowed values and ranges parse_settings checks (stack_config/settings.py), and the configuration
table of docs/deploying.md (`python3 dev.py docs` writes it with tests/support/config_docs.py, which
reads the stack files; a test checks the committed one is the generated one). Pulumi.yaml's
`config:` block is the copy the Pulumi CLI needs: a test (tests/stack_config/test_infra_settings.py)
checks it declares exactly these keys with these types, defaults and descriptions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Mapping

from stack_config.auth import QUOTA_PERIODS
from streaming_shared.agent_config import DEFAULT_MAX_TOOL_CALLS, MAX_OUTPUT_TOKENS_RANGE, MAX_TOOL_CALLS_CEILING
from streaming_shared.auth_modes import AUTH_MODES
from streaming_shared.edge import (
    LOG_LEVELS,
    MAX_STREAM_LIMIT_SECONDS,
    MAX_STREAM_SECONDS,
    STREAM_LIMIT_HEADROOM_SECONDS,
)

# Pulumi's config types. An object has none: Pulumi's declarations cannot type one (pulumi/pulumi#11321),
# so Pulumi.yaml declares it without `type` and parse_settings checks it field by field.
STRING, INTEGER, BOOLEAN, ARRAY = "string", "integer", "boolean", "array"
OBJECT = None

# The agentArtifact values: a code zip on AgentCore's managed Python runtime, or a container image
# (components/agent_runtime.py has the packager build the one the stack asks for).
CODE_ARTIFACT = "code"
CONTAINER_ARTIFACT = "container"
AGENT_ARTIFACTS: tuple[str, ...] = (CODE_ARTIFACT, CONTAINER_ARTIFACT)
NETWORK_MODES: tuple[str, ...] = ("PUBLIC", "VPC")
# EDGE is left out on purpose: edge-optimized endpoints cut a silent stream after 30 s.
ENDPOINT_TYPES: tuple[str, ...] = ("REGIONAL", "PRIVATE")
# The only values CloudWatch Logs accepts for retention.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)
# The agent's turn time limit (turnTimeLimitSeconds); at most the stream limit (nobody reads past it).
MIN_TURN_TIME_LIMIT_SECONDS = 10
# Regional/private REST APIs drop a connection after 5 minutes without bytes.
MAX_IDLE_SECONDS = 300
# AgentCore Memory keeps raw conversation events this many days at most (the provider's range).
MEMORY_EVENT_EXPIRY_DAYS_RANGE = (7, 365)
# CloudFront's price classes for the hosted page, cheapest (fewest edge locations) first.
PAGE_PRICE_CLASSES: tuple[str, ...] = ("PriceClass_100", "PriceClass_200", "PriceClass_All")


@dataclass(frozen=True)
class ConfigKey:
    """One setting. `choices` (the values it takes) or `bounds` (an integer's inclusive range) are
    what parse_settings allows; other checks (grammars, keys that limit each other) live there."""

    name: str
    # STRING, INTEGER, BOOLEAN, ARRAY (of strings) or OBJECT.
    type: str | None
    default: Any
    description: str
    choices: tuple[Any, ...] = ()
    bounds: tuple[int, int] | None = None
    # Why a value above the maximum is refused, when the error should say so.
    above_maximum: str = ""
    # (link text, target relative to docs/deploying.md) the docs table points to for the details.
    see: tuple[str, str] | None = None

    @property
    def range(self) -> tuple[int, int] | None:
        """An integer key's inclusive range: its bounds, or the span of its choices."""
        if self.bounds is not None:
            return self.bounds
        return (min(self.choices), max(self.choices)) if self.type == INTEGER and self.choices else None


REGION_KEY = "aws:region"
# The AWS provider's key; declared by the provider, not in Pulumi.yaml's `config:` (its default for
# `pulumi new` is in Pulumi.yaml's `template:`), and listed in the docs table first.
REGION = ConfigKey(
    REGION_KEY, STRING, None,
    "AWS region of everything; must offer AgentCore Runtime (and AgentCore Memory with memoryEnabled).",
    see=("Regions, zones and model ids", "#regions-zones-and-model-ids"),
)

CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("production", BOOLEAN, False,
              "Marks a stack that serves real users; requires authentication and enables stricter checks."),
    ConfigKey("modelId", STRING, "us.anthropic.claude-haiku-4-5-20251001-v1:0",
              "Bedrock model id or cross-region inference profile id the agent calls (the runtime role may "
              "invoke only this one); a profile's geography prefix (us., eu., apac., jp., au., ca., us-gov.) "
              "must contain aws:region, global. works anywhere.",
              see=("Regions, zones and model ids", "#regions-zones-and-model-ids")),
    ConfigKey("systemPrompt", STRING, "You are a helpful assistant. Answer concisely.",
              "System prompt of the agent (AGENT_SYSTEM_PROMPT)."),
    ConfigKey("agentArtifact", STRING, "code",
              "How the agent ships: 'code' (zip in S3 on the managed PYTHON_3_13 runtime, no Docker needed) or "
              "'container' (arm64 image built from agent/ and pushed to ECR).",
              choices=AGENT_ARTIFACTS),
    ConfigKey("agentNetworkMode", STRING, "PUBLIC",
              "AgentCore network mode: 'PUBLIC' or 'VPC' (runs in the private subnets of vpcId or of a new VPC).",
              choices=NETWORK_MODES),
    ConfigKey("agentMaxSessions", INTEGER, 100,
              "Conversations the agent keeps in memory at once (AGENT_MAX_SESSIONS).",
              bounds=(1, 100_000)),
    ConfigKey("agentMaxToolCalls", INTEGER, DEFAULT_MAX_TOOL_CALLS,
              "Tool calls one turn may make before the agent stops it with TOOL_CALL_LIMIT "
              "(AGENT_MAX_TOOL_CALLS, 1..1000).",
              bounds=(1, MAX_TOOL_CALLS_CEILING), see=("Make it yours", "../README.md#make-it-yours")),
    ConfigKey("agentStreamToolContent", BOOLEAN, False,
              "Tool events carry the tool's input and result (AGENT_STREAM_TOOL_CONTENT); they may hold user data."),
    ConfigKey("agentIdleTimeoutSeconds", INTEGER, 900,
              "AgentCore lifecycle: seconds an idle session lives on (60..28800).",
              bounds=(60, 28800)),
    ConfigKey("agentMaxLifetimeSeconds", INTEGER, 28800,
              "AgentCore lifecycle: longest life of one session's microVM in seconds (60..28800, >= idle timeout).",
              bounds=(60, 28800)),
    ConfigKey("maxOutputTokens", INTEGER, 4096,
              "Most tokens one model call may answer with (1..64000; Bedrock's maxTokens, "
              "AGENT_MAX_OUTPUT_TOKENS). A longer answer ends with done stopReason max_tokens. Bounds what an "
              "abandoned turn costs (docs/costs.md).",
              bounds=MAX_OUTPUT_TOKENS_RANGE),
    ConfigKey("turnTimeLimitSeconds", INTEGER, 300,
              "The agent ends a turn that has run this many seconds (10..streamTimeoutSeconds; "
              "AGENT_TURN_TIME_LIMIT_SECONDS) with done stopReason time_limit, even when nobody reads it any more.",
              bounds=(MIN_TURN_TIME_LIMIT_SECONDS, MAX_STREAM_LIMIT_SECONDS)),
    ConfigKey("vpcId", STRING, "",
              "Existing VPC for a VPC-mode agent or a PRIVATE API; empty creates a new one when needed."),
    ConfigKey("subnetIds", ARRAY, [],
              "Private subnets of vpcId (set both or neither); for a VPC-mode agent each must be in a zone id "
              "AgentCore supports (checked at preview) and route to a NAT gateway or VPC endpoints."),
    ConfigKey("vpcCidr", STRING, "10.0.0.0/16",
              "CIDR block of a new VPC (unused with vpcId)."),
    ConfigKey("endpointType", STRING, "REGIONAL",
              "API Gateway endpoint type: 'REGIONAL' or 'PRIVATE' (reachable only through an execute-api VPC "
              "endpoint). EDGE is not offered: it cuts silent streams after 30 s.",
              choices=ENDPOINT_TYPES, see=("Reaching a PRIVATE API from a laptop", "#reaching-a-private-api-from-a-laptop")),
    ConfigKey("authMode", STRING, "apiKey",
              "Caller authentication on POST /invoke: 'none' (refused when production), 'apiKey' (generated key "
              "+ usage plan), 'iam' (SigV4) or 'cognito' (user-pool ID token as Authorization: Bearer).",
              choices=AUTH_MODES, see=("Authentication and sessions", "#authentication-and-sessions")),
    ConfigKey("cognitoUserPoolArn", STRING, "",
              "cognito mode: ARN of an existing user pool to trust; empty creates a new pool and an app client "
              "(exported as userPoolId and userPoolClientId)."),
    ConfigKey("cognitoAppClientId", STRING, "",
              "cognito mode with cognitoUserPoolArn (required then): the id of that pool's app client whose ID "
              "tokens the API accepts; the proxy refuses tokens of the pool's other app clients."),
    ConfigKey("cognitoAllowSelfSignUp", BOOLEAN, False,
              "cognito mode with a new pool: allow anyone to sign up; off, only administrators create users."),
    ConfigKey("cognitoAllowPasswordAuth", BOOLEAN, False,
              "cognito mode with a new pool: let the app client take ALLOW_USER_PASSWORD_AUTH (InitiateAuth with "
              "the password itself, e.g. aws cognito-idp initiate-auth --auth-flow USER_PASSWORD_AUTH); off, users "
              "sign in with SRP or the hosted login."),
    ConfigKey("pageCallbackUrls", ARRAY, [],
              "cognito mode with a new pool: URLs of chat pages that sign in with the pool's hosted login (each "
              "page's origin + path, e.g. http://localhost:8001/); https, or http only for localhost. They become "
              "the app client's callback and sign-out URLs."),
    ConfigKey("corsAllowedOrigins", ARRAY, [],
              "Browser origins allowed to call the API (CORS), e.g. https://chat.example.com; http only for "
              "localhost, 127.0.0.1 and [::1]; no path and no default port; or the single value '*'. Read with the "
              "proxy's origin grammar. Empty (default): no OPTIONS /invoke route, no CORS headers."),
    ConfigKey("pageHosting", BOOLEAN, False,
              "Serve the chat page (web/) from a private S3 bucket behind CloudFront, with a generated config.js "
              "naming the API; its origin joins corsAllowedOrigins automatically and the stack exports pageUrl.",
              see=("Share the page", "#share-the-page")),
    ConfigKey("pagePriceClass", STRING, "PriceClass_100",
              "CloudFront price class of the hosted page: PriceClass_100 (cheapest, North America and Europe "
              "edges), PriceClass_200 or PriceClass_All.",
              choices=PAGE_PRICE_CLASSES),
    ConfigKey("wafEnabled", BOOLEAN, False,
              "Attach a REGIONAL WAF web ACL (AWS managed rules + per-IP rate limit) to the stage."),
    # WAF's rate-based rule counts requests per IP over 5 minutes; AWS's minimum is 10.
    ConfigKey("wafRateLimit", INTEGER, 1000,
              "WAF rate-based rule, requests per source IP per 5 minutes.",
              bounds=(10, 2_000_000_000)),
    ConfigKey("throttleRateLimit", INTEGER, 5,
              "Stage (and usage plan) steady-state requests per second.",
              bounds=(1, 10_000)),
    ConfigKey("throttleBurstLimit", INTEGER, 10,
              "Stage (and usage plan) burst.",
              bounds=(1, 5_000)),
    ConfigKey("quotaLimit", INTEGER, 1000,
              "apiKey mode, requests per quotaPeriod per key; 0 disables the quota.",
              bounds=(0, 2_000_000_000)),
    ConfigKey("quotaPeriod", STRING, "DAY",
              "Quota period: 'DAY', 'WEEK' or 'MONTH'.",
              choices=QUOTA_PERIODS),
    ConfigKey("manageApiGatewayAccount", BOOLEAN, True,
              "Own the account-wide API Gateway CloudWatch Logs role setting (one per account and region; stage "
              "logging fails without it). Exactly one stack per account and region may own it: dev does, prod "
              "(which shares dev's account by default) does not. Kept in AWS on destroy."),
    ConfigKey("streamTimeoutSeconds", INTEGER, MAX_STREAM_LIMIT_SECONDS,
              f"Stream limit in seconds (60..{MAX_STREAM_LIMIT_SECONDS}): the proxy ends a longer stream with an "
              f"error event STREAM_TIMEOUT. The Lambda timeout and the integration timeout are "
              f"{STREAM_LIMIT_HEADROOM_SECONDS} s longer: API Gateway's {MAX_STREAM_SECONDS} s "
              "maximum counts from the request, the function's init included.",
              bounds=(60, MAX_STREAM_LIMIT_SECONDS),
              above_maximum=f"API Gateway ends a stream after {MAX_STREAM_SECONDS} s counted from the request, the "
                            f"function's init included, and the proxy must end it first "
                            f"({STREAM_LIMIT_HEADROOM_SECONDS} s earlier)"),
    ConfigKey("keepaliveSeconds", INTEGER, 15,
              "Seconds of agent silence before the proxy sends an SSE keep-alive comment (API Gateway drops 5 "
              "idle minutes).",
              bounds=(1, MAX_IDLE_SECONDS - 30)),
    ConfigKey("maxPromptChars", INTEGER, 8000,
              "Longest prompt the proxy accepts, in characters.",
              bounds=(1, 200_000)),
    ConfigKey("proxyMemoryMb", INTEGER, 512,
              "Memory of the proxy Lambda in MB.",
              bounds=(128, 10_240)),
    ConfigKey("lwaLayerVersion", INTEGER, 28,
              "Version of the Lambda Web Adapter layer LambdaAdapterLayerArm64 (account 753240598075); the "
              "adapter's README names 26 for v1.0.0-rc1, which release 28 holds is unverified (docs/aws-facts.md, "
              "\"Library behaviour the proxy and agent rely on\").",
              bounds=(1, 10_000),
              see=("Library behaviour", "aws-facts.md#library-behaviour-the-proxy-and-agent-rely-on")),
    ConfigKey("logLevel", STRING, "INFO",
              "Proxy log level: 'INFO', 'WARNING' or 'ERROR' (never DEBUG: Lambda Web Adapter would log request "
              "headers, keys and tokens).",
              choices=LOG_LEVELS),
    ConfigKey("logRetentionDays", INTEGER, 7,
              "Retention of every log group the stack creates (a CloudWatch-allowed value such as 7, 30, 365).",
              choices=LOG_RETENTION_DAYS),
    ConfigKey("protectStatefulResources", BOOLEAN, False,
              "Protect and retain the stateful resources: the code bucket, the log groups, the memory and the "
              "user pool (pulumi destroy then leaves them in place; their names carry a generated suffix, so a "
              "redeploy never collides with what a destroy left).",
              see=("Destroying", "#destroying")),
    ConfigKey("memoryEnabled", BOOLEAN, False,
              "Durable conversation memory: an AgentCore Memory resource the agent's session manager writes to "
              "(AGENT_MEMORY_ID), so a conversation survives a new microVM."),
    ConfigKey("memoryEventExpiryDays", INTEGER, 30,
              "Days AgentCore Memory keeps raw conversation events (7..365).",
              bounds=MEMORY_EVENT_EXPIRY_DAYS_RANGE),
    ConfigKey("observabilityEnabled", BOOLEAN, False,
              "CloudWatch alarms (API 5XX rate, Lambda errors, throttles, duration near the stream limit, WAF "
              "blocked spikes) to a KMS-encrypted SNS topic, and a dashboard of the stream path."),
    ConfigKey("alarmEmail", STRING, "",
              "E-mail address subscribed to the alarm topic (needs observabilityEnabled; the address must confirm "
              "the subscription). A production stack with alarms and no address warns at preview: the alarms would "
              "reach no one."),
    ConfigKey("customDomain", OBJECT, {},
              "Custom domain callers use instead of the execute-api URL: {name, certificateArn?, hostedZoneId?}. "
              "REGIONAL: a TLS 1.2 regional domain name mapped to the stage; certificateArn (ACM, in aws:region) "
              "or hostedZoneId (the program requests the certificate and validates it by DNS) or both; with "
              "hostedZoneId an alias record. PRIVATE: a private custom domain name with an access association to "
              "the stack's VPC endpoint; certificateArn required, hostedZoneId (a private hosted zone of the VPC) "
              "gets the alias record. Empty: no custom domain. apiUrl and invokeUrl then use the domain.",
              see=("Custom domain", "#custom-domain")),
    ConfigKey("disableExecuteApiEndpoint", BOOLEAN, False,
              "With customDomain on a REGIONAL API: refuse calls to the default execute-api URL (403), so callers "
              "use only the custom domain. Refused without customDomain on a REGIONAL API (it would leave no URL); "
              "no effect on a PRIVATE API, which keeps its execute-api endpoint behind the VPC endpoint."),
    ConfigKey("guardrail", OBJECT, {"enabled": False},
              "Bedrock guardrail the agent's model applies to every prompt and answer (docs/deploying.md, "
              "Guardrails). {enabled: false} (default) for none; {enabled: true, contentFilters: [{type, "
              "inputStrength, outputStrength}], deniedTopics: [{name, definition, examples}], piiEntities: [{type, "
              "action}], blockedInputMessage, blockedOutputMessage} to create one; or {id, version} to apply an "
              "existing guardrail (version a number, or DRAFT outside production). A blocked turn ends in an error "
              "event CONTENT_BLOCKED.",
              see=("Guardrails", "#guardrails")),
    ConfigKey("usageMetricsEnabled", BOOLEAN, False,
              "Per-stack CloudWatch metrics (InputTokens, OutputTokens, TotalTokens, Turns, TurnDurationMs) in "
              "embedded metric format in the proxy's usage records, and their dashboard widgets; the usage records "
              "themselves are always logged.",
              see=("Usage metering", "#usage-metering")),
)

DECLARED: Mapping[str, ConfigKey] = {key.name: key for key in (REGION, *CONFIG_KEYS)}
# Every project key parse_settings reads (__main__ reads these from the stack's configuration).
PROJECT_CONFIG_KEYS: tuple[str, ...] = tuple(key.name for key in CONFIG_KEYS)
# Keys whose value is an object (declared in Pulumi.yaml without a `type`; the CLI then accepts any
# value, as `pulumi config set --path customDomain.name ...` writes an object).
OBJECT_CONFIG_KEYS: tuple[str, ...] = tuple(key.name for key in CONFIG_KEYS if key.type is OBJECT)


def _same(one: Any, other: Any) -> bool:
    """Equal values of the same type: `false` and `0` (equal in Python) are different settings."""
    return type(one) is type(other) and one == other


# --- the docs table --------------------------------------------------------------------------------

DOCS_PAGE = PurePosixPath("docs/deploying.md")
TABLE_START = ("<!-- The table below is generated from stack_config/config_keys.py and the stack files by "
               "`python3 dev.py docs`: edit those, then run it. -->")
TABLE_END = "<!-- end of the generated configuration table -->"


def _shown(value: Any) -> str:
    """A value as the docs table shows it: YAML-like (false, "", [], {enabled: false}), in code marks."""
    if value is None:
        return ""
    return f"`{_yaml_like(value, nested=False)}`"


def _yaml_like(value: Any, nested: bool) -> str:
    if isinstance(value, Mapping):
        if nested:
            return "{…}" if value else "{}"
        return "{" + ", ".join(f"{field}: {_yaml_like(item, True)}" for field, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        if nested and value:
            return "[…]"
        return "[" + ", ".join(_yaml_like(item, True) for item in value) + "]"
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value)


def _allowed(key: ConfigKey) -> str:
    if key.choices:
        return ", ".join(f"`{choice}`" for choice in key.choices)
    if key.bounds is not None:
        return f"{key.bounds[0]}–{key.bounds[1]}"
    return ""


def _meaning(key: ConfigKey) -> str:
    text = key.description.replace("|", "\\|")
    return text + (f" See [{key.see[0]}]({key.see[1]})." if key.see else "")


def settings_table(project: str, stacks: Mapping[str, Mapping[str, Any]]) -> str:
    """The docs' configuration table: one row per key, and what each stack file sets that differs from
    the default (blank: the default)."""
    header = ["key", "type", "default", "allowed", *stacks, "meaning"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for key in (REGION, *CONFIG_KEYS):
        full = key.name if ":" in key.name else f"{project}:{key.name}"
        set_by = [_shown(config[full]) if full in config and not _same(config[full], key.default) else ""
                  for config in stacks.values()]
        cells = [f"`{key.name}`", key.type or "object", _shown(key.default), _allowed(key), *set_by, _meaning(key)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def with_settings_table(page: str, table: str) -> str:
    """The docs page with `table` between the generated table's markers (the rest as it is)."""
    before, start, rest = page.partition(TABLE_START)
    _, end, after = rest.partition(TABLE_END)
    if not (start and end):
        raise ValueError(f"{DOCS_PAGE} lacks the generated table's markers ({TABLE_START!r} ... {TABLE_END!r})")
    return f"{before}{TABLE_START}\n{table}\n{TABLE_END}{after}"
