import json

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from streaming_proxy.caller import read_request_context
from streaming_proxy.upstream import derive_runtime_session_id, map_open_error


def context_header(context: dict) -> dict:
    return {"x-amzn-request-context": json.dumps(context)}


def test_caller_identity_from_the_api_gateway_request_context():
    assert read_request_context({}).caller == "anonymous"
    assert read_request_context(context_header({"requestId": "r1", "identity": {"apiKeyId": "k1"}})).caller == "apikey:k1"
    iam = read_request_context(context_header({"identity": {"userArn": "arn:aws:iam::1:user/a", "apiKeyId": "k"}}))
    assert iam.caller == "iam:arn:aws:iam::1:user/a"
    cognito = read_request_context(context_header({"requestId": "r2", "authorizer": {"claims": {"sub": "u-1"}}}))
    assert (cognito.caller, cognito.request_id) == ("cognito:u-1", "r2")
    assert read_request_context({"x-amzn-request-context": "not json"}).caller == "anonymous"


def test_runtime_session_id_is_stable_per_caller_and_within_agentcore_limits():
    first = derive_runtime_session_id("apikey:a", "conversation-1")
    assert first == derive_runtime_session_id("apikey:a", "conversation-1")
    assert first != derive_runtime_session_id("apikey:b", "conversation-1")
    assert first != derive_runtime_session_id("apikey:a", "conversation-2")
    assert 33 <= len(first) <= 256


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "arn:aws:secret internals"}}, "InvokeAgentRuntime")


def test_open_errors_map_to_statuses_without_internals():
    cases = {
        client_error("ThrottlingException"): 429,
        client_error("ServiceQuotaExceededException"): 429,
        client_error("AccessDeniedException"): 502,
        client_error("ResourceNotFoundException"): 502,
        client_error("InternalServerException"): 502,
        ReadTimeoutError(endpoint_url="http://x"): 504,
        ConnectTimeoutError(endpoint_url="http://x"): 504,
        EndpointConnectionError(endpoint_url="http://x"): 502,
        RuntimeError("boom arn:aws:secret"): 502,
    }
    for error, status in cases.items():
        api_error = map_open_error(error)
        assert api_error.status == status, error
        assert "arn:" not in api_error.message and "secret" not in api_error.message
