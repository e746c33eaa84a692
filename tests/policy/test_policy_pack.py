"""The policy pack (policy/): both stacks under mocks, one bad resource per rule, and the
pulumi_policy wiring."""

from __future__ import annotations

import ast
import dataclasses
import json
import runpy
from pathlib import Path
from typing import Any

import pytest
from tests.support.infra_harness import PROJECT, REPO_ROOT, ProgramRun, run_program, stack_config

from policy.adapters import from_policy_resource, plain
from policy.properties import EVERY_STACK, KEYED_AND_QUOTA_LIMITED, USAGE_PLAN, StackProperties
from policy.resources import UNKNOWN, Finding, Resource
from policy.rules import RULES, run_rule
from policy.suppressions import SUPPRESSIONS, Suppression
from tests.support.policy_runs import evaluate, from_recorded_run

# dev's findings before suppression, as (rule, resource). A new finding in dev must be looked at,
# then fixed or added here and to policy/suppressions.py with its reason.
DEV_EXPECTED_FINDINGS = {
    ("APIG3", "api-stage"),          # no WAF on the cheap stack
    ("APIG4", "api-invoke-method"),  # API key instead of IAM/Cognito authorization
    ("APIG4", "api-stop-method"),    # the same for POST /stop
}


def raw_findings(run: ProgramRun) -> set[tuple[str, str]]:
    report = evaluate(from_recorded_run(run.resources))
    return {(f.rule_id, f.resource_name) for f in report.findings} | {
        (f.rule_id, f.resource_name) for f, _ in report.suppressed
    }


def test_prod_passes_every_rule(prod_run: ProgramRun) -> None:
    report = evaluate(from_recorded_run(prod_run.resources))
    assert report.findings == []
    for finding, suppression in report.suppressed:
        assert suppression.when is EVERY_STACK, (finding, "prod must not lean on a conditional exception")


def test_a_renamed_project_passes_the_pack_like_the_original(renamed_prod_run: ProgramRun, prod_run: ProgramRun) -> None:
    # `pulumi new --name my-agent` (tests/support/program_runs.py): rules and suppressions match what resources do and
    # their logical names, never the project's name in their physical names.
    renamed, original = (evaluate(from_recorded_run(run.resources)) for run in (renamed_prod_run, prod_run))
    assert renamed.findings == original.findings == []
    # The same suppressions for the same resources; in any order (registrations that wait on
    # outputs may come in a different order from one run to the next).
    suppressed = [sorted(((f.rule_id, f.resource_name, repr(s)) for f, s in report.suppressed)) for report in (renamed, original)]
    assert suppressed[0] == suppressed[1]


def test_prod_with_the_hosted_page_passes_every_rule(prod_hosting_run: ProgramRun) -> None:
    report = evaluate(from_recorded_run(prod_hosting_run.resources))
    assert report.findings == []
    suppressed = {(f.rule_id, f.resource_name, f.detail) for f, s in report.suppressed if f.rule_id != "IAM5"}
    # The one exception the page brings: CloudFront pins its default certificate at TLSv1.
    assert suppressed == {("CFR4", "page-distribution", "DefaultCertificate")}
    for finding, suppression in report.suppressed:
        assert suppression.when is EVERY_STACK, finding
    # The page's resources are really checked: each new rule sees them.
    types = {r.type for r in prod_hosting_run.resources}
    assert {"aws:cloudfront/distribution:Distribution", "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
            "aws:s3/bucketPolicy:BucketPolicy"} <= types


def test_dev_with_the_hosted_page_adds_only_the_default_certificate_finding(
    dev_run: ProgramRun, dev_hosting_run: ProgramRun
) -> None:
    assert evaluate(from_recorded_run(dev_hosting_run.resources)).findings == []
    assert raw_findings(dev_hosting_run) - raw_findings(dev_run) == {("CFR4", "page-distribution")}


def test_dev_has_exactly_the_expected_findings_beyond_the_shared_iam_exceptions(dev_run: ProgramRun) -> None:
    report = evaluate(from_recorded_run(dev_run.resources))
    assert report.findings == []  # every dev finding is a reasoned suppression
    dev_only = {(f.rule_id, f.resource_name) for f, s in report.suppressed if s.when is not EVERY_STACK}
    assert dev_only == DEV_EXPECTED_FINDINGS
    assert {(r, n) for r, n in raw_findings(dev_run) if r != "IAM5"} == DEV_EXPECTED_FINDINGS


def test_every_suppression_has_a_reason_and_is_still_needed(
    dev_run: ProgramRun, prod_run: ProgramRun, prod_hosting_run: ProgramRun
) -> None:
    used = {
        id(suppression)
        for run in (dev_run, prod_run, prod_hosting_run)
        for _, suppression in evaluate(from_recorded_run(run.resources)).suppressed
    }
    for suppression in SUPPRESSIONS:
        assert len(suppression.reason.split()) >= 8, suppression
        assert id(suppression) in used, f"stale suppression: {suppression}"


def test_guardrail_rule_passes_prod_and_fails_prod_without_a_guardrail(prod_run: ProgramRun) -> None:
    guardrail_rule = next(r for r in RULES if r.id == "GuardrailInProduction")
    resources = from_recorded_run(prod_run.resources)
    assert run_rule(guardrail_rule, resources, ()).findings == []
    # prod's own runtime with the guardrail's variables taken away: the rule must see it.
    unguarded = [
        dataclasses.replace(r, inputs={**r.inputs, "environmentVariables": {
            k: v for k, v in r.inputs["environmentVariables"].items() if not k.startswith("AGENT_GUARDRAIL")}})
        if r.type == "aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime" else r
        for r in resources
    ]
    findings = run_rule(guardrail_rule, unguarded, ()).findings
    assert [(f.resource_name, f.message) for f in findings] == [("agent-runtime", "production runtime without a guardrail")]


def test_rules_run_on_every_stack_resource_type_they_name(prod_run: ProgramRun) -> None:
    # Guard against a rule passing because it never sees anything: prod has each checked type.
    types = {r.type for r in prod_run.resources}
    for token in ("aws:apigateway/stage:Stage", "aws:apigateway/method:Method", "aws:iam/rolePolicy:RolePolicy",
                  "aws:lambda/function:Function", "aws:cloudwatch/logGroup:LogGroup",
                  "aws:ec2/securityGroup:SecurityGroup", "aws:s3/bucket:Bucket",
                  "aws:apigateway/restApiPolicy:RestApiPolicy", "aws:ec2/vpcEndpoint:VpcEndpoint"):
        assert token in types


# --- each rule flags a bad resource ------------------------------------------------------------

STAGE_URN = "urn:pulumi:t::p::aws:apigateway/stage:Stage::stage"
BUCKET_URN = "urn:pulumi:t::p::aws:s3/bucket:Bucket::bucket"


def res(type_token: str, name: str, inputs: dict[str, Any], depends_on: tuple[str, ...] = ()) -> Resource:
    return Resource(type=type_token, name=name, urn=f"urn:pulumi:t::p::{type_token}::{name}",
                    inputs=inputs, depends_on=depends_on)


GOOD_STAGE = res("aws:apigateway/stage:Stage", "stage", {
    "accessLogSettings": {"destinationArn": "arn:aws:logs:r:1:log-group:g", "format": '{"requestId":"$context.requestId"}'},
    "xrayTracingEnabled": True,
})
GOOD_SETTINGS = res("aws:apigateway/methodSettings:MethodSettings", "settings", {
    "methodPath": "*/*", "settings": {"loggingLevel": "INFO", "throttlingRateLimit": 5, "throttlingBurstLimit": 10},
}, (STAGE_URN,))
GOOD_ASSOCIATION = res("aws:wafv2/webAclAssociation:WebAclAssociation", "assoc", {}, (STAGE_URN,))
GOOD_BUCKET = res("aws:s3/bucket:Bucket", "bucket", {})
GOOD_BUCKET_PARTS = [
    res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab", {
        "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True,
    }, (BUCKET_URN,)),
    res("aws:s3/bucketPolicy:BucketPolicy", "bucket-policy", {"policy": json.dumps({"Statement": [{
        "Effect": "Deny", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]})}, (BUCKET_URN,)),
    res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "sse", {}, (BUCKET_URN,)),
]
HEADERS_URN = "urn:pulumi:t::p::aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy::headers"
GOOD_HEADERS = res("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "headers", {"securityHeadersConfig": {
    "contentSecurityPolicy": {"contentSecurityPolicy": "default-src 'self'", "override": True},
    "strictTransportSecurity": {"accessControlMaxAgeSec": 63072000, "includeSubdomains": True, "override": True},
    "contentTypeOptions": {"override": True},
    "frameOptions": {"frameOption": "DENY", "override": True},
}})
GOOD_BEHAVIOR = {"viewerProtocolPolicy": "redirect-to-https", "responseHeadersPolicyId": "headers-id"}
GOOD_DISTRIBUTION_INPUTS = {
    "origins": [{"originId": "o", "domainName": "b.s3.us-east-1.amazonaws.com", "originAccessControlId": "oac"}],
    "defaultCacheBehavior": GOOD_BEHAVIOR,
    "orderedCacheBehaviors": [{**GOOD_BEHAVIOR, "pathPattern": "/config.js"}],
    "viewerCertificate": {"acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/c",
                          "minimumProtocolVersion": "TLSv1.2_2021", "sslSupportMethod": "sni-only"},
}
GOOD_DISTRIBUTION = res("aws:cloudfront/distribution:Distribution", "distribution", GOOD_DISTRIBUTION_INPUTS,
                        (HEADERS_URN,))
GOOD_STACK = [GOOD_STAGE, GOOD_SETTINGS, GOOD_ASSOCIATION, GOOD_BUCKET, *GOOD_BUCKET_PARTS, GOOD_HEADERS,
              GOOD_DISTRIBUTION]


def distribution_with(**changes: Any) -> list[Resource]:
    return [*without("distribution"), res("aws:cloudfront/distribution:Distribution", "distribution",
                                          {**GOOD_DISTRIBUTION_INPUTS, **changes}, (HEADERS_URN,))]


def headers_with(**changes: Any) -> list[Resource]:
    config = {**GOOD_HEADERS.inputs["securityHeadersConfig"], **changes}
    return [*without("headers"), res("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "headers",
                                     {"securityHeadersConfig": config})]


def role_policy(statement: dict[str, Any]) -> Resource:
    return res("aws:iam/rolePolicy:RolePolicy", "role-policy", {"policy": json.dumps({"Statement": [statement]})})


def without(name: str) -> list[Resource]:
    return [r for r in GOOD_STACK if r.name != name]


BAD_CASES: list[tuple[str, list[Resource]]] = [
    ("APIG1", [res("aws:apigateway/stage:Stage", "stage", {"xrayTracingEnabled": True}), GOOD_SETTINGS, GOOD_ASSOCIATION]),
    ("APIG2", [res("aws:apigateway/method:Method", "m", {"httpMethod": "POST", "authorization": "AWS_IAM"})]),
    ("APIG3", without("assoc")),
    ("APIG4", [res("aws:apigateway/method:Method", "m", {"httpMethod": "POST", "authorization": "NONE", "requestValidatorId": "v"})]),
    ("APIG6", [GOOD_STAGE, res("aws:apigateway/methodSettings:MethodSettings", "settings", {
        "methodPath": "*/*", "settings": {"loggingLevel": "OFF", "throttlingRateLimit": 5, "throttlingBurstLimit": 10},
    }, (STAGE_URN,)), GOOD_ASSOCIATION]),
    ("Serverless-APIGWXrayEnabled", [res("aws:apigateway/stage:Stage", "stage", {
        **GOOD_STAGE.inputs, "xrayTracingEnabled": False}), GOOD_SETTINGS, GOOD_ASSOCIATION]),
    ("Serverless-APIGWDefaultThrottling", [GOOD_STAGE, res("aws:apigateway/methodSettings:MethodSettings", "settings", {
        "methodPath": "*/*", "settings": {"loggingLevel": "INFO"}}, (STAGE_URN,)), GOOD_ASSOCIATION]),
    ("Serverless-APIGWStructuredLogging", [res("aws:apigateway/stage:Stage", "stage", {
        **GOOD_STAGE.inputs, "accessLogSettings": {"destinationArn": "arn", "format": "$context.requestId"}}),
        GOOD_SETTINGS, GOOD_ASSOCIATION]),
    ("IAM4", [res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", {
        "policyArn": "arn:aws:iam::aws:policy/AmazonBedrockFullAccess"})]),
    ("IAM5", [role_policy({"Effect": "Allow", "Action": "bedrock:*", "Resource": "arn:aws:bedrock:r::foundation-model/m"})]),
    ("IAM5", [role_policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})]),
    ("IAM5", [role_policy({"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"})]),
    ("L1", [res("aws:lambda/function:Function", "f", {"runtime": "python3.11", "tracingConfig": {"mode": "Active"}})]),
    ("Serverless-LambdaTracing", [res("aws:lambda/function:Function", "f", {"runtime": "python3.13"})]),
    ("LambdaNoDebugLogs", [res("aws:lambda/function:Function", "f", {
        "runtime": "python3.13", "tracingConfig": {"mode": "Active"},
        "loggingConfig": {"logFormat": "JSON", "applicationLogLevel": "DEBUG"}})]),
    ("CloudWatchLogGroupRetentionPeriod", [res("aws:cloudwatch/logGroup:LogGroup", "g", {"name": "g"})]),
    ("EC23", [res("aws:ec2/securityGroup:SecurityGroup", "sg", {"ingress": [
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]})]),
    ("EC23", [res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "r", {"cidrIpv6": "::/0"})]),
    ("APIGIamResourcePolicy", [
        res("aws:apigateway/method:Method", "m", {"restApi": "api-1", "httpMethod": "POST",
                                                  "authorization": "AWS_IAM", "requestValidatorId": "v"}),
        res("aws:apigateway/restApiPolicy:RestApiPolicy", "p", {"restApiId": "api-1", "policy": json.dumps({
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}]})}),
    ]),
    ("VPCEndpointPolicy", [res("aws:ec2/vpcEndpoint:VpcEndpoint", "e", {"vpcEndpointType": "Interface"})]),
    ("S2", without("pab")),
    ("S10", without("bucket-policy")),
    ("S3BucketServerSideEncryptionEnabled", without("sse")),
    ("S5", [res("aws:s3/bucketPolicy:BucketPolicy", "open-policy", {"policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]})})]),
    # A public website endpoint, a legacy origin access identity, an S3 origin without signing.
    ("CFR6", distribution_with(origins=[{"originId": "o", "domainName": "b.s3-website-us-east-1.amazonaws.com",
                                         "customOriginConfig": {"originProtocolPolicy": "http-only"}}])),
    ("CFR6", distribution_with(origins=[{"originId": "o", "domainName": "b.s3.amazonaws.com", "s3OriginConfig": {
        "originAccessIdentity": "origin-access-identity/cloudfront/E1"}}])),
    ("CFR6", distribution_with(origins=[{"originId": "o", "domainName": "b.s3.amazonaws.com"}])),
    ("CFR-HTTPS", distribution_with(orderedCacheBehaviors=[{**GOOD_BEHAVIOR, "viewerProtocolPolicy": "allow-all"}])),
    ("CFR4", distribution_with(viewerCertificate={"cloudfrontDefaultCertificate": True})),
    ("CFR4", distribution_with(viewerCertificate={**GOOD_DISTRIBUTION_INPUTS["viewerCertificate"],
                                                  "minimumProtocolVersion": "TLSv1.1_2016"})),
    ("CloudFrontSecurityHeaders", distribution_with(defaultCacheBehavior={"viewerProtocolPolicy": "https-only"})),
    ("CloudFrontSecurityHeaders", headers_with(frameOptions=None)),
    ("CloudFrontSecurityHeaders", headers_with(strictTransportSecurity={
        "accessControlMaxAgeSec": 3600, "includeSubdomains": True, "override": True})),
    ("APIGDomainTls", [res("aws:apigateway/domainName:DomainName", "d", {"securityPolicy": "TLS_1_0"})]),
    ("APIGDomainTls", [res("aws:apigateway/domainName:DomainName", "d", {"domainName": "api.example.com"})]),
    ("APIGDefaultEndpoint", [
        res("aws:apigateway/restApi:RestApi", "api", {"endpointConfiguration": {"types": "REGIONAL"}}),
        res("aws:apigateway/basePathMapping:BasePathMapping", "mapping", {},
            ("urn:pulumi:t::p::aws:apigateway/restApi:RestApi::api",)),
    ]),
    ("GuardrailInProduction", [res("aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime", "runtime", {
        "tags": {"production": "true"}, "environmentVariables": {"BEDROCK_MODEL_ID": "m"}})]),
    ("GuardrailInProduction", [res("aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime", "runtime", {
        "tags": {"production": "true"},
        "environmentVariables": {"AGENT_GUARDRAIL_ID": "abc123", "AGENT_GUARDRAIL_VERSION": "DRAFT"}})]),
]


def test_the_good_stack_passes_every_rule() -> None:
    assert evaluate(GOOD_STACK, suppressions=()).findings == []


@pytest.mark.parametrize(("rule_id", "resources"), BAD_CASES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(BAD_CASES)])
def test_each_rule_flags_a_bad_resource(rule_id: str, resources: list[Resource]) -> None:
    findings = evaluate(resources, suppressions=()).findings
    assert rule_id in {f.rule_id for f in findings}, findings


def test_every_rule_has_a_bad_case() -> None:
    assert {r.id for r in RULES} == {rule_id for rule_id, _ in BAD_CASES}


def test_custom_domains_with_tls_1_2_and_without_a_bypass_pass() -> None:
    api_urn = "urn:pulumi:t::p::aws:apigateway/restApi:RestApi::api"
    ok = [
        res("aws:apigateway/domainName:DomainName", "legacy", {"securityPolicy": "TLS_1_2"}),
        res("aws:apigateway/domainName:DomainName", "enhanced", {"securityPolicy": "SecurityPolicy_TLS13_1_3_2025_09"}),
        res("aws:apigateway/domainName:DomainName", "preview", {"securityPolicy": UNKNOWN}),
        res("aws:apigateway/restApi:RestApi", "api", {"endpointConfiguration": {"types": "REGIONAL"},
                                                     "disableExecuteApiEndpoint": True}),
        res("aws:apigateway/basePathMapping:BasePathMapping", "mapping", {}, (api_urn,)),
        # A PRIVATE API keeps its endpoint (reachable only through the VPC endpoint), and a REGIONAL
        # API without a domain needs its execute-api URL.
        res("aws:apigateway/restApi:RestApi", "private", {"endpointConfiguration": {"types": "PRIVATE"}}),
        res("aws:apigateway/basePathMapping:BasePathMapping", "private-mapping", {},
            ("urn:pulumi:t::p::aws:apigateway/restApi:RestApi::private",)),
        res("aws:apigateway/restApi:RestApi", "plain", {"endpointConfiguration": {"types": "REGIONAL"}}),
    ]
    assert evaluate(ok, suppressions=()).findings == []


def test_only_the_default_endpoint_rule_is_advisory() -> None:
    import pulumi_policy

    from policy.pack import build_policies

    levels = {p.name: p.enforcement_level for p in build_policies()}
    assert levels.pop("apigdefaultendpoint") == pulumi_policy.EnforcementLevel.ADVISORY
    assert set(levels.values()) == {pulumi_policy.EnforcementLevel.MANDATORY}


def test_allowed_wildcards_and_unknowns_do_not_produce_findings() -> None:
    ok = [
        role_policy({"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"}),
        role_policy({"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
                     "Condition": {"StringEquals": {"cloudwatch:namespace": "x"}}}),
        role_policy({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}),
        res("aws:iam/rolePolicy:RolePolicy", "unknown-policy", {"policy": UNKNOWN}),
    ]
    assert evaluate(ok, suppressions=()).findings == []


def test_private_policies_for_anonymous_callers_and_scoped_endpoints_pass() -> None:
    # Principal "*" is right for an API-key or Cognito API (callers are anonymous to IAM); an
    # endpoint with its own policy resource (or an inline one) is scoped.
    endpoint = res("aws:ec2/vpcEndpoint:VpcEndpoint", "e", {"vpcEndpointType": "Interface"})
    ok = [
        res("aws:apigateway/method:Method", "m", {"restApi": "api-1", "httpMethod": "POST",
                                                  "authorization": "NONE", "requestValidatorId": "v"}),
        res("aws:apigateway/restApiPolicy:RestApiPolicy", "p", {"restApiId": "api-1", "policy": json.dumps({
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}]})}),
        endpoint,
        res("aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy", "ep", {"policy": "{}"}, (endpoint.urn,)),
        res("aws:ec2/vpcEndpoint:VpcEndpoint", "inline", {"vpcEndpointType": "Interface", "policy": "{}"}),
    ]
    assert {f.rule_id for f in evaluate(ok, suppressions=()).findings} == {"APIG4"}


def test_a_suppression_is_scoped_to_its_rule_resource_condition_and_detail() -> None:
    finding = Finding("IAM5", "agent-role-policy", "m", detail="Resource:arn:aws:s3:::b/agent/*")
    suppression = Suppression("IAM5", "agent-*", KEYED_AND_QUOTA_LIMITED, "reason",
                              applies_to="Resource:arn:*:s3:::*/agent/[*]")
    keyed = StackProperties(api_key_required=True, key_quota_limited=True)
    assert suppression.matches(finding, keyed)
    assert not suppression.matches(finding, StackProperties(api_key_required=True, key_quota_limited=False))
    assert not suppression.matches(finding, StackProperties(api_key_required=False, key_quota_limited=True))
    assert not suppression.matches(Finding("IAM4", "agent-role-policy", "m", finding.detail), keyed)
    assert not suppression.matches(Finding("IAM5", "agent-role-policy", "m", "Resource:*"), keyed)


def test_stack_properties_come_from_what_the_resources_do(dev_run: ProgramRun, prod_run: ProgramRun) -> None:
    assert StackProperties.of(from_recorded_run(dev_run.resources)) == StackProperties(True, True)
    assert StackProperties.of(from_recorded_run(prod_run.resources)) == StackProperties(False, False)
    assert StackProperties.of([]) == StackProperties(False, False)


def test_suppressions_follow_what_the_stack_does_not_its_name() -> None:
    # dev's configuration under another stack name keeps its reasoned exceptions...
    staging = run_program("staging", stack_config("dev"))
    assert evaluate(from_recorded_run(staging.resources)).findings == []
    # ...while dev's name on a stack whose API key has no quota does not hide the missing WAF and
    # the missing authorization.
    unlimited = run_program("dev", stack_config("dev", overrides={f"{PROJECT}:quotaLimit": 0}))
    findings = {(f.rule_id, f.resource_name) for f in evaluate(from_recorded_run(unlimited.resources)).findings}
    assert findings == DEV_EXPECTED_FINDINGS


# --- the Pulumi policy pack ----------------------------------------------------------------------


def test_policy_pack_files_pin_pulumi_policy() -> None:
    import yaml

    pack = yaml.safe_load((REPO_ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["name"] == "python" and pack["version"]
    requirements = (REPO_ROOT / "policy" / "requirements.txt").read_text().split()
    assert "pulumi-policy==1.21.0" in requirements
    assert "pulumi-policy==1.21.0" in (REPO_ROOT / "requirements-dev.txt").read_text().split()


def test_policy_main_builds_a_pack_of_every_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    # PolicyPack(...) starts the analyzer's gRPC server and blocks until the engine stops it, so
    # it cannot run in a test; record its arguments instead and check what __main__ passes.
    import pulumi_policy

    built: dict[str, Any] = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: built.update(kwargs))
    runpy.run_path(str(REPO_ROOT / "policy" / "__main__.py"), run_name="__main__")
    policies = built["policies"]
    assert all(isinstance(p, pulumi_policy.StackValidationPolicy) for p in policies)
    assert {p.name for p in policies} == {r.id.lower() for r in RULES}
    assert built["enforcement_level"] == pulumi_policy.EnforcementLevel.MANDATORY


def policy_resources(run: ProgramRun) -> list[Any]:
    """The recorded run as pulumi_policy hands it to a stack validation (proxied props)."""
    import pulumi_policy
    from pulumi_policy.proxy import unknown_checking_proxy

    by_urn: dict[str, Any] = {}
    for recorded in run.resources:
        by_urn[recorded.urn] = pulumi_policy.PolicyResource(
            resource_type=recorded.type, props=unknown_checking_proxy(json.loads(json.dumps(recorded.inputs, default=str))),
            urn=recorded.urn, name=recorded.name, opts=None, provider=None, parent=None,
            dependencies=[], property_dependencies={},
        )
    for recorded in run.resources:
        by_urn[recorded.urn].dependencies = [by_urn[u] for u in recorded.depends_on if u in by_urn]
    return list(by_urn.values())


def test_stack_validations_report_what_the_rules_find(dev_run: ProgramRun) -> None:
    import pulumi_policy

    from policy.pack import build_policies

    resources = policy_resources(dev_run)
    # Same resources through the pulumi_policy adapter and the harness adapter: same findings.
    assert evaluate([from_policy_resource(r) for r in resources]).findings == evaluate(
        from_recorded_run(dev_run.resources)).findings
    # Without its dev suppressions, APIG4 reports the method through report_violation with its URN.
    [apig4] = [p for p in build_policies() if p.name == "apig4"]
    violations: list[tuple[str, Any]] = []
    # Without the usage plan the stack no longer limits its keys, so the conditional exceptions end.
    monkey_stack = [r for r in resources if r.resource_type != USAGE_PLAN]
    apig4.validate(pulumi_policy.StackValidationArgs(monkey_stack), lambda message, urn=None: violations.append((message, urn)))
    assert len(violations) == 2  # POST /invoke and POST /stop
    for name, (message, urn) in zip(sorted(["api-invoke-method", "api-stop-method"]), sorted(violations)):
        assert message.startswith(f"{name}:") and urn.endswith(f"::{name}")


def test_unknown_values_are_unpacked_not_raised() -> None:
    from pulumi.runtime.rpc import UNKNOWN as PULUMI_UNKNOWN
    from pulumi_policy.proxy import unknown_checking_proxy

    props = unknown_checking_proxy({"policy": PULUMI_UNKNOWN, "settings": {"list": [1, PULUMI_UNKNOWN]}})
    assert plain(props) == {"policy": UNKNOWN, "settings": {"list": [1, UNKNOWN]}}


def test_rule_ids_match_suppression_ids() -> None:
    ids = {r.id for r in RULES}
    assert {s.rule_id for s in SUPPRESSIONS} <= ids
    assert run_rule(RULES[0], []).findings == []


# --- LambdaNoDebugLogs: Lambda Web Adapter logs every request header at DEBUG -------------------


def _function(logging_config: dict[str, Any] | None = None, **variables: Any) -> Resource:
    inputs: dict[str, Any] = {"runtime": "python3.13", "tracingConfig": {"mode": "Active"},
                              "loggingConfig": {"logFormat": "JSON", "applicationLogLevel": "INFO",
                                                **(logging_config or {})}}
    if variables:
        inputs["environment"] = {"variables": variables}
    return res("aws:lambda/function:Function", "proxy-function", inputs)


def _debug_findings(function: Resource) -> list[str]:
    rule = next(r for r in RULES if r.id == "LambdaNoDebugLogs")
    return [f.detail for f in run_rule(rule, [function]).findings]


@pytest.mark.parametrize(("function", "offending"), [
    # Lambda's levels: it hands the application level to the adapter as AWS_LAMBDA_LOG_LEVEL.
    (_function({"applicationLogLevel": "TRACE"}), "loggingConfig.applicationLogLevel"),
    (_function({"applicationLogLevel": "debug"}), "loggingConfig.applicationLogLevel"),
    (_function({"systemLogLevel": "DEBUG"}), "loggingConfig.systemLogLevel"),
    (_function(AWS_LAMBDA_LOG_LEVEL="DEBUG"), "AWS_LAMBDA_LOG_LEVEL"),
    (_function(PROXY_LOG_LEVEL="DEBUG"), "PROXY_LOG_LEVEL"),
    # RUST_LOG (EnvFilter directives): a level, a target's level, a bare target (every level of it),
    # tracing's numbers (4 = DEBUG, 5 = TRACE), a span filter without a level.
    (_function(RUST_LOG="debug"), "RUST_LOG"),
    (_function(RUST_LOG="info,lambda_web_adapter=trace"), "RUST_LOG"),
    (_function(RUST_LOG="lambda_web_adapter"), "RUST_LOG"),
    (_function(RUST_LOG="4"), "RUST_LOG"),
    (_function(RUST_LOG="lambda_web_adapter[request{path=/invoke}]"), "RUST_LOG"),
])
def test_debug_or_trace_anywhere_on_a_function_is_refused(function: Resource, offending: str) -> None:
    assert _debug_findings(function) == [offending]


@pytest.mark.parametrize("function", [
    _function(),
    _function({"applicationLogLevel": "WARN", "systemLogLevel": "INFO"}, PROXY_LOG_LEVEL="ERROR"),
    _function(RUST_LOG="info"),
    _function(RUST_LOG="warn,lambda_web_adapter=error,hyper=off"),
    _function(RUST_LOG="3"),
    # Unknown during a preview: no finding on its own.
    _function({"applicationLogLevel": UNKNOWN}, RUST_LOG=UNKNOWN),
])
def test_info_and_quieter_pass(function: Resource) -> None:
    assert _debug_findings(function) == []


def test_both_stacks_proxy_functions_pass_the_rule(dev_run: ProgramRun, prod_run: ProgramRun) -> None:
    for run in (dev_run, prod_run):
        functions = [r for r in from_recorded_run(run.resources) if r.type == "aws:lambda/function:Function"]
        assert functions and all(_debug_findings(f) == [] for f in functions)


def unused_by_the_pack(folder: Path) -> list[str]:
    """The undecorated functions and classes at the top of the folder's modules that no code of the
    folder uses (outside their own body): what only tests would call. (A rule is decorated: the
    decorator registers it, which is its use.)"""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.py"))}
    definitions = [(path, node) for path, tree in trees.items() for node in tree.body
                   if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.decorator_list]
    unused = []
    for path, definition in definitions:
        inside = {id(node) for node in ast.walk(definition)}
        used = any(
            (isinstance(node, ast.Name) and node.id == definition.name)
            or (isinstance(node, ast.Attribute) and node.attr == definition.name)
            or (isinstance(node, ast.alias) and node.name == definition.name)
            for tree in trees.values() for node in ast.walk(tree) if id(node) not in inside
        )
        if not used:
            unused.append(f"{path.name}: {definition.name}")
    return unused


def test_the_pack_holds_only_code_the_pack_runs() -> None:
    assert unused_by_the_pack(REPO_ROOT / "policy") == []


def test_code_only_tests_call_is_found(tmp_path: Path) -> None:
    (tmp_path / "pack.py").write_text("from helpers import used\n\ndef run():\n    return used()\n")
    (tmp_path / "helpers.py").write_text(
        "def used():\n    return 1\n\ndef for_tests():\n    return for_tests\n\n"
        "@register\ndef rule():\n    pass\n\nclass Shape:\n    pass\n")
    assert unused_by_the_pack(tmp_path) == ["helpers.py: for_tests", "helpers.py: Shape", "pack.py: run"]
