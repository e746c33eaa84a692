"""What API Gateway checks before a request reaches the proxy, for each auth mode, done locally.

Pure functions (no I/O): each takes the request's method, path, query, headers and body and returns
either the caller's identity (as API Gateway would put it in the request context) or the refusal
API Gateway would answer with. Local stand-ins for AWS secrets:

- apiKey: a map from key value to key id, like API keys attached to a usage plan.
- iam: a map from access key id to secret key. The SigV4 signature is recomputed with botocore's
  own signer, so a request signed for the wrong service, region, body or secret is refused.
- cognito: ID tokens signed with HS256 and a local secret, issued to the local pool's one app client
  (LOCAL_APP_CLIENT_ID). A real user pool signs with RS256 keys published at its JWKS URL; the local
  check differs in how the signature is verified, and it also refuses an `aud` other than that app
  client, which on AWS the proxy refuses instead (API Gateway's authorizer accepts any app client of
  the pool). The claims go on as API Gateway hands them over: every value a string, `exp` and `iat`
  as dates.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stack_config.auth import ApiKey, Auth, Cognito, Iam, NoAuth
from streaming_shared.auth_modes import AUTH_MODES
from streaming_shared.edge import APP_CLIENT_ID_PATTERN, ID_TOKEN_USE

# The auth modes are the deployed API's own types (stack_config/auth.py, free of Pulumi); locally each
# mode's credentials are local stand-ins, so the gateway keeps the mode's type and its own secrets.
AUTH_KINDS: dict[str, type] = {kind.mode: kind for kind in get_args(Auth)}
LOCAL_ACCOUNT_ID = "000000000000"
SIGV4_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# API Gateway refuses signatures whose x-amz-date is more than 5 minutes off (AWS docs: "Signature
# expired"); the local gateway uses the same window.
SIGV4_MAX_SKEW_SECONDS = 300
SIGV4_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<access_key>[^/\s,]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request,\s*SignedHeaders=(?P<signed_headers>[a-z0-9;-]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})"
)
# The local user pool's one app client: the page's sign-in (local/cognito_login.py) and every local
# token name it in `aud`, and the local proxy accepts ID tokens of it alone (PROXY_COGNITO_APP_CLIENT_ID).
LOCAL_APP_CLIENT_ID = "local_chat_page_client"
# One JWT segment: unpadded base64url, nothing else (no padding, whitespace or other bytes).
_BASE64URL_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
# How API Gateway writes a Cognito token's `exp` and `iat` in requestContext.authorizer.claims.
CLAIM_DATE_FORMAT = "%a %b %d %H:%M:%S UTC %Y"
DATE_CLAIMS = ("exp", "iat")
HS256_SIGNATURE_BYTES = 32


@dataclass(frozen=True)
class GatewayRejection:
    # API Gateway's gateway-response type, e.g. INVALID_API_KEY; the local gateway maps it to a body.
    response_type: str
    # API Gateway's own message text ($context.error.message).
    message: str


@dataclass(frozen=True)
class CallerIdentity:
    # requestContext.identity fields API Gateway fills in for this mode.
    identity: dict[str, Any] = field(default_factory=dict)
    # requestContext.authorizer (Cognito claims), empty for the other modes.
    authorizer: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthSettings:
    # The mode's config name (AUTH_MODES): it travels as JSON from the stack to the gateway process.
    mode: str = NoAuth.mode
    # apiKey: key value -> key id (the id, never the value, names the caller).
    api_keys: Mapping[str, str] = field(default_factory=dict)
    # iam: access key id -> secret access key.
    iam_credentials: Mapping[str, str] = field(default_factory=dict)
    # iam: the region the API lives in; signatures for another region are refused.
    region: str = "us-east-1"
    # cognito: HS256 secret the local tokens are signed with.
    jwt_secret: str = ""
    # cognito: the required "aud", the local pool's app client id.
    jwt_audience: str = LOCAL_APP_CLIENT_ID

    def __post_init__(self) -> None:
        if self.mode not in AUTH_MODES:
            raise ValueError(f"auth mode must be one of {', '.join(AUTH_MODES)}, got {self.mode!r}")
        if self.kind is ApiKey and not self.api_keys:
            raise ValueError("auth mode apiKey needs at least one API key")
        if self.kind is Iam and not self.iam_credentials:
            raise ValueError("auth mode iam needs at least one access key id and secret")
        if self.kind is Cognito and not self.jwt_secret:
            raise ValueError("auth mode cognito needs a JWT secret")
        if self.kind is Cognito and not APP_CLIENT_ID_PATTERN.fullmatch(str(self.jwt_audience)):
            raise ValueError("auth mode cognito needs jwt_audience, an app client id (1-128 letters, digits, "
                             f"'_' or '+'), got {self.jwt_audience!r}")

    @property
    def kind(self) -> type:
        """The deployed API's auth type for this mode (NoAuth, ApiKey, Iam or Cognito)."""
        return AUTH_KINDS[self.mode]


def local_user_arn(access_key_id: str) -> str:
    # A stable, readable principal per local access key, shaped like a real IAM user ARN.
    return f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:user/local-{access_key_id}"


def authenticate(
    settings: AuthSettings,
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
) -> CallerIdentity | GatewayRejection:
    """The identity API Gateway would pass on, or the refusal it would answer with.

    ``headers`` must be case-insensitive (Starlette's Headers or similar).
    """
    if settings.kind is NoAuth:
        return CallerIdentity()
    if settings.kind is ApiKey:
        return check_api_key(settings, headers)
    if settings.kind is Iam:
        return check_sigv4(settings, method=method, path=path, query=query, headers=headers, body=body, now=now)
    return check_cognito_token(settings, headers, now=now)


def check_api_key(settings: AuthSettings, headers: Mapping[str, str]) -> CallerIdentity | GatewayRejection:
    presented = headers.get("x-api-key")
    if presented:
        for key, key_id in settings.api_keys.items():
            if hmac.compare_digest(presented.encode(), key.encode()):
                return CallerIdentity(identity={"apiKeyId": key_id, "apiKey": key})
    return GatewayRejection("INVALID_API_KEY", "Forbidden")


def check_sigv4(
    settings: AuthSettings,
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
) -> CallerIdentity | GatewayRejection:
    authorization = headers.get("authorization")
    if not authorization:
        return GatewayRejection("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    match = SIGV4_AUTHORIZATION.fullmatch(authorization.strip())
    if not match:
        return GatewayRejection(
            "INVALID_SIGNATURE",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
        )
    if match["service"] != "execute-api" or match["region"] != settings.region:
        return GatewayRejection(
            "INVALID_SIGNATURE",
            f"Credential should be scoped to correct service and region: 'execute-api' in '{settings.region}'.",
        )
    secret = settings.iam_credentials.get(match["access_key"])
    if secret is None:
        return GatewayRejection("INVALID_SIGNATURE", "The security token included in the request is invalid.")
    signed_names = match["signed_headers"].split(";")
    if "host" not in signed_names or "x-amz-date" not in signed_names:
        return GatewayRejection("INVALID_SIGNATURE", "SignedHeaders must include host and x-amz-date.")
    amz_date = headers.get("x-amz-date", "")
    stale = check_signing_time(amz_date, match["date"], time.time() if now is None else now)
    if stale is not None:
        return stale

    expected = expected_signature(
        access_key_id=match["access_key"],
        secret_access_key=secret,
        region=settings.region,
        method=method,
        path=path,
        query=query,
        signed_headers={name: headers.get(name, "") for name in signed_names},
        body=body,
        amz_date=amz_date,
    )
    if not hmac.compare_digest(expected, match["signature"]):
        return GatewayRejection(
            "INVALID_SIGNATURE",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    user_arn = local_user_arn(match["access_key"])
    return CallerIdentity(
        identity={"accessKey": match["access_key"], "accountId": LOCAL_ACCOUNT_ID, "caller": user_arn, "userArn": user_arn}
    )


def check_signing_time(amz_date: str, scope_date: str, now: float) -> GatewayRejection | None:
    """X-Amz-Date well formed, on the credential scope's day, and within the allowed skew of now."""
    try:
        signed_at = datetime.datetime.strptime(amz_date, SIGV4_TIMESTAMP_FORMAT).replace(tzinfo=datetime.UTC)
    except ValueError:
        return GatewayRejection("INVALID_SIGNATURE", "X-Amz-Date is missing or malformed.")
    if amz_date[:8] != scope_date:
        return GatewayRejection("INVALID_SIGNATURE", "The credential scope date does not match X-Amz-Date.")
    if abs(now - signed_at.timestamp()) > SIGV4_MAX_SKEW_SECONDS:
        return GatewayRejection("INVALID_SIGNATURE", "Signature expired: the request time is too far from now.")
    return None


def expected_signature(
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    method: str,
    path: str,
    query: str,
    signed_headers: Mapping[str, str],
    body: bytes,
    amz_date: str,
) -> str:
    """Recompute a SigV4 signature with botocore's signer, over exactly the headers the client signed."""
    host = signed_headers.get("host", "")
    url = f"http://{host}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, headers=dict(signed_headers), data=body)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(access_key_id, secret_access_key), "execute-api", region)
    canonical_request = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical_request), request))


# -- Cognito-style tokens (HS256, local only) ---------------------------------------------------------


def _b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(segment: str) -> bytes:
    """One JWT segment, strictly: ValueError for padding, stray bytes or a non-canonical spelling
    (base64's own decoder would skip characters outside its alphabet, and ignore surplus bits)."""
    if not _BASE64URL_SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("not a base64url segment")
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if _b64url_encode(raw) != segment:
        raise ValueError("not the canonical base64url spelling")
    return raw


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_segment(segment: str) -> Any:
    """A JWT header or payload: strict JSON (no NaN or Infinity) in UTF-8."""
    return json.loads(_b64url_decode(segment).decode("utf-8"), parse_constant=_reject_constant)


def _is_time(value: Any) -> bool:
    """A NumericDate: a finite number (1e400 parses as infinity; a boolean is not a number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def api_gateway_claim(name: str, value: Any) -> str:
    """A claim as API Gateway's Cognito authorizer passes it on: a string, dates for exp and iat."""
    if name in DATE_CLAIMS and _is_time(value):
        return time.strftime(CLAIM_DATE_FORMAT, time.gmtime(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def issue_local_token(
    secret: str,
    sub: str,
    *,
    expires_in: float = 3600,
    token_use: str = ID_TOKEN_USE,
    audience: str | None = LOCAL_APP_CLIENT_ID,
    extra_claims: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> str:
    """An ID token like a Cognito user pool's, signed with the local HS256 secret, issued to the
    local app client unless `audience` names another (None: no `aud` at all)."""
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "sub": sub,
        "token_use": token_use,
        "iss": "https://cognito-idp.local/local_pool",
        "iat": issued_at,
        "exp": issued_at + int(expires_in),
        **({"aud": audience} if audience else {}),
        **(extra_claims or {}),
    }
    header = _b64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url_encode(signature)}"


def check_cognito_token(
    settings: AuthSettings, headers: Mapping[str, str], *, now: float | None = None
) -> CallerIdentity | GatewayRejection:
    unauthorized = GatewayRejection("UNAUTHORIZED", "Unauthorized")
    authorization = (headers.get("authorization") or "").strip()
    # The authorizer reads the Authorization header; clients commonly send "Bearer <token>".
    token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else authorization
    parts = token.split(".")
    if len(parts) != 3:
        return unauthorized
    try:
        header = _json_segment(parts[0])
        claims = _json_segment(parts[1])
        signature = _b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError, RecursionError):
        return unauthorized
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        return unauthorized
    expected = hmac.new(settings.jwt_secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if len(signature) != HS256_SIGNATURE_BYTES or not hmac.compare_digest(expected, signature):
        return unauthorized
    current = time.time() if now is None else now
    exp = claims.get("exp")
    if not _is_time(exp) or exp <= current:
        return unauthorized
    if claims.get("token_use") != ID_TOKEN_USE or claims.get("aud") != settings.jwt_audience:
        return unauthorized
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        return unauthorized
    return CallerIdentity(authorizer={"claims": {name: api_gateway_claim(name, value) for name, value in claims.items()}})
