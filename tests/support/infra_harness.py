"""Run the real __main__.py under Pulumi mocks and record every resource it registers.

No Pulumi CLI and no AWS: the program runs in-process against a mock resource monitor. Mocks
compute the provider-side outputs the program reads (ARNs, URLs, the streaming invoke ARN) from
the inputs, supply the outputs of awsx's remote components (which register as one resource with
no children), and raise on any provider function (data source) nobody mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import runpy
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import get_root_resource, reset_options
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.project_name import deployer_policies
from packager import artifacts

REPO_ROOT = Path(__file__).resolve().parents[2]
# The deployer's grant, split by service into managed policies that are attached together.
DEPLOYER_POLICIES = deployer_policies(REPO_ROOT)
PROJECT = "agentcore-streaming"
# The name a user gives the project when starting anew from this one (`pulumi new --name my-agent`).
RENAMED_PROJECT = "my-agent"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
# dev in the shapes its own stack file does not show: the container artifact, an existing guardrail
# named by id and a REGIONAL custom domain (program_runs.py's dev_variant_run).
EXISTING_GUARDRAIL_ID = "ab12cd34ef56"
DEV_VARIANT_OVERRIDES = {
    "agentcore-streaming:agentArtifact": "container",
    "agentcore-streaming:guardrail": {"id": EXISTING_GUARDRAIL_ID, "version": "7"},
    # A REGIONAL custom domain on a certificate the stack requests (validation record, alias).
    "agentcore-streaming:customDomain": {"name": "api.example.com", "hostedZoneId": "Z0PUBLIC0123456789"},
    "agentcore-streaming:disableExecuteApiEndpoint": True,
}
EXISTING_VPC_CIDR = "10.99.0.0/16"

# Outputs of awsx remote components. Fixed values, never echoes of the inputs, so a test cannot
# pass by reading back what the program itself wrote.
MOCK_VPC_OUTPUTS = {
    "vpcId": "vpc-0mock0000000000001",
    "privateSubnetIds": ["subnet-0private000000a", "subnet-0private000000b"],
    "publicSubnetIds": ["subnet-0public0000000a", "subnet-0public0000000b"],
    "isolatedSubnetIds": [],
}
MOCK_REPOSITORY_NAME = "agent-repository-0mock"
MOCK_REPOSITORY_URL = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{MOCK_REPOSITORY_NAME}"
MOCK_IMAGE_URI = f"{MOCK_REPOSITORY_URL}@sha256:{'ab' * 32}"
MOCK_API_KEY_VALUE = "mock-generated-api-key-0123456789"
MOCK_USER_POOL_ID = f"{REGION}_MockPool1"
# CreateUserPoolClient answers a 26-character lower-case alphanumeric id (ClientIdType: [\w+]+).
MOCK_USER_POOL_CLIENT_ID = "1h57kf5cpq17m0eml12example"
# What CloudFront names a distribution: a generated host under cloudfront.net (never derived from
# the program's inputs, so a test cannot pass by reading back what the program wrote).
MOCK_DISTRIBUTION_DOMAIN = "d1mock2page3cdn.cloudfront.net"
# What the providers generate: Terraform's unique suffix after a name_prefix, pulumi_random's hex.
# These are the first deployment's; a later one (run_program(generation=N)) draws others, as AWS and
# pulumi_random would after the stack was destroyed and deployed again.
MOCK_NAME_PREFIX_SUFFIX = "20260101000000000000000001"
# S3 bucket names are 3 to 63 characters (Amazon S3 User Guide, "General purpose bucket naming rules").
S3_BUCKET_NAME_MAX_LENGTH = 63
MOCK_RANDOM_HEX = "0a2094c6"


def generated_suffix(generation: int) -> str:
    return MOCK_NAME_PREFIX_SUFFIX if generation == 1 else f"{20260101000000000000000000 + generation:026d}"


def generated_hex(generation: int) -> str:
    return MOCK_RANDOM_HEX if generation == 1 else f"{0x0A2094C6 + generation:08x}"
# AgentCore gives a memory the id "<name>-<10 random characters>".
MOCK_MEMORY_ID_SUFFIX = "-Mock4Mem01"


# The mocked account's zones behave like a real account's: zone *names* map to zone *ids* in an
# order of the account's own (here the first two names are in zones AgentCore VPC mode refuses),
# so code that takes "the first two names" lands in the wrong zones, as it would on AWS.
ACCOUNT_ZONES: tuple[tuple[str, str], ...] = (
    ("us-east-1a", "use1-az6"),
    ("us-east-1b", "use1-az3"),
    ("us-east-1c", "use1-az5"),
    ("us-east-1d", "use1-az2"),
    ("us-east-1e", "use1-az1"),
    ("us-east-1f", "use1-az4"),
)
ZONE_ID_BY_NAME = dict(ACCOUNT_ZONES)

# Existing networks of the mocked account: subnets (id -> vpc, zone name) and route tables. A
# subnet without an explicit association uses its VPC's main table, as in EC2.
EXISTING_VPC_ID = "vpc-0existing"
EXISTING_SUBNETS: dict[str, tuple[str, str]] = {
    "subnet-0x": (EXISTING_VPC_ID, "us-east-1e"),  # use1-az1, NAT route
    "subnet-0y": (EXISTING_VPC_ID, "us-east-1d"),  # use1-az2, NAT route
    "subnet-0isolated": (EXISTING_VPC_ID, "us-east-1f"),  # use1-az4, main table: local route only
    "subnet-0public": (EXISTING_VPC_ID, "us-east-1f"),  # use1-az4, default route to an internet gateway
    "subnet-0s3only": (EXISTING_VPC_ID, "us-east-1e"),  # use1-az1, S3 gateway endpoint, no NAT
    "subnet-0wrongzone": (EXISTING_VPC_ID, "us-east-1a"),  # use1-az6: AgentCore refuses it
    "subnet-0othervpc": ("vpc-0other", "us-east-1e"),
}
_LOCAL_ROUTE: dict[str, Any] = {"cidrBlock": "10.99.0.0/16", "gatewayId": "local"}
EXISTING_ROUTE_TABLES: tuple[dict[str, Any], ...] = (
    {"routeTableId": "rtb-0main", "vpcId": EXISTING_VPC_ID, "main": True, "subnets": [],
     "routes": [_LOCAL_ROUTE]},
    {"routeTableId": "rtb-0private", "vpcId": EXISTING_VPC_ID, "main": False,
     "subnets": ["subnet-0x", "subnet-0y", "subnet-0wrongzone"],
     "routes": [_LOCAL_ROUTE, {"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-0mock"}]},
    {"routeTableId": "rtb-0public", "vpcId": EXISTING_VPC_ID, "main": False, "subnets": ["subnet-0public"],
     "routes": [_LOCAL_ROUTE, {"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-0mock"}]},
    {"routeTableId": "rtb-0s3only", "vpcId": EXISTING_VPC_ID, "main": False, "subnets": ["subnet-0s3only"],
     "routes": [_LOCAL_ROUTE, {"destinationPrefixListId": "pl-63a5400a", "gatewayId": "vpce-0s3mock"}]},
)


class UnmockedCallError(AssertionError):
    pass


class NotFoundError(RuntimeError):
    """What the AWS provider raises when a data source matches nothing."""


def _filter_values(args: Mapping[str, Any], name: str) -> Optional[list[str]]:
    for entry in args.get("filters") or []:
        if entry["name"] == name:
            return list(entry["values"])
    return None


def availability_zones(args: Mapping[str, Any]) -> dict[str, Any]:
    """ec2:DescribeAvailabilityZones over ACCOUNT_ZONES, with the filters the program may pass."""
    zones = list(ACCOUNT_ZONES)
    for filter_name, position in (("zone-name", 0), ("zone-id", 1)):
        wanted = _filter_values(args, filter_name)
        if wanted is not None:
            zones = [zone for zone in zones if zone[position] in wanted]
    state = _filter_values(args, "state") or ([args["state"]] if args.get("state") else None)
    if state is not None and "available" not in state:
        zones = []
    opt_in = _filter_values(args, "opt-in-status")
    if opt_in is not None and "opt-in-not-required" not in opt_in:
        zones = []
    return {"id": REGION, "names": [z[0] for z in zones], "zoneIds": [z[1] for z in zones],
            "groupNames": [REGION for _ in zones]}


def existing_subnet(args: Mapping[str, Any]) -> dict[str, Any]:
    subnet_id = args.get("id")
    if subnet_id not in EXISTING_SUBNETS:
        raise NotFoundError(f"no matching EC2 Subnet found ({subnet_id})")
    vpc_id, zone_name = EXISTING_SUBNETS[subnet_id]
    return {"id": subnet_id, "vpcId": vpc_id, "availabilityZone": zone_name,
            "availabilityZoneId": ZONE_ID_BY_NAME[zone_name], "cidrBlock": "10.99.1.0/24", "state": "available"}


def _route_table_state(table: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": table["routeTableId"], "routeTableId": table["routeTableId"], "vpcId": table["vpcId"],
            "routes": [dict(route) for route in table["routes"]]}


def existing_route_tables(args: Mapping[str, Any]) -> dict[str, Any]:
    tables = [t for t in EXISTING_ROUTE_TABLES if args.get("vpcId") in (None, t["vpcId"])]
    subnet_ids = _filter_values(args, "association.subnet-id")
    if subnet_ids is not None:
        tables = [t for t in tables if set(t["subnets"]) & set(subnet_ids)]
    return {"id": REGION, "ids": [t["routeTableId"] for t in tables]}


def existing_route_table(args: Mapping[str, Any]) -> dict[str, Any]:
    tables = [t for t in EXISTING_ROUTE_TABLES if args.get("vpcId") in (None, t["vpcId"])]
    if args.get("routeTableId"):
        tables = [t for t in tables if t["routeTableId"] == args["routeTableId"]]
    if args.get("subnetId"):
        tables = [t for t in tables if args["subnetId"] in t["subnets"]]
    if _filter_values(args, "association.main") == ["true"]:
        tables = [t for t in tables if t["main"]]
    if len(tables) != 1:
        raise NotFoundError(f"query returned {len(tables)} route tables, expected one ({dict(args)})")
    return _route_table_state(tables[0])


@dataclass
class RecordedResource:
    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    parent: str
    custom: bool
    remote: bool
    protect: bool
    retain_on_delete: bool
    depends_on: list[str]
    # What the provider (mock) returned: inputs plus computed outputs such as generated names.
    state: dict[str, Any] = field(default_factory=dict)
    # Former types this resource answers to (its aliases' type tokens), e.g. after a rename.
    alias_types: list[str] = field(default_factory=list)
    # Properties whose change replaces the resource (ResourceOptions.replace_on_changes).
    replace_on_changes: list[str] = field(default_factory=list)


@dataclass
class ProgramRun:
    stack: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    calls: list[str] = field(default_factory=list)
    # What the program told the engine with pulumi.log.warn (shown at preview and up).
    warnings: list[str] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> RecordedResource:
        found = self.of_type(type_token)
        assert len(found) == 1, f"expected one {type_token}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> RecordedResource:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource:
        return next(r for r in self.resources if r.urn == urn)


def log_group_name(group: "RecordedResource") -> str:
    """The name AWS gives a recorded log group: its fixed name, or its prefix plus the unique suffix."""
    return group.inputs.get("name") or f"{group.inputs['namePrefix']}{MOCK_NAME_PREFIX_SUFFIX}"


def _arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def computed_outputs(
    type_token: str, name: str, resource_id: str, inputs: Mapping[str, Any], generation: int = 1
) -> dict[str, Any]:
    """What the AWS provider would add to a resource's state, derived like AWS derives it."""
    if type_token == "aws:lambda/function:Function":
        arn = _arn("lambda", f"function:{inputs['name']}")
        path = f"arn:aws:apigateway:{REGION}:lambda:path"
        return {
            "arn": arn,
            "invokeArn": f"{path}/2015-03-31/functions/{arn}/invocations",
            "responseStreamingInvokeArn": f"{path}/2021-11-15/functions/{arn}/response-streaming-invocations",
        }
    if type_token == "aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime":
        # CreateAgentRuntime answers "<name>-<10 letters or digits>" (the proxy checks that shape).
        runtime_id = f"{inputs['agentRuntimeName']}-Mock123456"
        return {"agentRuntimeId": runtime_id, "agentRuntimeArn": _arn("bedrock-agentcore", f"runtime/{runtime_id}")}
    if type_token == "aws:apigateway/restApi:RestApi":
        return {"executionArn": _arn("execute-api", resource_id), "rootResourceId": "rootmock01"}
    if type_token == "aws:apigateway/stage:Stage":
        api, stage = inputs["restApi"], inputs["stageName"]
        return {
            "arn": f"arn:aws:apigateway:{REGION}::/restapis/{api}/stages/{stage}",
            "invokeUrl": f"https://{api}.execute-api.{REGION}.amazonaws.com/{stage}",
        }
    if type_token == "aws:s3/bucket:Bucket":
        bucket = f"{inputs.get('bucketPrefix', name)}{generated_suffix(generation)}"
        return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}",
                "bucketRegionalDomainName": f"{bucket}.s3.{REGION}.amazonaws.com"}
    if type_token == "aws:cloudfront/distribution:Distribution":
        # CloudFront ARNs are global: no region.
        return {"arn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{resource_id}",
                "domainName": MOCK_DISTRIBUTION_DOMAIN, "hostedZoneId": "Z2FDTNDATAQYW2"}
    if type_token == "aws:cloudwatch/logGroup:LogGroup":
        # A name_prefix gets the provider's 26-character unique suffix, as Terraform's does.
        group = inputs.get("name") or f"{inputs['namePrefix']}{generated_suffix(generation)}"
        return {"name": group, "arn": _arn("logs", f"log-group:{group}")}
    if type_token == "random:index/randomId:RandomId":
        return {"hex": generated_hex(generation)}
    if type_token == "aws:iam/role:Role":
        return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}-mock", "name": f"{name}-mock"}
    if type_token == "aws:apigateway/apiKey:ApiKey":
        return {"value": MOCK_API_KEY_VALUE}
    if type_token == "aws:bedrock/agentcoreMemory:AgentcoreMemory":
        return {"arn": _arn("bedrock-agentcore", f"memory/{resource_id}")}
    if type_token == "aws:cognito/userPool:UserPool":
        return {"arn": _arn("cognito-idp", f"userpool/{resource_id}")}
    if type_token == "aws:kms/key:Key":
        return {"arn": _arn("kms", f"key/{resource_id}"), "keyId": resource_id}
    if type_token == "aws:sns/topic:Topic":
        return {"arn": _arn("sns", inputs["name"])}
    if type_token == "aws:wafv2/webAcl:WebAcl":
        return {"arn": _arn("wafv2", f"regional/webacl/{inputs['name']}/{resource_id}")}
    if type_token == "aws:apigateway/domainName:DomainName":
        return domain_name_outputs(inputs)
    if type_token == "aws:acm/certificate:Certificate":
        return {"arn": _arn("acm", f"certificate/{MOCK_CERTIFICATE_UUID}"), "domainValidationOptions": [{
            "domainName": inputs["domainName"],
            "resourceRecordName": f"_0a1b2c3d4e5f.{inputs['domainName']}.",
            "resourceRecordType": "CNAME",
            "resourceRecordValue": "_9f8e7d6c5b4a.mockvalidation.acm-validations.aws.",
        }]}
    if type_token == "aws:route53/record:Record":
        return {"fqdn": inputs["name"].rstrip(".")}
    if type_token == "aws:ec2/vpcEndpoint:VpcEndpoint":
        return {"arn": _arn("ec2", f"{name}/{resource_id}"), "dnsEntries": vpc_endpoint_dns_entries(resource_id)}
    if type_token == "aws:bedrock/guardrail:Guardrail":
        # CreateGuardrail answers a 12-character lower-case id and the ARN built from it; a new
        # guardrail starts as the DRAFT version.
        return {"guardrailId": resource_id, "guardrailArn": _arn("bedrock", f"guardrail/{resource_id}"),
                "version": "DRAFT"}
    service = type_token.split(":")[1].split("/")[0]
    return {"arn": _arn(service, f"{name}/{resource_id}")}


MOCK_CERTIFICATE_UUID = "0d5f8e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"
MOCK_DOMAIN_NAME_ID = "a1b2c3d4e5"
# API Gateway's Route 53 zone for regional endpoints in us-east-1, and an interface endpoint's.
REGIONAL_API_ZONE_ID = "Z1UJRXOUMOOFQ8"
VPC_ENDPOINT_ZONE_ID = "Z7HUB22UULQXV"


def domain_name_outputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A custom domain name's ARN and targets, as API Gateway forms them for each endpoint type."""
    name = inputs["domainName"]
    if inputs["endpointConfiguration"]["types"] == "PRIVATE":
        # Private domain names are identified by name + id, and their ARN carries the account.
        return {"arn": f"arn:aws:apigateway:{REGION}:{ACCOUNT_ID}:/domainnames/{name}+{MOCK_DOMAIN_NAME_ID}",
                "domainNameId": MOCK_DOMAIN_NAME_ID}
    return {"arn": f"arn:aws:apigateway:{REGION}::/domainnames/{name}",
            "regionalDomainName": f"d-mock0domain.execute-api.{REGION}.amazonaws.com",
            "regionalZoneId": REGIONAL_API_ZONE_ID}


def vpc_endpoint_dns_entries(endpoint_id: str) -> list[dict[str, str]]:
    """An execute-api interface endpoint's names: zonal, regional, and the private DNS name. EC2 does
    not document an order, so the zonal one comes first here."""
    return [
        {"dnsName": f"{endpoint_id}-us-east-1e.execute-api.{REGION}.vpce.amazonaws.com", "hostedZoneId": VPC_ENDPOINT_ZONE_ID},
        {"dnsName": f"{endpoint_id}.execute-api.{REGION}.vpce.amazonaws.com", "hostedZoneId": VPC_ENDPOINT_ZONE_ID},
        {"dnsName": f"execute-api.{REGION}.amazonaws.com", "hostedZoneId": "ZONEPRIVATEDNS"},
    ]


def check_custom_domain(type_token: str, inputs: Mapping[str, Any]) -> None:
    """What API Gateway refuses when a custom domain is created or mapped."""
    if type_token == "aws:apigateway/domainName:DomainName":
        kind = inputs["endpointConfiguration"]["types"]
        certificate = inputs.get("regionalCertificateArn") if kind == "REGIONAL" else inputs.get("certificateArn")
        if not certificate:
            raise AwsRefusal(f"BadRequestException: a {kind} domain name needs its certificate "
                             f"({'regionalCertificateArn' if kind == 'REGIONAL' else 'certificateArn'})")
        if f":acm:{REGION}:" not in certificate:
            raise AwsRefusal("BadRequestException: the certificate must be in the API's region")
        if kind != "PRIVATE" and inputs.get("policy"):
            raise AwsRefusal("BadRequestException: policy is supported only for private custom domain names")
    if type_token == "aws:apigateway/basePathMapping:BasePathMapping" and "+" in str(inputs.get("domainName")):
        raise AwsRefusal("BadRequestException: domainName is the name, not the ARN")


# AgentCore's own list for us-east-1, as its CreateAgentRuntime error states it ("Supported
# availability zones are: use1-az4, use1-az1, use1-az2"); kept apart from stack_config/regions.py on
# purpose, so the program's table is checked against AWS's behaviour, not against itself.
AGENTCORE_ACCEPTED_ZONE_IDS = ("use1-az4", "use1-az1", "use1-az2")


class AwsRefusal(RuntimeError):
    """What a create call would fail with on AWS."""


class InfraMocks(pulumi.runtime.Mocks):
    def __init__(self, generation: int = 1) -> None:
        self.calls: list[str] = []
        self.generation = generation
        # Versions published per guardrail ARN.
        self.guardrail_versions: dict[str, int] = {}
        # Zone name of every subnet the account has (existing ones, and a new VPC's once created).
        self.subnet_zones: dict[str, str] = {sid: zone for sid, (_vpc, zone) in EXISTING_SUBNETS.items()}
        self.private_domain_names: set[str] = set()

    def _new_vpc(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        # awsx puts one private subnet in each named zone, or in the account's first N zone names.
        names = args.inputs.get("availabilityZoneNames")
        if names is None:
            names = [name for name, _id in ACCOUNT_ZONES][: int(args.inputs.get("numberOfAvailabilityZones", 3))]
        unknown = [n for n in names if n not in ZONE_ID_BY_NAME]
        if unknown:
            raise AwsRefusal(f"awsx.ec2.Vpc: unknown availability zones {unknown}")
        outputs = dict(MOCK_VPC_OUTPUTS)
        outputs["privateSubnetIds"] = outputs["privateSubnetIds"][: len(names)]
        outputs["publicSubnetIds"] = outputs["publicSubnetIds"][: len(names)]
        for subnet_ids in (outputs["privateSubnetIds"], outputs["publicSubnetIds"]):
            self.subnet_zones.update(zip(subnet_ids, names))
        return outputs

    def _check_agent_subnets(self, inputs: Mapping[str, Any]) -> None:
        """CreateAgentRuntime refuses subnets outside AgentCore's zones, naming them like AWS does."""
        network = inputs.get("networkConfiguration") or {}
        subnets = (network.get("networkModeConfig") or {}).get("subnets") or []
        refused = [
            f"{sid} in {self.subnet_zones[sid]} (ID: {ZONE_ID_BY_NAME[self.subnet_zones[sid]]})"
            for sid in subnets if ZONE_ID_BY_NAME[self.subnet_zones[sid]] not in AGENTCORE_ACCEPTED_ZONE_IDS
        ]
        if refused:
            raise AwsRefusal(
                f"The following subnets are in unsupported availability zones in region {REGION}: "
                f"{', '.join(refused)}. Supported availability zones are: {', '.join(AGENTCORE_ACCEPTED_ZONE_IDS)}"
            )

    @staticmethod
    def _check_cognito(type_token: str, inputs: Mapping[str, Any]) -> None:
        """What CreateUserPoolClient and CreateUserPoolDomain refuse, with their words (AWS API reference)."""
        if type_token == "aws:cognito/userPoolClient:UserPoolClient":
            flows = set(inputs.get("allowedOauthFlows") or [])
            if flows & {"code", "implicit"} and not inputs.get("callbackUrls"):
                raise AwsRefusal("InvalidOAuthFlowException: CallbackUrls can not be empty when code flow or "
                                 "implicit flow is selected")
        if type_token == "aws:cognito/userPoolDomain:UserPoolDomain":
            if not re.fullmatch(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?", str(inputs.get("domain", ""))):
                raise AwsRefusal(f"InvalidParameterException: domain {inputs.get('domain')!r} must satisfy "
                                 "^[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?$")
            for word in ("aws", "amazon", "cognito"):  # what users of CreateUserPoolDomain report it says
                if word in str(inputs.get("domain", "")):
                    raise AwsRefusal(f"InvalidParameterException: Domain cannot contain reserved word: {word}")

    @staticmethod
    def _check_bucket(type_token: str, inputs: Mapping[str, Any]) -> None:
        """The provider refuses a bucket_prefix that its unique suffix would take past S3's name limit."""
        prefix = inputs.get("bucketPrefix") if type_token == "aws:s3/bucket:Bucket" else None
        longest = S3_BUCKET_NAME_MAX_LENGTH - len(MOCK_NAME_PREFIX_SUFFIX)
        if prefix is not None and len(prefix) > longest:
            raise AwsRefusal(f"expected length of bucket_prefix to be in the range (0 - {longest}), got {prefix}")

    @staticmethod
    def _check_guardrail(inputs: Mapping[str, Any]) -> None:
        """CreateGuardrail's own checks (botocore's bedrock model, and its PROMPT_ATTACK rule)."""
        if not re.fullmatch(r"[0-9a-zA-Z-_]{1,50}", inputs.get("name", "")):
            raise AwsRefusal(f"CreateGuardrail: invalid name {inputs.get('name')!r}")
        for key in ("blockedInputMessaging", "blockedOutputsMessaging"):
            if not 1 <= len(inputs.get(key) or "") <= 500:
                raise AwsRefusal(f"CreateGuardrail: {key} must be 1-500 characters")
        for entry in (inputs.get("contentPolicyConfig") or {}).get("filtersConfigs") or []:
            if entry["type"] == "PROMPT_ATTACK" and entry["outputStrength"] != "NONE":
                raise AwsRefusal("CreateGuardrail: PROMPT_ATTACK content filter strength for response must be NONE")
        if not any(inputs.get(key) for key in ("contentPolicyConfig", "topicPolicyConfig",
                                                "sensitiveInformationPolicyConfig", "wordPolicyConfig",
                                                "contextualGroundingPolicyConfig")):
            raise AwsRefusal("CreateGuardrail: at least one policy is required")

    def _publish_guardrail_version(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        """CreateGuardrailVersion numbers a guardrail's versions 1, 2, ... in order."""
        arn = args.inputs["guardrailArn"]
        number = self.guardrail_versions.get(arn, 0) + 1
        self.guardrail_versions[arn] = number
        return f"{arn},{number}", {**args.inputs, "version": str(number)}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        self._check_cognito(args.typ, args.inputs)
        self._check_bucket(args.typ, args.inputs)
        if args.typ == "awsx:ec2:Vpc":
            return f"{args.name}-id", self._new_vpc(args)
        if args.typ == "aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime":
            self._check_agent_subnets(args.inputs)
        check_custom_domain(args.typ, args.inputs)
        self._check_private_mapping(args.typ, args.inputs)
        if args.typ == "aws:bedrock/guardrail:Guardrail":
            self._check_guardrail(args.inputs)
        if args.typ == "aws:bedrock/guardrailVersion:GuardrailVersion":
            return self._publish_guardrail_version(args)
        if args.typ == "awsx:ecr:Repository":
            return f"{args.name}-id", {"url": MOCK_REPOSITORY_URL}
        if args.typ == "awsx:ecr:Image":
            return f"{args.name}-id", {"imageUri": MOCK_IMAGE_URI}
        if not args.custom:
            return "", {}  # a local ComponentResource: it has no provider state
        resource_id = self._resource_id(args)
        state = dict(args.inputs)
        for key, value in computed_outputs(args.typ, args.name, resource_id, args.inputs, self.generation).items():
            state.setdefault(key, value)
        return resource_id, state

    def _check_private_mapping(self, type_token: str, inputs: Mapping[str, Any]) -> None:
        """CreateBasePathMapping needs domainNameId for a private custom domain name (botocore's
        apigateway model: "Required for private custom domain names")."""
        if type_token == "aws:apigateway/domainName:DomainName" and inputs["endpointConfiguration"]["types"] == "PRIVATE":
            self.private_domain_names.add(inputs["domainName"])
        if (type_token == "aws:apigateway/basePathMapping:BasePathMapping"
                and inputs.get("domainName") in self.private_domain_names and not inputs.get("domainNameId")):
            raise AwsRefusal("BadRequestException: domainNameId is required for a private custom domain name")

    def _resource_id(self, args: pulumi.runtime.MockResourceArgs) -> str:
        # Ids shaped like the real ones where the program passes them on (memory id, pool id).
        if args.typ == "aws:bedrock/agentcoreMemory:AgentcoreMemory":
            return f"{args.inputs['name']}{MOCK_MEMORY_ID_SUFFIX}"
        if args.typ == "aws:cognito/userPool:UserPool":
            return MOCK_USER_POOL_ID
        if args.typ == "aws:cognito/userPoolClient:UserPoolClient":
            return MOCK_USER_POOL_CLIENT_ID
        if args.typ == "aws:bedrock/guardrail:Guardrail":
            return f"gr{self.generation:02d}mock1234"[:12]
        # AWS draws a new id for every resource it creates (a REST API's id, ...), so a later
        # deployment of the same stack gets other ids.
        return f"{args.name}-id" if self.generation == 1 else f"{args.name}-id{self.generation}"

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        self.calls.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/mock",
                    "userId": "AIDAMOCK", "id": ACCOUNT_ID}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": "aws"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION, "description": "US East (N. Virginia)",
                    "endpoint": f"ec2.{REGION}.amazonaws.com"}
        if args.token == "aws:ec2/getVpc:getVpc":
            return {"id": args.args["id"], "cidrBlock": EXISTING_VPC_CIDR}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return availability_zones(args.args)
        if args.token == "aws:ec2/getSubnet:getSubnet":
            return existing_subnet(args.args)
        if args.token == "aws:ec2/getRouteTables:getRouteTables":
            return existing_route_tables(args.args)
        if args.token == "aws:ec2/getRouteTable:getRouteTable":
            return existing_route_table(args.args)
        # A forgotten data source must fail the test, not resolve to None.
        raise UnmockedCallError(f"unmocked provider call {args.token}")


class _RecordingLogHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:
            self.warnings.append(record.getMessage())


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor, plus a record of each registration's inputs and options."""

    def __init__(self, mocks: InfraMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        recorded = RecordedResource(
            type=request.type,
            name=request.name,
            urn=response.urn,
            inputs=rpc.deserialize_properties(request.object),
            parent=request.parent,
            custom=request.custom,
            remote=request.remote,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            depends_on=list(request.dependencies),
            state=rpc.deserialize_properties(response.object) if response.object else {},
            alias_types=[a.spec.type for a in request.aliases if a.HasField("spec") and a.spec.type],
            replace_on_changes=list(request.replaceOnChanges),
        )
        with self._lock:
            self.recorded.append(recorded)
        return response


def _config_string(value: Any) -> str:
    # The CLI hands every value to the program as a string, structured ones as JSON.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def project_name(root: Path = REPO_ROOT) -> str:
    """The project's name as the CLI takes it: Pulumi.yaml's `name` (what `pulumi new` writes)."""
    return str(yaml.safe_load((root / "Pulumi.yaml").read_text())["name"])


def stack_config(stack: str, root: Path = REPO_ROOT, overrides: Optional[Mapping[str, Any]] = None) -> dict[str, str]:
    """Pulumi.yaml defaults merged with Pulumi.<stack>.yaml (and overrides), as the CLI does."""
    project_file = yaml.safe_load((root / "Pulumi.yaml").read_text())
    config: dict[str, Any] = {}
    for key, spec in project_file.get("config", {}).items():
        full_key = key if ":" in key else f"{project_file['name']}:{key}"
        if isinstance(spec, dict) and ("default" in spec or "value" in spec):
            config[full_key] = spec.get("value", spec.get("default"))
        elif not isinstance(spec, dict):
            config[full_key] = spec
    stack_file = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text())
    config.update(stack_file.get("config", {}) or {})
    config.update(overrides or {})
    return {key: _config_string(value) for key, value in config.items()}


# What a copy of the checkout needs to run the program as a user's clone would: the program, its
# stack files, the sources it zips or serves, and the tools that edit its files.
CHECKOUT_FOLDERS = ("agent", "proxy", "streaming_shared", "web", "deploy", "components", "stack_config", "packager")
CHECKOUT_FILES = ("__main__.py", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "constraints.txt", "dev.py")


def copy_checkout(destination: Path) -> Path:
    """A copy of the checkout at `destination`, sharing the checkout's installed zip dependencies."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".build", "node_modules")
    for folder in CHECKOUT_FOLDERS:
        shutil.copytree(REPO_ROOT / folder, destination / folder, ignore=ignore)
    for file_name in CHECKOUT_FILES:
        shutil.copy2(REPO_ROOT / file_name, destination / file_name)
    (destination / ".build").mkdir()
    (destination / ".build" / "deps").symlink_to(REPO_ROOT / ".build" / "deps")
    return destination


def pulumi_new(root: Path, project: str, stack: str = "dev") -> None:
    """What `pulumi new <this repository> --name <project> --stack <stack> --yes` leaves in the copy at
    `root` (pulumi/pulumi pkg/cmd/pulumi/project/newcmd: new.go and config.go): Pulumi.yaml under the
    new name, without its template section, tagged with the template; the template's prompts answered
    with their defaults and saved into Pulumi.<stack>.yaml, namespaced by the new name (the file's
    other keys kept); every other stack file as it was."""
    project_path = root / "Pulumi.yaml"
    project_file = yaml.safe_load(project_path.read_text())
    prompts = project_file.pop("template")["config"]
    project_file["name"] = project
    project_file["config"]["pulumi:tags"] = {"value": {"pulumi:template": "https://github.com/example/agentcore-streaming"}}
    project_path.write_text(yaml.safe_dump(project_file, sort_keys=False))
    stack_path = root / f"Pulumi.{stack}.yaml"
    stack_file = yaml.safe_load(stack_path.read_text()) if stack_path.exists() else {}
    values = stack_file.setdefault("config", {})
    for key, prompt in prompts.items():
        values[key if ":" in key else f"{project}:{key}"] = prompt["default"]
    stack_path.write_text(yaml.safe_dump(stack_file, sort_keys=False))


# --- zips built once per process ------------------------------------------------------------
# Every run of the program builds both code zips (tens of MB of deflate: most of a run's time). A
# build is a pure function of the zip's file names, modes and contents (build_zip promises equal
# bytes for equal inputs), so within run_program a build whose inputs and destination match an
# earlier one in this process returns that build instead of compressing again. Any edited source
# (as in test_editing_the_agent_changes_the_s3_key) changes the key and builds for real.
_real_build_zip = artifacts.build_zip
_ZIP_BUILDS: dict[tuple[Any, ...], artifacts.CodeZip] = {}


def _file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "blake2b").hexdigest()


def _build_zip_once(
    sources: Any, destination: Path, *, executables: Any = (), exclude: Any = artifacts.is_never_deployed
) -> artifacts.CodeZip:
    entries = artifacts._collect_entries(sources, exclude)
    key = (str(destination), tuple(sorted(
        (name, artifacts._file_mode(path, name, executables), _file_digest(path)) for name, path in entries.items()
    )))
    built = _ZIP_BUILDS.get(key)
    if built is not None and destination.is_file() and destination.stat().st_size == built.size:
        return built
    built = _real_build_zip(sources, destination, executables=executables, exclude=exclude)
    _ZIP_BUILDS[key] = built
    return built


@contextlib.contextmanager
def zips_built_once() -> Any:
    # Put back exactly what was there: a test that swaps _real_build_zip (test_bytecode.py) must not
    # leave its stand-in behind as artifacts.build_zip for the tests after it in the same process.
    previous = artifacts.build_zip
    artifacts.build_zip = _build_zip_once
    try:
        yield
    finally:
        artifacts.build_zip = previous


@dataclass(frozen=True)
class CheckoutZips:
    """The checkout's two code zips, as `pulumi up` builds them into .build/."""

    proxy: artifacts.CodeZip
    agent: artifacts.CodeZip


def build_checkout_zips() -> CheckoutZips:
    """Build the checkout's zips (and install their dependencies) as the program would, so that the
    program's runs in this process find them built. Called once per process, by the first test that
    needs them (conftest.py's checkout_zips fixture), never at collection."""
    with zips_built_once():
        return CheckoutZips(proxy=artifacts.build_proxy_zip(REPO_ROOT), agent=artifacts.build_agent_zip(REPO_ROOT))


def run_program(
    stack: str,
    config: Mapping[str, str],
    main_path: Path = REPO_ROOT / "__main__.py",
    generation: int = 1,
) -> ProgramRun:
    """Run __main__.py once as stack `stack`; raise whatever the program raises.

    `generation` numbers deployments of the same stack: a later one gets other generated names
    (name prefixes' suffixes, random ids), as a stack destroyed and deployed again does.
    """
    # The program runs as the project its Pulumi.yaml names, as under the CLI.
    project = project_name(main_path.parent)
    # Fresh loop and fresh global state, so one run never sees another's resources or outputs.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    reset_options(project=project, stack=stack, preview=False)
    pulumi.runtime.set_all_config(dict(config), [])
    mocks = InfraMocks(generation)
    monitor = RecordingMonitor(mocks)
    # The mock engine hands pulumi.log messages to this logger, as the real engine shows them.
    engine_log = logging.getLogger(f"infra_harness.engine.{stack}.{id(mocks)}")
    engine_log.propagate = False
    log_handler = _RecordingLogHandler()
    engine_log.addHandler(log_handler)
    # preview=False: with a preview, apply callbacks never run and assertions on them pass vacuously.
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, logger=engine_log, monitor=monitor)
    try:
        with zips_built_once():
            _sync_await(run_pulumi_func(lambda: runpy.run_path(str(main_path), run_name="__main__")))
        root = get_root_resource()
        exported = dict(root.outputs) if root is not None else {}  # type: ignore[attr-defined]
        outputs: dict[str, Any] = {}
        secret: set[str] = set()
        for key, value in exported.items():
            output = pulumi.Output.from_input(value)
            outputs[key] = _sync_await(output.future())
            if _sync_await(output.is_secret()):
                secret.add(key)
        return ProgramRun(stack=stack, resources=list(monitor.recorded), outputs=outputs,
                          secret_outputs=secret, calls=list(mocks.calls), warnings=list(log_handler.warnings))
    finally:
        reset_options(project=project, stack=stack, preview=False)
        asyncio.set_event_loop(None)
        loop.close()
