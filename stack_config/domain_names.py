"""The custom domain setting: its type and its grammar, plain Python (no Pulumi), one home for both.

settings.py reads `customDomain` with `parse_custom_domain`; components/custom_domain.py builds the
resources from the resulting `CustomDomain`; the policy pack reads `ALLOWED_SECURITY_POLICIES`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# The TLS policy the program gives every custom domain. TLS_1_2 accepts TLS 1.2 and 1.3 and refuses
# 1.0; it is the one legacy policy that REGIONAL and PRIVATE custom domains both accept, and unlike
# the enhanced `SecurityPolicy_*` policies it needs no endpoint access mode (API Gateway Developer
# Guide, "Choose a security policy for your custom domain in API Gateway").
SECURITY_POLICY = "TLS_1_2"
# What the policy pack accepts: TLS_1_2, or any enhanced policy (all of them refuse TLS 1.0 and 1.1).
ENHANCED_SECURITY_POLICY_PREFIX = "SecurityPolicy_"

FIELDS: tuple[str, ...] = ("name", "certificateArn", "hostedZoneId")
DOMAIN_FORM = (
    "a fully qualified host name such as api.example.com: two or more labels of letters, digits and "
    "hyphens (1-63 characters each, no hyphen at either end), 253 characters at most, no wildcard"
)
CERTIFICATE_FORM = "an ACM certificate ARN, arn:aws:acm:<region>:<12-digit account>:certificate/<id>"
HOSTED_ZONE_FORM = "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ (optionally written /hostedzone/<id>)"

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CERTIFICATE_ARN = re.compile(
    r"^arn:aws[a-z-]*:acm:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):\d{12}:certificate/[0-9a-f-]{1,64}$"
)
_HOSTED_ZONE_ID = re.compile(r"^[A-Z0-9]{1,32}$")


class CustomDomainError(ValueError):
    """One field of customDomain is wrong: `field` names it ("" for the object itself)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CustomDomain:
    # The host name callers use, lower-cased (DNS names are case-insensitive).
    name: str
    # An existing ACM certificate for `name` in the stack's region; None: the program requests one
    # and validates it through `hosted_zone_id` (REGIONAL only).
    certificate_arn: str | None
    # Where the program writes the alias record for `name` (and, without a certificate, the ACM
    # validation record); None: the user creates the DNS record (the `customDomainTarget` output).
    hosted_zone_id: str | None

    @property
    def url(self) -> str:
        """The API's base URL on this domain: the base path mapping maps the stage at the root."""
        return f"https://{self.name}"


def certificate_region(arn: str) -> str:
    match = _CERTIFICATE_ARN.match(arn)
    if match is None:
        raise ValueError(arn)
    return match["region"]


def _domain_name(value: Any) -> str:
    if not isinstance(value, str):
        raise CustomDomainError("name", f"must be {DOMAIN_FORM}, got {value!r}")
    name = value.strip().lower()
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise CustomDomainError("name", f"must be {DOMAIN_FORM}, got {value!r}")
    if name.endswith(".amazonaws.com"):
        raise CustomDomainError("name", f"must be a domain of your own, not an AWS host name, got {value!r}")
    return name


def _certificate_arn(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not _CERTIFICATE_ARN.match(value.strip()):
        raise CustomDomainError("certificateArn", f"must be {CERTIFICATE_FORM}, got {value!r}")
    return value.strip()


def _hosted_zone_id(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = value.strip().removeprefix("/hostedzone/") if isinstance(value, str) else None
    if text is None or not _HOSTED_ZONE_ID.match(text):
        raise CustomDomainError("hostedZoneId", f"must be {HOSTED_ZONE_FORM}, got {value!r}")
    return text


def parse_custom_domain(value: Any, *, region: str, endpoint_type: str) -> CustomDomain | None:
    """The customDomain setting (an object, or its JSON as Pulumi hands it over); None when empty.

    Raises CustomDomainError naming the offending field and what is allowed.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            raise CustomDomainError("", f"must be an object with {', '.join(FIELDS)}, got {value!r}") from None
    if value is None:
        return None
    if not isinstance(value, dict):
        raise CustomDomainError("", f"must be an object with {', '.join(FIELDS)}, got {value!r}")
    if not value:
        return None
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise CustomDomainError(unknown[0], f"is not a customDomain field; allowed fields: {', '.join(FIELDS)}")
    if "name" not in value:
        raise CustomDomainError("name", f"is missing; it must be {DOMAIN_FORM}")
    domain = CustomDomain(
        name=_domain_name(value["name"]),
        certificate_arn=_certificate_arn(value.get("certificateArn")),
        hosted_zone_id=_hosted_zone_id(value.get("hostedZoneId")),
    )
    _check_fits(domain, region=region, endpoint_type=endpoint_type)
    return domain


def _check_fits(domain: CustomDomain, *, region: str, endpoint_type: str) -> None:
    if domain.certificate_arn is None and domain.hosted_zone_id is None:
        raise CustomDomainError(
            "", "needs certificateArn (an ACM certificate for the name, in aws:region) or hostedZoneId "
                "(a Route 53 public hosted zone of the name: the program then requests the certificate and "
                "validates it by DNS), or both"
        )
    if domain.certificate_arn is not None:
        cert_region = certificate_region(domain.certificate_arn)
        if cert_region != region:
            raise CustomDomainError(
                "certificateArn",
                f"is a certificate in {cert_region!r}, but a {endpoint_type} custom domain can only use an "
                f"ACM certificate in the API's own region, aws:region {region!r} (only edge-optimized "
                "domains use us-east-1 certificates, and this program never creates EDGE endpoints); "
                f"request or import the certificate in {region!r}",
            )
    if endpoint_type == "PRIVATE" and domain.certificate_arn is None:
        raise CustomDomainError(
            "certificateArn",
            "is required for a PRIVATE API: ACM validates a requested certificate through public DNS, "
            "while a private API's name lives in a private hosted zone; give an ACM certificate for the "
            f"name in aws:region {region!r} (hostedZoneId then only receives the alias record)",
        )
