from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.infra_harness import (
    DEV_VARIANT_OVERRIDES,
    RENAMED_PROJECT,
    REPO_ROOT,
    ProgramRun,
    build_checkout_zips,
    copy_checkout,
    project_name,
    pulumi_new,
    run_program,
    stack_config,
)

from components.project_name import adopt_project_name
from tests.support.locks import exclusive


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws and pulumi_awsx warn about deprecated resources we never use, at import time.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_awsx.*")


def _runs_the_program(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return hasattr(module, "run_program") or bool({"dev_run", "prod_run", "stack_run", "renamed_prod_run"} & set(getattr(item, "fixturenames", ())))


def pytest_collection_finish(session: pytest.Session) -> None:
    # Before any test (so outside the per-test timeout): install the zips' dependencies and build the
    # zips once in this process. On a fresh clone the first pip install takes minutes; the lock lets
    # one xdist worker install while the others wait, instead of all installing at once.
    if any(_runs_the_program(item) for item in session.items):
        with exclusive(REPO_ROOT / ".build" / "build.lock"):
            build_checkout_zips()


# Each stack's program runs once per session; every test reads the same recorded graph.
@pytest.fixture(scope="session")
def dev_run() -> ProgramRun:
    return run_program("dev", stack_config("dev"))


@pytest.fixture(scope="session")
def prod_run() -> ProgramRun:
    return run_program("prod", stack_config("prod"))


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack_run(request: pytest.FixtureRequest, dev_run: ProgramRun, prod_run: ProgramRun) -> ProgramRun:
    return {"dev": dev_run, "prod": prod_run}[request.param]


# The hosted page (pageHosting) in its two shapes, shared by the hosting, policy-pack and
# deployer-policy tests: dev's API key, and a production stack signing users in with Cognito.
HOSTING = {"agentcore-streaming:pageHosting": True}
PROD_COGNITO_HOSTING = {**HOSTING, "agentcore-streaming:authMode": "cognito"}


@pytest.fixture(scope="session")
def dev_hosting_run() -> ProgramRun:
    return run_program("dev", stack_config("dev", overrides=HOSTING))


@pytest.fixture(scope="session")
def prod_hosting_run() -> ProgramRun:
    return run_program("prod", stack_config("prod", overrides=PROD_COGNITO_HOSTING))


# dev in the shapes its own file does not show (infra_harness.DEV_VARIANT_OVERRIDES: the container
# artifact and an existing guardrail). One run, shared by the deployer-policy and guardrail tests.
@pytest.fixture(scope="session")
def dev_variant_run() -> ProgramRun:
    return run_program("dev", stack_config("dev", overrides=DEV_VARIANT_OVERRIDES))


@pytest.fixture(scope="session")
def renamed_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Renamed by `pulumi new`, the stack files still as this repository ships them."""
    checkout = copy_checkout(tmp_path_factory.mktemp("renamed") / "checkout")
    pulumi_new(checkout, RENAMED_PROJECT)
    return checkout


@pytest.fixture(scope="session")
def adopted_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Renamed by `pulumi new`, then `python3 dev.py adopt-project-name agentcore-streaming`."""
    checkout = copy_checkout(tmp_path_factory.mktemp("adopted") / "checkout")
    pulumi_new(checkout, RENAMED_PROJECT)
    adopt_project_name(checkout, project_name(REPO_ROOT))
    return checkout


@pytest.fixture(scope="session")
def renamed_prod_run(adopted_checkout: Path) -> ProgramRun:
    return run_program("prod", stack_config("prod", root=adopted_checkout), main_path=adopted_checkout / "__main__.py")
