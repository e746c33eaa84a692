"""The VPC a VPC-mode agent and a PRIVATE API's endpoint live in: an existing one, or a new one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx


@dataclass
class NetworkArgs:
    # An existing VPC to use; None creates a new one with awsx.ec2.Vpc.
    vpc_id: Optional[str]
    # Private subnets of the existing VPC (ignored when a VPC is created).
    subnet_ids: Sequence[str] = field(default_factory=tuple)
    # CIDR block of a new VPC (ignored when vpc_id is given; the existing VPC's is looked up).
    cidr_block: str = "10.0.0.0/16"
    tags: dict[str, str] = field(default_factory=dict)


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    cidr_block: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:network:Network", name, None, opts)

        if args.vpc_id is not None:
            existing = aws.ec2.get_vpc_output(id=args.vpc_id, opts=pulumi.InvokeOptions(parent=self))
            self.vpc_id = pulumi.Output.from_input(args.vpc_id)
            self.private_subnet_ids = pulumi.Output.from_input(list(args.subnet_ids))
            self.cidr_block = existing.cidr_block
        else:
            vpc = awsx.ec2.Vpc(
                f"{name}-vpc",
                cidr_block=args.cidr_block,
                number_of_availability_zones=2,
                enable_dns_hostnames=True,  # the execute-api endpoint's private DNS needs both
                enable_dns_support=True,
                # One NAT gateway: a VPC-mode agent must reach Bedrock, and one is the cheapest
                # way; put a bedrock-runtime interface endpoint here if NAT is not allowed.
                nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(
                    strategy=awsx.ec2.NatGatewayStrategy.SINGLE,
                ),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.vpc_id = vpc.vpc_id
            self.private_subnet_ids = vpc.private_subnet_ids
            self.cidr_block = pulumi.Output.from_input(args.cidr_block)

        self.register_outputs({
            "vpcId": self.vpc_id,
            "privateSubnetIds": self.private_subnet_ids,
            "cidrBlock": self.cidr_block,
        })
