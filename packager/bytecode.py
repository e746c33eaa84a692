"""Bytecode (.pyc) for the runtime's Python, compiled at build time and shipped in the zips.

Lambda's code directory (/var/task) is read-only, so a zip without bytecode makes every cold start
compile every module it imports, and throw the result away. The .pyc files are compiled by a real
CPython of the runtime's version (a .pyc carries its interpreter's magic number; any other version
ignores it) with the unchecked-hash invalidation mode: the header holds a hash of the source, not
its modification time, and the importer trusts it without reading the source again. Equal sources
give equal bytes, so the zips stay reproducible (PEP 552).

The interpreter is found the way a developer's machine has one: the BYTECODE_PYTHON environment
variable, the interpreter running the build, ``python3.13`` on PATH, pyenv's versions, then
``uv python find``. Without one the zips ship sources only, and the caller says what that costs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packager.cache import staged_tree

# An explicit interpreter for the .pyc; it must be the runtime's version (documented in docs/performance.md).
BYTECODE_PYTHON_VARIABLE = "BYTECODE_PYTHON"
PROBE_TIMEOUT_SECONDS = 20
COMPILE_TIMEOUT_SECONDS = 900
# Bump when the way bytecode is compiled changes, so that no cached tree of the old way is reused.
COMPILE_RECIPE = "py_compile unchecked-hash optimize=0 dfile=zip-name hashseed=0 v1"

# Run by the candidate interpreter: what it is, in one JSON line.
_PROBE = (
    "import importlib.util, json, sys;"
    "print(json.dumps({'version': list(sys.version_info[:2]), 'magic': importlib.util.MAGIC_NUMBER.hex(),"
    " 'cache_tag': sys.implementation.cache_tag, 'executable': sys.executable, 'build': sys.version}))"
)

# Run by the runtime's interpreter: compiles the [source, zip name, .pyc path] triples read from stdin;
# a source that does not compile is left without one. The zip name becomes the code's co_filename;
# the importer replaces it with the real path when it loads the .pyc, so no build path leaks in.
_COMPILER = """
import json, py_compile, sys
for source, zip_name, target in json.load(sys.stdin):
    try:
        py_compile.compile(source, cfile=target, dfile=zip_name, doraise=True, optimize=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        pass
"""


class BytecodeCompilerError(RuntimeError):
    """The interpreter named for bytecode cannot be used, or it failed while compiling."""


@dataclass(frozen=True)
class BytecodeCompiler:
    """A CPython of the runtime's version, which compiles the zips' .pyc."""

    executable: Path
    cache_tag: str  # "cpython-313": the .pyc file name's middle part
    magic: bytes  # the first four bytes of every .pyc it writes
    # Its full version and build ("3.13.0 (main, ...) [GCC ...]"): patch releases share the magic
    # number but not always the compiler, so the cache of what it compiled is keyed by this too.
    build: str


def runtime_version_name(version: tuple[int, int]) -> str:
    return "{}.{}".format(*version)


@functools.cache
def probe(executable: str, version: tuple[int, int]) -> BytecodeCompiler | None:
    """The interpreter at ``executable`` if it runs and is CPython ``version``; cached per process."""
    try:
        completed = subprocess.run(
            [executable, "-I", "-c", _PROBE],
            capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None  # e.g. a pyenv shim for a version that is installed but not selected
    try:
        facts = json.loads(completed.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    if tuple(facts["version"]) != version or not facts["cache_tag"].startswith("cpython-"):
        return None
    return BytecodeCompiler(
        executable=Path(facts["executable"]),
        cache_tag=facts["cache_tag"],
        magic=bytes.fromhex(facts["magic"]),
        build=facts["build"],
    )


def _pyenv_candidates(environ: Mapping[str, str], version: tuple[int, int]) -> Iterator[str]:
    root = Path(environ.get("PYENV_ROOT") or Path(environ.get("HOME") or Path.home()) / ".pyenv")
    name = runtime_version_name(version)
    installed = sorted((root / "versions").glob(f"{name}.*"), key=_version_order, reverse=True)
    for prefix in installed:
        yield str(prefix / "bin" / f"python{name}")


def _version_order(prefix: Path) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in prefix.name.split("."))


def _uv_candidates(environ: Mapping[str, str], version: tuple[int, int]) -> Iterator[str]:
    uv = shutil.which("uv", path=environ.get("PATH"))
    if uv is None:
        return
    try:
        completed = subprocess.run(
            [uv, "python", "find", "--no-project", runtime_version_name(version)],
            capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return
    if completed.returncode == 0 and completed.stdout.strip():
        yield completed.stdout.strip().splitlines()[-1]


# The interpreter running the build, and its version.
RunningPython = tuple[str, tuple[int, ...]]


def candidates(environ: Mapping[str, str], version: tuple[int, int], running: RunningPython) -> Iterator[str]:
    """Where a developer's machine keeps a Python of ``version``, most specific first."""
    running_executable, running_version = running
    if tuple(running_version[:2]) == version:
        yield running_executable
    on_path = shutil.which(f"python{runtime_version_name(version)}", path=environ.get("PATH"))
    if on_path is not None:
        yield on_path
    yield from _pyenv_candidates(environ, version)
    yield from _uv_candidates(environ, version)


def find_compiler(
    version: tuple[int, int],
    environ: Mapping[str, str] | None = None,
    running: RunningPython | None = None,
) -> BytecodeCompiler | None:
    """The first usable CPython ``version`` on this machine, or None when there is none.

    An interpreter named by BYTECODE_PYTHON must be one: naming a wrong one is a mistake to report,
    not a reason to look elsewhere.
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get(BYTECODE_PYTHON_VARIABLE, "").strip()
    if explicit:
        found = probe(explicit, version)
        if found is None:
            raise BytecodeCompilerError(
                f"{BYTECODE_PYTHON_VARIABLE}={explicit!r} is not a runnable CPython "
                f"{runtime_version_name(version)}; name a python{runtime_version_name(version)} "
                f"interpreter (the deployed runtime's version) or unset it"
            )
        return found
    running = (sys.executable, sys.version_info[:2]) if running is None else running
    for candidate in candidates(environ, version, running):
        found = probe(candidate, version)
        if found is not None:
            return found
    return None


def pyc_name(source_name: str, cache_tag: str) -> str:
    """Where the import system looks for the bytecode of ``source_name`` (a/b.py -> a/__pycache__/b.<tag>.pyc)."""
    source = PurePosixPath(source_name)
    return (source.parent / "__pycache__" / f"{source.stem}.{cache_tag}.pyc").as_posix()


def sources_key(sources: Mapping[str, Path]) -> str:
    """A digest of the zip names and contents of ``sources``: equal trees, equal keys."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        with sources[name].open("rb") as handle:
            content = hashlib.file_digest(handle, "sha256").digest()
        digest.update(name.encode() + b"\0" + content)
    return digest.hexdigest()


def compiled_bytecode(
    compiler: BytecodeCompiler, sources: Mapping[str, Path], cache_key: str, cache_dir: Path
) -> dict[str, Path]:
    """Zip name -> .pyc on disk for every ``.py`` in ``sources`` that compiles.

    Compiled once per ``cache_key`` (which the caller derives from the sources) and interpreter, into
    ``cache_dir/bytecode``; a cached tree is complete, because it is renamed into place only after
    the compiler succeeded. A source that does not compile under the runtime's Python gets no .pyc
    (importing it would fail there anyway) and ships as it is.
    """
    python_sources = {name: path for name, path in sources.items() if name.endswith(".py")}
    recipe = hashlib.sha256(f"{COMPILE_RECIPE}\0{compiler.magic.hex()}\0{compiler.build}".encode()).hexdigest()[:16]
    tree = cache_dir / "bytecode" / f"{cache_key}.{compiler.cache_tag}-{recipe}"
    if not tree.is_dir():
        _compile_tree(compiler, python_sources, tree)
    compiled = {}
    for name in python_sources:
        pyc = pyc_name(name, compiler.cache_tag)
        if (tree / pyc).is_file():
            compiled[pyc] = tree / pyc
    return compiled


def _compile_tree(compiler: BytecodeCompiler, sources: Mapping[str, Path], tree: Path) -> None:
    with staged_tree(tree) as staging:
        jobs = [[str(path), name, str(staging / pyc_name(name, compiler.cache_tag))] for name, path in sorted(sources.items())]
        # A fixed hash seed, so that nothing the compiler orders by hash depends on the run.
        environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
        environment["PYTHONHASHSEED"] = "0"
        completed = subprocess.run(
            [str(compiler.executable), "-s", "-c", _COMPILER],
            input=json.dumps(jobs), capture_output=True, text=True, env=environment,
            timeout=COMPILE_TIMEOUT_SECONDS, check=False,
        )
        if completed.returncode != 0:
            raise BytecodeCompilerError(
                f"{compiler.executable} could not compile bytecode (exit code {completed.returncode}): "
                f"{completed.stderr.strip()[-2000:]}"
            )
