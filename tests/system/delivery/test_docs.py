"""The README is a short front door and the docs/ pages hold the rest (issue 23).

Every relative link in README.md and docs/ leads to a file that exists and, with an #anchor, to a
heading of that page (GitHub's anchor rules), and every repository path and project module they name in
code spans exists; the README keeps the issue's order and length; each
switch is a `pulumi config set` line the stack settings accept; the cost tables add up.
"""

from __future__ import annotations

import ast
import re
import shlex
from decimal import Decimal
from pathlib import Path

import pytest

from stack_config.settings import parse_settings
from tests.support.infra_harness import PROJECT, stack_config
from tests.support.docs import README, REPO_ROOT, anchors, github_anchor, headings, pages, section

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")
README_LINES_MAX = 250
# The issue's order: what it is (before the first section), cost, quick start, deploy dev, make it
# yours, switches, destroy, links to the rest.
README_SECTIONS = ["Cost", "Quick start", "Deploy dev", "Make it yours", "Switches", "Destroy", "More"]
SWITCHES = ["WAF", "private API", "custom domain", "hosted page", "guardrail", "usage metering", "memory", "auth mode"]


def links(text: str) -> list[str]:
    """Link and image targets outside fenced code blocks and inline code."""
    found, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            prose = re.sub(r"`[^`]*`", "", line)
            found += LINK.findall(prose)
    return found


def relative_links(page: Path) -> list[str]:
    return [target for target in links(page.read_text(encoding="utf-8"))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]  # http:, https:, mailto:


def test_the_pages_link_to_each_other() -> None:
    # Guards the checks below from passing over nothing.
    assert len(pages()) >= 8
    assert sum(len(relative_links(page)) for page in pages()) >= 50


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(REPO_ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists() or REPO_ROOT not in destination.parents:
            broken.append(f"{target}: no file {path}")
        elif anchor and (destination.suffix != ".md" or anchor not in anchors(destination.read_text(encoding="utf-8"))):
            broken.append(f"{target}: no heading #{anchor} in {destination.relative_to(REPO_ROOT)}")
    assert not broken, broken


CODE_SPAN = re.compile(r"`([^`\n]+)`")
# Packages whose folder is not their name: the deployables' (zip roots agent/ and proxy/).
PACKAGE_FOLDERS = {"streaming_proxy": "proxy/streaming_proxy", "streaming_agent": "agent/streaming_agent",
                   "offline_model": "agent/offline_model"}
# Paths of other repositories the facts cite (Lambda Web Adapter's guide), not of this one.
OTHER_REPOSITORIES = {"docs/guide/src/features/request-context.md", "docs/guide/src/configuration/logging.md"}


def named_paths_and_modules(text: str) -> tuple[list[str], list[str]]:
    """The repository paths (`tests/support/docs.py`, `deploy/deployer-policy-*.json`) and the dotted
    project modules (`streaming_shared.edge.SettingsError`) the text names in code spans: a path starts
    with a top-level folder, a module with a project package; placeholders (`<module>`, `...`) are left out."""
    folders = {path.name for path in REPO_ROOT.iterdir() if path.is_dir() and not path.name.startswith((".", "_"))}
    packages = {path.parent.name for path in REPO_ROOT.glob("*/__init__.py")} | set(PACKAGE_FOLDERS)
    paths, modules = [], []
    for span in CODE_SPAN.findall(text):
        for word in span.split():
            word = re.split(r"::|:\d", word.strip("'\",;:()[]").removesuffix("()"))[0]
            if not word or any(mark in word for mark in ("<", "{", "$", "=", "...", "\u2026")):
                continue
            if "/" in word and word.split("/")[0] in folders:
                paths.append(word.rstrip("/"))
            elif "." in word and word.split(".")[0] in packages and not re.search(r"\.(py|md|json|txt|ya?ml|toml|sh|js)$", word):
                modules.append(word)
    return paths, modules


def bound_names(module: Path) -> set[str]:
    """The names a module defines or imports at its top level (what `package.name` may reach)."""
    names = set()
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def module_exists(dotted: str) -> bool:
    """The longest leading part of `dotted` that is a module of the repository, and the next part (if
    any) a name it binds: `streaming_shared.edge.SettingsError`, `client.stream_invoke`."""
    parts = dotted.split(".")
    folder = REPO_ROOT / PACKAGE_FOLDERS.get(parts[0], parts[0])
    for length in range(len(parts), 0, -1):
        base = folder.joinpath(*parts[1:length])
        module = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if module.is_file():
            return length == len(parts) or parts[length] in bound_names(module)
    return False


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(REPO_ROOT).as_posix())
def test_every_path_and_module_the_page_names_exists(page: Path) -> None:
    # A moved file leaves no stale name behind (issue 22 moved dozens).
    paths, modules = named_paths_and_modules(page.read_text(encoding="utf-8"))
    assert [path for path in paths if path not in OTHER_REPOSITORIES and not any(REPO_ROOT.glob(path))] == []
    assert [module for module in modules if not module_exists(module)] == []


def test_the_named_paths_check_reads_paths_modules_and_placeholders() -> None:
    text = ("`tests/e2e/test_stop_path.py::test_x`, `deploy/deployer-policy-*.json`, `python -m packager.artifacts`,\n"
            "`tests.support.<module>`, `streaming_shared.edge.SettingsError`, `client.stream_invoke()`, `proxy/...`")
    assert named_paths_and_modules(text) == (
        ["tests/e2e/test_stop_path.py", "deploy/deployer-policy-*.json"],
        ["packager.artifacts", "streaming_shared.edge.SettingsError", "client.stream_invoke"],
    )
    assert not any(REPO_ROOT.glob("tests/e2e/test_stop_path.py")) and any(REPO_ROOT.glob("deploy/deployer-policy-*.json"))
    assert [module_exists(name) for name in ("packager.artifacts", "streaming_shared.edge.SettingsError",
                                             "client.stream_invoke", "streaming_proxy.edge", "stack_config.auth.Nothing",
                                             "streaming_proxy.http_guard.GuardedH11Protocol")] == [True, True, True, False, False, True]


@pytest.mark.parametrize(("title", "anchor"), [
    ("What `pulumi up` builds", "what-pulumi-up-builds"),
    ("Delivery (GitHub Actions)", "delivery-github-actions"),
    ("The VPC: NAT, endpoints and private DNS", "the-vpc-nat-endpoints-and-private-dns"),
    ("Regions, zones and model ids", "regions-zones-and-model-ids"),
    ("Reaching a PRIVATE API from a laptop", "reaching-a-private-api-from-a-laptop"),
    ("dev and prod", "dev-and-prod"),
    ("Costs at rest -- and after", "costs-at-rest----and-after"),
    ("Café & co_op", "café--co_op"),
])
def test_anchors_follow_githubs_rules(title: str, anchor: str) -> None:
    # github-slugger: lower case, punctuation dropped (hyphens and underscores kept), a hyphen per space.
    assert github_anchor(title) == anchor


def test_a_repeated_heading_gets_a_numbered_anchor() -> None:
    assert anchors("## Notes\n\n## Notes\n\n```sh\n# not a heading\n```\n") == {"notes", "notes-1"}


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in relative_links(README)}
    missing = [page.relative_to(REPO_ROOT).as_posix() for page in pages()[1:] if page.resolve() not in linked]
    assert not missing, f"docs pages the README does not link to: {missing}"


def test_the_readme_is_a_short_front_door_in_the_issues_order() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_LINES_MAX
    assert [heading.title for heading in headings(text) if heading.level == 2] == README_SECTIONS
    # What it is, the diagram and the status come before the first section.
    opening = text[: text.index("\n## ")]
    assert opening.startswith("# ") and "> **Status.**" in opening and "```\nclient ──HTTPS──▶" in opening


def test_the_readme_names_the_minimum_pulumi_cli_and_the_first_deploys_duration() -> None:
    deploy = section("Deploy dev")
    pinned = re.search(r"^pulumi==(\S+)$", (REPO_ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned and f"**{pinned[1]} or later**" in deploy, "the minimum CLI is the pinned SDK's version"
    assert re.search(r"about \d+ to \d+ minutes", deploy) and "estimate" in deploy
    commands = [line for line in re.findall(r"```sh\n(.*?)```", deploy, re.DOTALL)[0].splitlines() if line.strip()]
    assert len(commands) <= 6 and any(line.startswith("pulumi up") for line in commands)


def table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip()[1:-1])] for row in rows[2:]]


def apply_config_set(overrides: dict[str, str], command: str) -> None:
    """What `pulumi config set KEY VALUE` (no --path, no secrets) writes into the stack's config."""
    words = shlex.split(command)
    assert words[:3] == ["pulumi", "config", "set"] and len(words) == 5, command
    key, value = words[3:]
    overrides[f"{PROJECT}:{key}"] = value


def test_each_switch_is_one_config_line_the_stack_settings_accept() -> None:
    rows = {row[0]: row for row in table_rows(section("Switches"))}
    assert list(rows) == SWITCHES
    for name, (_, command_cell, cost) in rows.items():
        [command] = re.findall(r"`(pulumi config set [^`]+)`", command_cell)
        overrides: dict[str, str] = {}
        apply_config_set(overrides, command)
        parse_settings(PROJECT, "dev", stack_config("dev", overrides=overrides))  # raises SettingsError if refused
        assert re.search(r"\$\d|nothing|cents", cost), (name, cost)


def amounts(cell: str) -> list[Decimal]:
    return [Decimal(amount.replace(",", "")) for amount in re.findall(r"\$(\d[\d,]*(?:\.\d+)?)", cell)]


@pytest.mark.parametrize(("title", "total_label"), [("Cost", "total a month"), ("What each stack costs at rest", "prod")])
def test_prods_monthly_total_is_the_sum_of_its_lines(title: str, total_label: str) -> None:
    rows = [row for row in table_rows(section(title).split("\n\n**", 1)[0]) if len(row) == 3]
    [total] = [row for row in rows if row[0] == f"**{total_label}**"]
    lines = [row for row in rows if not row[0].startswith("**")]
    added = sum((amounts(row[2])[-1] for row in lines if amounts(row[2])), Decimal(0))
    [stated] = amounts(total[2])
    assert len(lines) >= 5 and abs(added - stated) <= Decimal("0.5"), (added, stated)


def test_the_worked_turn_adds_up() -> None:
    rows = table_rows(section("Cost").split("**A turn**", 1)[1])
    *parts, total = rows
    added = sum((amounts(row[-1])[0] for row in parts), Decimal(0))
    [stated] = amounts(total[-1])
    assert abs(added - stated) / stated < Decimal("0.05"), (added, stated)
