"""Where AgentCore runs: regions, the zone ids its VPC mode accepts, and inference-profile geographies.

Plain data and pure functions, the one home for these AWS facts (docs/aws-facts.md); settings.py
and network.py check a stack against them before anything is created. Update the tables from the
pages named beside them when AWS adds a region or a zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

# AgentCore "Supported AWS Regions" (docs.aws.amazon.com/bedrock-agentcore/latest/devguide/
# agentcore-regions.html): the regions with AgentCore Runtime ...
AGENTCORE_RUNTIME_REGIONS: tuple[str, ...] = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "ca-central-1", "sa-east-1",
    "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1", "eu-south-2",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-5", "ap-southeast-7",
    "ap-northeast-1", "ap-northeast-2",
    "us-gov-west-1",
)
# ... and the (fewer) regions with AgentCore Memory.
AGENTCORE_MEMORY_REGIONS: tuple[str, ...] = (
    "us-east-1", "us-east-2", "us-west-2",
    "ca-central-1", "sa-east-1",
    "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
    "ap-south-1", "ap-southeast-1", "ap-southeast-2",
    "ap-northeast-1", "ap-northeast-2",
    "us-gov-west-1",
)

# AgentCore Runtime in VPC mode accepts subnets only in these Availability Zone *ids* ("Supported
# Availability Zones", docs.aws.amazon.com/bedrock-agentcore/latest/devguide/agentcore-vpc.html).
# Zone *names* (us-east-1a) map to different ids in each account, so zones are chosen by id. A
# region missing here cannot take a VPC-mode agent until its ids are added from that page.
# us-east-1's ids are also exactly what CreateAgentRuntime names when it refuses a subnet; the
# others were read from the guide's table as of November 2025: re-check them there before relying
# on a new region (a wrong entry fails at deploy time with AWS naming the supported ids).
AGENTCORE_VPC_ZONE_IDS: Mapping[str, tuple[str, ...]] = {
    "us-east-1": ("use1-az1", "use1-az2", "use1-az4"),
    "us-east-2": ("use2-az1", "use2-az2", "use2-az3"),
    "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3"),
    "ap-south-1": ("aps1-az1", "aps1-az2", "aps1-az3"),
    "ap-southeast-1": ("apse1-az1", "apse1-az2", "apse1-az3"),
    "ap-southeast-2": ("apse2-az1", "apse2-az2", "apse2-az3"),
    "ap-northeast-1": ("apne1-az1", "apne1-az2", "apne1-az4"),
    "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
    "eu-central-1": ("euc1-az1", "euc1-az2", "euc1-az3"),
}

# Cross-region inference profile ids start with a geography ("us.anthropic...."). A geographic
# profile can be called only from a source region inside its geography (Bedrock "Geographic
# cross-Region inference" and "Supported Regions and models for inference profiles"); a global
# profile from any region. Longest prefix first, so "us-gov." is never read as "us.".
GLOBAL_PROFILE_PREFIX = "global."
INFERENCE_PROFILE_GEOGRAPHIES: Mapping[str, tuple[str, ...]] = {
    "us-gov.": ("us-gov-west-1", "us-gov-east-1"),
    "apac.": (
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
        "ap-southeast-7", "ap-east-2", "me-central-1",
    ),
    "us.": ("us-east-1", "us-east-2", "us-west-1", "us-west-2"),
    "eu.": (
        "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
        "eu-south-1", "eu-south-2",
    ),
    "jp.": ("ap-northeast-1", "ap-northeast-3"),
    "au.": ("ap-southeast-2", "ap-southeast-4"),
    "ca.": ("ca-central-1", "ca-west-1"),
}
INFERENCE_PROFILE_PREFIXES: tuple[str, ...] = (*INFERENCE_PROFILE_GEOGRAPHIES, GLOBAL_PROFILE_PREFIX)


def inference_profile_prefix(model_id: str) -> str | None:
    """The geography prefix of a cross-region inference profile id, or None for a model id or ARN."""
    return next((prefix for prefix in INFERENCE_PROFILE_PREFIXES if model_id.startswith(prefix)), None)


def profile_regions(prefix: str) -> tuple[str, ...] | None:
    """Source regions a geographic profile may be called from; None for a global profile (any)."""
    return INFERENCE_PROFILE_GEOGRAPHIES.get(prefix)


def profiles_callable_from(region: str) -> tuple[str, ...]:
    """Every profile prefix a stack in `region` may use (for error messages)."""
    geographic = tuple(p for p, regions in INFERENCE_PROFILE_GEOGRAPHIES.items() if region in regions)
    return (*geographic, GLOBAL_PROFILE_PREFIX)


def vpc_zone_ids(region: str) -> tuple[str, ...] | None:
    """Zone ids a VPC-mode agent may use in `region`; None when the table has no entry."""
    return AGENTCORE_VPC_ZONE_IDS.get(region)


@dataclass(frozen=True)
class Zone:
    name: str  # account-specific, e.g. us-east-1a
    zone_id: str  # the same physical zone in every account, e.g. use1-az4


def choose_agent_zones(available: Sequence[Zone], supported_ids: Sequence[str], count: int) -> list[Zone]:
    """`count` available zones whose ids AgentCore supports, in the table's order of ids.

    ValueError when the account has fewer: choosing by name instead would put a subnet in a zone
    AgentCore refuses.
    """
    by_id = {zone.zone_id: zone for zone in available}
    chosen = [by_id[zone_id] for zone_id in supported_ids if zone_id in by_id][:count]
    if len(chosen) < count:
        found = ", ".join(f"{z.name} ({z.zone_id})" for z in available) or "none"
        raise ValueError(
            f"needs {count} available zones among the ids AgentCore supports "
            f"({', '.join(supported_ids)}); this account has: {found}"
        )
    return chosen


@dataclass(frozen=True)
class SubnetPlacement:
    subnet_id: str
    vpc_id: str
    zone: Zone


def subnet_problems(
    subnets: Sequence[SubnetPlacement], vpc_id: str, supported_ids: Sequence[str] | None
) -> list[str]:
    """Why each given subnet cannot be used: another VPC, or (for a VPC-mode agent) a zone AgentCore refuses.

    `supported_ids` None means the zones do not matter (only a PRIVATE API's endpoint goes there).
    """
    problems: list[str] = []
    for subnet in subnets:
        if subnet.vpc_id != vpc_id:
            problems.append(f"{subnet.subnet_id} belongs to {subnet.vpc_id}, not vpcId {vpc_id}")
        elif supported_ids is not None and subnet.zone.zone_id not in supported_ids:
            problems.append(
                f"{subnet.subnet_id} is in {subnet.zone.name} (zone id {subnet.zone.zone_id}), "
                f"where AgentCore VPC mode is not supported; supported zone ids: {', '.join(supported_ids)}"
            )
    return problems
