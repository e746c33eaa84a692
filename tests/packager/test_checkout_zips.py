"""The checkout's zips: built by a session fixture when a test needs them, never at collection; and
neither they nor the agent's image carry code only tests use."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest
from tests.support.infra_harness import CheckoutZips

from packager.artifacts import CodeZip
from tests.support.build_spy import LOG_VARIABLE, SECONDS_VARIABLE

REPO_ROOT = Path(__file__).resolve().parents[2]
SUBPROCESS_TIMEOUT_SECONDS = 100
SPY = ("-p", "no:cacheprovider", "-p", "no:xdist", "-p", "tests.support.build_spy")


def run_pytest(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """pytest in a subprocess, from the checkout, under the build spy (tests/support/build_spy.py)."""
    return subprocess.run([sys.executable, "-m", "pytest", *SPY, *arguments], cwd=REPO_ROOT,
                          env={**os.environ, **environment}, capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT_SECONDS)


def test_collecting_the_whole_suite_builds_nothing(tmp_path: Path) -> None:
    log = tmp_path / "builds.log"
    completed = run_pytest(["--collect-only", "-q"], {LOG_VARIABLE: str(log)})
    assert not log.exists(), f"collection built: {log.read_text().split()}\n{completed.stdout[-3000:]}"
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    # The whole suite was collected (the infra tests, which need the zips, among them).
    assert "tests/components/test_infra_stacks.py::" in completed.stdout
    assert "tests/packager/test_checkout_zips.py::test_collecting_the_whole_suite_builds_nothing" in completed.stdout


def test_the_fixture_hands_over_the_zips_where_pulumi_up_builds_them(checkout_zips: CheckoutZips) -> None:
    assert checkout_zips.proxy.path == REPO_ROOT / ".build" / "proxy.zip"
    assert checkout_zips.agent.path == REPO_ROOT / ".build" / "agent.zip"


def test_building_the_zips_in_setup_does_not_count_against_the_tests_timeout(tmp_path: Path) -> None:
    # Each builder takes 3 s, as a first build takes minutes; the test's timeout is 2 s.
    log = tmp_path / "builds.log"
    target = "tests/packager/test_checkout_zips.py::test_the_fixture_hands_over_the_zips_where_pulumi_up_builds_them"
    completed = run_pytest(["-o", "timeout=2", "--durations=0", "-vv", target], {LOG_VARIABLE: str(log), SECONDS_VARIABLE: "3"})
    assert "timeout: 2.0s" in completed.stdout
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert log.read_text().split() == ["build_proxy_zip", "build_agent_zip"]
    [setup] = [line for line in completed.stdout.splitlines() if line.endswith(f"setup    {target}")]
    assert float(setup.split("s")[0]) >= 6


# --- what the zips and the image carry: nothing only tests use ----------------------------------

# Each deployable's own files: zip (or image) name -> the repository path it comes from. Stated here,
# not taken from the packager, so that a packager shipping more cannot pass.
# Both carry the shared package at their root.
OWN_FILES = {
    "proxy": {"run.sh": "proxy/run.sh", "streaming_proxy": "proxy/streaming_proxy", "streaming_shared": "streaming_shared"},
    "agent": {"main.py": "agent/main.py", "streaming_agent": "agent/streaming_agent", "streaming_shared": "streaming_shared"},
}
# The image also takes the agent's pip inputs (agent/Dockerfile installs them).
IMAGE_FILES = {**OWN_FILES["agent"], **{name: f"agent/{name}" for name in
                                         ("requirements.txt", "requirements-deploy.txt", "constraints.txt")}}
# Code that only tests, the bench or the local stack run; a name no deployable may carry, at any depth.
TEST_ONLY_NAMES = {"offline_model", "conftest.py"}
# Folders of a checkout that are never part of the repository's code.
NOT_SOURCES = {".git", ".venv", ".build", "node_modules", "__pycache__", ".pytest_cache"}
# Caches and leftovers of the build machine.
MACHINE_LEFTOVERS = {".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".DS_Store"}
RUNTIME_CACHE_TAG = "cpython-313"  # Lambda's and AgentCore's Python 3.13


def repository_files(root: Path = REPO_ROOT) -> dict[str, Path]:
    """Every file of the checkout's code, by its path in the repository (caches and installs left out)."""
    found: dict[str, Path] = {}
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [name for name in subdirectories if name not in NOT_SOURCES]
        for name in files:
            path = Path(directory, name)
            found[path.relative_to(root).as_posix()] = path
    return found


def own_files(mapping: dict[str, str]) -> dict[str, Path]:
    """Zip name -> file on disk, for the files the mapping says a deployable carries of its own."""
    files = repository_files()
    own: dict[str, Path] = {}
    for zip_name, source in mapping.items():
        for repository_path, path in files.items():
            if repository_path == source or repository_path.startswith(source + "/"):
                own[zip_name + repository_path[len(source):]] = path
    return own


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def shipped_problems(names: list[str], read: Callable[[str], bytes], own: dict[str, Path]) -> list[str]:
    """What a zip's (or image's) file list carries beyond its own code: test-only code by name, the
    repository's other Python files by content (under any name), files among its own names that the repository does
    not have there, bytecode of another Python than the runtime's, and the build machine's leftovers."""
    problems = []
    own_digests = {digest(path.read_bytes()) for path in own.values()}
    # The repository's other Python code (its licence texts and the like may well match a dependency's).
    others = {digest(data): repository_path for repository_path, path in repository_files().items()
              if path.suffix == ".py" and (data := path.read_bytes()).strip() and digest(data) not in own_digests}
    repository_top = {repository_path.split("/")[0] for repository_path in repository_files()}
    own_tops = {name.split("/")[0] for name in own}
    for name in names:
        parts = PurePosixPath(name).parts
        if {part.removesuffix(".py") for part in parts} & {n.removesuffix(".py") for n in TEST_ONLY_NAMES}:
            problems.append(f"{name}: test-only code")
        elif parts[0] in repository_top - own_tops:
            problems.append(f"{name}: the repository's {parts[0]}, which no deployable runs")
        elif set(parts) & MACHINE_LEFTOVERS:
            problems.append(f"{name}: a leftover of the build machine")
        elif name.endswith((".pyc", ".pyo")) and not (parts[-2:-1] == ("__pycache__",) and f".{RUNTIME_CACHE_TAG}." in parts[-1]):
            problems.append(f"{name}: bytecode that is not {RUNTIME_CACHE_TAG}'s")
        elif parts[0] in own_tops and "__pycache__" not in parts and name not in own:
            problems.append(f"{name}: among the deployable's own files, but not in the repository there")
        elif name not in own and (copied := others.get(digest(read(name)))) is not None:
            problems.append(f"{name}: a copy of the repository's {copied}")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("deployable", ["proxy", "agent"])
def test_no_zip_carries_code_only_tests_use(checkout_zips: CheckoutZips, deployable: str) -> None:
    built: CodeZip = getattr(checkout_zips, deployable)
    own = own_files(OWN_FILES[deployable])
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
        sizes = {path.stat().st_size for path in repository_files().values()}
        sized = {info.filename for info in archive.infolist() if info.file_size in sizes}
        # Only a member as long as some repository file can be a copy of one: the rest is not read.
        problems = shipped_problems(names, lambda name: archive.read(name) if name in sized else b"", own)
    assert problems == []
    # The deployable's own code is all there (the check read the right zip).
    assert set(own) <= set(names)


def dockerignore_patterns(context: Path) -> list[str]:
    lines = (context / ".dockerignore").read_text().splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def is_ignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule for this file's patterns (no "!" exceptions in it): a pattern matches the path or
    any folder above it, "*" within one name; a bare name in .dockerignore matches at the root only,
    which is stricter than needed here, so a name also matches at any depth."""
    parts = PurePosixPath(relative).parts
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    return any(fnmatch.fnmatchcase(prefix, pattern) or fnmatch.fnmatchcase(part, pattern)
               for pattern in patterns for prefix, part in zip(prefixes, parts))


def image_files(context: Path) -> dict[str, Path]:
    """The files agent/Dockerfile's COPY instructions take from the build context (name in /app -> path)."""
    patterns = dockerignore_patterns(context)
    copied: dict[str, Path] = {}
    for line in (context / "Dockerfile").read_text().splitlines():
        words = line.split()
        if not words or words[0] != "COPY":
            continue
        sources = [word for word in words[1:-1] if not word.startswith("--")]
        for source in sources:
            top = context / source
            for path in ([top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())):
                relative = path.relative_to(context).as_posix()
                if not is_ignored(relative, patterns):
                    copied[relative] = path
    return copied


def test_the_agent_image_copies_no_code_only_tests_use() -> None:
    context = REPO_ROOT / "agent"
    copied = image_files(context)
    problems = shipped_problems(sorted(copied), lambda name: copied[name].read_bytes(), own_files(IMAGE_FILES))
    assert problems == []
    assert {"main.py", "streaming_agent/app.py", "requirements-deploy.txt"} <= set(copied)


def test_the_test_only_check_finds_each_kind_of_problem(tmp_path: Path) -> None:
    own = own_files(OWN_FILES["agent"])
    offline = (REPO_ROOT / "agent/offline_model/model.py").read_bytes()
    shipped = {
        "main.py": own["main.py"].read_bytes(),
        "streaming_agent/offline_model.py": b"# the old place\n",
        "offline_model/__init__.py": b"",
        "tests/__init__.py": b"",
        "bench/fake_upstream.py": b"",
        "streaming_agent/echo.py": offline,
        "vendored/helper.py": (REPO_ROOT / "tests/support/locks.py").read_bytes(),
        "streaming_agent/extra.py": b"x = 1\n",
        "streaming_agent/__pycache__/app.cpython-311.pyc": b"",
        "six/__pycache__/six.cpython-313.pyc": b"",
        ".pytest_cache/v/cache/lastfailed": b"{}",
        "strands/__init__.py": b"# a dependency\n",
    }
    problems = shipped_problems(list(shipped), shipped.__getitem__, own)
    flagged = {problem.split(":")[0] for problem in problems}
    assert flagged == set(shipped) - {"main.py", "six/__pycache__/six.cpython-313.pyc", "strands/__init__.py"}
