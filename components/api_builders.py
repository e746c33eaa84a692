"""Pure builders for the REST API: plain values and functions, no Pulumi resources.

components/streaming_api.py turns them into resources; tests read them without mocks. Kept beside
the component as pulumi-awsx keeps its subnet distributor beside its VPC.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from stack_config.auth import ApiKey, Auth, Cognito, Iam, NoAuth
from streaming_shared import edge
from streaming_shared.edge import ALLOW_ORIGIN, GATEWAY_RESPONSES

STAGE_NAME = "v1"
ROUTE_PATH = edge.INVOKE_PATH.lstrip("/")
ROUTE_METHOD = edge.INVOKE_METHOD
STOP_ROUTE_PATH = edge.STOP_PATH.lstrip("/")
STOP_ROUTE_METHOD = edge.STOP_METHOD
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

# The tables and constants these builders use are the HTTP edge's (streaming_shared/edge.py),
# shared with the proxy and the local gateway: gateway responses, the error body, CORS headers.
PREFLIGHT_STATUS = str(edge.PREFLIGHT_STATUS)


def preflight_static_headers(origins: tuple[str, ...]) -> dict[str, str]:
    """Headers the OPTIONS /invoke MOCK answer carries as fixed values (header -> value)."""
    headers = {
        **edge.PREFLIGHT_GRANT_HEADERS,
        "Access-Control-Expose-Headers": edge.EXPOSED_HEADERS,
        # A cache in front must not hand one origin's preflight answer to another.
        "Vary": "Origin",
    }
    # One origin (or "*") is a fixed value; several need the template below to pick one.
    if len(origins) == 1:
        headers[ALLOW_ORIGIN] = origins[0]
    return headers


def preflight_origin_template(origins: tuple[str, ...]) -> Optional[str]:
    """VTL for the MOCK integration response that echoes the request's Origin only when listed.

    None for one origin (a fixed header value does). Safe to embed: the origin grammar (edge.py)
    admits only origins made of [a-z0-9.:/[]-], so no entry can close the string literal or start
    a reference.
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
    return {ALLOW_ORIGIN: origins[0], "Access-Control-Expose-Headers": edge.EXPOSED_HEADERS}


def request_body_schema(title: str = "InvokeRequest") -> dict[str, Any]:
    """The validator checks only that the body is a JSON object (InvokeRequest or StopRequest).

    Field rules (required prompt or session id, lengths, session id form, unknown fields) stay with
    the proxy, so every field error has the same code and message locally and on AWS; API Gateway's
    validator could only answer them all as one BAD_REQUEST_BODY.
    """
    return {"$schema": "http://json-schema.org/draft-04/schema#", "title": title, "type": "object"}


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
    headers = {**gateway_error_cors_headers(origins), **GATEWAY_RESPONSES[response_type].headers}
    return {f"gatewayresponse.header.{header}": f"'{value}'" for header, value in headers.items()} or None


def gateway_response_resource_suffix(response_type: str) -> str:
    """"error-bad-request-body" for BAD_REQUEST_BODY: the logical name's tail of its resource."""
    return "error-" + response_type.lower().replace("_", "-")
