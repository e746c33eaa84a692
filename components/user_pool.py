"""A Cognito user pool and app client for callers in `cognito` auth mode (when none is given).

The pool also gets a prefix domain, `https://<prefix>.auth.<region>.amazoncognito.com`, whose hosted
login the chat page signs in with (Authorization Code grant with PKCE); the page reads the domain
and the app client id from its config.js (`page_config`).
"""

from __future__ import annotations

import re

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

# Short-lived tokens: a leaked ID token is useful for an hour at most; the refresh token lets a
# client stay signed in for a working month without asking for the password again.
ID_TOKEN_MINUTES = 60
ACCESS_TOKEN_MINUTES = 60
REFRESH_TOKEN_DAYS = 30
# SRP keeps the password off the wire; refresh tokens keep a client signed in. USER_PASSWORD_AUTH
# (one InitiateAuth call with the password itself, handy for scripts) only when a setting asks for it.
AUTH_FLOWS: tuple[str, ...] = ("ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
PASSWORD_AUTH_FLOW = "ALLOW_USER_PASSWORD_AUTH"
# The hosted login for the chat page: the code grant only (the implicit grant would put tokens in
# URLs), the scopes an ID token needs, and the pool's own users (no federated identity providers).
OAUTH_FLOWS: tuple[str, ...] = ("code",)
OAUTH_SCOPES: tuple[str, ...] = ("openid", "email")
IDENTITY_PROVIDERS: tuple[str, ...] = ("COGNITO",)


# A prefix domain: lower-case letters, digits and inner hyphens, 63 characters at most.
DOMAIN_PREFIX_MAX = 63
ACCOUNT_ID_LENGTH = 12


# CreateUserPoolDomain refuses a prefix containing these anywhere ("Domain cannot contain reserved
# word: aws"), so a project or stack named e.g. "aws-chat" or "laws" must not reach it as is.
RESERVED_DOMAIN_WORDS = ("amazon", "cognito", "aws")


def without_reserved_words(name: str) -> str:
    """`name` with every reserved word removed (again, until none is left: removing one can join the
    letters around it into another) and the hyphens that leaves tidied."""
    previous = None
    while previous != name:
        previous = name
        for word in RESERVED_DOMAIN_WORDS:
            name = name.replace(word, "")
        name = re.sub(r"-{2,}", "-", name).strip("-")
    return name


def hosted_login_domain_prefix(base_name: str, account_id: str) -> str:
    """`<base name>-<account id>`: prefixes are unique among all pools of a region, the account id makes it so.

    `base_name` is a physical name (lower-case, hyphenated) of at most 50 characters; Cognito's
    reserved words are taken out of it (the account id, digits only, holds none).
    """
    if len(base_name) > DOMAIN_PREFIX_MAX - ACCOUNT_ID_LENGTH - 1:
        raise ValueError(f"domain prefix base {base_name!r} is longer than {DOMAIN_PREFIX_MAX - ACCOUNT_ID_LENGTH - 1}")
    base = without_reserved_words(base_name)
    return f"{base}-{account_id}" if base else account_id


def hosted_login_url(domain_prefix: str, region: str) -> str:
    """The base URL of a prefix domain's hosted login (its /oauth2/authorize, /oauth2/token, /logout)."""
    return f"https://{domain_prefix}.auth.{region}.amazoncognito.com"


@dataclass
class UserPoolArgs:
    # Physical names of the pool and its app client.
    pool_name: str
    client_name: str
    # Let anyone sign up; off, only administrators create users (AdminCreateUser).
    allow_self_sign_up: bool
    # Turn on Cognito's deletion protection and Pulumi's protect/retain: the pool holds the users.
    protect_stateful_resources: bool
    # The hosted login's domain prefix (lower-case letters, digits and hyphens, 63 at most; unique
    # among all pools of the region) and the region, which together name the login's URL.
    domain_prefix: pulumi.Input[str]
    region: str
    # Pages that may sign in: where the hosted login sends people back after sign-in and after
    # sign-out (each page's origin + path). Empty: the app client has no OAuth flow (Cognito refuses
    # the code flow without a callback URL) and only the API-based sign-in flows work.
    page_callback_urls: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    # Add ALLOW_USER_PASSWORD_AUTH to the app client's flows (cognitoAllowPasswordAuth).
    allow_password_auth: bool = False


class UserPool(pulumi.ComponentResource):
    user_pool_id: pulumi.Output[str]
    user_pool_arn: pulumi.Output[str]
    client_id: pulumi.Output[str]
    # https://<prefix>.auth.<region>.amazoncognito.com
    hosted_login_url: pulumi.Output[str]
    # The `cognito` value of the chat page's config.js: {domain, clientId, scopes}.
    page_config: pulumi.Output[dict[str, object]]

    def __init__(self, name: str, args: UserPoolArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:user_pool:UserPool", name, None, opts)
        protect = args.protect_stateful_resources

        pool = aws.cognito.UserPool(
            f"{name}-pool",
            name=args.pool_name,
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(
                allow_admin_create_user_only=not args.allow_self_sign_up,
            ),
            password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                minimum_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_numbers=True,
                require_symbols=True,
                temporary_password_validity_days=3,
            ),
            # Users may add an authenticator app; forcing MFA is a per-company decision.
            mfa_configuration="OPTIONAL",
            software_token_mfa_configuration=aws.cognito.UserPoolSoftwareTokenMfaConfigurationArgs(enabled=True),
            account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(
                recovery_mechanisms=[aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(
                    name="verified_email", priority=1,
                )],
            ),
            deletion_protection="ACTIVE" if protect else "INACTIVE",
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        client = _app_client(self, name, args, pool.id)
        domain = aws.cognito.UserPoolDomain(
            f"{name}-domain",
            domain=args.domain_prefix,
            user_pool_id=pool.id,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.user_pool_id = pool.id
        self.user_pool_arn = pool.arn
        self.client_id = client.id
        self.hosted_login_url = domain.domain.apply(lambda prefix: hosted_login_url(prefix, args.region))
        self.page_config = pulumi.Output.all(self.hosted_login_url, client.id).apply(
            lambda values: {"domain": values[0], "clientId": values[1], "scopes": list(OAUTH_SCOPES)}
        )
        self.register_outputs({
            "userPoolId": self.user_pool_id,
            "userPoolArn": self.user_pool_arn,
            "clientId": self.client_id,
            "hostedLoginUrl": self.hosted_login_url,
            "pageConfig": self.page_config,
        })


def _app_client(parent: pulumi.Resource, name: str, args: UserPoolArgs,
                pool_id: pulumi.Input[str]) -> aws.cognito.UserPoolClient:
    return aws.cognito.UserPoolClient(
        f"{name}-client",
        name=args.client_name,
        user_pool_id=pool_id,
        # A public client (CLI, browser): a secret could not be kept secret there.
        generate_secret=False,
        explicit_auth_flows=[*([PASSWORD_AUTH_FLOW] if args.allow_password_auth else []), *AUTH_FLOWS],
        id_token_validity=ID_TOKEN_MINUTES,
        access_token_validity=ACCESS_TOKEN_MINUTES,
        refresh_token_validity=REFRESH_TOKEN_DAYS,
        token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
            id_token="minutes", access_token="minutes", refresh_token="days",
        ),
        enable_token_revocation=True,
        # "Incorrect username or password" for unknown users too: no probing for accounts.
        prevent_user_existence_errors="ENABLED",
        **_hosted_login_settings(args.page_callback_urls),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _hosted_login_settings(page_callback_urls: Sequence[pulumi.Input[str]]) -> dict[str, object]:
    """The app client's OAuth settings for the pages' hosted login, or none without a page."""
    if not page_callback_urls:
        return {}
    return {
        "allowed_oauth_flows": list(OAUTH_FLOWS),
        "allowed_oauth_flows_user_pool_client": True,
        "allowed_oauth_scopes": list(OAUTH_SCOPES),
        "supported_identity_providers": list(IDENTITY_PROVIDERS),
        "callback_urls": list(page_callback_urls),
        # The page signs out through /logout?logout_uri=<its own URL>: the same list.
        "logout_urls": list(page_callback_urls),
    }
