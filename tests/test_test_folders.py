"""Where tests live (docs/testing.md, "Where a new test goes"), enforced: one test folder per
production folder, the suites that cross folders under tests/system/, every helper in tests/support/
and imported one way, `from tests.support.<module> import ...`, and each deployable's package by its
one name (`streaming_proxy`, not `proxy.streaming_proxy`).

Read with `ast`, so nothing is imported or run.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.support.imports import imported_modules

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS = REPO_ROOT / "tests"
# The production folders that have tests, each tested in the folder of the same name.
PRODUCTION_FOLDERS = {
    "agent", "bench", "client", "components", "local", "packager", "policy", "proxy", "stack_config",
    "streaming_shared",
}
# The suites that test several folders together.
SYSTEM_SUITES = {"auth", "browser", "compat", "delivery", "e2e", "reliability"}
SUPPORT = "support"
# Folders that hold no Python of the suite: the Node client's project that tests/system/compat drives.
NOT_PYTHON = {"node", "node_modules", "__pycache__"}
# The folders pytest puts on sys.path besides the root (pyproject.toml): agent/ and proxy/, deployed as
# zip roots, so their packages have one name, streaming_agent and streaming_proxy, as in the zips.
DEPLOYABLE_ROOTS = set(
    tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]["pythonpath"]
) - {"."}


def python_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.py") if not NOT_PYTHON & set(path.relative_to(root).parts))


def folders(root: Path) -> set[str]:
    return {path.name for path in root.iterdir() if path.is_dir() and path.name not in NOT_PYTHON}


def layout_problems(tests: Path) -> list[str]:
    """Folders that are neither a production folder's tests nor a system suite, and Python files in
    a test folder that are neither tests nor its conftest.py (helpers belong in tests/support)."""
    problems = [f"tests/{name}/ names no production folder ({', '.join(sorted(PRODUCTION_FOLDERS))}); "
                "a suite that crosses folders goes under tests/system/"
                for name in sorted(folders(tests) - PRODUCTION_FOLDERS - {"system", SUPPORT})]
    system = tests / "system"
    if system.is_dir():
        problems += [f"tests/system/{name}/ is not one of the suites {sorted(SYSTEM_SUITES)}"
                     for name in sorted(folders(system) - SYSTEM_SUITES)]
    for path in python_files(tests):
        relative = path.relative_to(tests)
        if relative.parts[0] == SUPPORT:
            continue
        if not (path.name.startswith("test_") or path.name == "conftest.py"):
            problems.append(f"tests/{relative.as_posix()} is not a test file or a folder's conftest.py; helpers go in tests/support/")
    return problems


def import_problems(tests: Path) -> list[str]:
    """Imports of test code that reach a module of the suite other than through tests.support: a
    bare module name that pytest's sys.path insertion happens to resolve, or another test module;
    and a deployable's module reached through its folder (`proxy.streaming_proxy.sse`), a second name
    under which Python loads a second copy of the module the other tests import as `streaming_proxy.sse`.
    One problem per import line."""
    local_names = {path.stem for path in python_files(tests)} | folders(tests)
    problems: dict[tuple[Path, int], str] = {}
    for path in python_files(tests):
        where = path.relative_to(tests.parent)
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top == "tests" and not module.startswith(f"tests.{SUPPORT}"):
                problem = f"{where}:{line} imports {module}: only tests.support is imported"
            elif top.startswith("test_") and top in local_names:
                problem = f"{where}:{line} imports the test module {module}: what tests share goes in tests/support/"
            elif top in local_names - PRODUCTION_FOLDERS and top != "tests":
                problem = f"{where}:{line} imports {module} by its bare name: import it as tests.support.{top}"
            elif top in DEPLOYABLE_ROOTS and "." in module:
                problem = (f"{where}:{line} imports {module} through its folder: import it as "
                           f"{module.split('.', 1)[1]}, the one name of the deployable's package")
            else:
                continue
            problems.setdefault((path, line), problem)
    return list(problems.values())


def test_each_test_folder_is_a_production_folders_or_a_system_suite() -> None:
    assert layout_problems(TESTS) == []


def test_every_package_of_the_project_has_its_test_folder() -> None:
    packages = {path.parent.name for path in REPO_ROOT.glob("*/__init__.py")}
    assert packages - folders(TESTS) == set()


def test_helpers_are_imported_from_tests_support_only() -> None:
    assert import_problems(TESTS) == []


def test_the_rules_catch_a_helper_in_a_test_folder_and_its_bare_import(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    for name in ("infra/test_stacks.py", "infra/harness.py", "system/e2e/test_path.py", "system/helpers.py",
                 "proxy/test_sse.py", "support/harness.py"):
        (tests / name).parent.mkdir(parents=True, exist_ok=True)
        (tests / name).write_text("")
    (tests / "proxy" / "test_sse.py").write_text(
        "from harness import run\nfrom tests.infra.harness import run\nfrom tests.support.harness import run\n"
        "from test_stacks import stacks\nfrom proxy.streaming_proxy import sse\nfrom streaming_proxy import sse\n"
        "import agent.offline_model.directives\nfrom offline_model.directives import parse_directives\n")
    (tests / "conftest.py").write_text('pytest_plugins = ["tests.support.harness", "tests.infra.harness"]\n')
    assert layout_problems(tests) == [
        "tests/infra/ names no production folder (" + ", ".join(sorted(PRODUCTION_FOLDERS)) + "); "
        "a suite that crosses folders goes under tests/system/",
        "tests/infra/harness.py is not a test file or a folder's conftest.py; helpers go in tests/support/",
        "tests/system/helpers.py is not a test file or a folder's conftest.py; helpers go in tests/support/",
    ]
    assert [problem.split(" imports ")[0] for problem in import_problems(tests)] == [
        "tests/conftest.py:1", "tests/proxy/test_sse.py:1", "tests/proxy/test_sse.py:2", "tests/proxy/test_sse.py:4",
        "tests/proxy/test_sse.py:5", "tests/proxy/test_sse.py:7",
    ]
