"""The "Where things live" map (docs/project-layout.md), enforced: which folder may import which.

Read with `ast`, so nothing is imported or run. The proxy and the agent are separate deployables
(their own zips), so they import nothing of the project outside their own package; everything
that several folders share about the HTTP edge lives in proxy/streaming_proxy/edge.py, which the
infrastructure and the policy pack may import and nothing else of the proxy. agent/ also holds the
offline model (agent/offline_model/), test-only code the agent zip leaves out: the shipped agent may
import it only inside a function (model_factory's, when AGENT_MODEL_PROVIDER=offline), never at the
top of a module, so a deployed agent still imports without it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = {
    "agent", "bench", "client", "components", "local", "packager", "policy", "proxy", "tests",
    "streaming_agent", "streaming_proxy", "offline_model",
}
# folder -> the project packages it may import (its own always; anything else is third party).
ALLOWED = {
    "proxy": {"streaming_proxy"},
    "agent": {"streaming_agent", "offline_model"},
    "client": {"client"},
    "components": {"components", "packager", "proxy.streaming_proxy.edge", "agent.streaming_agent.settings"},
    "policy": {"policy", "components", "proxy.streaming_proxy.edge"},
    "local": {"local", "client", "components.auth", "proxy.streaming_proxy"},
    "packager": {"packager"},
}
EDGE_MODULE = "proxy.streaming_proxy.edge"
# The test-only package beside the agent's, and what the agent zip ships of agent/.
TEST_ONLY_AGENT_PACKAGE = "offline_model"
SHIPPED_AGENT_CODE = ("main.py", "streaming_agent")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import of the file; relative ones stay in the package."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module)]
            # `from proxy.streaming_proxy import edge` names the module in the alias.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


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


def violations(folder: str) -> list[str]:
    allowed = ALLOWED[folder]
    problems = []
    for path in sorted((REPO_ROOT / folder).rglob("*.py")):
        if ".venv" in path.parts or "node_modules" in path.parts:
            continue
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top not in PROJECT_PACKAGES or is_allowed(module, allowed):
                continue
            # `from proxy.streaming_proxy.edge import X` also yields "...edge.X"; and the package
            # statement before it ("proxy.streaming_proxy") is what reaches the edge.
            if any(is_allowed(module, {prefix}) or prefix.startswith(module + ".") for prefix in allowed):
                continue
            problems.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {module}")
    return problems


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_each_folder_imports_only_what_the_map_allows(folder: str) -> None:
    assert violations(folder) == []


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
    sample.write_text("from components.settings import Settings\nimport local.stack\nfrom streaming_proxy import app\n")
    modules = [module for _, module in imported_modules(sample)]
    assert not is_allowed("components.settings", ALLOWED["proxy"])
    assert not is_allowed("local.stack", ALLOWED["agent"])
    assert is_allowed("streaming_proxy.app", ALLOWED["proxy"])
    assert "components.settings" in modules and "local.stack" in modules
    assert is_allowed(EDGE_MODULE, ALLOWED["components"]) and not is_allowed("proxy.streaming_proxy.app", ALLOWED["components"])
