"""The deployed agent's own lock: ADOT reaches the zip and the image, never the dev venv.

aws-opentelemetry-distro pins OpenTelemetry, protobuf and PyYAML versions the dev venv cannot take,
so the agent is deployed from agent/requirements-deploy.txt locked by agent/constraints.txt, while
the dev venv keeps the repository's constraints.txt. These tests read the files only (fast); the
slow tests in test_artifacts.py install them for aarch64.
"""

from __future__ import annotations

import re
from pathlib import Path

from packager.artifacts import dependency_cache_key, requirement_files

REPO_ROOT = Path(__file__).resolve().parents[2]
AGENT_DIR = REPO_ROOT / "agent"
ADOT = "aws-opentelemetry-distro"
# Where the agent's lock may differ from the dev venv's: ADOT pins these exactly.
ADOT_PINNED_FAMILIES = ("opentelemetry-", "protobuf", "googleapis-common-protos", "pyyaml")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line in one requirements or constraints file."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if match:
            found[normalise(match.group(1))] = match.group(2)
    return found


def pins_through_includes(path: Path) -> dict[str, str]:
    merged: dict[str, str] = {}
    for file in requirement_files(path):
        merged.update(pins(file))
    return merged


def test_deploy_requirements_are_the_runtime_requirements_plus_adot() -> None:
    deploy = AGENT_DIR / "requirements-deploy.txt"
    assert requirement_files(deploy) == [deploy, AGENT_DIR / "requirements.txt"]
    assert pins(deploy) == {ADOT: "0.21.0"}
    assert ADOT not in pins(AGENT_DIR / "requirements.txt")


def test_agent_lock_pins_every_requirement_at_its_requested_version() -> None:
    lock = pins(AGENT_DIR / "constraints.txt")
    requested = pins_through_includes(AGENT_DIR / "requirements-deploy.txt")
    assert requested, "no pins found: the parser or the files changed shape"
    for name, version in requested.items():
        assert lock.get(name) == version, f"{name}: requirements ask {version}, lock has {lock.get(name)}"
    # The full resolved set, not just the top level: ADOT's exporters and instrumentors are in it.
    assert {"opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http", "protobuf"} <= set(lock)


def test_agent_lock_differs_from_the_dev_pins_only_where_adot_forces_it() -> None:
    # Anything else drifting apart would mean the deployed agent runs versions the tests never saw.
    agent_lock = pins(AGENT_DIR / "constraints.txt")
    dev_lock = pins(REPO_ROOT / "constraints.txt")
    drift = {
        name: (agent_lock[name], dev_lock[name])
        for name in set(agent_lock) & set(dev_lock)
        if agent_lock[name] != dev_lock[name] and not name.startswith(ADOT_PINNED_FAMILIES)
    }
    assert not drift, drift


def test_the_dev_venv_never_installs_adot() -> None:
    for entry in ("requirements-dev.txt", "requirements-local.txt"):
        files = requirement_files(REPO_ROOT / entry)
        assert AGENT_DIR / "requirements-deploy.txt" not in files, entry
        assert all(ADOT not in pins(file) for file in files), entry
    assert ADOT not in pins(REPO_ROOT / "constraints.txt")


def test_container_image_installs_the_deploy_set_and_starts_under_adot() -> None:
    dockerfile = (AGENT_DIR / "Dockerfile").read_text()
    instructions = [line.strip() for line in dockerfile.splitlines() if line.strip() and not line.startswith("#")]
    copied = {
        name
        for line in instructions
        if line.startswith("COPY ") and "--chown" not in line
        for name in line.split()[1:-1]
    }
    # Every file pip reads through the -r chain, and the lock, reach the image.
    assert {path.name for path in requirement_files(AGENT_DIR / "requirements-deploy.txt")} <= copied
    assert "constraints.txt" in copied
    assert "RUN pip install --no-compile -r requirements-deploy.txt -c constraints.txt" in instructions
    assert instructions[-1] == 'CMD ["opentelemetry-instrument", "python", "main.py"]'


def test_cache_key_follows_files_included_with_dash_r(tmp_path: Path) -> None:
    base = tmp_path / "requirements.txt"
    base.write_text("six==1.17.0\n")
    deploy = tmp_path / "requirements-deploy.txt"
    deploy.write_text("-r requirements.txt\n")
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("six==1.17.0\n")
    before = dependency_cache_key(deploy, constraints)
    assert dependency_cache_key(deploy, constraints) == before
    # Only the included file changes: the agent must still be reinstalled.
    base.write_text("six==1.16.0\n")
    assert dependency_cache_key(deploy, constraints) != before


def test_requirement_files_survive_an_include_cycle(tmp_path: Path) -> None:
    first = tmp_path / "a.txt"
    second = tmp_path / "b.txt"
    first.write_text("-r b.txt\n")
    second.write_text("-r a.txt\n-c c.txt\n")
    (tmp_path / "c.txt").write_text("")
    assert requirement_files(first) == [first, second, tmp_path / "c.txt"]
