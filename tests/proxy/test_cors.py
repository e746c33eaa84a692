"""CORS rules: off by default, exact origins echoed on every response (errors too), preflight for /invoke."""

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from streaming_proxy import contract
from streaming_shared import edge
from streaming_proxy.app import create_app
from streaming_shared.edge import ALLOWED_HEADERS, EXPOSED_HEADERS, CorsPolicy, SettingsError, load_settings
from streaming_shared.jsonlog import JsonLogger
from tests.support.fake_agentcore import FakeAgentCore, sse_answer

ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/my_agent-AbCdEf1234"
PAGE = "https://chat.example.com"
OTHER = "https://evil.example.net"
AGENT_FRAMES = b'data: {"type": "delta", "text": "Hi"}\n\ndata: {"type": "done"}\n\n'


def client_for(origins: str, agentcore: FakeAgentCore | None = None) -> TestClient:
    settings = load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_CORS_ALLOWED_ORIGINS": origins})
    app = create_app(settings, agentcore or FakeAgentCore(), JsonLogger("proxy-test", "ERROR"))
    return TestClient(app, raise_server_exceptions=False)


def invoke(client: TestClient, origin: str | None, body: object = None) -> Any:
    headers = {"content-type": "application/json"}
    if origin is not None:
        headers["origin"] = origin
    return client.post("/invoke", content=json.dumps(body or {"prompt": "hello"}), headers=headers)


def preflight(client: TestClient, origin: str, path: str = "/invoke") -> Any:
    return client.options(
        path,
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-api-key",
        },
    )


def assert_allowed(response: Any, origin: str) -> None:
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-expose-headers"] == EXPOSED_HEADERS
    assert "Origin" in [name.strip() for name in response.headers["vary"].split(",")]


def assert_no_cors(response: Any) -> None:
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


# -- the setting -------------------------------------------------------------------------------------


# The origin grammar itself: tests/streaming_shared/test_edge.py.


def test_settings_name_the_variable_and_default_to_off():
    assert load_settings({"AGENT_RUNTIME_ARN": ARN}).cors_allowed_origins == ()
    with pytest.raises(SettingsError, match="PROXY_CORS_ALLOWED_ORIGINS"):
        load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_CORS_ALLOWED_ORIGINS": "https://x.example/"})


# -- the policy --------------------------------------------------------------------------------------


def test_policy_without_origins_adds_nothing():
    policy = CorsPolicy()
    assert not policy.enabled
    assert policy.response_headers(PAGE) == {}
    assert policy.preflight_headers(PAGE) == {}


def test_policy_echoes_only_allowed_origins():
    policy = CorsPolicy((PAGE,))
    assert policy.response_headers(PAGE) == {
        "Vary": "Origin",
        "Access-Control-Allow-Origin": PAGE,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
    }
    assert policy.response_headers(OTHER) == {"Vary": "Origin"}
    assert policy.response_headers(None) == {"Vary": "Origin"}
    assert policy.response_headers("null") == {"Vary": "Origin"}


def test_any_origin_echoes_the_caller_never_a_wildcard():
    policy = CorsPolicy(("*",))
    assert policy.response_headers(OTHER)["Access-Control-Allow-Origin"] == OTHER


def test_preflight_headers_allow_post_with_an_api_key():
    headers = CorsPolicy((PAGE,)).preflight_headers(PAGE)
    assert headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert "x-api-key" in headers["Access-Control-Allow-Headers"]
    assert "content-type" in headers["Access-Control-Allow-Headers"]
    assert int(headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Methods" not in CorsPolicy((PAGE,)).preflight_headers(OTHER)


# -- the app -----------------------------------------------------------------------------------------


def test_without_origins_the_app_sends_no_cors_headers_and_refuses_options():
    client = client_for("")
    streamed = invoke(client, PAGE)
    assert streamed.status_code == 200
    assert_no_cors(streamed)
    assert "vary" not in streamed.headers
    options = preflight(client, PAGE)
    assert options.status_code == 405
    assert options.json()["error"]["code"] == edge.METHOD_NOT_ALLOWED
    assert_no_cors(options)


def test_stream_for_an_allowed_origin_carries_cors_headers_and_its_events():
    response = invoke(client_for(f"{PAGE},http://127.0.0.1:8001"), PAGE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert_allowed(response, PAGE)
    assert response.headers["x-session-id"]
    assert 'event: delta\ndata: {"text":"Hi"}' in response.text
    assert "event: done" in response.text


def test_other_origin_gets_no_permission():
    response = invoke(client_for(PAGE), OTHER)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("POST", "/invoke", {"prompt": ""}, 400),
        ("POST", "/invoke", {"prompt": "x" * 9000}, 400),
        ("GET", "/invoke", None, 405),
        ("POST", "/elsewhere", {"prompt": "hi"}, 404),
    ],
)
def test_error_responses_carry_cors_headers(method, path, body, status):
    client = client_for(PAGE)
    response = client.request(
        method, path, content=json.dumps(body) if body else None, headers={"origin": PAGE, "content-type": "application/json"}
    )
    assert response.status_code == status
    assert response.json()["error"]["code"]
    assert_allowed(response, PAGE)


def test_unexpected_error_carries_cors_headers(monkeypatch):
    # A bug in validation makes the request path raise: Starlette answers outside the middleware.
    def broken_parser(body: bytes, max_prompt_chars: int) -> Any:
        raise KeyError("bug")

    monkeypatch.setattr(contract, "parse_invoke_request", broken_parser)
    response = invoke(client_for(PAGE), PAGE)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == edge.INTERNAL_ERROR
    assert_allowed(response, PAGE)


class BrokenAgentCore(FakeAgentCore):
    """Hands over something that is no response: a bug on our side, after `start` went out."""

    async def open_stream(self, runtime_session_id: str, prompt: str, turn_id: str) -> Any:
        return object()


def test_unexpected_error_after_start_is_an_error_event_with_cors_headers():
    # A failure inside the relay after `start` went out: an error event, not a 500.
    response = invoke(client_for(PAGE, BrokenAgentCore()), PAGE)
    assert response.status_code == 200
    assert_allowed(response, PAGE)
    assert b"event: start" in response.content
    assert response.content.endswith(b"event: error\ndata: " + json.dumps(
        {"code": edge.INTERNAL_ERROR, "message": "Something went wrong on our side."}, separators=(",", ":")
    ).encode() + b"\n\n")


def test_preflight_for_an_allowed_origin():
    response = preflight(client_for(PAGE), PAGE)
    assert response.status_code == 204
    assert response.content == b""
    assert_allowed(response, PAGE)
    assert response.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert response.headers["access-control-allow-headers"] == ALLOWED_HEADERS
    assert response.headers["access-control-max-age"] == "600"


def test_preflight_for_another_origin_grants_nothing():
    response = preflight(client_for(PAGE), OTHER)
    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-methods" not in response.headers


def test_preflight_only_for_the_routes():
    response = preflight(client_for(PAGE), PAGE, path="/_ready")
    assert response.status_code == 405
    assert "access-control-allow-methods" not in response.headers


def test_preflight_for_stop_too():
    # The chat page's Stop sends POST /stop cross-origin, with the same headers as /invoke.
    response = preflight(client_for(PAGE), PAGE, path="/stop")
    assert response.status_code == 204
    assert_allowed(response, PAGE)
    assert response.headers["access-control-allow-methods"] == "POST, OPTIONS"
