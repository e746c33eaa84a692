"""The deployer's IAM policies (deploy/deployer-policy-*.json) cover what the program creates (issue 9).

The program runs under mocks in every shape a user can configure (dev, prod, cognito with CORS and
alarm mail in an existing VPC, the container artifact); every resource type it registers must appear
in REQUIRED below (a new type fails until someone decides what it needs), and every action listed
for it must be allowed by the policy on that resource's ARN, evaluated like IAM evaluates an
identity policy: an Allow statement whose Action and Resource patterns both match ('*' and '?'
wildcards, actions case-insensitive). The deployer's grant is split over several managed policies
(one alone would exceed IAM's 6,144 characters; tests/components/test_policy_limits.py), attached
together, so they are evaluated as one. The preview roles' policy must be read-only and cover the
program's data sources.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import pytest
from components.project_name import deployer_policies
from tests.support.infra_harness import EXISTING_VPC_ID, REPO_ROOT, ProgramRun, RecordedResource, run_program, stack_config

PREVIEW_POLICY = REPO_ROOT / "deploy" / "github-preview-policy.json"
PROJECT = "agentcore-streaming:"
REGION, ACCOUNT = "us-east-1", "123456789012"

ResourceArn = Callable[[ProgramRun, RecordedResource], Optional[str]]


def _arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def role(_run: ProgramRun, resource: RecordedResource) -> str:
    # Pulumi auto-names a role "<logical name>-<7 hex>".
    return f"arn:aws:iam::{ACCOUNT}:role/{resource.name}-1a2b3c4"


def role_of_policy(run: ProgramRun, resource: RecordedResource) -> str:
    return role(run, next(r for r in run.of_type("aws:iam/role:Role") if f"{r.name}-id" == resource.inputs["role"]))


def function(_run: ProgramRun, resource: RecordedResource) -> str:
    return _arn("lambda", f"function:{resource.inputs['name']}")


def function_of(run: ProgramRun, _resource: RecordedResource) -> str:
    return function(run, run.one("aws:lambda/function:Function"))


def log_group(_run: ProgramRun, resource: RecordedResource) -> str:
    return _arn("logs", f"log-group:{resource.state['name']}")


def bucket(run: ProgramRun, resource: RecordedResource) -> str:
    # The bucket itself, or the one a bucket's part names (the mock's ids are "<logical name>-id").
    [found] = [b for b in run.of_type("aws:s3/bucket:Bucket")
               if b is resource or f"{b.name}-id" == resource.inputs.get("bucket")]
    return f"arn:aws:s3:::{found.state['bucket']}"


def bucket_object(run: ProgramRun, resource: RecordedResource) -> str:
    return f"{bucket(run, resource)}/{resource.inputs['key']}"


def rest_api(_run: ProgramRun, _resource: RecordedResource) -> str:
    return f"arn:aws:apigateway:{REGION}::/restapis/api-api-id"


def stage(_run: ProgramRun, _resource: RecordedResource) -> str:
    return f"arn:aws:apigateway:{REGION}::/restapis/api-api-id/stages/v1"


def named(service: str, template: str, field: str = "name") -> ResourceArn:
    return lambda _run, resource: _arn(service, template.format(resource.inputs[field]))


def runtime(_run: ProgramRun, resource: RecordedResource) -> str:
    return _arn("bedrock-agentcore", f"runtime/{resource.inputs['agentRuntimeName']}-AbCdE12345")


def guardrail(_run: ProgramRun, _resource: RecordedResource) -> str:
    return _arn("bedrock", "guardrail/a1b2c3d4e5f6")


def guardrail_of_version(_run: ProgramRun, resource: RecordedResource) -> str:
    # Deleting a version is DeleteGuardrail with the version number, on the guardrail's ARN.
    return resource.inputs["guardrailArn"]


def web_acl(_run: ProgramRun, resource: RecordedResource) -> str:
    return _arn("wafv2", f"regional/webacl/{resource.inputs['name']}/0f1e2d3c")


def web_acl_of(run: ProgramRun, _resource: RecordedResource) -> str:
    return web_acl(run, run.one("aws:wafv2/webAcl:WebAcl"))


def key(_run: ProgramRun, _resource: RecordedResource) -> str:
    return _arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")


def cloudfront(kind: str) -> ResourceArn:
    # CloudFront ARNs are global (no region) and end in the id CloudFront generates.
    return lambda _run, _resource: f"arn:aws:cloudfront::{ACCOUNT}:{kind}/E2MOCK0ID0001"


def any_resource(_run: ProgramRun, _resource: RecordedResource) -> None:
    return None  # the action takes no resource we could name (IAM wants "*")


APIGW = [("apigateway:POST", rest_api), ("apigateway:GET", rest_api), ("apigateway:PATCH", rest_api),
         ("apigateway:PUT", rest_api), ("apigateway:DELETE", rest_api)]

# Resource type -> (action, how to name the resource it acts on) needed to create, read, update,
# tag and delete it. Remote awsx components list what their children need.
REQUIRED: dict[str, list[tuple[str, ResourceArn]]] = {
    "random:index/randomId:RandomId": [],  # computed by the Pulumi engine, no AWS call
    "aws:iam/role:Role": [(a, role) for a in (
        "iam:CreateRole", "iam:GetRole", "iam:DeleteRole", "iam:TagRole", "iam:UpdateAssumeRolePolicy",
        "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:PassRole")],
    "aws:iam/rolePolicy:RolePolicy": [(a, role_of_policy) for a in (
        "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy")],
    "aws:lambda/function:Function": [(a, function) for a in (
        "lambda:CreateFunction", "lambda:GetFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
        "lambda:DeleteFunction", "lambda:ListVersionsByFunction", "lambda:GetFunctionCodeSigningConfig",
        "lambda:TagResource")] + [
        ("lambda:GetLayerVersion", lambda _r, _x: "arn:aws:lambda:us-east-1:753240598075:layer:LambdaAdapterLayerArm64:28")],
    "aws:lambda/permission:Permission": [(a, function_of) for a in (
        "lambda:AddPermission", "lambda:GetPolicy", "lambda:RemovePermission")],
    "aws:cloudwatch/logGroup:LogGroup": [(a, log_group) for a in (
        "logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup", "logs:TagResource",
        "logs:ListTagsForResource")] + [("logs:DescribeLogGroups", any_resource)],
    "aws:s3/bucket:Bucket": [(a, bucket) for a in (
        "s3:CreateBucket", "s3:ListBucket", "s3:GetBucketAcl", "s3:GetBucketTagging", "s3:PutBucketTagging",
        "s3:GetBucketVersioning", "s3:ListBucketVersions", "s3:DeleteBucket")],
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": [(a, bucket) for a in (
        "s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls")],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": [(a, bucket) for a in (
        "s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock")],
    "aws:s3/bucketVersioning:BucketVersioning": [(a, bucket) for a in ("s3:PutBucketVersioning", "s3:GetBucketVersioning")],
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
        (a, bucket) for a in ("s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration")],
    "aws:s3/bucketPolicy:BucketPolicy": [(a, bucket) for a in ("s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy")],
    "aws:s3/bucketObjectv2:BucketObjectv2": [(a, bucket_object) for a in (
        "s3:PutObject", "s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObject", "s3:DeleteObjectVersion")],
    "aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime": [(a, runtime) for a in (
        "bedrock-agentcore:CreateAgentRuntime", "bedrock-agentcore:GetAgentRuntime", "bedrock-agentcore:UpdateAgentRuntime",
        "bedrock-agentcore:DeleteAgentRuntime", "bedrock-agentcore:TagResource", "bedrock-agentcore:ListTagsForResource")] + [
        ("iam:CreateServiceLinkedRole",
         lambda _r, _x: f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/runtime-identity.bedrock-agentcore.amazonaws.com/"
                        "AWSServiceRoleForBedrockAgentCoreRuntimeIdentity")],
    "aws:bedrock/agentcoreMemory:AgentcoreMemory": [
        (a, lambda _r, m: _arn("bedrock-agentcore", f"memory/{m.inputs['name']}-AbCdE12345")) for a in (
            "bedrock-agentcore:CreateMemory", "bedrock-agentcore:GetMemory", "bedrock-agentcore:UpdateMemory",
            "bedrock-agentcore:DeleteMemory", "bedrock-agentcore:TagResource")],
    # A guardrail's ARN ends in an id Bedrock draws, never the stack's name, so the grant covers
    # guardrails in general; tags come with the provider's default tags (the guardrails permissions guide).
    "aws:bedrock/guardrail:Guardrail": [(a, guardrail) for a in (
        "bedrock:CreateGuardrail", "bedrock:GetGuardrail", "bedrock:UpdateGuardrail", "bedrock:DeleteGuardrail",
        "bedrock:TagResource", "bedrock:UntagResource", "bedrock:ListTagsForResource")],
    "aws:bedrock/guardrailVersion:GuardrailVersion": [(a, guardrail_of_version) for a in (
        "bedrock:CreateGuardrailVersion", "bedrock:GetGuardrail", "bedrock:DeleteGuardrail")],
    "aws:apigateway/restApi:RestApi": APIGW,
    "aws:apigateway/restApiPolicy:RestApiPolicy": [*APIGW, ("apigateway:UpdateRestApiPolicy", rest_api)],
    "aws:apigateway/resource:Resource": APIGW,
    "aws:apigateway/method:Method": APIGW,
    "aws:apigateway/methodResponse:MethodResponse": APIGW,
    "aws:apigateway/integration:Integration": APIGW,
    "aws:apigateway/integrationResponse:IntegrationResponse": APIGW,
    "aws:apigateway/model:Model": APIGW,
    "aws:apigateway/requestValidator:RequestValidator": APIGW,
    "aws:apigateway/response:Response": APIGW,
    "aws:apigateway/authorizer:Authorizer": APIGW,
    "aws:apigateway/deployment:Deployment": APIGW,
    "aws:apigateway/stage:Stage": [(a, stage) for a, _ in APIGW],
    "aws:apigateway/methodSettings:MethodSettings": [(a, stage) for a, _ in APIGW],
    "aws:apigateway/account:Account": [(a, lambda _r, _x: f"arn:aws:apigateway:{REGION}::/account")
                                       for a in ("apigateway:GET", "apigateway:PATCH")],
    "aws:apigateway/apiKey:ApiKey": [(a, lambda _r, _x: f"arn:aws:apigateway:{REGION}::/apikeys/k1")
                                     for a in ("apigateway:POST", "apigateway:GET", "apigateway:DELETE")],
    "aws:apigateway/usagePlan:UsagePlan": [(a, lambda _r, _x: f"arn:aws:apigateway:{REGION}::/usageplans/p1")
                                           for a in ("apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE")],
    "aws:apigateway/usagePlanKey:UsagePlanKey": [(a, lambda _r, _x: f"arn:aws:apigateway:{REGION}::/usageplans/p1/keys/k1")
                                                 for a in ("apigateway:POST", "apigateway:GET", "apigateway:DELETE")],
    "aws:wafv2/webAcl:WebAcl": [(a, web_acl) for a in (
        "wafv2:CreateWebACL", "wafv2:GetWebACL", "wafv2:UpdateWebACL", "wafv2:DeleteWebACL", "wafv2:TagResource",
        "wafv2:ListTagsForResource")] + [
        ("wafv2:CreateWebACL", lambda _r, _x: _arn("wafv2", "regional/managedruleset/AWS/AWSManagedRulesCommonRuleSet"))],
    "aws:wafv2/webAclAssociation:WebAclAssociation": [
        ("wafv2:AssociateWebACL", web_acl_of), ("wafv2:AssociateWebACL", stage), ("wafv2:GetWebACLForResource", stage),
        ("wafv2:DisassociateWebACL", stage), ("apigateway:SetWebACL", stage)],
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": [
        ("wafv2:PutLoggingConfiguration", web_acl_of), ("wafv2:GetLoggingConfiguration", web_acl_of),
        ("wafv2:DeleteLoggingConfiguration", web_acl_of), ("logs:CreateLogDelivery", any_resource),
        ("logs:DeleteLogDelivery", any_resource), ("logs:PutResourcePolicy", any_resource),
        ("logs:DescribeResourcePolicies", any_resource)],
    "aws:kms/key:Key": [("kms:CreateKey", any_resource)] + [(a, key) for a in (
        "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation",
        "kms:ListResourceTags", "kms:TagResource", "kms:ScheduleKeyDeletion")],
    "aws:kms/alias:Alias": [("kms:CreateAlias", named("kms", "{}")), ("kms:CreateAlias", key),
                            ("kms:DeleteAlias", named("kms", "{}")), ("kms:ListAliases", any_resource)],
    "aws:sns/topic:Topic": [(a, named("sns", "{}")) for a in (
        "sns:CreateTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:DeleteTopic", "sns:TagResource",
        "sns:ListTagsForResource")],
    "aws:sns/topicSubscription:TopicSubscription": [
        (a, lambda run, _x: _arn("sns", run.one("aws:sns/topic:Topic").inputs["name"])) for a in (
            "sns:Subscribe", "sns:GetSubscriptionAttributes", "sns:Unsubscribe")],
    "aws:cloudwatch/metricAlarm:MetricAlarm": [(a, named("cloudwatch", "alarm:{}")) for a in (
        "cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource",
        "cloudwatch:ListTagsForResource")],
    # Counts the proxy's ERROR log lines (components/observability.py): the actions act on its log group.
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": [(a, named("logs", "log-group:{}", "logGroupName")) for a in (
        "logs:PutMetricFilter", "logs:DeleteMetricFilter", "logs:DescribeMetricFilters")],
    "aws:cloudwatch/dashboard:Dashboard": [
        (a, lambda _r, d: f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{d.inputs['dashboardName']}") for a in (
            "cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards")],
    "aws:cognito/userPool:UserPool": [("cognito-idp:CreateUserPool", any_resource)] + [
        (a, named("cognito-idp", "userpool/{}", "name")) for a in (
            "cognito-idp:DescribeUserPool", "cognito-idp:UpdateUserPool", "cognito-idp:DeleteUserPool",
            "cognito-idp:GetUserPoolMfaConfig", "cognito-idp:SetUserPoolMfaConfig")],
    "aws:cognito/userPoolClient:UserPoolClient": [
        (a, lambda _r, _x: _arn("cognito-idp", "userpool/us-east-1_AbC123")) for a in (
            "cognito-idp:CreateUserPoolClient", "cognito-idp:DescribeUserPoolClient", "cognito-idp:UpdateUserPoolClient",
            "cognito-idp:DeleteUserPoolClient")],
    "aws:cognito/userPoolDomain:UserPoolDomain": [("cognito-idp:DescribeUserPoolDomain", any_resource)] + [
        (a, lambda _r, _x: _arn("cognito-idp", "userpool/us-east-1_AbC123")) for a in (
            "cognito-idp:CreateUserPoolDomain", "cognito-idp:UpdateUserPoolDomain", "cognito-idp:DeleteUserPoolDomain")],
    "aws:cloudfront/distribution:Distribution": [(a, cloudfront("distribution")) for a in (
        "cloudfront:CreateDistribution", "cloudfront:GetDistribution", "cloudfront:UpdateDistribution",
        "cloudfront:DeleteDistribution", "cloudfront:TagResource", "cloudfront:ListTagsForResource")],
    "aws:cloudfront/originAccessControl:OriginAccessControl": [(a, cloudfront("origin-access-control")) for a in (
        "cloudfront:CreateOriginAccessControl", "cloudfront:GetOriginAccessControl",
        "cloudfront:UpdateOriginAccessControl", "cloudfront:DeleteOriginAccessControl")],
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": [(a, cloudfront("response-headers-policy")) for a in (
        "cloudfront:CreateResponseHeadersPolicy", "cloudfront:GetResponseHeadersPolicy",
        "cloudfront:UpdateResponseHeadersPolicy", "cloudfront:DeleteResponseHeadersPolicy")],
    "aws:ec2/securityGroup:SecurityGroup": [(a, any_resource) for a in (
        "ec2:CreateSecurityGroup", "ec2:DescribeSecurityGroups", "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress", "ec2:DeleteSecurityGroup", "ec2:CreateTags")],
    "aws:ec2/vpcEndpoint:VpcEndpoint": [(a, any_resource) for a in (
        "ec2:CreateVpcEndpoint", "ec2:DescribeVpcEndpoints", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints",
        "ec2:DescribeVpcEndpointServices", "ec2:DescribePrefixLists")],
    # An endpoint policy or route-table association of a VPC endpoint (an S3 gateway endpoint, say).
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy": [(a, any_resource) for a in (
        "ec2:ModifyVpcEndpoint", "ec2:DescribeVpcEndpoints")],
    "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation": [(a, any_resource) for a in (
        "ec2:ModifyVpcEndpoint", "ec2:DescribeVpcEndpoints", "ec2:DescribeRouteTables")],
    # Custom domains (issue 13). API Gateway creates its service-linked role with the first regional
    # domain on an ACM certificate ("Set up a Regional custom domain name in API Gateway").
    "aws:apigateway/domainName:DomainName": [
        ("apigateway:POST", lambda _r, _x: f"arn:aws:apigateway:{REGION}::/domainnames"),
        ("iam:CreateServiceLinkedRole",
         lambda _r, _x: f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ops.apigateway.amazonaws.com/AWSServiceRoleForAPIGateway"),
    ] + [(a, lambda _r, d: d.state["arn"]) for a in ("apigateway:GET", "apigateway:PATCH", "apigateway:DELETE")],
    "aws:apigateway/basePathMapping:BasePathMapping": [
        (a, lambda _r, m: f"arn:aws:apigateway:{REGION}::/domainnames/{m.inputs['domainName']}/basepathmappings/(none)")
        for a in ("apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE")],
    "aws:apigateway/domainNameAccessAssociation:DomainNameAccessAssociation": [
        ("apigateway:POST", lambda _r, _x: f"arn:aws:apigateway:{REGION}::/domainnameaccessassociations"),
        # The consumer's side of the association: named in the domain's managementPolicy when shared
        # ("API provider: Share your private custom domain name using the API Gateway AWS CLI").
        ("apigateway:CreateAccessAssociation", lambda _r, a: a.inputs["domainNameArn"]),
    ] + [(a, lambda _r, a_: f"arn:aws:apigateway:{REGION}:{ACCOUNT}:/domainnameaccessassociations/domainname/"
                           f"{a_.inputs['domainNameArn'].rsplit('/', 1)[1]}/vpcesource/{a_.inputs['accessAssociationSource']}")
         for a in ("apigateway:GET", "apigateway:DELETE")],
    "aws:acm/certificate:Certificate": [("acm:RequestCertificate", any_resource)] + [
        (a, lambda _r, c: c.state["arn"]) for a in (
            "acm:DescribeCertificate", "acm:ListTagsForCertificate", "acm:AddTagsToCertificate", "acm:DeleteCertificate")],
    "aws:acm/certificateValidation:CertificateValidation": [
        ("acm:DescribeCertificate", lambda _r, v: v.inputs["certificateArn"])],
    "aws:route53/record:Record": [
        (a, lambda _r, rec: f"arn:aws:route53:::hostedzone/{rec.inputs['zoneId']}") for a in (
            "route53:ChangeResourceRecordSets", "route53:GetHostedZone", "route53:ListResourceRecordSets")] + [
        ("route53:GetChange", lambda _r, _x: "arn:aws:route53:::change/C0123456789ABCDEFGHIJ")],
    "awsx:ec2:Vpc": [(a, any_resource) for a in (
        "ec2:CreateVpc", "ec2:ModifyVpcAttribute", "ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:CreateSubnet",
        "ec2:DescribeSubnets", "ec2:CreateRouteTable", "ec2:AssociateRouteTable", "ec2:CreateRoute",
        "ec2:CreateInternetGateway", "ec2:AttachInternetGateway", "ec2:AllocateAddress", "ec2:CreateNatGateway",
        "ec2:DescribeNatGateways", "ec2:DescribeAvailabilityZones", "ec2:DeleteVpc", "ec2:DeleteSubnet",
        "ec2:DeleteNatGateway", "ec2:ReleaseAddress", "ec2:DetachInternetGateway", "ec2:DeleteInternetGateway",
        "ec2:DeleteRouteTable", "ec2:CreateTags")],
    "awsx:ecr:Repository": [
        (a, lambda _r, _x: _arn("ecr", "repository/agent-repository-1a2b3c4")) for a in (
            "ecr:CreateRepository", "ecr:DescribeRepositories", "ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy",
            "ecr:DeleteRepository", "ecr:TagResource", "ecr:ListTagsForResource")],
    "awsx:ecr:Image": [("ecr:GetAuthorizationToken", any_resource)] + [
        (a, lambda _r, _x: _arn("ecr", "repository/agent-repository-1a2b3c4")) for a in (
            "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage")],
}

# Data sources (provider calls) the program makes at preview and up, and what each needs.
CALLS: dict[str, list[str]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": ["sts:GetCallerIdentity"],
    "aws:index/getPartition:getPartition": [],
    "aws:index/getRegion:getRegion": [],
    "aws:ec2/getVpc:getVpc": ["ec2:DescribeVpcs"],
    "aws:index/getAvailabilityZones:getAvailabilityZones": ["ec2:DescribeAvailabilityZones"],
    "aws:ec2/getSubnet:getSubnet": ["ec2:DescribeSubnets"],
    "aws:ec2/getSubnets:getSubnets": ["ec2:DescribeSubnets"],
    "aws:ec2/getRouteTable:getRouteTable": ["ec2:DescribeRouteTables"],
    "aws:ec2/getRouteTables:getRouteTables": ["ec2:DescribeRouteTables"],
    "aws:ec2/getNatGateways:getNatGateways": ["ec2:DescribeNatGateways"],
    "aws:ec2/getVpcEndpoint:getVpcEndpoint": ["ec2:DescribeVpcEndpoints"],
    "aws:ec2/getPrefixList:getPrefixList": ["ec2:DescribePrefixLists"],
}

# Everything dev and prod leave out, in one more run (each run costs seconds), with a PRIVATE custom
# domain (association, alias); dev_variant_run has a REGIONAL one on a requested certificate.
VARIANTS = {
    "prod-cognito-cors-mail-existing-vpc-private-domain": ("prod", {
        f"{PROJECT}authMode": "cognito", f"{PROJECT}alarmEmail": "ops@example.com",
        f"{PROJECT}corsAllowedOrigins": ["https://chat.example.com"], f"{PROJECT}manageApiGatewayAccount": True,
        f"{PROJECT}vpcId": EXISTING_VPC_ID, f"{PROJECT}subnetIds": ["subnet-0x", "subnet-0y"],
        f"{PROJECT}customDomain": {"name": "agent.internal.example.com", "hostedZoneId": "Z0PRIVATE012345678",
                                   "certificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0d5f8e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"}}),
}


@pytest.fixture(scope="module")
def every_shape(dev_run: ProgramRun, prod_run: ProgramRun, dev_variant_run: ProgramRun) -> list[ProgramRun]:
    # dev_variant_run (tests/support/program_runs.py): the container artifact, an existing guardrail and a REGIONAL
    # custom domain on a requested certificate.
    runs = [dev_run, prod_run, dev_variant_run]
    for stack, overrides in VARIANTS.values():
        runs.append(run_program(stack, stack_config(stack, overrides=overrides)))
    return runs


def statements(path) -> list[dict]:
    document = json.loads(path.read_text())
    assert document["Version"] == "2012-10-17"
    return document["Statement"]


def deployer_statements(checkout: Path = REPO_ROOT) -> list[dict]:
    """Every statement of the deployer's policies: attached together, they grant as one."""
    paths = deployer_policies(checkout)
    assert paths, f"{checkout}/deploy has no deployer-policy-*.json"
    return [statement for path in paths for statement in statements(path)]


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def allows(policy: list[dict], action: str, resource: Optional[str]) -> bool:
    """An identity policy's verdict (Allow statements only; conditions are narrowing, not checked)."""
    for statement in policy:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
        if not any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in _listed(statement["Action"])):
            continue
        if resource is None or any(fnmatch.fnmatchcase(resource, pattern) for pattern in _listed(statement["Resource"])):
            return True
    return False


def test_the_evaluator_refuses_what_iam_refuses() -> None:
    policy = [{"Effect": "Allow", "Action": ["lambda:GetFunction"], "Resource": "arn:aws:lambda:*:*:function:app-*"}]
    assert allows(policy, "lambda:getfunction", "arn:aws:lambda:us-east-1:1:function:app-proxy")
    assert not allows(policy, "lambda:GetFunction", "arn:aws:lambda:us-east-1:1:function:other")
    assert not allows(policy, "lambda:DeleteFunction", "arn:aws:lambda:us-east-1:1:function:app-proxy")


def missing_actions(runs: list[ProgramRun], checkout: Path = REPO_ROOT) -> list[str]:
    policy = deployer_statements(checkout)
    missing: list[str] = []
    for run in runs:
        for resource in run.resources:
            if not resource.custom and not resource.remote:
                continue  # our own ComponentResources make no AWS call
            assert resource.type in REQUIRED, f"{resource.type} ({run.stack}) is new: list what it needs in REQUIRED"
            for action, arn_of in REQUIRED[resource.type]:
                arn = arn_of(run, resource)
                if not allows(policy, action, arn):
                    missing.append(f"{resource.type} {resource.name}: {action} on {arn or '*'}")
    return sorted(set(missing))


def test_every_resource_type_the_program_creates_has_its_actions_allowed(every_shape: list[ProgramRun]) -> None:
    missing = missing_actions(every_shape)
    assert not missing, "deploy/deployer-policy-*.json do not allow:\n" + "\n".join(missing)


def test_a_renamed_project_is_allowed_by_its_adopted_policy_and_refused_by_the_original(
    renamed_prod_run: ProgramRun, adopted_checkout: Path
) -> None:
    # `pulumi new --name my-agent`, then `python3 dev.py adopt-project-name agentcore-streaming`
    # (tests/support/program_runs.py): the policy's name patterns follow the project's name.
    missing = missing_actions([renamed_prod_run], adopted_checkout)
    assert not missing, "the adopted deployer-policy-*.json do not allow:\n" + "\n".join(missing)
    # The repository's own policies allow only agentcore-streaming-* names: IAM would refuse these.
    refused = missing_actions([renamed_prod_run])
    assert any(":function:my-agent-prod-proxy" in line for line in refused), refused


def test_the_hosted_page_resources_have_their_actions_allowed(
    dev_hosting_run: ProgramRun, prod_hosting_run: ProgramRun
) -> None:
    # pageHosting's shapes (program_runs.py, shared with tests/components/test_page_hosting.py): CloudFront, the
    # page bucket and its objects, and the Cognito login domain.
    missing = missing_actions([dev_hosting_run, prod_hosting_run])
    assert not missing, "deploy/deployer-policy-*.json do not allow:\n" + "\n".join(missing)
    for run in (dev_hosting_run, prod_hosting_run):
        for call in run.calls:
            assert call in CALLS, f"provider call {call} is new: list the actions it needs in CALLS"


def test_every_data_source_is_allowed_to_deploy_and_to_preview(every_shape: list[ProgramRun]) -> None:
    deployer, preview = deployer_statements(), statements(PREVIEW_POLICY)
    for run in every_shape:
        for call in run.calls:
            assert call in CALLS, f"provider call {call} is new: list the actions it needs in CALLS"
            for action in CALLS[call]:
                assert allows(deployer, action, None), action
                assert allows(preview, action, None), action


def test_the_preview_policy_is_read_only() -> None:
    for statement in statements(PREVIEW_POLICY):
        for action in _listed(statement["Action"]):
            verb = action.split(":", 1)[1]
            assert verb.startswith(("Describe", "Get", "List")), action


def test_the_deployer_may_not_do_what_no_resource_needs() -> None:
    policy = deployer_statements()
    # No service-wide wildcard actions, no administrator shortcuts.
    for statement in policy:
        for action in _listed(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), action
    # Roles: only the program's own, passed only to their services; nothing attaches managed policies.
    assert not allows(policy, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/Admin")
    assert not allows(policy, "iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/agent-role-1a2b3c4")
    assert not allows(policy, "iam:CreateUser", None)
    # The agent's model subscription is a separate, one-time administrator step (README).
    assert not allows(policy, "aws-marketplace:Subscribe", None)
    # Another project's function is out of reach.
    assert not allows(policy, "lambda:UpdateFunctionCode", _arn("lambda", "function:billing"))
