import pytest

from streaming_shared.edge import SettingsError, load_settings

ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/my_agent-AbCdEf1234"


def test_defaults_and_region_from_the_arn():
    settings = load_settings({"AGENT_RUNTIME_ARN": ARN})
    assert settings.qualifier == "DEFAULT"
    assert settings.region == "eu-west-1"
    assert settings.max_prompt_chars == 8000
    assert settings.max_body_bytes >= settings.max_prompt_chars * 12
    assert settings.stream_timeout_seconds < 900
    assert settings.log_content is False


@pytest.mark.parametrize(
    "environ, named",
    [
        ({}, "AGENT_RUNTIME_ARN"),
        ({"AGENT_RUNTIME_ARN": "arn:aws:lambda:us-east-1:123456789012:function:x"}, "AGENT_RUNTIME_ARN"),
        ({"AGENT_RUNTIME_ARN": ARN, "PROXY_MAX_PROMPT_CHARS": "lots"}, "PROXY_MAX_PROMPT_CHARS"),
        ({"AGENT_RUNTIME_ARN": ARN, "PROXY_MAX_PROMPT_CHARS": "0"}, "PROXY_MAX_PROMPT_CHARS"),
        ({"AGENT_RUNTIME_ARN": ARN, "PROXY_STREAM_TIMEOUT_SECONDS": "901"}, "PROXY_STREAM_TIMEOUT_SECONDS"),
        ({"AGENT_RUNTIME_ARN": ARN, "PROXY_KEEPALIVE_SECONDS": "20", "PROXY_STREAM_TIMEOUT_SECONDS": "10"}, "PROXY_KEEPALIVE_SECONDS"),
        ({"AGENT_RUNTIME_ARN": ARN, "PROXY_LOG_LEVEL": "LOUD"}, "PROXY_LOG_LEVEL"),
        ({"AGENT_RUNTIME_ARN": ARN, "PROXY_LOG_CONTENT": "maybe"}, "PROXY_LOG_CONTENT"),
        ({"AGENT_RUNTIME_ARN": ARN, "PROXY_REQUIRE_REQUEST_CONTEXT": "maybe"}, "PROXY_REQUIRE_REQUEST_CONTEXT"),
        ({"AGENT_RUNTIME_ARN": ARN, "AGENT_RUNTIME_QUALIFIER": "bad-qualifier!"}, "AGENT_RUNTIME_QUALIFIER"),
    ],
)
def test_bad_values_name_the_variable(environ, named):
    with pytest.raises(SettingsError, match=named):
        load_settings(environ)


def test_allowed_values_are_listed():
    with pytest.raises(SettingsError, match="must be one of INFO, WARNING, ERROR, got 'LOUD'$"):
        load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_LOG_LEVEL": "LOUD"})


@pytest.mark.parametrize("level", ["DEBUG", "debug", "TRACE"])
def test_the_proxy_refuses_to_start_at_debug_or_trace(level):
    # Lambda Web Adapter in front of it logs every request header at DEBUG; the proxy never runs there.
    with pytest.raises(SettingsError, match=r"PROXY_LOG_LEVEL must be one of INFO, WARNING, ERROR, .*request header"):
        load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_LOG_LEVEL": level})


@pytest.mark.parametrize("seconds", ["880.5", "890", "900"])
def test_the_stream_limit_ends_20_s_before_api_gateways_900_s(seconds):
    # API Gateway's 900 s counts from the request, the function's init included (edge.py).
    with pytest.raises(SettingsError, match="PROXY_STREAM_TIMEOUT_SECONDS.*880"):
        load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_STREAM_TIMEOUT_SECONDS": seconds})
    assert load_settings({"AGENT_RUNTIME_ARN": ARN, "PROXY_STREAM_TIMEOUT_SECONDS": "880"}).stream_timeout_seconds == 880
