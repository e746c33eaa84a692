"""The GitHub Actions workflows: lint-clean, OIDC only, and previews with the policy pack.

Two linters, both installed from PyPI wheels by requirements-dev.txt and run offline:
check-jsonschema validates every workflow against its vendored GitHub workflow schema, and zizmor
(a static analyser for GitHub Actions) audits them at its default persona with zizmor.yml. Each
linter is also run on a deliberately broken copy, so a linter that silently checks nothing fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS_DIRECTORY = REPO_ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIRECTORY.glob("*.yml"))
ZIZMOR_CONFIG = REPO_ROOT / "zizmor.yml"
LONG_LIVED_KEY_MARKERS = ("aws-access-key-id", "aws-secret-access-key", "aws_secret_access_key", "aws_access_key_id")
LINTER_TIMEOUT_SECONDS = 120


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key "on" as True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job.get("steps", []) if str(step.get("uses", "")).startswith(f"{action}@")]


def touches_aws(job: dict[str, Any]) -> bool:
    return bool(steps_using(job, "aws-actions/configure-aws-credentials") or steps_using(job, "pulumi/actions"))


def linter_executable(name: str) -> str:
    """The linter installed beside this interpreter (the project's .venv), else one on PATH."""
    # zizmor is a Rust binary in the wheel's scripts, not an importable module, so look in the
    # interpreter's own scripts directory first: the .venv need not be activated.
    found = shutil.which(name, path=sysconfig.get_path("scripts")) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; it is pinned in requirements-dev.txt (python3 dev.py test installs it)")
    return found


def run_linter(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=LINTER_TIMEOUT_SECONDS)


def check_jsonschema(paths: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
    return run_linter(command + [str(path) for path in paths], cwd)


def zizmor(directory: Path) -> subprocess.CompletedProcess[str]:
    # --offline: no GitHub API (these machines cannot reach it, and CI must not depend on it).
    # The config is named explicitly so a copy in tmp_path is judged by the same policy.
    command = [
        linter_executable("zizmor"),
        "--offline",
        "--no-progress",
        "--color=never",
        "--config",
        str(ZIZMOR_CONFIG),
        str(directory),
    ]
    return run_linter(command, directory)


def report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"


def broken_copy(tmp_path: Path, name: str, original: str, replacement: str) -> Path:
    """A copy of pr.yml in tmp_path with one fault put in, so a linter has something to find."""
    text = (WORKFLOWS_DIRECTORY / "pr.yml").read_text()
    assert original in text, f"pr.yml no longer contains {original!r}; update this test's fault"
    directory = tmp_path / ".github" / "workflows"
    directory.mkdir(parents=True)
    path = directory / name
    path.write_text(text.replace(original, replacement, 1))
    return path


def test_the_expected_workflows_exist() -> None:
    assert {path.name for path in WORKFLOWS} >= {"pr.yml", "deploy-dev.yml"}


def test_every_workflow_matches_the_github_workflow_schema() -> None:
    result = check_jsonschema(WORKFLOWS, REPO_ROOT)
    assert result.returncode == 0, report(result)


def test_the_schema_check_rejects_an_unknown_job_key(tmp_path: Path) -> None:
    broken = broken_copy(
        tmp_path, "unknown-key.yml", "    timeout-minutes: 30\n", "    timeout-minutes: 30\n    runs-onn: ubuntu-latest\n"
    )
    result = check_jsonschema([broken], tmp_path)
    assert result.returncode != 0, report(result)
    assert "runs-onn" in result.stdout, report(result)


def test_zizmor_reports_nothing() -> None:
    result = zizmor(WORKFLOWS_DIRECTORY)
    assert result.returncode == 0, report(result)


# Each fault is one zizmor must find at its default persona with this repository's zizmor.yml.
ZIZMOR_FAULTS = {
    "template-injection": (
        "      - name: Tests (creates",
        '      - name: Greet\n        run: echo "${{ github.event.pull_request.title }}"\n      - name: Tests (creates',
    ),
    "artipacked": ("          persist-credentials: false\n", "          fetch-depth: 1\n"),
    # A third-party action on a moving tag: zizmor.yml requires hash pins for all but pulumi/actions.
    "unpinned-uses": ("      - name: Tests (creates", "      - uses: example-owner/example-action@v1\n      - name: Tests (creates"),
}


@pytest.mark.parametrize("audit", sorted(ZIZMOR_FAULTS))
def test_zizmor_finds_a_planted_fault(tmp_path: Path, audit: str) -> None:
    original, replacement = ZIZMOR_FAULTS[audit]
    broken = broken_copy(tmp_path, f"{audit}.yml", original, replacement)
    result = zizmor(broken.parent)
    assert result.returncode != 0, report(result)
    assert f"[{audit}]" in result.stdout, report(result)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_no_long_lived_aws_keys(path: Path) -> None:
    text = path.read_text().lower()
    for marker in LONG_LIVED_KEY_MARKERS:
        assert marker not in text, f"{path.name} mentions {marker}: use OIDC (role-to-assume) instead"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_jobs_touching_aws_use_oidc_with_least_permissions(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("permissions") == {}, "grant nothing at the top; each job asks for its own"
    for name, job in workflow["jobs"].items():
        permissions = job.get("permissions", {})
        if touches_aws(job):
            assert permissions.get("id-token") == "write", f"{path.name}:{name} needs id-token: write for OIDC"
            configure = steps_using(job, "aws-actions/configure-aws-credentials")
            assert configure, f"{path.name}:{name} runs Pulumi without assuming a role"
            assert all("role-to-assume" in step.get("with", {}) for step in configure)
        else:
            assert "id-token" not in permissions, f"{path.name}:{name} asks for an OIDC token it does not use"
        assert permissions.get("contents") in ("read", None), f"{path.name}:{name} must not write contents"


def test_pull_requests_run_tests_then_preview_both_stacks_with_the_policy_pack() -> None:
    workflow = load(REPO_ROOT / ".github" / "workflows" / "pr.yml")
    assert "pull_request" in workflow["on"]
    jobs = workflow["jobs"]
    assert any("python3 dev.py test" in str(step.get("run", "")) for step in jobs["test"]["steps"])
    preview = jobs["preview"]
    assert preview["needs"] == "test"
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert preview["permissions"]["pull-requests"] == "write"
    (pulumi,) = steps_using(preview, "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["with"]["comment-on-pr"] is True
    python = steps_using(jobs["test"], "actions/setup-python")
    assert python and python[0]["with"]["python-version"] == "3.13"


def test_main_deploys_dev_only_after_the_tests() -> None:
    workflow = load(REPO_ROOT / ".github" / "workflows" / "deploy-dev.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    (pulumi,) = steps_using(deploy, "pulumi/actions")
    assert (pulumi["with"]["command"], pulumi["with"]["stack-name"]) == ("up", "dev")
