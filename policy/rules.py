"""The rules: pure functions from the stack's resources to findings.

Each rule is named after the cdk-nag check it mirrors (AwsSolutions, Serverless and NIST packs)
and reads only resource types, names, properties and dependencies, so the same function runs in
the unit tests (resources recorded under mocks) and in `pulumi preview --policy-pack policy`.
A property Pulumi cannot know during a preview never produces a finding on its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

from stack_config.domain_names import ENHANCED_SECURITY_POLICY_PREFIX, SECURITY_POLICY
from policy.properties import METHOD, StackProperties
from policy.resources import UNKNOWN, Finding, Resource
from policy.suppressions import SUPPRESSIONS, Suppression
from streaming_shared.edge import LOG_LEVEL_VARIABLE, REFUSED_LOG_LEVELS

STAGE = "aws:apigateway/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
BUCKET = "aws:s3/bucket:Bucket"
REST_API_POLICY = "aws:apigateway/restApiPolicy:RestApiPolicy"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
VPC_ENDPOINT_POLICY = "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy"
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
RESPONSE_HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
AGENT_RUNTIME = "aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime"
# The runtime tag components/agent_runtime.py sets from the `production` setting.
PRODUCTION_TAG = "production"

# The Python runtime the project deploys and tests (docs/design.md); anything older is flagged.
LATEST_PYTHON_RUNTIME = "python3.13"
# Actions that support no resource-level permissions, so "Resource": "*" is the only choice.
ACTIONS_WITHOUT_RESOURCES = frozenset({
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
    "xray:GetSamplingTargets", "ecr:GetAuthorizationToken", "cloudwatch:PutMetricData",
})
_AWS_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/")
_OPEN_CIDRS = ("0.0.0.0/0", "::/0")


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    check: Callable[[Sequence[Resource]], Iterable[Finding]]
    # An advisory rule's findings warn in `pulumi preview` instead of failing it.
    advisory: bool = False


RULES: list[Rule] = []


def rule(
    rule_id: str, description: str, *, advisory: bool = False
) -> Callable[[Callable[[Sequence[Resource]], Iterable[Finding]]], Callable]:
    def register(check: Callable[[Sequence[Resource]], Iterable[Finding]]) -> Callable:
        RULES.append(Rule(rule_id, description, check, advisory))
        return check
    return register


def _of_type(resources: Sequence[Resource], *types: str) -> list[Resource]:
    return [r for r in resources if r.type in types]


def _depending_on(resources: Sequence[Resource], target: Resource, type_token: str) -> list[Resource]:
    return [r for r in resources if r.type == type_token and target.urn in r.depends_on]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _document(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, dict) else None


# --- API Gateway -------------------------------------------------------------------------------


@rule("APIG1", "API Gateway stages write access logs.")
def api_access_logging(resources: Sequence[Resource]) -> Iterator[Finding]:
    for stage in _of_type(resources, STAGE):
        settings = stage.get("accessLogSettings")
        if settings is None or not settings.get("destinationArn") or not settings.get("format"):
            yield Finding("APIG1", stage.name, "stage has no access log destination and format")


@rule("APIG2", "REST API methods validate requests.")
def api_request_validation(resources: Sequence[Resource]) -> Iterator[Finding]:
    for method in _of_type(resources, METHOD):
        # An OPTIONS preflight (the CORS MOCK route) has no body or parameters to validate.
        if method.get("httpMethod") != "OPTIONS" and not method.inputs.get("requestValidatorId"):
            yield Finding("APIG2", method.name, "method has no request validator")


@rule("APIG3", "API Gateway stages are associated with a WAFv2 web ACL.")
def api_waf(resources: Sequence[Resource]) -> Iterator[Finding]:
    for stage in _of_type(resources, STAGE):
        if not _depending_on(resources, stage, WAF_ASSOCIATION):
            yield Finding("APIG3", stage.name, "no WAFv2 web ACL is associated with the stage")


@rule("APIG4", "API methods implement authorization (IAM, Cognito or a Lambda authorizer).")
def api_authorization(resources: Sequence[Resource]) -> Iterator[Finding]:
    for method in _of_type(resources, METHOD):
        # OPTIONS is exempt: a browser never sends credentials on a CORS preflight, so the
        # preflight route must be open (it is a MOCK answering headers; it never reaches the Lambda).
        if method.get("httpMethod") != "OPTIONS" and method.get("authorization", default="NONE") == "NONE":
            yield Finding("APIG4", method.name, "method authorization is NONE")


def _allows_everyone(statement: Any) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow" or statement.get("Condition"):
        return False
    principal = statement.get("Principal")
    return principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS")))


@rule("APIGIamResourcePolicy",
      "An IAM-authorized API's resource policy does not allow Principal \"*\" (it would grant every "
      "principal of the account without an identity policy).")
def api_iam_resource_policy(resources: Sequence[Resource]) -> Iterator[Finding]:
    iam_apis = {m.get("restApi") for m in _of_type(resources, METHOD) if m.get("authorization") == "AWS_IAM"}
    for policy in _of_type(resources, REST_API_POLICY):
        api_id, document = policy.get("restApiId"), _document(policy.get("policy"))
        if api_id is None or api_id not in iam_apis or document is None:
            continue  # unknown during a preview, or callers are not IAM principals
        if any(_allows_everyone(s) for s in _as_list(document.get("Statement"))):
            yield Finding("APIGIamResourcePolicy", policy.name,
                          "allows Principal \"*\" on an AWS_IAM API; allow the account root instead")


@rule("VPCEndpointPolicy", "Interface VPC endpoints carry a policy scoped to what they serve, not the default full access.")
def vpc_endpoint_policy(resources: Sequence[Resource]) -> Iterator[Finding]:
    for endpoint in _of_type(resources, VPC_ENDPOINT):
        if endpoint.get("vpcEndpointType") != "Interface" or endpoint.inputs.get("policy"):
            continue
        if not _depending_on(resources, endpoint, VPC_ENDPOINT_POLICY):
            yield Finding("VPCEndpointPolicy", endpoint.name, "endpoint keeps the default full-access policy")


@rule("APIG6", "API Gateway stages write execution logs (INFO or ERROR) for every method.")
def api_execution_logging(resources: Sequence[Resource]) -> Iterator[Finding]:
    for stage in _of_type(resources, STAGE):
        logged = [
            s for s in _depending_on(resources, stage, METHOD_SETTINGS)
            if s.get("methodPath") == "*/*" and s.get("settings", "loggingLevel") in ("INFO", "ERROR")
        ]
        if not logged:
            yield Finding("APIG6", stage.name, "no */* method settings with execution logging")


@rule("Serverless-APIGWXrayEnabled", "API Gateway stages have X-Ray tracing on.")
def api_tracing(resources: Sequence[Resource]) -> Iterator[Finding]:
    for stage in _of_type(resources, STAGE):
        if stage.get("xrayTracingEnabled") is not True:
            yield Finding("Serverless-APIGWXrayEnabled", stage.name, "X-Ray tracing is off")


@rule("Serverless-APIGWDefaultThrottling", "API Gateway stages set explicit throttling limits.")
def api_throttling(resources: Sequence[Resource]) -> Iterator[Finding]:
    for stage in _of_type(resources, STAGE):
        throttled = [
            s for s in _depending_on(resources, stage, METHOD_SETTINGS)
            if (s.get("settings", "throttlingRateLimit") or 0) > 0 and (s.get("settings", "throttlingBurstLimit") or 0) > 0
        ]
        if not throttled:
            yield Finding("Serverless-APIGWDefaultThrottling", stage.name, "no explicit rate and burst limits")


@rule("Serverless-APIGWStructuredLogging", "API Gateway access logs are JSON.")
def api_structured_logging(resources: Sequence[Resource]) -> Iterator[Finding]:
    for stage in _of_type(resources, STAGE):
        log_format = stage.get("accessLogSettings", "format")
        if isinstance(log_format, str):
            try:
                json.loads(log_format)
            except json.JSONDecodeError:
                yield Finding("Serverless-APIGWStructuredLogging", stage.name, "access log format is not JSON")


# --- custom domains ----------------------------------------------------------------------------

DOMAIN_NAME = "aws:apigateway/domainName:DomainName"
BASE_PATH_MAPPING = "aws:apigateway/basePathMapping:BasePathMapping"
REST_API = "aws:apigateway/restApi:RestApi"


@rule("APIGDomainTls", "API Gateway custom domain names use a TLS 1.2+ security policy (TLS_1_2 or an "
      "enhanced SecurityPolicy_* policy), set explicitly.")
def domain_tls_policy(resources: Sequence[Resource]) -> Iterator[Finding]:
    for domain in _of_type(resources, DOMAIN_NAME):
        if domain.inputs.get("securityPolicy") is UNKNOWN:
            continue  # cannot tell during a preview
        policy = domain.get("securityPolicy")
        if policy != SECURITY_POLICY and not (
            isinstance(policy, str) and policy.startswith(ENHANCED_SECURITY_POLICY_PREFIX)
        ):
            yield Finding("APIGDomainTls", domain.name, f"security policy {policy!r} accepts TLS 1.0 or is left to "
                          f"API Gateway's default; use {SECURITY_POLICY!r}")


@rule("APIGDefaultEndpoint", "A public (REGIONAL) REST API served through a custom domain disables its "
      "default execute-api endpoint, so callers cannot bypass the domain and its TLS policy.", advisory=True)
def default_endpoint_disabled(resources: Sequence[Resource]) -> Iterator[Finding]:
    for api in _of_type(resources, REST_API):
        if api.get("endpointConfiguration", "types") not in ("REGIONAL", ["REGIONAL"]):
            continue
        if _depending_on(resources, api, BASE_PATH_MAPPING) and api.get("disableExecuteApiEndpoint") is not True:
            yield Finding("APIGDefaultEndpoint", api.name,
                          "has a custom domain but still answers on its execute-api URL "
                          "(set disableExecuteApiEndpoint: true)")


# --- IAM ---------------------------------------------------------------------------------------


@rule("IAM4", "No AWS-managed IAM policies; every grant names its own resources.")
def no_managed_policies(resources: Sequence[Resource]) -> Iterator[Finding]:
    for attachment in _of_type(resources, ATTACHMENT):
        arn = attachment.get("policyArn")
        if isinstance(arn, str) and _AWS_MANAGED_POLICY.match(arn):
            yield Finding("IAM4", attachment.name, f"attaches {arn}", detail=f"Policy:{arn}")
    for role in _of_type(resources, ROLE):
        for arn in _as_list(role.get("managedPolicyArns")):
            if isinstance(arn, str) and _AWS_MANAGED_POLICY.match(arn):
                yield Finding("IAM4", role.name, f"attaches {arn}", detail=f"Policy:{arn}")


def _statement_wildcards(statement: dict[str, Any]) -> Iterator[str]:
    actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
    for action in actions:
        if "*" in action:
            yield f"Action:{action}"
    if statement.get("NotAction") is not None or statement.get("NotResource") is not None:
        yield "NotAction/NotResource"
    for resource in _as_list(statement.get("Resource")):
        if not isinstance(resource, str) or "*" not in resource:
            continue
        # "*" is the only possible resource for these actions; PutMetricData must still be held
        # to a namespace by a condition.
        if resource == "*" and actions and all(a in ACTIONS_WITHOUT_RESOURCES for a in actions):
            if "cloudwatch:PutMetricData" not in actions or "cloudwatch:namespace" in json.dumps(statement.get("Condition", {})):
                continue
        yield f"Resource:{resource}"


@rule("IAM5", "No wildcard actions or resources in identity policies unless justified.")
def no_unjustified_wildcards(resources: Sequence[Resource]) -> Iterator[Finding]:
    for policy in _of_type(resources, ROLE_POLICY, MANAGED_POLICY):
        document = _document(policy.get("policy"))
        if document is None:
            continue  # unknown during a preview
        for statement in _as_list(document.get("Statement")):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            for wildcard in _statement_wildcards(statement):
                yield Finding("IAM5", policy.name, f"{statement.get('Sid', 'statement')}: {wildcard}", detail=wildcard)


# --- Lambda ------------------------------------------------------------------------------------


@rule("L1", f"Lambda functions use the latest runtime of their language ({LATEST_PYTHON_RUNTIME}).")
def latest_runtime(resources: Sequence[Resource]) -> Iterator[Finding]:
    for function in _of_type(resources, FUNCTION):
        runtime = function.get("runtime")
        if isinstance(runtime, str) and runtime.startswith("python") and runtime != LATEST_PYTHON_RUNTIME:
            yield Finding("L1", function.name, f"runtime {runtime} is not {LATEST_PYTHON_RUNTIME}")


@rule("Serverless-LambdaTracing", "Lambda functions have active X-Ray tracing.")
def lambda_tracing(resources: Sequence[Resource]) -> Iterator[Finding]:
    for function in _of_type(resources, FUNCTION):
        if function.get("tracingConfig", "mode") != "Active":
            yield Finding("Serverless-LambdaTracing", function.name, "tracing mode is not Active")


# RUST_LOG levels (tracing-subscriber's EnvFilter, which Lambda Web Adapter reads when Lambda sets no
# AWS_LAMBDA_LOG_LEVEL) that stay above DEBUG; tracing also spells them 0-3.
_QUIET_RUST_LOG_LEVELS = frozenset({"off", "error", "warn", "info", "0", "1", "2", "3"})


def _rust_log_is_verbose(value: str) -> bool:
    """Does any RUST_LOG directive (`level`, `target=level`, or a bare `target`, which enables every
    level of it) reach DEBUG or TRACE? An unreadable directive counts as verbose."""
    for directive in (d.strip() for d in value.split(",")):
        level = directive.rsplit("=", 1)[1] if "=" in directive else directive
        if directive and level.strip().lower() not in _QUIET_RUST_LOG_LEVELS:
            return True
    return False


@rule("LambdaNoDebugLogs", "Lambda functions never log at DEBUG or TRACE: Lambda Web Adapter then logs "
      "every request header (Authorization, x-api-key, the request context's API key).")
def lambda_no_debug_logs(resources: Sequence[Resource]) -> Iterator[Finding]:
    for function in _of_type(resources, FUNCTION):
        levels = {
            "loggingConfig.applicationLogLevel": function.get("loggingConfig", "applicationLogLevel"),
            "loggingConfig.systemLogLevel": function.get("loggingConfig", "systemLogLevel"),
            # What Lambda Web Adapter (AWS_LAMBDA_LOG_LEVEL) and the proxy (PROXY_LOG_LEVEL) read.
            "AWS_LAMBDA_LOG_LEVEL": function.get("environment", "variables", "AWS_LAMBDA_LOG_LEVEL"),
            LOG_LEVEL_VARIABLE: function.get("environment", "variables", LOG_LEVEL_VARIABLE),
        }
        for setting, level in levels.items():
            if isinstance(level, str) and level.strip().upper() in REFUSED_LOG_LEVELS:
                yield Finding("LambdaNoDebugLogs", function.name, f"{setting} is {level}", detail=setting)
        rust_log = function.get("environment", "variables", "RUST_LOG")
        if isinstance(rust_log, str) and _rust_log_is_verbose(rust_log):
            yield Finding("LambdaNoDebugLogs", function.name, f"RUST_LOG {rust_log!r} enables DEBUG or TRACE",
                          detail="RUST_LOG")


# --- logs, network, storage --------------------------------------------------------------------


@rule("CloudWatchLogGroupRetentionPeriod", "Every log group has a retention period.")
def log_retention(resources: Sequence[Resource]) -> Iterator[Finding]:
    for group in _of_type(resources, LOG_GROUP):
        if not group.get("retentionInDays"):
            yield Finding("CloudWatchLogGroupRetentionPeriod", group.name, "log group keeps logs forever")


def _open_ingress(rule_inputs: Any) -> bool:
    if not isinstance(rule_inputs, dict):
        return False
    cidrs = _as_list(rule_inputs.get("cidrBlocks")) + _as_list(rule_inputs.get("ipv6CidrBlocks"))
    cidrs += _as_list(rule_inputs.get("cidrIpv4")) + _as_list(rule_inputs.get("cidrIpv6"))
    return any(cidr in _OPEN_CIDRS for cidr in cidrs)


@rule("EC23", "Security groups allow no inbound traffic from 0.0.0.0/0 or ::/0.")
def no_open_ingress(resources: Sequence[Resource]) -> Iterator[Finding]:
    for group in _of_type(resources, SECURITY_GROUP):
        if any(_open_ingress(ingress) for ingress in _as_list(group.get("ingress"))):
            yield Finding("EC23", group.name, "ingress open to the internet")
    for group_rule in _of_type(resources, SECURITY_GROUP_RULE):
        if group_rule.get("type") == "ingress" and _open_ingress(dict(group_rule.inputs)):
            yield Finding("EC23", group_rule.name, "ingress open to the internet")
    for ingress_rule in _of_type(resources, INGRESS_RULE):
        if _open_ingress(dict(ingress_rule.inputs)):
            yield Finding("EC23", ingress_rule.name, "ingress open to the internet")


@rule("S2", "S3 buckets block all public access.")
def bucket_public_access_block(resources: Sequence[Resource]) -> Iterator[Finding]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for bucket in _of_type(resources, BUCKET):
        blocks = _depending_on(resources, bucket, BUCKET_PUBLIC_ACCESS_BLOCK)
        if not any(all(block.get(flag) is True for flag in flags) for block in blocks):
            yield Finding("S2", bucket.name, "no public access block with all four settings on")


def _denies_insecure_transport(policy: Resource) -> bool:
    document = _document(policy.get("policy"))
    if document is None:
        return True  # unknown during a preview: cannot tell, so do not accuse
    return any(
        isinstance(s, dict) and s.get("Effect") == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
        for s in _as_list(document.get("Statement"))
    )


@rule("S10", "S3 buckets refuse requests without TLS.")
def bucket_tls_only(resources: Sequence[Resource]) -> Iterator[Finding]:
    for bucket in _of_type(resources, BUCKET):
        policies = _depending_on(resources, bucket, BUCKET_POLICY)
        if not any(_denies_insecure_transport(p) for p in policies):
            yield Finding("S10", bucket.name, "no bucket policy denies aws:SecureTransport=false")


@rule("S3BucketServerSideEncryptionEnabled", "S3 buckets encrypt objects by default.")
def bucket_encryption(resources: Sequence[Resource]) -> Iterator[Finding]:
    for bucket in _of_type(resources, BUCKET):
        configurations = _depending_on(resources, bucket, BUCKET_ENCRYPTION)
        inline = bucket.get("serverSideEncryptionConfiguration")
        if not configurations and not inline:
            yield Finding("S3BucketServerSideEncryptionEnabled", bucket.name, "no default encryption")


# --- CloudFront and the hosted page ------------------------------------------------------------

# Security policies CloudFront offers with TLS 1.2 or later as the minimum.
TLS12_SECURITY_POLICIES = frozenset({"TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"})
# HSTS shorter than a year is not worth a browser's memory (and preload lists refuse it).
MIN_HSTS_SECONDS = 365 * 24 * 3600
_S3_WEBSITE_ENDPOINT = re.compile(r"\.s3-website[.-]")


@rule("S5", "Bucket policies grant nothing to everyone (Principal \"*\" without a condition).")
def bucket_policy_not_public(resources: Sequence[Resource]) -> Iterator[Finding]:
    for policy in _of_type(resources, BUCKET_POLICY):
        document = _document(policy.get("policy"))
        if document is not None and any(_allows_everyone(s) for s in _as_list(document.get("Statement"))):
            yield Finding("S5", policy.name, "allows Principal \"*\" without a condition")


def _behaviors(distribution: Resource) -> list[dict[str, Any]]:
    behaviors = [distribution.get("defaultCacheBehavior")] + _as_list(distribution.get("orderedCacheBehaviors"))
    return [b for b in behaviors if isinstance(b, dict)]


@rule("CFR6", "CloudFront reads S3 through an origin access control: no legacy origin access identity, "
              "no public website endpoint, no S3 origin without signing.")
def cloudfront_origin_access_control(resources: Sequence[Resource]) -> Iterator[Finding]:
    for distribution in _of_type(resources, DISTRIBUTION):
        for origin in _as_list(distribution.get("origins")):
            if not isinstance(origin, dict):
                continue
            domain = origin.get("domainName")
            identity = (origin.get("s3OriginConfig") or {}).get("originAccessIdentity")
            if isinstance(domain, str) and _S3_WEBSITE_ENDPOINT.search(domain):
                yield Finding("CFR6", distribution.name, f"origin {domain} is a public S3 website endpoint")
            elif identity:
                yield Finding("CFR6", distribution.name, "origin uses a legacy origin access identity")
            elif not origin.get("customOriginConfig") and not origin.get("originAccessControlId"):
                yield Finding("CFR6", distribution.name, f"S3 origin {domain or ''} has no origin access control")


@rule("CFR-HTTPS", "CloudFront behaviors redirect HTTP to HTTPS or refuse it.")
def cloudfront_https_only(resources: Sequence[Resource]) -> Iterator[Finding]:
    for distribution in _of_type(resources, DISTRIBUTION):
        for behavior in _behaviors(distribution):
            policy = behavior.get("viewerProtocolPolicy")
            if isinstance(policy, str) and policy not in ("redirect-to-https", "https-only"):
                path = behavior.get("pathPattern", "default")
                yield Finding("CFR-HTTPS", distribution.name, f"behavior {path} allows {policy}")


@rule("CFR4", "CloudFront viewer connections require TLS 1.2 or later.")
def cloudfront_tls_minimum(resources: Sequence[Resource]) -> Iterator[Finding]:
    for distribution in _of_type(resources, DISTRIBUTION):
        certificate = distribution.get("viewerCertificate") or {}
        if certificate.get("cloudfrontDefaultCertificate") is True:
            # CloudFront fixes the *.cloudfront.net certificate's security policy at TLSv1.
            yield Finding("CFR4", distribution.name, "the default certificate allows TLSv1", detail="DefaultCertificate")
            continue
        version = certificate.get("minimumProtocolVersion")
        if version not in TLS12_SECURITY_POLICIES:
            yield Finding("CFR4", distribution.name, f"minimum protocol {version} is below TLSv1.2",
                          detail=f"Version:{version}")


def _sets_security_headers(policy: Resource) -> bool:
    headers = policy.get("securityHeadersConfig") or {}
    hsts = headers.get("strictTransportSecurity") or {}
    return (
        bool((headers.get("contentSecurityPolicy") or {}).get("contentSecurityPolicy"))
        and isinstance(hsts.get("accessControlMaxAgeSec"), (int, float))
        and hsts["accessControlMaxAgeSec"] >= MIN_HSTS_SECONDS
        and headers.get("contentTypeOptions") is not None
        and (headers.get("frameOptions") or {}).get("frameOption") in ("DENY", "SAMEORIGIN")
    )


@rule("CloudFrontSecurityHeaders",
      "CloudFront behaviors carry a response headers policy with CSP, HSTS (a year or more), nosniff "
      "and frame options.")
def cloudfront_security_headers(resources: Sequence[Resource]) -> Iterator[Finding]:
    for distribution in _of_type(resources, DISTRIBUTION):
        policies = [p for p in _of_type(resources, RESPONSE_HEADERS_POLICY) if p.urn in distribution.depends_on]
        for behavior in _behaviors(distribution):
            if "responseHeadersPolicyId" not in behavior:
                yield Finding("CloudFrontSecurityHeaders", distribution.name,
                              f"behavior {behavior.get('pathPattern', 'default')} has no response headers policy")
        if not any(_sets_security_headers(p) for p in policies):
            yield Finding("CloudFrontSecurityHeaders", distribution.name,
                          "no response headers policy sets CSP, HSTS, nosniff and frame options")


# --- the agent ---------------------------------------------------------------------------------


@rule("GuardrailInProduction",
      "An AgentCore runtime tagged production applies a Bedrock guardrail (a published version, not DRAFT).")
def guardrail_in_production(resources: Sequence[Resource]) -> Iterator[Finding]:
    for runtime in _of_type(resources, AGENT_RUNTIME):
        if runtime.get("tags", PRODUCTION_TAG) != "true":
            continue
        environment = runtime.get("environmentVariables") or {}
        if "AGENT_GUARDRAIL_ID" not in environment or "AGENT_GUARDRAIL_VERSION" not in environment:
            yield Finding("GuardrailInProduction", runtime.name, "production runtime without a guardrail")
        elif runtime.get("environmentVariables", "AGENT_GUARDRAIL_VERSION") == "DRAFT":
            yield Finding("GuardrailInProduction", runtime.name, "production runtime applies the guardrail's DRAFT")


# --- evaluation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    findings: list[Finding]
    suppressed: list[tuple[Finding, Suppression]]


def run_rule(check: Rule, resources: Sequence[Resource],
             suppressions: Sequence[Suppression] = SUPPRESSIONS) -> Report:
    properties = StackProperties.of(resources)
    findings: list[Finding] = []
    suppressed: list[tuple[Finding, Suppression]] = []
    for finding in check.check(resources):
        match = next((s for s in suppressions if s.matches(finding, properties)), None)
        if match is None:
            findings.append(finding)
        else:
            suppressed.append((finding, match))
    return Report(findings, suppressed)


__all__ = ["RULES", "Report", "Rule", "UNKNOWN", "run_rule"]
