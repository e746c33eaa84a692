"""The real __main__.py under mocks, once per stack with the stack's own files."""

from __future__ import annotations

import json
import re
import stat
import zipfile
from pathlib import Path

import pulumi
import pytest
from tests.support.infra_harness import (
    EXISTING_VPC_CIDR,
    MOCK_API_KEY_VALUE,
    MOCK_IMAGE_URI,
    MOCK_NAME_PREFIX_SUFFIX,
    MOCK_REPOSITORY_NAME,
    MOCK_REPOSITORY_URL,
    MOCK_VPC_OUTPUTS,
    REPO_ROOT,
    S3_BUCKET_NAME_MAX_LENGTH,
    AwsRefusal,
    InfraMocks,
    ProgramRun,
    copy_checkout,
    log_group_name,
    run_program,
    stack_config,
)

from packager.artifacts import sha256_of_file
from components.agent_runtime import ADOT_ENVIRONMENT
from components.buckets import BUCKET_PREFIX_MAX_LENGTH
from stack_config.naming import AGENTCORE_NAME_PATTERN
from streaming_agent.settings import load_settings
from streaming_shared.edge import SettingsError

FUNCTION = "aws:lambda/function:Function"
INTEGRATION = "aws:apigateway/integration:Integration"
METHOD = "aws:apigateway/method:Method"
REST_API = "aws:apigateway/restApi:RestApi"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
RUNTIME = "aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime"
STAGE = "aws:apigateway/stage:Stage"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
BUCKET = "aws:s3/bucket:Bucket"
CODE_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
DEPLOYMENT = "aws:apigateway/deployment:Deployment"


def as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def function_streaming_uri(run: ProgramRun) -> str:
    function = run.one(FUNCTION)
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function.inputs['name']}"
    return f"arn:aws:apigateway:us-east-1:lambda:path/2021-11-15/functions/{arn}/response-streaming-invocations"


def role_statements(run: ProgramRun, role_name: str) -> list[dict]:
    role_id = f"{role_name}-id"
    return [
        statement
        for policy in run.of_type(ROLE_POLICY) if policy.inputs["role"] == role_id
        for statement in json.loads(policy.inputs["policy"])["Statement"]
    ]


# --- the graph builds, and what callers get -------------------------------------------------


def test_both_stacks_build_and_export_what_a_caller_needs(stack_run: ProgramRun) -> None:
    outputs = stack_run.outputs
    stage = stack_run.one(STAGE)
    api_url = f"https://{stage.inputs['restApi']}.execute-api.us-east-1.amazonaws.com/{stage.inputs['stageName']}"
    assert outputs["apiUrl"] == api_url
    assert outputs["invokeUrl"] == f"{api_url}/invoke"
    runtime_name = stack_run.one(RUNTIME).inputs["agentRuntimeName"]
    assert outputs["runtimeArn"] == (
        f"arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/{runtime_name}-Mock123456"
    )
    assert outputs["region"] == "us-east-1"
    # Every child sits under a component, and every component under the stack.
    components = {r.urn for r in stack_run.resources if not r.custom and not r.remote}
    for resource in stack_run.resources:
        if resource.custom or resource.remote:
            assert resource.parent in components, resource.name


def test_program_calls_only_mocked_data_sources(stack_run: ProgramRun) -> None:
    # The harness raises on an unmocked call; this pins which calls exist so a new one is deliberate.
    assert set(stack_run.calls) <= {
        "aws:index/getCallerIdentity:getCallerIdentity",
        "aws:index/getPartition:getPartition",
        "aws:index/getRegion:getRegion",
        "aws:ec2/getVpc:getVpc",
        # Zones chosen by zone id, existing subnets' zones and route tables.
        "aws:index/getAvailabilityZones:getAvailabilityZones",
        "aws:ec2/getSubnet:getSubnet",
        "aws:ec2/getRouteTables:getRouteTables",
        "aws:ec2/getRouteTable:getRouteTable",
    }


# --- streaming integration and the single route ---------------------------------------------


def test_integration_streams_from_the_function_within_its_timeout(stack_run: ProgramRun) -> None:
    function = stack_run.one(FUNCTION).inputs
    integrations = stack_run.of_type(INTEGRATION)
    assert {i.name for i in integrations} == {"api-invoke-integration", "api-stop-integration"}
    for integration in (i.inputs for i in integrations):
        assert integration["type"] == "AWS_PROXY"
        assert integration["integrationHttpMethod"] == "POST"
        assert integration["responseTransferMode"] == "STREAM"
        assert integration["uri"] == function_streaming_uri(stack_run)
        assert integration["timeoutMilliseconds"] <= function["timeout"] * 1000
        assert integration["timeoutMilliseconds"] <= 900_000
    assert function["timeout"] <= 900


@pytest.mark.parametrize("path", ["invoke", "stop"])
def test_only_post_invoke_and_post_stop_exist(stack_run: ProgramRun, path: str) -> None:
    resources = stack_run.of_type("aws:apigateway/resource:Resource")
    assert sorted(r.inputs["pathPart"] for r in resources) == ["invoke", "stop"]
    [resource] = [r for r in resources if r.inputs["pathPart"] == path]
    assert resource.inputs["parentId"] == "rootmock01"  # directly under "/", no {proxy+}
    [method] = [m for m in stack_run.of_type(METHOD) if m.inputs["resourceId"] == f"{resource.name}-id"]
    assert method.inputs["httpMethod"] == "POST"
    [integration] = [i for i in stack_run.of_type(INTEGRATION) if i.inputs["resourceId"] == f"{resource.name}-id"]
    assert integration.inputs["httpMethod"] == "POST"
    api_id = f"{stack_run.one(REST_API).name}-id"
    [permission] = [p for p in stack_run.of_type("aws:lambda/permission:Permission")
                    if p.inputs["sourceArn"].endswith(f"/POST/{path}")]
    assert permission.inputs["sourceArn"] == f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/POST/{path}"
    assert permission.inputs["principal"] == "apigateway.amazonaws.com"
    assert len(stack_run.of_type("aws:lambda/permission:Permission")) == 2


def test_requests_are_validated_against_a_model(stack_run: ProgramRun) -> None:
    validator = stack_run.one("aws:apigateway/requestValidator:RequestValidator")
    assert validator.inputs["validateRequestBody"] is True
    models = {m.inputs["name"]: m.inputs for m in stack_run.of_type("aws:apigateway/model:Model")}
    assert models.keys() == {"InvokeRequest", "StopRequest"}
    for method in (m.inputs for m in stack_run.of_type(METHOD)):
        assert method["requestValidatorId"] == f"{validator.name}-id"
        [model_name] = method["requestModels"].values()
        model = models[model_name]
        # Only "a JSON object": field rules stay in the proxy so their codes match the local stack's.
        assert json.loads(model["schema"])["type"] == "object"
        assert "required" not in json.loads(model["schema"])


def test_gateway_errors_use_the_proxy_error_body(stack_run: ProgramRun) -> None:
    responses = stack_run.of_type("aws:apigateway/response:Response")
    by_type = {response.inputs["responseType"]: response.inputs for response in responses}
    assert {"INVALID_API_KEY", "THROTTLED", "QUOTA_EXCEEDED", "BAD_REQUEST_BODY", "DEFAULT_5XX"} <= by_type.keys()
    for response_type, inputs in by_type.items():
        template = inputs["responseTemplates"]["application/json"]
        # Fill in the two VTL references the way API Gateway does, then read it as the client would.
        body = json.loads(template.replace("$context.error.messageString", '"Forbidden"')
                          .replace("$context.requestId", "req-1"))
        assert set(body) == {"error"}, response_type
        assert body["error"]["requestId"] == "req-1"
        assert re.fullmatch(r"[A-Z][A-Z_]+", body["error"]["code"]), response_type
    assert by_type["BAD_REQUEST_BODY"]["responseTemplates"]["application/json"].count('"INVALID_BODY"') == 1
    throttled = by_type["THROTTLED"]
    assert throttled["statusCode"] == "429"
    assert throttled["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


def test_stage_logs_traces_and_throttles(stack_run: ProgramRun) -> None:
    stage = stack_run.one(STAGE)
    assert stage.inputs["xrayTracingEnabled"] is True
    access_format = json.loads(stage.inputs["accessLogSettings"]["format"])
    assert access_format["requestId"] == "$context.requestId"
    access_log_group = log_group_name(stack_run.named("api-access-logs"))
    assert stage.inputs["accessLogSettings"]["destinationArn"].endswith(f":log-group:{access_log_group}")
    settings = stack_run.one("aws:apigateway/methodSettings:MethodSettings").inputs["settings"]
    assert settings["loggingLevel"] == "INFO" and settings["metricsEnabled"] is True
    assert settings["dataTraceEnabled"] is False  # would log prompts and answers
    assert settings["throttlingRateLimit"] > 0 and settings["throttlingBurstLimit"] > 0
    # Execution logging needs the account-level CloudWatch role before the stage exists; dev owns
    # that setting, prod relies on it (tests/components/test_infra_first_deploy.py, issue 9).
    for account in stack_run.of_type("aws:apigateway/account:Account"):
        assert account.urn in stage.depends_on
        assert account.inputs["cloudwatchRoleArn"].startswith("arn:aws:iam::123456789012:role/")


def test_deployment_waits_for_and_hashes_the_api_definition(stack_run: ProgramRun) -> None:
    deployment = stack_run.one(DEPLOYMENT)
    for token in (METHOD, INTEGRATION, "aws:apigateway/resource:Resource"):
        for resource in stack_run.of_type(token):
            assert resource.urn in deployment.depends_on
    assert re.fullmatch(r"[0-9a-f]{64}", deployment.inputs["triggers"]["redeployment"])
    assert stack_run.one(STAGE).inputs["deployment"] == f"{deployment.name}-id"


def test_changing_the_integration_changes_the_deployment_trigger(dev_run: ProgramRun) -> None:
    shorter = run_program("dev", stack_config("dev", overrides={"agentcore-streaming:streamTimeoutSeconds": 600}))
    assert {i.inputs["timeoutMilliseconds"] for i in shorter.of_type(INTEGRATION)} == {620_000}
    assert (shorter.one(DEPLOYMENT).inputs["triggers"]
            != dev_run.one(DEPLOYMENT).inputs["triggers"])


def test_an_unchanged_program_gives_identical_inputs(dev_run: ProgramRun) -> None:
    again = run_program("dev", stack_config("dev"))
    before = {(r.type, r.name): r.inputs for r in dev_run.resources}
    after = {(r.type, r.name): r.inputs for r in again.resources}
    assert before.keys() == after.keys()
    for key in before:
        assert _comparable(before[key]) == _comparable(after[key]), key


def _comparable(value: object) -> object:
    if isinstance(value, (pulumi.FileAsset, pulumi.FileArchive)):
        return (type(value).__name__, value.path)
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


# --- dev and prod differ where they should ---------------------------------------------------


def test_dev_is_regional_with_an_api_key_and_a_usage_plan(dev_run: ProgramRun) -> None:
    assert dev_run.one(REST_API).inputs["endpointConfiguration"]["types"] == "REGIONAL"
    for method in (m.inputs for m in dev_run.of_type(METHOD)):
        assert method["apiKeyRequired"] is True and method["authorization"] == "NONE"
    plan = dev_run.one("aws:apigateway/usagePlan:UsagePlan").inputs
    stage = dev_run.one(STAGE).inputs
    assert plan["apiStages"] == [{"apiId": stage["restApi"], "stage": stage["stageName"]}]
    assert 0 < plan["quotaSettings"]["limit"] <= 1000
    key = dev_run.one("aws:apigateway/apiKey:ApiKey")
    plan_key = dev_run.one("aws:apigateway/usagePlanKey:UsagePlanKey").inputs
    assert plan_key["keyId"] == f"{key.name}-id" and plan_key["keyType"] == "API_KEY"
    assert dev_run.outputs["apiKey"] == MOCK_API_KEY_VALUE
    assert "apiKey" in dev_run.secret_outputs


def test_dev_has_no_waf_no_vpc_and_nothing_protected(dev_run: ProgramRun) -> None:
    assert not dev_run.of_type(WEB_ACL)
    assert not dev_run.of_type("awsx:ec2:Vpc") and not dev_run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert not dev_run.of_type("aws:apigateway/restApiPolicy:RestApiPolicy")
    assert dev_run.one(RUNTIME).inputs["networkConfiguration"] == {"networkMode": "PUBLIC"}
    assert not any(r.protect for r in dev_run.resources)
    # Only API Gateway's account-level logging setting and its role outlive dev, so that other
    # stacks in the account keep logging (tests/components/test_infra_first_deploy.py, issue 9).
    retained = {r.name for r in dev_run.resources if r.retain_on_delete}
    assert retained == {"api-account", "api-cloudwatch-role", "api-cloudwatch-role-policy"}
    assert {g.inputs["retentionInDays"] for g in dev_run.of_type(LOG_GROUP)} == {7}


def test_prod_is_private_behind_its_vpc_endpoint(prod_run: ProgramRun) -> None:
    assert prod_run.one(REST_API).inputs["endpointConfiguration"]["types"] == "PRIVATE"
    endpoint = prod_run.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.execute-api"
    assert endpoint.inputs["vpcEndpointType"] == "Interface"
    assert endpoint.inputs["privateDnsEnabled"] is True
    assert endpoint.inputs["vpcId"] == MOCK_VPC_OUTPUTS["vpcId"]
    assert endpoint.inputs["subnetIds"] == MOCK_VPC_OUTPUTS["privateSubnetIds"]
    [group_id] = endpoint.inputs["securityGroupIds"]
    group = next(r for r in prod_run.of_type("aws:ec2/securityGroup:SecurityGroup") if f"{r.name}-id" == group_id)
    [ingress] = group.inputs["ingress"]
    assert (ingress["protocol"], ingress["fromPort"], ingress["toPort"]) == ("tcp", 443, 443)
    assert ingress["cidrBlocks"] == ["10.20.0.0/16"]  # the VPC's CIDR from Pulumi.prod.yaml
    assert not group.inputs.get("egress")


def test_prod_resource_policy_denies_other_sources_and_precedes_the_deployment(prod_run: ProgramRun) -> None:
    policy = prod_run.one("aws:apigateway/restApiPolicy:RestApiPolicy")
    endpoint_id = f"{prod_run.one('aws:ec2/vpcEndpoint:VpcEndpoint').name}-id"
    statements = json.loads(policy.inputs["policy"])["Statement"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert denies and all(s["Condition"] == {"StringNotEquals": {"aws:SourceVpce": endpoint_id}} for s in denies)
    api_id = f"{prod_run.one(REST_API).name}-id"
    assert all(s["Resource"] == f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*" for s in statements)
    assert policy.urn in prod_run.one(DEPLOYMENT).depends_on
    assert prod_run.outputs["vpcEndpointId"] == endpoint_id


def test_prod_authenticates_on_the_method(prod_run: ProgramRun) -> None:
    assert {m.inputs["authorization"] for m in prod_run.of_type(METHOD)} == {"AWS_IAM"}
    assert "apiKey" not in prod_run.outputs


def test_prod_web_acl_guards_the_stage_and_logs(prod_run: ProgramRun) -> None:
    acl = prod_run.one(WEB_ACL)
    assert acl.inputs["scope"] == "REGIONAL"
    groups = {r["statement"]["managedRuleGroupStatement"]["name"]
              for r in acl.inputs["rules"] if "managedRuleGroupStatement" in r["statement"]}
    assert groups == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                      "AWSManagedRulesAmazonIpReputationList"}
    [rate] = [r["statement"]["rateBasedStatement"] for r in acl.inputs["rules"] if "rateBasedStatement" in r["statement"]]
    assert rate == {"limit": 500, "aggregateKeyType": "IP"}
    association = prod_run.one("aws:wafv2/webAclAssociation:WebAclAssociation").inputs
    stage = prod_run.one(STAGE).inputs
    assert association["resourceArn"] == (
        f"arn:aws:apigateway:us-east-1::/restapis/{stage['restApi']}/stages/{stage['stageName']}"
    )
    assert association["webAclArn"] == prod_run.outputs["webAclArn"]
    logging = prod_run.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration").inputs
    [destination] = logging["logDestinationConfigs"]
    assert re.search(r":log-group:aws-waf-logs-", destination)


def test_prod_agent_runs_in_the_vpc_with_an_egress_only_group(prod_run: ProgramRun) -> None:
    network = prod_run.one(RUNTIME).inputs["networkConfiguration"]
    assert network["networkMode"] == "VPC"
    assert network["networkModeConfig"]["subnets"] == MOCK_VPC_OUTPUTS["privateSubnetIds"]
    [group_id] = network["networkModeConfig"]["securityGroups"]
    group = next(r for r in prod_run.of_type("aws:ec2/securityGroup:SecurityGroup") if f"{r.name}-id" == group_id)
    assert not group.inputs.get("ingress")
    assert group.inputs["egress"]
    assert prod_run.one("awsx:ec2:Vpc").inputs["cidrBlock"] == "10.20.0.0/16"


def test_prod_protects_and_retains_stateful_resources(prod_run: ProgramRun) -> None:
    stateful = [prod_run.one(BUCKET), *prod_run.of_type(LOG_GROUP)]
    assert len(stateful) >= 5
    for resource in stateful:
        assert resource.protect and resource.retain_on_delete, resource.name
        if resource.type == LOG_GROUP:
            assert resource.inputs["retentionInDays"] == 365


# --- least privilege -------------------------------------------------------------------------


def test_no_role_has_a_managed_full_access_policy(stack_run: ProgramRun) -> None:
    for attachment in stack_run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        assert "FullAccess" not in attachment.inputs["policyArn"]
    for role in stack_run.of_type("aws:iam/role:Role"):
        assert not any("FullAccess" in arn for arn in role.inputs.get("managedPolicyArns", []))
    for policy in stack_run.of_type(ROLE_POLICY):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            assert not any(a == "*" or a.endswith(":*") for a in as_list(statement["Action"])), policy.name


def test_proxy_role_allows_exactly_invoke_on_its_runtime(stack_run: ProgramRun) -> None:
    function = stack_run.one(FUNCTION)
    role_name = function.inputs["role"].split("/")[-1].removesuffix("-mock")
    statements = role_statements(stack_run, role_name)
    runtime_arn = stack_run.outputs["runtimeArn"]
    agentcore = [s for s in statements if any(a.startswith("bedrock-agentcore:") for a in as_list(s["Action"]))]
    assert agentcore == [{
        "Sid": "InvokeAgentRuntime",
        "Effect": "Allow",
        "Action": "bedrock-agentcore:InvokeAgentRuntime",
        "Resource": [runtime_arn, f"{runtime_arn}/runtime-endpoint/*"],
    }]
    log_group_arn = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{function.inputs['name']}-{MOCK_NAME_PREFIX_SUFFIX}"
    for statement in statements:
        assert statement["Effect"] == "Allow"
        prefixes = {a.split(":")[0] for a in as_list(statement["Action"])}
        assert prefixes <= {"bedrock-agentcore", "logs", "xray"}, statement
        if prefixes == {"logs"}:
            assert statement["Resource"] == [log_group_arn, f"{log_group_arn}:log-stream:*"]


def test_runtime_role_may_invoke_only_the_stack_model(stack_run: ProgramRun) -> None:
    runtime = stack_run.one(RUNTIME)
    role_name = runtime.inputs["roleArn"].split("/")[-1].removesuffix("-mock")
    model_id = runtime.inputs["environmentVariables"]["BEDROCK_MODEL_ID"]
    [invoke] = [s for s in role_statements(stack_run, role_name) if "bedrock:InvokeModel" in as_list(s["Action"])]
    assert all(model_id.split(".", 1)[1] in arn for arn in invoke["Resource"])
    trust = json.loads(stack_run.named(role_name).inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


# --- the proxy function ----------------------------------------------------------------------


def test_proxy_function_runs_python_on_lambda_web_adapter(stack_run: ProgramRun) -> None:
    function = stack_run.one(FUNCTION)
    inputs = function.inputs
    assert inputs["runtime"] == "python3.13" and inputs["architectures"] == ["arm64"]
    assert inputs["handler"] == "run.sh"
    assert inputs["layers"] == ["arn:aws:lambda:us-east-1:753240598075:layer:LambdaAdapterLayerArm64:28"]
    assert inputs["tracingConfig"] == {"mode": "Active"}
    assert inputs["memorySize"] == 512
    env = inputs["environment"]["variables"]
    assert env == {
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
        "AWS_LWA_INVOKE_MODE": "response_stream",
        "AWS_LWA_PORT": "8080",
        "AWS_LWA_READINESS_CHECK_PATH": "/_ready",
        "AGENT_RUNTIME_ARN": stack_run.outputs["runtimeArn"],
        "AGENT_RUNTIME_QUALIFIER": "DEFAULT",
        "PROXY_MAX_PROMPT_CHARS": "8000",
        "PROXY_KEEPALIVE_SECONDS": "15",
        "PROXY_STREAM_TIMEOUT_SECONDS": str(int(inputs["timeout"]) - 20),
        "PROXY_LOG_LEVEL": env["PROXY_LOG_LEVEL"],
        "PROXY_LOG_CONTENT": "false",
        # Lambda Web Adapter sends x-amzn-request-context with every request: one without it is refused.
        "PROXY_REQUIRE_REQUEST_CONTEXT": "true",
        # Usage metrics (usageMetricsEnabled): prod only.
        **({"PROXY_METRICS_NAMESPACE": "agentcore-streaming/prod", "PROXY_METRICS_STACK": "prod"}
           if stack_run.stack == "prod" else {}),
    }
    assert env["PROXY_LOG_LEVEL"] == "INFO"
    # Lambda hands the application log level to Lambda Web Adapter as AWS_LAMBDA_LOG_LEVEL, which
    # wins over RUST_LOG; at INFO it logs no request headers (nor does the proxy, never below INFO).
    assert inputs["loggingConfig"]["applicationLogLevel"] == "INFO"
    assert not {"RUST_LOG", "AWS_LAMBDA_LOG_LEVEL"} & set(env)
    log_group = stack_run.named("proxy-logs")
    # A prefix, so a retained group never blocks the next deployment (issue 9); Lambda writes
    # where logging_config points.
    assert log_group.inputs["namePrefix"] == f"/aws/lambda/{inputs['name']}-"
    assert inputs["loggingConfig"]["logGroup"] == log_group_name(log_group)
    assert log_group.urn in function.depends_on  # exists, with retention, before Lambda could make it


def test_proxy_code_is_the_built_zip_with_an_executable_run_sh(stack_run: ProgramRun) -> None:
    inputs = stack_run.one(FUNCTION).inputs
    archive = inputs["code"]
    assert isinstance(archive, pulumi.FileArchive)
    zip_path = Path(archive.path)
    assert inputs["sourceCodeHash"] == sha256_of_file(zip_path)
    with zipfile.ZipFile(zip_path) as built:
        run_sh = built.getinfo("run.sh")
    assert stat.S_IMODE(run_sh.external_attr >> 16) == 0o755


# --- the agent runtime -----------------------------------------------------------------------


def test_runtime_is_a_code_zip_at_a_content_addressed_key(stack_run: ProgramRun) -> None:
    runtime = stack_run.one(RUNTIME).inputs
    code = runtime["agentRuntimeArtifact"]["codeConfiguration"]
    # AgentCore's documented observability entry point: main.py under ADOT's wrapper, which the
    # zip itself ships (with a shebang that works on the target, not the build machine's).
    assert code["runtime"] == "PYTHON_3_13"
    assert code["entryPoints"] == ["opentelemetry-instrument", "main.py"]
    code_object = stack_run.one(CODE_OBJECT)
    zip_path = Path(code_object.inputs["source"].path)
    with zipfile.ZipFile(zip_path) as built:
        assert built.read("bin/opentelemetry-instrument").startswith(b"#!/usr/bin/env python3\n")
        assert stat.S_IMODE(built.getinfo("bin/opentelemetry-instrument").external_attr >> 16) == 0o755
    assert code_object.inputs["key"] == f"agent/{sha256_of_file(zip_path)}.zip"
    assert code["code"]["s3"]["prefix"] == code_object.inputs["key"]
    bucket = stack_run.one(BUCKET)
    assert code["code"]["s3"]["bucket"] == f"{bucket.inputs['bucketPrefix']}{MOCK_NAME_PREFIX_SUFFIX}"
    assert code_object.urn in stack_run.one(RUNTIME).depends_on
    with zipfile.ZipFile(zip_path) as built:
        names = built.namelist()
    assert "main.py" in names
    assert not [n for n in names if "x86_64" in n or re.search(r"cpython-3(?!13)\d+", n)]


def test_code_bucket_is_versioned_private_encrypted_and_tls_only(stack_run: ProgramRun) -> None:
    bucket_id = f"{stack_run.one(BUCKET).name}-id"
    versioning = stack_run.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["bucket"] == bucket_id and versioning["versioningConfiguration"]["status"] == "Enabled"
    block = stack_run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    encryption = stack_run.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs
    assert encryption["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in {"AES256", "aws:kms"}
    policy = json.loads(stack_run.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    [deny] = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_runtime_environment_lifecycle_and_protocol(stack_run: ProgramRun) -> None:
    runtime = stack_run.one(RUNTIME).inputs
    env = runtime["environmentVariables"]
    assert env["AGENT_MODEL_PROVIDER"] == "bedrock"
    assert env["BEDROCK_MODEL_ID"].startswith("us.anthropic.claude-")
    assert env["AGENT_SYSTEM_PROMPT"] and int(env["AGENT_MAX_SESSIONS"]) > 0
    # ADOT: on, with the AWS distro and configurator. Exporters, endpoints and resource attributes
    # are the runtime's own defaults and must not be overridden.
    assert env["AGENT_OBSERVABILITY_ENABLED"] == "true"
    assert env["OTEL_PYTHON_DISTRO"] == "aws_distro"
    assert env["OTEL_PYTHON_CONFIGURATOR"] == "aws_configurator"
    # Strands' prompt and answer content in spans: redacted (tests/components/test_agent_under_adot.py).
    assert "gen_ai_unredacted_attributes=" in env["OTEL_SEMCONV_STABILITY_OPT_IN"].split(",")
    overridden = {name for name in env if name.startswith("OTEL_")} - {
        "OTEL_PYTHON_DISTRO", "OTEL_PYTHON_CONFIGURATOR", "OTEL_SEMCONV_STABILITY_OPT_IN"}
    assert not overridden, overridden
    [lifecycle] = runtime["lifecycleConfigurations"]
    assert lifecycle["idleRuntimeSessionTimeout"] <= lifecycle["maxLifetime"]
    assert runtime["protocolConfiguration"] == {"serverProtocol": "HTTP"}
    assert AGENTCORE_NAME_PATTERN.fullmatch(runtime["agentRuntimeName"])


class ReadEnviron(dict[str, str]):
    """An environment that notes each variable read from it."""

    def __init__(self, variables: dict[str, str]) -> None:
        super().__init__(variables)
        self.read: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)


def test_the_agent_reads_every_variable_the_stack_sets_for_it(stack_run: ProgramRun) -> None:
    # The stack names the agent's variables (components/agent_runtime.py) and the agent reads them
    # (streaming_agent/settings.py): one renamed on one side only would be ignored, not refused.
    variables = stack_run.one(RUNTIME).inputs["environmentVariables"]
    environ = ReadEnviron(variables)
    settings = load_settings(environ)
    # The ADOT variables are opentelemetry-instrument's, read before the agent starts.
    assert set(variables) - set(ADOT_ENVIRONMENT) - environ.read == set()
    assert (settings.max_sessions, settings.max_output_tokens, settings.turn_time_limit_seconds) == (
        int(variables["AGENT_MAX_SESSIONS"]), int(variables["AGENT_MAX_OUTPUT_TOKENS"]),
        int(variables["AGENT_TURN_TIME_LIMIT_SECONDS"]))
    assert (settings.guardrail_id, settings.memory_id) == (
        variables.get("AGENT_GUARDRAIL_ID"), variables.get("AGENT_MEMORY_ID"))
    assert settings.observability_enabled and settings.model_provider == "bedrock"


@pytest.mark.parametrize("stack", ["feature-x-2", "2024-customer-onboarding-experiment-with-a-very-long-stack-name"])
def test_agentcore_names_are_valid_for_hyphenated_and_long_stack_names(stack: str) -> None:
    run = run_program(stack, stack_config("dev"))
    name = run.one(RUNTIME).inputs["agentRuntimeName"]
    assert AGENTCORE_NAME_PATTERN.fullmatch(name), name
    assert len(run.one(FUNCTION).inputs["name"]) <= 64


def test_a_long_stack_name_cuts_both_bucket_prefixes_to_what_s3_and_the_provider_take() -> None:
    # The provider appends its unique suffix to a bucket_prefix, and S3 takes names of 63 characters.
    assert BUCKET_PREFIX_MAX_LENGTH + len(MOCK_NAME_PREFIX_SUFFIX) == S3_BUCKET_NAME_MAX_LENGTH
    with pytest.raises(AwsRefusal, match=r"range \(0 - 37\)"):
        InfraMocks._check_bucket("aws:s3/bucket:Bucket", {"bucketPrefix": "a" * (BUCKET_PREFIX_MAX_LENGTH + 1)})
    stack = "2024-customer-onboarding-experiment-with-a-very-long-stack-name"
    run = run_program(stack, stack_config("dev", overrides={"agentcore-streaming:pageHosting": True}))
    prefixes = [bucket.inputs["bucketPrefix"] for bucket in run.of_type("aws:s3/bucket:Bucket")]
    assert len(prefixes) == 2 and all(len(prefix) == BUCKET_PREFIX_MAX_LENGTH for prefix in prefixes), prefixes
    assert len(set(prefixes)) == 2, prefixes


def test_editing_the_agent_changes_the_s3_key(dev_run: ProgramRun, tmp_path: Path) -> None:
    # A copy of the checkout (sharing the cached wheel install) with one agent source edited.
    copy = copy_checkout(tmp_path / "checkout")

    unchanged = run_program("dev", stack_config("dev", root=copy), main_path=copy / "__main__.py")
    assert unchanged.one(CODE_OBJECT).inputs["key"] == dev_run.one(CODE_OBJECT).inputs["key"]

    with (copy / "agent" / "main.py").open("a") as source:
        source.write("\n# an edit that must reach AgentCore\n")
    edited = run_program("dev", stack_config("dev", root=copy), main_path=copy / "__main__.py")
    edited_key = edited.one(CODE_OBJECT).inputs["key"]
    assert edited_key != dev_run.one(CODE_OBJECT).inputs["key"]
    assert edited.one(RUNTIME).inputs["agentRuntimeArtifact"]["codeConfiguration"]["code"]["s3"]["prefix"] == edited_key


# --- other configurations --------------------------------------------------------------------


def test_container_mode_builds_an_arm64_image_instead_of_a_zip() -> None:
    run = run_program("dev", stack_config("dev", overrides={"agentcore-streaming:agentArtifact": "container"}))
    image = run.one("awsx:ecr:Image").inputs
    assert image["platform"] == "linux/arm64"
    # The context is agent/'s files plus the shared package (packager/artifacts.py agent_image_context).
    context = Path(image["context"])
    assert (context / "Dockerfile").read_bytes() == (REPO_ROOT / "agent" / "Dockerfile").read_bytes()
    assert (context / "streaming_shared" / "edge.py").read_bytes() == (REPO_ROOT / "streaming_shared" / "edge.py").read_bytes()
    assert image["repositoryUrl"] == MOCK_REPOSITORY_URL
    artifact = run.one(RUNTIME).inputs["agentRuntimeArtifact"]
    assert artifact == {"containerConfiguration": {"containerUri": MOCK_IMAGE_URI}}
    # The image starts under opentelemetry-instrument too (agent/Dockerfile), so ADOT is on here as well.
    assert run.one(RUNTIME).inputs["environmentVariables"]["AGENT_OBSERVABILITY_ENABLED"] == "true"
    assert not run.of_type(BUCKET) and not run.of_type(CODE_OBJECT)
    role_name = run.one(RUNTIME).inputs["roleArn"].split("/")[-1].removesuffix("-mock")
    [pull] = [s for s in role_statements(run, role_name) if s.get("Sid") == "PullAgentImage"]
    assert pull["Resource"] == f"arn:aws:ecr:us-east-1:123456789012:repository/{MOCK_REPOSITORY_NAME}"


def test_an_existing_vpc_replaces_the_new_one() -> None:
    run = run_program("prod", stack_config("prod", overrides={
        "agentcore-streaming:vpcId": "vpc-0existing",
        "agentcore-streaming:subnetIds": ["subnet-0x", "subnet-0y"],
    }))
    assert not run.of_type("awsx:ec2:Vpc")
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint").inputs
    assert endpoint["vpcId"] == "vpc-0existing" and endpoint["subnetIds"] == ["subnet-0x", "subnet-0y"]
    ingress = [g.inputs["ingress"] for g in run.of_type("aws:ec2/securityGroup:SecurityGroup") if g.inputs.get("ingress")]
    assert ingress == [[{**ingress[0][0], "cidrBlocks": [EXISTING_VPC_CIDR]}]]
    assert run.one(RUNTIME).inputs["networkConfiguration"]["networkModeConfig"]["subnets"] == ["subnet-0x", "subnet-0y"]


def test_an_unknown_auth_mode_fails_naming_the_key_and_the_choices() -> None:
    with pytest.raises(SettingsError) as error:
        run_program("dev", stack_config("dev", overrides={"agentcore-streaming:authMode": "cognitoo"}))
    message = str(error.value)
    assert "agentcore-streaming:authMode" in message
    assert all(choice in message for choice in ("'none'", "'apiKey'", "'iam'"))


def test_the_account_logging_role_can_be_left_to_someone_else() -> None:
    run = run_program("dev", stack_config("dev", overrides={"agentcore-streaming:manageApiGatewayAccount": False}))
    assert not run.of_type("aws:apigateway/account:Account")
    assert run.of_type(STAGE)


def test_the_agent_gets_its_tool_call_bound_and_keeps_tool_content_out_of_the_stream_by_default(stack_run: ProgramRun) -> None:
    env = stack_run.one(RUNTIME).inputs["environmentVariables"]
    assert env["AGENT_MAX_TOOL_CALLS"] == "20" and env["AGENT_STREAM_TOOL_CONTENT"] == "false"
