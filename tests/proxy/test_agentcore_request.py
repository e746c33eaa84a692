"""The proxy's InvokeAgentRuntime is the request botocore sends for the `bedrock-agentcore` model:
method, URL (percent-encoded ARN, qualifier), headers and signature; its endpoint and its error codes
are read as botocore reads them."""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.parsers import RestJSONParser
from hypothesis import given, settings
from urllib3 import HTTPHeaderDict
from hypothesis import strategies as st

from streaming_proxy import upstream
from streaming_proxy.credentials import CredentialSource
from streaming_shared.edge import load_settings
from streaming_proxy.upstream import AgentCore, Signer, endpoint_url, error_code, upstream_payload

NOW = datetime.datetime(2026, 12, 6, 12, 0, 1, tzinfo=datetime.timezone.utc)
ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
# Headers only an SDK sends (its name and version, its retry bookkeeping): not part of the operation.
SDK_HEADERS = {"user-agent", "amz-sdk-invocation-id", "amz-sdk-request"}


class Sent(Exception):
    pass


CAPTURED: list[Any] = []


def capture(request: Any, **_: Any) -> None:
    """botocore's last hook before the network: keep the request and send nothing."""
    CAPTURED.append(request)
    raise Sent


@functools.cache
def botocore_client(region: str, endpoint: str | None, key: str, secret: str, token: str | None) -> Any:
    client = boto3.session.Session().client("bedrock-agentcore", region_name=region, endpoint_url=endpoint,
                                            aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)
    client.meta.events.register("before-send", capture)
    return client


def botocore_request(arn: str, qualifier: str | None, session_id: str, accept: str, payload: bytes,
                     environ: dict[str, str], monkeypatch: pytest.MonkeyPatch, endpoint: str | None = None) -> Any:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: NOW)
    client = botocore_client(arn.split(":")[3], endpoint, environ["AWS_ACCESS_KEY_ID"], environ["AWS_SECRET_ACCESS_KEY"],
                             environ.get("AWS_SESSION_TOKEN"))
    CAPTURED.clear()
    arguments = {"agentRuntimeArn": arn, "runtimeSessionId": session_id, "contentType": "application/json",
                 "accept": accept, "payload": payload}
    if qualifier:
        arguments["qualifier"] = qualifier
    with pytest.raises(Sent):
        client.invoke_agent_runtime(**arguments)
    return CAPTURED[0]


def ours(arn: str, qualifier: str | None, session_id: str, accept: str, payload: bytes, environ: dict[str, str],
         monkeypatch: pytest.MonkeyPatch, endpoint: str | None = None) -> tuple[str, dict[str, str]]:
    monkeypatch.setattr(upstream, "sign", functools.partial(upstream.sign, now=NOW))
    variables = {"AGENT_RUNTIME_ARN": arn, **({"AGENT_RUNTIME_QUALIFIER": qualifier} if qualifier else {})}
    settings = load_settings(variables)
    region = arn.split(":")[3]
    client = AgentCore(settings, Signer(region, CredentialSource(environ)),
                       endpoint or endpoint_url(region, {}))

    async def build() -> tuple[str, list[tuple[str, str]]]:
        return await client.request_headers(session_id, accept, payload)

    target, headers = asyncio.run(build())
    return f"{client._url_prefix}{target}", {name.lower(): value for name, value in headers}


def compare(arn: str, qualifier: str | None, session_id: str, accept: str, payload: bytes, environ: dict[str, str],
            monkeypatch: pytest.MonkeyPatch, endpoint: str | None = None) -> None:
    expected = botocore_request(arn, qualifier, session_id, accept, payload, environ, monkeypatch, endpoint)
    url, headers = ours(arn, qualifier, session_id, accept, payload, environ, monkeypatch, endpoint)
    assert expected.method == "POST" and expected.body == payload
    assert url == expected.url
    botocore_headers = {name.lower(): value.decode() if isinstance(value, bytes) else str(value)
                        for name, value in expected.headers.items() if name.lower() not in SDK_HEADERS}
    host = headers.pop("host")
    assert host == url.split("/")[2]
    headers.pop("user-agent")
    assert headers == botocore_headers


ARNS = st.builds(
    lambda region, account, name, suffix: f"arn:aws:bedrock-agentcore:{region}:{account}:runtime/{name}-{suffix}",
    st.sampled_from(["eu-west-1", "us-east-1", "ap-southeast-2"]), st.from_regex(r"\d{12}", fullmatch=True),
    st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,47}", fullmatch=True), st.from_regex(r"[a-zA-Z0-9]{10}", fullmatch=True))


@settings(max_examples=300, deadline=None)
@given(arn=ARNS, qualifier=st.from_regex(r"[a-zA-Z0-9_]{1,100}", fullmatch=True),
       session=st.from_regex(r"session-[0-9a-f]{64}", fullmatch=True),
       prompt=st.text(max_size=50), token=st.one_of(st.none(), st.text("abcXYZ0123/+=", min_size=1, max_size=30)),
       accept=st.sampled_from(["text/event-stream", "application/json"]))
def test_the_request_is_botocores(arn: str, qualifier: str | None, session: str, prompt: str, token: str | None,
                                  accept: str) -> None:
    environ = {**ENVIRONMENT, **({"AWS_SESSION_TOKEN": token} if token else {})}
    with pytest.MonkeyPatch.context() as monkeypatch:
        if not token:
            monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        compare(arn, qualifier, session, accept, upstream_payload(prompt, "turn-1"), environ, monkeypatch)


def test_an_endpoint_override_is_used_as_botocore_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    arn = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/my_agent-AbCdEf1234"
    for endpoint in ["http://127.0.0.1:8123", "http://localhost:9000/base", "https://agentcore.example.com"]:
        compare(arn, "DEFAULT", "s" * 40, "text/event-stream", b"{}", ENVIRONMENT, monkeypatch, endpoint)
    assert endpoint_url("eu-west-1", {"AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": "http://a:1"}) == "http://a:1"
    assert endpoint_url("eu-west-1", {"AWS_ENDPOINT_URL": "http://b:2"}) == "http://b:2"
    assert endpoint_url("eu-west-1", {"AWS_ENDPOINT_URL": "http://b:2", "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": "http://a:1",
                                      "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}) == (
        "https://bedrock-agentcore.eu-west-1.amazonaws.com")


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1", "us-west-2", "ap-northeast-1", "eu-central-1"])
def test_the_regions_endpoint_is_botocores(region: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.session.Session().client("bedrock-agentcore", region_name=region, aws_access_key_id="a",
                                            aws_secret_access_key="b")
    assert endpoint_url(region, {}) == client.meta.endpoint_url


class Head:
    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = {name.lower(): value for name, value in headers.items()}


ERROR_CODES = st.sampled_from(["ThrottlingException", "ValidationException", "AccessDeniedException",
                               "ResourceNotFoundException", "ServiceQuotaExceededException",
                               "RuntimeClientError", "InternalServerException"])


@settings(max_examples=200, deadline=None)
@given(status=st.sampled_from([400, 403, 404, 424, 429, 500, 503]),
       header=st.one_of(st.none(), ERROR_CODES, ERROR_CODES.map(lambda code: f"{code}:http://internal.amazon.com/")),
       body_code=st.one_of(st.none(), ERROR_CODES, ERROR_CODES.map(lambda code: f"com.amazon.coral#{code}")),
       body_key=st.sampled_from(["__type", "code"]), unreadable=st.booleans())
def test_error_codes_are_read_as_botocore_reads_them(status: int, header: str | None, body_code: str | None,
                                                     body_key: str, unreadable: bool) -> None:
    headers = {"x-amzn-ErrorType": header} if header else {}
    document: dict[str, str] = {"message": "detail"}
    if body_code:
        document[body_key] = body_code
    body = b"<html>" if unreadable else json.dumps(document).encode()
    # urllib3's case-insensitive headers, as botocore's parser gets them.
    parsed = RestJSONParser().parse({"status_code": status, "headers": HTTPHeaderDict(headers), "body": body}, None)
    assert error_code(Head(status, headers), body) == parsed["Error"]["Code"]  # type: ignore[arg-type]
