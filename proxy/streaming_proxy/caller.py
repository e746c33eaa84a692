"""Who is calling, and which request this is, from what API Gateway hands the function.

Lambda Web Adapter passes the API Gateway request context to the app as the JSON header
`x-amzn-request-context`. Its identity fields are filled by API Gateway after authentication
(API key, IAM signature or Cognito token), so they name the caller; the token itself never reaches
the proxy's logs.

On AWS, Lambda Web Adapter sets this header itself and replaces any value a client sent, so it
cannot be forged. Run without API Gateway in front (the local stack with `--auth none`), the proxy
takes the header as given: there is no authentication then, and a client may name any caller.
Either way the text is untrusted input: size-bounded, parsed without recursing without end, and
only header-safe request ids are kept. A header that is there but is not a JSON object of at most
MAX_REQUEST_CONTEXT_BYTES is refused (RequestContextError), never read as the anonymous caller:
Lambda Web Adapter sends API Gateway's context with every request, so such a header did not come
from AWS. A missing header is the anonymous caller only where nothing authenticates
(`required=False`: the local stack without auth, where no gateway stands in front).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streaming_shared.edge import ID_TOKEN_USE, REQUEST_CONTEXT_HEADER, UNAUTHORIZED

from .contract import ApiError, is_valid_request_id

ANONYMOUS = "anonymous"
# API Gateway's request context with Cognito claims is a few KiB; anything far larger is not one.
MAX_REQUEST_CONTEXT_BYTES = 64 * 1024


@dataclass(frozen=True)
class RequestContext:
    # API Gateway's request id when behind API Gateway, else None (the app makes one).
    request_id: str | None
    # "cognito:<sub>", "iam:<principal arn>", "apikey:<key id>" or "anonymous".
    caller: str
    # The Cognito token's claims as API Gateway's authorizer passed them (requestContext.authorizer
    # .claims, every value a string); empty for the other modes.
    claims: Mapping[str, Any] = field(default_factory=dict)


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class RequestContextError(ValueError):
    """The request context is missing where it is required, too large, or not a JSON object.

    `reason` is one of "missing", "too_large", "not_an_object" (for the logs); the message, for the
    client, names the header and what it must be.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_request_context(headers: Mapping[str, str], required: bool = False) -> RequestContext:
    """The caller and request id; RequestContextError when the header is unusable (see the module doc)."""
    raw = headers.get(REQUEST_CONTEXT_HEADER)
    if raw is None:
        if required:
            raise RequestContextError(
                "missing", f"The request has no {REQUEST_CONTEXT_HEADER} header; API Gateway sends one with every request."
            )
        return RequestContext(request_id=None, caller=ANONYMOUS)
    if len(raw) > MAX_REQUEST_CONTEXT_BYTES:
        raise RequestContextError(
            "too_large", f"The {REQUEST_CONTEXT_HEADER} header may be at most {MAX_REQUEST_CONTEXT_BYTES} bytes."
        )
    try:
        context = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: deeply nested arrays or objects
        context = None
    if not isinstance(context, dict):
        raise RequestContextError(
            "not_an_object", f"The {REQUEST_CONTEXT_HEADER} header must be API Gateway's request context, a JSON object."
        )
    request_id = context.get("requestId")
    request_id = request_id if is_valid_request_id(request_id) else None

    claims = _as_dict(_as_dict(context.get("authorizer")).get("claims"))
    identity = _as_dict(context.get("identity"))
    if isinstance(claims.get("sub"), str) and claims["sub"]:
        caller = f"cognito:{claims['sub']}"
    elif isinstance(identity.get("userArn"), str) and identity["userArn"]:
        caller = f"iam:{identity['userArn']}"
    elif isinstance(identity.get("apiKeyId"), str) and identity["apiKeyId"]:
        caller = f"apikey:{identity['apiKeyId']}"
    else:
        caller = ANONYMOUS
    return RequestContext(request_id=request_id, caller=caller, claims=claims)


def check_token_claims(context: RequestContext, app_client_id: str) -> None:
    """With an app client configured (authMode cognito), refuse a request unless API Gateway passed
    the claims of an ID token issued to that client: ApiError 401 UNAUTHORIZED otherwise.

    API Gateway's Cognito authorizer checks the token's signature, issuer and expiry, but accepts an
    ID token of any app client of the pool; the token names its client in `aud`.
    """
    if not app_client_id:
        return
    claims = context.claims
    if not claims:
        raise ApiError(401, UNAUTHORIZED, "This API takes a Cognito ID token in the Authorization header.")
    if claims.get("token_use") != ID_TOKEN_USE:
        raise ApiError(401, UNAUTHORIZED, "Send the user pool's ID token (token_use 'id'), not another token.")
    if claims.get("aud") != app_client_id:
        raise ApiError(
            401, UNAUTHORIZED,
            "The ID token was issued to another app client; sign in through the app client this API trusts.",
        )


def request_id_from(headers: Mapping[str, str]) -> str | None:
    """API Gateway's request id, for an answer that needs no caller; None when the context is unusable."""
    try:
        return read_request_context(headers).request_id
    except RequestContextError:
        return None
