"""The auth type: parse_settings turns authMode and the keys one mode uses into one Auth value.

A table of configurations and the value each must give, and of bad values and the error each
must raise (naming the full key, the value, and what is allowed).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from typing import Any

import pytest
from tests.support.infra_harness import REPO_ROOT, stack_config

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
from stack_config.settings import PROJECT, parse_settings
from streaming_shared.edge import SettingsError
from streaming_shared.auth_modes import AUTH_MODES

POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Table1"
APP_CLIENT_ID = "5a0p2i9kbq3f4c1ls7dhdv8m0e"
THROTTLE = Throttle(rate_limit=7, burst_limit=11)


def settings_with(stack: str = "dev", **overrides: Any):  # noqa: ANN201 (Settings)
    values = dict(stack_config(stack))
    values.update({f"{PROJECT}:throttleRateLimit": "7", f"{PROJECT}:throttleBurstLimit": "11"})
    values.update({f"{PROJECT}:{key}": value for key, value in overrides.items()})
    return parse_settings(PROJECT, stack, values)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"authMode": "none"}, NoAuth()),
        ({"authMode": "apiKey", "quotaLimit": "500", "quotaPeriod": "WEEK"},
         ApiKey(throttle=THROTTLE, quota=Quota(limit=500, period="WEEK"))),
        # A zero quota means none: the key is only throttled.
        ({"authMode": "apiKey", "quotaLimit": "0"}, ApiKey(throttle=THROTTLE, quota=None)),
        ({"authMode": "iam"}, Iam()),
        ({"authMode": "cognito"}, Cognito(pool=NewUserPool(allow_self_sign_up=False))),
        ({"authMode": "cognito", "cognitoAllowSelfSignUp": "true"}, Cognito(pool=NewUserPool(allow_self_sign_up=True))),
        ({"authMode": "cognito", "cognitoAllowPasswordAuth": "true"},
         Cognito(pool=NewUserPool(allow_self_sign_up=False, allow_password_auth=True))),
        ({"authMode": "cognito", "cognitoUserPoolArn": f"  {POOL_ARN} ", "cognitoAppClientId": f" {APP_CLIENT_ID} "},
         Cognito(pool=ExistingUserPool(arn=POOL_ARN, app_client_id=APP_CLIENT_ID))),
    ],
    ids=["none", "apiKey-quota", "apiKey-no-quota", "iam", "cognito-new", "cognito-self-sign-up",
         "cognito-password-auth", "cognito-existing"],
)
def test_each_mode_becomes_its_own_value(overrides: dict[str, str], expected: Auth) -> None:
    settings = settings_with(**overrides)
    assert settings.auth == expected
    # The name the stack exports as authMode is the mode's own.
    assert settings.auth_mode == overrides["authMode"] == expected.mode


def test_the_modes_are_the_config_values_in_order() -> None:
    assert AUTH_MODES == ("none", "apiKey", "iam", "cognito")
    assert [kind.mode for kind in (NoAuth, ApiKey, Iam, Cognito)] == list(AUTH_MODES)


@pytest.mark.parametrize(
    ("stack", "overrides", "key", "fragments"),
    [
        ("dev", {"authMode": "password"}, "authMode", ["'password'", *(repr(m) for m in AUTH_MODES)]),
        ("dev", {"authMode": "apikey"}, "authMode", ["'apikey'", "'apiKey'"]),
        ("prod", {"authMode": "none"}, "authMode", ["production stack must authenticate", "'apiKey'", "'iam'", "'cognito'"]),
        ("dev", {"quotaPeriod": "YEAR"}, "quotaPeriod", ["'YEAR'", "'DAY'", "'WEEK'", "'MONTH'"]),
        ("dev", {"quotaLimit": "-1"}, "quotaLimit", ["got -1", "between 0 and 2000000000"]),
        ("dev", {"authMode": "cognito", "cognitoUserPoolArn": "us-east-1_abc"}, "cognitoUserPoolArn",
         ["'us-east-1_abc'", "user pool ARN"]),
        ("dev", {"authMode": "iam", "cognitoUserPoolArn": POOL_ARN}, "cognitoUserPoolArn",
         ["only used with authMode 'cognito'"]),
        ("dev", {"authMode": "cognito", "cognitoAllowSelfSignUp": "maybe"}, "cognitoAllowSelfSignUp",
         ["'maybe'", "true or false"]),
        ("dev", {"authMode": "cognito", "cognitoUserPoolArn": POOL_ARN, "cognitoAppClientId": "no such client"},
         "cognitoAppClientId", ["'no such client'", "app client id"]),
        ("dev", {"authMode": "cognito", "cognitoAllowPasswordAuth": "sometimes"}, "cognitoAllowPasswordAuth",
         ["'sometimes'", "true or false"]),
    ],
    ids=["unknown-mode", "wrong-case", "production-none", "quota-period", "quota-limit", "pool-arn",
         "pool-arn-without-cognito", "self-sign-up", "app-client-id", "password-auth"],
)
def test_bad_values_name_the_key_the_value_and_what_is_allowed(
    stack: str, overrides: dict[str, str], key: str, fragments: list[str]
) -> None:
    with pytest.raises(SettingsError) as error:
        settings_with(stack, **overrides)
    message = str(error.value)
    assert f"agentcore-streaming:{key}" in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_a_mode_carries_only_what_it_uses() -> None:
    # Quota and throttle travel with the API key; a pool with Cognito; nothing with the others.
    def names(kind: type) -> set[str]:
        return {field.name for field in fields(kind)}

    assert names(ApiKey) == {"throttle", "quota"}
    assert names(Cognito) == {"pool"}
    assert names(NoAuth) == names(Iam) == set()


def test_the_auth_type_imports_without_pulumi() -> None:
    # local/ must be able to use the same type without the Pulumi SDK.
    code = "import sys; import stack_config.auth; print('pulumi' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
