"""Pure builders for the REST API: plain values and functions, no Pulumi resources.

components/streaming_api.py turns them into resources; tests read them without mocks. Kept beside
the component as pulumi-awsx keeps its subnet distributor beside its VPC.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from components.auth import ApiKey, Auth, Cognito, Iam, NoAuth

STAGE_NAME = "v1"
ROUTE_PATH = "invoke"
ROUTE_METHOD = "POST"
# API Gateway's hard ceiling for a streamed integration (15 minutes).
MAX_STREAM_INTEGRATION_MS = 900_000

# The header a Cognito ID token arrives in (as "Bearer <token>" or the bare token).
COGNITO_IDENTITY_SOURCE = "method.request.header.Authorization"


def access_log_format(*, waf_enabled: bool) -> str:
    """One JSON object per request. Only metadata and identities: never bodies, keys or tokens."""
    fields = {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        # Who called: the IAM principal (iam), the API key's id (apiKey), the user pool subject
        # (cognito). Ids, never the secret itself.
        "caller": "$context.identity.caller",
        "user": "$context.identity.user",
        "apiKeyId": "$context.identity.apiKeyId",
        "cognitoSubject": "$context.authorizer.claims.sub",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        # Time to the integration's response headers vs. the whole request as API Gateway saw it;
        # for a stream the second is the stream's length, the first its time to first byte.
        "integrationLatency": "$context.integration.latency",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "integrationErrorMessage": "$context.integrationErrorMessage",
        "errorMessage": "$context.error.message",
        "vpceId": "$context.identity.vpceId",
    }
    if waf_enabled:
        fields["wafResponseCode"] = "$context.wafResponseCode"
    return json.dumps(fields, separators=(",", ":"))

# API Gateway's own errors (bad body, missing key, throttling, ...) rewritten into the project's
# error shape, so clients parse one format whether the gateway or the proxy refused them.
GATEWAY_ERRORS: dict[str, tuple[Optional[str], str]] = {
    # response type: (status override or None to keep the gateway's, machine code). The codes are
    # the proxy's own (proxy/streaming_proxy/contract.py) wherever the two can refuse the same thing.
    "BAD_REQUEST_BODY": ("400", "INVALID_BODY"),
    "BAD_REQUEST_PARAMETERS": ("400", "INVALID_REQUEST"),
    "UNSUPPORTED_MEDIA_TYPE": ("415", "UNSUPPORTED_MEDIA_TYPE"),
    "REQUEST_TOO_LARGE": ("413", "PAYLOAD_TOO_LARGE"),
    "MISSING_AUTHENTICATION_TOKEN": (None, "FORBIDDEN"),
    "INVALID_API_KEY": ("403", "FORBIDDEN"),
    "ACCESS_DENIED": ("403", "FORBIDDEN"),
    "INVALID_SIGNATURE": ("403", "FORBIDDEN"),
    "EXPIRED_TOKEN": ("403", "FORBIDDEN"),
    "UNAUTHORIZED": ("401", "UNAUTHORIZED"),
    "WAF_FILTERED": ("403", "FORBIDDEN"),
    "THROTTLED": ("429", "THROTTLED"),
    "QUOTA_EXCEEDED": ("429", "QUOTA_EXCEEDED"),
    "INTEGRATION_TIMEOUT": ("504", "UPSTREAM_TIMEOUT"),
    "INTEGRATION_FAILURE": ("502", "UPSTREAM_ERROR"),
    "DEFAULT_4XX": (None, "CLIENT_ERROR"),
    "DEFAULT_5XX": (None, "INTERNAL_ERROR"),
}
# The contract promises Retry-After with every 429 THROTTLED; a quota resets at the period's end.
GATEWAY_ERROR_HEADERS: dict[str, dict[str, str]] = {"THROTTLED": {"Retry-After": "1"}}


def gateway_error_template(code: str) -> str:
    # $context.error.message is API Gateway's own text (e.g. "Forbidden"), never the proxy's.
    return (
        '{"error":{"code":"' + code + '","message":$context.error.messageString,'
        '"requestId":"$context.requestId"}}'
    )


# CORS (off unless the stack lists origins). The proxy answers the same preflight locally
# (proxy/streaming_proxy/cors.py); tests/infra/test_infra_cors.py checks the two agree.
ANY_ORIGIN = "*"
PREFLIGHT_METHOD = "OPTIONS"
PREFLIGHT_STATUS = "204"
CORS_ALLOWED_METHODS = "POST, OPTIONS"
# What the chat page sends (content-type, x-api-key) and what IAM-signed or Cognito callers add.
CORS_ALLOWED_HEADERS = "content-type, x-api-key, authorization, x-amz-date, x-amz-security-token"
CORS_EXPOSED_HEADERS = "X-Session-Id, X-Request-Id, Retry-After"
CORS_MAX_AGE_SECONDS = 600
ALLOW_ORIGIN = "Access-Control-Allow-Origin"


def preflight_static_headers(origins: tuple[str, ...]) -> dict[str, str]:
    """Headers the OPTIONS /invoke MOCK answer carries as fixed values (header -> value)."""
    headers = {
        "Access-Control-Allow-Methods": CORS_ALLOWED_METHODS,
        "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
        "Access-Control-Max-Age": str(CORS_MAX_AGE_SECONDS),
        "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS,
        # A cache in front must not hand one origin's preflight answer to another.
        "Vary": "Origin",
    }
    # One origin (or "*") is a fixed value; several need the template below to pick one.
    if len(origins) == 1:
        headers[ALLOW_ORIGIN] = origins[0]
    return headers


def preflight_origin_template(origins: tuple[str, ...]) -> Optional[str]:
    """VTL for the MOCK integration response that echoes the request's Origin only when listed.

    None for one origin (a fixed header value does). Safe to embed: settings.py admits only
    origins made of [a-z0-9.:/-], so no entry can close the string literal or start a reference.
    """
    if len(origins) < 2:
        return None
    allowed = ", ".join(f'"{origin}"' for origin in origins)
    # $input.params looks the header up by name; HTTP/2 clients send it lower-cased.
    return (
        "#set($origin = $input.params('Origin'))\n"
        "#if($origin == \"\")#set($origin = $input.params('origin'))#end\n"
        f"#set($allowed = [{allowed}])\n"
        "#if($allowed.contains($origin))"
        f"#set($context.responseOverride.header.{ALLOW_ORIGIN} = $origin)"
        "#end\n"
    )


def gateway_error_cors_headers(origins: tuple[str, ...]) -> dict[str, str]:
    """CORS headers on API Gateway's own errors (missing key, throttled, WAF, timeouts...).

    Without Access-Control-Allow-Origin a page cannot read why it was refused. A gateway response
    can only map fixed values or request parameters, and has no condition: echoing
    method.request.header.Origin would grant every site on the internet, not the listed ones. So
    with one origin (or "*") that value is used; with several only the FIRST origin can read
    gateway errors, and pages on the others see an opaque network error for those (their own
    requests and the proxy's errors are unaffected: the proxy echoes any listed origin).
    """
    if not origins:
        return {}
    return {ALLOW_ORIGIN: origins[0], "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS}


def request_body_schema() -> dict[str, Any]:
    """The validator checks only that the body is a JSON object.

    Field rules (required prompt, lengths, session id form, unknown fields) stay with the proxy, so
    every field error has the same code and message locally and on AWS; API Gateway's validator could
    only answer them all as one BAD_REQUEST_BODY.
    """
    return {"$schema": "http://json-schema.org/draft-04/schema#", "title": "InvokeRequest", "type": "object"}


def method_authorization(auth: Auth) -> tuple[str, bool]:
    """(the method's authorization type, whether it requires an API key) for an auth mode.

    Cognito also needs an authorizer on the method; StreamingApi creates it.
    """
    if isinstance(auth, NoAuth):
        return "NONE", False
    if isinstance(auth, ApiKey):
        return "NONE", True
    if isinstance(auth, Iam):
        return "AWS_IAM", False
    if isinstance(auth, Cognito):
        return "COGNITO_USER_POOLS", False
    raise TypeError(f"not an auth mode: {auth!r}")


def integration_timeout_ms(function_timeout_seconds: int) -> int:
    """The integration waits as long as the function runs, never past API Gateway's stream limit."""
    return min(function_timeout_seconds * 1000, MAX_STREAM_INTEGRATION_MS)


def gateway_response_parameters(response_type: str, origins: tuple[str, ...]) -> Optional[dict[str, str]]:
    """Header mappings of one gateway response: CORS for the allowed origins, plus Retry-After
    on THROTTLED; None when it has none (the provider's own empty value)."""
    headers = {**gateway_error_cors_headers(origins), **GATEWAY_ERROR_HEADERS.get(response_type, {})}
    return {f"gatewayresponse.header.{header}": f"'{value}'" for header, value in headers.items()} or None


def gateway_response_resource_suffix(response_type: str) -> str:
    """"error-bad-request-body" for BAD_REQUEST_BODY: the logical name's tail of its resource."""
    return "error-" + response_type.lower().replace("_", "-")
