"""What a Python file imports, read with `ast` (nothing is imported or run): the import rules
(tests/test_import_rules.py) and the test layout rules (tests/test_test_folders.py) both read it."""

from __future__ import annotations

import ast
from pathlib import Path


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import of the file, and each module its `pytest_plugins`
    names; relative imports stay in the package. `from streaming_shared import edge` gives both
    "streaming_shared" and "streaming_shared.edge": the name imported may be a module."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "pytest_plugins" for target in node.targets):
            found += [(node.lineno, element.value) for element in ast.walk(node.value)
                      if isinstance(element, ast.Constant) and isinstance(element.value, str)]
    return found
