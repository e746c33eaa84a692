"""customDomain (issue 13): REGIONAL with a certificate, REGIONAL with a hosted zone (certificate,
validation, alias), PRIVATE with its access association, and the stacks without one.

Three extra program runs, one per shape, shared by the module's tests. Building the two zips is
nearly all of a run's time and the zips do not depend on the domain, so these runs build them once
(the builds are deterministic: the same tree gives the same bytes; tests/packager/test_artifacts.py
checks the builds themselves).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.iam_evaluation import DomainCall, private_domain_call_allowed
from tests.support.infra_harness import (
    ACCOUNT_ID,
    MOCK_CERTIFICATE_UUID,
    MOCK_DOMAIN_NAME_ID,
    PROJECT,
    ProgramRun,
    RecordedResource,
    run_program,
    stack_config,
)

import components.agent_runtime
import packager.artifacts
from components import policies
from stack_config.domain_names import SECURITY_POLICY, parse_custom_domain
from components.private_access import regional_dns_entry
from stack_config.settings import parse_settings
from streaming_shared.edge import SettingsError
from tests.support.policy_runs import evaluate, from_recorded_run

DOMAIN_NAME = "aws:apigateway/domainName:DomainName"
MAPPING = "aws:apigateway/basePathMapping:BasePathMapping"
ASSOCIATION = "aws:apigateway/domainNameAccessAssociation:DomainNameAccessAssociation"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
REST_API = "aws:apigateway/restApi:RestApi"
STAGE = "aws:apigateway/stage:Stage"
DEPLOYMENT = "aws:apigateway/deployment:Deployment"
ENDPOINT_POLICY = "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy"
REST_API_POLICY = "aws:apigateway/restApiPolicy:RestApiPolicy"
DOMAIN_TYPES = (DOMAIN_NAME, MAPPING, ASSOCIATION, CERTIFICATE, VALIDATION, RECORD)

CERTIFICATE_ARN = f"arn:aws:acm:us-east-1:123456789012:certificate/{MOCK_CERTIFICATE_UUID}"
OTHER_REGION_CERTIFICATE = "arn:aws:acm:us-west-2:123456789012:certificate/11111111-2222-3333-4444-555555555555"
PUBLIC_ZONE = "Z0PUBLIC0123456789"
PRIVATE_ZONE = "Z0PRIVATE012345678"


def run_with(stack: str, **overrides: Any) -> ProgramRun:
    return run_program(stack, stack_config(stack, overrides={f"{PROJECT}:{k}": v for k, v in overrides.items()}))


@pytest.fixture(scope="module", autouse=True)
def zips_built_once() -> Iterator[None]:
    # __main__.py imports these names from their modules at each run, so the patch reaches it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(packager.artifacts, "build_proxy_zip", functools.cache(packager.artifacts.build_proxy_zip))
        patch.setattr(components.agent_runtime, "agent_artifact", functools.cache(components.agent_runtime.agent_artifact))
        yield


@pytest.fixture(scope="module")
def regional_with_certificate() -> ProgramRun:
    return run_with("dev", customDomain={"name": "Chat.Example.com", "certificateArn": CERTIFICATE_ARN},
                    disableExecuteApiEndpoint=True)


@pytest.fixture(scope="module")
def regional_with_zone() -> ProgramRun:
    return run_with("dev", customDomain={"name": "api.example.com", "hostedZoneId": f"/hostedzone/{PUBLIC_ZONE}"})


@pytest.fixture(scope="module")
def private_with_zone() -> ProgramRun:
    # prod: PRIVATE, IAM, and disableExecuteApiEndpoint true in its stack file.
    return run_with("prod", customDomain={"name": "agent.internal.example.com", "certificateArn": CERTIFICATE_ARN,
                                          "hostedZoneId": PRIVATE_ZONE})


def stage_target(run: ProgramRun) -> tuple[str, str]:
    stage = run.one(STAGE)
    return stage.inputs["restApi"], stage.inputs["stageName"]


def execute_api_url(run: ProgramRun) -> str:
    api_id, stage_name = stage_target(run)
    return f"https://{api_id}.execute-api.us-east-1.amazonaws.com/{stage_name}"


def assert_maps_this_stage_at_the_root(run: ProgramRun, mapping: RecordedResource) -> None:
    api_id, stage_name = stage_target(run)
    assert (mapping.inputs["restApi"], mapping.inputs["stageName"]) == (api_id, stage_name)
    assert not mapping.inputs.get("basePath")  # the stage at https://<name>/, so <name>/invoke works


# --- without a custom domain ------------------------------------------------------------------


def test_stacks_without_a_domain_create_none_and_keep_the_execute_api_url(stack_run: ProgramRun) -> None:
    assert not [r.name for r in stack_run.resources if r.type in DOMAIN_TYPES]
    # The REST API is registered as before the setting existed (its deployment is therefore unchanged).
    assert "disableExecuteApiEndpoint" not in stack_run.one(REST_API).inputs
    assert stack_run.outputs["apiUrl"] == execute_api_url(stack_run)
    assert stack_run.outputs["invokeUrl"] == f"{execute_api_url(stack_run)}/invoke"
    assert stack_run.outputs["restApiId"] == stage_target(stack_run)[0]
    assert not {"executeApiUrl", "customDomainName", "customDomainTarget"} & set(stack_run.outputs)


def test_a_domain_adds_its_own_resources_and_leaves_the_others_as_they_were(
    dev_run: ProgramRun, regional_with_zone: ProgramRun
) -> None:
    before = {r.urn: r.inputs for r in dev_run.resources}
    after = {r.urn: r.inputs for r in regional_with_zone.resources}
    assert set(before) <= set(after)
    changed = {urn.rsplit("::", 1)[1] for urn in before if before[urn] != after[urn] and "asset" not in str(before[urn])}
    # Only the REST API (the explicit endpoint flag) and, through its hash, the deployment.
    assert changed == {"api-api", "api-deployment"}
    added = {r.type for r in regional_with_zone.resources if r.urn not in before}
    assert added == {*DOMAIN_TYPES, "agentcore-streaming:custom_domain:CustomDomainName"} - {ASSOCIATION}


# --- REGIONAL, with a certificate -------------------------------------------------------------


def test_regional_domain_uses_the_given_certificate_and_tls_1_2(regional_with_certificate: ProgramRun) -> None:
    domain = regional_with_certificate.one(DOMAIN_NAME)
    assert domain.inputs["domainName"] == "chat.example.com"  # DNS names are case-insensitive
    assert domain.inputs["endpointConfiguration"]["types"] == "REGIONAL"
    assert domain.inputs["regionalCertificateArn"] == CERTIFICATE_ARN
    assert domain.inputs["securityPolicy"] == SECURITY_POLICY == "TLS_1_2"
    assert "certificateArn" not in domain.inputs and "policy" not in domain.inputs
    assert not regional_with_certificate.of_type(CERTIFICATE) and not regional_with_certificate.of_type(RECORD)
    assert_maps_this_stage_at_the_root(regional_with_certificate, regional_with_certificate.one(MAPPING))


def test_regional_domain_becomes_the_url_users_call(regional_with_certificate: ProgramRun) -> None:
    outputs = regional_with_certificate.outputs
    assert outputs["apiUrl"] == "https://chat.example.com"
    assert outputs["invokeUrl"] == "https://chat.example.com/invoke"
    assert outputs["executeApiUrl"] == execute_api_url(regional_with_certificate)
    assert outputs["executeApiEnabled"] is False
    # No hosted zone given: the outputs say where the user's DNS record must point.
    domain = regional_with_certificate.one(DOMAIN_NAME)
    assert outputs["customDomainTarget"] == domain.state["regionalDomainName"]
    assert outputs["customDomainTargetZoneId"] == domain.state["regionalZoneId"]


def test_disabling_the_default_endpoint_redeploys_the_stage(
    regional_with_certificate: ProgramRun, regional_with_zone: ProgramRun
) -> None:
    assert regional_with_certificate.one(REST_API).inputs["disableExecuteApiEndpoint"] is True
    # Explicitly false (not left out) with a domain, so turning it off again reaches AWS.
    assert regional_with_zone.one(REST_API).inputs["disableExecuteApiEndpoint"] is False
    # API Gateway applies the flag with the next deployment: a change of it must make one.
    hashes = {run.one(DEPLOYMENT).inputs["triggers"]["redeployment"]
              for run in (regional_with_certificate, regional_with_zone)}
    assert len(hashes) == 2


# --- REGIONAL, with a hosted zone: certificate, validation, alias -----------------------------


def test_hosted_zone_without_certificate_requests_and_validates_one(regional_with_zone: ProgramRun) -> None:
    certificate = regional_with_zone.one(CERTIFICATE)
    assert certificate.inputs == {"domainName": "api.example.com", "validationMethod": "DNS"}
    option = certificate.state["domainValidationOptions"][0]
    validation_record = regional_with_zone.named("domain-certificate-validation-record")
    assert validation_record.inputs["zoneId"] == PUBLIC_ZONE  # "/hostedzone/" prefix removed
    assert (validation_record.inputs["name"], validation_record.inputs["type"], validation_record.inputs["records"]) == (
        option["resourceRecordName"], option["resourceRecordType"], [option["resourceRecordValue"]])
    validation = regional_with_zone.one(VALIDATION)
    assert validation.inputs["certificateArn"] == certificate.state["arn"]
    assert validation.inputs["validationRecordFqdns"] == [validation_record.state["fqdn"]]
    # The domain takes the ARN from the validation, so it is created only once ACM has issued it.
    domain = regional_with_zone.one(DOMAIN_NAME)
    assert domain.inputs["regionalCertificateArn"] == certificate.state["arn"]
    assert validation.urn in domain.depends_on


def test_hosted_zone_gets_an_alias_record_to_the_regional_domain(regional_with_zone: ProgramRun) -> None:
    domain = regional_with_zone.one(DOMAIN_NAME)
    alias = regional_with_zone.named("domain-alias-a")
    assert (alias.inputs["zoneId"], alias.inputs["name"], alias.inputs["type"]) == (PUBLIC_ZONE, "api.example.com", "A")
    assert alias.inputs["aliases"] == [{"name": domain.state["regionalDomainName"],
                                        "zoneId": domain.state["regionalZoneId"], "evaluateTargetHealth": False}]
    assert len(regional_with_zone.of_type(RECORD)) == 2  # the validation record and this alias, nothing else
    assert "customDomainTarget" not in regional_with_zone.outputs  # the program made the record itself
    assert_maps_this_stage_at_the_root(regional_with_zone, regional_with_zone.one(MAPPING))


# --- PRIVATE, with its access association -----------------------------------------------------


def test_private_domain_admits_only_the_stacks_vpc_endpoint(private_with_zone: ProgramRun) -> None:
    domain = private_with_zone.one(DOMAIN_NAME)
    assert domain.inputs["endpointConfiguration"]["types"] == "PRIVATE"
    assert domain.inputs["certificateArn"] == CERTIFICATE_ARN and "regionalCertificateArn" not in domain.inputs
    assert domain.inputs["securityPolicy"] == "TLS_1_2"
    statements = {s["Sid"]: s for s in json.loads(domain.inputs["policy"])["Statement"]}
    endpoint_id = private_with_zone.outputs["vpcEndpointId"]
    assert statements["DenyEveryOtherSource"] == {
        "Sid": "DenyEveryOtherSource", "Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
        "Resource": ["execute-api:/*"], "Condition": {"StringNotEquals": {"aws:SourceVpce": endpoint_id}},
    }
    assert statements["InvokeThroughTheDomain"]["Effect"] == "Allow"


def test_private_domain_is_associated_with_this_vpc_endpoint_and_mapped_by_id(private_with_zone: ProgramRun) -> None:
    domain = private_with_zone.one(DOMAIN_NAME)
    association = private_with_zone.one(ASSOCIATION)
    assert association.inputs == {"domainNameArn": domain.state["arn"], "accessAssociationSourceType": "VPCE",
                                  "accessAssociationSource": private_with_zone.outputs["vpcEndpointId"]}
    mapping = private_with_zone.one(MAPPING)
    assert mapping.inputs["domainNameId"] == domain.state["domainNameId"]
    assert mapping.inputs["domainName"] == "agent.internal.example.com"
    assert_maps_this_stage_at_the_root(private_with_zone, mapping)
    assert not private_with_zone.of_type(CERTIFICATE)


def test_private_zone_gets_an_alias_to_the_endpoints_regional_name(private_with_zone: ProgramRun) -> None:
    endpoint_id = private_with_zone.outputs["vpcEndpointId"]
    alias = private_with_zone.one(RECORD)
    assert (alias.inputs["zoneId"], alias.inputs["name"], alias.inputs["type"]) == (
        PRIVATE_ZONE, "agent.internal.example.com", "A")
    # The regional name, not one zone's (which would fail with that zone) nor the private DNS name.
    assert alias.inputs["aliases"][0]["name"] == f"{endpoint_id}.execute-api.us-east-1.vpce.amazonaws.com"


def test_private_api_keeps_its_execute_api_endpoint(private_with_zone: ProgramRun) -> None:
    assert private_with_zone.one(REST_API).inputs["disableExecuteApiEndpoint"] is False
    outputs = private_with_zone.outputs
    assert outputs["executeApiEnabled"] is True
    assert outputs["apiUrl"] == "https://agent.internal.example.com"
    assert outputs["invokeUrl"] == "https://agent.internal.example.com/invoke"
    assert "customDomainTarget" not in outputs


# --- PRIVATE: the VPC endpoint's policy lets a call through the domain in ----------------------

# The domain's execute-api ARN as the Service Authorization Reference spells it (execute-api-domain:
# arn:${Partition}:execute-api:${Region}:${Account}:/domainnames/${DomainName}+${DomainIdentifier}),
# with the id API Gateway gave the mocked domain.
PRIVATE_DOMAIN = "agent.internal.example.com"
PRIVATE_DOMAIN_ARN = f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:/domainnames/{PRIVATE_DOMAIN}+{MOCK_DOMAIN_NAME_ID}"
ROLE_WITH_GRANT = f"arn:aws:iam::{ACCOUNT_ID}:role/chat-frontend"
ROLE_WITHOUT_GRANT = f"arn:aws:iam::{ACCOUNT_ID}:role/batch-job"


def _private_domain_policies(run: ProgramRun) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The endpoint's, the domain name's and the API's policies, as the program deployed them."""
    return (json.loads(run.one(ENDPOINT_POLICY).inputs["policy"]),
            json.loads(run.one(DOMAIN_NAME).inputs["policy"]),
            json.loads(run.one(REST_API_POLICY).inputs["policy"]))


def _call(run: ProgramRun, principal: str = ROLE_WITH_GRANT, *, domain_arn: str = PRIVATE_DOMAIN_ARN,
          api_id: str | None = None, source_vpce: str | None = None) -> DomainCall:
    api_id = api_id or stage_target(run)[0]
    return DomainCall(
        principal_arn=principal, account_id=ACCOUNT_ID, domain_arn=domain_arn,
        api_resource=f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:{api_id}/prod/POST/invoke",
        source_vpce=source_vpce or run.outputs["vpcEndpointId"],
    )


def _grant(run: ProgramRun) -> list[dict[str, Any]]:
    """The caller's identity policy: invoke POST /invoke on this API (prod authenticates with IAM)."""
    api_arn = run.one(REST_API).state["executionArn"]
    return [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{api_arn}/*/POST/invoke"},
    ]}]


def test_private_domain_endpoint_policy_allows_the_domain_and_its_api_and_nothing_more(
    private_with_zone: ProgramRun
) -> None:
    endpoint_policy, _, _ = _private_domain_policies(private_with_zone)
    api_arn = private_with_zone.one(REST_API).state["executionArn"]
    statements = endpoint_policy["Statement"]
    assert all(s["Effect"] == "Allow" and s["Principal"] == "*" and s["Action"] == "execute-api:Invoke"
               and "Condition" not in s for s in statements)
    granted = [resource for s in statements for resource in ([s["Resource"]] if isinstance(s["Resource"], str)
                                                             else s["Resource"])]
    assert sorted(granted) == sorted([f"{api_arn}/*", PRIVATE_DOMAIN_ARN])
    # The ARN is the domain name's own, from the id API Gateway gave it (the domain resource's ARN
    # is the apigateway one, for management calls, and is not what execute-api:Invoke names).
    domain_state = private_with_zone.one(DOMAIN_NAME).state
    assert domain_state["arn"].split(":", 5)[5] == PRIVATE_DOMAIN_ARN.split(":", 5)[5]
    assert PRIVATE_DOMAIN_ARN not in json.dumps(private_with_zone.one(ASSOCIATION).inputs)


def test_a_call_through_the_private_domain_passes_every_policy(private_with_zone: ProgramRun) -> None:
    endpoint_policy, domain_policy, api_policy = _private_domain_policies(private_with_zone)
    grant = _grant(private_with_zone)
    assert private_domain_call_allowed(endpoint_policy, domain_policy, api_policy, grant, _call(private_with_zone))
    # IAM still decides who: a role of the account without a grant stays out.
    assert not private_domain_call_allowed(endpoint_policy, domain_policy, api_policy, [],
                                           _call(private_with_zone, ROLE_WITHOUT_GRANT))
    # Only from this endpoint.
    assert not private_domain_call_allowed(endpoint_policy, domain_policy, api_policy, grant,
                                           _call(private_with_zone, source_vpce="vpce-0someoneelse"))


def test_the_endpoint_carries_no_other_domain_and_no_other_api(private_with_zone: ProgramRun) -> None:
    endpoint_policy, domain_policy, api_policy = _private_domain_policies(private_with_zone)
    # The same name with another id (another account's domain, or this one after it was recreated).
    other_domain = PRIVATE_DOMAIN_ARN.replace(f"+{MOCK_DOMAIN_NAME_ID}", "+zz9yy8xx7w")
    # A grant on everything, so only the endpoint's policy can refuse.
    everything = [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}]
    assert not private_domain_call_allowed(endpoint_policy, domain_policy, api_policy, everything,
                                           _call(private_with_zone, domain_arn=other_domain))
    assert not private_domain_call_allowed(endpoint_policy, domain_policy, api_policy, everything,
                                           _call(private_with_zone, api_id="otherapi01"))


def test_the_endpoint_policy_of_the_api_alone_refuses_a_call_through_the_domain(
    private_with_zone: ProgramRun
) -> None:
    # The policy the program gave the endpoint before: this API's execution ARN and nothing else.
    # AWS checks the domain name's own ARN too, so every call through the domain was refused.
    _, domain_policy, api_policy = _private_domain_policies(private_with_zone)
    api_arn = private_with_zone.one(REST_API).state["executionArn"]
    api_only = policies.execute_api_endpoint_policy(f"{api_arn}/*")
    assert not private_domain_call_allowed(api_only, domain_policy, api_policy, _grant(private_with_zone),
                                           _call(private_with_zone))


def test_the_model_admits_awss_own_examples_and_only_for_their_domain(private_with_zone: ProgramRun) -> None:
    # "Use VPC endpoint policies for private APIs", example 4 (any API, through this domain only) and
    # example 5 (this domain and this API by ARN), written for the stack's domain and API.
    _, domain_policy, api_policy = _private_domain_policies(private_with_zone)
    api_arn = private_with_zone.one(REST_API).state["executionArn"]

    def example_4(domain_arn: str) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "execute-api:Invoke", "Resource": ["*"],
            "Condition": {"ArnEquals": {"execute-api:viaDomainArn": domain_arn}}}]}

    def example_5(domain_arn: str) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "execute-api:Invoke",
            "Resource": [domain_arn, f"{api_arn}/*"]}]}

    other_domain = PRIVATE_DOMAIN_ARN.replace(PRIVATE_DOMAIN, "other.internal.example.com")
    grant = _grant(private_with_zone)
    for example in (example_4, example_5):
        assert private_domain_call_allowed(example(PRIVATE_DOMAIN_ARN), domain_policy, api_policy, grant,
                                           _call(private_with_zone))
        assert not private_domain_call_allowed(example(other_domain), domain_policy, api_policy, grant,
                                               _call(private_with_zone))


def test_policy_pack_passes_with_a_domain(private_with_zone: ProgramRun, regional_with_certificate: ProgramRun) -> None:
    assert evaluate(from_recorded_run(private_with_zone.resources)).findings == []
    assert evaluate(from_recorded_run(regional_with_certificate.resources)).findings == []


def test_regional_dns_entry_is_the_shortest_vpce_name() -> None:
    entries = [
        {"dnsName": "vpce-1-abc-us-east-1a.execute-api.us-east-1.vpce.amazonaws.com", "hostedZoneId": "Z1"},
        {"dns_name": "vpce-1-abc.execute-api.us-east-1.vpce.amazonaws.com", "hosted_zone_id": "Z2"},
        {"dnsName": "execute-api.us-east-1.amazonaws.com", "hostedZoneId": "Z3"},
    ]
    assert regional_dns_entry(entries) == ("vpce-1-abc.execute-api.us-east-1.vpce.amazonaws.com", "Z2")
    with pytest.raises(ValueError):
        regional_dns_entry(entries[2:])


# --- settings errors --------------------------------------------------------------------------


def values(stack: str = "dev", **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = dict(stack_config(stack))
    config.update({f"{PROJECT}:{key}": value for key, value in overrides.items()})
    return config


@pytest.mark.parametrize(
    ("domain", "stack", "key", "fragments"),
    [
        ({"name": "localhost", "certificateArn": CERTIFICATE_ARN}, "dev", "customDomain.name",
         ["'localhost'", "fully qualified host name"]),
        ({"name": "*.example.com", "certificateArn": CERTIFICATE_ARN}, "dev", "customDomain.name", ["no wildcard"]),
        ({"name": "-api.example.com", "certificateArn": CERTIFICATE_ARN}, "dev", "customDomain.name", ["no hyphen"]),
        ({"name": "x.execute-api.us-east-1.amazonaws.com", "certificateArn": CERTIFICATE_ARN}, "dev",
         "customDomain.name", ["not an AWS host name"]),
        ({"name": 7, "certificateArn": CERTIFICATE_ARN}, "dev", "customDomain.name", ["got 7"]),
        ({"certificateArn": CERTIFICATE_ARN}, "dev", "customDomain.name", ["is missing"]),
        ({"name": "api.example.com", "certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}, "dev",
         "customDomain.certificateArn", ["arn:aws:acm:<region>", "server-certificate"]),
        ({"name": "api.example.com", "certificateArn": OTHER_REGION_CERTIFICATE}, "dev",
         "customDomain.certificateArn", ["'us-west-2'", "aws:region 'us-east-1'", "REGIONAL"]),
        ({"name": "api.example.com", "hostedZoneId": "zone-1"}, "dev", "customDomain.hostedZoneId",
         ["'zone-1'", "Route 53 hosted zone id"]),
        ({"name": "api.example.com", "certificateArn": CERTIFICATE_ARN, "basePath": "v1"}, "dev",
         "customDomain.basePath", ["not a customDomain field", "name, certificateArn, hostedZoneId"]),
        ({"name": "api.example.com"}, "dev", "customDomain", ["needs certificateArn", "or hostedZoneId"]),
        ({"name": "agent.example.com", "hostedZoneId": PRIVATE_ZONE}, "prod", "customDomain.certificateArn",
         ["required for a PRIVATE API"]),
        ({"name": "agent.example.com", "certificateArn": OTHER_REGION_CERTIFICATE}, "prod",
         "customDomain.certificateArn", ["'us-west-2'", "PRIVATE"]),
        ('["api.example.com"]', "dev", "customDomain", ["must be an object with name, certificateArn, hostedZoneId"]),
        ("{not json", "dev", "customDomain", ["must be an object"]),
    ],
)
def test_bad_custom_domain_names_the_field_and_what_is_allowed(
    domain: Any, stack: str, key: str, fragments: list[str]
) -> None:
    raw = domain if isinstance(domain, str) else json.dumps(domain)
    with pytest.raises(SettingsError) as error:
        parse_settings(PROJECT, stack, values(stack, customDomain=raw))
    message = str(error.value)
    assert message.startswith(f"agentcore-streaming:{key} "), message
    for fragment in fragments:
        assert fragment in message, message


def test_disabling_the_only_url_of_a_regional_api_is_refused() -> None:
    with pytest.raises(SettingsError, match="agentcore-streaming:disableExecuteApiEndpoint: true needs customDomain"):
        parse_settings(PROJECT, "dev", values(disableExecuteApiEndpoint="true"))
    with pytest.raises(SettingsError, match="agentcore-streaming:disableExecuteApiEndpoint must be true or false"):
        parse_settings(PROJECT, "dev", values(disableExecuteApiEndpoint="sometimes"))
    # prod's stack file asks for it, and its PRIVATE API has no custom domain: accepted, no effect.
    prod = parse_settings(PROJECT, "prod", values("prod"))
    assert prod.custom_domain is None and prod.disable_execute_api_endpoint is False


def test_empty_custom_domain_is_none_in_either_form() -> None:
    assert parse_settings(PROJECT, "dev", values()).custom_domain is None  # Pulumi.yaml's default {}
    for empty in ("", "{}", {}, None):
        assert parse_custom_domain(empty, region="us-east-1", endpoint_type="REGIONAL") is None


def test_the_program_stops_on_a_bad_field_before_creating_anything() -> None:
    with pytest.raises(SettingsError, match=r"customDomain\.certificateArn is a certificate in 'us-west-2'"):
        run_with("dev", customDomain={"name": "api.example.com", "certificateArn": OTHER_REGION_CERTIFICATE})
