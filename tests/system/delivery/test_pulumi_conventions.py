"""Pulumi's conventions hold: `pulumi install`, `pulumi new <repo URL>` and `pulumi up` before setup (issue 9).

The files are read the way the Pulumi CLI reads them:

- Pulumi.yaml is checked against the parts of Pulumi's own project-file schema
  (pulumi/pulumi sdk/go/common/workspace/project.json) that this project uses: `template` may hold
  only description, quickstart, important and config, each template config entry only
  description, default and secret; a config declaration only type, items, description, secret,
  default, value.
- The pip toolchain (pulumi/pulumi sdk/python/toolchain/pip.go) creates the `virtualenv` directory
  and runs `python -m pip install -r requirements.txt` in the project root and nothing else, so
  requirements.txt itself must name what the program imports, pinned like constraints.txt (pip
  honours a `-c` line inside a requirements file, relative to that file).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from stack_config.settings import PROJECT_CONFIG_KEYS, REGION_KEY, parse_settings

REPO_ROOT = Path(__file__).resolve().parents[3]
PROJECT_FILE = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())

# Transcribed from Pulumi's project.json (the subset this file uses).
CONFIG_DECLARATION = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "type": {"enum": ["string", "integer", "boolean", "array"]},
        "items": {"type": "object"},
        "description": {"type": "string"},
        "secret": {"type": "boolean"},
        "default": {},
        "value": {},
    },
}
PROJECT_SCHEMA = {
    "type": "object",
    "required": ["name", "runtime"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+$"},
        "description": {"type": ["string", "null"]},
        "runtime": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"name": {"type": "string", "minLength": 1}, "options": {"type": "object"}},
        },
        "config": {"type": "object", "additionalProperties": {"oneOf": [
            {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, CONFIG_DECLARATION]}},
        "template": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "description": {"type": ["string", "null"]},
                "quickstart": {"type": ["string", "null"]},
                "important": {"type": ["boolean", "null"]},
                "config": {"type": "object", "additionalProperties": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"description": {"type": ["string", "null"]}, "default": {},
                                   "secret": {"type": ["boolean", "null"]}},
                }},
            },
        },
    },
}


def test_the_project_file_matches_pulumis_schema() -> None:
    jsonschema.validate(PROJECT_FILE, PROJECT_SCHEMA)
    assert PROJECT_FILE["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}


def test_pulumi_new_prompts_for_the_region_and_model_with_working_defaults() -> None:
    template = PROJECT_FILE["template"]
    assert template["description"].strip() and "README" in template["quickstart"]
    prompts = template["config"]
    assert set(prompts) == {REGION_KEY, "modelId"}
    for key, prompt in prompts.items():
        assert prompt["description"].strip() and prompt["default"], key
        assert key == REGION_KEY or key in PROJECT_CONFIG_KEYS, f"{key} is not a setting the program reads"
    # A stack made by `pulumi new` with every default accepted passes the program's own checks.
    project = PROJECT_FILE["name"]
    values = {f"{project}:{key}": spec["default"] for key, spec in PROJECT_FILE["config"].items()}
    values.update({key if ":" in key else f"{project}:{key}": spec["default"] for key, spec in prompts.items()})
    settings = parse_settings(project, "dev", values)
    assert settings.region == prompts[REGION_KEY]["default"]


def requirement_lines(path: Path, constraints: list[Path], seen: set[Path] | None = None) -> list[Requirement]:
    """Requirements as pip reads the file: -r includes, -c constraint files, both relative to it."""
    seen = seen if seen is not None else set()
    if path in seen:
        return []
    seen.add(path)
    found: list[Requirement] = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r "):
            found += requirement_lines(path.parent / line[3:].strip(), constraints, seen)
        elif line.startswith("-c "):
            constraints.append(path.parent / line[3:].strip())
        else:
            assert not line.startswith("-"), f"{path.name}: option {line!r} is not expected here"
            found.append(Requirement(line))
    return found


def pins(path: Path) -> dict[str, str]:
    result = {}
    for requirement in requirement_lines(path, []):
        [specifier] = list(requirement.specifier)
        assert specifier.operator == "==", f"{requirement} is not pinned"
        result[canonicalize_name(requirement.name)] = specifier.version
    return result


def test_requirements_txt_is_what_pulumi_installs_and_agrees_with_the_pins() -> None:
    constraints: list[Path] = []
    requirements = requirement_lines(REPO_ROOT / "requirements.txt", constraints)
    # pip reads the -c line inside the file, so `pulumi install` pins everything the same way.
    assert constraints == [REPO_ROOT / "constraints.txt"]
    locked = pins(REPO_ROOT / "constraints.txt")
    for requirement in requirements:
        [specifier] = list(requirement.specifier)
        assert specifier.operator == "==", f"{requirement} is not pinned in requirements.txt"
        assert locked.get(canonicalize_name(requirement.name)) == specifier.version, (
            f"requirements.txt pins {requirement}, constraints.txt has {locked.get(canonicalize_name(requirement.name))}"
        )
    # dev.py setup installs the same program dependencies (requirements-dev.txt includes the file).
    assert set(pins(REPO_ROOT / "requirements.txt")) <= set(pins(REPO_ROOT / "requirements-dev.txt"))


# Import name -> distribution, for the third-party packages the Pulumi program imports.
DISTRIBUTIONS = {"pulumi": "pulumi", "pulumi_aws": "pulumi-aws", "pulumi_awsx": "pulumi-awsx",
                 "pulumi_random": "pulumi-random"}


# The program's own packages: the components, the configuration model they read, the build step that
# makes their zips and the package both deployables share (standard library only, nothing to install).
PROGRAM_PACKAGES = ("components", "stack_config", "packager", "streaming_shared")
OWN_PACKAGES = PROGRAM_PACKAGES


def program_imports() -> set[str]:
    modules: set[str] = set()
    own_modules = [path for package in PROGRAM_PACKAGES for path in sorted((REPO_ROOT / package).glob("*.py"))]
    for path in [REPO_ROOT / "__main__.py", *own_modules]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def test_requirements_txt_names_every_package_the_program_imports() -> None:
    import sys

    third_party = {m for m in program_imports() if m not in sys.stdlib_module_names and m not in OWN_PACKAGES}
    unknown = third_party - set(DISTRIBUTIONS)
    assert not unknown, f"the program imports {unknown}: add them to requirements.txt and DISTRIBUTIONS"
    installed = set(pins(REPO_ROOT / "requirements.txt"))
    for module in third_party:
        assert canonicalize_name(DISTRIBUTIONS[module]) in installed, f"requirements.txt lacks {DISTRIBUTIONS[module]}"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_use_only_declared_keys(stack: str) -> None:
    stack_file = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    project = PROJECT_FILE["name"]
    for key in stack_file["config"]:
        namespace, _, name = key.partition(":")
        assert namespace == "aws" or (namespace == project and name in PROJECT_FILE["config"]), key
    assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", stack_file["config"][REGION_KEY])
