from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.infra_harness import (
    DEV_VARIANT_OVERRIDES,
    RENAMED_PROJECT,
    REPO_ROOT,
    CheckoutZips,
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


def _needs_checkout_zips(item: pytest.Item) -> bool:
    """A test that runs the program: through a fixture that needs the zips, or by calling run_program."""
    return "checkout_zips" in getattr(item, "fixturenames", ()) or hasattr(getattr(item, "module", None), "run_program")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The zips are built in the setup of the first test that needs them: on a fresh clone the first
    # pip install takes minutes, which must not count against that test's own timeout. For those
    # tests only, pytest-timeout times the test function and not the fixtures' setup (func_only, its
    # marker's keyword; an explicit timeout marker keeps its value); every other test keeps its
    # setup inside the timeout.
    for item in items:
        if _needs_checkout_zips(item):
            marker = item.get_closest_marker("timeout")
            args, kwargs = (marker.args, marker.kwargs) if marker is not None else ((), {})
            item.add_marker(pytest.mark.timeout(*args, **{**kwargs, "func_only": True}), append=False)


@pytest.fixture(scope="session")
def checkout_zips() -> CheckoutZips:
    """The zips `pulumi up` builds, built once per process (with their dependencies installed) by the
    first test that needs them, never at collection. The lock lets one xdist worker install while
    the others wait, instead of all installing at once; the others then find the install cached."""
    with exclusive(REPO_ROOT / ".build" / "build.lock"):
        return build_checkout_zips()


@pytest.fixture(scope="module", autouse=True)
def _zips_before_a_program_run(request: pytest.FixtureRequest) -> None:
    # A module that calls run_program itself (in its tests or its module fixtures, which an autouse
    # fixture of the same scope precedes) gets the zips built in setup, under the lock.
    if hasattr(request.module, "run_program"):
        request.getfixturevalue("checkout_zips")


# Each stack's program runs once per session; every test reads the same recorded graph.
@pytest.fixture(scope="session")
def dev_run(checkout_zips: CheckoutZips) -> ProgramRun:
    return run_program("dev", stack_config("dev"))


@pytest.fixture(scope="session")
def prod_run(checkout_zips: CheckoutZips) -> ProgramRun:
    return run_program("prod", stack_config("prod"))


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack_run(request: pytest.FixtureRequest, dev_run: ProgramRun, prod_run: ProgramRun) -> ProgramRun:
    return {"dev": dev_run, "prod": prod_run}[request.param]


# The hosted page (pageHosting) in its two shapes, shared by the hosting, policy-pack and
# deployer-policy tests: dev's API key, and a production stack signing users in with Cognito.
HOSTING = {"agentcore-streaming:pageHosting": True}
PROD_COGNITO_HOSTING = {**HOSTING, "agentcore-streaming:authMode": "cognito"}


@pytest.fixture(scope="session")
def dev_hosting_run(checkout_zips: CheckoutZips) -> ProgramRun:
    return run_program("dev", stack_config("dev", overrides=HOSTING))


@pytest.fixture(scope="session")
def prod_hosting_run(checkout_zips: CheckoutZips) -> ProgramRun:
    return run_program("prod", stack_config("prod", overrides=PROD_COGNITO_HOSTING))


# dev in the shapes its own file does not show (infra_harness.DEV_VARIANT_OVERRIDES: the container
# artifact and an existing guardrail). One run, shared by the deployer-policy and guardrail tests.
@pytest.fixture(scope="session")
def dev_variant_run(checkout_zips: CheckoutZips) -> ProgramRun:
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
def renamed_prod_run(checkout_zips: CheckoutZips, adopted_checkout: Path) -> ProgramRun:
    return run_program("prod", stack_config("prod", root=adopted_checkout), main_path=adopted_checkout / "__main__.py")
