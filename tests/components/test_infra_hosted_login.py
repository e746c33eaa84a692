"""A cognito stack's user pool has a hosted login the chat page signs in with (code + PKCE)."""

from __future__ import annotations

import re

import pytest
from tests.support.infra_harness import ACCOUNT_ID, REGION, ProgramRun, run_program, stack_config

from stack_config.auth import Cognito, NewUserPool
from stack_config.settings import PROJECT, parse_settings
from streaming_shared.edge import SettingsError
from stack_config.naming import physical_name
from components.user_pool import (
    RESERVED_DOMAIN_WORDS,
    UserPoolArgs,
    _hosted_login_settings,
    hosted_login_domain_prefix,
)

USER_POOL_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
USER_POOL_DOMAIN = "aws:cognito/userPoolDomain:UserPoolDomain"
PAGES = ["http://localhost:8001/", "https://chat.example.com/"]


def dev_with(**overrides: object) -> ProgramRun:
    return run_program("dev", stack_config("dev", overrides={f"{PROJECT}:{k}": v for k, v in overrides.items()}))


@pytest.fixture(scope="module")
def with_pages() -> ProgramRun:
    return dev_with(authMode="cognito", pageCallbackUrls=PAGES)


def test_the_app_client_allows_the_code_flow_back_to_the_listed_pages_only(with_pages: ProgramRun) -> None:
    client = with_pages.one(USER_POOL_CLIENT).inputs
    assert client["allowedOauthFlows"] == ["code"]
    assert client["allowedOauthFlowsUserPoolClient"] is True
    assert client["allowedOauthScopes"] == ["openid", "email"]
    assert client["supportedIdentityProviders"] == ["COGNITO"]
    assert client["callbackUrls"] == PAGES and client["logoutUrls"] == PAGES
    assert client["generateSecret"] is False  # a public client: PKCE, never a secret in the page


def test_the_pool_has_a_prefix_domain_and_the_page_config_is_exported(with_pages: ProgramRun) -> None:
    domain = with_pages.one(USER_POOL_DOMAIN).inputs
    assert domain["domain"] == f"agentcore-streaming-dev-login-{ACCOUNT_ID}"
    assert domain["userPoolId"] == with_pages.outputs["userPoolId"]
    url = f"https://agentcore-streaming-dev-login-{ACCOUNT_ID}.auth.{REGION}.amazoncognito.com"
    assert with_pages.outputs["cognitoHostedLoginUrl"] == url
    assert with_pages.outputs["pageCognitoConfig"] == {
        "domain": url, "clientId": with_pages.outputs["userPoolClientId"], "scopes": ["openid", "email"]}


def test_other_modes_have_no_domain(dev_run: ProgramRun) -> None:
    assert dev_run.of_type(USER_POOL_DOMAIN) == []
    assert "pageCognitoConfig" not in dev_run.outputs


@pytest.mark.parametrize("stack", ["dev", "a-very-long-stack-name-for-a-feature-branch-review-" * 3])
def test_the_domain_prefix_is_valid_for_any_stack_name(stack: str) -> None:
    prefix = hosted_login_domain_prefix(physical_name(PROJECT, stack, "login", max_length=50), ACCOUNT_ID)
    assert re.fullmatch(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?", prefix) and prefix.endswith(f"-{ACCOUNT_ID}")


@pytest.mark.parametrize("stack", ["aws-dev", "laws", "amazon-review", "my-cognito-test", "aawsws", "cognitaws-o"])
def test_the_domain_prefix_leaves_out_cognitos_reserved_words(stack: str) -> None:
    # CreateUserPoolDomain refuses "aws", "amazon" and "cognito" anywhere in a prefix; removing one
    # may join its neighbours into another ("aawsws" -> "aws"), so none may be left at all.
    prefix = hosted_login_domain_prefix(physical_name(PROJECT, stack, "login", max_length=50), ACCOUNT_ID)
    assert not [word for word in RESERVED_DOMAIN_WORDS if word in prefix], prefix
    assert re.fullmatch(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?", prefix) and prefix.endswith(f"-{ACCOUNT_ID}")


def test_a_stack_named_with_a_reserved_word_deploys_its_login_domain() -> None:
    # The mocked account refuses a reserved word in a domain prefix, with Cognito's own message.
    run = run_program("aws-dev", stack_config("dev", overrides={f"{PROJECT}:authMode": "cognito"}))
    [domain] = run.of_type(USER_POOL_DOMAIN)
    assert domain.inputs["domain"] == f"{PROJECT}-dev-login-{ACCOUNT_ID}"


def dev_values(**overrides: object) -> dict[str, object]:
    values = dict(stack_config("dev"))
    values.update({f"{PROJECT}:{key}": value for key, value in overrides.items()})
    return values


def test_page_callback_urls_are_parsed_into_the_new_pool() -> None:
    settings = parse_settings(PROJECT, "dev", dev_values(authMode="cognito", pageCallbackUrls=PAGES + PAGES[:1]))
    assert settings.auth == Cognito(pool=NewUserPool(allow_self_sign_up=False, page_callback_urls=tuple(PAGES)))


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8001/",  # Cognito allows plain http only for localhost
    "http://chat.example.com/",
    "https://chat.example.com/#top",
    "chat.example.com",
    "https://user:pw@chat.example.com/",
    "javascript:alert(1)",
])
def test_a_bad_page_callback_url_names_the_key_and_the_allowed_forms(url: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse_settings(PROJECT, "dev", dev_values(authMode="cognito", pageCallbackUrls=[url]))
    message = str(error.value)
    assert f"{PROJECT}:pageCallbackUrls" in message and repr(url) in message and "https://" in message


@pytest.mark.parametrize("overrides", [
    {"authMode": "apiKey"},
    {"authMode": "cognito", "cognitoUserPoolArn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Existing1"},
])
def test_page_callback_urls_need_a_pool_the_stack_creates(overrides: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=f"{PROJECT}:pageCallbackUrls: is only used with authMode 'cognito'"):
        parse_settings(PROJECT, "dev", dev_values(pageCallbackUrls=PAGES, **overrides))


def test_no_oauth_settings_without_a_page() -> None:
    # Cognito refuses the code flow without a callback URL (so does the harness's mock; the cognito
    # runs without pageCallbackUrls in test_infra_auth.py pass through it): no page, no OAuth flow.
    assert _hosted_login_settings([]) == {}
    assert UserPoolArgs.__dataclass_fields__["page_callback_urls"].default_factory() == ()  # type: ignore[misc]
