"""AWS facts the program depends on, tested against mocks that behave like AWS.

The mocked account maps zone names to other zone ids and refuses an agent in a zone AgentCore does
not support (infra_harness); API Gateway's same-account IAM decision is modelled in iam_evaluation
from AWS's documents. Each test fails on the program as it was before these facts were checked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.support.iam_evaluation import Request, same_account_api_call_allowed, vpc_endpoint_allows
from tests.support.infra_harness import (
    ACCOUNT_ID,
    ACCOUNT_ZONES,
    AGENTCORE_ACCEPTED_ZONE_IDS,
    EXISTING_VPC_ID,
    ZONE_ID_BY_NAME,
    AwsRefusal,
    InfraMocks,
    ProgramRun,
    run_program,
    stack_config,
)
from pulumi.runtime import MockResourceArgs
from streaming_proxy.contract import parse_invoke_request
from streaming_shared.edge import SettingsError, load_settings

from components import policies, waf
from stack_config import regions
from stack_config.settings import PROJECT, parse_settings

ENDPOINT_POLICY = "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy"
REST_API_POLICY = "aws:apigateway/restApiPolicy:RestApiPolicy"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"


# --- defect 2: the PRIVATE API's resource policy no longer grants by itself -------------------


def _api_and_endpoint(run: ProgramRun) -> tuple[str, str]:
    api_id = f"{run.one('aws:apigateway/restApi:RestApi').name}-id"
    return f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:{api_id}", f"{run.one(VPC_ENDPOINT).name}-id"


def _invoke(api_arn: str, principal: str, source_vpce: str | None) -> Request:
    return Request(
        principal_arn=principal, account_id=ACCOUNT_ID, action="execute-api:Invoke",
        resource=f"{api_arn}/prod/POST/invoke",
        context={"aws:SourceVpce": source_vpce} if source_vpce else {},
    )


ROLE_WITHOUT_GRANT = f"arn:aws:iam::{ACCOUNT_ID}:role/batch-job"
ROLE_WITH_GRANT = f"arn:aws:iam::{ACCOUNT_ID}:role/chat-frontend"


def _identity_grant(api_arn: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{api_arn}/*/POST/invoke"},
    ]}


def test_the_policy_before_issue_9_let_any_role_of_the_account_in() -> None:
    # The resource policy the program deployed before: Allow Principal "*", deny other endpoints.
    api_arn, vpce = f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:abc123", "vpce-1"
    old_policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": f"{api_arn}/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": f"{api_arn}/*",
         "Condition": {"StringNotEquals": {"aws:SourceVpce": vpce}}},
    ]}
    assert same_account_api_call_allowed(old_policy, [], _invoke(api_arn, ROLE_WITHOUT_GRANT, vpce))


def test_prod_policy_refuses_a_role_without_an_identity_grant(prod_run: ProgramRun) -> None:
    api_arn, vpce = _api_and_endpoint(prod_run)
    policy = json.loads(prod_run.one(REST_API_POLICY).inputs["policy"])
    assert not same_account_api_call_allowed(policy, [], _invoke(api_arn, ROLE_WITHOUT_GRANT, vpce))
    # ... whatever else the role may do.
    unrelated = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    assert not same_account_api_call_allowed(policy, [unrelated], _invoke(api_arn, ROLE_WITHOUT_GRANT, vpce))


def test_prod_policy_admits_a_granted_role_only_through_its_endpoint(prod_run: ProgramRun) -> None:
    api_arn, vpce = _api_and_endpoint(prod_run)
    policy = json.loads(prod_run.one(REST_API_POLICY).inputs["policy"])
    grant = [_identity_grant(api_arn)]
    assert same_account_api_call_allowed(policy, grant, _invoke(api_arn, ROLE_WITH_GRANT, vpce))
    assert not same_account_api_call_allowed(policy, grant, _invoke(api_arn, ROLE_WITH_GRANT, "vpce-0someoneelse"))
    assert not same_account_api_call_allowed(policy, grant, _invoke(api_arn, ROLE_WITH_GRANT, None))
    # A grant on another API does not reach this one.
    other = [_identity_grant(f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:other")]
    assert not same_account_api_call_allowed(policy, other, _invoke(api_arn, ROLE_WITH_GRANT, vpce))


def test_prod_policy_allows_only_the_account_root_and_keeps_the_endpoint_deny(prod_run: ProgramRun) -> None:
    api_arn, vpce = _api_and_endpoint(prod_run)
    statements = json.loads(prod_run.one(REST_API_POLICY).inputs["policy"])["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allows] == [{"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}]
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": vpce}}


def test_without_iam_auth_a_private_api_must_admit_anonymous_callers_from_its_endpoint() -> None:
    # API key and Cognito callers are anonymous to IAM: only Principal "*" lets them reach the key
    # or token check, and the endpoint deny still holds.
    statements = policies.private_api_policy("arn:aws:execute-api:us-east-1:1:abc/*", "vpce-1")["Statement"]
    assert [s["Principal"] for s in statements if s["Effect"] == "Allow"] == ["*"]
    assert any(s["Effect"] == "Deny" and s["Condition"] for s in statements)


# --- defect 9: the execute-api endpoint carries calls to this API only ------------------------


def test_execute_api_endpoint_policy_is_scoped_to_this_api(prod_run: ProgramRun) -> None:
    api_arn, vpce = _api_and_endpoint(prod_run)
    endpoint_policy = prod_run.one(ENDPOINT_POLICY).inputs
    assert endpoint_policy["vpcEndpointId"] == vpce
    [statement] = json.loads(endpoint_policy["policy"])["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == f"{api_arn}/*"
    # No inline policy on the endpoint itself: that would need the API id, which needs the endpoint.
    assert "policy" not in prod_run.one(VPC_ENDPOINT).inputs
    policy = json.loads(endpoint_policy["policy"])
    anonymous = "arn:aws:sts::anonymous"  # how API Gateway sees a caller without a SigV4 signature
    for principal in (ROLE_WITH_GRANT, anonymous):
        assert vpc_endpoint_allows(policy, _invoke(api_arn, principal, vpce))
        other_api = f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:someoneselse"
        assert not vpc_endpoint_allows(policy, _invoke(other_api, principal, vpce))
        assert not vpc_endpoint_allows(policy, _invoke("arn:aws:execute-api:us-east-1:210987654321:x", principal, vpce))


# --- defect 1: agent zones by zone id ----------------------------------------------------------


def test_the_mocked_account_maps_its_first_zone_names_to_zones_agentcore_refuses() -> None:
    first_two = [zone_id for _name, zone_id in ACCOUNT_ZONES[:2]]
    assert not set(first_two) & set(AGENTCORE_ACCEPTED_ZONE_IDS)
    # So the old choice, awsx's first two names, is refused like AWS refuses it.
    mocks = InfraMocks()
    args = MockResourceArgs("awsx:ec2:Vpc", "network-vpc", {"numberOfAvailabilityZones": 2}, "", "", None, False)
    outputs = mocks._new_vpc(args)
    runtime_inputs = {"networkConfiguration": {"networkModeConfig": {"subnets": outputs["privateSubnetIds"]}}}
    with pytest.raises(AwsRefusal, match="unsupported availability zones.*use1-az6"):
        mocks._check_agent_subnets(runtime_inputs)


def test_new_vpc_puts_the_agent_in_zones_agentcore_supports(prod_run: ProgramRun) -> None:
    names = prod_run.one("awsx:ec2:Vpc").inputs["availabilityZoneNames"]
    assert "numberOfAvailabilityZones" not in prod_run.one("awsx:ec2:Vpc").inputs
    assert len(names) == 2 and len(set(names)) == 2
    assert all(ZONE_ID_BY_NAME[name] in AGENTCORE_ACCEPTED_ZONE_IDS for name in names)


def test_existing_subnet_in_an_unsupported_zone_is_refused_naming_subnet_zone_and_supported_ids() -> None:
    with pytest.raises(SettingsError) as error:
        run_program("prod", stack_config("prod", overrides={
            "agentcore-streaming:vpcId": EXISTING_VPC_ID,
            "agentcore-streaming:subnetIds": ["subnet-0x", "subnet-0wrongzone"],
        }))
    message = str(error.value)
    assert "agentcore-streaming:subnetIds" in message
    assert "subnet-0wrongzone" in message and "us-east-1a" in message and "use1-az6" in message
    assert "use1-az1, use1-az2, use1-az4" in message
    assert "subnet-0x " not in message


def test_existing_subnet_of_another_vpc_is_refused() -> None:
    with pytest.raises(SettingsError, match="subnet-0othervpc belongs to vpc-0other, not vpcId vpc-0existing"):
        run_program("prod", stack_config("prod", overrides={
            "agentcore-streaming:vpcId": EXISTING_VPC_ID,
            "agentcore-streaming:subnetIds": ["subnet-0othervpc"],
        }))


def test_zones_do_not_matter_when_only_the_api_endpoint_uses_the_vpc() -> None:
    placement = regions.SubnetPlacement("subnet-1", "vpc-1", regions.Zone("us-east-1a", "use1-az6"))
    assert regions.subnet_problems([placement], "vpc-1", None) == []
    assert regions.subnet_problems([placement], "vpc-1", ("use1-az1",))


def test_zone_choice_follows_the_table_not_the_account_s_order() -> None:
    # The same ids whatever order EC2 lists the zones in, so a later preview never moves the subnets.
    zones = [regions.Zone(name, zone_id) for name, zone_id in ACCOUNT_ZONES]
    supported = ("use1-az1", "use1-az2", "use1-az4")
    chosen = regions.choose_agent_zones(zones, supported, 2)
    assert [z.zone_id for z in chosen] == ["use1-az1", "use1-az2"]
    assert regions.choose_agent_zones(list(reversed(zones)), supported, 2) == chosen


def test_too_few_supported_zones_is_a_clear_error() -> None:
    zones = [regions.Zone("us-east-1a", "use1-az6"), regions.Zone("us-east-1b", "use1-az1")]
    with pytest.raises(ValueError, match=r"needs 2 available zones.*use1-az1, use1-az2, use1-az4.*us-east-1a \(use1-az6\)"):
        regions.choose_agent_zones(zones, ("use1-az1", "use1-az2", "use1-az4"), 2)


# --- defect 8: an existing VPC's subnets need a way out ---------------------------------------


def test_existing_subnets_without_nat_are_reported_at_preview() -> None:
    run = run_program("prod", stack_config("prod", overrides={
        "agentcore-streaming:vpcId": EXISTING_VPC_ID,
        "agentcore-streaming:subnetIds": ["subnet-0x", "subnet-0isolated", "subnet-0public", "subnet-0s3only"],
    }))
    # What pulumi.log.warn sent to the engine (shown by `pulumi preview`), as the harness recorded it.
    warnings = "\n".join(run.warnings)
    # subnet-0isolated uses the VPC's main table (local route only); subnet-0public's default route
    # is an internet gateway, useless to AgentCore's interfaces, which get no public address.
    assert "subnet-0isolated has neither a NAT default route nor an S3 gateway endpoint" in warnings
    assert "subnet-0public has neither a NAT default route" in warnings
    assert "subnet-0s3only has an S3 gateway endpoint but no NAT default route" in warnings
    assert "subnet-0x has" not in warnings
    assert "bedrock-runtime" in warnings


def test_new_vpc_keeps_a_nat_gateway_for_its_private_subnets(prod_run: ProgramRun) -> None:
    # awsx routes each private subnet's default route through the NAT gateway(s) it creates.
    assert prod_run.one("awsx:ec2:Vpc").inputs["natGateways"] == {"strategy": "Single"}


# --- defect 10: region and model id -------------------------------------------------------------


def _values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict(stack_config("dev"))
    for key, value in overrides.items():
        values[key if ":" in key else f"{PROJECT}:{key}"] = value
    return values


def test_a_region_without_agentcore_runtime_is_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(SettingsError) as error:
        parse_settings(PROJECT, "dev", _values(**{"aws:region": "af-south-1", "modelId": "global.anthropic.x"}))
    message = str(error.value)
    assert message.startswith("aws:region") and "'af-south-1'" in message
    assert "us-east-1" in message and "eu-central-1" in message


def test_memory_outside_agentcore_memory_regions_is_refused() -> None:
    with pytest.raises(SettingsError) as error:
        parse_settings(PROJECT, "dev", _values(**{"aws:region": "eu-south-1", "modelId": "eu.anthropic.x",
                                                   "memoryEnabled": "true"}))
    message = str(error.value)
    assert "agentcore-streaming:memoryEnabled" in message and "'eu-south-1'" in message
    assert "eu-central-1" in message


def test_vpc_mode_in_a_region_without_known_zone_ids_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"agentcore-streaming:agentNetworkMode.*'us-west-1'"):
        parse_settings(PROJECT, "dev", _values(**{"aws:region": "us-west-1", "agentNetworkMode": "VPC"}))


def test_us_profile_in_an_eu_region_is_refused_naming_model_and_region() -> None:
    with pytest.raises(SettingsError) as error:
        parse_settings(PROJECT, "dev", _values(**{"aws:region": "eu-west-1",
                                                   "modelId": "us.anthropic.claude-haiku-4-5-20251001-v1:0"}))
    message = str(error.value)
    assert "agentcore-streaming:modelId" in message and "aws:region" in message
    assert "'us.anthropic.claude-haiku-4-5-20251001-v1:0'" in message and "'eu-west-1'" in message
    assert "eu." in message and "global." in message


@pytest.mark.parametrize(("region", "model_id"), [
    ("eu-west-1", "eu.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("eu-west-1", "global.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("ap-northeast-1", "jp.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("ap-northeast-1", "apac.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("ap-southeast-2", "au.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("ca-central-1", "ca.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("us-gov-west-1", "us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0"),
    ("us-east-2", "anthropic.claude-3-haiku-20240307-v1:0"),
])
def test_profiles_of_the_region_s_geography_are_accepted(region: str, model_id: str) -> None:
    settings = parse_settings(PROJECT, "dev", _values(**{"aws:region": region, "modelId": model_id}))
    assert (settings.region, settings.model_id) == (region, model_id)


@pytest.mark.parametrize(("region", "model_id"), [
    ("us-east-1", "apac.anthropic.x"), ("ap-northeast-2", "jp.anthropic.x"), ("us-gov-west-1", "us.anthropic.x"),
    ("us-east-1", "us-gov.anthropic.x"), ("eu-central-1", "us.anthropic.x"),
])
def test_profiles_of_another_geography_are_refused(region: str, model_id: str) -> None:
    with pytest.raises(SettingsError, match="agentcore-streaming:modelId"):
        parse_settings(PROJECT, "dev", _values(**{"aws:region": region, "modelId": model_id}))


def test_every_region_with_zone_ids_runs_agentcore() -> None:
    assert set(regions.AGENTCORE_VPC_ZONE_IDS) <= set(regions.AGENTCORE_RUNTIME_REGIONS)
    assert set(regions.AGENTCORE_MEMORY_REGIONS) <= set(regions.AGENTCORE_RUNTIME_REGIONS)
    assert regions.vpc_zone_ids("us-east-1") == ("use1-az1", "use1-az2", "use1-az4")


# --- defect 3: WAF's 8 KB body rule against the proxy's prompt limit ------------------------


def test_a_prompt_the_proxy_accepts_can_exceed_the_waf_body_rule_so_the_rule_only_counts(prod_run: ProgramRun) -> None:
    max_prompt_chars = 8000  # Pulumi.yaml default and prod's value
    proxy = load_settings({"AGENT_RUNTIME_ARN": "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/a_b-0123456789",
                           "PROXY_MAX_PROMPT_CHARS": str(max_prompt_chars)})
    # Quotes and newlines double in JSON, non-ASCII text takes 2-4 bytes, \u escapes 6-12.
    for prompt in ('"' * max_prompt_chars, "é" * max_prompt_chars, "\n" * (max_prompt_chars - 1) + "x"):
        body = json.dumps({"prompt": prompt}, ensure_ascii=False).encode("utf-8")
        assert parse_invoke_request(body, max_prompt_chars).prompt == prompt
        assert waf.WAF_SIZE_RESTRICTION_BODY_BYTES < len(body) <= proxy.max_body_bytes
    [common] = [r for r in prod_run.one(WEB_ACL).inputs["rules"]
                if r["statement"].get("managedRuleGroupStatement", {}).get("name") == "AWSManagedRulesCommonRuleSet"]
    overrides = common["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"]
    assert overrides == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]
    # Only that rule is relaxed: the group itself still blocks.
    assert common["overrideAction"] == {"none": {}}


def test_waf_body_limit_is_8_kb() -> None:
    assert waf.WAF_SIZE_RESTRICTION_BODY_BYTES == 8192
