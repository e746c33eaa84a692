"""The `guardrail` setting (issue 13): validation, and what the program builds with it on and off.

Under mocks: a guardrail created by the stack (prod), an existing one named by id, and none (dev):
the resources, the runtime role's ApplyGuardrail grant on exactly that guardrail's ARN, and the
agent's environment.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.support.infra_harness import ACCOUNT_ID, EXISTING_GUARDRAIL_ID, PROJECT, REGION, ProgramRun, stack_config

from stack_config.guardrail import (
    CONTENT_FILTER_TYPES,
    FILTER_STRENGTHS,
    PII_ACTIONS,
    PII_ENTITY_TYPES,
    ExistingGuardrail,
    NewGuardrail,
)
from stack_config.settings import parse_settings
from streaming_shared.edge import SettingsError

GUARDRAIL = "aws:bedrock/guardrail:Guardrail"
GUARDRAIL_VERSION = "aws:bedrock/guardrailVersion:GuardrailVersion"
RUNTIME = "aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime"
KEY = f"{PROJECT}:guardrail"
EXISTING_ID = EXISTING_GUARDRAIL_ID


def values(stack: str, guardrail: Any, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = dict(stack_config(stack))
    config[KEY] = guardrail if isinstance(guardrail, str) else json.dumps(guardrail)
    config.update({f"{PROJECT}:{key}": value for key, value in overrides.items()})
    return config


def settings_error(guardrail: Any, stack: str = "dev") -> str:
    with pytest.raises(SettingsError) as error:
        parse_settings(PROJECT, stack, values(stack, guardrail))
    return str(error.value)


# --- settings ----------------------------------------------------------------------------------


def test_dev_is_off_and_prod_creates_one() -> None:
    assert parse_settings(PROJECT, "dev", stack_config("dev")).guardrail is None
    prod = parse_settings(PROJECT, "prod", stack_config("prod")).guardrail
    assert isinstance(prod, NewGuardrail)
    assert {f.type for f in prod.content_filters} == set(CONTENT_FILTER_TYPES)


def test_a_stack_file_without_the_key_has_no_guardrail() -> None:
    config = dict(stack_config("dev"))
    del config[KEY]
    assert parse_settings(PROJECT, "dev", config).guardrail is None


def test_an_existing_guardrail_by_id_or_arn() -> None:
    by_id = parse_settings(PROJECT, "dev", values("dev", {"id": EXISTING_ID, "version": 3})).guardrail
    assert by_id == ExistingGuardrail(EXISTING_ID, "3")
    assert by_id.arn("aws", REGION, ACCOUNT_ID) == f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:guardrail/{EXISTING_ID}"
    arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:guardrail/{EXISTING_ID}"
    assert parse_settings(PROJECT, "dev", values("dev", {"id": arn, "version": "DRAFT"})).guardrail == \
        ExistingGuardrail(arn, "DRAFT")


@pytest.mark.parametrize(
    ("guardrail", "field", "fragments"),
    [
        ("[1, 2]", "", ["must be an object"]),
        ({"enabled": "maybe"}, ".enabled", ["true or false"]),
        ({"enabled": True, "colour": "red"}, ".colour", ["allowed keys"]),
        ({"enabled": True}, ".contentFilters", ["at least one policy"]),
        ({"enabled": True, "contentFilters": [{"type": "RUDE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]},
         ".contentFilters[0].type", [repr(t) for t in CONTENT_FILTER_TYPES]),
        ({"enabled": True, "contentFilters": [{"type": "HATE", "inputStrength": "MAX", "outputStrength": "HIGH"}]},
         ".contentFilters[0].inputStrength", [repr(s) for s in FILTER_STRENGTHS]),
        ({"enabled": True, "contentFilters": [{"type": "HATE", "inputStrength": "LOW", "outputStrength": "low"}]},
         ".contentFilters[0].outputStrength", ["'low'", "'HIGH'"]),
        ({"enabled": True, "contentFilters": [
            {"type": "PROMPT_ATTACK", "inputStrength": "HIGH", "outputStrength": "HIGH"}]},
         ".contentFilters[0].outputStrength", ["one of 'NONE'"]),
        ({"enabled": True, "contentFilters": [{"type": "HATE", "inputStrength": "LOW", "outputStrength": "LOW"},
                                              {"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]},
         ".contentFilters[1].type", ["listed twice"]),
        ({"enabled": True, "contentFilters": [{"type": "HATE"}] * 7}, ".contentFilters", ["at most 6"]),
        ({"enabled": True, "deniedTopics": [{"name": "bad/name", "definition": "x"}]},
         ".deniedTopics[0].name", ["letters, digits"]),
        ({"enabled": True, "deniedTopics": [{"name": "Investing", "definition": "d" * 201}]},
         ".deniedTopics[0].definition", ["at most 200"]),
        ({"enabled": True, "deniedTopics": [{"name": "Investing", "definition": "d", "examples": ["e"] * 6}]},
         ".deniedTopics[0].examples", ["at most 5"]),
        ({"enabled": True, "piiEntities": [{"type": "SHOE_SIZE", "action": "BLOCK"}]},
         ".piiEntities[0].type", ["'EMAIL'", "'US_SOCIAL_SECURITY_NUMBER'"]),
        ({"enabled": True, "piiEntities": [{"type": "EMAIL", "action": "MASK"}]},
         ".piiEntities[0].action", [repr(a) for a in PII_ACTIONS]),
        ({"enabled": True, "piiEntities": [{"type": "EMAIL", "action": "BLOCK"}], "blockedInputMessage": ""},
         ".blockedInputMessage", ["non-empty"]),
        ({"id": "Not_An_Id", "version": "1"}, ".id", ["guardrail id", "ARN"]),
        ({"id": EXISTING_ID, "version": "0"}, ".version", ["version number", "'DRAFT'"]),
        ({"id": EXISTING_ID, "version": "latest"}, ".version", ["version number", "'DRAFT'"]),
        ({"id": EXISTING_ID, "version": "1", "contentFilters": []}, ".contentFilters", ["cannot be combined"]),
        # Switched off, a bad field still fails now, not on the day it is switched on.
        ({"enabled": False, "piiEntities": [{"type": "EMAIL", "action": "MASK"}]},
         ".piiEntities[0].action", ["'BLOCK'"]),
    ],
)
def test_each_bad_field_is_named_with_the_allowed_values(guardrail: Any, field: str, fragments: list[str]) -> None:
    message = settings_error(guardrail)
    assert message.startswith(f"{KEY}{field} "), message
    for fragment in fragments:
        assert fragment in message, message


def test_draft_is_refused_in_production_only() -> None:
    existing = {"id": EXISTING_ID, "version": "DRAFT"}
    assert parse_settings(PROJECT, "dev", values("dev", existing)).guardrail == ExistingGuardrail(EXISTING_ID, "DRAFT")
    message = settings_error(existing, stack="prod")
    assert message.startswith(f"{KEY}.version ") and "production" in message


def test_every_pii_type_and_action_is_accepted() -> None:
    entities = [{"type": kind, "action": PII_ACTIONS[i % 3]} for i, kind in enumerate(PII_ENTITY_TYPES)]
    parsed = parse_settings(PROJECT, "dev", values("dev", {"enabled": True, "piiEntities": entities})).guardrail
    assert isinstance(parsed, NewGuardrail) and len(parsed.pii_entities) == len(PII_ENTITY_TYPES)


# --- the program under mocks -------------------------------------------------------------------


@pytest.fixture(scope="module")
def existing_run(dev_variant_run: ProgramRun) -> ProgramRun:
    # infra_harness.DEV_VARIANT_OVERRIDES names an existing guardrail: {id: EXISTING_GUARDRAIL_ID, version: "7"}.
    return dev_variant_run


def runtime_policy(run: ProgramRun) -> dict[str, Any]:
    return json.loads(run.named("agent-role-policy").inputs["policy"])


def guardrail_statements(run: ProgramRun) -> list[dict[str, Any]]:
    return [s for s in runtime_policy(run)["Statement"] if "bedrock:ApplyGuardrail" in json.dumps(s["Action"])]


def environment(run: ProgramRun) -> dict[str, str]:
    return run.one(RUNTIME).inputs["environmentVariables"]


def test_off_there_is_no_guardrail_grant_or_variable(dev_run: ProgramRun) -> None:
    assert not dev_run.of_type(GUARDRAIL) and not dev_run.of_type(GUARDRAIL_VERSION)
    assert guardrail_statements(dev_run) == []
    assert not [name for name in environment(dev_run) if name.startswith("AGENT_GUARDRAIL")]
    assert "guardrailId" not in dev_run.outputs
    assert "bedrock:ApplyGuardrail" not in json.dumps(runtime_policy(dev_run))


def test_created_the_guardrail_its_version_the_grant_and_the_environment_agree(prod_run: ProgramRun) -> None:
    guardrail = prod_run.one(GUARDRAIL)
    version = prod_run.one(GUARDRAIL_VERSION)
    arn = guardrail.state["guardrailArn"]
    assert version.inputs["guardrailArn"] == arn
    assert guardrail.inputs["blockedInputMessaging"] and guardrail.inputs["blockedOutputsMessaging"]
    filters = guardrail.inputs["contentPolicyConfig"]["filtersConfigs"]
    assert {f["type"] for f in filters} == set(CONTENT_FILTER_TYPES)
    assert guardrail.inputs["sensitiveInformationPolicyConfig"]["piiEntitiesConfigs"]
    # Exactly this guardrail, by its full ARN, and nothing with a wildcard.
    assert guardrail_statements(prod_run) == [
        {"Sid": "ApplyGuardrail", "Effect": "Allow", "Action": "bedrock:ApplyGuardrail", "Resource": arn}]
    assert "*" not in arn
    env = environment(prod_run)
    assert env["AGENT_GUARDRAIL_ID"] == guardrail.state["guardrailId"]
    assert env["AGENT_GUARDRAIL_VERSION"] == version.state["version"] == "1"
    assert prod_run.outputs["guardrailId"] == guardrail.state["guardrailId"]
    assert prod_run.outputs["guardrailVersion"] == "1"
    # The runtime role's policy exists before the runtime, with the grant in it.
    assert prod_run.one(RUNTIME).inputs["tags"] == {"production": "true"}


def test_a_policy_change_publishes_a_new_version(prod_run: ProgramRun) -> None:
    prod = parse_settings(PROJECT, "prod", stack_config("prod")).guardrail
    changed = parse_settings(PROJECT, "prod", values("prod", {
        "enabled": True, "piiEntities": [{"type": "EMAIL", "action": "BLOCK"}]})).guardrail
    assert isinstance(prod, NewGuardrail) and isinstance(changed, NewGuardrail)
    # The policies' fingerprint is in the version's description, and a changed description
    # replaces the version resource: a new version number for the agent.
    version = prod_run.one(GUARDRAIL_VERSION)
    assert prod.fingerprint() in version.inputs["description"]
    assert changed.fingerprint() != prod.fingerprint()
    assert version.replace_on_changes == ["description"]


def test_existing_no_resources_and_the_grant_names_its_arn(existing_run: ProgramRun) -> None:
    assert not existing_run.of_type(GUARDRAIL) and not existing_run.of_type(GUARDRAIL_VERSION)
    arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:guardrail/{EXISTING_ID}"
    assert guardrail_statements(existing_run) == [
        {"Sid": "ApplyGuardrail", "Effect": "Allow", "Action": "bedrock:ApplyGuardrail", "Resource": arn}]
    env = environment(existing_run)
    assert (env["AGENT_GUARDRAIL_ID"], env["AGENT_GUARDRAIL_VERSION"]) == (EXISTING_ID, "7")
    assert existing_run.one(RUNTIME).inputs["tags"] == {"production": "false"}
