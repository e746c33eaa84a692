"""Cold start: how long a fresh interpreter takes to import and build each app, and the zip sizes.

Each timing runs in a new subprocess (nothing cached in memory; .pyc files on disk are, as they are
on Lambda and AgentCore, whose zips carry no bytecode but whose runtimes compile once per sandbox).
The median of several runs is reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

from bench.report import Figure
from bench.stats import median
from local.stack import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, LOCAL_REGION, LOCAL_RUNTIME_ARN, REPO_ROOT

PROXY_SNIPPET = """
import json, os, time
started = time.perf_counter()
import streaming_proxy.app as proxy_app
imported = time.perf_counter()
from streaming_proxy.settings import load_settings
settings = load_settings(os.environ)
proxy_app.create_app(settings, client=object())  # app only, no AWS client
app_built = time.perf_counter()
from streaming_proxy.upstream import create_client
create_client(settings)  # the real boto3 client the deployed proxy builds at start-up
client_built = time.perf_counter()
print(json.dumps({"import": imported - started, "app": app_built - imported, "client": client_built - app_built}))
"""

AGENT_SNIPPET = """
import json, os, time
started = time.perf_counter()
import streaming_agent.app as agent_app
imported = time.perf_counter()
from streaming_agent.settings import load_settings
agent_app.create_app(load_settings(os.environ))
app_built = time.perf_counter()
print(json.dumps({"import": imported - started, "app": app_built - imported}))
"""


def time_snippet(snippet: str, cwd: str, env: dict[str, str], runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        output = subprocess.run(
            [sys.executable, "-c", snippet], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=120
        ).stdout
        for key, value in json.loads(output.strip().splitlines()[-1]).items():
            samples.setdefault(key, []).append(value)
    return {key: median(values) for key, values in samples.items()}


def measure_imports(runs: int) -> list[Figure]:
    base_env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "0", "HOME": str(REPO_ROOT)}
    proxy_env = {
        **base_env,
        "AGENT_RUNTIME_ARN": LOCAL_RUNTIME_ARN,
        "AWS_REGION": LOCAL_REGION,
        "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
    }
    agent_env = {**base_env, "AGENT_MODEL_PROVIDER": "offline"}
    proxy = time_snippet(PROXY_SNIPPET, str(REPO_ROOT / "proxy"), proxy_env, runs)
    agent = time_snippet(AGENT_SNIPPET, str(REPO_ROOT / "agent"), agent_env, runs)
    return [
        Figure(
            "cold start",
            f"proxy: import streaming_proxy.app (median of {runs})",
            f"{proxy['import'] * 1000:.0f} ms; + create_app {proxy['app'] * 1000:.0f} ms; "
            f"+ boto3 bedrock-agentcore client {proxy['client'] * 1000:.0f} ms",
        ),
        Figure(
            "cold start",
            f"agent: import streaming_agent.app (median of {runs})",
            # strands itself imports its Bedrock provider, so this covers the deployed model's code too.
            f"{agent['import'] * 1000:.0f} ms (strands included); + create_app (offline model) {agent['app'] * 1000:.0f} ms",
        ),
    ]


def describe_zip(label: str, builder_name: str) -> Figure:
    from packager import artifacts

    artifact = getattr(artifacts, builder_name)()
    with zipfile.ZipFile(artifact.path) as archive:
        infos = archive.infolist()
    unzipped = sum(info.file_size for info in infos)
    return Figure(
        "cold start",
        f"{label} zip size",
        f"{artifact.size / 2**20:.1f} MiB ({unzipped / 2**20:.1f} MiB unzipped, {len(infos)} files)",
    )


def measure_zips() -> list[Figure]:
    # The builders cache their dependency installs under .build/; the first run needs PyPI.
    return [describe_zip("proxy", "build_proxy_zip"), describe_zip("agent", "build_agent_zip")]
