"""A pytest plugin that records every zip build and dependency install in its process, and refuses it
or stands in for it slowly.

For tests that run pytest in a subprocess (`-p tests.support.build_spy`): each attempt appends the
builder's name to the file BUILD_SPY_LOG names. Then, by default, it raises, so a build neither
passes unseen nor takes minutes. With BUILD_SPY_SECONDS set, the two zip builders instead wait that
long, as a first build on a fresh clone does, and answer a stand-in zip at the path `pulumi up` uses
(nothing is written); the steps under them still refuse. A stand-in writes nothing, so it takes no
lock shared with real builds (tests/support/locks.py): it never waits for another process's build.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from packager import artifacts
from tests.support import locks

LOG_VARIABLE = "BUILD_SPY_LOG"
SECONDS_VARIABLE = "BUILD_SPY_SECONDS"
# The zip builders (zip name -> builder), and the zip writer and the pip step under them.
ZIP_BUILDERS = {"proxy.zip": "build_proxy_zip", "agent.zip": "build_agent_zip"}
STEPS = ("build_zip", "install_dependencies")


class BuildAttempted(RuntimeError):
    pass


def _record(name: str) -> None:
    with open(os.environ[LOG_VARIABLE], "a", encoding="utf-8") as log:
        log.write(name + "\n")


def _refusing(name: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        _record(name)
        raise BuildAttempted(f"{name} was called while the build spy was active")

    return refuse


def _slow_stand_in(name: str, zip_name: str, seconds: float) -> Callable[..., artifacts.CodeZip]:
    def stand_in(repo_root: Path = artifacts.REPO_ROOT, **options: Any) -> artifacts.CodeZip:
        _record(name)
        time.sleep(seconds)
        return artifacts.CodeZip(path=Path(repo_root) / ".build" / zip_name, sha256="0" * 64, size=0)

    return stand_in


@contextlib.contextmanager
def _unshared(lock_file: Path) -> Iterator[None]:
    yield


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    # Before pytest imports any conftest (this hook runs for -p plugins only, ahead of the initial
    # conftests), so a conftest that binds a name at import time binds the spy's. Only as a plugin:
    # importing this module patches nothing.
    seconds = os.environ.get(SECONDS_VARIABLE)
    for zip_name, name in ZIP_BUILDERS.items():
        builder = _refusing(name) if seconds is None else _slow_stand_in(name, zip_name, float(seconds))
        setattr(artifacts, name, builder)
    for name in STEPS:
        setattr(artifacts, name, _refusing(name))
    if seconds is not None:
        locks.exclusive = _unshared
