"""The VPC a VPC-mode agent and a PRIVATE API's endpoint live in: an existing one, or a new one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

from stack_config.regions import SubnetPlacement, Zone, choose_agent_zones, subnet_problems
from streaming_shared.edge import SettingsError

# Two zones: AgentCore and the execute-api endpoint both want more than one, and each NAT-routed
# private subnet costs nothing extra (one NAT gateway serves both).
ZONE_COUNT = 2
DEFAULT_ROUTE = "0.0.0.0/0"


@dataclass(frozen=True)
class Subnets:
    """Private subnets of one VPC: where a VPC-mode agent puts its network interfaces."""

    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]


@dataclass
class NetworkArgs:
    # An existing VPC to use; None creates a new one with awsx.ec2.Vpc.
    vpc_id: Optional[str]
    # Private subnets of the existing VPC (ignored when a VPC is created).
    subnet_ids: Sequence[str] = field(default_factory=tuple)
    # CIDR block of a new VPC (ignored when vpc_id is given; the existing VPC's is looked up).
    cidr_block: str = "10.0.0.0/16"
    # The zone ids AgentCore VPC mode accepts in this region (stack_config/regions.py), when the
    # agent runs in this VPC; None when only a PRIVATE API's endpoint does (any zone will do).
    agent_zone_ids: Optional[Sequence[str]] = None
    # The full config key behind subnet_ids, named in errors and warnings.
    subnet_ids_key: str = "subnetIds"
    tags: dict[str, str] = field(default_factory=dict)


def _route_leaves_the_vpc(route: Any) -> bool:
    """A default route through something that reaches the internet for private addresses.

    An internet gateway does not count: AgentCore's network interfaces get no public address, so
    only NAT (a NAT gateway, or an instance, interface, transit gateway or Cloud WAN that does it)
    carries their traffic out.
    """
    if route.cidr_block != DEFAULT_ROUTE:
        return False
    return bool(route.nat_gateway_id or route.transit_gateway_id or route.network_interface_id
                or route.instance_id or route.core_network_arn)


def egress_problem(subnet_id: str, routes: Sequence[Any]) -> Optional[str]:
    """Why a subnet's route table gives an agent there no way out, or None."""
    if any(_route_leaves_the_vpc(route) for route in routes):
        return None
    s3_gateway = any(route.destination_prefix_list_id and (route.gateway_id or "").startswith("vpce-")
                     for route in routes)
    reach = ("an S3 gateway endpoint but no NAT default route" if s3_gateway
             else "neither a NAT default route nor an S3 gateway endpoint")
    return (
        f"{subnet_id} has {reach}: the agent there fetches its code from S3 and calls Bedrock, "
        "AgentCore, CloudWatch Logs and X-Ray through this VPC; add a NAT route, or an S3 gateway "
        "endpoint plus interface endpoints (bedrock-runtime, bedrock-agentcore, logs, xray, and ecr.api "
        "+ ecr.dkr for a container agent) with private DNS"
    )


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    cidr_block: pulumi.Output[str]
    # The same VPC and private subnets as one object, for the components placed in them.
    private_subnets: Subnets

    def __init__(self, name: str, args: NetworkArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:network:Network", name, None, opts)
        invoke = pulumi.InvokeOptions(parent=self)

        if args.vpc_id is not None:
            self._check_existing_subnets(args, invoke)
            existing = aws.ec2.get_vpc_output(id=args.vpc_id, opts=invoke)
            self.vpc_id = pulumi.Output.from_input(args.vpc_id)
            self.private_subnet_ids = pulumi.Output.from_input(list(args.subnet_ids))
            self.cidr_block = existing.cidr_block
        else:
            vpc = awsx.ec2.Vpc(
                f"{name}-vpc",
                cidr_block=args.cidr_block,
                # Named zones, not number_of_availability_zones: awsx would take the first names,
                # and names map to different zone ids in every account.
                availability_zone_names=self._zone_names(args, invoke),
                enable_dns_hostnames=True,  # the execute-api endpoint's private DNS needs both
                enable_dns_support=True,
                # One NAT gateway: a VPC-mode agent must reach S3 (its code) and Bedrock, and one
                # is the cheapest way; awsx routes each private subnet's 0.0.0.0/0 through it.
                nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(
                    strategy=awsx.ec2.NatGatewayStrategy.SINGLE,
                ),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.vpc_id = vpc.vpc_id
            self.private_subnet_ids = vpc.private_subnet_ids
            self.cidr_block = pulumi.Output.from_input(args.cidr_block)

        self.private_subnets = Subnets(vpc_id=self.vpc_id, subnet_ids=self.private_subnet_ids)
        self.register_outputs({
            "vpcId": self.vpc_id,
            "privateSubnetIds": self.private_subnet_ids,
            "cidrBlock": self.cidr_block,
        })

    @staticmethod
    def _zone_names(args: NetworkArgs, invoke: pulumi.InvokeOptions) -> list[str]:
        """Names of the zones for a new VPC, chosen by zone id when the agent runs there."""
        filters = [{"name": "opt-in-status", "values": ["opt-in-not-required"]}]
        if args.agent_zone_ids is not None:
            filters.append({"name": "zone-id", "values": list(args.agent_zone_ids)})
        # No filter on the zones' state: a zone impaired during a later preview must not change the
        # choice (awsx would replace the subnets); the choice follows the table's order of ids.
        found = aws.get_availability_zones(all_availability_zones=False, filters=filters, opts=invoke)
        zones = [Zone(name=zone_name, zone_id=zone_id) for zone_name, zone_id in zip(found.names, found.zone_ids)]
        if args.agent_zone_ids is None:
            return [zone.name for zone in zones[:ZONE_COUNT]]
        try:
            return [zone.name for zone in choose_agent_zones(zones, args.agent_zone_ids, ZONE_COUNT)]
        except ValueError as error:
            raise SettingsError(f"{args.subnet_ids_key} is empty, so a new VPC is created, and it {error}") from None

    @staticmethod
    def _check_existing_subnets(args: NetworkArgs, invoke: pulumi.InvokeOptions) -> None:
        """Refuse subnets AgentCore would refuse at deploy time; warn about ones with no way out."""
        assert args.vpc_id is not None
        placements: list[SubnetPlacement] = []
        for subnet_id in args.subnet_ids:
            subnet = aws.ec2.get_subnet(id=subnet_id, opts=invoke)
            placements.append(SubnetPlacement(
                subnet_id=subnet_id,
                vpc_id=subnet.vpc_id,
                zone=Zone(name=subnet.availability_zone, zone_id=subnet.availability_zone_id),
            ))
        problems = subnet_problems(placements, args.vpc_id, args.agent_zone_ids)
        if problems:
            raise SettingsError(f"{args.subnet_ids_key}: " + "; ".join(problems))
        if args.agent_zone_ids is None:
            return  # only the execute-api endpoint goes there; it needs no way out
        for subnet_id in args.subnet_ids:
            problem = egress_problem(subnet_id, _route_table_of(subnet_id, args.vpc_id, invoke).routes)
            if problem is not None:
                pulumi.log.warn(f"{args.subnet_ids_key}: {problem}")


def _route_table_of(subnet_id: str, vpc_id: str, invoke: pulumi.InvokeOptions) -> Any:
    """The subnet's route table: its explicit association, else the VPC's main table (as EC2 does)."""
    explicit = aws.ec2.get_route_tables(
        vpc_id=vpc_id, filters=[{"name": "association.subnet-id", "values": [subnet_id]}], opts=invoke,
    )
    if explicit.ids:
        return aws.ec2.get_route_table(route_table_id=explicit.ids[0], opts=invoke)
    return aws.ec2.get_route_table(
        vpc_id=vpc_id, filters=[{"name": "association.main", "values": ["true"]}], opts=invoke,
    )
