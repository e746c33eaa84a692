"""The agent as deployed: its locked dependency set, started under ADOT's opentelemetry-instrument.

The dev venv cannot hold ADOT (its OpenTelemetry and protobuf pins conflict with the dev pins), so
this test installs agent/requirements-deploy.txt with agent/constraints.txt for this machine into
.build/test-deploy-set/ (once per set of inputs), runs a bare interpreter on it with the environment components/agent_runtime.py
sets (plus a console exporter instead of AgentCore's OTLP endpoints), and checks that the agent
still streams and that ADOT records its spans. Slow: pip downloads the set.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.locks import exclusive

from components.agent_runtime import ADOT_ENVIRONMENT, CODE_ENTRY_POINTS
from local.stack import find_free_port
from packager.artifacts import requirement_files

REPO_ROOT = Path(__file__).resolve().parents[2]
AGENT_DIR = REPO_ROOT / "agent"
STARTUP_SECONDS = 120  # generous: a cold import of ADOT's instrumentors on a busy 2-core runner
SESSION_ID = "adot-smoke-session-0123456789abcdef0123"


def deploy_set_key() -> str:
    """What the installed set depends on: the pip inputs, this interpreter and this machine."""
    digest = hashlib.sha256()
    for path in (*requirement_files(AGENT_DIR / "requirements-deploy.txt"), AGENT_DIR / "constraints.txt"):
        digest.update(path.read_bytes())
    digest.update(f"{sys.version}|{platform.machine()}|{sys.platform}".encode())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def deploy_site_packages() -> Path:
    # Installed once per set of inputs into .build/ (ignored by git) and reused by later runs and by
    # the other xdist workers; pip works in a temporary sibling renamed into place when it succeeds.
    cache = REPO_ROOT / ".build" / "test-deploy-set"
    target = cache / f"host-{deploy_set_key()}"
    with exclusive(cache / "install.lock"):
        if target.is_dir():
            return target
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache))
        completed = subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                "--quiet", "--no-compile", "--only-binary=:all:", "--target", str(staging),
                "-r", str(AGENT_DIR / "requirements-deploy.txt"), "-c", str(AGENT_DIR / "constraints.txt"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
        assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
        os.rename(staging, target)
    return target


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A venv without the dev venv's site-packages, so only the deploy set is importable.
    environment = tmp_path_factory.mktemp("bare-venv")
    venv.create(environment, with_pip=False, symlinks=True)
    return environment / "bin" / "python"


@pytest.fixture(scope="module")
def instrumented_agent(deploy_site_packages: Path, bare_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    port = find_free_port()
    logs = tmp_path_factory.mktemp("agent-logs")
    stdout_path, stderr_path = logs / "stdout", logs / "stderr"
    environment = {
        "PATH": f"{bare_python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(logs),
        # The deploy set, and the repository root for streaming_shared/ (the zip carries it at its root).
        "PYTHONPATH": f"{deploy_site_packages}{os.pathsep}{REPO_ROOT}",
        **ADOT_ENVIRONMENT,
        # Offline stand-ins for what AgentCore provides: no model, no OTLP endpoints.
        "AGENT_MODEL_PROVIDER": "offline",
        "AGENT_HOST": "127.0.0.1",
        "AGENT_PORT": str(port),
        "AWS_REGION": "us-east-1",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_TRACES_SAMPLER": "always_on",
    }
    launcher, entry_file = CODE_ENTRY_POINTS
    # The console script's shebang points at the build interpreter, so run it with the bare one.
    command = [str(bare_python), str(deploy_site_packages / "bin" / launcher), "python", entry_file]
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(command, cwd=AGENT_DIR, env=environment, stdout=stdout, stderr=stderr)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, stderr_path.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "agent did not answer /ping under opentelemetry-instrument"
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", stdout_path, stderr_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_agent_streams_under_adot_and_records_spans(instrumented_agent: tuple[str, Path, Path]) -> None:
    base_url, stdout_path, stderr_path = instrumented_agent
    events = []
    with httpx.stream(
        "POST",
        f"{base_url}/invocations",
        json={"prompt": "hello under adot"},
        headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": SESSION_ID},
        timeout=60,
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
    kinds = [event.get("type") for event in events if isinstance(event, dict)]
    assert kinds.count("delta") > 1 and kinds[-1] == "done", events
    assert "hello under adot" in "".join(event["text"] for event in events if event.get("type") == "delta")

    # The agent saw that ADOT was already started by the entry point (it does not start it twice).
    log_lines = [json.loads(line) for line in stderr_path.read_text().splitlines() + stdout_path.read_text().splitlines() if line.startswith('{"timestamp"')]
    started = [line for line in log_lines if line.get("message") == "observability_started"]
    assert [line["mode"] for line in started] == ["entry-point"], log_lines

    # ADOT exported the request's spans, Strands' agent span among them (console exporter; the
    # spans are flushed in batches, so allow the batch delay).
    deadline = time.monotonic() + 60
    wanted = {"POST /invocations", "invoke_agent Strands Agents"}
    while True:
        text = stdout_path.read_text()
        if all(f'"name": "{name}"' in text for name in wanted):
            break
        assert time.monotonic() < deadline, f"spans missing from ADOT's output: {wanted}"
        time.sleep(1)
    # Neither the prompt nor the answer (which echoes it) reaches the exported spans.
    assert "hello under adot" not in text
    assert "<REDACTED>" in text or "REDACTED" in text
