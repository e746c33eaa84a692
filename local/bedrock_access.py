"""Before `--model bedrock` starts anything: can the agent reach Bedrock with this machine's AWS setup?

The agent finds credentials with botocore's default chain (environment variables, the shared
credentials and config files with their profiles, SSO, assume-role and credential_process entries,
a container's credentials endpoint, then the EC2 instance metadata service). This check asks the
same chain, in this process, whose environment the agent inherits, so a laptop that is not signed
in gets one line saying how to sign in instead of an agent that exits with a configuration error.

The instance metadata service is the chain's last resort, and off EC2 nothing answers it: botocore
waits `metadata_service_timeout` seconds (default 1) per request, `metadata_service_num_attempts`
times (default 1), for a token and then for a role. The check caps both at those defaults, so a
machine that is not signed in hears so within about two seconds whatever its configuration says;
AWS_EC2_METADATA_DISABLED=true skips the service altogether (botocore's own switch). On EC2 the
service answers in milliseconds, so the cap costs nothing there.

SSO and assume-role credentials are resolved lazily by botocore (on the first call), so an expired
SSO session is not noticed here: the first turn's error says so.
"""

from __future__ import annotations

import os

import botocore.exceptions
import botocore.session

# botocore's own defaults (botocore/configprovider.py): the most this check waits per metadata request.
METADATA_TIMEOUT_SECONDS = 1
METADATA_ATTEMPTS = 1
SIGN_IN = (
    "sign in to AWS first: `aws sso login --profile NAME` and `export AWS_PROFILE=NAME`, "
    "`aws configure` for access keys, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "(or leave out --model bedrock for the offline model)"
)
REGION_NEEDED = (
    "--model bedrock needs an AWS region: set AWS_REGION (e.g. us-east-1, a region that offers the model) "
    "or `region` in your AWS profile (aws configure)"
)


def bedrock_access_problem() -> str | None:
    """One line saying what is missing for Bedrock (credentials or a region) and how to fix it, or None."""
    session = botocore.session.Session()
    try:
        session.set_config_variable(
            "metadata_service_timeout", min(METADATA_TIMEOUT_SECONDS, session.get_config_variable("metadata_service_timeout"))
        )
        session.set_config_variable(
            "metadata_service_num_attempts",
            min(METADATA_ATTEMPTS, session.get_config_variable("metadata_service_num_attempts")),
        )
        credentials = session.get_credentials()
        region = os.environ.get("AWS_REGION") or session.get_config_variable("region")
    except botocore.exceptions.BotoCoreError as error:  # e.g. AWS_PROFILE names a profile that does not exist
        return f"--model bedrock cannot use your AWS configuration ({error}): {SIGN_IN}"
    if credentials is None:
        return f"--model bedrock needs AWS credentials, and none were found: {SIGN_IN}"
    if not region:
        return REGION_NEEDED
    return None
