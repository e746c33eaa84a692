"""The project started anew under another name (issue 18, item 2).

`pulumi new` writes the name the user chooses into Pulumi.yaml, and Pulumi namespaces project-level
config keys (Pulumi.yaml's defaults) by that name, while the stack files keep their
`agentcore-streaming:` keys (pulumi/pulumi pkg/workspace/config.go mergeConfig; newcmd/new.go). The
program must stop at preview with an error that says so, and `python3 dev.py adopt-project-name`
must make a renamed copy deploy exactly what the original deploys, under the new names.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.support.infra_harness import (
    RENAMED_PROJECT,
    REPO_ROOT,
    ProgramRun,
    copy_checkout,
    project_name,
    run_program,
    stack_config,
)

from stack_config.naming import agentcore_name, agentcore_name_prefix, name_prefix, physical_name
from components.project_name import ProjectNameError, adopt_project_name, deployer_policies
from stack_config.settings import PROJECT_CONFIG_KEYS, check_settings_namespace
from streaming_shared.edge import SettingsError

ORIGINAL = project_name(REPO_ROOT)
FIX_COMMAND = f"python3 dev.py adopt-project-name {ORIGINAL}"


def run_in(checkout: Path, stack: str) -> ProgramRun:
    return run_program(stack, stack_config(stack, root=checkout), main_path=checkout / "__main__.py")


# --- the program stops instead of deploying defaults ------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_a_renamed_project_with_the_old_stack_files_stops_at_preview(renamed_checkout: Path, stack: str) -> None:
    # Before the fix prod ran as a public REGIONAL API with an API key, no WAF and production: false.
    with pytest.raises(SettingsError) as error:
        run_in(renamed_checkout, stack)
    message = str(error.value)
    assert f"under '{ORIGINAL}:'" in message  # the namespace found
    assert f"{ORIGINAL}:production" in message and f"{ORIGINAL}:guardrail" in message
    assert f"the project is named '{RENAMED_PROJECT}'" in message  # the project's name
    assert f"`{FIX_COMMAND}`" in message and f"Pulumi.{stack}.yaml" in message  # the fix


def test_the_check_reads_the_configuration_the_cli_hands_over(renamed_checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Under the CLI the program gets the merged configuration as PULUMI_CONFIG (pulumi/pulumi
    # sdk/python/cmd/pulumi-language-python/main.go), not through set_all_config as under mocks.
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(stack_config("prod", root=renamed_checkout)))
    with pytest.raises(SettingsError, match=f"under '{ORIGINAL}:' .*the project is named '{RENAMED_PROJECT}'"):
        run_program("prod", {}, main_path=renamed_checkout / "__main__.py")


def test_the_check_names_every_misplaced_namespace_and_ignores_other_namespaces() -> None:
    keys = {"aws:region", "aws:defaultTags", "pulumi:tags", "my-agent:production", "my-agent:modelId",
            "agentcore-streaming:production", "agentcore-streamin:wafEnabled", "random:anything"}
    with pytest.raises(SettingsError) as error:
        check_settings_namespace("my-agent", "prod", keys)
    message = str(error.value)
    assert "'agentcore-streaming:' (agentcore-streaming:production)" in message
    assert "'agentcore-streamin:' (agentcore-streamin:wafEnabled)" in message  # a typo is caught too
    assert "adopt-project-name agentcore-streamin`" in message
    assert "aws:region" not in message and "pulumi:tags" not in message and "random:" not in message
    # Every setting counts, and a project whose keys all sit under its own name passes.
    for key in PROJECT_CONFIG_KEYS:
        with pytest.raises(SettingsError):
            check_settings_namespace("my-agent", "dev", {f"old-name:{key}"})
    check_settings_namespace("my-agent", "dev", {f"my-agent:{key}" for key in PROJECT_CONFIG_KEYS} | {"aws:region"})


def test_the_shipped_stacks_pass_the_check() -> None:
    for stack in ("dev", "prod"):
        check_settings_namespace(ORIGINAL, stack, stack_config(stack))


# --- a cleanly renamed project deploys what the original does, under its own names ------------


def test_a_cleanly_renamed_prod_is_the_hardened_stack(renamed_prod_run: ProgramRun, prod_run: ProgramRun) -> None:
    # The same resources, with the same logical names, as the original prod ...
    assert sorted((r.type, r.name) for r in renamed_prod_run.resources) == sorted(
        (r.type, r.name) for r in prod_run.resources)
    api = renamed_prod_run.one("aws:apigateway/restApi:RestApi").inputs
    assert api["endpointConfiguration"]["types"] == "PRIVATE"
    methods = renamed_prod_run.of_type("aws:apigateway/method:Method")
    assert {m.inputs["authorization"] for m in methods if m.inputs["httpMethod"] == "POST"} == {"AWS_IAM"}
    assert renamed_prod_run.of_type("aws:wafv2/webAclAssociation:WebAclAssociation")
    assert renamed_prod_run.one("aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime").inputs["tags"][
        "production"] == "true"
    # ... with physical names that follow the new project name.
    function = renamed_prod_run.one("aws:lambda/function:Function").inputs["name"]
    assert function == physical_name(RENAMED_PROJECT, "prod", "proxy") == "my-agent-prod-proxy"
    assert renamed_prod_run.one("aws:apigateway/restApi:RestApi").inputs["name"].startswith("my-agent-prod-")
    assert ORIGINAL not in repr([r.inputs for r in renamed_prod_run.resources])


def test_a_cleanly_renamed_dev_keeps_the_model_pulumi_new_asked_for(adopted_checkout: Path) -> None:
    stack_file = yaml.safe_load((adopted_checkout / "Pulumi.dev.yaml").read_text())
    assert not [key for key in stack_file["config"] if key.startswith(f"{ORIGINAL}:")]
    assert stack_file["config"]["aws:defaultTags"]["tags"]["project"] == RENAMED_PROJECT
    run = run_in(adopted_checkout, "dev")
    assert run.one("aws:lambda/function:Function").inputs["name"] == "my-agent-dev-proxy"
    assert run.one("aws:apigateway/restApi:RestApi").inputs["endpointConfiguration"]["types"] == "REGIONAL"


# --- adopt-project-name -----------------------------------------------------------------------


STACK_FILE = f"""# A comment that stays.
config:
  aws:region: eu-west-1
  aws:defaultTags:
    tags:
      project: {ORIGINAL}
  {ORIGINAL}:production: true   # so does this one
  {ORIGINAL}:guardrail:
    enabled: true
    contentFilters:
      - {{type: HATE, inputStrength: HIGH, outputStrength: HIGH}}

  # The model.
  {ORIGINAL}:modelId: old-model
  renamed:modelId: new-model
  renamed:guardrail:
    enabled: false
"""


def renamed_project(tmp_path: Path, name: str = "renamed") -> Path:
    (tmp_path / "Pulumi.yaml").write_text(f"name: {name}\nruntime:\n  name: python\n")
    (tmp_path / "Pulumi.prod.yaml").write_text(STACK_FILE)
    return tmp_path


def test_adopting_moves_keys_keeps_comments_and_lets_keys_set_under_the_new_name_win(tmp_path: Path) -> None:
    root = renamed_project(tmp_path)
    adoption = adopt_project_name(root, ORIGINAL)
    text = (root / "Pulumi.prod.yaml").read_text()
    assert text == f"""# A comment that stays.
config:
  aws:region: eu-west-1
  aws:defaultTags:
    tags:
      project: renamed
  renamed:production: true   # so does this one
  # The model.
  renamed:modelId: new-model
  renamed:guardrail:
    enabled: false
"""
    assert adoption.changes == [
        f"Pulumi.prod.yaml: dropped {ORIGINAL}:guardrail (kept renamed:guardrail, set under the new name)",
        f"Pulumi.prod.yaml: dropped {ORIGINAL}:modelId (kept renamed:modelId, set under the new name)",
        f"Pulumi.prod.yaml: 1 settings moved from {ORIGINAL}: to renamed:",
    ]
    # Running it again changes nothing.
    assert adopt_project_name(root, ORIGINAL).changes == [] and (root / "Pulumi.prod.yaml").read_text() == text


def test_adopting_refuses_a_name_pulumi_would_refuse(tmp_path: Path) -> None:
    with pytest.raises(ProjectNameError, match="'bad name' is not a Pulumi project name"):
        adopt_project_name(renamed_project(tmp_path), "bad name")
    (tmp_path / "Pulumi.yaml").write_text("runtime: python\n")
    with pytest.raises(ProjectNameError, match="no top-level `name: <project>` line"):
        adopt_project_name(tmp_path, ORIGINAL)


@pytest.mark.parametrize("project", ["my-agent", "My_Agent.v2", "agent-", "1st.agent", "a" * 30])
def test_every_name_starts_with_the_prefix_the_deployer_policy_allows(project: str) -> None:
    for stack in ("dev", "prod", "feature_X"):
        for role in ("proxy", "api", "code", "waf"):
            assert physical_name(project, stack, role, max_length=128).startswith(f"{name_prefix(project)}-")
        for role in ("agent", "memory"):
            assert agentcore_name(project, stack, role).startswith(f"{agentcore_name_prefix(project)}_")


def test_dev_py_adopts_the_name_in_a_copy_of_the_repository(tmp_path: Path) -> None:
    checkout = copy_checkout(tmp_path / "checkout")
    project_file = checkout / "Pulumi.yaml"
    project_file.write_text(re.sub(r"(?m)^name: .*$", "name: my-agent", project_file.read_text()))
    done = subprocess.run([sys.executable, "dev.py", "adopt-project-name", ORIGINAL], cwd=checkout,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    for stack in ("dev", "prod"):
        assert f"Pulumi.{stack}.yaml: " in done.stdout and f"settings moved from {ORIGINAL}: to my-agent:" in done.stdout
    assert run_in(checkout, "prod").one("aws:lambda/function:Function").inputs["name"] == "my-agent-prod-proxy"
    policy = "\n".join(path.read_text() for path in deployer_policies(checkout))
    assert ORIGINAL not in policy and "agentcore_streaming" not in policy
    assert "function:my-agent-*" in policy and "runtime/my_agent_*" in policy
