"""What botocore costs the proxy, against a smaller maintained signer (issue #20, item 3).

    python3.13 -m bench.signer_cost --site DIR [--runs 7] [--calls 2000]

DIR holds the packages to measure, installed for the interpreter that runs this and compiled to
bytecode as the zips ship it (the proxy's pins; aws-sdk-signers needs Python >= 3.12):

    python3.13 -m pip install --target DIR boto3==1.44.5 botocore==1.44.5 urllib3==2.8.0 aws-sdk-signers==0.4.0
    python3.13 -m compileall -q --invalidation-mode unchecked-hash DIR

Prints, as median (min..max) of --runs fresh interpreters taken in turn: the import CPU time (on top of the
standard library the proxy loads anyway, BASELINE) of what the proxy uses today (boto3 and its
client), of botocore's signer with and without its credential chain, and of aws-sdk-signers; then the CPU per request of botocore's whole call (serialize, endpoint rules,
sign, parse; the network replaced by a canned response), of botocore's SigV4 alone, and of
aws-sdk-signers' SigV4 on the same InvokeAgentRuntime request. Not part of `python -m bench`: the
venv holds neither Python 3.13 nor aws-sdk-signers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from bench.stats import alternate, spread

ARN = "arn:aws:bedrock-agentcore:us-west-2:123456789012:runtime/bench_agent-abcdefghij"
REGION = "us-west-2"
URL = "https://bedrock-agentcore.us-west-2.amazonaws.com/runtimes/arn%3Aaws%3Abedrock-agentcore%3Aus-west-2%3A123456789012%3Aruntime%2Fbench_agent-abcdefghij/invocations?qualifier=DEFAULT"
BODY = json.dumps({"prompt": "how long is a piece of string?"}).encode()
SESSION = "bench-session-0123456789abcdef0123456789"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "AWS_SESSION_TOKEN": "token"}

IMPORTS = {
    "boto3 + its bedrock-agentcore client (the proxy today)": (
        "import boto3\n"
        f"boto3.session.Session().client('bedrock-agentcore', region_name={REGION!r})"
    ),
    "botocore's SigV4 and credential chain alone": (
        "import botocore.auth, botocore.awsrequest, botocore.credentials, botocore.session\n"
        "botocore.session.get_session().get_credentials()"
    ),
    "botocore's SigV4 and static credentials only (no session)": (
        "import botocore.auth, botocore.awsrequest, botocore.credentials"
    ),
    "aws-sdk-signers": "import aws_sdk_signers",
}
# Loaded before each import is timed: the standard library the proxy (uvicorn, starlette, its own
# code) and any HTTPS client of AgentCore load anyway, so the figures are what each choice adds.
BASELINE = "import asyncio, datetime, email.utils, hashlib, hmac, http.client, json, logging, ssl, typing, urllib.parse"

# One snippet per per-request figure: it defines call(), which is timed over `calls` calls.
BOTOCORE_CALL = f"""
import io, boto3
from botocore.awsrequest import AWSResponse
client = boto3.session.Session().client("bedrock-agentcore", region_name={REGION!r})
def canned(**kwargs):  # instead of the network: AgentCore's 200 with an event stream
    return AWSResponse(kwargs["request"].url, 200, {{"content-type": "text/event-stream"}}, io.BytesIO(b"data: {{}}\\n\\n"))
client.meta.events.register("before-send.bedrock-agentcore.InvokeAgentRuntime", canned)
def call():
    client.invoke_agent_runtime(agentRuntimeArn={ARN!r}, runtimeSessionId={SESSION!r}, payload={BODY!r}, qualifier="DEFAULT")
"""
BOTOCORE_SIGV4 = f"""
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
credentials = botocore.session.get_session().get_credentials().get_frozen_credentials()
signer = SigV4Auth(credentials, "bedrock-agentcore", {REGION!r})
def call():
    request = AWSRequest("POST", {URL!r}, data={BODY!r}, headers={{"Content-Type": "application/octet-stream",
                         "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": {SESSION!r}}})
    signer.add_auth(request)
"""
SMALL_SIGV4 = f"""
import os
from aws_sdk_signers import AWSCredentialIdentity, AWSRequest, Field, Fields, SigV4Signer, URI
identity = AWSCredentialIdentity(access_key_id=os.environ["AWS_ACCESS_KEY_ID"], secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"], session_token=os.environ["AWS_SESSION_TOKEN"])
signer = SigV4Signer()
destination = URI(host="bedrock-agentcore.{REGION}.amazonaws.com", path={URL.split("amazonaws.com")[1].split("?")[0]!r}, query="qualifier=DEFAULT")
def call():
    request = AWSRequest(destination=destination, method="POST", body=[{BODY!r}], fields=Fields([
        Field(name="Content-Type", values=["application/octet-stream"]),
        Field(name="X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", values=[{SESSION!r}])]))
    signer.sign(request=request, identity=identity, properties={{"service": "bedrock-agentcore", "region": {REGION!r}}})
"""
PER_REQUEST = {
    "botocore, the whole invoke_agent_runtime call but the network": BOTOCORE_CALL,
    "botocore's SigV4Auth.add_auth alone": BOTOCORE_SIGV4,
    "aws-sdk-signers' SigV4Signer.sign": SMALL_SIGV4,
}


def run_python(code: str, site: str) -> float:
    """Run code in a fresh interpreter with site first on its path; the float it prints last."""
    prologue = f"import sys, time\nsys.path.insert(0, {site!r})\n"
    output = subprocess.run(
        [sys.executable, "-c", prologue + code], env={"PATH": "/usr/bin:/bin", **CREDENTIALS},
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    return float(output.strip().splitlines()[-1])


def import_seconds(snippet: str, site: str) -> float:
    # CPU time, not wall time: imports from a warm page cache are CPU-bound, and on a shared machine
    # the wall clock mostly measures the neighbours.
    return run_python(f"{BASELINE}\nstarted = time.process_time()\n{snippet}\nprint(time.process_time() - started)", site)


def cpu_per_call(snippet: str, site: str, calls: int) -> float:
    timing = f"\nfor _ in range(50): call()\nstarted = time.process_time()\nfor _ in range({calls}): call()\nprint((time.process_time() - started) / {calls})"
    return run_python(snippet + timing, site)


def available(site: str, module: str) -> bool:
    try:
        run_python(f"import {module}\nprint(1)", site)
    except subprocess.CalledProcessError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.signer_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", required=True, help="folder with boto3/botocore (and aws-sdk-signers) installed")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    arguments = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}, {arguments.runs} runs each, taken in turn; packages from {arguments.site}")
    imports = {name: code for name, code in IMPORTS.items() if "aws_sdk_signers" not in code or available(arguments.site, "aws_sdk_signers")}
    per_request = {name: code for name, code in PER_REQUEST.items() if "aws_sdk_signers" not in code or "aws-sdk-signers" in " ".join(imports)}
    if len(imports) < len(IMPORTS):
        print("aws-sdk-signers: not importable from --site with this Python (it needs >= 3.12); its rows are left out")
    results = alternate({name: (lambda code=code: import_seconds(code, arguments.site)) for name, code in imports.items()}, arguments.runs)
    for name, values in results.items():
        print(f"import CPU, {name}: {spread(values, lambda s: f'{s * 1000:.1f} ms')}")
    results = alternate(
        {name: (lambda code=code: cpu_per_call(code, arguments.site, arguments.calls)) for name, code in per_request.items()}, arguments.runs
    )
    for name, values in results.items():
        print(f"CPU per request, {name}: {spread(values, lambda s: f'{s * 1e6:.0f} µs')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
