"""A copy of agent/ with code appended to its tools.py, as a user adds a tool (README, "Make it yours")."""

from __future__ import annotations

import shutil
from pathlib import Path

from local.stack import REPO_ROOT


def agent_copy_with_tools(directory: Path, addition: str) -> Path:
    """Copy agent/ into `directory`, append `addition` to streaming_agent/tools.py; return the copy."""
    copy = directory / "agent"
    shutil.copytree(REPO_ROOT / "agent", copy, ignore=shutil.ignore_patterns("__pycache__", ".build"))
    with open(copy / "streaming_agent" / "tools.py", "a", encoding="utf-8") as tools:
        tools.write("\n\n" + addition)
    return copy
