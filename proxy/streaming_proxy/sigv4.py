"""AWS Signature Version 4 for the proxy's requests to AgentCore, on hmac and hashlib alone.

Written from AWS's specification (IAM User Guide, "Create a signed AWS API request"), and held
byte-identical to botocore's `SigV4Auth` by tests/proxy/test_sigv4.py on generated requests with and
without a session token. Why not botocore: its import was the largest share of the proxy's cold
start (README, Performance). Only what these requests need: a body in memory, the payload hashed.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import urllib.parse
from dataclasses import dataclass

ALGORITHM = "AWS4-HMAC-SHA256"
# Headers left out of the signature: hop-by-hop ones and those a proxy or SDK may change on the way
# (botocore's SIGNED_HEADERS_BLACKLIST holds the same list).
UNSIGNED_HEADERS = frozenset({
    "baggage", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "traceparent", "tracestate", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
})


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


def _without_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4's dot segments removed, as AWS's canonical URI wants (empty segments go too)."""
    if not path:
        return "/"
    kept: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
        else:
            kept.append(segment)
    leading = "/" if path.startswith("/") else ""
    trailing = "/" if path.endswith("/") and kept else ""
    return leading + "/".join(kept) + trailing


def canonical_query(query: str) -> str:
    """The query's name=value pairs sorted, each kept as it was encoded in the URL."""
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        pairs.append((name, value))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret_access_key: str, day: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret_access_key}".encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def sign(
    method: str, url: str, headers: dict[str, str], body: bytes, credentials: Credentials, region: str, service: str,
    now: datetime.datetime | None = None,
) -> dict[str, str]:
    """`headers` with X-Amz-Date, X-Amz-Security-Token (with a session token) and Authorization added.

    A Host header, when `headers` has none, is the URL's host (and port, unless it is the scheme's).
    """
    parts = urllib.parse.urlsplit(url)
    timestamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    signed = {name: value for name, value in headers.items() if name.lower() not in ("authorization", "date")}
    signed["X-Amz-Date"] = timestamp
    if credentials.session_token:
        signed = {name: value for name, value in signed.items() if name.lower() != "x-amz-security-token"}
        signed["X-Amz-Security-Token"] = credentials.session_token
    to_sign: dict[str, list[str]] = {}
    for name, value in signed.items():
        if name.lower() not in UNSIGNED_HEADERS:
            to_sign.setdefault(name.lower(), []).append(" ".join(value.split()))
    if "host" not in to_sign:
        default_port = {"http": 80, "https": 443}.get(parts.scheme)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        to_sign["host"] = [host if parts.port in (None, default_port) else f"{host}:{parts.port}"]
    names = sorted(to_sign)
    canonical_request = "\n".join([
        method.upper(),
        urllib.parse.quote(_without_dot_segments(parts.path), safe="/~"),
        canonical_query(parts.query),
        "".join(f"{name}:{','.join(to_sign[name])}\n" for name in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{timestamp[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, timestamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = signing_key(credentials.secret_access_key, timestamp[:8], region, service)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signed["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, SignedHeaders={';'.join(names)}, "
        f"Signature={signature}"
    )
    return signed
