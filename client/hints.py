"""One-line hints for the mistakes a new user makes first: a malformed URL, missing or stale credentials.

Each function returns the hint's text (printed as `hint: <text>` on stderr), or None when it has none.
The 403 and 401 texts follow what API Gateway answers (AWS Knowledge Center, "troubleshoot HTTP 403
errors from API Gateway", "Missing Authentication Token" errors and "401 Unauthorized" with a Cognito
user pool authorizer): an API key method refuses a request without a key as `Forbidden`; an IAM
method refuses an unsigned request, like any unknown route, as `Missing Authentication Token`; a
Cognito authorizer refuses a missing, expired or foreign token with 401 `Unauthorized`.
"""

from __future__ import annotations

from client.api import InvokeError

URL_EXAMPLES = "https://<api-id>.execute-api.<region>.amazonaws.com/<stage> (the stack output apiUrl) or http://127.0.0.1:8000 locally"
MISSING_AUTHENTICATION_TOKEN = "Missing Authentication Token"
FORBIDDEN = "Forbidden"
CREDENTIAL_FLAGS = {
    "apiKey": "add --api-key KEY (the stack output apiKey: pulumi stack output apiKey --show-secrets), or use --stack NAME",
    "iam": "add --iam to sign the request with your AWS credentials (SigV4), or use --stack NAME",
    "cognito": "add --token ID_TOKEN (or set AGENTCORE_STREAMING_TOKEN) with a Cognito ID token of the stack's user pool",
}


def malformed_url(url: str) -> str:
    return f"{url!r} is not an API URL; it looks like {URL_EXAMPLES}, optionally ending in /invoke"


def refused(error: InvokeError, *, credentials_given: bool) -> str | None:
    """A hint for a 401, or for a 403 to a request that carried no credentials (else the refusal says enough)."""
    if error.status == 401:
        if credentials_given:
            return "the API refused the token: it may have expired or come from another user pool; sign in again for a fresh ID token"
        return f"this API wants a Cognito ID token: {CREDENTIAL_FLAGS['cognito']}"
    if error.status != 403 or credentials_given:
        return None
    if error.message == MISSING_AUTHENTICATION_TOKEN:
        return (
            f"this API wants a SigV4 signature: {CREDENTIAL_FLAGS['iam']} "
            "(API Gateway says this for a wrong stage or path too: check the URL)"
        )
    if error.message == FORBIDDEN:
        return f"this API wants an API key: {CREDENTIAL_FLAGS['apiKey']}"
    return "the API refused a request without credentials: add --api-key KEY, --iam or --token ID_TOKEN as its authMode requires, or use --stack NAME"
