"""Each auth mode against the local stack: the right credentials stream an answer, wrong ones are
refused with the deployed API's error body before anything reaches the proxy."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.parse

import pytest
from botocore.credentials import Credentials
from tests.support.auth_support import API_KEYS, IAM_CREDENTIALS, JWT_SECRET, proxy_log_records, standin_invocations

from client import InvokeError, stream_invoke
from client.auth import sigv4_headers
from local.gateway_auth import LOCAL_APP_CLIENT_ID, issue_local_token, local_user_arn
from local.stack import LocalStack
from streaming_shared.jsonlog import session_hash

ALICE_KEY = next(iter(API_KEYS))
ACCESS_KEY, SECRET = next(iter(IAM_CREDENTIALS.items()))


def answer(events: list) -> str:
    return "".join(event.data["text"] for event in events if event.name == "delta")


def refused(url: str, **auth: object) -> InvokeError:
    with pytest.raises(InvokeError) as caught:
        list(stream_invoke(url, "hello", **auth))
    return caught.value


def test_api_key_mode_streams_for_a_known_key_and_refuses_others(apikey_stack: LocalStack) -> None:
    events = list(stream_invoke(apikey_stack.url, "hello there", api_key=ALICE_KEY))
    assert [events[0].name, events[-1].name] == ["start", "done"]
    assert "hello there" in answer(events)
    for error in (refused(apikey_stack.url), refused(apikey_stack.url, api_key="not-a-key")):
        assert (error.status, error.code, error.message) == (403, "FORBIDDEN", "Forbidden")
        assert error.request_id


def test_iam_mode_streams_for_a_valid_signature(iam_stack: LocalStack) -> None:
    events = list(stream_invoke(iam_stack.url, "signed hello", iam_credentials=Credentials(ACCESS_KEY, SECRET),
                                region=iam_stack.region))
    assert events[-1].name == "done" and "signed hello" in answer(events)
    callers = {record.get("caller") for record in proxy_log_records(iam_stack)}
    assert f"iam:{local_user_arn(ACCESS_KEY)}" in callers


def test_iam_mode_refuses_missing_wrong_and_tampered_signatures(iam_stack: LocalStack) -> None:
    missing = refused(iam_stack.url)
    assert (missing.status, missing.code, missing.message) == (403, "FORBIDDEN", "Missing Authentication Token")
    wrong = refused(iam_stack.url, iam_credentials=Credentials(ACCESS_KEY, "wrong-secret"), region=iam_stack.region)
    assert (wrong.status, wrong.code) == (403, "FORBIDDEN") and "signature" in wrong.message

    # Sign one body, send another: what API Gateway calls a signature mismatch.
    parts = urllib.parse.urlsplit(iam_stack.url)
    headers = sigv4_headers("POST", f"{iam_stack.url}/invoke", {"Content-Type": "application/json"},
                            b'{"prompt": "signed"}', Credentials(ACCESS_KEY, SECRET), iam_stack.region)
    sent = b'{"prompt": "swapped"}'
    raw_headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(
            f"POST /invoke HTTP/1.1\r\n{raw_headers}Content-Length: {len(sent)}\r\nConnection: close\r\n\r\n".encode()
            + sent
        )
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    assert b" 403 " in status_line
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "FORBIDDEN"


def test_cognito_mode_forwards_the_bearer_token_and_uses_its_subject(cognito_stack: LocalStack) -> None:
    token = issue_local_token(JWT_SECRET, "sub-carol")
    events = list(stream_invoke(cognito_stack.url, "token hello", bearer_token=token))
    assert events[-1].name == "done" and "token hello" in answer(events)
    records = proxy_log_records(cognito_stack)
    assert "cognito:sub-carol" in {record.get("caller") for record in records}
    # The identity is logged, the token never.
    assert not any(token in line or token.split(".")[2] in line for line in cognito_stack.logs("proxy"))


def test_cognito_mode_refuses_missing_expired_and_foreign_tokens(cognito_stack: LocalStack) -> None:
    expired = issue_local_token(JWT_SECRET, "sub-carol", now=time.time() - 7200, expires_in=60)
    foreign = issue_local_token("some-other-secret", "sub-carol")
    for auth in ({}, {"bearer_token": expired}, {"bearer_token": foreign}):
        error = refused(cognito_stack.url, **auth)
        assert (error.status, error.code, error.message) == (401, "UNAUTHORIZED", "Unauthorized"), auth


def test_cognito_mode_serves_only_id_tokens_of_the_local_app_client(cognito_stack: LocalStack) -> None:
    before = len(standin_invocations(cognito_stack))
    other_client = issue_local_token(JWT_SECRET, "sub-carol", audience="another_app_client")
    no_client = issue_local_token(JWT_SECRET, "sub-carol", audience=None)
    access_token = issue_local_token(JWT_SECRET, "sub-carol", token_use="access", audience=None,
                                     extra_claims={"client_id": LOCAL_APP_CLIENT_ID})
    for token in (other_client, no_client, access_token):
        error = refused(cognito_stack.url, bearer_token=token)
        assert (error.status, error.code) == (401, "UNAUTHORIZED") and error.request_id
    assert len(standin_invocations(cognito_stack)) == before


def test_the_local_proxy_checks_the_claims_as_the_deployed_one_does(cognito_stack: LocalStack) -> None:
    # What the deployed proxy receives when API Gateway's authorizer let through an ID token of another
    # app client of the pool: it is configured like the deployed one and refuses it itself.
    assert cognito_stack.components["proxy"].env["PROXY_COGNITO_APP_CLIENT_ID"] == LOCAL_APP_CLIENT_ID
    claims = {"sub": "sub-mallory", "token_use": "id", "aud": "another_app_client",
              "exp": "Sun Dec 17 07:28:12 UTC 2017"}
    context = {"requestId": "req-other-client", "authorizer": {"claims": claims}}
    parts = urllib.parse.urlsplit(cognito_stack.proxy_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", "/invoke", body=b'{"prompt": "hello"}', headers={
            "Content-Type": "application/json", "x-amzn-request-context": json.dumps(context)})
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 401
    assert body["error"]["code"] == "UNAUTHORIZED" and body["error"]["requestId"] == "req-other-client"


def test_refusals_never_reach_the_agent(cognito_stack: LocalStack) -> None:
    before = len(standin_invocations(cognito_stack))
    refused(cognito_stack.url, bearer_token="garbage")
    assert len(standin_invocations(cognito_stack)) == before


def test_a_client_cannot_forge_its_identity_with_a_request_context_header(apikey_stack: LocalStack) -> None:
    forged = json.dumps({"requestId": "forged", "authorizer": {"claims": {"sub": "victim"}}})
    list(stream_invoke(apikey_stack.url, "forge", api_key=ALICE_KEY, session_id="forge-test",
                       headers={"x-amzn-request-context": forged}))
    callers = {r.get("caller") for r in proxy_log_records(apikey_stack) if r.get("sessionHash") == session_hash("forge-test")}
    assert callers == {"apikey:key-id-alice"}


def test_routes_other_than_post_invoke_get_api_gateways_missing_token_answer(apikey_stack: LocalStack) -> None:
    parts = urllib.parse.urlsplit(apikey_stack.url)
    import http.client

    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", "/invoke", headers={"x-api-key": ALICE_KEY})
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 403
    assert body["error"]["code"] == "FORBIDDEN"
    assert body["error"]["message"] == "Missing Authentication Token"
    assert body["error"]["requestId"]


def test_the_proxy_behind_a_gateway_refuses_a_request_without_its_request_context(apikey_stack: LocalStack) -> None:
    # As the deployed proxy does (Lambda Web Adapter sends the context with every request). Before:
    # a request that skipped the gateway streamed as the shared anonymous caller.
    assert apikey_stack.proxy_url != apikey_stack.url
    error = refused(apikey_stack.proxy_url)
    assert (error.status, error.code) == (400, "INVALID_REQUEST")
    assert "x-amzn-request-context" in error.message
    context = json.dumps({"requestId": "direct-1", "identity": {"apiKeyId": "key-id-direct"}})
    events = list(stream_invoke(apikey_stack.proxy_url, "direct", headers={"x-amzn-request-context": context}))
    assert events[-1].name == "done"
