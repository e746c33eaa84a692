"""How API Gateway authenticates callers: one type per mode, built once from the stack settings.

Plain frozen dataclasses without Pulumi, so the settings parser, the API component, the policy
pack and the local stack can all share them. Each mode carries only what it needs: a quota
travels with an API key, a user pool with Cognito.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Union

from streaming_shared.auth_modes import API_KEY, COGNITO, IAM, NO_AUTH

# Usage-plan quota periods API Gateway accepts.
QUOTA_PERIODS: tuple[str, ...] = ("DAY", "WEEK", "MONTH")


@dataclass(frozen=True)
class Throttle:
    """Steady rate (requests per second) and burst, as API Gateway's token bucket counts them."""

    rate_limit: int
    burst_limit: int


@dataclass(frozen=True)
class Quota:
    """Requests one API key may make per period (DAY, WEEK or MONTH)."""

    limit: int
    period: str


@dataclass(frozen=True)
class NoAuth:
    """Anyone who can reach the endpoint may call it (refused for production stacks)."""

    mode: ClassVar[str] = NO_AUTH


@dataclass(frozen=True)
class ApiKey:
    """A generated API key in a usage plan: throttled per key, with an optional quota."""

    mode: ClassVar[str] = API_KEY
    throttle: Throttle
    # None: no quota, only the throttle.
    quota: Quota | None


@dataclass(frozen=True)
class Iam:
    """SigV4-signed callers, allowed by their IAM identity policies (the API's own account)."""

    mode: ClassVar[str] = IAM


@dataclass(frozen=True)
class ExistingUserPool:
    """A user pool the stack trusts but does not own, and the one app client of it whose ID tokens
    the API accepts (the pool's authorizer alone would accept every app client's)."""

    arn: str
    app_client_id: str


@dataclass(frozen=True)
class NewUserPool:
    """A user pool (and app client) the stack creates."""

    # Let anyone sign up; off: only administrators create users.
    allow_self_sign_up: bool
    # Pages that sign in with the pool's hosted login (pageCallbackUrls): its callback and sign-out URLs.
    page_callback_urls: tuple[str, ...] = ()
    # Let the app client take ALLOW_USER_PASSWORD_AUTH (the password itself sent to InitiateAuth);
    # off, it signs in with SRP or the hosted login only.
    allow_password_auth: bool = False


@dataclass(frozen=True)
class Cognito:
    """ID tokens of a Cognito user pool, checked by an API Gateway authorizer."""

    mode: ClassVar[str] = COGNITO
    pool: ExistingUserPool | NewUserPool


Auth = Union[NoAuth, ApiKey, Iam, Cognito]

def user_pool_to_create(auth: Auth) -> NewUserPool | None:
    """The user pool the stack must create: only Cognito without an existing pool has one."""
    if isinstance(auth, Cognito) and isinstance(auth.pool, NewUserPool):
        return auth.pool
    return None

