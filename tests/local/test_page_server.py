"""The local page server: only the page's files, a config.js naming the API, strict headers. No browser needed."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from local.page_server import WEB_DIR, PageServer, cors_warning
from tests.support.docs import section as docs_section
from tests.support.servers import ServerThread

API_URL = "http://127.0.0.1:8000"


@pytest.fixture
def server() -> Iterator[PageServer]:
    running = PageServer(API_URL).start()
    yield running
    running.stop()


def get(server: PageServer, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path, name, content_type",
    [("/", "index.html", "text/html"), ("/index.html?api=x", "index.html", "text/html"),
     ("/app.js", "app.js", "text/javascript"), ("/style.css", "style.css", "text/css"),
     ("/vendor/marked.umd.js", "vendor/marked.umd.js", "text/javascript"),
     ("/vendor/purify.min.js", "vendor/purify.min.js", "text/javascript")],
)
def test_serves_the_page_files(server, path, name, content_type):
    status, headers, body = get(server, path)
    assert status == 200
    assert body == (WEB_DIR / name).read_bytes()
    assert headers["content-type"].startswith(content_type)
    assert headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in headers["content-security-policy"]


def test_config_names_the_api(server):
    status, headers, body = get(server, "/config.js")
    assert status == 200
    match = re.search(rb"window\.AGENTCORE_STREAMING_CONFIG = (\{.*\});", body)
    assert match is not None
    assert json.loads(match.group(1)) == {"apiUrl": API_URL}


@pytest.mark.parametrize("path", ["/../local/stack.py", "/web/app.js", "/%2e%2e/pyproject.toml", "/config.json", "/x"])
def test_nothing_else_is_served(server, path):
    status, _, body = get(server, path)
    assert status == 404
    assert b"[tool" not in body and b"import" not in body


def test_origins_name_both_loopback_spellings(server):
    assert server.origins == [f"http://localhost:{server.port}", f"http://127.0.0.1:{server.port}"]
    # localhost: the only plain-http origin Cognito accepts as a callback URL.
    assert server.url == f"http://localhost:{server.port}/"


def test_the_page_loads_only_its_own_scripts_and_no_inline_code():
    html = (WEB_DIR / "index.html").read_text()
    assert re.findall(r'<script src="([^"]+)"', html) == [
        "config.js", "vendor/marked.umd.js", "vendor/purify.min.js", "app.js"]
    assert "<script>" not in html and "onclick" not in html.lower()
    # Model text reaches the page only through DOMPurify's DOM fragment: app.js has no HTML sink.
    code = "\n".join(line for line in (WEB_DIR / "app.js").read_text().splitlines() if not line.lstrip().startswith("//"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code


# -- the printed origin, the docs, and the CORS warning ---------------------------------------------------


def fake_api(allowed_origin: str | None) -> ServerThread:
    """An API answering preflights as the deployed one does (components/streaming_api.py, AWS docs).

    Without CORS there is no OPTIONS route, and API Gateway answers 403 "Missing Authentication Token";
    with one origin its MOCK route answers 204 with that origin as a static Allow-Origin, whatever
    Origin the browser sent.
    """
    async def preflight(request: Request) -> Response:
        if allowed_origin is None:
            return JSONResponse({"message": "Missing Authentication Token"}, status_code=403)
        return Response(status_code=204, headers={"Access-Control-Allow-Origin": allowed_origin,
                                                  "Access-Control-Allow-Methods": "POST,OPTIONS"})

    return ServerThread(Starlette(routes=[Route("/dev/invoke", preflight, methods=["OPTIONS"])]), name="fake API")


def test_the_docs_tell_users_to_allow_the_origin_the_page_server_prints():
    section = docs_section("The chat page")
    documented_origin = re.search(r"corsAllowedOrigins\[0\]' (\S+)", section)
    documented_port = re.search(r"python -m local\.page_server .*--port (\d+)", section)
    opened = re.search(r"Open (http://\S+?),? ", section)
    assert documented_origin and documented_port and opened, "the chat page's section lost its commands"

    with fake_api(None) as api:
        server = subprocess.Popen(
            [sys.executable, "-m", "local.page_server", "--api-url", f"{api.url}/dev", "--port", "0"],
            cwd=WEB_DIR.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert server.stdout is not None and server.stderr is not None
            printed = server.stdout.readline()
            warning = server.stderr.readline()
        finally:
            server.terminate()
            server.wait(10)
    page_url = re.search(r"Chat page: (http://\S+)", printed)
    printed_origin = re.search(r"must allow origin (http://\S+?)\)", printed)
    assert page_url and printed_origin, printed
    port = urlsplit(page_url.group(1)).port
    as_documented = printed_origin.group(1).replace(f":{port}", f":{documented_port.group(1)}")
    assert as_documented == documented_origin.group(1)
    assert opened.group(1).rstrip("/") == as_documented
    assert page_url.group(1).rstrip("/") == printed_origin.group(1)
    # The fake API has no CORS: the one stderr line says so and how to fix it.
    assert warning.startswith("warning: the API at ") and printed_origin.group(1) in warning
    assert f"corsAllowedOrigins[0]' {printed_origin.group(1)}" in warning


def test_no_cors_warning_when_the_api_allows_the_origin():
    origin = "http://localhost:8001"
    with fake_api(origin) as api:
        assert cors_warning(f"{api.url}/dev", origin) is None
        assert cors_warning(f"{api.url}/dev/invoke", origin) is None


def test_a_cors_warning_when_the_api_allows_another_origin_or_none():
    origin = "http://localhost:8001"
    with fake_api("https://chat.example.com") as api:
        warning = cors_warning(f"{api.url}/dev/", origin)
    assert warning is not None and f"{api.url}/dev/invoke does not allow origin {origin}" in warning
    with fake_api(None) as api:
        assert "does not allow origin" in (cors_warning(f"{api.url}/dev", origin) or "")


def test_a_cors_warning_when_the_api_cannot_be_asked():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: the connection is refused
        warning = cors_warning(f"http://127.0.0.1:{port}/dev", "http://127.0.0.1:8001")
    assert warning is not None and warning.startswith("warning: could not ask") and "http://127.0.0.1:8001" in warning
