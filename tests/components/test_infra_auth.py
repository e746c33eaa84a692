"""Each auth mode puts the right authorization on POST /invoke."""

from __future__ import annotations

import pytest
from tests.support.infra_harness import MOCK_USER_POOL_CLIENT_ID, MOCK_USER_POOL_ID, ProgramRun, run_program, stack_config

from stack_config.auth import Cognito, NewUserPool
from stack_config.settings import PROJECT, parse_settings
from streaming_shared.edge import ProxySettings, SettingsError

METHOD = "aws:apigateway/method:Method"
AUTHORIZER = "aws:apigateway/authorizer:Authorizer"
USER_POOL = "aws:cognito/userPool:UserPool"
USER_POOL_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
DEPLOYMENT = "aws:apigateway/deployment:Deployment"
EXISTING_POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Existing1"
EXISTING_APP_CLIENT_ID = "3n4b5urk1ft4fl3mg5e62d9ado"
FUNCTION = "aws:lambda/function:Function"
APP_CLIENT_VARIABLE = "PROXY_COGNITO_APP_CLIENT_ID"


def dev_with(**overrides: object) -> ProgramRun:
    return run_program("dev", stack_config("dev", overrides={f"{PROJECT}:{k}": v for k, v in overrides.items()}))


@pytest.fixture(scope="module")
def runs(dev_run: ProgramRun) -> dict[str, ProgramRun]:
    # dev itself is apiKey; the other modes are dev with authMode overridden, one run each.
    return {
        "apiKey": dev_run,
        "none": dev_with(authMode="none"),
        "iam": dev_with(authMode="iam"),
        "cognito-new": dev_with(authMode="cognito"),
        "cognito-existing": dev_with(authMode="cognito", cognitoUserPoolArn=EXISTING_POOL_ARN,
                                     cognitoAppClientId=EXISTING_APP_CLIENT_ID),
    }


@pytest.mark.parametrize(
    ("mode", "authorization", "api_key_required", "has_authorizer"),
    [
        ("none", "NONE", False, False),
        ("apiKey", "NONE", True, False),
        ("iam", "AWS_IAM", False, False),
        ("cognito-new", "COGNITO_USER_POOLS", False, True),
        ("cognito-existing", "COGNITO_USER_POOLS", False, True),
    ],
)
def test_method_authorization_matches_the_mode(
    runs: dict[str, ProgramRun], mode: str, authorization: str, api_key_required: bool, has_authorizer: bool
) -> None:
    run = runs[mode]
    # Both routes, /invoke and /stop, under the same authorization.
    methods = [m.inputs for m in run.of_type(METHOD)]
    assert len(methods) == 2
    for method in methods:
        assert method["authorization"] == authorization
        assert method["apiKeyRequired"] is api_key_required
    authorizers = run.of_type(AUTHORIZER)
    if has_authorizer:
        [authorizer] = authorizers
        assert all(method["authorizerId"] == f"{authorizer.name}-id" for method in methods)
        assert authorizer.inputs["type"] == "COGNITO_USER_POOLS"
        assert authorizer.inputs["identitySource"] == "method.request.header.Authorization"
        # A new authorizer must reach the stage: the deployment waits for it.
        assert authorizer.urn in run.one(DEPLOYMENT).depends_on
    else:
        assert not authorizers and not any(method.get("authorizerId") for method in methods)
    # Only apiKey mode makes a key and a usage plan, and only it exports a key.
    assert bool(run.of_type("aws:apigateway/apiKey:ApiKey")) is api_key_required
    assert ("apiKey" in run.outputs) is api_key_required


def test_cognito_with_a_new_pool_trusts_that_pool_and_exports_its_ids(runs: dict[str, ProgramRun]) -> None:
    run = runs["cognito-new"]
    pool = run.one(USER_POOL)
    assert run.one(AUTHORIZER).inputs["providerArns"] == [
        f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{MOCK_USER_POOL_ID}"
    ]
    client = run.one(USER_POOL_CLIENT)
    assert client.inputs["userPoolId"] == MOCK_USER_POOL_ID
    assert run.outputs["userPoolId"] == MOCK_USER_POOL_ID
    assert run.outputs["userPoolClientId"] == MOCK_USER_POOL_CLIENT_ID
    assert pool.inputs["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True  # no self sign-up
    policy = pool.inputs["passwordPolicy"]
    assert policy["minimumLength"] >= 12
    assert all(policy[k] is True for k in ("requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols"))
    assert pool.inputs["deletionProtection"] == "INACTIVE" and not pool.protect  # dev protects nothing


def test_cognito_app_client_is_public_with_the_sign_in_flows_and_explicit_token_lifetimes(
    runs: dict[str, ProgramRun],
) -> None:
    client = runs["cognito-new"].one(USER_POOL_CLIENT).inputs
    assert client["generateSecret"] is False
    # The password itself never goes to InitiateAuth unless cognitoAllowPasswordAuth asks for it.
    assert sorted(client["explicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"]
    assert client["idTokenValidity"] == 60 and client["accessTokenValidity"] == 60
    assert client["refreshTokenValidity"] == 30
    assert client["tokenValidityUnits"] == {"idToken": "minutes", "accessToken": "minutes", "refreshToken": "days"}
    assert client["preventUserExistenceErrors"] == "ENABLED"


def test_cognito_with_an_existing_pool_creates_no_pool(runs: dict[str, ProgramRun]) -> None:
    run = runs["cognito-existing"]
    assert not run.of_type(USER_POOL) and not run.of_type(USER_POOL_CLIENT)
    assert run.one(AUTHORIZER).inputs["providerArns"] == [EXISTING_POOL_ARN]
    assert "userPoolId" not in run.outputs and "userPoolClientId" not in run.outputs


def proxy_environment(run: ProgramRun) -> dict[str, str]:
    return run.one(FUNCTION).inputs["environment"]["variables"]


@pytest.mark.parametrize(("mode", "client_id"), [
    ("cognito-new", MOCK_USER_POOL_CLIENT_ID),  # the app client the stack created
    ("cognito-existing", EXISTING_APP_CLIENT_ID),  # the one cognitoAppClientId names
])
def test_the_proxy_is_told_the_one_app_client_whose_id_tokens_it_accepts(
    runs: dict[str, ProgramRun], mode: str, client_id: str
) -> None:
    # The authorizer trusts the whole pool (every app client's ID tokens); the proxy checks `aud`.
    environment = proxy_environment(runs[mode])
    assert environment[APP_CLIENT_VARIABLE] == client_id
    assert ProxySettings.from_environ(environment).cognito_app_client_id == client_id


@pytest.mark.parametrize("mode", ["none", "apiKey", "iam"])
def test_other_modes_tell_the_proxy_no_app_client(runs: dict[str, ProgramRun], mode: str) -> None:
    assert APP_CLIENT_VARIABLE not in proxy_environment(runs[mode])


def test_password_sign_in_is_a_deliberate_choice() -> None:
    run = dev_with(authMode="cognito", cognitoAllowPasswordAuth=True)
    flows = run.one(USER_POOL_CLIENT).inputs["explicitAuthFlows"]
    assert sorted(flows) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH"]


def test_a_protected_stack_turns_on_the_pools_deletion_protection() -> None:
    run = dev_with(authMode="cognito", protectStatefulResources=True)
    pool = run.one(USER_POOL)
    assert pool.inputs["deletionProtection"] == "ACTIVE"
    assert pool.protect and pool.retain_on_delete


def test_self_sign_up_is_a_deliberate_choice() -> None:
    settings = parse_settings(PROJECT, "dev", stack_config("dev", overrides={
        f"{PROJECT}:authMode": "cognito", f"{PROJECT}:cognitoAllowSelfSignUp": True,
    }))
    assert settings.auth == Cognito(pool=NewUserPool(allow_self_sign_up=True))


def test_production_with_no_auth_fails_naming_the_key_and_the_real_modes() -> None:
    with pytest.raises(SettingsError) as error:
        run_program("prod", stack_config("prod", overrides={f"{PROJECT}:authMode": "none"}))
    message = str(error.value)
    assert "agentcore-streaming:authMode" in message and "production stack must authenticate" in message
    assert all(mode in message for mode in ("'apiKey'", "'iam'", "'cognito'"))


@pytest.mark.parametrize(
    ("overrides", "key", "fragment"),
    [
        ({"authMode": "cognito", "cognitoUserPoolArn": "us-east-1_abc"}, "cognitoUserPoolArn", "user pool ARN"),
        ({"authMode": "iam", "cognitoUserPoolArn": EXISTING_POOL_ARN}, "cognitoUserPoolArn", "only used with authMode 'cognito'"),
        # An existing pool's authorizer would take every app client's tokens: one must be named.
        ({"authMode": "cognito", "cognitoUserPoolArn": EXISTING_POOL_ARN}, "cognitoAppClientId", "is required with"),
        ({"authMode": "cognito", "cognitoAppClientId": EXISTING_APP_CLIENT_ID}, "cognitoAppClientId", "only used then"),
        ({"authMode": "apiKey", "cognitoAppClientId": EXISTING_APP_CLIENT_ID}, "cognitoAppClientId", "only used then"),
        ({"authMode": "cognito", "cognitoUserPoolArn": EXISTING_POOL_ARN, "cognitoAppClientId": "no such/id"},
         "cognitoAppClientId", "app client id"),
        ({"authMode": "cognito", "cognitoUserPoolArn": EXISTING_POOL_ARN, "cognitoAppClientId": EXISTING_APP_CLIENT_ID,
          "cognitoAllowPasswordAuth": True}, "cognitoAllowPasswordAuth", "a pool the stack creates"),
        ({"authMode": "iam", "cognitoAllowPasswordAuth": True}, "cognitoAllowPasswordAuth", "only used with"),
    ],
)
def test_bad_cognito_settings_name_their_key(overrides: dict[str, str], key: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse_settings(PROJECT, "dev", stack_config("dev", overrides={f"{PROJECT}:{k}": v for k, v in overrides.items()}))
    assert f"agentcore-streaming:{key}" in str(error.value) and fragment in str(error.value)
