"""A local stand-in for a Cognito user pool's hosted login: /oauth2/authorize, /oauth2/token, /logout.

The chat page signs in against it exactly as against a real user pool domain (Authorization Code
grant with PKCE, S256), so the sign-in can be tried and tested without AWS:

- GET /oauth2/authorize checks response_type=code, the app client id, that redirect_uri is one of
  the client's callback URLs, the openid scope and an S256 code_challenge; then, where Cognito
  would show its sign-in form, it signs in the configured local user at once and redirects to
  redirect_uri with `code` and the caller's `state`.
- POST /oauth2/token (form-encoded) redeems a code once, within its lifetime, for the same client
  and redirect_uri, and only when BASE64URL(SHA256(code_verifier)) equals the code_challenge; it
  answers with an ID token signed the way the local gateway's cognito mode accepts
  (local/gateway_auth.py: HS256 with the stack's secret). Errors are Cognito's: 400 with
  {"error": "invalid_grant"} and the like.
- GET /logout redirects to logout_uri when it is one of the client's sign-out URLs.

Real Cognito differences: the user types a password on a hosted page; tokens are RS256-signed and
published at the pool's JWKS URL; a refresh token is returned (this stand-in returns none, and the
page does not keep one).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlencode, urlsplit

from local.background_http import HOST, BackgroundHttpServer, GuardedRequestHandler
from local.gateway_auth import LOCAL_APP_CLIENT_ID, issue_local_token

# Cognito's documented limit for redeeming an authorization code.
CODE_LIFETIME_SECONDS = 300
# The app client's ID token validity (components/user_pool.py uses 60 minutes too).
ID_TOKEN_SECONDS = 3600
# RFC 7636: a verifier is 43 to 128 characters of [A-Z] [a-z] [0-9] - . _ ~
VERIFIER_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
MAX_FORM_BYTES = 16 * 1024
# Codes issued and not yet redeemed (nor expired). Each /oauth2/authorize adds one, so without a
# bound anyone who can reach the port grows the stand-in's memory without end.
MAX_PENDING_CODES = 1000


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(ASCII(verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class PendingCode:
    client_id: str
    redirect_uri: str
    challenge: str
    expires_at: float


@dataclass
class LoginSettings:
    # HS256 secret of the local gateway's cognito mode (LocalStack.jwt_secret).
    jwt_secret: str
    # The callback and sign-out URLs of the app client (the page's own URL).
    callback_urls: Sequence[str]
    client_id: str = LOCAL_APP_CLIENT_ID
    # Who the stand-in signs in.
    subject: str = "local-user"
    email: str = "local-user@example.com"
    id_token_seconds: int = ID_TOKEN_SECONDS
    # Every code redeemed or refused is counted here, for tests that must see the exchange happen.
    token_requests: list[dict[str, str]] = field(default_factory=list)


class CognitoLogin(BackgroundHttpServer):
    """The hosted-login stand-in in a daemon thread; `url` is what config.js calls the pool's domain."""

    def __init__(self, settings: LoginSettings, port: int = 0) -> None:
        self.settings = settings
        self.codes: dict[str, PendingCode] = {}
        self.lock = threading.Lock()
        super().__init__(_handler_for(self), port, "cognito-login")
        self.url = f"http://{HOST}:{self.port}"

    # -- the endpoints' rules, without HTTP ------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[str | None, str | None]:
        """(redirect location, None) or (None, error text to show: Cognito shows an error page)."""
        settings = self.settings
        if query.get("client_id") != settings.client_id:
            return None, "invalid client_id"
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in settings.callback_urls:
            return None, f"redirect_mismatch: {redirect_uri!r} is not a callback URL of this app client"
        back: dict[str, str] = {}
        if query.get("state"):
            back["state"] = query["state"]
        problem = None
        if query.get("response_type") != "code":
            problem = "unsupported_response_type"
        elif "openid" not in query.get("scope", "").split():
            problem = "invalid_scope"
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            problem = "invalid_request"
        if problem is not None:
            return f"{redirect_uri}?{urlencode({'error': problem, **back})}", None
        code = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self.lock:
            for stale in [old for old, pending in self.codes.items() if now > pending.expires_at]:
                del self.codes[stale]
            if len(self.codes) >= MAX_PENDING_CODES:
                # RFC 6749 section 4.1.2.1's answer for a server that cannot take the request now.
                return f"{redirect_uri}?{urlencode({'error': 'temporarily_unavailable', **back})}", None
            self.codes[code] = PendingCode(settings.client_id, redirect_uri, query["code_challenge"],
                                           now + CODE_LIFETIME_SECONDS)
        return f"{redirect_uri}?{urlencode({'code': code, **back})}", None

    def token(self, form: dict[str, str]) -> tuple[HTTPStatus, dict[str, object]]:
        self.settings.token_requests.append(dict(form))
        if form.get("grant_type") != "authorization_code":
            return HTTPStatus.BAD_REQUEST, {"error": "unsupported_grant_type"}
        if form.get("client_id") != self.settings.client_id:
            return HTTPStatus.BAD_REQUEST, {"error": "invalid_client"}
        code, verifier = form.get("code", ""), form.get("code_verifier", "")
        if not code or not verifier or not form.get("redirect_uri"):
            return HTTPStatus.BAD_REQUEST, {"error": "invalid_request"}
        with self.lock:
            pending = self.codes.pop(code, None)  # a code is redeemed once, even by a failed attempt
        if pending is None or time.monotonic() > pending.expires_at:
            return HTTPStatus.BAD_REQUEST, {"error": "invalid_grant"}
        if pending.client_id != form["client_id"] or pending.redirect_uri != form["redirect_uri"]:
            return HTTPStatus.BAD_REQUEST, {"error": "invalid_grant"}
        if not (43 <= len(verifier) <= 128 and set(verifier) <= VERIFIER_ALPHABET):
            return HTTPStatus.BAD_REQUEST, {"error": "invalid_grant"}
        if not hmac.compare_digest(code_challenge(verifier), pending.challenge):
            return HTTPStatus.BAD_REQUEST, {"error": "invalid_grant"}
        settings = self.settings
        claims = {"email": settings.email, "email_verified": True, "cognito:username": settings.subject}
        id_token = issue_local_token(settings.jwt_secret, settings.subject, expires_in=settings.id_token_seconds,
                                     audience=settings.client_id, extra_claims=claims)
        access_token = issue_local_token(settings.jwt_secret, settings.subject, expires_in=settings.id_token_seconds,
                                         token_use="access", audience=None,  # access tokens carry no aud
                                         extra_claims={"client_id": settings.client_id})
        return HTTPStatus.OK, {"id_token": id_token, "access_token": access_token,
                               "expires_in": settings.id_token_seconds, "token_type": "Bearer"}

    def logout(self, query: dict[str, str]) -> tuple[str | None, str | None]:
        if query.get("client_id") != self.settings.client_id:
            return None, "invalid client_id"
        logout_uri = query.get("logout_uri", "")
        if logout_uri not in self.settings.callback_urls:
            return None, f"{logout_uri!r} is not a sign-out URL of this app client"
        return logout_uri, None


def _single_values(pairs: dict[str, list[str]]) -> dict[str, str]:
    return {name: values[0] for name, values in pairs.items() if values}


def _handler_for(login: CognitoLogin) -> type[GuardedRequestHandler]:
    class LoginHandler(GuardedRequestHandler):
        server_version = "local-cognito-login"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            address = urlsplit(self.path)
            query = _single_values(parse_qs(address.query))
            if address.path == "/oauth2/authorize":
                location, error = login.authorize(query)
            elif address.path == "/logout":
                location, error = login.logout(query)
            else:
                return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"Not found\n")
            if location is None:
                return self._send(HTTPStatus.BAD_REQUEST, "text/plain; charset=utf-8", f"{error}\n".encode())
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802
            if urlsplit(self.path).path != "/oauth2/token":
                return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"Not found\n")
            length = self.content_length
            if not 0 < length <= MAX_FORM_BYTES or not (self.headers.get("Content-Type") or "").startswith(
                    "application/x-www-form-urlencoded"):
                status, body = HTTPStatus.BAD_REQUEST, {"error": "invalid_request"}
            else:
                form = _single_values(parse_qs(self.rfile.read(length).decode("utf-8", errors="replace")))
                status, body = login.token(form)
            self._send(status, "application/json;charset=UTF-8", json.dumps(body).encode())

        def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            # Cognito's token endpoint answers browsers cross-origin (it echoes their Origin).
            origin = self.headers.get("Origin")
            if origin:
                self.send_header("Access-Control-Allow-Origin", origin)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return LoginHandler
