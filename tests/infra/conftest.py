from __future__ import annotations

import pytest
from infra_harness import DEV_VARIANT_OVERRIDES, REPO_ROOT, ProgramRun, build_checkout_zips, run_program, stack_config

from tests.support.locks import exclusive


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws and pulumi_awsx warn about deprecated resources we never use, at import time.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_awsx.*")


def _runs_the_program(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return hasattr(module, "run_program") or bool({"dev_run", "prod_run", "stack_run"} & set(getattr(item, "fixturenames", ())))


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
