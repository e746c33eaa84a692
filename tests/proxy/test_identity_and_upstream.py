import json

import pytest

from streaming_proxy.caller import MAX_REQUEST_CONTEXT_BYTES, RequestContextError, read_request_context, request_id_from
from streaming_proxy.upstream import AgentCoreError, derive_runtime_session_id, map_open_error
from streaming_proxy.upstream_http import UpstreamTimeout, UpstreamUnreachable


def context_header(context: dict) -> dict:
    return {"x-amzn-request-context": json.dumps(context)}


def test_caller_identity_from_the_api_gateway_request_context():
    assert read_request_context({}).caller == "anonymous"
    assert read_request_context(context_header({"requestId": "r1", "identity": {"apiKeyId": "k1"}})).caller == "apikey:k1"
    iam = read_request_context(context_header({"identity": {"userArn": "arn:aws:iam::1:user/a", "apiKeyId": "k"}}))
    assert iam.caller == "iam:arn:aws:iam::1:user/a"
    cognito = read_request_context(context_header({"requestId": "r2", "authorizer": {"claims": {"sub": "u-1"}}}))
    assert (cognito.caller, cognito.request_id) == ("cognito:u-1", "r2")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("not json", "not_an_object"),
        ("", "not_an_object"),
        ("[]", "not_an_object"),
        ("null", "not_an_object"),
        ('"anonymous"', "not_an_object"),
        ("[" * 30_000 + "]" * 30_000, "not_an_object"),  # within the size limit; json.loads: RecursionError
        (json.dumps({"requestId": "r", "pad": "x" * MAX_REQUEST_CONTEXT_BYTES}), "too_large"),
    ],
    ids=["text", "empty", "array", "null", "string", "deeply-nested", "oversized"],
)
def test_an_unusable_request_context_is_an_error_never_the_anonymous_caller(header: str, reason: str):
    # Before: each of these was read as the shared anonymous caller.
    with pytest.raises(RequestContextError) as raised:
        read_request_context({"x-amzn-request-context": header})
    assert raised.value.reason == reason
    assert "x-amzn-request-context" in str(raised.value)
    assert request_id_from({"x-amzn-request-context": header}) is None


def test_a_missing_request_context_is_anonymous_only_where_it_is_not_required():
    assert read_request_context({}).caller == "anonymous"
    with pytest.raises(RequestContextError) as raised:
        read_request_context({}, required=True)
    assert raised.value.reason == "missing"
    # At the limit it is still read.
    padded = {"requestId": "r1", "identity": {"apiKeyId": "k1"}}
    padded["pad"] = "x" * (MAX_REQUEST_CONTEXT_BYTES - len(json.dumps({**padded, "pad": ""})))
    assert read_request_context(context_header(padded), required=True).caller == "apikey:k1"


def test_runtime_session_id_is_stable_per_caller_and_within_agentcore_limits():
    first = derive_runtime_session_id("apikey:a", "conversation-1")
    assert first == derive_runtime_session_id("apikey:a", "conversation-1")
    assert first != derive_runtime_session_id("apikey:b", "conversation-1")
    assert first != derive_runtime_session_id("apikey:a", "conversation-2")
    assert 33 <= len(first) <= 256


def client_error(code: str) -> AgentCoreError:
    return AgentCoreError(code, 400)


def test_open_errors_map_to_statuses_without_internals():
    cases = {
        client_error("ThrottlingException"): 429,
        client_error("ServiceQuotaExceededException"): 429,
        client_error("AccessDeniedException"): 502,
        client_error("ResourceNotFoundException"): 502,
        client_error("InternalServerException"): 502,
        UpstreamTimeout("ReadTimeout"): 504,
        UpstreamTimeout("ConnectTimeout"): 504,
        UpstreamUnreachable("ConnectionRefusedError"): 502,
        RuntimeError("boom arn:aws:secret"): 502,
    }
    for error, status in cases.items():
        api_error = map_open_error(error)
        assert api_error.status == status, error
        assert "arn:" not in api_error.message and "secret" not in api_error.message
