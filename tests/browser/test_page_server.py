"""The local page server: only the page's files, a config.js naming the API, strict headers. No browser needed."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator

import pytest

from local.page_server import WEB_DIR, PageServer

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
    assert server.origins == [f"http://127.0.0.1:{server.port}", f"http://localhost:{server.port}"]
    assert server.url == f"http://127.0.0.1:{server.port}/"


def test_the_page_loads_only_its_own_scripts_and_no_inline_code():
    html = (WEB_DIR / "index.html").read_text()
    assert re.findall(r'<script src="([^"]+)"', html) == [
        "config.js", "vendor/marked.umd.js", "vendor/purify.min.js", "app.js"]
    assert "<script>" not in html and "onclick" not in html.lower()
    # Model text reaches the page only through DOMPurify's DOM fragment: app.js has no HTML sink.
    code = "\n".join(line for line in (WEB_DIR / "app.js").read_text().splitlines() if not line.lstrip().startswith("//"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code
