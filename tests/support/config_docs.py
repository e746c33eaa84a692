"""The configuration table of docs/deploying.md, generated from the settings' declaration
(stack_config/config_keys.py) and the stack files; `python3 dev.py docs` runs this module to rewrite it,
and tests/system/delivery checks the committed page is what it gives.

Here rather than in components/: reading the stack files takes PyYAML, which the Pulumi program
itself does not import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml

from stack_config.config_keys import DOCS_PAGE, settings_table, with_settings_table
from components.project_name import read_project_name

REPO_ROOT = Path(__file__).resolve().parents[2]
STACKS: tuple[str, ...] = ("dev", "prod")


def stack_configs(root: Path) -> dict[str, Mapping[str, Any]]:
    """Each stack file's `config:` block, dev first."""
    return {stack: yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text())["config"] for stack in STACKS}


def generated_docs_page(root: Path = REPO_ROOT) -> str:
    """docs/deploying.md with its configuration table regenerated (the rest as it is)."""
    page = (root / DOCS_PAGE).read_text(encoding="utf-8")
    return with_settings_table(page, settings_table(read_project_name(root), stack_configs(root)))


def main() -> int:
    path = REPO_ROOT / DOCS_PAGE
    page = generated_docs_page()
    changed = path.read_text(encoding="utf-8") != page
    path.write_text(page, encoding="utf-8")
    print(f"{DOCS_PAGE}: configuration table {'rewritten' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
