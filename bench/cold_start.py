"""Cold start as shipped: the built zips, extracted read-only, run by Python 3.13, and the zip sizes.

Lambda's code directory is read-only and every execution environment starts from the zip, so what a
cold start costs is what the zip's own .pyc (or their absence) make it cost: nothing may be cached
by an earlier run. Each run therefore starts a fresh process in a freshly extracted, read-only copy,
with the runtime's Python (the interpreter packager/bytecode.py finds), and the zip is timed with its
.pyc and without them (the same files minus __pycache__/), in alternating order.

Lambda runs arm64; a zip of arm64 wheels cannot start on another machine. On any other machine the
zips are built by the same packager code for this machine's platform (the same pins, layout and
bytecode; only the native wheels differ): read the figures as this machine's, not Lambda's.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from bench import anchor
from bench.report import Figure
from bench.stats import alternate, median, spread
from local.stack import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, LOCAL_REGION, LOCAL_RUNTIME_ARN, REPO_ROOT
from local.stack import find_free_port, http_ok
from streaming_shared.edge import READY_PATH, ProxySettings

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

# The model a deployed agent builds (the zip carries no offline model): Bedrock's, whose client
# construction needs a model id, a region and credentials but sends nothing (any id will do).
DEPLOYED_AGENT_ENVIRONMENT = {
    "PATH": "/usr/bin:/bin", "AGENT_MODEL_PROVIDER": "bedrock", "BEDROCK_MODEL_ID": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "AWS_REGION": LOCAL_REGION,
    "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
}
READY_TIMEOUT_SECONDS = 60.0
READY_POLL_SECONDS = 0.002
HOST_BUILD_DIR = REPO_ROOT / ".build" / "bench" / "host-zips"


def host_pip_platform() -> str:
    return f"manylinux2014_{platform.machine()}"


def host_zips() -> dict[str, Path]:
    """The proxy and agent zips as `pulumi up` builds them, with this machine's wheels."""
    from packager import artifacts

    if host_pip_platform() == artifacts.DEPLOYED_PIP_PLATFORM:
        return {"proxy": artifacts.build_proxy_zip().path, "agent": artifacts.build_agent_zip().path}
    options = {"build_dir": HOST_BUILD_DIR, "pip_platform": host_pip_platform()}
    return {
        "proxy": artifacts.build_proxy_zip(**options).path,
        "agent": artifacts.build_agent_zip(**options).path,
    }


@contextlib.contextmanager
def extracted_read_only(zip_path: Path, with_bytecode: bool) -> Iterator[Path]:
    """The zip extracted into a fresh folder and made read-only (without __pycache__/ if asked)."""
    with tempfile.TemporaryDirectory(prefix="cold-start.") as scratch:
        root = Path(scratch) / "task"
        with zipfile.ZipFile(zip_path) as archive:
            members = [name for name in archive.namelist() if with_bytecode or "/__pycache__/" not in f"/{name}"]
            archive.extractall(root, members)
        for path in [root, *root.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        try:
            yield root
        finally:
            for path in [root, *root.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)


def python_bin(python: Path, scratch: Path) -> Path:
    """A folder whose `python` is the runtime's interpreter, for run.sh's `exec python`."""
    folder = scratch / "bin"
    folder.mkdir(exist_ok=True)
    link = folder / "python"
    if not link.exists():
        link.symlink_to(python)
    return folder


def proxy_start_to_ready(zip_path: Path, python: Path, with_bytecode: bool) -> float:
    """Seconds from starting run.sh (as Lambda Web Adapter does) until /_ready answers 200."""
    with extracted_read_only(zip_path, with_bytecode) as root, tempfile.TemporaryDirectory() as scratch:
        port = find_free_port()
        env = {
            "PATH": f"{python_bin(python, Path(scratch))}:/usr/bin:/bin",
            "HOME": scratch,
            **ProxySettings(runtime_arn=LOCAL_RUNTIME_ARN).to_environ(),
            "AWS_REGION": LOCAL_REGION,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
            "AWS_LWA_PORT": str(port),
        }
        started = time.perf_counter()
        process = subprocess.Popen(
            ["/bin/bash", str(root / "run.sh")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            while not http_ok("127.0.0.1", port, READY_PATH):
                if process.poll() is not None:
                    raise RuntimeError(f"the proxy from {zip_path} exited: {process.stderr.read().decode()[-2000:]}")
                if time.perf_counter() - started > READY_TIMEOUT_SECONDS:
                    raise RuntimeError(f"the proxy from {zip_path} was not ready in {READY_TIMEOUT_SECONDS:.0f} s")
                time.sleep(READY_POLL_SECONDS)
            return time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(timeout=10)
            process.stderr.close()


def agent_import(zip_path: Path, python: Path, with_bytecode: bool) -> float:
    """Seconds Python 3.13 takes to import the agent's app and build it, in the extracted zip."""
    with extracted_read_only(zip_path, with_bytecode) as root:
        output = subprocess.run(
            [str(python), "-s", "-c", AGENT_SNIPPET], cwd=root, env=DEPLOYED_AGENT_ENVIRONMENT,
            capture_output=True, text=True, check=True, timeout=120,
        ).stdout
    timings = json.loads(output.strip().splitlines()[-1])
    return timings["import"] + timings["app"]


def before_and_after(measure: Callable[[bool], float], runs: int) -> dict[str, list[float]]:
    return alternate({"with": lambda: measure(True), "without": lambda: measure(False)}, runs)


def measure_as_shipped(runs: int) -> list[Figure]:
    from packager import artifacts

    compiler = artifacts.find_bytecode_compiler()
    if compiler is None:
        return [Figure("cold start", "as shipped (Python 3.13)", f"not measured: {artifacts.MISSING_BYTECODE_WARNING}")]
    zips = host_zips()
    show = lambda seconds: f"{seconds * 1000:.0f} ms"  # noqa: E731
    wheels = "" if host_pip_platform() == artifacts.DEPLOYED_PIP_PLATFORM else f", {platform.machine()} wheels"
    # The Node anchor's cold starts run in the same rounds, so the ratio compares like with like.
    proxy = alternate({
        "with": lambda: proxy_start_to_ready(zips["proxy"], compiler.executable, True),
        "without": lambda: proxy_start_to_ready(zips["proxy"], compiler.executable, False),
        "node": anchor.ready_seconds,
    }, runs)
    agent = before_and_after(lambda bytecode: agent_import(zips["agent"], compiler.executable, bytecode), runs)
    saved = median(proxy["without"]) - median(proxy["with"])
    return [
        Figure(
            "cold start",
            f"proxy as shipped: run.sh to {READY_PATH} 200, zip extracted read-only, Python 3.13, its .pyc{wheels}",
            f"{spread(proxy['with'], show)}",
        ),
        anchor.cold_start_figure(proxy["with"], proxy["node"]),
        Figure(
            "cold start",
            "proxy, the same zip without its .pyc (every module compiled at start)",
            f"{spread(proxy['without'], show)}; the .pyc save {saved * 1000:.0f} ms",
        ),
        Figure(
            "cold start",
            f"agent import as shipped: import streaming_agent.app + create_app (Bedrock model, as deployed), its .pyc{wheels}",
            f"{spread(agent['with'], show)}; without its .pyc {spread(agent['without'], show)}",
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
