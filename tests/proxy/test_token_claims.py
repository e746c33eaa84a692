"""authMode cognito: the proxy serves only ID tokens issued to the stack's own app client.

API Gateway's Cognito authorizer checks a token's signature, issuer and expiry against the pool, but
accepts an ID token of any app client of that pool. It hands the token's claims on in the request
context (`requestContext.authorizer.claims`, every value a string, `exp`/`iat` as dates), which
Lambda Web Adapter forwards as `x-amzn-request-context`; the proxy checks `token_use` and `aud` there.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from streaming_proxy.app import create_app
from streaming_proxy.caller import RequestContext, check_token_claims, read_request_context
from streaming_proxy.contract import ApiError
from streaming_shared.edge import UNAUTHORIZED, SettingsError, load_settings
from streaming_shared.jsonlog import JsonLogger
from tests.support.fake_agentcore import FakeAgentCore

ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/my_agent-AbCdEf1234"
OUR_CLIENT = "6an6jbhc8qh494sh33d1ope8d3"
OTHER_CLIENT = "4p8r9e9b24t2u6u7i08gqcp1u0"


def api_gateway_claims(**overrides: str) -> dict[str, str]:
    """An ID token's claims as API Gateway's COGNITO_USER_POOLS authorizer passes them to a Lambda
    proxy integration: all strings (booleans "true"/"false"), `exp` and `iat` as dates."""
    claims = {
        "sub": "940805d0-a810-42da-9515-a213e211bbd1",
        "aud": OUR_CLIENT,
        "email_verified": "true",
        "event_id": "cd5c1cab-e2ea-11e7-9614-c1a21c8b3f9a",
        "token_use": "id",
        "auth_time": "1513492092",
        "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AmrPIBcWm",
        "cognito:username": "carol",
        "exp": "Sun Dec 17 07:28:12 UTC 2017",
        "iat": "Sun Dec 17 06:28:12 UTC 2017",
        "email": "carol@example.com",
    }
    return {**claims, **overrides}


def context_header(claims: dict[str, Any] | None, request_id: str = "req-cognito-1") -> dict[str, str]:
    context: dict[str, Any] = {"requestId": request_id, "identity": {"sourceIp": "203.0.113.9"}}
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {"x-amzn-request-context": json.dumps(context)}


def refusal(claims: dict[str, Any] | None, client_id: str = OUR_CLIENT) -> ApiError:
    with pytest.raises(ApiError) as caught:
        check_token_claims(read_request_context(context_header(claims)), client_id)
    return caught.value


def test_an_id_token_of_the_stacks_app_client_passes() -> None:
    context = read_request_context(context_header(api_gateway_claims()))
    check_token_claims(context, OUR_CLIENT)
    assert context.caller == "cognito:940805d0-a810-42da-9515-a213e211bbd1"


@pytest.mark.parametrize(
    "claims",
    [
        api_gateway_claims(aud=OTHER_CLIENT),  # another app client of the same pool
        api_gateway_claims(aud=OUR_CLIENT.upper()),
        api_gateway_claims(aud=f"{OUR_CLIENT} "),
        {key: value for key, value in api_gateway_claims().items() if key != "aud"},
        # An access token names its client in client_id and has no aud.
        {**{key: value for key, value in api_gateway_claims().items() if key != "aud"},
         "token_use": "access", "client_id": OUR_CLIENT, "scope": "openid email"},
        api_gateway_claims(token_use="access"),
        {key: value for key, value in api_gateway_claims().items() if key != "token_use"},
        api_gateway_claims(aud=[OUR_CLIENT]),  # not what API Gateway sends: never equal to the id
        {},
        None,
    ],
)
def test_other_tokens_are_refused_with_401_unauthorized(claims: dict[str, Any] | None) -> None:
    error = refusal(claims)
    assert (error.status, error.code) == (401, UNAUTHORIZED)
    assert error.message and OTHER_CLIENT not in error.message


def test_without_an_app_client_configured_nothing_is_checked() -> None:
    check_token_claims(RequestContext(request_id=None, caller="anonymous"), "")


def client_for(client_id: str, agentcore: FakeAgentCore) -> TestClient:
    settings = load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_COGNITO_APP_CLIENT_ID": client_id})
    return TestClient(create_app(settings, agentcore, JsonLogger("proxy-test", "ERROR")), raise_server_exceptions=False)


def test_the_proxy_answers_another_clients_token_with_the_contracts_json_and_never_calls_the_agent() -> None:
    agentcore = FakeAgentCore()
    client = client_for(OUR_CLIENT, agentcore)
    response = client.post(
        "/invoke", content=b'{"prompt": "hello"}',
        headers={"content-type": "application/json", **context_header(api_gateway_claims(aud=OTHER_CLIENT))},
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "req-cognito-1"
    error = response.json()["error"]
    assert (error["code"], error["requestId"]) == (UNAUTHORIZED, "req-cognito-1")
    assert agentcore.invocations() == []


def test_the_check_comes_before_the_body_as_the_authorizer_does() -> None:
    client = client_for(OUR_CLIENT, FakeAgentCore())
    response = client.post("/invoke", content=b"not json", headers={"content-type": "text/plain"})
    assert (response.status_code, response.json()["error"]["code"]) == (401, UNAUTHORIZED)


def test_the_proxy_streams_for_its_own_clients_id_token() -> None:
    agentcore = FakeAgentCore()
    client = client_for(OUR_CLIENT, agentcore)
    response = client.post(
        "/invoke", content=b'{"prompt": "hello"}',
        headers={"content-type": "application/json", **context_header(api_gateway_claims())},
    )
    assert response.status_code == 200 and "event: done" in response.text
    assert len(agentcore.invocations()) == 1


@pytest.mark.parametrize("value", ["has space", "a/b", "x" * 129, "é"])
def test_a_malformed_app_client_id_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="PROXY_COGNITO_APP_CLIENT_ID"):
        load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_COGNITO_APP_CLIENT_ID": value})


def test_the_app_client_id_round_trips_through_the_environment() -> None:
    settings = load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_COGNITO_APP_CLIENT_ID": OUR_CLIENT})
    assert settings.cognito_app_client_id == OUR_CLIENT
    assert load_settings(settings.to_environ()) == settings
    assert "PROXY_COGNITO_APP_CLIENT_ID" not in load_settings({"AGENT_RUNTIME_ARN": ARN}).to_environ()
