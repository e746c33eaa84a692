"""Pulumi policy pack entry point: `pulumi preview --policy-pack policy`."""

import sys
from pathlib import Path

# The CLI runs this file with policy/ as the script directory; the rules import themselves as
# the `policy` package (as the tests do), so the repository root must be importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policy.pack import PACK_NAME, build_policies  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="cdk-nag style checks (AwsSolutions, Serverless) for the agentcore-streaming stacks.",
)
