"""The local stack and gateway use the deployed API's auth types (stack_config/auth.py)."""

import pytest

from stack_config.auth import ApiKey, Cognito, Iam, NewUserPool, NoAuth, Quota, Throttle
from streaming_shared.auth_modes import AUTH_MODES
from local.gateway_auth import AuthSettings, CallerIdentity, GatewayRejection, authenticate
from local.stack import StackSettings


def test_stack_settings_take_the_auth_type_or_its_config_name():
    api_key = ApiKey(throttle=Throttle(rate_limit=5, burst_limit=10), quota=Quota(limit=100, period="DAY"))
    for auth, mode in ((NoAuth(), "none"), (api_key, "apiKey"), (Iam(), "iam"),
                       (Cognito(pool=NewUserPool(allow_self_sign_up=False)), "cognito")):
        assert StackSettings(auth=auth).auth == mode
        assert StackSettings(auth=mode).auth == mode


def test_an_unknown_mode_names_the_allowed_ones():
    with pytest.raises(ValueError, match=", ".join(AUTH_MODES)):
        StackSettings(auth="basic")
    with pytest.raises(ValueError, match=", ".join(AUTH_MODES)):
        AuthSettings(mode="basic")


def test_the_gateway_dispatches_on_the_auth_type():
    request = {"method": "POST", "path": "/invoke", "query": "", "body": b""}
    assert AuthSettings().kind is NoAuth
    assert authenticate(AuthSettings(), headers={}, **request) == CallerIdentity()
    keyed = AuthSettings(mode=ApiKey.mode, api_keys={"k": "id"})
    assert keyed.kind is ApiKey
    assert isinstance(authenticate(keyed, headers={}, **request), GatewayRejection)
    assert authenticate(keyed, headers={"x-api-key": "k"}, **request).identity["apiKeyId"] == "id"
    assert AuthSettings(mode=Iam.mode, iam_credentials={"AKIA": "s"}).kind is Iam
    assert AuthSettings(mode=Cognito.mode, jwt_secret="s").kind is Cognito
