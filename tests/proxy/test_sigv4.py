"""The proxy's SigV4 signer is byte-identical to botocore's SigV4Auth, on generated requests."""

from __future__ import annotations

import datetime
import string
import urllib.parse

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streaming_proxy.sigv4 import UNSIGNED_HEADERS, Credentials, sign

SEGMENT = st.text(alphabet=string.ascii_letters + string.digits + "-_.~:/%@!$&'()*+,;= ", max_size=20)
TOKEN = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=16)
HEADER_VALUE = st.text(alphabet=string.printable.replace("\r", "").replace("\n", "").replace("\x0b", "")
                       .replace("\x0c", ""), max_size=40)
SECRET = st.text(alphabet=string.ascii_letters + string.digits + "+/", min_size=1, max_size=40)


@st.composite
def requests(draw: st.DrawFn, with_token: bool) -> dict:
    scheme = draw(st.sampled_from(["http", "https"]))
    host = draw(st.sampled_from(["bedrock-agentcore.eu-west-1.amazonaws.com", "127.0.0.1", "localhost", "[::1]"]))
    port = draw(st.one_of(st.none(), st.sampled_from([80, 443, 8080, 54321])))
    segments = draw(st.lists(SEGMENT, max_size=4))
    path = "/" + "/".join(urllib.parse.quote(segment, safe=draw(st.sampled_from(["", "-_.~", "/"])))
                          for segment in segments)
    if draw(st.booleans()):
        path += "/" + draw(st.sampled_from([".", "..", "", "a/../b", "./c"]))
    query = "&".join(f"{urllib.parse.quote(name, safe='')}={urllib.parse.quote(value, safe='')}"
                     for name, value in draw(st.lists(st.tuples(TOKEN, SEGMENT), max_size=3)))
    names = draw(st.lists(TOKEN.map(str.lower), max_size=5, unique=True).filter(
        lambda found: not {"authorization", "date", "x-amz-date", "x-amz-security-token"} & set(found)))
    headers = {name.title() if draw(st.booleans()) else name: draw(HEADER_VALUE) for name in names}
    headers.update({name: "kept out" for name in draw(st.lists(st.sampled_from(sorted(UNSIGNED_HEADERS)), max_size=2))})
    if draw(st.booleans()):
        headers["Host"] = host if port is None else f"{host}:{port}"
    netloc = host if port is None else f"{host}:{port}"
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"])),
        "url": f"{scheme}://{netloc}{path}" + (f"?{query}" if query else ""),
        "headers": headers,
        "body": draw(st.binary(max_size=200)),
        "credentials": Credentials(draw(TOKEN), draw(SECRET), draw(TOKEN) if with_token else None),
        "region": draw(st.sampled_from(["eu-west-1", "us-east-1", "cn-north-1"])),
        "service": draw(st.sampled_from(["bedrock-agentcore", "execute-api"])),
        "now": draw(st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2099, 1, 1),
                                 timezones=st.just(datetime.timezone.utc))),
    }


def botocore_signed(case: dict, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: case["now"])
    credentials = case["credentials"]
    request = AWSRequest(method=case["method"], url=case["url"], data=case["body"], headers=dict(case["headers"]))
    SigV4Auth(BotocoreCredentials(credentials.access_key_id, credentials.secret_access_key, credentials.session_token),
              case["service"], case["region"]).add_auth(request)
    return {name: value.decode() if isinstance(value, bytes) else value for name, value in request.headers.items()}


def check(case: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = sign(case["method"], case["url"], case["headers"], case["body"], case["credentials"], case["region"],
                case["service"], now=case["now"])
    assert ours == botocore_signed(case, monkeypatch)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=requests(with_token=True))
def test_signatures_with_a_session_token_match_botocores(case: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    check(case, monkeypatch)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=requests(with_token=False))
def test_signatures_without_a_session_token_match_botocores(case: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    check(case, monkeypatch)


def test_a_known_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    # One fixed request, so a change to both implementations at once would still be noticed.
    case = {"method": "POST", "url": "https://bedrock-agentcore.eu-west-1.amazonaws.com/runtimes/arn%3Ax/invocations"
            "?qualifier=DEFAULT", "headers": {"Content-Type": "application/json"}, "body": b"{}",
            "credentials": Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token"),
            "region": "eu-west-1", "service": "bedrock-agentcore",
            "now": datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.timezone.utc)}
    ours = sign(case["method"], case["url"], case["headers"], case["body"], case["credentials"], case["region"],
                case["service"], now=case["now"])
    assert ours == botocore_signed(case, monkeypatch)
    assert ours["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/eu-west-1/bedrock-agentcore/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=")
