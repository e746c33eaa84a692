"""The deployable zips: byte-for-byte reproducible, executable run.sh, arm64/cp313 wheels only.

Fast tests drive the generic zip writer on small synthetic trees. Tests marked ``slow`` run pip for
manylinux2014_aarch64 / cp313; they build into pytest's temporary folders, never into the
checkout's own .build/, and edit only copies of the source tree.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from packager import artifacts
from packager.artifacts import (
    RUNTIME_PYTHON,
    CodeZip,
    DependencyInstallError,
    agent_image_context,
    build_agent_zip,
    build_proxy_zip,
    build_zip,
    dependency_cache_key,
    install_dependencies,
    is_never_deployed,
    portable_console_scripts,
)
from packager.bytecode import pyc_name

REPO_ROOT = Path(__file__).resolve().parents[2]
# What CPython 3.13 writes, from its own source (Lib/importlib/_bootstrap_external.py: "Python 3.13
# ... 3571", the magic number followed by b"\r\n"; the cache tag is sys.implementation.cache_tag).
# Stated here, not taken from the packager, so that a wrong interpreter there cannot pass.
PYTHON_313_MAGIC = (3571).to_bytes(2, "little") + b"\r\n"
RUNTIME_CACHE_TAG = "cpython-313"
# PEP 552: the header's flags word; bit 0 = hash-based, bit 1 = check the source (off: unchecked).
UNCHECKED_HASH_FLAGS = 0b01
ELF_MAGIC = b"\x7fELF"
ELF_MACHINE_AARCH64 = 183
ELF_MACHINE_X86_64 = 62
# A small pure-Python wheel that the project's constraints already pin, so synthetic builds run the
# real pip path quickly.
SMALL_PINNED_REQUIREMENT = "six==1.17.0\n"


def slow_build(test: Callable[..., None]) -> Callable[..., None]:
    """Runs pip for aarch64: marked slow, and given room for a cold download on a busy runner
    (pytest-timeout counts the module fixture's build against the first test that uses it)."""
    return pytest.mark.slow(pytest.mark.timeout(600)(test))


def write_file(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def zip_modes(zip_path: Path) -> dict[str, int]:
    with zipfile.ZipFile(zip_path) as archive:
        return {
            info.filename: stat.S_IMODE(info.external_attr >> 16) for info in archive.infolist()
        }


def zip_names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def make_source_tree(root: Path, creation_order: list[str]) -> Path:
    contents = {
        "pkg/__init__.py": "VALUE = 1\n",
        "pkg/module.py": "def answer() -> int:\n    return 42\n",
        "pkg/data/table.json": '{"a": 1}\n',
        "tool.sh": "#!/bin/sh\necho hi\n",
    }
    for relative in creation_order:
        mode = 0o755 if relative.endswith(".sh") else 0o644
        write_file(root / relative, contents[relative], mode)
    return root


def make_synthetic_repo(root: Path) -> Path:
    """A miniature checkout with the layout the builders expect, plus files that must stay out."""
    write_file(root / "constraints.txt", SMALL_PINNED_REQUIREMENT)
    write_file(root / "agent/requirements.txt", SMALL_PINNED_REQUIREMENT)
    # The agent zip is built from its deploy requirements and its own lock, like the real one.
    write_file(root / "agent/requirements-deploy.txt", "-r requirements.txt\n")
    write_file(root / "agent/constraints.txt", SMALL_PINNED_REQUIREMENT)
    write_file(root / "agent/main.py", "from streaming_agent.app import app\n")
    write_file(root / "agent/streaming_agent/__init__.py", "")
    write_file(root / "agent/streaming_agent/app.py", "app = object()\n")
    write_file(root / "agent/streaming_agent/__pycache__/app.cpython-311.pyc", "bytecode")
    write_file(root / "agent/Dockerfile", "FROM scratch\n")
    write_file(root / "agent/.dockerignore", "*\n")
    write_file(root / "proxy/requirements.txt", SMALL_PINNED_REQUIREMENT)
    # Deliberately not executable on disk: the builder must still ship it as 0755.
    write_file(root / "proxy/run.sh", "#!/bin/bash\nexec python -m uvicorn app:app\n", 0o644)
    write_file(root / "proxy/streaming_proxy/__init__.py", "")
    write_file(root / "proxy/streaming_proxy/app.py", "app = object()\n")
    write_file(root / "proxy/README.md", "not deployed\n")
    # What both deployables share, at the repository root: each zip carries it at its own root.
    write_file(root / "streaming_shared/__init__.py", "")
    write_file(root / "streaming_shared/edge.py", "READY_PATH = '/_ready'\n")
    write_file(root / "streaming_shared/__pycache__/edge.cpython-311.pyc", "bytecode")
    return root


# --- the generic zip writer -------------------------------------------------------------------


def test_build_zip_gives_identical_bytes_for_identical_trees_whatever_their_history(
    tmp_path: Path,
) -> None:
    first_tree = make_source_tree(
        tmp_path / "first", ["pkg/__init__.py", "pkg/module.py", "pkg/data/table.json", "tool.sh"]
    )
    second_tree = make_source_tree(
        tmp_path / "second", ["tool.sh", "pkg/data/table.json", "pkg/module.py", "pkg/__init__.py"]
    )
    # Different modification times and locations must not leak into the archive.
    os.utime(second_tree / "pkg/module.py", (1_000_000_000, 1_000_000_000))

    first = build_zip([(first_tree, "")], tmp_path / "out/first.zip")
    second = build_zip([(second_tree, "")], tmp_path / "out/second.zip")
    again = build_zip([(first_tree, "")], tmp_path / "out/again.zip")

    assert first.path.read_bytes() == second.path.read_bytes() == again.path.read_bytes()
    assert first.sha256 == second.sha256 == again.sha256
    assert first.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert first.size == first.path.stat().st_size


def test_build_zip_entries_are_sorted_timeless_and_carry_fixed_permissions(tmp_path: Path) -> None:
    tree = make_source_tree(
        tmp_path / "tree", ["pkg/__init__.py", "pkg/module.py", "pkg/data/table.json", "tool.sh"]
    )
    write_file(tree / "pkg/private.py", "SECRET_MODE = 1\n", 0o600)
    built = build_zip([(tree, "")], tmp_path / "out.zip", executables={"pkg/module.py"})

    with zipfile.ZipFile(built.path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert not any(name.endswith("/") for name in names), "directories need no entries"
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.create_system == 3
        assert info.extra == b""
        assert stat.S_ISREG(info.external_attr >> 16)
    assert zip_modes(built.path) == {
        "pkg/__init__.py": 0o644,
        "pkg/data/table.json": 0o644,
        "pkg/module.py": 0o755,  # forced by `executables`
        "pkg/private.py": 0o644,  # owner-only on disk, normalised
        "tool.sh": 0o755,  # executable on disk
    }


def test_build_zip_places_files_and_directories_under_their_zip_names(tmp_path: Path) -> None:
    tree = make_source_tree(tmp_path / "tree", ["pkg/__init__.py", "tool.sh"])
    built = build_zip(
        [(tree / "tool.sh", "bin/start.sh"), (tree / "pkg", "vendored/pkg")], tmp_path / "out.zip"
    )
    assert zip_names(built.path) == ["bin/start.sh", "vendored/pkg/__init__.py"]
    with zipfile.ZipFile(built.path) as archive:
        assert archive.read("bin/start.sh") == b"#!/bin/sh\necho hi\n"


def test_build_zip_digest_follows_file_content(tmp_path: Path) -> None:
    tree = make_source_tree(tmp_path / "tree", ["pkg/__init__.py", "pkg/module.py"])
    before = build_zip([(tree, "")], tmp_path / "before.zip")
    (tree / "pkg/module.py").write_text("def answer() -> int:\n    return 43\n")
    after = build_zip([(tree, "")], tmp_path / "after.zip")
    assert before.sha256 != after.sha256


def test_build_zip_digest_follows_the_executable_bit(tmp_path: Path) -> None:
    tree = make_source_tree(tmp_path / "tree", ["tool.sh"])
    executable = build_zip([(tree, "")], tmp_path / "executable.zip")
    (tree / "tool.sh").chmod(0o644)
    plain = build_zip([(tree, "")], tmp_path / "plain.zip")
    assert executable.sha256 != plain.sha256


def test_build_zip_leaves_out_caches_and_pip_records_but_keeps_metadata(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write_file(tree / "pkg/__init__.py", "")
    write_file(tree / "pkg/__pycache__/__init__.cpython-313.pyc", "x")
    write_file(tree / "pkg/stale.pyc", "x")
    write_file(tree / "pkg/.DS_Store", "x")
    write_file(tree / "pkg-1.0.dist-info/METADATA", "Name: pkg\nVersion: 1.0\n")
    write_file(tree / "pkg-1.0.dist-info/RECORD", "pkg/__init__.py,,\n")
    write_file(tree / "pkg-1.0.dist-info/entry_points.txt", "")
    # Only the RECORD of a dist-info folder is pip's bookkeeping; a module of that name is code.
    write_file(tree / "pkg/RECORD", "data")

    built = build_zip([(tree, "")], tmp_path / "out.zip")
    assert zip_names(built.path) == [
        "pkg-1.0.dist-info/METADATA",
        "pkg-1.0.dist-info/entry_points.txt",
        "pkg/RECORD",
        "pkg/__init__.py",
    ]


def test_is_never_deployed_names_only_build_leftovers() -> None:
    assert is_never_deployed(PurePosixPath("a/__pycache__/b.cpython-313.pyc"))
    assert is_never_deployed(PurePosixPath("x-1.0.dist-info/RECORD"))
    assert not is_never_deployed(PurePosixPath("x-1.0.dist-info/METADATA"))
    assert not is_never_deployed(PurePosixPath("streaming_agent/app.py"))
    assert not is_never_deployed(PurePosixPath("main.py"))


def test_build_zip_refuses_two_sources_for_one_name(tmp_path: Path) -> None:
    ours = write_file(tmp_path / "ours/six.py", "ours = True\n")
    theirs = write_file(tmp_path / "theirs/six.py", "theirs = True\n")
    with pytest.raises(ValueError, match="six.py"):
        build_zip([(ours.parent, ""), (theirs.parent, "")], tmp_path / "out.zip")


def test_build_zip_names_a_missing_source(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.py"):
        build_zip([(tmp_path / "missing.py", "missing.py")], tmp_path / "out.zip")


def test_interrupted_build_zip_keeps_the_previous_zip_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = make_source_tree(tmp_path / "tree", ["pkg/__init__.py", "pkg/module.py"])
    output_dir = tmp_path / "out"
    previous = build_zip([(tree, "")], output_dir / "app.zip")
    previous_bytes = previous.path.read_bytes()

    copies = 0
    real_copy = shutil.copyfileobj

    def copy_then_fail(*args: object, **kwargs: object) -> None:
        nonlocal copies
        copies += 1
        if copies == 2:
            raise KeyboardInterrupt("simulated interruption")
        real_copy(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(artifacts.shutil, "copyfileobj", copy_then_fail)
    (tree / "pkg/module.py").write_text("changed = True\n")
    with pytest.raises(KeyboardInterrupt):
        build_zip([(tree, "")], output_dir / "app.zip")

    assert copies == 2
    assert (output_dir / "app.zip").read_bytes() == previous_bytes
    assert sorted(path.name for path in output_dir.iterdir()) == ["app.zip"]


# --- the dependency cache ---------------------------------------------------------------------


def test_dependency_cache_key_changes_with_requirements_and_constraints(tmp_path: Path) -> None:
    requirements = write_file(tmp_path / "requirements.txt", "six==1.17.0\n")
    constraints = write_file(tmp_path / "constraints.txt", "six==1.17.0\n")
    original = dependency_cache_key(requirements, constraints)
    assert dependency_cache_key(requirements, constraints) == original
    assert re.fullmatch(r"[0-9a-f]{64}", original)

    requirements.write_text("six==1.16.0\n")
    changed_requirements = dependency_cache_key(requirements, constraints)
    requirements.write_text("six==1.17.0\n")
    constraints.write_text("six==1.17.0\nidna==3.20\n")
    changed_constraints = dependency_cache_key(requirements, constraints)
    assert len({original, changed_requirements, changed_constraints}) == 3


def test_pip_failure_names_the_requirements_file_and_leaves_no_cache(tmp_path: Path) -> None:
    # A malformed line makes pip fail while parsing, before it contacts any index.
    requirements = write_file(
        tmp_path / "agent/requirements.txt", "this is not === a requirement\n"
    )
    constraints = write_file(tmp_path / "constraints.txt", "")
    cache_dir = tmp_path / "deps"

    with pytest.raises(DependencyInstallError) as raised:
        install_dependencies(requirements, constraints, cache_dir)

    message = str(raised.value)
    assert str(requirements) in message
    assert "this is not" in message, "pip's own output should be quoted"
    assert list(cache_dir.iterdir()) == [], "a failed install must not leave a cache entry"


def test_an_install_killed_midway_is_never_taken_for_a_cached_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requirements = write_file(tmp_path / "agent/requirements.txt", SMALL_PINNED_REQUIREMENT)
    constraints = write_file(tmp_path / "constraints.txt", SMALL_PINNED_REQUIREMENT)
    pip_targets: list[Path] = []

    def pip_killed_midway(command: list[str], **kwargs: object) -> None:
        target = Path(command[command.index("--target") + 1])
        (target / "half_installed.py").write_text("")
        pip_targets.append(target)
        raise KeyboardInterrupt("stands in for a SIGKILL")

    monkeypatch.setattr(artifacts.subprocess, "run", pip_killed_midway)
    # A killed build runs no cleanup code at all.
    monkeypatch.setattr(artifacts.shutil, "rmtree", lambda *args, **kwargs: None)
    for _attempt in range(2):
        with pytest.raises(KeyboardInterrupt):
            install_dependencies(requirements, constraints, tmp_path / "deps")

    assert len(pip_targets) == 2, "the half-filled folder of the first attempt was reused"
    assert all(target.name.startswith(".") for target in pip_targets), "pip used a staging folder"


@slow_build
def test_dependency_install_is_cached_and_rebuilt_when_requirements_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requirements = write_file(tmp_path / "proxy/requirements.txt", SMALL_PINNED_REQUIREMENT)
    constraints = write_file(tmp_path / "constraints.txt", SMALL_PINNED_REQUIREMENT)
    cache_dir = tmp_path / "deps"

    first = install_dependencies(requirements, constraints, cache_dir)
    assert (first / "six.py").is_file()
    assert first.name.startswith("proxy-")
    assert sorted(cache_dir.iterdir()) == [first], "no staging folder may remain"

    def pip_must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached dependency tree was installed again")

    monkeypatch.setattr(artifacts.subprocess, "run", pip_must_not_run)
    assert install_dependencies(requirements, constraints, cache_dir) == first
    monkeypatch.undo()

    requirements.write_text(SMALL_PINNED_REQUIREMENT + "# a changed file means a fresh install\n")
    second = install_dependencies(requirements, constraints, cache_dir)
    assert second != first
    assert (second / "six.py").is_file()


def test_portable_console_scripts_swap_only_the_build_machines_shebang(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    body = "# -*- coding: utf-8 -*-\nimport sys\nfrom pkg import run\nsys.exit(run())\n"
    write_file(tree / "bin/tool", f"#!{tmp_path}/venv/bin/python3.11\n{body}", 0o755)
    write_file(tree / "bin/other", "#!/somewhere/python\nprint()\n", 0o755)
    staging = tmp_path / "staging"
    staging.mkdir()

    sources = portable_console_scripts(tree, ["tool", "not-installed"], staging)

    assert [name for _, name in sources] == ["bin/tool"], "only requested, installed scripts"
    [(path, _)] = sources
    assert path.read_text() == f"#!/usr/bin/env python3\n{body}"
    assert str(tmp_path) not in path.read_text()


def test_portable_console_scripts_refuse_a_script_without_shebang(tmp_path: Path) -> None:
    write_file(tmp_path / "tree/bin/tool", "import sys\n", 0o755)
    with pytest.raises(ValueError, match="shebang"):
        portable_console_scripts(tmp_path / "tree", ["tool"], tmp_path)


def test_a_missing_agent_lock_fails_before_any_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_synthetic_repo(tmp_path / "repo")
    (repo / "agent/constraints.txt").unlink()

    def pip_must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran although the build could not succeed")

    monkeypatch.setattr(artifacts.subprocess, "run", pip_must_not_run)
    with pytest.raises(FileNotFoundError, match="constraints.txt"):
        build_agent_zip(repo, build_dir=tmp_path / "build")


# --- the builders on a synthetic checkout -----------------------------------------------------


@slow_build
def test_builders_ship_only_deployable_files_of_a_synthetic_checkout(tmp_path: Path) -> None:
    repo = make_synthetic_repo(tmp_path / "repo")
    build_dir = tmp_path / "build"

    proxy = build_proxy_zip(repo, build_dir=build_dir)
    agent = build_agent_zip(repo, build_dir=build_dir)

    assert proxy.path == build_dir / "proxy.zip"
    assert agent.path == build_dir / "agent.zip"
    proxy_names = set(zip_names(proxy.path))
    agent_names = set(zip_names(agent.path))
    shared = {"streaming_shared/__init__.py", "streaming_shared/edge.py"}
    expected_proxy = {"run.sh", "streaming_proxy/__init__.py", "streaming_proxy/app.py", "six.py", *shared}
    assert expected_proxy <= proxy_names
    assert zip_modes(proxy.path)["run.sh"] == 0o755
    expected_agent = {"main.py", "streaming_agent/__init__.py", "streaming_agent/app.py", "six.py", *shared}
    assert expected_agent <= agent_names
    for names in (proxy_names, agent_names):
        assert not {"requirements.txt", "Dockerfile", ".dockerignore", "README.md"} & names
        assert not any(name.startswith("bin/") for name in names)
        # The build machine's stale cpython-311 cache stays out; the runtime's own bytecode goes in.
        assert {name for name in names if "__pycache__" in name} == {
            pyc_name(name, RUNTIME_CACHE_TAG) for name in names if name.endswith(".py")
        }
        assert any(name.endswith(".dist-info/METADATA") for name in names)
        assert not any(name.endswith(".dist-info/RECORD") for name in names)
    assert (build_dir / "deps").is_dir(), "dependency trees are cached beside the zips by default"


@slow_build
def test_editing_a_synthetic_agent_source_changes_only_the_agent_digest(tmp_path: Path) -> None:
    repo = make_synthetic_repo(tmp_path / "repo")
    build_dir = tmp_path / "build"
    agent_before = build_agent_zip(repo, build_dir=build_dir)
    proxy_before = build_proxy_zip(repo, build_dir=build_dir)
    assert build_agent_zip(repo, build_dir=build_dir).sha256 == agent_before.sha256

    with (repo / "agent/streaming_agent/app.py").open("a") as source:
        source.write("# edited\n")
    assert build_agent_zip(repo, build_dir=build_dir).sha256 != agent_before.sha256
    assert build_proxy_zip(repo, build_dir=build_dir).sha256 == proxy_before.sha256


@slow_build
def test_editing_the_shared_package_changes_both_digests(tmp_path: Path) -> None:
    repo = make_synthetic_repo(tmp_path / "repo")
    build_dir = tmp_path / "build"
    agent_before = build_agent_zip(repo, build_dir=build_dir)
    proxy_before = build_proxy_zip(repo, build_dir=build_dir)

    with (repo / "streaming_shared/edge.py").open("a") as source:
        source.write("# edited\n")
    assert build_agent_zip(repo, build_dir=build_dir).sha256 != agent_before.sha256
    assert build_proxy_zip(repo, build_dir=build_dir).sha256 != proxy_before.sha256


# --- the agent image's Docker context ---------------------------------------------------------


def test_the_agent_image_context_holds_the_agent_and_the_shared_package(tmp_path: Path) -> None:
    repo = make_synthetic_repo(tmp_path / "repo")
    (repo / "agent/README.md").write_text("not in the image\n")
    image = agent_image_context(repo, build_dir=tmp_path / "build")
    context = image.context
    assert context.parent == tmp_path / "build" and context.name.startswith("agent-image-")
    files = sorted(path.relative_to(context).as_posix() for path in context.rglob("*") if path.is_file())
    assert files == [
        ".dockerignore", "Dockerfile", "constraints.txt", "main.py", "requirements-deploy.txt", "requirements.txt",
        "streaming_agent/__init__.py", "streaming_agent/app.py",
        "streaming_shared/__init__.py", "streaming_shared/edge.py",
    ]
    assert (context / "streaming_shared/edge.py").read_bytes() == (repo / "streaming_shared/edge.py").read_bytes()
    # The same tree gives the same context; an edit to either package gives a new one beside it.
    assert agent_image_context(repo, build_dir=tmp_path / "build") == image
    with (repo / "streaming_shared/edge.py").open("a") as source:
        source.write("# edited\n")
    edited = agent_image_context(repo, build_dir=tmp_path / "build")
    assert edited.context != context and "# edited" in (edited.context / "streaming_shared/edge.py").read_text()


def test_the_agent_image_context_names_a_missing_file(tmp_path: Path) -> None:
    repo = make_synthetic_repo(tmp_path / "repo")
    shutil.rmtree(repo / "streaming_shared")
    with pytest.raises(FileNotFoundError, match="streaming_shared"):
        agent_image_context(repo, build_dir=tmp_path / "build")
    assert not (tmp_path / "build").exists() or not any((tmp_path / "build").iterdir())


def test_a_missing_entry_point_fails_before_any_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_synthetic_repo(tmp_path / "repo")
    (repo / "agent/main.py").unlink()

    def pip_must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran although the build could not succeed")

    monkeypatch.setattr(artifacts.subprocess, "run", pip_must_not_run)
    with pytest.raises(FileNotFoundError, match="main.py"):
        build_agent_zip(repo, build_dir=tmp_path / "build")


# --- the real checkout ------------------------------------------------------------------------


@dataclass(frozen=True)
class RealBuilds:
    proxy: CodeZip
    agent: CodeZip
    build_dir: Path
    deps_cache_dir: Path


@pytest.fixture(scope="module")
def real_builds(tmp_path_factory: pytest.TempPathFactory) -> RealBuilds:
    """Both zips of the real checkout, built once into a temporary folder (never into .build/).

    The dependency trees come from the checkout's own cache (.build/deps, keyed by the pip inputs and
    the platform, as `pulumi up` uses it): the pip step itself is tested on a synthetic checkout above.
    """
    build_dir = tmp_path_factory.mktemp("real-build")
    deps_cache_dir = REPO_ROOT / ".build" / "deps"
    return RealBuilds(
        proxy=build_proxy_zip(REPO_ROOT, build_dir=build_dir, deps_cache_dir=deps_cache_dir),
        agent=build_agent_zip(REPO_ROOT, build_dir=build_dir, deps_cache_dir=deps_cache_dir),
        build_dir=build_dir,
        deps_cache_dir=deps_cache_dir,
    )


def native_libraries(zip_path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, first bytes) of every shared object or other ELF file in the zip."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            with archive.open(info) as member:
                head = member.read(20)
            if head.startswith(ELF_MAGIC) or re.search(r"\.so(\.|$)", info.filename):
                yield info.filename, head


def assert_only_arm64_cpython313_binaries(zip_path: Path) -> int:
    libraries = list(native_libraries(zip_path))
    for name, head in libraries:
        file_name = PurePosixPath(name).name
        assert "x86_64" not in name and "amd64" not in name, name
        extension_tag = re.search(r"\.(cpython-\d+[^.]*|abi3)\.so$", file_name)
        if extension_tag and extension_tag.group(1) != "abi3":
            assert extension_tag.group(1) == "cpython-313-aarch64-linux-gnu", name
        # File names can lie (abi3 names carry no architecture); the ELF header cannot.
        assert head.startswith(ELF_MAGIC), f"{name} is named like a library but is not ELF"
        machine = int.from_bytes(head[18:20], "little")
        assert machine == ELF_MACHINE_AARCH64, f"{name} is built for ELF machine {machine}"
    return len(libraries)


@slow_build
def test_real_zips_are_identical_when_built_twice(real_builds: RealBuilds, tmp_path: Path) -> None:
    # Rebuild into another folder, reusing the cached dependency trees but none of the compiled
    # bytecode: the output location, file times and a second compilation must not matter.
    fresh_cache = tmp_path / "deps"
    fresh_cache.mkdir()
    for tree in real_builds.deps_cache_dir.iterdir():
        if tree.name.startswith(("proxy-", "agent-")):
            (fresh_cache / tree.name).symlink_to(tree)
    proxy_again = build_proxy_zip(REPO_ROOT, build_dir=tmp_path, deps_cache_dir=fresh_cache)
    agent_again = build_agent_zip(REPO_ROOT, build_dir=tmp_path, deps_cache_dir=fresh_cache)
    assert (fresh_cache / "bytecode").is_dir(), "the second build compiled its own bytecode"
    assert proxy_again.sha256 == real_builds.proxy.sha256
    assert agent_again.sha256 == real_builds.agent.sha256
    assert proxy_again.path.read_bytes() == real_builds.proxy.path.read_bytes()
    assert agent_again.path.read_bytes() == real_builds.agent.path.read_bytes()


SHARED_MODULES = sorted(
    f"streaming_shared/{path.name}" for path in (REPO_ROOT / "streaming_shared").glob("*.py")
)


@slow_build
def test_both_real_zips_carry_the_shared_package_at_their_root(real_builds: RealBuilds) -> None:
    assert "streaming_shared/edge.py" in SHARED_MODULES and "streaming_shared/jsonlog.py" in SHARED_MODULES
    for built in (real_builds.proxy, real_builds.agent):
        names = set(zip_names(built.path))
        assert set(SHARED_MODULES) <= names, built.path.name
        with zipfile.ZipFile(built.path) as archive:
            for name in SHARED_MODULES:
                assert archive.read(name) == (REPO_ROOT / name).read_bytes(), name
        # One copy: the deployables' own packages hold no edge or log module of their own.
        assert not {"streaming_proxy/edge.py", "streaming_proxy/jsonlog.py", "streaming_agent/jsonlog.py"} & names


@slow_build
def test_real_proxy_zip_starts_with_an_executable_run_sh(real_builds: RealBuilds) -> None:
    modes = zip_modes(real_builds.proxy.path)
    assert modes["run.sh"] == 0o755
    names = set(modes)
    assert "streaming_proxy/__init__.py" in names
    # run.sh starts `python -m uvicorn`, so uvicorn and h11 (the client to AgentCore too) must be at the zip root.
    assert {"uvicorn/__init__.py", "starlette/__init__.py", "h11/__init__.py"} <= names
    # The proxy signs and reads credentials itself: no AWS SDK in its zip (README, Performance).
    assert not any(name.startswith(("boto3/", "botocore/")) for name in names)
    assert "requirements.txt" not in names
    assert not any(name.startswith(("tests/", "bin/")) for name in names)


@slow_build
@pytest.mark.parametrize("artifact", ["proxy", "agent"])
def test_real_zip_holds_only_arm64_cpython313_binaries(
    real_builds: RealBuilds, artifact: str
) -> None:
    built: CodeZip = getattr(real_builds, artifact)
    count = assert_only_arm64_cpython313_binaries(built.path)
    if artifact == "agent":
        # pydantic-core, cryptography and friends are native: finding none would mean the check
        # looked at the wrong thing.
        assert count > 0


@slow_build
def test_real_agent_zip_has_its_entry_point_at_the_root(
    real_builds: RealBuilds, tmp_path: Path
) -> None:
    with zipfile.ZipFile(real_builds.agent.path) as archive:
        assert archive.testzip() is None
        archive.extractall(tmp_path)
    names = set(zip_names(real_builds.agent.path))
    assert not {"Dockerfile", ".dockerignore", "requirements.txt", "requirements-deploy.txt", "constraints.txt"} & names
    assert (tmp_path / "main.py").is_file()

    # Importable from the zip root as AgentCore runs it: the package and its dependencies are
    # found there. Only looked up, not executed, because the native wheels are for aarch64.
    for module in ("streaming_agent", "streaming_shared", "strands", "bedrock_agentcore", "tzdata"):
        spec = importlib.machinery.PathFinder.find_spec(module, [str(tmp_path)])
        assert spec is not None and spec.origin is not None, module
        assert Path(spec.origin).is_relative_to(tmp_path), module
    assert (tmp_path / "streaming_agent/__init__.py").is_file()
    # The shared modules (standard library only) import from the zip root alone, as the agent imports them.
    modules = [name.removesuffix(".py").replace("/", ".").removesuffix(".__init__") for name in SHARED_MODULES]
    shared = subprocess.run(
        [sys.executable, "-I", "-c", "import importlib, json, sys; sys.path[:0] = [sys.argv[1]]; "
         "print(json.dumps([importlib.import_module(m).__file__ for m in sys.argv[2:]]))",
         str(tmp_path), *modules],
        capture_output=True, text=True, check=True,
    )
    files = json.loads(shared.stdout)
    assert len(files) == len(SHARED_MODULES) and all(Path(path).is_relative_to(tmp_path) for path in files)
    # The current_time tool's time zones travel with the agent (zoneinfo's fallback), whatever the image has.
    assert (tmp_path / "tzdata/zoneinfo/Europe/Paris").is_file()

    # Package metadata still works without pip's RECORD: versions and entry points are read
    # from METADATA and entry_points.txt.
    distributions = {
        distribution.metadata["Name"].lower(): distribution
        for distribution in importlib.metadata.distributions(path=[str(tmp_path)])
    }
    assert distributions["strands-agents"].version == "1.62.0"
    assert distributions["bedrock-agentcore"].version == "1.25.0"
    assert distributions["opentelemetry-sdk"].entry_points, "opentelemetry finds its SDK this way"


@slow_build
def test_real_agent_zip_carries_adot_at_its_locked_versions(
    real_builds: RealBuilds, tmp_path: Path
) -> None:
    with zipfile.ZipFile(real_builds.agent.path) as archive:
        archive.extractall(tmp_path)
    distributions = {
        re.sub(r"[-_.]+", "-", distribution.metadata["Name"]).lower(): distribution
        for distribution in importlib.metadata.distributions(path=[str(tmp_path)])
    }
    assert distributions["aws-opentelemetry-distro"].version == "0.21.0"
    # Every installed distribution is exactly what agent/constraints.txt pins, and nothing is
    # installed that the lock does not name.
    lock = {}
    for line in (REPO_ROOT / "agent/constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.strip().split("==")
            lock[re.sub(r"[-_.]+", "-", name).lower()] = version
    installed = {name: distribution.version for name, distribution in distributions.items()}
    assert installed == lock

    # The environment components/agent_runtime.py sets must name entry points that exist here,
    # or opentelemetry-instrument would start without the AWS distro and configurator.
    from components.agent_runtime import ADOT_ENVIRONMENT

    distro = distributions["aws-opentelemetry-distro"]
    entry_points = {(point.group, point.name) for point in distro.entry_points}
    assert ("opentelemetry_distro", ADOT_ENVIRONMENT["OTEL_PYTHON_DISTRO"]) in entry_points
    assert ("opentelemetry_configurator", ADOT_ENVIRONMENT["OTEL_PYTHON_CONFIGURATOR"]) in entry_points
    spec = importlib.machinery.PathFinder.find_spec("amazon", [str(tmp_path)])
    assert spec is not None

    # The entry point's first element ships in the zip: executable, with a shebang that resolves
    # on the target rather than the build machine's interpreter path, running ADOT's launcher.
    script = tmp_path / "bin/opentelemetry-instrument"
    assert zip_modes(real_builds.agent.path)["bin/opentelemetry-instrument"] == 0o755
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env python3\n")
    assert "from opentelemetry.instrumentation.auto_instrumentation import run" in text
    # No other console script slipped in with it.
    assert [name for name in zip_names(real_builds.agent.path) if name.startswith("bin/")] == [
        "bin/opentelemetry-instrument"
    ]


@slow_build
def test_editing_an_agent_source_in_a_copy_changes_the_agent_digest(
    real_builds: RealBuilds, tmp_path: Path
) -> None:
    copy_root = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    shutil.copytree(REPO_ROOT / "agent", copy_root / "agent", ignore=ignore)
    shutil.copytree(REPO_ROOT / "streaming_shared", copy_root / "streaming_shared", ignore=ignore)
    shutil.copy2(REPO_ROOT / "constraints.txt", copy_root / "constraints.txt")
    options = {"build_dir": tmp_path / "build", "deps_cache_dir": real_builds.deps_cache_dir}

    unchanged = build_agent_zip(copy_root, **options)
    assert unchanged.sha256 == real_builds.agent.sha256, "the checkout's location must not matter"

    edited_source = sorted((copy_root / "agent/streaming_agent").glob("*.py"))[0]
    with edited_source.open("a") as source:
        source.write("\n# an edit that must reach AgentCore\n")
    edited = build_agent_zip(copy_root, **options)
    assert edited.sha256 != unchanged.sha256


@slow_build
def test_command_line_prints_size_and_digest_of_each_zip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_synthetic_repo(tmp_path / "repo")
    assert artifacts.main(["--repo-root", str(repo)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["artifact=proxy", "artifact=agent"]
    for line, zip_name in zip(lines, ["proxy.zip", "agent.zip"]):
        fields = dict(field.split("=", 1) for field in line.split())
        zip_path = repo / ".build" / zip_name
        assert Path(fields["path"]) == zip_path
        assert int(fields["zip_bytes"]) == zip_path.stat().st_size
        assert fields["sha256"] == hashlib.sha256(zip_path.read_bytes()).hexdigest()
        assert int(fields["files"]) == len(zip_names(zip_path))


def test_command_line_reports_a_broken_checkout_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_synthetic_repo(tmp_path / "repo")
    (repo / "proxy/run.sh").unlink()
    assert artifacts.main(["--repo-root", str(repo), "--only", "proxy"]) == 1
    assert "run.sh" in capsys.readouterr().err


# --- bytecode for the runtime's Python --------------------------------------------------------


@pytest.fixture(scope="module")
def runtime_python() -> Path:
    """A CPython 3.13 on this machine, found as the packager finds it (CI and dev.py set one up)."""
    compiler = artifacts.find_bytecode_compiler()
    if compiler is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide python3.13 (.ci/run installs it)")
        pytest.skip("no python3.13 on this machine")
    return compiler.executable


def pyc_headers(zip_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(zip_path) as archive:
        return {name: archive.read(name)[:16] for name in archive.namelist() if name.endswith(".pyc")}


@slow_build
@pytest.mark.parametrize("artifact", ["proxy", "agent"])
def test_real_zip_carries_unchecked_hash_bytecode_of_python_313_for_every_module(
    real_builds: RealBuilds, artifact: str, runtime_python: Path
) -> None:
    built: CodeZip = getattr(real_builds, artifact)
    assert built.bytecode_tag == RUNTIME_CACHE_TAG
    names = zip_names(built.path)
    sources = [name for name in names if name.endswith(".py")]
    headers = pyc_headers(built.path)
    # One .pyc where the import system looks for it, beside every module and for nothing else.
    assert set(headers) == {pyc_name(name, RUNTIME_CACHE_TAG) for name in sources}
    # A floor, so an empty zip cannot pass: the proxy's (no AWS SDK) holds about 190 modules.
    assert len(headers) > {"proxy": 150, "agent": 300}[artifact]
    for name, header in headers.items():
        assert header[:4] == PYTHON_313_MAGIC, name
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH_FLAGS, name


@slow_build
def test_real_bytecode_holds_the_hash_of_its_source_and_no_build_path(
    real_builds: RealBuilds, runtime_python: Path, tmp_path: Path
) -> None:
    # Python 3.13 itself computes each source's hash (importlib.util.source_hash is keyed by the
    # running interpreter's magic number): a checked import would accept every shipped .pyc.
    with zipfile.ZipFile(real_builds.proxy.path) as archive:
        archive.extractall(tmp_path)
    check = (
        "import importlib.util, json, pathlib, sys\n"
        "root = pathlib.Path(sys.argv[1]); wrong = []\n"
        "for source in root.rglob('*.py'):\n"
        "    pyc = pathlib.Path(importlib.util.cache_from_source(str(source)))\n"
        "    if pyc.read_bytes()[8:16] != importlib.util.source_hash(source.read_bytes()):\n"
        "        wrong.append(str(source))\n"
        "print(json.dumps(wrong))\n"
    )
    completed = subprocess.run(
        [str(runtime_python), "-I", "-c", check, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert json.loads(completed.stdout) == []
    for pyc in tmp_path.rglob("*.pyc"):
        assert str(REPO_ROOT).encode() not in pyc.read_bytes(), f"{pyc} names the build machine's checkout"


# Run by Python 3.13 in the extracted zip: imports what run.sh imports before it is ready, and
# reports every source the import system compiled (audit event "compile" raised from importlib's
# own frames; anyio also compiles its own source to an AST at import, which is not bytecode).
COLD_IMPORT = """
import json, os, sys
root = os.getcwd()
compiled_by_import = []
def watch(event, args):
    if event == "compile" and isinstance(args[1], str) and args[1].startswith(root):
        if sys._getframe(1).f_code.co_filename.startswith("<frozen importlib"):
            compiled_by_import.append(args[1])
sys.addaudithook(watch)
import streaming_proxy.app, streaming_proxy.upstream, uvicorn.main
assert "botocore" not in sys.modules
assert sys.modules["streaming_shared.edge"].__file__.startswith(root)
modules = [module for module in list(sys.modules.values()) if (getattr(module, "__file__", None) or "").startswith(root)]
print(json.dumps({"compiled": compiled_by_import, "modules": len(modules),
                  "from_bytecode": sum(1 for module in modules if module.__spec__.cached and os.path.exists(module.__spec__.cached))}))
"""


@slow_build
def test_a_cold_import_from_the_read_only_proxy_zip_compiles_nothing_and_writes_nothing(
    real_builds: RealBuilds, runtime_python: Path, tmp_path: Path
) -> None:
    code_dir = tmp_path / "task"
    with zipfile.ZipFile(real_builds.proxy.path) as archive:
        archive.extractall(code_dir)
    before = sorted(path.relative_to(code_dir) for path in code_dir.rglob("*"))
    # Read-only like Lambda's /var/task (the test runs as root, for whom modes do not stop writes,
    # so the listing below is compared as well).
    for path in [code_dir, *code_dir.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        completed = subprocess.run(
            [str(runtime_python), "-s", "-c", COLD_IMPORT], cwd=code_dir, capture_output=True, text=True,
            env={"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1"}, check=True,
        )
    finally:
        for path in [code_dir, *code_dir.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["compiled"] == [], "these modules were compiled at import: their .pyc is missing or unused"
    assert report["modules"] > 60  # about 80 modules from the zip are imported before the proxy is ready
    assert report["from_bytecode"] == report["modules"]
    assert sorted(path.relative_to(code_dir) for path in code_dir.rglob("*")) == before


def test_the_container_image_compiles_its_bytecode_after_each_install_and_copy() -> None:
    # The container artifact has no zip to carry .pyc: the image compiles them with its own 3.13,
    # after pip installed the dependencies and after the agent's code was copied in.
    lines = [line.strip() for line in (REPO_ROOT / "agent/Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    compile_steps = [index for index, line in enumerate(instructions) if "-m compileall" in line]
    pip_install = next(index for index, line in enumerate(instructions) if line.startswith("RUN pip install"))
    last_copy = max(index for index, line in enumerate(instructions) if line.startswith("COPY"))
    assert len(compile_steps) == 2
    assert pip_install < compile_steps[0] < last_copy < compile_steps[1]
    assert 'get_path("purelib")' in instructions[compile_steps[0]]
    assert instructions[compile_steps[1]].endswith(" /app")
    assert all("--invalidation-mode unchecked-hash" in instructions[index] for index in compile_steps)
    assert instructions[0].startswith("FROM") and "python:3.13" in instructions[0]


def test_the_container_image_copies_the_shared_package_beside_the_agent() -> None:
    # The context (agent_image_context) carries streaming_shared/ at its root; the image puts it
    # beside main.py and streaming_agent/ in /app, as the code zip has it at its root.
    lines = [line.strip() for line in (REPO_ROOT / "agent/Dockerfile").read_text().splitlines()]
    copies = [line.split()[-2:] for line in lines if line.startswith("COPY")]
    assert ["streaming_agent", "./streaming_agent"] in copies
    assert ["streaming_shared", "./streaming_shared"] in copies
    ignored = (REPO_ROOT / "agent/.dockerignore").read_text().splitlines()
    assert not any(line.strip().startswith("streaming_shared") for line in ignored)


def test_every_copy_source_of_the_dockerfile_is_inside_the_agent_image_context(tmp_path: Path) -> None:
    # Docker's builder reads only its context: a COPY source must be a path inside it (the Dockerfile
    # reference, COPY). The image's context is the packager's copy, which holds every source the
    # Dockerfile copies, the shared package included.
    context = agent_image_context(REPO_ROOT, build_dir=tmp_path).context
    lines = [line.strip() for line in (context / "Dockerfile").read_text().splitlines()]
    sources = [
        source
        for line in lines if line.startswith("COPY") and "--from" not in line
        for source in [word for word in line.split()[1:] if not word.startswith("--")][:-1]
    ]
    assert "streaming_shared" in sources and "streaming_agent" in sources
    for source in sources:
        path = (context / source).resolve()
        assert path.is_relative_to(context.resolve()) and path.exists(), source
