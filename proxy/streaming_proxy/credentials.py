"""The AWS credentials Lambda gives the proxy, read without botocore.

Two sources, in the order AWS's SDKs try them (AWS SDKs and Tools reference guide, "Standardized
credential providers"): the environment variables Lambda sets for the execution role
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then the container credential
provider, which SnapStart functions get instead ("Container credential provider":
AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN or
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE sent as the Authorization header; the answer is JSON with
AccessKeyId, SecretAccessKey, Token and Expiration). Container credentials are fetched on the event
loop with the proxy's own HTTP client and fetched again before they expire.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import time
import urllib.parse
from collections.abc import Mapping

from .sigv4 import Credentials
from .upstream_http import ConnectionPool, Origin, UpstreamBroken, UpstreamTimeout, UpstreamUnreachable, request

# The ECS/EKS link-local address a relative URI is joined to (the reference guide's provider page).
RELATIVE_URI_HOST = "http://169.254.170.2"
# Hosts a plain-http full URI may name: loopback and the container endpoints (the same page).
CONTAINER_HOSTS = ("169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost")
# Fetch new credentials this long before the current ones expire (botocore refreshes 15 minutes
# before; the window only has to be longer than a stream's signing and a fetch).
REFRESH_BEFORE_SECONDS = 15 * 60
FETCH_TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 64 * 1024


class CredentialsError(Exception):
    """No usable credentials: the message names the variable or the answer that was wrong."""


def _allowed_http_host(host: str) -> bool:
    if host in CONTAINER_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def container_uri(environ: Mapping[str, str]) -> str | None:
    """The container credentials endpoint the environment names, checked; None when it names none."""
    relative = environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "")
    if relative:
        return RELATIVE_URI_HOST + relative
    full = environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
    if not full:
        return None
    parts = urllib.parse.urlsplit(full)
    if parts.scheme == "https" or (parts.scheme == "http" and _allowed_http_host(parts.hostname or "")):
        return full
    raise CredentialsError(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback address or "
        f"{', '.join(CONTAINER_HOSTS)}; got host {parts.hostname!r}"
    )


def _authorization(environ: Mapping[str, str]) -> str | None:
    path = environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "")
    if path:  # read on every fetch: the file is rotated under the process
        with open(path, encoding="utf-8") as token_file:
            return token_file.read().strip()
    return environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN") or None


def parse_container_answer(body: bytes) -> tuple[Credentials, float]:
    """Credentials and their expiry (seconds since the epoch) from the endpoint's JSON answer."""
    try:
        answer = json.loads(body)
        credentials = Credentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer.get("Token") or None)
        expiry = datetime.datetime.fromisoformat(answer["Expiration"].replace("Z", "+00:00")).timestamp()
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CredentialsError("the container credentials endpoint answered without AccessKeyId, "
                               "SecretAccessKey and Expiration") from error
    if not all(isinstance(value, str) and value for value in (credentials.access_key_id, credentials.secret_access_key)):
        raise CredentialsError("the container credentials endpoint answered with empty keys")
    return credentials, expiry


class CredentialSource:
    """The process's credentials: `await current()` before each request (cheap while they are fresh)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        access_key = environ.get("AWS_ACCESS_KEY_ID", "")
        secret_key = environ.get("AWS_SECRET_ACCESS_KEY", "")
        self._static = Credentials(access_key, secret_key, environ.get("AWS_SESSION_TOKEN") or None) if (
            access_key and secret_key) else None
        self._uri = None if self._static else container_uri(environ)
        self._fetched: Credentials | None = None
        self._expiry = 0.0
        self._lock = asyncio.Lock()
        self._pool: ConnectionPool | None = None
        if self._static is None and self._uri is None:
            raise CredentialsError("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                                   "AWS_CONTAINER_CREDENTIALS_FULL_URI (as Lambda does)")

    async def current(self) -> Credentials:
        if self._static is not None:
            return self._static
        if self._fetched is None or time.time() >= self._expiry - REFRESH_BEFORE_SECONDS:
            async with self._lock:  # one fetch for all the streams that found them stale
                if self._fetched is None or time.time() >= self._expiry - REFRESH_BEFORE_SECONDS:
                    self._fetched, self._expiry = await self._fetch()
        return self._fetched

    async def _fetch(self) -> tuple[Credentials, float]:
        assert self._uri is not None
        parts = urllib.parse.urlsplit(self._uri)
        if self._pool is None:
            import ssl

            port = parts.port or (443 if parts.scheme == "https" else 80)
            tls = ssl.create_default_context() if parts.scheme == "https" else None
            self._pool = ConnectionPool(Origin(parts.scheme, parts.hostname or "", port), FETCH_TIMEOUT_SECONDS, 1, tls)
        headers = [("Host", self._pool.origin.host_header), ("Accept", "application/json")]
        token = _authorization(self._environ)
        if token:
            headers.append(("Authorization", token))
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            response = await request(self._pool, "GET", target, headers, b"", FETCH_TIMEOUT_SECONDS)
            async with asyncio.timeout(FETCH_TIMEOUT_SECONDS):
                body = b""
                while len(body) <= MAX_ANSWER_BYTES and (data := await response.read()):
                    body += data
            response.close()
        except (TimeoutError, OSError, UpstreamUnreachable, UpstreamTimeout, UpstreamBroken) as error:
            raise CredentialsError(f"the container credentials endpoint could not be read ({type(error).__name__})") from error
        if response.status != 200:
            raise CredentialsError(f"the container credentials endpoint answered {response.status}")
        return parse_container_answer(body)
