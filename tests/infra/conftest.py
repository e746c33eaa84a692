from __future__ import annotations

import pytest
from infra_harness import DEV_VARIANT_OVERRIDES, ProgramRun, run_program, stack_config


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws and pulumi_awsx warn about deprecated resources we never use, at import time.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_awsx.*")


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


# dev in the shapes its own file does not show (infra_harness.DEV_VARIANT_OVERRIDES: the container
# artifact and an existing guardrail). One run, shared by the deployer-policy and guardrail tests.
@pytest.fixture(scope="session")
def dev_variant_run() -> ProgramRun:
    return run_program("dev", stack_config("dev", overrides=DEV_VARIANT_OVERRIDES))
