"""One-line hints for the mistakes a new user makes first: a malformed URL, no server where the URL
points, missing, wrong or stale credentials.

Each function returns the hint's text (printed as `hint: <text>` on stderr), or None when it has none.
The 403 and 401 texts follow what API Gateway answers (AWS Knowledge Center, "How do I troubleshoot
HTTP 403 errors from API Gateway?", "Missing Authentication Token" errors and "401 Unauthorized" with
a Cognito user pool authorizer): an API key method refuses a request without a valid key (a wrong,
disabled or deleted key, or one outside the stage's usage plan) as `Forbidden`, as a WAF rule's block
reads too; an IAM method refuses an unsigned request, like any unknown route, as `Missing
Authentication Token`, unknown or expired credentials as `The security token included in the request
is invalid.` (or `... is expired`), a signature older than 5 minutes as `Signature expired`, and a
caller its policies do not allow as `User: <arn> is not authorized to perform: execute-api:Invoke`;
a Cognito authorizer refuses a missing, expired or foreign token with 401 `Unauthorized`.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import urllib.parse

from client.api import InvokeError

DEPLOYED_URL_EXAMPLE = "https://<api-id>.execute-api.<region>.amazonaws.com/<stage> (the stack output apiUrl)"
LOCAL_STACK_COMMAND = "python3 dev.py local"
LOCAL_STACK_PORT = 8000  # what `python3 dev.py local` listens on unless given --port
URL_EXAMPLES = f"{DEPLOYED_URL_EXAMPLE} or http://127.0.0.1:{LOCAL_STACK_PORT} locally"
MISSING_AUTHENTICATION_TOKEN = "Missing Authentication Token"
FORBIDDEN = "Forbidden"
CREDENTIAL_FLAGS = {
    "apiKey": "add --api-key KEY (the stack output apiKey: pulumi stack output apiKey --show-secrets), or use --stack NAME",
    "iam": "add --iam to sign the request with your AWS credentials (SigV4), or use --stack NAME",
    "cognito": "add --token ID_TOKEN (or set AGENTCORE_STREAMING_TOKEN) with a Cognito ID token of the stack's user pool",
}
SIGN_IN_AGAIN = "sign in to AWS again (aws sso login --profile NAME), or check AWS_PROFILE / AWS_ACCESS_KEY_ID"
# The start of API Gateway's texts for a signed request it refuses, and what to do about each.
SIGNATURE_REFUSALS = (
    ("The security token included in the request is", f"AWS does not accept these credentials (unknown or expired): {SIGN_IN_AGAIN}"),
    ("Signature expired", "the request's signing time is more than 5 minutes from AWS's: set this computer's clock"),
    ("Credential should be scoped", "the signature is for another region than the API's: pass --region REGION, or use --stack NAME"),
    ("The request signature we calculated does not match",
     "the secret key does not belong to the access key: check AWS_SECRET_ACCESS_KEY or your profile's credentials"),
    ("User: ", "your AWS identity may not call this API: it needs execute-api:Invoke on it, and a PRIVATE API "
               "answers only through its VPC endpoint"),
)


def malformed_url(url: str) -> str:
    return f"{url!r} is not an API URL; it looks like {URL_EXAMPLES}, optionally ending in /invoke"


def refused(error: InvokeError, *, api_key: bool = False, signed: bool = False, token: bool = False) -> str | None:
    """A hint for a 401 or 403, given what the request carried: an API key, a SigV4 signature, a token."""
    if error.status == 401:
        if token:
            return "the API refused the token: it may have expired or come from another user pool; sign in again for a fresh ID token"
        return f"this API wants a Cognito ID token: {CREDENTIAL_FLAGS['cognito']}"
    if error.status != 403:
        return None
    if error.message == MISSING_AUTHENTICATION_TOKEN:
        if signed:
            return "API Gateway says this for a stage or path it does not have: check the URL (the stack output apiUrl or invokeUrl)"
        return (
            f"this API wants a SigV4 signature: {CREDENTIAL_FLAGS['iam']} "
            "(API Gateway says this for a wrong stage or path too: check the URL)"
        )
    if error.message == FORBIDDEN:
        if api_key:
            return (
                "the API refused this API key: use the stack's own (pulumi stack output apiKey --show-secrets, "
                "or --stack NAME); a key of another stack or a deleted one is refused (so is a request a WAF rule blocks)"
            )
        return f"this API wants an API key: {CREDENTIAL_FLAGS['apiKey']}"
    if signed:
        return next((hint for start, hint in SIGNATURE_REFUSALS if error.message.startswith(start)), None)
    if api_key or token:
        return None  # a refusal of credentials this client does not know how to fix: its message says enough
    return "the API refused a request without credentials: add --api-key KEY, --iam or --token ID_TOKEN as its authMode requires, or use --stack NAME"


def unreachable(url: str, error: Exception) -> str | None:
    """A hint for a request that never got an HTTP answer: nothing listening, an unknown host, https to the local stack."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    if isinstance(error, ConnectionRefusedError):
        if is_loopback(host):
            command = LOCAL_STACK_COMMAND + ("" if port == LOCAL_STACK_PORT else f" --port {port}")
            return (
                f"nothing is listening on {host}:{port}: start the local stack with `{command}`, "
                "or use --stack NAME for a deployed one"
            )
        return f"nothing accepts connections on {host}:{port}: check the URL; a deployed API is {DEPLOYED_URL_EXAMPLE}"
    if isinstance(error, socket.gaierror):
        return f"the host name {host!r} does not resolve: check it against the stack output apiUrl, and this computer's network"
    if isinstance(error, ssl.SSLError) and is_loopback(host):
        return f"the local stack speaks plain HTTP: use http://{parts.netloc}"
    if isinstance(error, TimeoutError):
        return "no answer within --timeout seconds: check the URL and this computer's network"
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
