"""The Node anchor (bench/node_anchor): the seed's proxy design, run against the same fake upstream.

The anchor is what a user would pick instead of our proxy: a Node.js server calling AgentCore with
AWS SDK v3 InvokeAgentRuntimeCommand, translating the agent's events into the same SSE events. Its
packages are installed with `npm ci` from the pinned package-lock.json into bench/node_anchor/node_modules,
once per lock file (a stamp names the lock's digest), under a file lock so that two runs never
install at once. Every target the benchmark sets is a ratio to this anchor, measured in the same run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import math
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from bench.report import Figure
from bench.stats import median, spread
from local.stack import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, HOST, LOCAL_REGION, LOCAL_RUNTIME_ARN, REPO_ROOT, find_free_port, http_ok

PROJECT = REPO_ROOT / "bench" / "node_anchor"
SERVER = PROJECT / "server.mjs"
LABEL = "Node anchor (AWS SDK v3)"
READY_PATH = "/_ready"
INSTALL_HINT = "the Node anchor needs node >= 18 and npm (Debian: apt-get install -y nodejs npm)"


class AnchorUnavailable(RuntimeError):
    """node or npm is missing, or the pinned packages could not be installed."""


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise AnchorUnavailable(INSTALL_HINT)
    return node


def lock_digest() -> str:
    return hashlib.sha256((PROJECT / "package-lock.json").read_bytes()).hexdigest()[:16]


def install() -> Path:
    """`npm ci` the pinned packages unless this lock file's packages are already installed."""
    npm = shutil.which("npm")
    node_binary()
    if npm is None:
        raise AnchorUnavailable(INSTALL_HINT)
    stamp = PROJECT / "node_modules" / f".installed-{lock_digest()}"
    lock_file = REPO_ROOT / ".build" / "bench-npm-ci.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes (or the process dies)
        if not stamp.exists():
            # npm ci installs exactly the lock file's versions, checked against their integrity hashes.
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=PROJECT, capture_output=True, text=True, timeout=600,
            )
            if result.returncode != 0:
                raise AnchorUnavailable(f"npm ci failed in {PROJECT}:\n{result.stdout}\n{result.stderr}")
            stamp.touch()
    return PROJECT


def anchor_environ(port: int, upstream_url: str, keepalive_seconds: float = 15.0) -> dict[str, str]:
    """What the anchor reads: as on Lambda, the region and credentials come from the environment."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(REPO_ROOT),
        "PORT": str(port),
        "AGENT_RUNTIME_ARN": LOCAL_RUNTIME_ARN,
        "AWS_REGION": LOCAL_REGION,
        "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
        "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": upstream_url,
        "PROXY_KEEPALIVE_SECONDS": str(keepalive_seconds),
        # The SDK's notice about future Node versions, printed at every start, says nothing about speed.
        "NODE_NO_WARNINGS": "1",
    }


def start(port: int, environ: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [node_binary(), str(SERVER)], cwd=PROJECT, env=environ,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0, poll: float = 0.002) -> float:
    """Poll GET /_ready until it answers 200; the monotonic time it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"{LABEL} exited with code {process.returncode}: {stderr[-2000:]}")
        if http_ok(HOST, port, READY_PATH):
            return time.monotonic()
        time.sleep(poll)
    raise RuntimeError(f"{LABEL} was not ready on {HOST}:{port} within {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    if process.stderr:
        process.stderr.close()


@contextlib.contextmanager
def running(upstream_url: str, keepalive_seconds: float = 15.0) -> Iterator[tuple[str, int]]:
    """The anchor, installed and listening in front of upstream_url: (its URL, its pid)."""
    install()
    port = find_free_port()
    process = start(port, anchor_environ(port, upstream_url, keepalive_seconds))
    try:
        wait_ready(port, process)
        yield f"http://{HOST}:{port}", process.pid
    finally:
        stop(process)


def ready_seconds() -> float:
    """One cold start: from just before the process is spawned to its first 200 on GET /_ready
    (the SDK client is built at module load, before the server listens; it calls nobody)."""
    port = find_free_port()
    environ = anchor_environ(port, f"http://{HOST}:9")
    started = time.monotonic()
    process = start(port, environ)
    try:
        return wait_ready(port, process) - started
    finally:
        stop(process)


def run_ratio(ours: float, anchor: float) -> float:
    """Ours over the anchor's, of one round. An anchor at or below zero (a figure of what is *added*
    can be): no worse than it counts as 1.0, worse as infinitely worse."""
    if anchor > 0:
        return ours / anchor
    return 1.0 if ours <= anchor else math.inf


def anchored_figure(
    part: str, name: str, ours: Sequence[float], anchor: Sequence[float], show: Callable[[float], str], limit: float
) -> Figure:
    """A figure whose target is a ratio to the anchor, measured round by round in the same run: the
    median of the rounds' ratios with their min..max, then each side's own median and range."""
    if len(ours) != len(anchor) or not ours:
        raise ValueError(f"{name}: {len(ours)} runs of ours against {len(anchor)} of the anchor; pair them round by round")
    ratios = [run_ratio(mine, theirs) for mine, theirs in zip(ours, anchor)]
    return Figure(
        part,
        f"{name}: ours / {LABEL}",
        f"{spread(ratios, lambda r: f'{r:.2f}x')}; ours {spread(ours, show)}, {LABEL} {spread(anchor, show)}",
        f"<= {limit:.1f}x {LABEL}",
        median(ratios) <= limit,
    )


COLD_START_TARGET_RATIO = 1.5  # the proxy's cold start, at most 1.5x the anchor's (issue #20)


def cold_start_figure(python_seconds: Sequence[float], node_seconds: Sequence[float]) -> Figure:
    """The proxy's cold start (bench/cold_start.py's figure) against the anchor's, round by round."""
    return anchored_figure(
        "cold start",
        "cold start, proxy ready (as bench/cold_start.py measures it) vs the anchor's process start to "
        "GET /_ready (SDK client built, listening)",
        [seconds * 1000 for seconds in python_seconds], [seconds * 1000 for seconds in node_seconds],
        lambda ms: f"{ms:.0f} ms", COLD_START_TARGET_RATIO,
    )
