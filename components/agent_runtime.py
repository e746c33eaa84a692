"""The AgentCore runtime that runs the Strands agent, its artifact store and its execution role."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

from components import policies
from components.agent_memory import MemoryStore
from components.buckets import private_bucket_controls
from components.guardrail import AppliedGuardrail
from components.network import Subnets
from packager.artifacts import (
    AGENT_INSTRUMENTATION_COMMAND,
    AGENTCORE_PYTHON_RUNTIME,
    REPO_ROOT,
    AgentArtifact,
    CodeZip,
    ContainerImage,
    agent_image_context,
    build_agent_zip,
)
from stack_config.config_keys import AGENT_ARTIFACTS, CODE_ARTIFACT, CONTAINER_ARTIFACT

# AgentCore's documented entry point for a code zip with observability: the runtime starts main.py
# under ADOT's opentelemetry-instrument (shipped in the zip by packager/artifacts.py).
CODE_ENTRY_POINTS = [AGENT_INSTRUMENTATION_COMMAND, "main.py"]

# ADOT settings the runtime gets from us: the three switches AgentCore's observability docs list
# for ADOT (AGENT_OBSERVABILITY_ENABLED is also what streaming_agent/observability.py reads; it then
# finds ADOT already started by the entry point). Naming the distro and configurator keeps the
# choice from depending on which distro a dependency brings along, and repeats the runtime's own
# defaults at worst. The rest of ADOT's settings (exporter endpoints and protocol, resource
# attributes with the service name and the runtime's log group, log headers) are left to the
# runtime, which derives them from the runtime it created; overriding them here would send
# telemetry where CloudWatch's GenAI Observability views do not look.
ADOT_ENVIRONMENT: dict[str, str] = {
    "AGENT_OBSERVABILITY_ENABLED": "true",
    "OTEL_PYTHON_DISTRO": "aws_distro",
    "OTEL_PYTHON_CONFIGURATOR": "aws_configurator",
    # Strands records prompts and answers in its spans unless asked not to; the latest GenAI
    # conventions as span attributes, all redacted, keep them out of CloudWatch like our logs.
    "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental,gen_ai_span_attributes_only,gen_ai_unredacted_attributes=",
}


def agent_artifact(kind: str, repo_root: Path = REPO_ROOT) -> AgentArtifact:
    """The agent as the stack's agentArtifact setting asks: "code" builds the zip now, "container"
    makes the build context that Pulumi builds during the deployment."""
    if kind == CODE_ARTIFACT:
        return build_agent_zip(repo_root)
    if kind == CONTAINER_ARTIFACT:
        return agent_image_context(repo_root)
    raise ValueError(f"unknown agent artifact kind {kind!r}; allowed: {', '.join(AGENT_ARTIFACTS)}")


@dataclass
class AgentRuntimeArgs:
    # AgentCore runtime name; must match [a-zA-Z][a-zA-Z0-9_]{0,47} (see stack_config/naming.py).
    runtime_name: str
    # Bedrock model or inference-profile id the agent calls; also scopes the role's invoke grant.
    model_id: str
    # System prompt handed to the agent through AGENT_SYSTEM_PROMPT.
    system_prompt: str
    # Conversations the agent keeps in memory at once (AGENT_MAX_SESSIONS).
    max_sessions: int
    # Tool calls one turn may make (AGENT_MAX_TOOL_CALLS); whether tool events carry the tool's
    # input and result (AGENT_STREAM_TOOL_CONTENT), which may hold user data.
    max_tool_calls: int
    stream_tool_content: bool
    # Seconds an idle session's microVM lives on, and the longest any one lives (AgentCore lifecycle).
    idle_timeout_seconds: int
    max_lifetime_seconds: int
    # Bounds on one turn: the model's output tokens per call (AGENT_MAX_OUTPUT_TOKENS, Bedrock's
    # maxTokens) and the seconds after which the agent ends the turn (AGENT_TURN_TIME_LIMIT_SECONDS).
    max_output_tokens: int
    turn_time_limit_seconds: int
    # A CodeZip runs on the managed PYTHON_3_13 runtime from S3 (the key carries its sha256); a
    # ContainerImage is built for arm64 and pushed to ECR.
    artifact: AgentArtifact
    # Subnets the agent's ENIs go into (VPC network mode); None: PUBLIC network mode.
    network: Optional[Subnets]
    # Where the role's ARNs point.
    partition: pulumi.Input[str]
    region: str
    account_id: pulumi.Input[str]
    # Name prefix of the code bucket (S3 adds a unique suffix; at most buckets.BUCKET_PREFIX_MAX_LENGTH).
    bucket_name_prefix: str
    # Protect and retain the code bucket (prod); otherwise it is emptied and deleted on destroy.
    protect_stateful_resources: bool
    # Durable memory (components/agent_memory.py): its id reaches the agent as AGENT_MEMORY_ID and
    # its ARN scopes the role's memory grant. None: no memory, no grant.
    memory: Optional[MemoryStore] = None
    # Bedrock guardrail (components/guardrail.py): its id and version reach the agent as
    # AGENT_GUARDRAIL_ID / AGENT_GUARDRAIL_VERSION, its ARN scopes the role's ApplyGuardrail grant.
    # None: no guardrail, no grant.
    guardrail: Optional[AppliedGuardrail] = None
    # The stack serves real users (the `production` setting). Shown as the runtime's tag
    # PRODUCTION_TAG, so the policy pack, which sees resources and not configuration, can hold a
    # production runtime to production rules (a guardrail attached).
    production: bool = False


# The runtime's tag that marks a production stack ("true"/"false"); policy/rules.py reads it.
PRODUCTION_TAG = "production"


@dataclass
class _StoredArtifact:
    """Where the runtime finds its artifact, and what the role must be allowed to read."""

    artifact: aws.bedrock.AgentcoreAgentRuntimeAgentRuntimeArtifactArgs
    # s3://bucket/key of a zip, or the image URI (exported as agentArtifact).
    location: pulumi.Output[str]
    code_bucket_arn: Optional[pulumi.Output[str]] = None
    image_repository_arn: Optional[pulumi.Output[str]] = None
    # Resources the runtime must wait for (the uploaded zip).
    dependencies: list[pulumi.Resource] = field(default_factory=list)


def runtime_log_group_name(runtime_id: str, endpoint: str = "DEFAULT") -> str:
    """The log group AgentCore writes a runtime endpoint's logs to."""
    return f"/aws/bedrock-agentcore/runtimes/{runtime_id}-{endpoint}"


class AgentRuntime(pulumi.ComponentResource):
    runtime_arn: pulumi.Output[str]
    runtime_id: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    artifact_location: pulumi.Output[str]

    def __init__(self, name: str, args: AgentRuntimeArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:agent_runtime:AgentRuntime", name, None, opts)
        if isinstance(args.artifact, CodeZip):
            stored = self._code_artifact(name, args, args.artifact)
        else:
            stored = self._container_artifact(name, args, args.artifact)
        self.artifact_location = stored.location
        role, role_policy = self._role(name, args, stored)
        runtime = aws.bedrock.AgentcoreAgentRuntime(
            f"{name}-runtime",
            # Set explicitly: Pulumi's auto-names contain hyphens, which AgentCore rejects.
            agent_runtime_name=args.runtime_name,
            description=f"Streaming Strands agent ({args.runtime_name})",
            role_arn=role.arn,
            agent_runtime_artifact=stored.artifact,
            environment_variables=self._environment(args),
            lifecycle_configurations=[aws.bedrock.AgentcoreAgentRuntimeLifecycleConfigurationArgs(
                idle_runtime_session_timeout=args.idle_timeout_seconds,
                max_lifetime=args.max_lifetime_seconds,
            )],
            network_configuration=self._network_configuration(name, args.network),
            protocol_configuration=aws.bedrock.AgentcoreAgentRuntimeProtocolConfigurationArgs(
                server_protocol="HTTP",
            ),
            tags={PRODUCTION_TAG: "true" if args.production else "false"},
            # AgentCore checks the role when the runtime is created, so its policy must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, *stored.dependencies]),
        )

        self.runtime_arn = runtime.agent_runtime_arn
        self.runtime_id = runtime.agent_runtime_id
        # AgentCore creates this group itself and writes the agent's stdout/stderr there (the
        # runtime role's log statements cover /aws/bedrock-agentcore/runtimes/*).
        self.log_group_name = runtime.agent_runtime_id.apply(runtime_log_group_name)
        self.role_arn = role.arn
        self.register_outputs({
            "runtimeArn": self.runtime_arn,
            "runtimeId": self.runtime_id,
            "logGroupName": self.log_group_name,
            "roleArn": self.role_arn,
            "artifactLocation": self.artifact_location,
        })

    def _code_artifact(self, name: str, args: AgentRuntimeArgs, code_zip: CodeZip) -> _StoredArtifact:
        """The zip in the stack's code bucket, run by the managed Python runtime."""
        bucket, code_object = self._code_store(name, args, code_zip)
        artifact = aws.bedrock.AgentcoreAgentRuntimeAgentRuntimeArtifactArgs(
            code_configuration=aws.bedrock.AgentcoreAgentRuntimeAgentRuntimeArtifactCodeConfigurationArgs(
                runtime=AGENTCORE_PYTHON_RUNTIME,
                entry_points=CODE_ENTRY_POINTS,
                code=aws.bedrock.AgentcoreAgentRuntimeAgentRuntimeArtifactCodeConfigurationCodeArgs(
                    s3=aws.bedrock.AgentcoreAgentRuntimeAgentRuntimeArtifactCodeConfigurationCodeS3Args(
                        bucket=bucket.bucket,
                        # `prefix` is the object key. The key carries the zip's hash because
                        # AgentCore does not notice new bytes under an unchanged key.
                        prefix=code_object.key,
                    ),
                ),
            ),
        )
        return _StoredArtifact(
            artifact=artifact,
            location=pulumi.Output.concat("s3://", bucket.bucket, "/", code_object.key),
            code_bucket_arn=bucket.arn,
            dependencies=[code_object],
        )

    def _container_artifact(self, name: str, args: AgentRuntimeArgs, image: ContainerImage) -> _StoredArtifact:
        """An arm64 image built from the context and pushed to a repository of the stack's own."""
        child = pulumi.ResourceOptions(parent=self)
        repository = awsx.ecr.Repository(
            f"{name}-repository",
            force_delete=not args.protect_stateful_resources,
            opts=child,
        )
        built = awsx.ecr.Image(
            f"{name}-image",
            repository_url=repository.url,
            context=str(image.context),
            platform="linux/arm64",  # AgentCore runs arm64 only
            opts=child,
        )
        # The URL ends in the repository name; building the ARN from it avoids reaching into
        # the component's nested resource output.
        repository_arn = pulumi.Output.all(args.partition, args.account_id, repository.url).apply(
            lambda v: f"arn:{v[0]}:ecr:{args.region}:{v[1]}:repository/{v[2].split('/', 1)[1]}"
        )
        artifact = aws.bedrock.AgentcoreAgentRuntimeAgentRuntimeArtifactArgs(
            container_configuration=aws.bedrock.AgentcoreAgentRuntimeAgentRuntimeArtifactContainerConfigurationArgs(
                container_uri=built.image_uri,
            ),
        )
        return _StoredArtifact(artifact=artifact, location=built.image_uri, image_repository_arn=repository_arn)

    def _role(
        self, name: str, args: AgentRuntimeArgs, stored: _StoredArtifact
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """The execution role: the documented scoped statements, the model, the artifact, the memory."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=pulumi.Output.all(args.partition, args.account_id).apply(
                lambda v: json.dumps(policies.agentcore_assume_role_policy(v[0], args.region, v[1]))
            ),
            opts=child,
        )
        memory_arn = args.memory.arn if args.memory is not None else None
        guardrail_arn = args.guardrail.arn if args.guardrail is not None else None
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=pulumi.Output.all(
                args.partition, args.account_id, stored.code_bucket_arn, stored.image_repository_arn, memory_arn,
                guardrail_arn,
            ).apply(lambda v: json.dumps(policies.agent_runtime_policy(
                partition=v[0], region=args.region, account_id=v[1], runtime_name=args.runtime_name,
                model_id=args.model_id, code_bucket_arn=v[2], image_repository_arn=v[3],
                memory_arn=v[4], guardrail_arn=v[5],
            ))),
            opts=child,
        )
        return role, role_policy

    def _network_configuration(
        self, name: str, network: Optional[Subnets]
    ) -> aws.bedrock.AgentcoreAgentRuntimeNetworkConfigurationArgs:
        if network is None:
            return aws.bedrock.AgentcoreAgentRuntimeNetworkConfigurationArgs(network_mode="PUBLIC")
        # Nothing ever connects to the agent's ENIs; it only calls out (Bedrock, logs).
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=network.vpc_id,
            description="AgentCore runtime: egress only",
            egress=[aws.ec2.SecurityGroupEgressArgs(
                protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"],
                description="Bedrock, CloudWatch and other AWS APIs",
            )],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.bedrock.AgentcoreAgentRuntimeNetworkConfigurationArgs(
            network_mode="VPC",
            network_mode_config=aws.bedrock.AgentcoreAgentRuntimeNetworkConfigurationNetworkModeConfigArgs(
                security_groups=[security_group.id],
                subnets=network.subnet_ids,
            ),
        )

    @staticmethod
    def _environment(args: AgentRuntimeArgs) -> dict[str, pulumi.Input[str]]:
        environment: dict[str, pulumi.Input[str]] = {
            "AGENT_MODEL_PROVIDER": "bedrock",
            "BEDROCK_MODEL_ID": args.model_id,
            "AGENT_SYSTEM_PROMPT": args.system_prompt,
            "AGENT_MAX_SESSIONS": str(args.max_sessions),
            "AGENT_MAX_OUTPUT_TOKENS": str(args.max_output_tokens),
            "AGENT_TURN_TIME_LIMIT_SECONDS": str(args.turn_time_limit_seconds),
            "AGENT_MAX_TOOL_CALLS": str(args.max_tool_calls),
            "AGENT_STREAM_TOOL_CONTENT": "true" if args.stream_tool_content else "false",
            # Set explicitly: the agent's boto3 clients (Bedrock, Memory) need a region, and the
            # AgentCore samples set it themselves rather than rely on the microVM providing one.
            "AWS_REGION": args.region,
            # Both artifacts start under opentelemetry-instrument (entry point or Dockerfile CMD).
            **ADOT_ENVIRONMENT,
        }
        if args.memory is not None:
            environment["AGENT_MEMORY_ID"] = args.memory.id
        if args.guardrail is not None:
            environment["AGENT_GUARDRAIL_ID"] = args.guardrail.id
            environment["AGENT_GUARDRAIL_VERSION"] = args.guardrail.version
        return environment

    def _code_store(
        self, name: str, args: AgentRuntimeArgs, code_zip: CodeZip
    ) -> tuple[aws.s3.Bucket, aws.s3.BucketObjectv2]:
        """A versioned, private, encrypted, TLS-only bucket holding the content-addressed zip."""
        protect = args.protect_stateful_resources
        bucket = aws.s3.Bucket(
            f"{name}-code",
            bucket_prefix=args.bucket_name_prefix,
            force_destroy=not protect,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        public_access_block, encryption = private_bucket_controls(self, f"{name}-code", bucket)
        aws.s3.BucketVersioning(
            f"{name}-code-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.s3.BucketPolicy(
            f"{name}-code-policy",
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(policies.tls_only_bucket_policy(arn))),
            # S3 rejects any bucket policy while the public access block is still being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )
        code_object = aws.s3.BucketObjectv2(
            f"{name}-code-zip",
            bucket=bucket.id,
            key=f"agent/{code_zip.sha256}.zip",
            source=pulumi.FileAsset(str(code_zip.path)),
            content_type="application/zip",
            server_side_encryption="AES256",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[encryption]),
        )
        return bucket, code_object
