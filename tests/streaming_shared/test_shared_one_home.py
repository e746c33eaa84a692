"""What both deployables share has one home, streaming_shared/, and one module name.

No second definition elsewhere, no link to it from a deployable's folder, and no module that
re-exports its names for others to import (every importer imports from streaming_shared itself).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from streaming_shared.edge import ALLOWED_HEADERS, EXPOSED_HEADERS, REQUEST_ID_HEADER, SESSION_ID_HEADER

REPO_ROOT = Path(__file__).resolve().parents[2]
# The production folders (tests and benchmarks may import anything from anywhere).
PRODUCTION_FOLDERS = ("streaming_shared", "proxy", "agent", "client", "stack_config", "components", "packager",
                      "policy", "local")
PROJECT_PACKAGES = {*PRODUCTION_FOLDERS, "streaming_proxy", "streaming_agent"}
# Each of these facts was once written in two places (issue 22); now only in the shared package.
SHARED_FACTS = {
    "SettingsError": "streaming_shared/edge.py",
    "LOG_LEVELS": "streaming_shared/edge.py",
    "AUTH_MODES": "streaming_shared/auth_modes.py",
    "GUARDRAIL_ID_PATTERN": "streaming_shared/agent_config.py",
    "GUARDRAIL_VERSION_PATTERN": "streaming_shared/agent_config.py",
    "MAX_TOOL_CALLS_CEILING": "streaming_shared/agent_config.py",
    "MAX_OUTPUT_TOKENS_RANGE": "streaming_shared/agent_config.py",
    "DEFAULT_MAX_TOOL_CALLS": "streaming_shared/agent_config.py",
    "TOOL_NAME": "streaming_shared/agent_config.py",
    "JsonFormatter": "streaming_shared/jsonlog.py",
    "session_hash": "streaming_shared/jsonlog.py",
    "error_body": "streaming_shared/edge.py",
    "INVOKE_PATH": "streaming_shared/edge.py",
    "STOP_PATH": "streaming_shared/edge.py",
    "SESSION_ID_HEADER": "streaming_shared/edge.py",
    "REQUEST_ID_HEADER": "streaming_shared/edge.py",
}


def production_modules() -> list[Path]:
    return [
        path for folder in PRODUCTION_FOLDERS for path in sorted((REPO_ROOT / folder).rglob("*.py"))
        if not {".venv", "node_modules", "__pycache__"} & set(path.parts)
    ]


def defined_names(tree: ast.Module) -> set[str]:
    """Names a module defines at its top level (classes, functions, assignments), not imports."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_each_shared_fact_is_defined_once_in_the_shared_package() -> None:
    homes: dict[str, list[str]] = {name: [] for name in SHARED_FACTS}
    for path in production_modules():
        for name in defined_names(ast.parse(path.read_text(encoding="utf-8"))) & set(SHARED_FACTS):
            homes[name].append(path.relative_to(REPO_ROOT).as_posix())
    assert homes == {name: [home] for name, home in SHARED_FACTS.items()}


@pytest.mark.parametrize("folder", ["proxy", "agent"])
def test_a_deployable_folder_holds_no_link_and_no_copy_of_a_shared_module(folder: str) -> None:
    # A link or a copy is how the two deployables shared jsonlog.py before: the zips carry the one file.
    paths = [path for path in (REPO_ROOT / folder).rglob("*") if "__pycache__" not in path.parts]
    assert [str(path.relative_to(REPO_ROOT)) for path in paths if path.is_symlink()] == []
    shared = {path.name for path in (REPO_ROOT / "streaming_shared").glob("*.py")} - {"__init__.py"}
    assert sorted(str(path.relative_to(REPO_ROOT)) for path in paths if path.name in shared) == []


def unused_project_imports(path: Path) -> list[str]:
    """Names `path` imports from a project module and never uses: a re-export for others to import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            project = node.level > 0 or (node.module or "").split(".")[0] in PROJECT_PACKAGES
            if project:
                imported |= {(alias.asname or alias.name): node.lineno for alias in node.names}
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    used |= {node.value.id for node in ast.walk(tree) if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)}
    label = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path.name
    return [f"{label}:{line} imports {name} and never uses it"
            for name, line in sorted(imported.items()) if name not in used]


def test_no_production_module_re_exports_what_it_imports() -> None:
    problems = [problem for path in production_modules() if path.name != "__init__.py"
                for problem in unused_project_imports(path)]
    assert problems == []


def test_the_re_export_check_catches_a_shim(tmp_path: Path) -> None:
    shim = tmp_path / "contract.py"
    shim.write_text("from .edge import INVALID_BODY, error_body  # noqa: F401\n"
                    "from streaming_shared.jsonlog import session_hash  # noqa: F401\n\n\n"
                    "def body() -> dict:\n    return error_body('X', 'y', 'z')\n")
    assert unused_project_imports(shim) == [
        "contract.py:1 imports INVALID_BODY and never uses it",
        "contract.py:2 imports session_hash and never uses it",
    ]


def test_the_contracts_header_names_are_written_once() -> None:
    # The proxy sets them and the client reads them, each through streaming_shared.edge.
    names = {SESSION_ID_HEADER.lower(), REQUEST_ID_HEADER.lower()}
    written = sorted(
        f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
        for path in production_modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in names
    )
    assert [place.split(":")[0] for place in written] == ["streaming_shared/edge.py"] * 2, written


# The headers a cross-origin page reads and sends without the API's leave (docs/aws-facts.md, CORS).
SAFELISTED_RESPONSE_HEADERS = {"cache-control", "content-language", "content-length", "content-type", "expires",
                               "last-modified", "pragma"}
SAFELISTED_REQUEST_HEADERS = {"accept", "accept-language", "content-language"}
PAGE = REPO_ROOT / "web" / "app.js"


def page_headers(code: str) -> tuple[set[str], set[str]]:
    """(headers the page reads from a response, headers it sets on a request), lower-cased."""
    read = re.findall(r'headers\.get\("([^"]+)"\)', code)
    literals = re.findall(r"headers\s*[:=]\s*\{([^}]*)\}", code)
    keys = [pair for literal in literals for pair in re.findall(r'(?:"([^"]+)"|\b([A-Za-z][\w-]*))\s*:', literal)]
    sent = [quoted or bare for quoted, bare in keys]
    sent += re.findall(r'headers\["([^"]+)"\]\s*=', code) + re.findall(r"headers\.([A-Za-z]\w*)\s*=", code)
    return {name.lower() for name in read}, {name.lower() for name in sent}


def test_the_chat_page_reads_only_exposed_headers_and_sends_only_allowed_ones() -> None:
    # web/ is JavaScript: its copy of the header names is unavoidable, and held here to the shared ones.
    read, sent = page_headers(PAGE.read_text(encoding="utf-8"))
    exposed = {name.strip().lower() for name in EXPOSED_HEADERS.split(",")}
    allowed = {name.strip().lower() for name in ALLOWED_HEADERS.split(",")}
    assert {SESSION_ID_HEADER.lower(), REQUEST_ID_HEADER.lower()} <= read
    assert read - SAFELISTED_RESPONSE_HEADERS - exposed == set()
    assert "x-api-key" in sent and "authorization" in sent
    assert sent - SAFELISTED_REQUEST_HEADERS - allowed == set()


def test_the_page_header_reader_finds_reads_and_every_way_of_setting_one() -> None:
    code = ('const h = response.headers.get("X-Trace");\nconst headers = { "Content-Type": "a", Accept: "b" };\n'
            'headers["x-api-key"] = k;\nheaders.Authorization = t;\nfetch(u, { headers: { ...x, "X-Extra": 1 } });\n')
    assert page_headers(code) == ({"x-trace"}, {"content-type", "accept", "x-api-key", "authorization", "x-extra"})



def unused_shared_names(shared: list[Path], production: list[Path]) -> list[str]:
    """Top-level names of the shared modules that no production code outside the definition names:
    what only tests would use, shipped in both zips (comments do not count as a use)."""
    code = "\n".join(line.split("#")[0] for path in production for line in path.read_text(encoding="utf-8").splitlines())
    return [f"{path.name}: {name}" for path in shared
            for name in sorted(defined_names(ast.parse(path.read_text(encoding="utf-8"))))
            if len(re.findall(rf"\b{re.escape(name)}\b", code)) < 2]


def test_the_shared_package_holds_only_what_production_code_uses() -> None:
    shared = sorted((REPO_ROOT / "streaming_shared").glob("*.py"))
    assert unused_shared_names(shared, [*production_modules(), REPO_ROOT / "__main__.py"]) == []


def test_the_unused_name_check_counts_a_use_outside_the_definition(tmp_path: Path) -> None:
    shared, user = tmp_path / "edge.py", tmp_path / "app.py"
    shared.write_text("USED = 1\nONLY_TESTS = 2  # USED\n\n\ndef helper():\n    return USED\n")
    user.write_text("from edge import helper\n# ONLY_TESTS in a comment is no use\n")
    assert unused_shared_names([shared], [shared, user]) == ["edge.py: ONLY_TESTS"]
