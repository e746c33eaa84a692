"""Code shape: no function longer than 60 lines, no constructor with more than 10 parameters.

Small units are easier to read and to change; a constructor with a long argument list wants a
dataclass of typed, documented fields instead (dataclasses are exempt: their fields are the point).
Extend SHAPED_FOLDERS to hold another folder to the same limits.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60
MAX_CONSTRUCTOR_PARAMETERS = 10
SHAPED_FOLDERS: tuple[str, ...] = ("components", "stack_config", "streaming_shared", "proxy", "agent", "local")


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    name: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.name}: {self.problem}"


def _is_dataclass(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "dataclass":
            return True
    return False


def _parameter_count(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    # `self` is not something a caller passes.
    if positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    return len(positional) + len(arguments.kwonlyargs)


def shape_violations(source: str, path: str) -> list[Violation]:
    """Every over-long function and over-wide constructor in one module's source."""
    violations: list[Violation] = []

    def visit(node: ast.AST, inside_dataclass: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, _is_dataclass(child))
                continue
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                length = (child.end_lineno or child.lineno) - start + 1
                if length > MAX_FUNCTION_LINES:
                    violations.append(Violation(path, child.lineno, child.name,
                                                f"{length} lines (at most {MAX_FUNCTION_LINES})"))
                count = _parameter_count(child)
                if child.name == "__init__" and not inside_dataclass and count > MAX_CONSTRUCTOR_PARAMETERS:
                    violations.append(Violation(path, child.lineno, child.name,
                                                f"{count} parameters (at most {MAX_CONSTRUCTOR_PARAMETERS})"))
                visit(child, False)
                continue
            visit(child, inside_dataclass)

    visit(ast.parse(source, filename=path), False)
    return violations


def _modules(folder: str) -> list[Path]:
    root = REPO_ROOT / folder
    return sorted(p for p in root.rglob("*.py") if ".venv" not in p.parts and "__pycache__" not in p.parts)


@pytest.mark.parametrize("folder", SHAPED_FOLDERS)
def test_no_long_function_and_no_wide_constructor(folder: str) -> None:
    modules = _modules(folder)
    assert modules, f"{folder}/ holds no Python modules"
    violations = [
        violation
        for module in modules
        for violation in shape_violations(module.read_text(encoding="utf-8"), str(module.relative_to(REPO_ROOT)))
    ]
    assert not violations, "\n".join(str(v) for v in violations)


# --- the checker itself finds what it names -----------------------------------------------------


def _function(name: str, body_lines: int, parameters: str = "") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(body_lines))
    return f"def {name}({parameters}):\n{body}"


def test_a_function_of_sixty_lines_passes_and_one_of_sixty_one_fails() -> None:
    assert shape_violations(_function("fits", MAX_FUNCTION_LINES - 1), "m.py") == []
    [violation] = shape_violations(_function("too_long", MAX_FUNCTION_LINES), "m.py")
    assert (violation.name, violation.line) == ("too_long", 1)
    assert "61 lines" in violation.problem


def test_methods_and_nested_functions_are_measured_too() -> None:
    nested = "class C:\n    def method(self):\n" + "".join(
        f"        y{i} = {i}\n" for i in range(MAX_FUNCTION_LINES)
    )
    assert [v.name for v in shape_violations(nested, "m.py")] == ["method"]


def test_a_wide_constructor_fails_unless_its_class_is_a_dataclass() -> None:
    parameters = ", ".join(f"p{i}" for i in range(MAX_CONSTRUCTOR_PARAMETERS + 1))
    wide = f"class Wide:\n    def __init__(self, {parameters}):\n        pass\n"
    [violation] = shape_violations(wide, "m.py")
    assert violation.name == "__init__" and "11 parameters" in violation.problem
    keyword_only = f"class Wide:\n    def __init__(self, *, {parameters}):\n        pass\n"
    assert len(shape_violations(keyword_only, "m.py")) == 1
    narrow = "class Narrow:\n    def __init__(self, " + ", ".join(
        f"p{i}" for i in range(MAX_CONSTRUCTOR_PARAMETERS)) + "):\n        pass\n"
    assert shape_violations(narrow, "m.py") == []
    as_dataclass = f"@dataclass(frozen=True)\nclass Fields:\n    def __init__(self, {parameters}):\n        pass\n"
    assert shape_violations(as_dataclass, "m.py") == []
