"""Settings are declared once (stack_config/config_keys.py), copied into Pulumi.yaml, read from the stack
files and validated once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Callable

import pytest
import yaml
from tests.support.infra_harness import REPO_ROOT, stack_config

from stack_config.config_keys import (
    ARRAY,
    CONFIG_KEYS,
    INTEGER,
    OBJECT,
    OBJECT_CONFIG_KEYS,
    REGION,
    REGION_KEY,
    STRING,
    ConfigKey,
    _same,
)
from stack_config.settings import (
    PROJECT,
    PROJECT_CONFIG_KEYS,
    _Reader,
    parse_settings,
)
from streaming_shared.auth_modes import AUTH_MODES
from streaming_shared.edge import SettingsError


def dev_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict(stack_config("dev"))
    values.update({f"{PROJECT}:{key}": value for key, value in overrides.items()})
    return values


# Pulumi.yaml's `config:` block is the one copy of the declaration the Pulumi CLI needs; these hold it equal.
def pulumi_declaration(key: ConfigKey) -> dict[str, Any]:
    """The key's entry in Pulumi.yaml's `config:` block, as YAML loads it."""
    declaration: dict[str, Any] = {} if key.type is OBJECT else {"type": key.type}
    if key.type == ARRAY:
        declaration["items"] = {"type": STRING}
    return {**declaration, "default": key.default, "description": key.description}


def pulumi_yaml_differences(config_block: Mapping[str, Any]) -> list[str]:
    """How Pulumi.yaml's `config:` block differs from the declaration, one line per key and field."""
    declared = {key.name: pulumi_declaration(key) for key in CONFIG_KEYS}
    problems = [f"{name}: declared in stack_config/config_keys.py but missing from Pulumi.yaml"
                for name in declared if name not in config_block]
    problems += [f"{name}: in Pulumi.yaml but not declared in stack_config/config_keys.py"
                 for name in config_block if name not in declared]
    for name in (name for name in declared if name in config_block):
        written = config_block[name] if isinstance(config_block[name], Mapping) else {}
        for field in sorted(set(declared[name]) | set(written)):
            want, have = declared[name].get(field, "<absent>"), written.get(field, "<absent>")
            if not _same(want, have):
                problems.append(f"{name}: {field} differs: Pulumi.yaml has {have!r}, "
                                f"stack_config/config_keys.py declares {want!r}")
    return problems


def test_pulumi_yaml_declares_every_setting_exactly_as_the_declaration_does() -> None:
    project_file = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    assert project_file["name"] == PROJECT
    assert project_file["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    differences = pulumi_yaml_differences(project_file["config"])
    assert not differences, "Pulumi.yaml differs from stack_config/config_keys.py:\n" + "\n".join(differences)
    assert list(project_file["config"]) == list(PROJECT_CONFIG_KEYS), "Pulumi.yaml lists the keys in another order"
    # `pulumi new` offers the template's defaults: they are the declared ones.
    declared_defaults = {key.name: key.default for key in CONFIG_KEYS}
    for key, spec in project_file["template"]["config"].items():
        if key != REGION.name:
            assert spec["default"] == declared_defaults[key], key


def pulumi_yaml_with(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    config = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["config"]
    edit(config)
    return config


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda c: c["modelId"].update(description="Some model."), "modelId: description differs: Pulumi.yaml has 'Some model.'"),
    (lambda c: c["agentMaxSessions"].update(default=50), "agentMaxSessions: default differs: Pulumi.yaml has 50, "
                                                         "stack_config/config_keys.py declares 100"),
    # YAML's 0 is not the boolean false, though Python compares them equal.
    (lambda c: c["production"].update(default=0), "production: default differs: Pulumi.yaml has 0"),
    (lambda c: c["quotaLimit"].update(type="string"), "quotaLimit: type differs: Pulumi.yaml has 'string', "
                                                      "stack_config/config_keys.py declares 'integer'"),
    (lambda c: c["subnetIds"].pop("items"), "subnetIds: items differs: Pulumi.yaml has '<absent>'"),
    (lambda c: c["guardrail"].update(type="object"), "guardrail: type differs: Pulumi.yaml has 'object', "
                                                     "stack_config/config_keys.py declares '<absent>'"),
    (lambda c: c.pop("wafEnabled"), "wafEnabled: declared in stack_config/config_keys.py but missing from Pulumi.yaml"),
    (lambda c: c.update(wafEnable={"type": "boolean", "default": True, "description": "typo"}),
     "wafEnable: in Pulumi.yaml but not declared in stack_config/config_keys.py"),
])
def test_a_pulumi_yaml_that_differs_is_reported_naming_the_key_and_the_difference(
    edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    [difference] = pulumi_yaml_differences(pulumi_yaml_with(edit))
    assert difference.startswith(expected), difference


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
        ({"streamTimeoutSeconds": "901"}, "streamTimeoutSeconds", "at most 880, got 901: API Gateway"),
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


# --- what parse_settings derives from the declaration ---------------------------------------------

CHOICE_KEYS = [key for key in CONFIG_KEYS if key.choices]
RANGED_KEYS = [key for key in CONFIG_KEYS if key.type == INTEGER]


def test_the_derived_lists_are_not_empty() -> None:
    # Guards the parametrizations below: a refactor that hides the declarations must not empty them.
    assert {"authMode", "endpointType", "logLevel", "logRetentionDays"} <= {key.name for key in CHOICE_KEYS}
    assert len(RANGED_KEYS) >= 15 and all(key.range for key in RANGED_KEYS)
    assert set(OBJECT_CONFIG_KEYS) == {"customDomain", "guardrail"}


@pytest.mark.parametrize("key", CHOICE_KEYS, ids=lambda key: key.name)
def test_a_value_outside_the_declared_choices_is_refused_naming_the_key_and_every_choice(key: ConfigKey) -> None:
    wrong = 2 if key.type == INTEGER else "no-such-value"
    with pytest.raises(SettingsError) as error:
        parse_settings(PROJECT, "dev", dev_values(**{key.name: str(wrong)}))
    message = str(error.value)
    assert message.startswith(f"{PROJECT}:{key.name} must be one of "), message
    assert f"got {wrong!r}" in message, message
    shown = [str(choice) if key.type == INTEGER else repr(choice) for choice in key.choices]
    assert ", ".join(shown) in message, message


@pytest.mark.parametrize("key", RANGED_KEYS, ids=lambda key: key.name)
def test_integers_just_outside_the_declared_range_are_refused_naming_the_key_and_the_bound(key: ConfigKey) -> None:
    assert key.range is not None
    minimum, maximum = key.range
    for wrong, bound in ((minimum - 1, minimum), (maximum + 1, maximum)):
        with pytest.raises(SettingsError) as error:
            parse_settings(PROJECT, "dev", dev_values(**{key.name: str(wrong)}))
        message = str(error.value)
        assert message.startswith(f"{PROJECT}:{key.name}"), message
        assert str(bound) in message and str(wrong) in message, message


def test_a_range_a_description_states_is_the_declared_one() -> None:
    stated = [(key, low, high) for key in CONFIG_KEYS for low, high in re.findall(r"\b(\d+)\.\.(\d+)\b", key.description)]
    assert len(stated) >= 5
    for key, low, high in stated:
        assert key.range == (int(low), int(high)), f"{key.name}'s description says {low}..{high}, it declares {key.range}"


def test_the_declared_defaults_are_settings_the_parser_accepts() -> None:
    values = {f"{PROJECT}:{key.name}": key.default for key in CONFIG_KEYS} | {REGION_KEY: "us-east-1"}
    settings = parse_settings(PROJECT, "dev", values)
    assert (settings.auth_mode, settings.endpoint_type, settings.log_retention_days) == ("apiKey", "REGIONAL", 7)
    assert settings.guardrail is None and settings.custom_domain is None and not settings.production


class RecordingValues(dict[str, Any]):
    """The stack's values, remembering which keys parse_settings read."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)


def test_parse_settings_reads_every_declared_key_and_no_other() -> None:
    # prod sets a guardrail, which is read only when present: every key is then read.
    values = RecordingValues(dict(stack_config("prod")))
    parse_settings(PROJECT, "prod", values)
    assert values.read == {f"{PROJECT}:{key}" for key in PROJECT_CONFIG_KEYS} | {REGION_KEY}


def test_reading_an_undeclared_key_or_a_key_as_another_type_is_a_bug_named_as_such() -> None:
    read = _Reader(PROJECT, {"wafEnable": "true", "production": "true"})
    with pytest.raises(LookupError, match="'wafEnable', which stack_config/config_keys.py does not declare"):
        read.boolean("wafEnable")
    with pytest.raises(LookupError, match="'production' as integer, but stack_config/config_keys.py declares it as boolean"):
        read.integer("production")
