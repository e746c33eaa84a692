"""Serves the chat page (web/) on 127.0.0.1 with a config.js that names the API.

The page lives on its own origin, as it would in front of a deployed stack, so the browser calls
the API cross-origin and the proxy's CORS rules are exercised locally too (LocalStack allows this
server's origins in PROXY_CORS_ALLOWED_ORIGINS).

    python -m local.page_server --api-url http://127.0.0.1:8000 --port 8001

It prints the page's URL and the origin the API must allow (http://localhost:<port>, the one the
docs tell you to allow, and the only plain-http origin Cognito accepts as a callback URL), then
asks the API with a CORS preflight whether it allows that origin and warns on stderr when it does not.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from http import HTTPStatus
from pathlib import Path

from local.background_http import HOST, BackgroundHttpServer, GuardedRequestHandler
from streaming_shared.edge import INVOKE_PATH

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
# Only these files are served: no directory listing, no path handling to get wrong.
PAGE_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/vendor/marked.umd.js": ("vendor/marked.umd.js", "text/javascript; charset=utf-8"),
    "/vendor/purify.min.js": ("vendor/purify.min.js", "text/javascript; charset=utf-8"),
}
CONFIG_PATH = "/config.js"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Edits to web/ show on the next reload.
    "Cache-Control": "no-store",
}


def config_script(api_url: str, auth_mode: str | None = None, cognito: dict[str, object] | None = None) -> bytes:
    """The page's config.js (the shape the hosted page's config.js has too; never a key or a secret)."""
    config: dict[str, object] = {"apiUrl": api_url}
    if auth_mode is not None:
        config["authMode"] = auth_mode
    if cognito is not None:
        config["cognito"] = cognito
    return (f"// Served by local/page_server.py for the local stack.\n"
            f"window.AGENTCORE_STREAMING_CONFIG = {json.dumps(config)};\n").encode()


def page_origins(port: int) -> list[str]:
    """The origins a browser reports for this server; the first is the one printed and documented.

    localhost first: Cognito accepts plain-http callback URLs only for http://localhost, so that is
    the origin that works for CORS and for signing in alike. People type 127.0.0.1 too, so the
    local stack allows both.
    """
    return [f"http://localhost:{port}", f"http://{HOST}:{port}"]


# The headers the page may send: JSON, and an API key or an ID token depending on the stack.
PREFLIGHT_REQUEST_HEADERS = "content-type"
PREFLIGHT_TIMEOUT_SECONDS = 10


def invoke_url(api_url: str) -> str:
    """<API URL>/invoke, as the page builds it (an URL that already ends in /invoke is kept)."""
    base = api_url.rstrip("/")
    return base if base.endswith(INVOKE_PATH) else f"{base}{INVOKE_PATH}"


def cors_warning(api_url: str, origin: str) -> str | None:
    """One line saying the API does not let `origin` call it (or could not be asked), or None if it does.

    Asks the way a browser does: an OPTIONS preflight for POST /invoke with `Origin`. That works the
    same for the local stack and a deployed API (whose preflight route needs no credentials); a
    deployed API without CORS has no OPTIONS route and answers 403 without the header.
    """
    url = invoke_url(api_url)
    request = urllib.request.Request(url, method="OPTIONS", headers={
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": PREFLIGHT_REQUEST_HEADERS,
    })
    try:
        with urllib.request.urlopen(request, timeout=PREFLIGHT_TIMEOUT_SECONDS) as response:  # noqa: S310
            allowed = response.headers.get("Access-Control-Allow-Origin")
    except urllib.error.HTTPError as error:
        allowed = error.headers.get("Access-Control-Allow-Origin")
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return f"warning: could not ask {url} whether it allows origin {origin} (CORS): {reason}"
    if allowed in (origin, "*"):
        return None
    return (
        f"warning: the API at {url} does not allow origin {origin} (CORS), so the browser will not show its "
        f"answers; add it to the stack: pulumi config set --path 'corsAllowedOrigins[0]' {origin} && pulumi up"
    )


class PageServer(BackgroundHttpServer):
    """A ThreadingHTTPServer in a daemon thread; `url` is the page, `origins` what the API must allow."""

    def __init__(self, api_url: str, port: int = 0, web_dir: Path = WEB_DIR) -> None:
        self.api_url = api_url
        self.config = config_script(api_url)
        super().__init__(_handler_for(web_dir, self), port, "page-server")
        self.origins = page_origins(self.port)
        self.url = f"{self.origins[0]}/"

    @property
    def redirect_uris(self) -> list[str]:
        """The URLs the page signs in from, for an app client's callback list: each origin's "/" only,
        as a deployed stack lists `pageUrl` (the page asks for "/" when opened as "/index.html")."""
        return [f"{origin}/" for origin in self.origins]

    def configure_auth(self, auth_mode: str, cognito: dict[str, object] | None = None) -> None:
        """Name the API's auth mode (and, for cognito, the user pool's hosted login) in config.js."""
        self.config = config_script(self.api_url, auth_mode, cognito)


def _handler_for(web_dir: Path, page_server: PageServer) -> type[GuardedRequestHandler]:
    class PageHandler(GuardedRequestHandler):
        server_version = "local-page-server"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            if path == CONFIG_PATH:
                self._send(HTTPStatus.OK, "text/javascript; charset=utf-8", page_server.config)
            elif path in PAGE_FILES:
                name, content_type = PAGE_FILES[path]
                self._send(HTTPStatus.OK, content_type, (web_dir / name).read_bytes())
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"Not found. The chat page is at /\n")

        def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the stack prints its components' logs; page loads would only add noise

    return PageHandler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.page_server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api-url", required=True, help="the API the page calls (its config.js apiUrl)")
    parser.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1 (0 picks a free one)")
    arguments = parser.parse_args(argv)
    server = PageServer(arguments.api_url, arguments.port)
    print(f"Chat page: {server.url}  (API: {arguments.api_url}; the API must allow origin {server.origins[0]})",
          flush=True)
    warning = cors_warning(arguments.api_url, server.origins[0])
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()


if __name__ == "__main__":
    main()
