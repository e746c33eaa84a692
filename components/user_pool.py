"""A Cognito user pool and app client for callers in `cognito` auth mode (when none is given)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random

# Short-lived tokens: a leaked ID token is useful for an hour at most; the refresh token lets a
# client stay signed in for a working month without asking for the password again.
ID_TOKEN_MINUTES = 60
ACCESS_TOKEN_MINUTES = 60
REFRESH_TOKEN_DAYS = 30
# USER_PASSWORD_AUTH lets the project's client (and scripts) sign in with one InitiateAuth call;
# SRP keeps the password off the wire for SDK clients that implement it.
AUTH_FLOWS: tuple[str, ...] = ("ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")


@dataclass
class UserPoolArgs:
    # Physical names of the pool and its app client.
    pool_name: str
    client_name: str
    # Let anyone sign up; off, only administrators create users (AdminCreateUser).
    allow_self_sign_up: bool
    # Turn on Cognito's deletion protection and Pulumi's protect/retain: the pool holds the users.
    protect_stateful_resources: bool
    # The hosted chat page's URL (pageHosting): the app client accepts it as a sign-in callback and
    # sign-out URL. None: no hosted page.
    hosted_page_url: Optional[pulumi.Input[str]] = None
    # Prefix of the pool's hosted login domain (<prefix>-<8 hex>.auth.<region>.amazoncognito.com,
    # unique in the region); None: no login domain.
    login_domain_prefix: Optional[str] = None


def _page_urls(args: UserPoolArgs) -> Optional[list[pulumi.Input[str]]]:
    """The hosted page signs users in and out and comes back to its own URL."""
    return [args.hosted_page_url] if args.hosted_page_url is not None else None


class UserPool(pulumi.ComponentResource):
    user_pool_id: pulumi.Output[str]
    user_pool_arn: pulumi.Output[str]
    client_id: pulumi.Output[str]
    # The login domain's prefix (the first label of its host name), when there is one.
    login_domain: Optional[pulumi.Output[str]]

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
        client = aws.cognito.UserPoolClient(
            f"{name}-client",
            name=args.client_name,
            user_pool_id=pool.id,
            # A public client (CLI, browser): a secret could not be kept secret there.
            generate_secret=False,
            explicit_auth_flows=list(AUTH_FLOWS),
            id_token_validity=ID_TOKEN_MINUTES,
            access_token_validity=ACCESS_TOKEN_MINUTES,
            refresh_token_validity=REFRESH_TOKEN_DAYS,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                id_token="minutes", access_token="minutes", refresh_token="days",
            ),
            enable_token_revocation=True,
            # "Incorrect username or password" for unknown users too: no probing for accounts.
            prevent_user_existence_errors="ENABLED",
            callback_urls=_page_urls(args), logout_urls=_page_urls(args),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.login_domain = self._login_domain(name, args.login_domain_prefix, pool)

        self.user_pool_id = pool.id
        self.user_pool_arn = pool.arn
        self.client_id = client.id
        self.register_outputs({
            "userPoolId": self.user_pool_id,
            "userPoolArn": self.user_pool_arn,
            "clientId": self.client_id,
        })

    def _login_domain(self, name: str, prefix: Optional[str], pool: aws.cognito.UserPool) -> Optional[pulumi.Output[str]]:
        """The hosted login's domain (None without a prefix); prefixes are unique per region across
        all accounts, so a random tail keeps two deployments of this project apart."""
        if prefix is None:
            return None
        suffix = random.RandomId(f"{name}-domain-suffix", byte_length=4, opts=pulumi.ResourceOptions(parent=self))
        domain = aws.cognito.UserPoolDomain(
            f"{name}-domain",
            domain=pulumi.Output.concat(prefix, "-", suffix.hex),
            user_pool_id=pool.id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return domain.domain
