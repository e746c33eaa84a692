"""The "Where things live" map (docs/project-layout.md), enforced: which folder may import which.

Read with `ast`, so nothing is imported or run. The proxy and the agent are separate deployables
(their own zips), so each imports nothing of the project but its own package and `streaming_shared`,
the standard-library-only package both zips carry at their root. The stack's configuration model
(`stack_config`) sits below the Pulumi components and the packager and imports neither.
agent/ also holds the offline model (agent/offline_model/), test-only code the agent zip
leaves out: the shipped agent may import it only inside a function (model_factory's, when
AGENT_MODEL_PROVIDER=offline), never at the top of a module, so a deployed agent still imports without it.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from tests.support.docs import section
from tests.support.imports import imported_modules

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = {
    "agent", "bench", "client", "components", "local", "packager", "policy", "proxy", "stack_config",
    "streaming_shared", "tests", "streaming_agent", "streaming_proxy", "offline_model",
}
# folder -> the project packages it may import (its own always; anything else is third party).
ALLOWED = {
    "streaming_shared": {"streaming_shared"},
    "proxy": {"streaming_proxy", "streaming_shared"},
    "agent": {"streaming_agent", "streaming_shared", "offline_model"},
    "client": {"client", "streaming_shared"},
    "stack_config": {"stack_config", "streaming_shared"},
    "packager": {"packager"},
    "components": {"components", "stack_config", "packager", "streaming_shared"},
    "policy": {"policy", "stack_config", "streaming_shared"},
    # The local gateway serves with the proxy's guarded h11 protocol, so that it drops slow clients as
    # the proxy's server does: uvicorn code, which the standard-library-only streaming_shared cannot hold.
    "local": {"local", "client", "stack_config", "streaming_shared", "proxy.streaming_proxy.http_guard"},
}
# The test-only package beside the agent's, and what the agent zip ships of agent/.
TEST_ONLY_AGENT_PACKAGE = "offline_model"
SHIPPED_AGENT_CODE = ("main.py", "streaming_agent")


def module_level_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of the imports that run when the file is imported: not those inside a function.
    A relative import keeps its leading dots ("from .offline_model import X" gives ".offline_model")."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    deferred = {id(node) for function in ast.walk(tree) if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                for node in ast.walk(function) if node is not function}
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in deferred:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [(node.lineno, "." * node.level + (node.module or ""))]
    return sorted(found)


def shipped_agent_files() -> list[Path]:
    files = [REPO_ROOT / "agent" / name for name in SHIPPED_AGENT_CODE]
    return sorted(path for entry in files for path in ([entry] if entry.is_file() else entry.rglob("*.py")))


def is_allowed(module: str, allowed: set[str]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in allowed)


def file_violations(path: Path, allowed: set[str]) -> list[str]:
    problems = []
    for line, module in imported_modules(path):
        top = module.split(".")[0]
        if top not in PROJECT_PACKAGES or is_allowed(module, allowed):
            continue
        # `from proxy.streaming_proxy.http_guard import X` also yields "...http_guard.X"; and the
        # package statement before it ("proxy.streaming_proxy") is what reaches the allowed module.
        if any(prefix.startswith(module + ".") for prefix in allowed):
            continue
        problems.append(f"{path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}:{line} imports {module}")
    return problems


def python_files(folder: str) -> list[Path]:
    return [
        path for path in sorted((REPO_ROOT / folder).rglob("*.py"))
        if ".venv" not in path.parts and "node_modules" not in path.parts
    ]


def violations(folder: str) -> list[str]:
    return [problem for path in python_files(folder) for problem in file_violations(path, ALLOWED[folder])]


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_each_folder_imports_only_what_the_map_allows(folder: str) -> None:
    assert python_files(folder), f"{folder}/ holds no Python file: the map names a folder that is gone"
    assert violations(folder) == []


def test_the_shared_package_imports_the_standard_library_only() -> None:
    # Both zips carry it without its own dependencies, and the client imports it on a bare Python.
    outside = [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {module}"
        for path in python_files("streaming_shared")
        for line, module in imported_modules(path)
        if module.split(".")[0] not in sys.stdlib_module_names | {"__future__", "streaming_shared"}
    ]
    assert outside == []


def test_the_shipped_agent_imports_the_offline_model_only_inside_a_function() -> None:
    # A module-level import would fail in the deployed zip, which has no offline_model package.
    eager = [f"{path.relative_to(REPO_ROOT)}:{line} imports {module}" for path in shipped_agent_files()
             for line, module in module_level_imports(path) if TEST_ONLY_AGENT_PACKAGE in module.split(".")]
    assert eager == []
    assert any(path.name == "main.py" for path in shipped_agent_files()) and len(shipped_agent_files()) > 5


def test_only_a_function_body_defers_an_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import offline_model\nif True:\n    from offline_model.model import X\n"
                      "def build():\n    from offline_model.model import Y\n"
                      "class Factory:\n    def make(self):\n        import offline_model.model\n"
                      "from .offline_model import Z\n")
    assert module_level_imports(sample) == [(1, "offline_model"), (3, "offline_model.model"), (9, ".offline_model")]


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from stack_config.settings import Settings\nimport local.stack\nfrom streaming_proxy import app\n")
    modules = [module for _, module in imported_modules(sample)]
    assert not is_allowed("stack_config.settings", ALLOWED["proxy"])
    assert not is_allowed("local.stack", ALLOWED["agent"])
    assert is_allowed("streaming_proxy.app", ALLOWED["proxy"])
    assert "stack_config.settings" in modules and "local.stack" in modules
    assert not is_allowed("proxy.streaming_proxy.app", ALLOWED["local"])


@pytest.mark.parametrize(("folder", "source", "forbidden"), [
    # The shared package may not reach back into a deployable, under either of its names.
    ("streaming_shared", "from streaming_proxy.contract import ApiError\n", "streaming_proxy.contract"),
    ("streaming_shared", "from proxy.streaming_proxy import app\n", "proxy.streaming_proxy.app"),
    ("streaming_shared", "import streaming_agent.settings\n", "streaming_agent.settings"),
    # The configuration model sits below the components and the packager.
    ("stack_config", "from components.network import Network\n", "components.network"),
    ("stack_config", "from packager.artifacts import CodeZip\n", "packager.artifacts"),
    ("stack_config", "from agent.streaming_agent.settings import MAX_TOOL_CALLS_CEILING\n", "agent.streaming_agent.settings"),
    # The deployables reach each other, and the rest of the repository, only through streaming_shared.
    ("proxy", "from streaming_agent.jsonlog import session_hash\n", "streaming_agent.jsonlog"),
    ("agent", "from proxy.streaming_proxy import edge\n", "proxy.streaming_proxy.edge"),
    ("local", "from components.auth import ApiKey\n", "components.auth"),
    ("policy", "from components.settings import Settings\n", "components.settings"),
    ("packager", "from stack_config.settings import AGENT_ARTIFACTS\n", "stack_config.settings"),
])
def test_the_rule_catches_each_wrong_way_import(folder: str, source: str, forbidden: str, tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(source)
    problems = file_violations(sample, ALLOWED[folder])
    assert any(problem.endswith(f"sample.py:1 imports {forbidden}") for problem in problems), problems


def test_the_rule_lets_each_folder_import_the_shared_package(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from streaming_shared import edge\nfrom streaming_shared.jsonlog import session_hash\n")
    for folder in ALLOWED:
        if folder == "packager":
            continue  # the packager ships the shared package; it has no use for its contents
        assert file_violations(sample, ALLOWED[folder]) == [], folder


def documented_map() -> dict[str, set[str]]:
    """docs/project-layout.md's "Where things live": folder -> the project packages its row allows."""
    rows: dict[str, set[str]] = {}
    for line in section("Where things live").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        folder = cells[0].strip("`").rstrip("/")
        rows[folder] = {name for name in re.findall(r"`([a-z_.]+)`", cells[2]) if name.split(".")[0] in PROJECT_PACKAGES}
    return rows


def test_the_documented_map_is_the_enforced_one() -> None:
    documented = documented_map()
    assert {folder: documented.get(folder) for folder in ALLOWED} == ALLOWED
