"""A custom domain in front of the REST API's stage: REGIONAL or PRIVATE, with its certificate and DNS.

REGIONAL: a regional domain name (TLS 1.2 policy) on an ACM certificate of the API's region, the
given one or one the program requests and validates by DNS in the hosted zone; a base path mapping
of the stage at the domain's root; given a hosted zone, an alias A record to the regional domain.
PRIVATE: a private custom domain name whose `execute-api` policy admits only the stack's VPC
endpoint, the domain name access association that lets that endpoint reach it, the base path
mapping (which names the domain by its id as well), and, given a private hosted zone, an alias A
record to the VPC endpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import policies
from components.api_builders import ROUTE_PATH
from stack_config.domain_names import SECURITY_POLICY, CustomDomain


@dataclass
class VpcEndpointTarget:
    """The execute-api interface endpoint a PRIVATE domain is reached through."""

    vpc_endpoint_id: pulumi.Input[str]
    # Its regional DNS name and that name's Route 53 zone (for the alias record).
    dns_name: pulumi.Input[str]
    dns_zone_id: pulumi.Input[str]


@dataclass
class CustomDomainNameArgs:
    # The validated setting (stack_config/domain_names.py).
    domain: CustomDomain
    # "REGIONAL" or "PRIVATE": the API's endpoint type, which the domain's must match.
    endpoint_type: str
    # The API and the stage the domain's root serves.
    rest_api_id: pulumi.Input[str]
    stage_name: pulumi.Input[str]
    # Where the domain lives: a PRIVATE domain's execute-api ARN (invoke_arn) names them.
    partition: pulumi.Input[str]
    region: str
    account_id: pulumi.Input[str]
    # PRIVATE only: the VPC endpoint the domain is associated with.
    vpc_endpoint: Optional[VpcEndpointTarget] = None


class CustomDomainName(pulumi.ComponentResource):
    # https://<name>, once the stage is mapped at its root; invoke_url adds the route.
    url: pulumi.Output[str]
    invoke_url: pulumi.Output[str]
    domain_name_arn: pulumi.Output[str]
    # REGIONAL: the host name and zone a DNS record for the domain must point at (an alias or CNAME);
    # None for PRIVATE (the VPC endpoint is the target).
    target_domain_name: Optional[pulumi.Output[str]]
    target_zone_id: Optional[pulumi.Output[str]]
    # PRIVATE: the domain's execute-api ARN, which the VPC endpoint's policy must allow invoking;
    # None for REGIONAL.
    invoke_arn: Optional[pulumi.Output[str]]

    def __init__(self, name: str, args: CustomDomainNameArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:custom_domain:CustomDomainName", name, None, opts)
        if args.endpoint_type == "PRIVATE":
            if args.vpc_endpoint is None or args.domain.certificate_arn is None:
                raise ValueError("a PRIVATE custom domain needs the VPC endpoint and a certificate ARN")
            domain_name, mapping = self._private(name, args, args.vpc_endpoint)
            self.target_domain_name = self.target_zone_id = None
            self.invoke_arn = pulumi.Output.all(
                args.partition, args.account_id, domain_name.domain_name, domain_name.domain_name_id
            ).apply(lambda v: policies.private_domain_invoke_arn(v[0], args.region, v[1], v[2], v[3]))
        elif args.endpoint_type == "REGIONAL":
            domain_name, mapping = self._regional(name, args)
            self.target_domain_name = domain_name.regional_domain_name
            self.target_zone_id = domain_name.regional_zone_id
            self.invoke_arn = None
        else:
            raise ValueError(f"no custom domain for endpoint type {args.endpoint_type!r}")
        base_url = args.domain.url
        # Resolved once the mapping exists, so nobody is handed a URL that does not answer yet.
        self.url = mapping.id.apply(lambda _: base_url)
        self.invoke_url = mapping.id.apply(lambda _: f"{base_url}/{ROUTE_PATH}")
        self.domain_name_arn = domain_name.arn
        self.register_outputs({"url": self.url, "invokeUrl": self.invoke_url, "domainNameArn": self.domain_name_arn})

    def _regional(
        self, name: str, args: CustomDomainNameArgs
    ) -> tuple[aws.apigateway.DomainName, aws.apigateway.BasePathMapping]:
        child = pulumi.ResourceOptions(parent=self)
        domain = args.domain
        certificate_arn: pulumi.Input[str]
        if domain.certificate_arn is not None:
            certificate_arn = domain.certificate_arn
        else:
            assert domain.hosted_zone_id is not None  # domain_names.py requires one of the two
            certificate_arn = self._validated_certificate(name, domain.name, domain.hosted_zone_id)
        domain_name = aws.apigateway.DomainName(
            f"{name}-domain",
            domain_name=domain.name,
            endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(types="REGIONAL"),
            regional_certificate_arn=certificate_arn,
            security_policy=SECURITY_POLICY,
            opts=child,
        )
        mapping = aws.apigateway.BasePathMapping(
            f"{name}-mapping",
            domain_name=domain_name.domain_name,
            rest_api=args.rest_api_id,
            stage_name=args.stage_name,
            opts=child,
        )
        if domain.hosted_zone_id is not None:
            self._alias_record(name, domain, domain_name.regional_domain_name, domain_name.regional_zone_id)
        return domain_name, mapping

    def _private(
        self, name: str, args: CustomDomainNameArgs, endpoint: VpcEndpointTarget
    ) -> tuple[aws.apigateway.DomainName, aws.apigateway.BasePathMapping]:
        child = pulumi.ResourceOptions(parent=self)
        domain = args.domain
        domain_name = aws.apigateway.DomainName(
            f"{name}-domain",
            domain_name=domain.name,
            endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(types="PRIVATE"),
            # A private domain name takes its certificate as certificate_arn, not regional_certificate_arn.
            certificate_arn=domain.certificate_arn,
            security_policy=SECURITY_POLICY,
            policy=pulumi.Output.from_input(endpoint.vpc_endpoint_id).apply(
                lambda vpce: json.dumps(policies.private_domain_policy(vpce))
            ),
            opts=child,
        )
        mapping = aws.apigateway.BasePathMapping(
            f"{name}-mapping",
            domain_name=domain_name.domain_name,
            # Private domain names are not unique across accounts: the id says which one.
            domain_name_id=domain_name.domain_name_id,
            rest_api=args.rest_api_id,
            stage_name=args.stage_name,
            opts=child,
        )
        aws.apigateway.DomainNameAccessAssociation(
            f"{name}-access-association",
            domain_name_arn=domain_name.arn,
            access_association_source=endpoint.vpc_endpoint_id,
            access_association_source_type="VPCE",
            opts=child,
        )
        if domain.hosted_zone_id is not None:
            self._alias_record(name, domain, endpoint.dns_name, endpoint.dns_zone_id)
        return domain_name, mapping

    def _validated_certificate(self, name: str, domain_name: str, hosted_zone_id: str) -> pulumi.Output[str]:
        """An ACM certificate for the name, validated by the DNS record ACM asks for; its ARN once issued."""
        child = pulumi.ResourceOptions(parent=self)
        certificate = aws.acm.Certificate(
            f"{name}-certificate", domain_name=domain_name, validation_method="DNS", opts=child,
        )
        # One name, so exactly one validation option.
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{name}-certificate-validation-record",
            zone_id=hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            # ACM asks for the same record again when the certificate is replaced.
            allow_overwrite=True,
            opts=child,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-certificate-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=child,
        )
        return validation.certificate_arn

    def _alias_record(
        self, name: str, domain: CustomDomain, target_name: pulumi.Input[str], target_zone_id: pulumi.Input[str]
    ) -> None:
        assert domain.hosted_zone_id is not None
        # IPv4 only: the domain name is created with API Gateway's default ipv4 address type, so an
        # AAAA alias would point at a name without IPv6 addresses.
        aws.route53.Record(
            f"{name}-alias-a",
            zone_id=domain.hosted_zone_id,
            name=domain.name,
            type="A",
            aliases=[aws.route53.RecordAliasArgs(name=target_name, zone_id=target_zone_id, evaluate_target_health=False)],
            opts=pulumi.ResourceOptions(parent=self),
        )
