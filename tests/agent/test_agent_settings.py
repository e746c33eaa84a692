from __future__ import annotations

from pathlib import Path

import pytest
from offline_model.model import OfflineEchoModel
from streaming_agent.model_factory import NO_CREDENTIALS_MESSAGE, build_model
from streaming_agent.settings import AgentConfigurationError, load_settings


def test_defaults_select_bedrock_on_the_agentcore_port() -> None:
    settings = load_settings({"BEDROCK_MODEL_ID": "anthropic.claude-x", "AWS_REGION": "eu-west-1"})
    assert settings.model_provider == "bedrock"
    assert settings.bedrock_model_id == "anthropic.claude-x"
    assert settings.aws_region == "eu-west-1"
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.max_sessions == 100
    assert settings.offline_delay_ms == 40
    assert settings.offline_trace_file is None
    assert settings.system_prompt is None


def test_offline_values_are_read() -> None:
    settings = load_settings({
        "AGENT_MODEL_PROVIDER": "offline", "AGENT_HOST": "127.0.0.1", "AGENT_PORT": "9123",
        "AGENT_MAX_SESSIONS": "7", "OFFLINE_MODEL_DELAY_MS": "0", "OFFLINE_MODEL_TRACE_FILE": "/tmp/t",
        "AGENT_SYSTEM_PROMPT": "Be brief.", "AWS_DEFAULT_REGION": "us-east-2",
    })
    assert settings.model_provider == "offline"
    assert settings.bedrock_model_id is None
    assert (settings.host, settings.port) == ("127.0.0.1", 9123)
    assert settings.max_sessions == 7
    assert settings.offline_delay_ms == 0
    assert settings.offline_trace_file == "/tmp/t"
    assert settings.system_prompt == "Be brief."
    assert settings.aws_region == "us-east-2"


def test_unknown_provider_names_the_variable_and_the_allowed_values() -> None:
    with pytest.raises(AgentConfigurationError) as raised:
        load_settings({"AGENT_MODEL_PROVIDER": "openai", "BEDROCK_MODEL_ID": "m"})
    message = str(raised.value)
    assert "AGENT_MODEL_PROVIDER" in message
    assert "'bedrock'" in message and "'offline'" in message
    assert "'openai'" in message


def test_bedrock_without_model_id_is_an_error_naming_it() -> None:
    with pytest.raises(AgentConfigurationError, match="BEDROCK_MODEL_ID"):
        load_settings({"AGENT_MODEL_PROVIDER": "bedrock", "BEDROCK_MODEL_ID": " "})


@pytest.mark.parametrize(
    ("name", "value"),
    [("AGENT_MAX_SESSIONS", "0"), ("AGENT_MAX_SESSIONS", "many"), ("AGENT_PORT", "70000"),
     ("OFFLINE_MODEL_DELAY_MS", "-1"), ("AGENT_MAX_OUTPUT_TOKENS", "0"), ("AGENT_MAX_OUTPUT_TOKENS", "64001"),
     ("AGENT_MAX_OUTPUT_TOKENS", "lots"), ("AGENT_TURN_TIME_LIMIT_SECONDS", "0"),
     ("AGENT_TURN_TIME_LIMIT_SECONDS", "901")],
)
def test_bad_numbers_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(AgentConfigurationError, match=name):
        load_settings({"AGENT_MODEL_PROVIDER": "offline", name: value})


def test_offline_provider_builds_the_offline_model() -> None:
    settings = load_settings({"AGENT_MODEL_PROVIDER": "offline", "OFFLINE_MODEL_DELAY_MS": "5"})
    model = build_model(settings)
    assert isinstance(model, OfflineEchoModel)
    assert model.get_config()["delay_ms"] == 5


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment where boto3's credential chain finds nothing, without touching the network."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata probe


def test_bedrock_without_credentials_fails_with_a_clear_error(no_aws_credentials: None) -> None:
    settings = load_settings({"BEDROCK_MODEL_ID": "anthropic.claude-x", "AWS_REGION": "us-east-1"})
    with pytest.raises(AgentConfigurationError) as raised:
        build_model(settings)
    assert str(raised.value) == NO_CREDENTIALS_MESSAGE
    assert "AGENT_MODEL_PROVIDER=offline" in NO_CREDENTIALS_MESSAGE
    # How to sign in, for an agent run by hand (the local stack checks before it starts one).
    assert "aws sso login" in NO_CREDENTIALS_MESSAGE and "AWS_ACCESS_KEY_ID" in NO_CREDENTIALS_MESSAGE


def test_bedrock_with_a_missing_profile_fails_with_the_same_clear_error(
    no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile-for-agent-tests")
    settings = load_settings({"BEDROCK_MODEL_ID": "anthropic.claude-x", "AWS_REGION": "us-east-1"})
    with pytest.raises(AgentConfigurationError, match="no AWS credentials for Bedrock") as raised:
        build_model(settings)
    assert "ProfileNotFound" in str(raised.value)


def test_bedrock_with_credentials_builds_a_streaming_bedrock_model(
    no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strands.models.bedrock import BedrockModel

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    settings = load_settings({"BEDROCK_MODEL_ID": "anthropic.claude-x", "AWS_REGION": "eu-central-1"})
    model = build_model(settings)
    assert isinstance(model, BedrockModel)
    assert model.get_config()["model_id"] == "anthropic.claude-x"
    assert model.get_config()["streaming"] is True
    assert model.client.meta.region_name == "eu-central-1"


# --- the guardrail (issue 13) ------------------------------------------------------------------


def test_a_guardrail_is_read_with_its_version() -> None:
    settings = load_settings({"AGENT_MODEL_PROVIDER": "offline", "AGENT_GUARDRAIL_ID": "ab12cd34ef56",
                              "AGENT_GUARDRAIL_VERSION": "3"})
    assert (settings.guardrail_id, settings.guardrail_version) == ("ab12cd34ef56", "3")
    assert load_settings({"AGENT_MODEL_PROVIDER": "offline"}).guardrail_id is None


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"AGENT_GUARDRAIL_ID": "ab12cd34ef56"}, "go together"),
        ({"AGENT_GUARDRAIL_VERSION": "1"}, "go together"),
        ({"AGENT_GUARDRAIL_ID": "Bad_Id", "AGENT_GUARDRAIL_VERSION": "1"}, "AGENT_GUARDRAIL_ID must be"),
        ({"AGENT_GUARDRAIL_ID": "ab12", "AGENT_GUARDRAIL_VERSION": "v1"}, "AGENT_GUARDRAIL_VERSION must be"),
    ],
)
def test_a_bad_guardrail_names_the_variable(environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(AgentConfigurationError, match=fragment):
        load_settings({"AGENT_MODEL_PROVIDER": "offline", **environ})


def test_the_bedrock_model_applies_the_guardrail_synchronously_to_input_and_output(
    no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fake credentials: building the client makes no call.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake")
    settings = load_settings({"BEDROCK_MODEL_ID": "us.anthropic.claude-x", "AWS_REGION": "us-east-1",
                              "AGENT_GUARDRAIL_ID": "ab12cd34ef56", "AGENT_GUARDRAIL_VERSION": "2"})
    model = build_model(settings)
    request = model.format_request([{"role": "user", "content": [{"text": "hi"}]}])  # type: ignore[attr-defined]
    assert request["guardrailConfig"] == {"guardrailIdentifier": "ab12cd34ef56", "guardrailVersion": "2",
                                          "trace": "enabled", "streamProcessingMode": "sync"}
    config = model.get_config()
    assert config["guardrail_redact_input"] is True and config["guardrail_redact_output"] is True
    # Only the latest user message is judged: it alone goes in guardContent (issue 18).
    assert config["guardrail_latest_message"] is True
    conversation = model.format_request([{"role": "user", "content": [{"text": "first"}]},  # type: ignore[attr-defined]
                                         {"role": "assistant", "content": [{"text": "answer"}]},
                                         {"role": "user", "content": [{"text": "latest"}]}])["messages"]
    assert [message["content"] for message in conversation] == [
        [{"text": "first"}], [{"text": "answer"}], [{"guardContent": {"text": {"text": "latest"}}}]]


def test_without_a_guardrail_the_request_has_none(no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake")
    model = build_model(load_settings({"BEDROCK_MODEL_ID": "us.anthropic.claude-x", "AWS_REGION": "us-east-1"}))
    assert "guardrailConfig" not in model.format_request([{"role": "user", "content": [{"text": "hi"}]}])  # type: ignore[attr-defined]


# --- the turn's limits (issue 19) -------------------------------------------------------------


def test_the_turn_limits_are_unset_unless_configured() -> None:
    settings = load_settings({"AGENT_MODEL_PROVIDER": "offline"})
    assert (settings.max_output_tokens, settings.turn_time_limit_seconds) == (None, None)
    limited = load_settings({"AGENT_MODEL_PROVIDER": "offline", "AGENT_MAX_OUTPUT_TOKENS": "4096",
                             "AGENT_TURN_TIME_LIMIT_SECONDS": "300"})
    assert (limited.max_output_tokens, limited.turn_time_limit_seconds) == (4096, 300)
    assert build_model(limited).get_config()["max_tokens"] == 4096  # type: ignore[typeddict-item]


def test_the_bedrock_model_sends_max_output_tokens_as_max_tokens(
    no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake")
    limited = build_model(load_settings({"BEDROCK_MODEL_ID": "us.anthropic.claude-x", "AWS_REGION": "us-east-1",
                                         "AGENT_MAX_OUTPUT_TOKENS": "2048"}))
    request = limited.format_request([{"role": "user", "content": [{"text": "hi"}]}])  # type: ignore[attr-defined]
    assert request["inferenceConfig"] == {"maxTokens": 2048}
    unlimited = build_model(load_settings({"BEDROCK_MODEL_ID": "us.anthropic.claude-x", "AWS_REGION": "us-east-1"}))
    assert "maxTokens" not in unlimited.format_request(  # type: ignore[attr-defined]
        [{"role": "user", "content": [{"text": "hi"}]}]).get("inferenceConfig", {})
