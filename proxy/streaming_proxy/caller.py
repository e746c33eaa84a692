"""Who is calling, and which request this is, from what API Gateway hands the function.

Lambda Web Adapter passes the API Gateway request context to the app as the JSON header
`x-amzn-request-context`. Its identity fields are filled by API Gateway after authentication
(API key, IAM signature or Cognito token), so they name the caller; the token itself never reaches
the proxy's logs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REQUEST_CONTEXT_HEADER = "x-amzn-request-context"
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class RequestContext:
    # API Gateway's request id when behind API Gateway, else None (the app makes one).
    request_id: str | None
    # "cognito:<sub>", "iam:<principal arn>", "apikey:<key id>" or "anonymous".
    caller: str


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def read_request_context(headers: Mapping[str, str]) -> RequestContext:
    raw = headers.get(REQUEST_CONTEXT_HEADER)
    if not raw:
        return RequestContext(request_id=None, caller=ANONYMOUS)
    try:
        context = _as_dict(json.loads(raw))
    except ValueError:
        return RequestContext(request_id=None, caller=ANONYMOUS)
    request_id = context.get("requestId")
    request_id = request_id if isinstance(request_id, str) and request_id else None

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
    return RequestContext(request_id=request_id, caller=caller)
