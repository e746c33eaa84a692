"""Settings are declared in Pulumi.yaml, read from the stack files and validated once."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from infra_harness import REPO_ROOT, stack_config

from stack_config.settings import (
    PROJECT,
    OBJECT_CONFIG_KEYS,
    PROJECT_CONFIG_KEYS,
    parse_settings,
)
from streaming_shared.auth_modes import AUTH_MODES
from streaming_shared.edge import SettingsError



def dev_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict(stack_config("dev"))
    values.update({f"{PROJECT}:{key}": value for key, value in overrides.items()})
    return values


def test_pulumi_yaml_declares_every_setting_with_type_default_and_description() -> None:
    project_file = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    assert project_file["name"] == PROJECT
    assert project_file["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    declared = project_file["config"]
    assert set(declared) == set(PROJECT_CONFIG_KEYS)
    for key, spec in declared.items():
        if key in OBJECT_CONFIG_KEYS:
            # Pulumi's project config has no `object` type (pulumi/pulumi#11321): a structured
            # setting is declared without one, and its default is a mapping.
            assert "type" not in spec and isinstance(spec["default"], dict), key
            assert {"default", "description"} <= set(spec), key
        else:
            assert {"type", "default", "description"} <= set(spec), key
        assert spec["description"].strip(), key


def test_stack_files_set_only_declared_keys() -> None:
    allowed = {f"{PROJECT}:{key}" for key in PROJECT_CONFIG_KEYS} | {"aws:region", "aws:defaultTags"}
    for stack in ("dev", "prod"):
        config = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert set(config) <= allowed, set(config) - allowed


def test_dev_settings() -> None:
    settings = parse_settings(PROJECT, "dev", stack_config("dev"))
    assert (settings.endpoint_type, settings.auth_mode, settings.agent_artifact) == ("REGIONAL", "apiKey", "code")
    assert settings.agent_network_mode == "PUBLIC" and not settings.needs_network
    assert not settings.waf_enabled and not settings.protect_stateful_resources and not settings.production
    assert settings.auth.quota is not None and 0 < settings.auth.quota.limit <= 1000
    assert settings.log_retention_days == 7
    assert settings.region == "us-east-1"
    assert settings.model_id == "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_prod_settings() -> None:
    settings = parse_settings(PROJECT, "prod", stack_config("prod"))
    assert (settings.endpoint_type, settings.auth_mode, settings.agent_network_mode) == ("PRIVATE", "iam", "VPC")
    assert settings.waf_enabled and settings.protect_stateful_resources and settings.production
    assert settings.creates_vpc and settings.subnet_ids == ()
    assert settings.log_retention_days == 365
    assert "sonnet" in settings.model_id


def test_unknown_auth_mode_names_the_key_and_the_choices() -> None:
    with pytest.raises(SettingsError) as error:
        parse_settings(PROJECT, "dev", dev_values(authMode="password"))
    message = str(error.value)
    assert "agentcore-streaming:authMode" in message
    assert "'password'" in message
    for choice in AUTH_MODES:
        assert repr(choice) in message


@pytest.mark.parametrize(
    ("overrides", "key", "fragment"),
    [
        ({"endpointType": "EDGE"}, "endpointType", "'REGIONAL', 'PRIVATE'"),
        ({"agentArtifact": "wheel"}, "agentArtifact", "'code', 'container'"),
        ({"agentNetworkMode": "public"}, "agentNetworkMode", "'PUBLIC', 'VPC'"),
        ({"streamTimeoutSeconds": "901"}, "streamTimeoutSeconds", "between 60 and 900"),
        ({"streamTimeoutSeconds": "soon"}, "streamTimeoutSeconds", "an integer"),
        ({"wafEnabled": "yes"}, "wafEnabled", "true or false"),
        ({"logRetentionDays": "10"}, "logRetentionDays", "must be one of"),
        ({"keepaliveSeconds": "290"}, "keepaliveSeconds", "between 1 and 270"),
        ({"streamTimeoutSeconds": "60", "keepaliveSeconds": "60"}, "keepaliveSeconds", "shorter than"),
        # API Gateway's 900 s integration limit counts the function's init: the proxy ends 20 s before.
        ({"streamTimeoutSeconds": "890"}, "streamTimeoutSeconds", "at most 880"),
        ({"streamTimeoutSeconds": "900"}, "streamTimeoutSeconds", "at most 880"),
        ({"maxOutputTokens": "0"}, "maxOutputTokens", "between 1 and 64000"),
        ({"maxOutputTokens": "a lot"}, "maxOutputTokens", "an integer"),
        ({"turnTimeLimitSeconds": "5"}, "turnTimeLimitSeconds", "between 10 and 880"),
        ({"streamTimeoutSeconds": "300", "turnTimeLimitSeconds": "400"}, "turnTimeLimitSeconds",
         "at most streamTimeoutSeconds (300)"),
        ({"vpcId": "vpc-1"}, "subnetIds", "go together"),
        ({"subnetIds": "not json"}, "subnetIds", "JSON list"),
        ({"vpcCidr": "10.0.0.0/8"}, "vpcCidr", "IPv4 CIDR"),
        ({"agentIdleTimeoutSeconds": "3600", "agentMaxLifetimeSeconds": "600"}, "agentMaxLifetimeSeconds", "at least"),
        ({"production": "true", "authMode": "none"}, "authMode", "must authenticate"),
        ({"agentMaxToolCalls": "0"}, "agentMaxToolCalls", "between 1 and 1000"),
        ({"agentStreamToolContent": "sometimes"}, "agentStreamToolContent", "true or false"),
    ],
)
def test_bad_values_name_their_key(overrides: dict[str, str], key: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse_settings(PROJECT, "dev", dev_values(**overrides))
    assert f"agentcore-streaming:{key}" in str(error.value)
    assert fragment in str(error.value)


@pytest.mark.parametrize("level", ["DEBUG", "debug", "TRACE", " Trace "])
def test_debug_and_trace_logs_are_refused_naming_the_key_the_allowed_values_and_why(level: str) -> None:
    # Lambda Web Adapter logs every request header at DEBUG (aws-lambda-web-adapter src/lib.rs,
    # "sending request to app server"): keys and tokens would reach CloudWatch.
    for stack in ("dev", "prod"):
        values = dict(stack_config(stack))
        values[f"{PROJECT}:logLevel"] = level
        with pytest.raises(SettingsError) as error:
            parse_settings(PROJECT, stack, values)
        message = str(error.value)
        assert message.startswith(f"{PROJECT}:logLevel must be one of 'INFO', 'WARNING', 'ERROR'"), message
        assert repr(level) in message and "request header" in message, message


def test_every_allowed_log_level_is_accepted_and_both_stacks_log_at_info() -> None:
    for level in ("INFO", "WARNING", "ERROR"):
        assert parse_settings(PROJECT, "dev", dev_values(logLevel=level)).log_level == level
    assert parse_settings(PROJECT, "dev", stack_config("dev")).log_level == "INFO"
    assert parse_settings(PROJECT, "prod", stack_config("prod")).log_level == "INFO"


def test_missing_region_names_aws_region() -> None:
    values = dev_values()
    del values["aws:region"]
    with pytest.raises(SettingsError, match="aws:region"):
        parse_settings(PROJECT, "dev", values)


def test_existing_vpc_is_used_instead_of_a_new_one() -> None:
    settings = parse_settings(PROJECT, "dev", dev_values(
        vpcId="vpc-1", subnetIds='["subnet-a", "subnet-b"]', agentNetworkMode="VPC",
    ))
    assert settings.vpc_id == "vpc-1" and settings.subnet_ids == ("subnet-a", "subnet-b")
    assert settings.needs_network and not settings.creates_vpc


def test_proxy_stops_streaming_before_lambda_does() -> None:
    settings = parse_settings(PROJECT, "dev", dev_values(streamTimeoutSeconds="300"))
    assert settings.function_timeout_seconds == settings.stream_timeout_seconds + 20
    longest = parse_settings(PROJECT, "dev", dev_values(streamTimeoutSeconds="880"))
    assert longest.function_timeout_seconds == 900


def test_tool_settings_default_to_twenty_calls_and_no_tool_content() -> None:
    settings = parse_settings(PROJECT, "dev", dev_values())
    assert (settings.agent_max_tool_calls, settings.agent_stream_tool_content) == (20, False)
    settings = parse_settings(PROJECT, "dev", dev_values(agentMaxToolCalls="5", agentStreamToolContent="true"))
    assert (settings.agent_max_tool_calls, settings.agent_stream_tool_content) == (5, True)
