"""CORS for deployed stacks: off by default; when origins are listed, an open OPTIONS
/invoke MOCK route, the proxy's PROXY_CORS_ALLOWED_ORIGINS and CORS on API Gateway's own errors."""

from __future__ import annotations

import json

import pytest
from tests.support.infra_harness import ProgramRun, run_program, stack_config
from streaming_shared import edge as proxy_edge

from stack_config.settings import PROJECT, parse_settings
from streaming_shared.edge import SettingsError
from policy.rules import RULES, run_rule
from tests.support.policy_runs import evaluate, from_recorded_run

METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
METHOD_RESPONSE = "aws:apigateway/methodResponse:MethodResponse"
INTEGRATION_RESPONSE = "aws:apigateway/integrationResponse:IntegrationResponse"
GATEWAY_RESPONSE = "aws:apigateway/response:Response"
DEPLOYMENT = "aws:apigateway/deployment:Deployment"
FUNCTION = "aws:lambda/function:Function"
CORS_ENV = "PROXY_CORS_ALLOWED_ORIGINS"
ALLOW_ORIGIN = "Access-Control-Allow-Origin"

PAGE_ORIGIN = "https://chat.example.com"
ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/my_agent-AbCdEf1234"
LOCAL_PAGE_ORIGIN = "http://localhost:8001"
# What a browser's preflight answer must carry; Allow-Origin is checked per case.
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "content-type, x-api-key, authorization, x-amz-date, x-amz-security-token",
    "Access-Control-Max-Age": "600",
    "Access-Control-Expose-Headers": "X-Session-Id, X-Request-Id, Retry-After",
    "Vary": "Origin",
}


def dev_with(**overrides: object) -> ProgramRun:
    return run_program("dev", stack_config("dev", overrides={f"{PROJECT}:{k}": v for k, v in overrides.items()}))


@pytest.fixture(scope="module")
def one_origin_run() -> ProgramRun:
    return dev_with(corsAllowedOrigins=[PAGE_ORIGIN])


@pytest.fixture(scope="module")
def two_origins_run() -> ProgramRun:
    # Upper case on purpose: browsers send lower case, so settings must store it that way.
    return dev_with(corsAllowedOrigins=["https://Chat.Example.com", LOCAL_PAGE_ORIGIN])


def methods(run: ProgramRun, http_method: str) -> list[dict]:
    return [m.inputs for m in run.of_type(METHOD) if m.inputs["httpMethod"] == http_method]


def for_options(run: ProgramRun, type_token: str) -> list:
    return [r for r in run.of_type(type_token) if r.inputs.get("httpMethod") == "OPTIONS"]


def mapped_headers(response_parameters: dict[str, str], prefix: str) -> dict[str, str]:
    """{'method.response.header.X': "'v'"} -> {'X': 'v'}; only static (quoted) values."""
    headers = {}
    for key, value in response_parameters.items():
        assert key.startswith(prefix), key
        assert value.startswith("'") and value.endswith("'"), f"{key} is not a static value: {value}"
        headers[key[len(prefix):]] = value[1:-1]
    return headers


def proxy_environment(run: ProgramRun) -> dict[str, str]:
    return run.one(FUNCTION).inputs["environment"]["variables"]


# --- Off by default -----------------------------------------------------------------------------


def test_default_stacks_have_no_preflight_route_and_no_cors(stack_run: ProgramRun) -> None:
    assert methods(stack_run, "OPTIONS") == []
    assert for_options(stack_run, INTEGRATION) == []
    assert stack_run.of_type(METHOD_RESPONSE) == [] and stack_run.of_type(INTEGRATION_RESPONSE) == []
    assert CORS_ENV not in proxy_environment(stack_run)
    for response in stack_run.of_type(GATEWAY_RESPONSE):
        headers = response.inputs.get("responseParameters") or {}
        assert not any("Access-Control" in header for header in headers), response.name


# --- One origin ---------------------------------------------------------------------------------


def test_preflight_method_is_open_because_browsers_send_no_credentials(one_origin_run: ProgramRun) -> None:
    preflights = methods(one_origin_run, "OPTIONS")
    # One preflight per route, on that route's resource: OPTIONS /invoke and OPTIONS /stop.
    posts = methods(one_origin_run, "POST")
    assert sorted(m["resourceId"] for m in preflights) == sorted(m["resourceId"] for m in posts)
    assert len(preflights) == 2
    for preflight in preflights:
        assert preflight["authorization"] == "NONE"
        assert preflight["apiKeyRequired"] is False
        assert not preflight.get("authorizerId")
    # The real routes keep their API key: CORS must not loosen POST /invoke or POST /stop.
    assert all(post["apiKeyRequired"] is True for post in posts)


def test_preflight_is_a_mock_answering_204(one_origin_run: ProgramRun) -> None:
    integrations = for_options(one_origin_run, INTEGRATION)
    assert len(integrations) == 2
    for integration in integrations:
        assert integration.inputs["type"] == "MOCK"
        assert json.loads(integration.inputs["requestTemplates"]["application/json"]) == {"statusCode": 204}
        # Only the POST routes reach the Lambda (its permissions name POST /invoke and POST /stop alone).
        assert "uri" not in integration.inputs
        resource_id = integration.inputs["resourceId"]
        [method_response] = [r for r in for_options(one_origin_run, METHOD_RESPONSE) if r.inputs["resourceId"] == resource_id]
        [integration_response] = [
            r for r in for_options(one_origin_run, INTEGRATION_RESPONSE) if r.inputs["resourceId"] == resource_id
        ]
        assert method_response.inputs["statusCode"] == integration_response.inputs["statusCode"] == "204"
        # The integration response may only be created once the integration exists.
        assert integration.urn in integration_response.depends_on


def test_preflight_answer_carries_every_cors_header(one_origin_run: ProgramRun) -> None:
    method_responses = for_options(one_origin_run, METHOD_RESPONSE)
    integration_responses = for_options(one_origin_run, INTEGRATION_RESPONSE)
    assert len(method_responses) == len(integration_responses) == 2
    for method_response, integration_response in zip(method_responses, integration_responses):
        headers = mapped_headers(integration_response.inputs["responseParameters"], "method.response.header.")
        assert headers == {**PREFLIGHT_HEADERS, ALLOW_ORIGIN: PAGE_ORIGIN}
        # API Gateway drops an integration-response header that the method response does not declare.
        declared = {
            key.removeprefix("method.response.header.")
            for key in method_response.inputs["responseParameters"]
        }
        assert declared == set(headers)
        # A single origin is a fixed value; no template needed.
        assert not integration_response.inputs.get("responseTemplates")


def test_preflight_route_reaches_the_stage(one_origin_run: ProgramRun, dev_run: ProgramRun) -> None:
    deployment = one_origin_run.one(DEPLOYMENT)
    preflight_parts = [
        *[r for r in one_origin_run.of_type(METHOD) if r.inputs["httpMethod"] == "OPTIONS"],
        *for_options(one_origin_run, INTEGRATION),
        *for_options(one_origin_run, METHOD_RESPONSE),
        *for_options(one_origin_run, INTEGRATION_RESPONSE),
    ]
    assert len(preflight_parts) == 8  # two routes, four parts each
    for part in preflight_parts:
        assert part.urn in deployment.depends_on, part.name
    # Turning CORS on (or changing the origins) must create a new deployment.
    assert deployment.inputs["triggers"] != dev_run.one(DEPLOYMENT).inputs["triggers"]


def test_proxy_lambda_gets_the_origins(one_origin_run: ProgramRun) -> None:
    variables = proxy_environment(one_origin_run)
    assert variables[CORS_ENV] == PAGE_ORIGIN
    # The proxy accepts what the stack writes (it refuses to start on a bad value).
    assert proxy_edge.parse_allowed_origins(variables[CORS_ENV]) == (PAGE_ORIGIN,)


def test_gateway_errors_carry_the_origin(one_origin_run: ProgramRun) -> None:
    responses = one_origin_run.of_type(GATEWAY_RESPONSE)
    types = {r.inputs["responseType"] for r in responses}
    # The refusals a page meets: missing/invalid key, usage plan, WAF, integration timeout.
    assert {"MISSING_AUTHENTICATION_TOKEN", "INVALID_API_KEY", "THROTTLED", "QUOTA_EXCEEDED",
            "WAF_FILTERED", "INTEGRATION_TIMEOUT", "DEFAULT_4XX", "DEFAULT_5XX"} <= types
    for response in responses:
        headers = mapped_headers(response.inputs["responseParameters"], "gatewayresponse.header.")
        assert headers[ALLOW_ORIGIN] == PAGE_ORIGIN, response.name
        assert headers["Access-Control-Expose-Headers"] == PREFLIGHT_HEADERS["Access-Control-Expose-Headers"]


# --- Several origins and "*" --------------------------------------------------------------------


def test_several_origins_echo_only_a_listed_origin(two_origins_run: ProgramRun) -> None:
    integration_responses = for_options(two_origins_run, INTEGRATION_RESPONSE)
    assert len(integration_responses) == 2
    for integration_response in integration_responses:
        headers = mapped_headers(integration_response.inputs["responseParameters"], "method.response.header.")
        # No fixed Allow-Origin: one value cannot name two origins.
        assert headers == PREFLIGHT_HEADERS
        template = integration_response.inputs["responseTemplates"]["application/json"]
        assert '#set($allowed = ["https://chat.example.com", "http://localhost:8001"])' in template
        assert "$input.params('Origin')" in template
        assert ("#if($allowed.contains($origin))#set($context.responseOverride.header.Access-Control-Allow-Origin"
                " = $origin)#end") in template
    for method_response in for_options(two_origins_run, METHOD_RESPONSE):
        assert f"method.response.header.{ALLOW_ORIGIN}" in method_response.inputs["responseParameters"]
    assert proxy_environment(two_origins_run)[CORS_ENV] == "https://chat.example.com,http://localhost:8001"


def test_several_origins_give_gateway_errors_the_first_origin_only(two_origins_run: ProgramRun) -> None:
    # Echoing method.request.header.Origin would grant every site; see gateway_error_cors_headers.
    for response in two_origins_run.of_type(GATEWAY_RESPONSE):
        parameters = response.inputs["responseParameters"]
        assert parameters[f"gatewayresponse.header.{ALLOW_ORIGIN}"] == "'https://chat.example.com'"
        assert all("method.request" not in value for value in parameters.values())


def test_any_origin() -> None:
    run = dev_with(corsAllowedOrigins=["*"])
    for integration_response in for_options(run, INTEGRATION_RESPONSE):
        headers = mapped_headers(integration_response.inputs["responseParameters"], "method.response.header.")
        assert headers[ALLOW_ORIGIN] == "*"
    assert proxy_environment(run)[CORS_ENV] == "*"
    for response in run.of_type(GATEWAY_RESPONSE):
        assert response.inputs["responseParameters"][f"gatewayresponse.header.{ALLOW_ORIGIN}"] == "'*'"


# --- Settings -----------------------------------------------------------------------------------


def test_a_bad_origin_fails_the_program_naming_the_key() -> None:
    with pytest.raises(SettingsError, match=rf"{PROJECT}:corsAllowedOrigins: .*trailing slash.*allowed: '\*' alone"):
        dev_with(corsAllowedOrigins=["https://chat.example.com/"])


def values_with(origins: object) -> dict[str, object]:
    config = stack_config("dev", overrides={f"{PROJECT}:corsAllowedOrigins": origins})
    return dict(config)


@pytest.mark.parametrize(
    ("origins", "reason"),
    [
        (["https://chat.example.com/"], "trailing slash"),
        (["https://chat.example.com/app"], "is not an origin"),
        (["chat.example.com"], "is not an origin"),
        (["http://chat.example.com"], "uses http"),
        (["https://chat.example.com:443"], "default port"),
        (["https://chat.example.com:99999"], "invalid port"),
        (["*", "https://chat.example.com"], "'\\*' must be the only entry"),
        ("not json", "JSON list of strings"),
    ],
)
def test_settings_refuse_what_a_browser_would_never_send(origins: object, reason: str) -> None:
    with pytest.raises(SettingsError, match=rf"{PROJECT}:corsAllowedOrigins.*{reason}"):
        parse_settings(PROJECT, "dev", values_with(origins))


def test_settings_normalise_origins() -> None:
    settings = parse_settings(PROJECT, "dev", values_with(
        ["https://Chat.Example.com", "http://127.0.0.1:8001", "https://chat.example.com", "https://api.example.com:8443"]
    ))
    assert settings.cors_allowed_origins == (
        "https://chat.example.com", "http://127.0.0.1:8001", "https://api.example.com:8443",
    )
    assert parse_settings(PROJECT, "dev", values_with([])).cors_allowed_origins == ()
    assert parse_settings(PROJECT, "dev", values_with(["*"])).cors_allowed_origins == ("*",)


def test_settings_read_origins_with_the_one_grammar_the_proxy_uses() -> None:
    # The three entries the proxy and the settings used to answer differently (tests/streaming_shared/test_edge.py).
    assert parse_settings(PROJECT, "dev", values_with(["http://[::1]:8000"])).cors_allowed_origins == (
        "http://[::1]:8000",
    )
    for entry in ("http://chat.example.com", "https://a.example.com:443"):
        with pytest.raises(SettingsError):
            parse_settings(PROJECT, "dev", values_with([entry]))
        with pytest.raises(proxy_edge.SettingsError):
            proxy_edge.load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_CORS_ALLOWED_ORIGINS": entry})


# --- Policy pack --------------------------------------------------------------------------------


def test_policy_pack_does_not_flag_the_open_preflight(one_origin_run: ProgramRun, dev_run: ProgramRun) -> None:
    def raw(run: ProgramRun) -> set[tuple[str, str]]:
        report = evaluate(from_recorded_run(run.resources))
        return {(f.rule_id, f.resource_name) for f in report.findings} | {
            (f.rule_id, f.resource_name) for f, _ in report.suppressed
        }

    preflight_names = {r.name for r in one_origin_run.of_type(METHOD) if r.inputs["httpMethod"] == "OPTIONS"}
    assert not {finding for finding in raw(one_origin_run) if finding[1] in preflight_names}
    # CORS adds no finding at all to dev.
    assert raw(one_origin_run) == raw(dev_run)


def test_authorization_rule_still_flags_an_open_post_beside_the_preflight(one_origin_run: ProgramRun) -> None:
    [rule] = [r for r in RULES if r.id == "APIG4"]
    resources = from_recorded_run(one_origin_run.resources)
    report = run_rule(rule, resources, suppressions=[])
    # dev's POSTs use an API key (authorization NONE): flagged; the OPTIONS preflights are not.
    assert {f.resource_name for f in report.findings} == {"api-invoke-method", "api-stop-method"}
