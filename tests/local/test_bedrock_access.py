"""`--model bedrock` on a machine that is not signed in to AWS: one line saying how to sign in, before
anything starts, found the way the agent's botocore would look (and never waiting long on EC2's
instance metadata service where there is none)."""

from __future__ import annotations

import datetime
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.__main__ import main
from local.bedrock_access import REGION_NEEDED, bedrock_access_problem

BEDROCK = ["--model", "bedrock", "--bedrock-model-id", "us.anthropic.claude-x"]
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_EC2_METADATA_DISABLED",
    "AWS_METADATA_SERVICE_TIMEOUT", "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
)


@pytest.fixture
def silent_metadata_service() -> Iterator[dict[str, int]]:
    """An instance metadata endpoint that accepts connections and never answers, as 169.254.169.254
    behaves on a network that drops its packets. Counts the connections it got."""
    seen = {"connections": 0}
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.1)
        held: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except OSError:
                    continue
                seen["connections"] += 1
                held.append(connection)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        seen["port"] = listener.getsockname()[1]
        yield seen
        stop.set()
        thread.join()
        for connection in held:
            connection.close()


@pytest.fixture
def not_signed_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, silent_metadata_service: dict[str, int]) -> dict[str, int]:
    """A laptop that never signed in to AWS: no variables, no files, and no metadata service answering."""
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{silent_metadata_service['port']}")
    return silent_metadata_service


@pytest.mark.parametrize("argv", [[*BEDROCK, "--port", "0", "--page-port", "0"], ["demo", *BEDROCK]])
def test_no_credentials_says_how_to_sign_in_before_anything_starts(
    not_signed_in: dict[str, int], capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    started = time.monotonic()
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert "needs AWS credentials" in err and "aws sso login" in err and "AWS_PROFILE" in err
    assert "AWS_ACCESS_KEY_ID" in err and "offline model" in err
    assert "AGENT_MODEL_PROVIDER" not in err  # the agent's own variable is not the user's business
    assert time.monotonic() - started < 5  # no component was started (each takes seconds)


def test_a_profile_that_does_not_exist_is_named(not_signed_in: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    problem = bedrock_access_problem()
    assert problem is not None and "no-such-profile" in problem and "aws sso login" in problem


def test_the_metadata_service_wait_is_bounded_whatever_the_configuration(
    not_signed_in: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_METADATA_SERVICE_TIMEOUT", "30")
    monkeypatch.setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "5")
    started = time.monotonic()
    problem = bedrock_access_problem()
    assert problem is not None and "needs AWS credentials" in problem
    assert not_signed_in["connections"] >= 1  # botocore did ask the (silent) service...
    assert time.monotonic() - started < 4  # ...for a token and a role, one second each at most


def test_a_disabled_metadata_service_is_not_asked(not_signed_in: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert "needs AWS credentials" in (bedrock_access_problem() or "")
    assert not_signed_in["connections"] == 0


def test_credentials_without_a_region_ask_for_a_region(not_signed_in: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    assert bedrock_access_problem() == REGION_NEEDED
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    assert bedrock_access_problem() is None


def test_a_profile_with_keys_and_a_region_is_enough(not_signed_in: dict[str, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "no-credentials").write_text("[dev]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = x\n")
    (tmp_path / "no-config").write_text("[profile dev]\nregion = eu-central-1\n")
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert bedrock_access_problem() is None


class InstanceMetadata(http.server.BaseHTTPRequestHandler):
    """EC2's instance metadata service as IMDSv2 answers: a session token first (PUT), then the role's
    name and its credentials (GET, with the token), as "Retrieve security credentials from instance
    metadata" in the EC2 user guide shows them."""

    TOKEN = "imds-session-token"
    ROLE = "dev-box-role"
    CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/"

    def do_PUT(self) -> None:
        if self.path == "/latest/api/token" and self.headers.get("x-aws-ec2-metadata-token-ttl-seconds"):
            self.answer(200, self.TOKEN)
        else:
            self.answer(400, "")

    def do_GET(self) -> None:
        if self.headers.get("x-aws-ec2-metadata-token") != self.TOKEN:
            self.answer(401, "")
        elif self.path == self.CREDENTIALS_PATH:
            self.answer(200, self.ROLE)
        elif self.path == self.CREDENTIALS_PATH + self.ROLE:
            expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=6)
            self.answer(200, json.dumps({
                "Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC",
                "AccessKeyId": "ASIAEXAMPLEEXAMPLE00", "SecretAccessKey": "not-a-real-secret", "Token": "session",
                "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }))
        else:
            self.answer(404, "")

    def answer(self, status: int, body: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_ec2_instance_role_counts_as_signed_in(not_signed_in: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), InstanceMetadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        assert bedrock_access_problem() is None
    finally:
        server.shutdown()
        thread.join()
