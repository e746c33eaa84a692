"""The edge module itself: the one origin grammar, the gateway-response table, the proxy's environment."""

import re

import pytest

from streaming_shared import edge
from streaming_shared.edge import (
    GATEWAY_RESPONSES,
    OriginError,
    ProxySettings,
    SettingsError,
    load_settings,
    parse_allowed_origins,
    parse_origin,
)

ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/my_agent-AbCdEf1234"


# -- the origin grammar: every reader of an origin list (stack config, proxy, local gateway) uses it --

# (entry, the origin it parses to, or None when refused, and what the refusal must say)
ORIGIN_TABLE = [
    ("https://chat.example.com", "https://chat.example.com", None),
    (" HTTPS://Chat.Example.com ", "https://chat.example.com", None),
    ("https://chat.example.com:8443", "https://chat.example.com:8443", None),
    ("http://localhost:8001", "http://localhost:8001", None),
    ("http://127.0.0.1:8001", "http://127.0.0.1:8001", None),
    ("https://[2001:db8::1]", "https://[2001:db8::1]", None),
    # The three cases the proxy used to accept and the stack settings refused; now one answer:
    # plain http is for the developer's own machine only (IPv6 loopback included) ...
    ("http://chat.example.com", None, "uses http"),
    ("http://[::1]:8000", "http://[::1]:8000", None),
    # ... and a browser never writes the default port, so an entry with it could never match.
    ("https://a.example.com:443", None, "default port"),
    ("http://localhost:80", None, "default port"),
    ("https://chat.example.com/", None, "trailing slash"),
    ("https://chat.example.com/page", None, "not an origin"),
    ("chat.example.com", None, "not an origin"),
    ("ftp://x.example", None, "not an origin"),
    ("null", None, "not an origin"),
    ("https://*.example.com", None, "not an origin"),
    ("https://chat.example.com:port", None, "not an origin"),
    ("https://chat.example.com:70000", None, "invalid port"),
    ("https://[not:an:address::z]", None, "not an origin"),
    ("https://[1::2::3]", None, "invalid IPv6"),
]


@pytest.mark.parametrize("entry, parsed, refusal", ORIGIN_TABLE)
def test_origin_grammar(entry, parsed, refusal):
    if parsed is not None:
        assert parse_origin(entry) == parsed
    else:
        with pytest.raises(OriginError, match=re.escape(refusal)) as caught:
            parse_origin(entry)
        assert entry.strip() in str(caught.value)


def test_origin_lists_keep_order_drop_blanks_and_duplicates():
    assert parse_allowed_origins("") == ()
    assert parse_allowed_origins(" , ") == ()
    assert parse_allowed_origins(" HTTPS://Chat.Example.com ,http://127.0.0.1:8001,https://chat.example.com") == (
        "https://chat.example.com",
        "http://127.0.0.1:8001",
    )
    assert parse_allowed_origins(["https://b.example.com", "https://a.example.com"]) == (
        "https://b.example.com",
        "https://a.example.com",
    )


def test_any_origin_must_stand_alone():
    assert parse_allowed_origins("*") == ("*",)
    assert parse_allowed_origins([" * "]) == ("*",)
    with pytest.raises(OriginError, match="only entry"):
        parse_allowed_origins("*,https://chat.example.com")


def test_the_proxy_setting_uses_the_grammar_and_names_the_variable():
    with pytest.raises(SettingsError, match="PROXY_CORS_ALLOWED_ORIGINS: 'http://chat.example.com' uses http"):
        load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_CORS_ALLOWED_ORIGINS": "http://chat.example.com"})


# -- API Gateway's refusals -------------------------------------------------------------------------


def test_gateway_responses_use_the_contract_codes_and_statuses():
    codes = {name: value for name, value in vars(edge).items() if name.isupper() and isinstance(value, str)}
    for response_type, response in GATEWAY_RESPONSES.items():
        assert response.code in codes.values(), response_type
        assert 400 <= response.status < 600
        expected_override = None if response.keeps_gateway_status else str(response.status)
        assert response.status_override == expected_override
    assert GATEWAY_RESPONSES["MISSING_AUTHENTICATION_TOKEN"].status_override is None
    assert GATEWAY_RESPONSES["THROTTLED"].headers == {"Retry-After": "1"}
    assert GATEWAY_RESPONSES["REQUEST_TOO_LARGE"].code == edge.PAYLOAD_TOO_LARGE


def test_error_body_and_its_gateway_template_have_one_shape():
    body = edge.error_body("FORBIDDEN", "Forbidden", "req-1")
    assert body == {"error": {"code": "FORBIDDEN", "message": "Forbidden", "requestId": "req-1"}}
    template = edge.gateway_error_template("FORBIDDEN")
    filled = template.replace("$context.error.messageString", '"Forbidden"').replace("$context.requestId", "req-1")
    import json

    assert json.loads(filled) == body


# -- the proxy's environment ------------------------------------------------------------------------


def test_environment_round_trips():
    settings = ProxySettings(
        runtime_arn=ARN, region="eu-west-1", max_prompt_chars=100, keepalive_seconds=0.3,
        stream_timeout_seconds=20, max_concurrent_streams=3, log_content=True,
        cors_allowed_origins=("https://chat.example.com",), max_body_bytes=4096, require_request_context=True,
    )
    assert ProxySettings.from_environ(settings.to_environ()) == settings


def test_environment_of_the_defaults_names_what_operators_look_for():
    environ = ProxySettings(runtime_arn=ARN).to_environ()
    assert environ == {
        "AGENT_RUNTIME_ARN": ARN,
        "AGENT_RUNTIME_QUALIFIER": "DEFAULT",
        "PROXY_MAX_PROMPT_CHARS": "8000",
        "PROXY_KEEPALIVE_SECONDS": "15",
        "PROXY_STREAM_TIMEOUT_SECONDS": "880",
        "PROXY_LOG_LEVEL": "INFO",
        "PROXY_LOG_CONTENT": "false",
    }
    loaded = ProxySettings.from_environ(environ)
    assert loaded.region == "eu-west-1"  # from the ARN, as on Lambda without AWS_REGION
    assert loaded.max_body_bytes == edge.default_max_body_bytes(8000)


def test_to_environ_passes_a_deferred_runtime_arn_through():
    deferred = object()  # a Pulumi Output in the infrastructure
    assert ProxySettings(runtime_arn=deferred).to_environ()["AGENT_RUNTIME_ARN"] is deferred
