"""A stranger's first deployments on a real account (issue 9, defects 4-7), under mocks that act like AWS.

Each account-level fact is modelled the way AWS documents it, not the way our program assumes it:
API Gateway's CloudWatch role is one setting per account and region that the provider resets on
delete; names of retained resources stay taken after `pulumi destroy`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from tests.support.infra_harness import ACCOUNT_ID, ProgramRun, RecordedResource, run_program, stack_config

from components.agent_memory import NAME_BASE_MAX_LENGTH
from stack_config.naming import AGENTCORE_NAME_MAX, AGENTCORE_NAME_PATTERN, agentcore_name
from stack_config.settings import parse_settings, settings_warnings

ACCOUNT = "aws:apigateway/account:Account"
ROLE = "aws:iam/role:Role"
STAGE = "aws:apigateway/stage:Stage"
RUNTIME = "aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime"
MEMORY = "aws:bedrock/agentcoreMemory:AgentcoreMemory"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
BUCKET = "aws:s3/bucket:Bucket"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# API Gateway's answer to a stage with logging while the account has no CloudWatch role.
NO_LOGGING_ROLE = "CloudWatch Logs role ARN must be set in account settings to enable logging"


# --- defect 5: one owner of API Gateway's account-level CloudWatch role ------------------------


class StageRefused(Exception):
    pass


@dataclass
class ApiGatewayAccountSetting:
    """One account and region as API Gateway sees it.

    - `cloudwatchRoleArn` is a single value; UpdateAccount replaces it (last writer wins).
    - A stage with access or execution logging is refused while that role is unset or deleted.
    - Destroying an `aws.apigateway.Account` resets the setting (Terraform provider 6, which
      pulumi_aws 7 wraps, removed `reset_on_delete` and always resets) unless the resource is
      retained; destroying a role deletes it unless retained.
    """

    role: tuple[str, str] | None = None  # (stack, role resource name) the setting points at
    roles: set[tuple[str, str]] = field(default_factory=set)  # roles that exist in IAM
    logging_stacks: set[str] = field(default_factory=set)

    def deploy(self, run: ProgramRun) -> None:
        for role in run.of_type(ROLE):
            self.roles.add((run.stack, role.name))
        for account in run.of_type(ACCOUNT):
            self.role = (run.stack, _role_of(run, account).name)
        for stage in run.of_type(STAGE):
            if stage.inputs.get("accessLogSettings") and not self.logging_works():
                raise StageRefused(f"{run.stack}: {NO_LOGGING_ROLE}")
        self.logging_stacks.add(run.stack)

    def destroy(self, run: ProgramRun) -> None:
        for account in run.of_type(ACCOUNT):
            if not account.retain_on_delete:
                self.role = None
        for role in run.of_type(ROLE):
            if not role.retain_on_delete:
                self.roles.discard((run.stack, role.name))
        self.logging_stacks.discard(run.stack)

    def logging_works(self) -> bool:
        return self.role is not None and self.role in self.roles


def _role_of(run: ProgramRun, account: RecordedResource) -> RecordedResource:
    # The mock gives each role the ARN arn:aws:iam::<account>:role/<resource name>-mock.
    name = account.inputs["cloudwatchRoleArn"].rsplit("/", 1)[1].removesuffix("-mock")
    return run.named(name)


def test_exactly_one_stack_owns_the_account_setting_by_default(dev_run: ProgramRun, prod_run: ProgramRun) -> None:
    owners = [run.stack for run in (dev_run, prod_run) if run.of_type(ACCOUNT)]
    assert owners == ["dev"]


def test_dev_alone_deploys_on_a_fresh_account(dev_run: ProgramRun) -> None:
    account = ApiGatewayAccountSetting()
    account.deploy(dev_run)
    assert account.logging_works()


def test_dev_and_prod_share_an_account_and_destroying_dev_keeps_prods_logs(
    dev_run: ProgramRun, prod_run: ProgramRun
) -> None:
    account = ApiGatewayAccountSetting()
    account.deploy(dev_run)
    account.deploy(prod_run)
    account.destroy(dev_run)
    # Prod's stage still logs; a redeploy of prod (a new stage, say) is still accepted.
    assert account.logging_works()
    account.deploy(prod_run)
    # And dev comes back without fighting anyone.
    account.deploy(dev_run)
    assert account.logging_works()


def test_prod_alone_needs_the_documented_switch(prod_run: ProgramRun) -> None:
    # The model refuses what AWS refuses: prod alone on a fresh account has no logging role...
    with pytest.raises(StageRefused, match="CloudWatch Logs role ARN must be set"):
        ApiGatewayAccountSetting().deploy(prod_run)
    # ...until the stack takes the setting over, as Pulumi.prod.yaml's comment and the README say.
    owning = run_program("prod", stack_config("prod", overrides={"agentcore-streaming:manageApiGatewayAccount": True}))
    account = ApiGatewayAccountSetting()
    account.deploy(owning)
    assert account.logging_works()


def test_the_owned_setting_and_its_role_outlive_the_stack(dev_run: ProgramRun) -> None:
    account = dev_run.one(ACCOUNT)
    role = _role_of(dev_run, account)
    assert account.retain_on_delete and role.retain_on_delete
    policy = next(p for p in dev_run.of_type(ROLE_POLICY) if p.inputs["role"] == f"{role.name}-id")
    assert policy.retain_on_delete  # a retained role without its policy could not write logs


# --- defect 6: alarms that reach no one ------------------------------------------------------


def test_a_production_stack_without_alarm_email_warns_at_preview(prod_run: ProgramRun, dev_run: ProgramRun) -> None:
    # pulumi.log.warn reaches the engine, which prints it at preview and up.
    assert len(prod_run.warnings) == 1
    assert "agentcore-streaming:alarmEmail" in prod_run.warnings[0] and "reach no one" in prod_run.warnings[0]
    assert "pulumi config set alarmEmail" in prod_run.warnings[0]
    assert dev_run.warnings == []


def test_alarm_email_or_no_alarms_means_no_warning() -> None:
    # The same rule as above, without running the program again: parse_settings + settings_warnings.
    def warnings_for(stack: str, overrides: dict) -> list[str]:
        values = stack_config(stack, overrides=overrides)
        return settings_warnings(parse_settings("agentcore-streaming", stack, values))

    assert len(warnings_for("prod", {})) == 1
    assert warnings_for("prod", {"agentcore-streaming:alarmEmail": "ops@example.com"}) == []
    assert warnings_for("prod", {"agentcore-streaming:observabilityEnabled": False}) == []
    # dev has no alarms at all, so nothing is missing there.
    assert warnings_for("dev", {}) == []


# --- defect 7: deploy again after destroy ----------------------------------------------------

# Name fields AWS keeps unique per account and region for each type the program may retain.
# (A Cognito user pool's name need not be unique, so a retained pool never blocks a new one.)
UNIQUE_NAME_FIELDS = {LOG_GROUP: "name", MEMORY: "name", BUCKET: "bucket"}


def physical_names(run: ProgramRun, *, retained_only: bool) -> set[tuple[str, str]]:
    return {
        (resource.type, resource.state[UNIQUE_NAME_FIELDS[resource.type]])
        for resource in run.resources
        if resource.type in UNIQUE_NAME_FIELDS and (resource.retain_on_delete or not retained_only)
    }


def test_prod_deploys_again_after_destroy_next_to_what_it_retained(prod_run: ProgramRun) -> None:
    # What `pulumi destroy` leaves behind (protected stateful resources are retained)...
    left_behind = physical_names(prod_run, retained_only=True)
    assert {kind for kind, _ in left_behind} == {LOG_GROUP, MEMORY, BUCKET}
    # ...must not hold a name the next deployment of the same stack creates.
    again = run_program("prod", stack_config("prod"), generation=2)
    assert not left_behind & physical_names(again, retained_only=False)


def test_memory_name_keeps_agentcore_rules_with_its_suffix(prod_run: ProgramRun) -> None:
    memory = prod_run.one(MEMORY)
    suffix = prod_run.one("random:index/randomId:RandomId")
    assert memory.inputs["name"].endswith(f"_{suffix.state['hex']}")
    assert suffix.parent == next(r.urn for r in prod_run.resources if r.type.endswith(":AgentMemory"))
    # A long stack name still leaves room for the suffix (the base is cut and hashed).
    base = agentcore_name("agentcore-streaming", "a-very-long-stack-name-for-a-feature-branch", "memory",
                          max_length=NAME_BASE_MAX_LENGTH)
    assert AGENTCORE_NAME_PATTERN.fullmatch(f"{base}_{suffix.state['hex']}")
    assert len(f"{base}_{suffix.state['hex']}") == AGENTCORE_NAME_MAX


# --- defect 4: the first model call, and where the agent's logs are ------------------------


def test_the_runtime_role_gets_no_marketplace_rights(stack_run: ProgramRun) -> None:
    # The Marketplace subscription is a one-time, account-wide step done by an administrator
    # (README, "First deploy on a fresh account"); the agent must not be able to subscribe the
    # account to paid products, or unsubscribe it.
    runtime_role = stack_run.one(RUNTIME).inputs["roleArn"].rsplit("/", 1)[1].removesuffix("-mock")
    actions = [
        action
        for policy in stack_run.of_type(ROLE_POLICY)
        if policy.inputs["role"] == f"{runtime_role}-id"
        for statement in json.loads(policy.inputs["policy"])["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]
    assert "bedrock:InvokeModelWithResponseStream" in actions
    assert not [action for action in actions if action.startswith("aws-marketplace:")]


def test_the_agents_log_group_is_exported(stack_run: ProgramRun) -> None:
    runtime_id = f"{stack_run.one(RUNTIME).inputs['agentRuntimeName']}-Mock123456"
    assert stack_run.outputs["agentLogGroup"] == f"/aws/bedrock-agentcore/runtimes/{runtime_id}-DEFAULT"
    # The runtime role may write exactly there.
    assert stack_run.outputs["agentLogGroup"].startswith("/aws/bedrock-agentcore/runtimes/")
    for key in ("proxyLogGroup", "apiAccessLogGroup"):
        assert stack_run.outputs[key] in {name for kind, name in physical_names(stack_run, retained_only=False)}
    assert ACCOUNT_ID in stack_run.outputs["runtimeArn"]
