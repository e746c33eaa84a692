"""Deterministic deployable zips for the proxy Lambda and the AgentCore code runtime.

The same source tree must always produce the same zip bytes, so that an unchanged tree gives no
Pulumi diff and a changed one always yields a new content hash (AgentCore does not notice a new zip
uploaded under an old S3 key). Pulumi's own directory archives are not used because they drop the
exec bit that Lambda Web Adapter needs on ``run.sh``.

Run ``python -m packager.artifacts`` to build both zips and print their sizes and digests.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packager.bytecode import (
    BYTECODE_PYTHON_VARIABLE,
    BytecodeCompiler,
    BytecodeCompilerError,
    compiled_bytecode,
    find_compiler,
    runtime_version_name,
    sources_key,
)
from packager.cache import staged_tree

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent

# Both deployment targets run CPython 3.13 on Graviton (Lambda python3.13 arm64, AgentCore
# PYTHON_3_13 arm64): the wheels pip picks and the bytecode shipped beside the sources are for it.
RUNTIME_PYTHON = (3, 13)
RUNTIME_PYTHON_VERSION = runtime_version_name(RUNTIME_PYTHON)  # "3.13"
RUNTIME_PYTHON_NAME = f"python{RUNTIME_PYTHON_VERSION}"
# The managed runtimes' identifiers for that version: the .pyc shipped must match what runs them.
LAMBDA_PYTHON_RUNTIME = RUNTIME_PYTHON_NAME  # aws.lambda_.Function runtime "python3.13"
AGENTCORE_PYTHON_RUNTIME = "PYTHON_{}_{}".format(*RUNTIME_PYTHON)  # code_configuration runtime
DEPLOYED_PIP_PLATFORM = "manylinux2014_aarch64"


def target_platform_args(pip_platform: str = DEPLOYED_PIP_PLATFORM) -> tuple[str, ...]:
    # --only-binary keeps pip from compiling an sdist for the build machine.
    return (
        "--platform",
        pip_platform,
        "--implementation",
        "cp",
        "--python-version",
        RUNTIME_PYTHON_VERSION,
        "--only-binary=:all:",
    )


# AgentCore's documented wrapper for ADOT auto-instrumentation (aws-opentelemetry-distro).
AGENT_INSTRUMENTATION_COMMAND = "opentelemetry-instrument"

# The earliest time a zip header can hold; any fixed value works, this one is conventional.
FIXED_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
COMPRESSION_LEVEL = 9
REGULAR_FILE_MODE = 0o644
EXECUTABLE_FILE_MODE = 0o755
# "Made by Unix" so that unzip tools and Lambda honour the permission bits in external_attr,
# whatever system the zip is built on.
UNIX_CREATE_SYSTEM = 3
PIP_OUTPUT_LINES_IN_ERROR = 30

# (file or directory on disk, its name inside the zip; "" puts a directory's contents at the root)
ZipSource = tuple[Path, str]


@dataclass(frozen=True)
class CodeZip:
    """A built zip: what Lambda and AgentCore's code deployment take."""

    path: Path  # zip file on disk, under <repo>/.build/ (gitignored)
    sha256: str  # hex digest of the zip bytes
    size: int
    # The cache tag of the .pyc it carries ("cpython-313"), or None when it ships sources only.
    bytecode_tag: str | None = None


@dataclass(frozen=True)
class ContainerImage:
    """An arm64 image Pulumi builds (awsx.ecr.Image) from this Docker context, which holds a Dockerfile."""

    context: Path


# What both deployables share (the HTTP edge contract, the JSON log format, ...): a top-level
# package at the root of both zips and of the agent's image, imported as `streaming_shared.<module>`
# there as from the repository root.
SHARED_PACKAGE = "streaming_shared"
# The agent image's Docker context: the Dockerfile, what it copies, and the shared package. Docker
# reads nothing outside its context (nor through a link out of it), so the context is a copy of
# these under .build/, named after its content (an unchanged tree reuses it, as the dependency trees).
AGENT_IMAGE_FILES: tuple[str, ...] = (
    "Dockerfile",
    ".dockerignore",
    "main.py",
    "requirements.txt",
    "requirements-deploy.txt",
    "constraints.txt",
    "streaming_agent",
)


def shared_package_source(repo_root: Path) -> ZipSource:
    return (repo_root / SHARED_PACKAGE, SHARED_PACKAGE)


# What the agent runtime runs: a code zip on the managed Python runtime, or a container image.
AgentArtifact = CodeZip | ContainerImage


class DependencyInstallError(RuntimeError):
    """pip could not install a requirements file for the deployment platform."""


def is_never_deployed(relative_path: PurePosixPath) -> bool:
    """Files that never run on the target: bytecode caches and build-machine leftovers.

    ``*.dist-info/RECORD`` is dropped because it lists hashes of the console scripts, whose shebang
    is the build machine's interpreter path, so it differs between a laptop and CI. Nothing at
    runtime needs it: ``importlib.metadata`` reads METADATA and entry_points.txt, and ``files()``
    simply returns None without RECORD. The rest of dist-info stays, so ``version()`` and entry
    points keep working (opentelemetry and strands read them).
    """
    parts = relative_path.parts
    if "__pycache__" in parts or ".pytest_cache" in parts:
        return True
    if relative_path.suffix in {".pyc", ".pyo"} or relative_path.name == ".DS_Store":
        return True
    return (
        relative_path.name == "RECORD"
        and len(parts) >= 2
        and parts[-2].endswith(".dist-info")
    )


def _walk_files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for directory, subdirectories, files in os.walk(root):
        subdirectories.sort()
        for file_name in sorted(files):
            yield Path(directory, file_name)


def _collect_entries(
    sources: Sequence[ZipSource],
    exclude: Callable[[PurePosixPath], bool],
) -> dict[str, Path]:
    entries: dict[str, Path] = {}
    for source_path, zip_name in sources:
        if not source_path.exists():
            raise FileNotFoundError(f"artifact source is missing: {source_path}")
        for file_path in _walk_files(source_path):
            if source_path.is_file():
                relative = PurePosixPath(source_path.name)
                arcname = PurePosixPath(zip_name) if zip_name else relative
            else:
                relative = PurePosixPath(file_path.relative_to(source_path).as_posix())
                arcname = PurePosixPath(zip_name, relative) if zip_name else relative
            if exclude(arcname):
                continue
            name = arcname.as_posix()
            # A dependency shipping a top-level module with one of our names would silently
            # shadow our code (or vice versa); refuse instead of guessing which one wins.
            if name in entries:
                raise ValueError(
                    f"two sources both provide {name!r}: {entries[name]} and {file_path}"
                )
            entries[name] = file_path
    return entries


def _zip_info(arcname: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=FIXED_ZIP_TIMESTAMP)
    info.create_system = UNIX_CREATE_SYSTEM
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _file_mode(file_path: Path, arcname: str, executables: Collection[str]) -> int:
    # run.sh is forced executable: a checkout on Windows, or a copy tool, may have lost its bit.
    if arcname in executables:
        return EXECUTABLE_FILE_MODE
    if file_path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        return EXECUTABLE_FILE_MODE
    return REGULAR_FILE_MODE


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_zip(
    sources: Sequence[ZipSource],
    destination: Path,
    *,
    executables: Collection[str] = (),
    exclude: Callable[[PurePosixPath], bool] = is_never_deployed,
) -> CodeZip:
    """Zip ``sources`` into ``destination`` so that equal inputs always give equal bytes.

    Entries are sorted by name, carry a fixed timestamp, 0644 or 0755 permissions (0755 when the
    file was executable or its zip name is in ``executables``) and no extra fields; directories
    get no entries of their own. The zip is written to a temporary file and renamed into place,
    so an interrupted build never leaves a truncated zip behind.
    """
    entries = _collect_entries(sources, exclude)
    destination.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary_name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent
    )
    temporary_path = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "wb") as raw_file, zipfile.ZipFile(
            raw_file, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESSION_LEVEL
        ) as archive:
            for arcname in sorted(entries):
                file_path = entries[arcname]
                info = _zip_info(arcname, _file_mode(file_path, arcname, executables))
                with file_path.open("rb") as source_file, archive.open(info, "w") as target:
                    shutil.copyfileobj(source_file, target, 1 << 20)
        # mkstemp creates the file 0600; a build artifact is meant to be readable like any other.
        os.chmod(temporary_path, REGULAR_FILE_MODE)
        os.replace(temporary_path, destination)
    except BaseException:
        temporary_path.unlink(missing_ok=True)
        raise
    return CodeZip(
        path=destination, sha256=sha256_of_file(destination), size=destination.stat().st_size
    )


def requirement_files(requirements: Path) -> list[Path]:
    """``requirements`` and every file it pulls in with ``-r``/``-c`` (recursively), in order.

    The agent's deploy requirements include its runtime requirements with ``-r``; a change to the
    included file must change the cache key just as a change to the including one does.
    """
    files: list[Path] = []
    pending = [requirements]
    while pending:
        current = pending.pop(0)
        if current in files:
            continue  # included twice, or a cycle: pip would read it once too
        files.append(current)
        for line in current.read_text().splitlines():
            option, _, argument = line.strip().partition(" ")
            if option in {"-r", "--requirement", "-c", "--constraint"} and argument.strip():
                pending.append(current.parent / argument.strip())
    return files


def dependency_cache_key(requirements: Path, constraints: Path, pip_platform: str = DEPLOYED_PIP_PLATFORM) -> str:
    digest = hashlib.sha256()
    for part in (*(path.read_bytes() for path in requirement_files(requirements)), constraints.read_bytes()):
        # Length-prefix each part so that moving bytes from one file to the other changes the key.
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    digest.update("\0".join(target_platform_args(pip_platform)).encode())
    return digest.hexdigest()


def _pip_install_command(requirements: Path, constraints: Path, target: Path, pip_platform: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        # pip would compile with the build machine's Python, whose bytecode the runtime ignores;
        # packager/bytecode.py compiles with the runtime's own version instead.
        "--no-compile",
        *target_platform_args(pip_platform),
        "--target",
        str(target),
        "-r",
        str(requirements),
        "-c",
        str(constraints),
    ]


def install_dependencies(
    requirements: Path, constraints: Path, cache_dir: Path, pip_platform: str = DEPLOYED_PIP_PLATFORM
) -> Path:
    """Install ``requirements`` for the deployment platform into a cached directory and return it.

    The directory is named after a hash of the requirements file, the constraints file and the
    platform arguments, so an unchanged input reuses it and any change installs afresh. pip works
    in a temporary sibling that is renamed into place only after it succeeds.
    """
    name = f"{requirements.parent.name}-{dependency_cache_key(requirements, constraints, pip_platform)}"
    cached_tree = cache_dir / name
    if cached_tree.is_dir():
        logger.info("dependency cache hit: %s", cached_tree)
        return cached_tree
    with staged_tree(cached_tree) as staging:
        logger.info("installing %s for %s", requirements, " ".join(target_platform_args(pip_platform)))
        completed = subprocess.run(
            _pip_install_command(requirements, constraints, staging, pip_platform),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            last_lines = "\n".join(completed.stdout.splitlines()[-PIP_OUTPUT_LINES_IN_ERROR:])
            raise DependencyInstallError(
                f"pip could not install {requirements} (exit code {completed.returncode}); "
                f"last lines of its output:\n{last_lines}"
            )
    return cached_tree


def exclude_from_dependency_tree(relative_path: PurePosixPath) -> bool:
    # Console scripts in bin/ carry the build machine's interpreter in their shebang and cannot run
    # on the target; run.sh starts uvicorn with `python -m` instead. The few scripts a target does
    # run are re-added by portable_console_scripts with a portable shebang.
    if relative_path.parts[:1] == ("bin",):
        return True
    return is_never_deployed(relative_path)


PORTABLE_SHEBANG = "#!/usr/bin/env python3"


def portable_console_scripts(
    dependency_tree: Path, names: Collection[str], staging_dir: Path
) -> list[ZipSource]:
    """Copies of ``bin/<name>`` with the build machine's shebang replaced by a portable one.

    pip writes its own interpreter path (e.g. /work/main/.venv/bin/python) into the first line,
    which exists on no target and differs between a laptop and CI; the rest of the script only
    imports the entry point, so swapping that one line keeps it working and reproducible.
    Scripts that the requirements did not install are skipped.
    """
    sources: list[ZipSource] = []
    for name in sorted(names):
        installed = dependency_tree / "bin" / name
        if not installed.is_file():
            continue
        first_line, separator, rest = installed.read_text().partition("\n")
        if not first_line.startswith("#!"):
            raise ValueError(f"console script {installed} has no shebang line")
        portable = staging_dir / name
        portable.write_text(f"{PORTABLE_SHEBANG}{separator}{rest}")
        sources.append((portable, f"bin/{name}"))
    return sources


def find_bytecode_compiler() -> BytecodeCompiler | None:
    """The runtime's Python on this machine (see packager/bytecode.py), or None: then the zips ship
    without .pyc and the program warns (bytecode_warning)."""
    return find_compiler(RUNTIME_PYTHON)


# Measured by `python3 dev.py bench` (cold start, proxy zip extracted read-only, Python 3.13).
COLD_START_COST_WITHOUT_BYTECODE = "about 0.5 s more per cold start of the proxy"


# What `pulumi preview`/`up` (and dev.py) say when no runtime Python is found: one line, the cost
# and the fix.
MISSING_BYTECODE_WARNING = (
    f"no {RUNTIME_PYTHON_NAME} found to compile the zips' .pyc, so they ship sources only: "
    f"{COLD_START_COST_WITHOUT_BYTECODE}, since Lambda cannot cache bytecode in its read-only "
    f"code directory. Fix: install {RUNTIME_PYTHON_NAME} (pyenv install {RUNTIME_PYTHON_VERSION}, "
    f"uv python install {RUNTIME_PYTHON_VERSION}, or your package manager) or set "
    f"{BYTECODE_PYTHON_VARIABLE}=/path/to/{RUNTIME_PYTHON_NAME}."
)


def bytecode_warning(artifacts: Sequence[AgentArtifact]) -> str | None:
    """MISSING_BYTECODE_WARNING when a code zip ships without bytecode; None when every code zip
    carries its .pyc (a container image compiles its own, agent/Dockerfile)."""
    if all(artifact.bytecode_tag is not None for artifact in artifacts if isinstance(artifact, CodeZip)):
        return None
    return MISSING_BYTECODE_WARNING


def _build_with_dependencies(
    component_dir: Path,
    own_sources: Sequence[ZipSource],
    zip_name: str,
    requirements: Path,
    constraints: Path,
    build_dir: Path,
    deps_cache_dir: Path | None,
    executables: Collection[str] = (),
    console_scripts: Collection[str] = (),
    pip_platform: str = DEPLOYED_PIP_PLATFORM,
) -> CodeZip:
    cache_dir = deps_cache_dir if deps_cache_dir is not None else build_dir / "deps"
    # Our own files are listed explicitly (an allow-list), so a Dockerfile, a README or a local
    # test next to them never reaches the zip. They are collected first (with the pip inputs) so
    # that a missing file fails before a slow pip install. The dependency tree is filtered on its
    # own paths so that our names are never mistaken for its bin/ folder.
    own_entries = _collect_entries(own_sources, is_never_deployed)
    for pip_input in (*requirement_files(requirements), constraints):
        if not pip_input.is_file():
            raise FileNotFoundError(f"artifact source is missing: {pip_input}")
    compiler = find_bytecode_compiler()
    dependency_tree = install_dependencies(requirements, constraints, cache_dir, pip_platform)
    dependency_entries = _collect_entries([(dependency_tree, "")], exclude_from_dependency_tree)
    clashes = sorted(set(own_entries) & set(dependency_entries))
    if clashes:
        raise ValueError(f"dependencies of {component_dir} overwrite project files: {clashes}")
    bytecode_entries: dict[str, Path] = {}
    if compiler is not None:
        # The dependency tree's name already keys its content; our own few files are keyed by theirs.
        bytecode_entries = {
            **compiled_bytecode(compiler, dependency_entries, dependency_tree.name, cache_dir),
            **compiled_bytecode(compiler, own_entries, f"own-{sources_key(own_entries)}", cache_dir),
        }
    with tempfile.TemporaryDirectory(prefix=".console-scripts.", dir=cache_dir) as staging:
        # The console scripts get no .pyc: Python runs a script from its source, never from bytecode.
        scripts = portable_console_scripts(dependency_tree, console_scripts, Path(staging))
        script_entries = _collect_entries(scripts, is_never_deployed)
        merged = {**own_entries, **dependency_entries, **script_entries, **bytecode_entries}
        merged_sources = [(path, name) for name, path in merged.items()]
        built = build_zip(
            merged_sources,
            build_dir / zip_name,
            executables={*executables, *script_entries},
            # Each source was filtered above; the .pyc we compiled are the only __pycache__ entries.
            exclude=_nothing_excluded,
        )
    return dataclasses.replace(built, bytecode_tag=compiler.cache_tag if compiler is not None else None)


def _nothing_excluded(relative_path: PurePosixPath) -> bool:
    return False


def build_proxy_zip(
    repo_root: Path = REPO_ROOT,
    *,
    build_dir: Path | None = None,
    deps_cache_dir: Path | None = None,
    pip_platform: str = DEPLOYED_PIP_PLATFORM,
) -> CodeZip:
    """The proxy Lambda's code: run.sh (0755), streaming_proxy/ and streaming_shared/ at the root, plus its wheels,
    with the runtime Python's .pyc beside every module when that Python is on this machine.
    ``pip_platform`` builds the same zip with another platform's wheels (the benchmark runs it here)."""
    proxy_dir = repo_root / "proxy"
    return _build_with_dependencies(
        proxy_dir,
        [
            (proxy_dir / "run.sh", "run.sh"),
            (proxy_dir / "streaming_proxy", "streaming_proxy"),
            shared_package_source(repo_root),
        ],
        "proxy.zip",
        # The proxy's few dependencies all fit the repository-wide pin set, so it keeps using it:
        # what the tests run against is what Lambda runs.
        requirements=proxy_dir / "requirements.txt",
        constraints=repo_root / "constraints.txt",
        build_dir=build_dir if build_dir is not None else repo_root / ".build",
        deps_cache_dir=deps_cache_dir,
        executables={"run.sh"},
        pip_platform=pip_platform,
    )


def build_agent_zip(
    repo_root: Path = REPO_ROOT,
    *,
    build_dir: Path | None = None,
    deps_cache_dir: Path | None = None,
    pip_platform: str = DEPLOYED_PIP_PLATFORM,
) -> CodeZip:
    """The AgentCore code zip: main.py (the entry point), streaming_agent/ and streaming_shared/ at the root, plus
    its wheels and bin/opentelemetry-instrument (0755, portable shebang), with .pyc as the proxy's."""
    agent_dir = repo_root / "agent"
    return _build_with_dependencies(
        agent_dir,
        [
            (agent_dir / "main.py", "main.py"),
            (agent_dir / "streaming_agent", "streaming_agent"),
            shared_package_source(repo_root),
        ],
        "agent.zip",
        # requirements-deploy.txt is requirements.txt plus ADOT, locked by the agent's own
        # constraints: ADOT's OpenTelemetry and protobuf pins cannot share the dev venv's pin set.
        requirements=agent_dir / "requirements-deploy.txt",
        constraints=agent_dir / "constraints.txt",
        build_dir=build_dir if build_dir is not None else repo_root / ".build",
        deps_cache_dir=deps_cache_dir,
        # The runtime's entry point is ["opentelemetry-instrument", "main.py"], as AgentCore
        # documents; AWS's own zip recipe ships pip's bin/ folder, so this script is kept too.
        console_scripts={AGENT_INSTRUMENTATION_COMMAND},
        pip_platform=pip_platform,
    )


def agent_image_context(repo_root: Path = REPO_ROOT, *, build_dir: Path | None = None) -> ContainerImage:
    """The agent image's Docker context: agent/'s AGENT_IMAGE_FILES and streaming_shared/, copied
    into .build/agent-image-<digest of their names and contents>/ (made whole, then renamed into place)."""
    agent_dir = repo_root / "agent"
    sources = [(agent_dir / name, name) for name in AGENT_IMAGE_FILES] + [shared_package_source(repo_root)]
    entries = _collect_entries(sources, is_never_deployed)
    context = (build_dir if build_dir is not None else repo_root / ".build") / f"agent-image-{sources_key(entries)}"
    if not context.is_dir():
        with staged_tree(context) as staging:
            for name, source in entries.items():
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, staging / name)
    return ContainerImage(context=context)


def _describe(label: str, artifact: CodeZip, seconds: float) -> str:
    with zipfile.ZipFile(artifact.path) as archive:
        infos = archive.infolist()
    unzipped_bytes = sum(info.file_size for info in infos)
    return (
        f"artifact={label} path={artifact.path} zip_bytes={artifact.size} "
        f"zip_mib={artifact.size / 2**20:.1f} unzipped_mib={unzipped_bytes / 2**20:.1f} "
        f"files={len(infos)} bytecode={artifact.bytecode_tag or 'none'} build_seconds={seconds:.1f} "
        f"sha256={artifact.sha256}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m packager.artifacts",
        description="Build the proxy and agent deployment zips and print their size and sha256.",
    )
    parser.add_argument("--repo-root", type=Path, default=REPO_ROOT)
    parser.add_argument(
        "--only", choices=("proxy", "agent"), help="build one artifact instead of both"
    )
    arguments = parser.parse_args(argv)
    builders: dict[str, Callable[[Path], CodeZip]] = {
        "proxy": build_proxy_zip,
        "agent": build_agent_zip,
    }
    built: list[CodeZip] = []
    for label, builder in builders.items():
        if arguments.only and arguments.only != label:
            continue
        started = time.perf_counter()
        try:
            artifact = builder(arguments.repo_root.resolve())
        except (DependencyInstallError, BytecodeCompilerError, FileNotFoundError, ValueError) as error:
            print(f"error building {label}: {error}", file=sys.stderr)
            return 1
        print(_describe(label, artifact, time.perf_counter() - started))
        built.append(artifact)
    warning = bytecode_warning(built)
    if warning is not None:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
