"""How the client proves who it is, per API auth mode: API key, SigV4 (IAM) or a bearer token.

botocore is imported only when SigV4 is used, so the API-key and token paths stay standard library.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

SIGV4_SERVICE = "execute-api"
# https://<api id>.execute-api.<region>.amazonaws.com and the private form
# https://<api id>-<vpce id>.execute-api.<region>.vpce.amazonaws.com
EXECUTE_API_HOST = re.compile(r"\.execute-api\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?\Z")


class AuthConfigurationError(ValueError):
    """The request cannot be authenticated as asked (no credentials, no region)."""


def region_from_url(url: str) -> str | None:
    """The AWS region of an execute-api URL, or None for any other host (e.g. a custom domain)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    match = EXECUTE_API_HOST.search(host)
    return match["region"] if match else None


def resolve_region(url: str, region: str | None) -> str:
    resolved = region or region_from_url(url) or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not resolved:
        raise AuthConfigurationError(
            "SigV4 needs the API's region: use an execute-api URL, pass --region, or set AWS_REGION"
        )
    return resolved


def default_aws_credentials() -> Any:
    """Credentials from the standard AWS chain (env, profile, SSO, container, instance role)."""
    import botocore.session

    credentials = botocore.session.Session().get_credentials()
    if credentials is None:
        raise AuthConfigurationError(
            "no AWS credentials found: configure a profile, SSO, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    return credentials.get_frozen_credentials()


def sigv4_headers(
    method: str, url: str, headers: Mapping[str, str], body: bytes, credentials: Any, region: str
) -> dict[str, str]:
    """``headers`` plus Host, X-Amz-Date, Authorization (and X-Amz-Security-Token) for execute-api.

    ``credentials`` is anything with access_key, secret_key and token (botocore's Credentials).
    Every header passed in is signed, so send exactly the returned headers and body.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    parts = urllib.parse.urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    host_header = host if parts.port in (None, default_port) else f"{host}:{parts.port}"
    request = AWSRequest(method=method, url=url, headers={**headers, "Host": host_header}, data=body)
    signer_credentials = Credentials(credentials.access_key, credentials.secret_key, getattr(credentials, "token", None))
    SigV4Auth(signer_credentials, SIGV4_SERVICE, region).add_auth(request)
    return dict(request.headers.items())
