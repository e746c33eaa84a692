"""Durable memory: on in prod (resource, agent configuration, scoped IAM), off in dev (none of them)."""

from __future__ import annotations

import json

from tests.support.infra_harness import MOCK_MEMORY_ID_SUFFIX, ProgramRun

from components import policies
from stack_config.naming import AGENTCORE_NAME_PATTERN

MEMORY = "aws:bedrock/agentcoreMemory:AgentcoreMemory"
RUNTIME = "aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def runtime_role_statements(run: ProgramRun) -> list[dict]:
    role_name = run.one(RUNTIME).inputs["roleArn"].split("/")[-1].removesuffix("-mock")
    return [
        statement
        for policy in run.of_type(ROLE_POLICY) if policy.inputs["role"] == f"{role_name}-id"
        for statement in json.loads(policy.inputs["policy"])["Statement"]
    ]


def memory_actions(statements: list[dict]) -> set[str]:
    memory = set(policies.MEMORY_DATA_PLANE_ACTIONS)
    found: set[str] = set()
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        found |= memory & set(actions)
    return found


def test_prod_has_a_memory_named_by_agentcore_rules(prod_run: ProgramRun) -> None:
    memory = prod_run.one(MEMORY)
    assert AGENTCORE_NAME_PATTERN.fullmatch(memory.inputs["name"])
    assert memory.inputs["name"] != prod_run.one(RUNTIME).inputs["agentRuntimeName"]
    assert memory.inputs["eventExpiryDuration"] == 90  # Pulumi.prod.yaml
    assert memory.protect and memory.retain_on_delete  # users' conversations


def test_prod_agent_gets_the_memory_id_and_its_region(prod_run: ProgramRun) -> None:
    memory = prod_run.one(MEMORY)
    env = prod_run.one(RUNTIME).inputs["environmentVariables"]
    assert env["AGENT_MEMORY_ID"] == f"{memory.inputs['name']}{MOCK_MEMORY_ID_SUFFIX}"
    assert env["AWS_REGION"] == "us-east-1"
    assert prod_run.outputs["memoryId"] == env["AGENT_MEMORY_ID"]


def test_prod_runtime_role_may_use_exactly_this_memory(prod_run: ProgramRun) -> None:
    memory_id = prod_run.outputs["memoryId"]
    memory_arn = f"arn:aws:bedrock-agentcore:us-east-1:123456789012:memory/{memory_id}"
    statements = runtime_role_statements(prod_run)
    [grant] = [s for s in statements if memory_actions([s])]
    assert set(grant["Action"]) == set(policies.MEMORY_DATA_PLANE_ACTIONS)
    assert grant["Resource"] == memory_arn
    # The agent only reads and writes the conversation; it never manages the memory itself.
    assert not any(a.endswith(("CreateMemory", "DeleteMemory", "UpdateMemory")) for a in grant["Action"])


def test_dev_has_no_memory_no_memory_configuration_and_no_memory_grant(dev_run: ProgramRun) -> None:
    assert not dev_run.of_type(MEMORY)
    assert "AGENT_MEMORY_ID" not in dev_run.one(RUNTIME).inputs["environmentVariables"]
    assert not memory_actions(runtime_role_statements(dev_run))
    assert not any("memory/" in json.dumps(s) for s in runtime_role_statements(dev_run))
    assert "memoryId" not in dev_run.outputs


def test_memory_policy_statement_is_absent_without_an_arn() -> None:
    common = dict(partition="aws", region="us-east-1", account_id="123456789012",
                  runtime_name="agent_x", model_id="amazon.nova-lite-v1:0")
    without = policies.agent_runtime_policy(**common)
    with_memory = policies.agent_runtime_policy(**common, memory_arn="arn:aws:bedrock-agentcore:us-east-1:123456789012:memory/m-1")
    assert not memory_actions(without["Statement"])
    [grant] = [s for s in with_memory["Statement"] if s.get("Sid") == "ConversationMemory"]
    assert grant["Resource"] == "arn:aws:bedrock-agentcore:us-east-1:123456789012:memory/m-1"
