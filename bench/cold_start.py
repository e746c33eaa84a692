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
from collections.abc import Callable

from bench import anchor
from bench.report import Figure
from bench.stats import median, spread
from local.stack import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, LOCAL_REGION, LOCAL_RUNTIME_ARN, REPO_ROOT
from proxy.streaming_proxy.edge import ProxySettings

# What run.sh does before the first request, as Lambda's init phase would: uvicorn with the event
# loop it picks ("auto": uvloop when installed) and the h11 protocol, the app, the client.
PROXY_SNIPPET = """
import json, os, time
started = time.perf_counter()
import uvicorn
from uvicorn.loops.auto import auto_loop_factory
from uvicorn.protocols.http.h11_impl import H11Protocol
auto_loop_factory()
server_loaded = time.perf_counter()
import streaming_proxy.app as proxy_app
imported = time.perf_counter()
from streaming_proxy.edge import load_settings
settings = load_settings(os.environ)
proxy_app.create_app(settings, client=object())  # app only, no AWS client
app_built = time.perf_counter()
from streaming_proxy.upstream import create_client
create_client(settings)  # the real boto3 client the deployed proxy builds at start-up
client_built = time.perf_counter()
print(json.dumps({"server": server_loaded - started, "import": imported - server_loaded, "app": app_built - imported,
                  "client": client_built - app_built, "total": client_built - started,
                  "loop": auto_loop_factory().__module__, "http": H11Protocol.__name__}))
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



def time_snippet(snippet: str, cwd: str, env: dict[str, str], runs: int, between: Callable[[], None] = lambda: None) -> dict[str, list]:
    """The snippet's timings, run by run; `between` runs after each (what is compared with it, interleaved)."""
    samples: dict[str, list] = {}
    for _ in range(runs):
        between()
        output = subprocess.run(
            [sys.executable, "-c", snippet], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=120
        ).stdout
        for key, value in json.loads(output.strip().splitlines()[-1]).items():
            samples.setdefault(key, []).append(value)
    return samples


def measure_imports(runs: int) -> list[Figure]:
    base_env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "0", "HOME": str(REPO_ROOT)}
    proxy_env = {
        **base_env,
        **ProxySettings(runtime_arn=LOCAL_RUNTIME_ARN).to_environ(),
        "AWS_REGION": LOCAL_REGION,
        "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
    }
    agent_env = {**base_env, "AGENT_MODEL_PROVIDER": "offline"}
    # The proxy's venv site-packages, so its chosen loop and parser are the ones run.sh would get.
    node: list[float] = []  # the Node anchor's cold starts, interleaved with the proxy's
    proxy = time_snippet(PROXY_SNIPPET, str(REPO_ROOT / "proxy"), proxy_env, runs, lambda: node.append(anchor.ready_seconds()))
    agent = time_snippet(AGENT_SNIPPET, str(REPO_ROOT / "agent"), agent_env, runs)
    show = lambda seconds: f"{seconds * 1000:.0f} ms"  # noqa: E731
    loop = "uvloop" if "uvloop" in proxy["loop"][0] else "asyncio"
    parser = "h11" if proxy["http"][0] == "H11Protocol" else proxy["http"][0]
    return [
        Figure(
            "cold start",
            f"proxy init like Lambda's: uvicorn ({loop}, {parser}) + import app + create_app + boto3 client",
            f"{spread(proxy['total'], show)}: server {median(proxy['server']) * 1000:.0f} ms, app import "
            f"{median(proxy['import']) * 1000:.0f} ms, create_app {median(proxy['app']) * 1000:.0f} ms, "
            f"client {median(proxy['client']) * 1000:.0f} ms",
        ),
        anchor.cold_start_figure(proxy["total"], node),
        Figure(
            "cold start",
            "agent: import streaming_agent.app + create_app (offline model)",
            # strands itself imports its Bedrock provider, so this covers the deployed model's code too.
            f"{spread([i + a for i, a in zip(agent['import'], agent['app'])], show)} (strands included)",
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
