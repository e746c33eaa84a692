"""Where tests live (docs/testing.md, "Where a new test goes"), enforced: one test folder per
production folder, the suites that cross folders under tests/system/, every helper in tests/support/
and imported one way, `from tests.support.<module> import ...`.

Read with `ast`, so nothing is imported or run.
"""

from __future__ import annotations

import ast
from pathlib import Path

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


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every absolute import of the file, and each entry of its `pytest_plugins`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module)]
        elif isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "pytest_plugins" for target in node.targets):
            found += [(node.lineno, element.value) for element in ast.walk(node.value)
                      if isinstance(element, ast.Constant) and isinstance(element.value, str)]
    return found


def import_problems(tests: Path) -> list[str]:
    """Imports of test code that reach a module of the suite other than through tests.support: a
    bare module name that pytest's sys.path insertion happens to resolve, or another test module."""
    local_names = {path.stem for path in python_files(tests)} | folders(tests)
    problems = []
    for path in python_files(tests):
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top == "tests" and not module.startswith(f"tests.{SUPPORT}"):
                problems.append(f"{path.relative_to(tests.parent)}:{line} imports {module}: only tests.support is imported")
            elif top.startswith("test_") and top in local_names:
                problems.append(f"{path.relative_to(tests.parent)}:{line} imports the test module {module}: "
                                "what tests share goes in tests/support/")
            elif top in local_names - PRODUCTION_FOLDERS and top != "tests":
                problems.append(f"{path.relative_to(tests.parent)}:{line} imports {module} by its bare name: "
                                f"import it as tests.support.{top}")
    return problems


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
        "from test_stacks import stacks\nfrom proxy.streaming_proxy import sse\n")
    (tests / "conftest.py").write_text('pytest_plugins = ["tests.support.harness", "tests.infra.harness"]\n')
    assert layout_problems(tests) == [
        "tests/infra/ names no production folder (" + ", ".join(sorted(PRODUCTION_FOLDERS)) + "); "
        "a suite that crosses folders goes under tests/system/",
        "tests/infra/harness.py is not a test file or a folder's conftest.py; helpers go in tests/support/",
        "tests/system/helpers.py is not a test file or a folder's conftest.py; helpers go in tests/support/",
    ]
    assert [problem.split(" imports ")[0] for problem in import_problems(tests)] == [
        "tests/conftest.py:1", "tests/proxy/test_sse.py:1", "tests/proxy/test_sse.py:2", "tests/proxy/test_sse.py:4",
    ]
