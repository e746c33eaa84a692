"""Stack settings: every configuration value the program uses, read and validated once.

`parse_settings` takes a plain mapping of config key -> value (strings as Pulumi hands them over,
or already-typed values), so it is testable without Pulumi. Components receive the resulting
frozen `Settings` and never read `pulumi.Config` themselves.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit
from typing import Any, Callable, Iterable, Mapping, TypeVar

from stack_config import regions
from stack_config.auth import (
    ApiKey,
    Auth,
    Cognito,
    ExistingUserPool,
    Iam,
    NewUserPool,
    NoAuth,
    Quota,
    Throttle,
)
from stack_config.config_keys import ARRAY, BOOLEAN, DECLARED, INTEGER, PROJECT_CONFIG_KEYS, REGION_KEY, STRING, ConfigKey
from stack_config.domain_names import CustomDomain, CustomDomainError, parse_custom_domain
from stack_config.guardrail import Guardrail, GuardrailConfigError, parse_guardrail
from streaming_shared.edge import (
    APP_CLIENT_ID_PATTERN,
    ORIGIN_FORMS,
    REFUSED_LOG_LEVEL_REASON,
    REFUSED_LOG_LEVELS,
    SettingsError,
    STREAM_LIMIT_HEADROOM_SECONDS,
    OriginError,
    parse_allowed_origins,
)

PROJECT = "agentcore-streaming"


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    region: str
    # Marks a stack that serves real users: it must authenticate callers.
    production: bool

    # Agent
    model_id: str
    system_prompt: str
    agent_artifact: str
    agent_network_mode: str
    agent_max_sessions: int
    # Tool calls per turn (AGENT_MAX_TOOL_CALLS), and whether tool events carry input and result.
    agent_max_tool_calls: int
    agent_stream_tool_content: bool
    agent_idle_timeout_seconds: int
    agent_max_lifetime_seconds: int
    # Bounds on one turn, enforced by the agent: the model's output tokens per call (Bedrock
    # maxTokens) and the seconds after which the agent ends the turn.
    max_output_tokens: int
    turn_time_limit_seconds: int

    # Network (used by a VPC-mode agent and by a PRIVATE endpoint)
    vpc_id: str | None
    subnet_ids: tuple[str, ...]
    vpc_cidr: str

    # API
    endpoint_type: str
    # How callers authenticate, with what that mode needs (stack_config/auth.py).
    auth: Auth
    waf_enabled: bool
    waf_rate_limit: int
    # Stage-wide steady rate and burst (an API key's usage plan repeats them per key).
    throttle: Throttle
    manage_api_gateway_account: bool
    # Browser origins allowed to call the API (CORS), lower-cased, or ("*",); empty = no CORS at all.
    cors_allowed_origins: tuple[str, ...]

    # Proxy. stream_timeout_seconds is the stream limit: the proxy ends a stream then (Lambda's and
    # the integration's timeouts are function_timeout_seconds).
    stream_timeout_seconds: int
    keepalive_seconds: int
    max_prompt_chars: int
    proxy_memory_mb: int
    lwa_layer_version: int
    log_level: str

    # Durable conversation memory (AgentCore Memory) and how long its raw events live.
    memory_enabled: bool
    memory_event_expiry_days: int

    # Operations
    log_retention_days: int
    protect_stateful_resources: bool
    # Alarms, their SNS topic and the dashboard; alarm_email subscribes one address (or None).
    observability_enabled: bool
    alarm_email: str | None
    # Per-stack CloudWatch metrics (EMF) in the proxy's usage records; the records are logged anyway.
    usage_metrics_enabled: bool

    # The chat page (web/) served by the stack from a private S3 bucket behind CloudFront, and
    # CloudFront's price class for it.
    page_hosting: bool = False
    page_price_class: str = "PriceClass_100"

    # Custom domain (stack_config/domain_names.py): the host callers use instead of execute-api, or
    # None. disable_execute_api_endpoint is the effective value: true only for a REGIONAL API with
    # a custom domain whose stack asked for it (a PRIVATE API keeps its endpoint; see docs/deploying.md, "Custom domain").
    custom_domain: CustomDomain | None = None
    disable_execute_api_endpoint: bool = False

    # Bedrock guardrail the agent's model applies to prompts and answers: one the stack creates
    # (NewGuardrail), an existing one (ExistingGuardrail), or None (off).
    guardrail: Guardrail | None = None

    @property
    def auth_mode(self) -> str:
        """The authMode config value the stack was built from ("none", "apiKey", ...)."""
        return self.auth.mode

    @property
    def agent_in_vpc(self) -> bool:
        return self.agent_network_mode == "VPC"

    @property
    def agent_zone_ids(self) -> tuple[str, ...] | None:
        """The zone ids AgentCore VPC mode accepts here, when the agent runs in the VPC; else None.

        parse_settings has checked that a region with a VPC-mode agent has them.
        """
        return regions.vpc_zone_ids(self.region) if self.agent_in_vpc else None

    @property
    def needs_network(self) -> bool:
        return self.agent_in_vpc or self.endpoint_type == "PRIVATE"

    @property
    def creates_vpc(self) -> bool:
        return self.needs_network and self.vpc_id is None

    @property
    def function_timeout_seconds(self) -> int:
        """The proxy function's timeout and the API integration's: the stream limit plus the headroom
        that lets the proxy, not Lambda or API Gateway, end every stream (edge.py)."""
        return self.stream_timeout_seconds + STREAM_LIMIT_HEADROOM_SECONDS


T = TypeVar("T")


class _Reader:
    """Reads one project-namespaced key at a time and turns bad values into SettingsError.

    What a key allows (its choices, an integer's range) comes from its declaration in
    stack_config/config_keys.py; reading a key that is not declared, or as another type, is a bug.
    """

    def __init__(self, project: str, values: Mapping[str, Any]) -> None:
        self._project = project
        self._values = values

    @property
    def values(self) -> Mapping[str, Any]:
        return self._values

    def full_key(self, key: str) -> str:
        return key if ":" in key else f"{self._project}:{key}"

    def raw(self, key: str) -> Any:
        """The value as given, for settings parsed by a module of their own."""
        self.declared(key)
        return self._raw(key)

    @staticmethod
    def declared(key: str, *types: str | None) -> ConfigKey:
        """The key's declaration, which must have one of `types` (any, when none is given)."""
        declaration = DECLARED.get(key)
        if declaration is None:
            raise LookupError(f"parse_settings reads {key!r}, which stack_config/config_keys.py does not declare")
        if types and declaration.type not in types:
            raise LookupError(f"parse_settings reads {key!r} as {' or '.join(map(str, types))}, but "
                              f"stack_config/config_keys.py declares it as {declaration.type or 'an object'}")
        return declaration

    def _raw(self, key: str) -> Any:
        full = self.full_key(key)
        # Accept both "project:key" (Pulumi's form) and the bare key (handy in unit tests).
        if full in self._values:
            return self._values[full]
        if key in self._values:
            return self._values[key]
        raise SettingsError(f"{full} is not set; declare it in Pulumi.yaml or the stack file")

    def _fail(self, key: str, value: Any, expected: str) -> SettingsError:
        return SettingsError(f"{self.full_key(key)} must be {expected}, got {value!r}")

    def string(self, key: str, *, allow_empty: bool = False) -> str:
        self.declared(key, STRING)
        value = self._raw(key)
        if not isinstance(value, str):
            raise self._fail(key, value, "a string")
        if not allow_empty and not value.strip():
            raise self._fail(key, value, "a non-empty string")
        return value

    def choice(self, key: str) -> str:
        choices = self.declared(key, STRING).choices
        value = self._raw(key)
        if value not in choices:
            raise self._fail(key, value, "one of " + ", ".join(repr(c) for c in choices))
        return value

    def integer(self, key: str) -> int:
        declaration = self.declared(key, INTEGER)
        if declaration.range is None:
            raise LookupError(f"stack_config/config_keys.py declares no range for the integer {key!r}")
        minimum, maximum = declaration.range
        value = self._raw(key)
        if isinstance(value, bool):
            raise self._fail(key, value, "an integer")
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise self._fail(key, value, "an integer") from None
        if not isinstance(value, int):
            raise self._fail(key, value, "an integer")
        if value > maximum and declaration.above_maximum:
            self.check(key, False, f"must be at most {maximum}, got {value}: {declaration.above_maximum}")
        if not minimum <= value <= maximum:
            raise self._fail(key, value, f"between {minimum} and {maximum}")
        if declaration.choices and value not in declaration.choices:
            raise self._fail(key, value, "one of " + ", ".join(str(choice) for choice in declaration.choices))
        return value

    def boolean(self, key: str) -> bool:
        self.declared(key, BOOLEAN)
        value = self._raw(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise self._fail(key, value, "true or false")

    def string_list(self, key: str) -> tuple[str, ...]:
        self.declared(key, ARRAY)
        value = self._raw(key)
        # Pulumi hands array config to programs as a JSON string.
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except json.JSONDecodeError:
                raise self._fail(key, value, "a JSON list of strings") from None
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, value, "a list of strings")
        return tuple(value)

    def check(self, key: str, ok: bool, message: str) -> None:
        self.declared(key)
        if not ok:
            raise SettingsError(f"{self.full_key(key)}: {message}")

    def parsed(self, key: str, parse: Callable[[Any], T], expected: str) -> T:
        self.declared(key, STRING)
        value = self._raw(key)
        try:
            return parse(value)
        except (TypeError, ValueError):
            raise self._fail(key, value, expected) from None


_USER_POOL_ARN = re.compile(r"^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool/[\w-]+_[0-9a-zA-Z]+$")
# Deliberately loose: SNS sends a confirmation mail, which is the real check.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _parse_user_pool_arn(value: Any) -> str | None:
    if not isinstance(value, str):
        raise ValueError(value)
    if not value.strip():
        return None
    if not _USER_POOL_ARN.match(value.strip()):
        raise ValueError(value)
    return value.strip()


def _parse_app_client_id(value: Any) -> str | None:
    if not isinstance(value, str):
        raise ValueError(value)
    if not value.strip():
        return None
    if not APP_CLIENT_ID_PATTERN.fullmatch(value.strip()):
        raise ValueError(value)
    return value.strip()


def _parse_email(value: Any) -> str | None:
    if not isinstance(value, str):
        raise ValueError(value)
    if not value.strip():
        return None
    if not _EMAIL.match(value.strip()):
        raise ValueError(value)
    return value.strip()


_CIDR = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$")


def _parse_cidr(value: Any) -> str:
    match = _CIDR.match(value) if isinstance(value, str) else None
    if not match or any(int(p) > 255 for p in match.groups()[:4]) or not 16 <= int(match[5]) <= 24:
        raise ValueError(value)
    return value


# The command that moves a stack file's settings to the project's namespace (dev.py, adopt-project-name).
ADOPT_PROJECT_NAME_COMMAND = "python3 dev.py adopt-project-name"


def check_settings_namespace(project: str, stack: str, config_keys: Iterable[str]) -> None:
    """Stop when a setting of this program sits under another namespace than the project's name.

    Pulumi hands the program every key of the stack, but the program reads `<project>:<key>` only,
    and Pulumi.yaml's defaults arrive under the project's name too (`pulumi new` renames the project
    and leaves the stack files' old `<name>:` keys as they were). Such keys would be ignored and the
    stack deployed with defaults: a production stack as a public dev one.
    """
    misplaced: dict[str, list[str]] = {}
    for full_key in sorted(config_keys):
        namespace, separator, key = full_key.partition(":")
        if separator and namespace != project and key in PROJECT_CONFIG_KEYS:
            misplaced.setdefault(namespace, []).append(full_key)
    if not misplaced:
        return
    found = "; ".join(f"'{namespace}:' ({', '.join(keys)})" for namespace, keys in misplaced.items())
    commands = " and ".join(f"`{ADOPT_PROJECT_NAME_COMMAND} {namespace}`" for namespace in misplaced)
    raise SettingsError(
        f"stack {stack!r} sets this program's settings under {found}, but the project is named "
        f"{project!r} (Pulumi.yaml `name:`) and the program reads only '{project}:<key>': they would be "
        f"ignored and the stack deployed with Pulumi.yaml's defaults. Rename the keys in "
        f"Pulumi.{stack}.yaml (and the other stack files) to '{project}:<key>': run {commands} in the "
        f"project folder, then preview again."
    )


def parse_settings(project: str, stack: str, values: Mapping[str, Any]) -> Settings:
    """Validate every setting; raise SettingsError naming the first bad key."""
    read = _Reader(project, values)
    # Keys that limit each other are read, and checked, together first.
    vpc_id, subnet_ids = _read_existing_network(read)
    stream_timeout, keepalive = _read_stream_timing(read)
    idle, lifetime = _read_agent_lifecycle(read)
    cors_allowed_origins = _read_cors_origins(read)
    retention = read.integer("logRetentionDays")
    region = _read_region(read)
    production = read.boolean("production")
    throttle = _read_throttle(read)
    settings = Settings(
        project=project,
        stack=stack,
        region=region,
        production=production,
        model_id=read.string("modelId"),
        system_prompt=read.string("systemPrompt"),
        agent_artifact=read.choice("agentArtifact"),
        agent_network_mode=read.choice("agentNetworkMode"),
        agent_max_sessions=read.integer("agentMaxSessions"),
        **_read_agent_tools(read),
        agent_idle_timeout_seconds=idle,
        agent_max_lifetime_seconds=lifetime,
        **_read_turn_limits(read, stream_timeout),
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        vpc_cidr=read.parsed("vpcCidr", _parse_cidr, "an IPv4 CIDR from /16 to /24"),
        endpoint_type=read.choice("endpointType"),
        auth=_parse_auth(read, throttle, production),
        waf_enabled=read.boolean("wafEnabled"),
        waf_rate_limit=read.integer("wafRateLimit"),
        throttle=throttle,
        manage_api_gateway_account=read.boolean("manageApiGatewayAccount"),
        cors_allowed_origins=cors_allowed_origins,
        stream_timeout_seconds=stream_timeout,
        keepalive_seconds=keepalive,
        max_prompt_chars=read.integer("maxPromptChars"),
        proxy_memory_mb=read.integer("proxyMemoryMb"),
        lwa_layer_version=read.integer("lwaLayerVersion"),
        log_level=_read_log_level(read),
        memory_enabled=read.boolean("memoryEnabled"),
        memory_event_expiry_days=read.integer("memoryEventExpiryDays"),
        log_retention_days=retention,
        protect_stateful_resources=read.boolean("protectStatefulResources"),
        observability_enabled=read.boolean("observabilityEnabled"),
        alarm_email=read.parsed("alarmEmail", _parse_email, "empty or an e-mail address"),
        page_hosting=read.boolean("pageHosting"),
        page_price_class=read.choice("pagePriceClass"),
        guardrail=_read_guardrail(read, production),
        usage_metrics_enabled=read.boolean("usageMetricsEnabled"),
    )
    _check_page_hosting(read, settings)
    read.check("alarmEmail", settings.alarm_email is None or settings.observability_enabled,
               "needs observabilityEnabled: true (the alarms and their topic)")
    _check_region_fits(read, settings)
    return dataclasses.replace(settings, **_read_custom_domain(read, settings))


def _read_agent_tools(read: _Reader) -> dict[str, Any]:
    """The bound on one turn's tool calls, and whether tool events carry input and result."""
    return {
        "agent_max_tool_calls": read.integer("agentMaxToolCalls"),
        "agent_stream_tool_content": read.boolean("agentStreamToolContent"),
    }


def _read_throttle(read: _Reader) -> Throttle:
    return Throttle(
        rate_limit=read.integer("throttleRateLimit"),
        burst_limit=read.integer("throttleBurstLimit"),
    )


def _read_guardrail(read: _Reader, production: bool) -> Guardrail | None:
    """The `guardrail` object; an error names the field inside it, e.g. guardrail.contentFilters[0].type."""
    # Optional: a stack file written before guardrails existed has no guardrail at all.
    if read.full_key("guardrail") not in read.values and "guardrail" not in read.values:
        return None
    try:
        return parse_guardrail(read.raw("guardrail"), production)
    except GuardrailConfigError as error:
        where = read.full_key("guardrail") + (f".{error.field}" if error.field else "")
        raise SettingsError(f"{where} {error.message}") from None


def _read_existing_network(read: _Reader) -> tuple[str | None, tuple[str, ...]]:
    vpc_id = read.string("vpcId", allow_empty=True).strip() or None
    subnet_ids = read.string_list("subnetIds")
    read.check("subnetIds", (vpc_id is None) == (not subnet_ids),
               "vpcId and subnetIds go together: set both to use an existing VPC, or neither")
    return vpc_id, subnet_ids


def _read_stream_timing(read: _Reader) -> tuple[int, int]:
    stream_timeout = read.integer("streamTimeoutSeconds")
    keepalive = read.integer("keepaliveSeconds")
    read.check("keepaliveSeconds", keepalive < stream_timeout,
               "must be shorter than streamTimeoutSeconds")
    return stream_timeout, keepalive


def _read_turn_limits(read: _Reader, stream_timeout: int) -> dict[str, int]:
    """maxOutputTokens and turnTimeLimitSeconds, as Settings fields."""
    max_output_tokens = read.integer("maxOutputTokens")
    limit = read.integer("turnTimeLimitSeconds")
    read.check("turnTimeLimitSeconds", limit <= stream_timeout,
               f"must be at most streamTimeoutSeconds ({stream_timeout}), got {limit}: the proxy ends the "
               "stream then, and nobody reads the rest of the turn")
    return {"max_output_tokens": max_output_tokens, "turn_time_limit_seconds": limit}


def _read_agent_lifecycle(read: _Reader) -> tuple[int, int]:
    idle = read.integer("agentIdleTimeoutSeconds")
    lifetime = read.integer("agentMaxLifetimeSeconds")
    read.check("agentMaxLifetimeSeconds", lifetime >= idle,
               "must be at least agentIdleTimeoutSeconds")
    return idle, lifetime


def _read_cors_origins(read: _Reader) -> tuple[str, ...]:
    cors_entries = read.string_list("corsAllowedOrigins")
    try:
        # The one origin grammar, the same the proxy and the local gateway read their origins with.
        return parse_allowed_origins(cors_entries)
    except OriginError as error:
        raise SettingsError(
            f"{read.full_key('corsAllowedOrigins')}: {error}; allowed: {ORIGIN_FORMS}"
        ) from None


def _read_log_level(read: _Reader) -> str:
    try:
        return read.choice("logLevel")
    except SettingsError as error:
        value = read.raw("logLevel")
        if isinstance(value, str) and value.strip().upper() in REFUSED_LOG_LEVELS:
            raise SettingsError(f"{error} ({REFUSED_LOG_LEVEL_REASON})") from None
        raise


def _read_region(read: _Reader) -> str:
    region = read.string(REGION_KEY)
    read.check(REGION_KEY, region in regions.AGENTCORE_RUNTIME_REGIONS,
               f"AgentCore Runtime is not available in {region!r}; allowed regions: "
               + ", ".join(regions.AGENTCORE_RUNTIME_REGIONS))
    return region


def _parse_auth(read: _Reader, throttle: Throttle, production: bool) -> Auth:
    """authMode and the keys only one mode uses, as one value of the Auth union."""
    mode = read.choice("authMode")
    # Every key is validated whatever the mode, so a typo never waits for the day the mode changes.
    quota_limit = read.integer("quotaLimit")
    quota_period = read.choice("quotaPeriod")
    pool_arn = read.parsed(
        "cognitoUserPoolArn", _parse_user_pool_arn,
        "empty or a user pool ARN (arn:aws:cognito-idp:<region>:<account>:userpool/<region>_<id>)",
    )
    app_client_id = read.parsed(
        "cognitoAppClientId", _parse_app_client_id,
        "empty or a Cognito app client id (1-128 letters, digits, '_' or '+')",
    )
    allow_self_sign_up = read.boolean("cognitoAllowSelfSignUp")
    allow_password_auth = read.boolean("cognitoAllowPasswordAuth")
    page_callback_urls = _read_page_callback_urls(read)
    # A production stack open to the internet without authentication is a mistake, not a choice.
    read.check("authMode", not (production and mode == NoAuth.mode),
               "a production stack must authenticate callers (choose 'apiKey', 'iam' or 'cognito')")
    # An ARN that is silently ignored would leave someone believing their pool guards the API.
    read.check("cognitoUserPoolArn", pool_arn is None or mode == Cognito.mode,
               "is only used with authMode 'cognito'; clear it or switch authMode")
    read.check("pageCallbackUrls", not page_callback_urls or (mode == Cognito.mode and pool_arn is None),
               "is only used with authMode 'cognito' and a pool the stack creates (empty cognitoUserPoolArn); "
               "for an existing pool, add the page's URL to its app client yourself")
    # API Gateway accepts an ID token of any app client of a trusted pool: the proxy must know which one.
    read.check("cognitoAppClientId", (app_client_id is not None) == (mode == Cognito.mode and pool_arn is not None),
               "is required with cognitoUserPoolArn (the id of that pool's app client whose ID tokens this API "
               "accepts) and only used then; the app client of a pool the stack creates is its own")
    read.check("cognitoAllowPasswordAuth", not allow_password_auth or (mode == Cognito.mode and pool_arn is None),
               "is only used with authMode 'cognito' and a pool the stack creates (empty cognitoUserPoolArn); "
               "an existing pool's app client keeps its own sign-in flows")
    if mode == ApiKey.mode:
        return ApiKey(throttle=throttle, quota=Quota(quota_limit, quota_period) if quota_limit > 0 else None)
    if mode == Iam.mode:
        return Iam()
    if mode == Cognito.mode:
        if pool_arn is not None and app_client_id is not None:
            return Cognito(pool=ExistingUserPool(pool_arn, app_client_id))
        return Cognito(pool=NewUserPool(allow_self_sign_up, page_callback_urls, allow_password_auth))
    return NoAuth()


# Cognito: a callback URL is absolute, without a fragment, and HTTPS except http://localhost.
CALLBACK_URL_FORMS = "absolute https:// URLs (http:// only for localhost), without a #fragment"


def _parse_callback_url(url: str) -> str:
    parts = urlsplit(url)
    secure = parts.scheme == "https" and bool(parts.hostname)
    local = parts.scheme == "http" and parts.hostname == "localhost"
    if not (secure or local) or parts.fragment or "#" in url or parts.username or parts.password or url != url.strip():
        raise ValueError(url)
    return url


def _read_page_callback_urls(read: _Reader) -> tuple[str, ...]:
    """pageCallbackUrls: the pages that sign in with the new user pool's hosted login."""
    urls = read.string_list("pageCallbackUrls")
    for url in urls:
        try:
            _parse_callback_url(url)
        except ValueError:
            raise SettingsError(
                f"{read.full_key('pageCallbackUrls')} must be a list of {CALLBACK_URL_FORMS}, got {url!r}"
            ) from None
    return tuple(dict.fromkeys(urls))


def _check_page_hosting(read: _Reader, settings: Settings) -> None:
    """The hosted page signs Cognito users in through the app client this stack creates."""
    read.check("pageHosting",
               not (settings.page_hosting and isinstance(settings.auth, Cognito)
                    and isinstance(settings.auth.pool, ExistingUserPool)),
               "a hosted page needs the user pool's app client to accept the page's URL as a sign-in "
               "callback, and this stack does not own the pool of cognitoUserPoolArn; clear "
               "cognitoUserPoolArn (the stack then creates a pool) or set pageHosting: false")


def _check_region_fits(read: _Reader, settings: Settings) -> None:
    """Refuse what AWS would refuse only at deploy time or at the first call, in this region."""
    region = settings.region
    read.check("memoryEnabled",
               not settings.memory_enabled or region in regions.AGENTCORE_MEMORY_REGIONS,
               f"AgentCore Memory is not available in {REGION_KEY} {region!r}; set memoryEnabled: false, "
               "or use one of: " + ", ".join(regions.AGENTCORE_MEMORY_REGIONS))
    read.check("agentNetworkMode",
               settings.agent_network_mode != "VPC" or regions.vpc_zone_ids(region) is not None,
               f"'VPC' needs the zone ids AgentCore VPC mode supports in {REGION_KEY} {region!r}, and "
               "stack_config/regions.py has none for it (add them from the AgentCore VPC guide); regions "
               "with zone ids: " + ", ".join(regions.AGENTCORE_VPC_ZONE_IDS))
    prefix = regions.inference_profile_prefix(settings.model_id)
    allowed_regions = regions.profile_regions(prefix) if prefix else None
    if allowed_regions is not None and region not in allowed_regions:
        raise SettingsError(
            f"{read.full_key('modelId')} {settings.model_id!r} is a {prefix!r} inference profile, which "
            f"cannot be called from {REGION_KEY} {region!r} (its regions: {', '.join(allowed_regions)}); "
            f"profiles callable from {region!r}: " + ", ".join(regions.profiles_callable_from(region))
        )


def _read_custom_domain(read: _Reader, settings: Settings) -> dict[str, Any]:
    """customDomain (each field checked, named customDomain.<field>) and disableExecuteApiEndpoint."""
    try:
        domain = parse_custom_domain(read.raw("customDomain"), region=settings.region,
                                     endpoint_type=settings.endpoint_type)
    except CustomDomainError as error:
        key = read.full_key("customDomain") + (f".{error.field}" if error.field else "")
        raise SettingsError(f"{key} {error}") from None
    disable = read.boolean("disableExecuteApiEndpoint")
    # With no custom domain, the execute-api URL is the only way in: disabling it would leave a
    # REGIONAL API that nobody can call.
    read.check("disableExecuteApiEndpoint",
               not (disable and domain is None and settings.endpoint_type == "REGIONAL"),
               "true needs customDomain: without a custom domain the execute-api endpoint is the API's "
               "only URL; set customDomain, or disableExecuteApiEndpoint: false")
    return {
        "custom_domain": domain,
        "disable_execute_api_endpoint": disable and domain is not None and settings.endpoint_type == "REGIONAL",
    }


def settings_warnings(settings: Settings) -> list[str]:
    """Choices AWS accepts but that are probably a mistake; __main__ shows each with pulumi.log.warn.

    Kept apart from parse_settings's errors because each has a legitimate use: refusing them would
    make the stack undeployable until the user has, say, a mailbox for alarms.
    """
    warnings: list[str] = []
    if settings.production and settings.observability_enabled and settings.alarm_email is None:
        warnings.append(
            f"{settings.project}:alarmEmail is empty: the alarms of this production stack notify an SNS "
            f"topic with no subscriber, so they reach no one. Set an address with "
            f"`pulumi config set alarmEmail ops@example.com` (it must confirm the subscription) or "
            f"subscribe something else to the alarmTopicArn output."
        )
    warnings += _page_hosting_warnings(settings)
    return warnings


def _page_hosting_warnings(settings: Settings) -> list[str]:
    """A hosted page that deploys but cannot call the API from an ordinary browser."""
    if not settings.page_hosting:
        return []
    warnings: list[str] = []
    if settings.endpoint_type == "PRIVATE":
        warnings.append(
            f"{settings.project}:pageHosting is true but endpointType is PRIVATE: the page is public on "
            f"CloudFront, while the API answers only inside the VPC, so only browsers there can use it."
        )
    if isinstance(settings.auth, Iam):
        warnings.append(
            f"{settings.project}:pageHosting is true but authMode is 'iam': a browser page cannot sign "
            f"requests with SigV4, so the hosted page cannot call this API; use 'apiKey' or 'cognito'."
        )
    return warnings
