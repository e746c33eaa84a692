"""Reach a PRIVATE REST API from inside a VPC: an execute-api interface endpoint with private DNS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

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


def regional_dns_entry(entries: Sequence[Any]) -> tuple[str, str]:
    """(DNS name, hosted zone id) of an interface endpoint's regional name.

    EC2 lists a regional name (vpce-<id>.execute-api.<region>.vpce.amazonaws.com), one per zone
    (vpce-<id>-<zone>.execute-api...) and, with private DNS, the service's own name; the regional
    one is the shortest of the vpce names. Entries arrive as the provider's objects or as plain dicts.
    """
    def field(entry: Any, name: str, key: str) -> str:
        # The provider's output types are dicts keyed in snake_case; plain dicts may be camelCase.
        if isinstance(entry, dict):
            return entry[name] if name in entry else entry[key]
        return getattr(entry, name)

    names = [(field(e, "dns_name", "dnsName"), field(e, "hosted_zone_id", "hostedZoneId")) for e in entries]
    vpce_names = [entry for entry in names if entry[0].endswith(".vpce.amazonaws.com")]
    if not vpce_names:
        raise ValueError(f"the execute-api endpoint has no vpce DNS name: {names}")
    return min(vpce_names, key=lambda entry: len(entry[0]))


class PrivateAccess(pulumi.ComponentResource):
    vpc_endpoint_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    # The endpoint's regional DNS name and its Route 53 zone: what a private custom domain's alias
    # record points at.
    dns_name: pulumi.Output[str]
    dns_zone_id: pulumi.Output[str]

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
        regional = endpoint.dns_entries.apply(regional_dns_entry)
        self.dns_name = regional.apply(lambda entry: entry[0])
        self.dns_zone_id = regional.apply(lambda entry: entry[1])
        self.register_outputs({"vpcEndpointId": self.vpc_endpoint_id, "securityGroupId": self.security_group_id})
