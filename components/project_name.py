"""Make a renamed project's files follow its new name (`python3 dev.py adopt-project-name OLD`).

`pulumi new` (or an edit of Pulumi.yaml's `name:`) renames the project, but the stack files keep
their settings under the old `<name>:` namespace, which the program then refuses
(stack_config/settings.py, check_settings_namespace), and the deployer's IAM policies keep allowing
only physical names that start with the old name. This rewrites both, line by line, so comments
and layout stay as they were. Standard library only: dev.py runs it before any virtualenv exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from stack_config.naming import agentcore_name_prefix, name_prefix

# The deployer's managed policies (split by service to fit IAM's 6,144-character limit).
DEPLOYER_POLICY_GLOB = "deploy/deployer-policy-*.json"


def deployer_policies(root: Path) -> list[Path]:
    return sorted(root.glob(DEPLOYER_POLICY_GLOB))
_NAME_LINE = re.compile(r"""^name:\s*(["']?)(?P<name>[A-Za-z0-9_.-]+)\1\s*(#.*)?$""")


class ProjectNameError(ValueError):
    """Pulumi.yaml names no project, or the names given cannot be adopted."""


@dataclass
class Adoption:
    """What adopt_project_name changed, in words for the person who ran it."""

    changes: list[str] = field(default_factory=list)


def read_project_name(root: Path) -> str:
    for line in (root / "Pulumi.yaml").read_text(encoding="utf-8").splitlines():
        match = _NAME_LINE.match(line)
        if match:
            return match.group("name")
    raise ProjectNameError(f"{root / 'Pulumi.yaml'} has no top-level `name: <project>` line")


def _entry_key(line: str, indent: str) -> str | None:
    """The key of a top-level entry of the stack file's `config:` mapping, if the line starts one."""
    match = re.match(rf"^{indent}(?P<key>[^\s#:][^\s:]*:[^\s:]+):(\s|$)", line)
    return match.group("key") if match else None


def _config_indent(lines: list[str]) -> str:
    inside = False
    for line in lines:
        if re.match(r"^config:\s*(#.*)?$", line):
            inside = True
        elif inside and line.strip() and not line.lstrip().startswith("#"):
            return line[: len(line) - len(line.lstrip())]
    return "  "


def _rename_stack_file(path: Path, old: str, new: str, adoption: Adoption) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    indent = _config_indent(lines)
    present = {key for key in (_entry_key(line, indent) for line in lines) if key}
    kept: list[str] = []
    dropping = False
    moved = 0
    for line in lines:
        key = _entry_key(line, indent)
        if key is not None:
            dropping = False
            namespace, _, name = key.partition(":")
            if namespace == old and f"{new}:{name}" in present:
                # The new name's key was set later (`pulumi new`'s prompt, `pulumi config set`): it wins.
                adoption.changes.append(f"{path.name}: dropped {key} (kept {new}:{name}, set under the new name)")
                dropping = True
                continue
            if namespace == old:
                line = line.replace(f"{old}:", f"{new}:", 1)
                moved += 1
        elif dropping and (not line.strip() or line.startswith(indent + " ")):
            continue  # the dropped entry's nested value
        else:
            dropping = False
            # The `project` tag of aws:defaultTags names the project too.
            line = re.sub(rf"^(\s+project:\s*){re.escape(old)}(\s*(#.*)?)$", rf"\g<1>{new}\g<2>", line)
        kept.append(line)
    path.write_text("".join(kept), encoding="utf-8")
    if moved:
        adoption.changes.append(f"{path.name}: {moved} settings moved from {old}: to {new}:")


def _rename_deployer_policy(path: Path, old: str, new: str, adoption: Adoption) -> None:
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    # Physical names (`<prefix>-<stack>-<role>`) and AgentCore names (`<prefix>_<stack>_<role>`).
    for old_pattern, new_pattern in ((f"{name_prefix(old)}-*", f"{name_prefix(new)}-*"),
                                     (f"{agentcore_name_prefix(old)}_*", f"{agentcore_name_prefix(new)}_*")):
        if old_pattern in text and old_pattern != new_pattern:
            text = text.replace(old_pattern, new_pattern)
            adoption.changes.append(f"{path.name}: resource names {old_pattern} -> {new_pattern}")
    path.write_text(text, encoding="utf-8")


def adopt_project_name(root: Path, old: str) -> Adoption:
    """Move every stack file's `<old>:` settings to Pulumi.yaml's name, and the deployer policies'
    physical-name patterns with them."""
    new = read_project_name(root)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", old):
        raise ProjectNameError(f"{old!r} is not a Pulumi project name (letters, digits, '_', '.', '-')")
    adoption = Adoption()
    if old == new:
        return adoption
    for path in sorted(root.glob("Pulumi.*.yaml")):
        _rename_stack_file(path, old, new, adoption)
    for path in deployer_policies(root):
        _rename_deployer_policy(path, old, new, adoption)
    return adoption
