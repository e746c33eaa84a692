"""The proxy's credentials: Lambda's environment variables, or the container credentials endpoint
(SnapStart), fetched with its authorization token and fetched again before they expire.

The fake endpoint answers as the AWS SDKs and Tools reference guide's "Container credential provider"
describes: GET on the URI, the token as the Authorization header, JSON with AccessKeyId,
SecretAccessKey, Token and an ISO 8601 Expiration.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from streaming_proxy import credentials as module
from streaming_proxy.credentials import CredentialSource, CredentialsError
from streaming_proxy.sigv4 import Credentials

TOKEN = "Bearer-ish token value"


class Endpoint:
    """A container credentials endpoint: refuses a wrong Authorization header with 401."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.expires_in = datetime.timedelta(hours=6)
        self.status = 200
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                endpoint.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                if self.headers.get("Authorization") != endpoint.token:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                number = len(endpoint.requests)
                expiry = datetime.datetime.now(datetime.timezone.utc) + endpoint.expires_in
                body = json.dumps({
                    "AccessKeyId": f"ASIA{number}", "SecretAccessKey": f"secret{number}", "Token": f"session{number}",
                    "Expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"), "RoleArn": "arn:aws:iam::1:role/x",
                }).encode()
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.token = TOKEN
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/2018-06-01/credentials"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.server.shutdown()


def current(source: CredentialSource, times: int = 1) -> list[Credentials]:
    async def main() -> list[Credentials]:
        return [await source.current() for _ in range(times)]

    return asyncio.run(main())


def test_lambdas_environment_variables_come_first() -> None:
    source = CredentialSource({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t",
                               "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/never"})
    assert current(source) == [Credentials("AKID", "s", "t")]
    assert current(CredentialSource({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"})) == [
        Credentials("AKID", "s", None)]


def test_the_container_endpoint_is_read_with_its_token_once_while_fresh(endpoint: Endpoint) -> None:
    source = CredentialSource({"AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url,
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN": TOKEN})
    assert current(source, times=3) == [Credentials("ASIA1", "secret1", "session1")] * 3
    [request] = endpoint.requests
    assert request["path"] == "/2018-06-01/credentials" and request["authorization"] == TOKEN


def test_the_token_file_is_read_on_every_fetch(endpoint: Endpoint, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    endpoint.expires_in = datetime.timedelta(minutes=5)  # inside the refresh window: every call fetches
    source = CredentialSource({"AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url,
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file)})
    assert current(source)[0].access_key_id == "ASIA1"
    endpoint.token = "rotated"
    token_file.write_text("rotated")
    assert current(source)[0].access_key_id == "ASIA2"
    assert [request["authorization"] for request in endpoint.requests] == [TOKEN, "rotated"]


def test_credentials_are_fetched_again_before_they_expire(endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    source = CredentialSource({"AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url,
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN": TOKEN})
    endpoint.expires_in = datetime.timedelta(minutes=20)
    assert current(source)[0].access_key_id == "ASIA1"
    assert current(source)[0].access_key_id == "ASIA1"  # 20 minutes left: still fresh
    later = datetime.datetime.now().timestamp() + 6 * 60  # 14 minutes left: inside the 15-minute window
    monkeypatch.setattr(module.time, "time", lambda: later)
    assert current(source)[0].access_key_id == "ASIA2"
    assert len(endpoint.requests) == 2


def test_one_fetch_serves_streams_that_ask_at_once(endpoint: Endpoint) -> None:
    source = CredentialSource({"AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url,
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN": TOKEN})

    async def main() -> list[Credentials]:
        return await asyncio.gather(*(source.current() for _ in range(20)))

    assert set(asyncio.run(main())) == {Credentials("ASIA1", "secret1", "session1")}
    assert len(endpoint.requests) == 1


def test_a_refused_or_malformed_answer_is_a_clear_error(endpoint: Endpoint) -> None:
    source = CredentialSource({"AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url,
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong"})
    with pytest.raises(CredentialsError, match="answered 401"):
        current(source)
    with pytest.raises(CredentialsError, match="AccessKeyId"):
        module.parse_container_answer(b'{"AccessKeyId": "A"}')


@pytest.mark.parametrize("uri", ["http://169.254.169.254/latest", "http://example.com/creds", "ftp://127.0.0.1/x"])
def test_a_full_uri_to_another_plain_http_host_is_refused_naming_the_variable(uri: str) -> None:
    with pytest.raises(CredentialsError, match="AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        CredentialSource({"AWS_CONTAINER_CREDENTIALS_FULL_URI": uri})


def test_allowed_container_uris() -> None:
    for uri in ["http://127.0.0.1:9001/x", "http://localhost/x", "http://169.254.170.2/v2", "https://creds.example/x",
                "http://[::1]:80/x", "http://169.254.170.23/v1/credentials"]:
        assert module.container_uri({"AWS_CONTAINER_CREDENTIALS_FULL_URI": uri}) == uri
    assert module.container_uri({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/id"}) == (
        "http://169.254.170.2/v2/credentials/id")


def test_no_credentials_at_all_is_a_clear_error() -> None:
    with pytest.raises(CredentialsError, match="AWS_ACCESS_KEY_ID"):
        CredentialSource({})
