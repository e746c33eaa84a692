"""Reach a PRIVATE REST API from inside a VPC: an execute-api interface endpoint with private DNS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.network import Subnets

HTTPS_PORT = 443


@dataclass
class PrivateAccessArgs:
    # The VPC and the subnets that get an endpoint network interface (one per zone is enough).
    subnets: Subnets
    # Only this CIDR (the VPC's) may connect to the endpoint.
    vpc_cidr: pulumi.Input[str]
    region: str


class PrivateAccess(pulumi.ComponentResource):
    vpc_endpoint_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: PrivateAccessArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:private_access:PrivateAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # No egress rules: an interface endpoint only answers connections, it never opens them.
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.subnets.vpc_id,
            description="execute-api endpoint: HTTPS from the VPC only",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp",
                from_port=HTTPS_PORT,
                to_port=HTTPS_PORT,
                cidr_blocks=[args.vpc_cidr],
                description="HTTPS from inside the VPC",
            )],
            opts=child,
        )
        endpoint = aws.ec2.VpcEndpoint(
            f"{name}-endpoint",
            vpc_id=args.subnets.vpc_id,
            service_name=f"com.amazonaws.{args.region}.execute-api",
            vpc_endpoint_type="Interface",
            # Private DNS lets callers in the VPC use the API's normal execute-api host name.
            private_dns_enabled=True,
            subnet_ids=args.subnets.subnet_ids,
            security_group_ids=[security_group.id],
            opts=child,
        )

        self.vpc_endpoint_id = endpoint.id
        self.security_group_id = security_group.id
        self.register_outputs({"vpcEndpointId": self.vpc_endpoint_id, "securityGroupId": self.security_group_id})
