#!/usr/bin/env python3
"""One entry point for a fresh machine with only Python 3 and git.

    python3 dev.py demo            set up, start the local stack, stream an answer, stop
    python3 dev.py local [ARGS]    set up and run the local stack until Ctrl-C (python -m local ARGS)
    python3 dev.py test [ARGS]     set up everything the tests need and run pytest ARGS
    python3 dev.py bench [ARGS]    set up and run the benchmarks (python -m bench ARGS)
    python3 dev.py setup           only set up .venv with everything (what Pulumi.yaml's runtime uses)
    python3 dev.py docs            rewrite docs/deploying.md's configuration table from the settings'
                                   declaration (stack_config/config_keys.py) and the stack files
    python3 dev.py adopt-project-name OLD
                                   after `pulumi new` or a rename in Pulumi.yaml: move the stack files'
                                   OLD: settings (and the deployer policy's names) to the new name

It creates .venv/ beside this file, installs the pinned requirements into it (every version fixed by
constraints.txt), and runs the command with that interpreter. Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
CONSTRAINTS = ROOT / "constraints.txt"
# What each command needs: the local stack needs the agent and the proxy; tests need everything.
REQUIREMENTS = {
    "demo": ROOT / "requirements-local.txt",
    "local": ROOT / "requirements-local.txt",
    "bench": ROOT / "requirements-local.txt",
    "test": ROOT / "requirements-dev.txt",
    "setup": ROOT / "requirements-dev.txt",
    "docs": ROOT / "requirements-dev.txt",
}
MINIMUM_PYTHON = (3, 11)


def fail(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def requirement_files(path: Path) -> list[Path]:
    """The file and every file it includes with -r, so a change to any of them re-installs."""
    files = [path]
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("-r "):
            files += requirement_files(path.parent / line[3:].strip())
    return files


def ensure_environment(requirements: Path) -> None:
    if sys.version_info < MINIMUM_PYTHON:
        fail(f"Python {'.'.join(map(str, MINIMUM_PYTHON))} or newer is needed; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print(f"dev.py: creating {VENV.relative_to(ROOT)}/ ...", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except Exception as error:  # Debian splits venv/ensurepip into python3-venv
            fail(f"could not create a virtual environment ({error}). On Debian or Ubuntu: apt-get install python3-venv")
    digest = hashlib.sha256()
    for path in requirement_files(requirements) + [CONSTRAINTS]:
        digest.update(path.read_bytes())
    stamp = VENV / f".installed-{requirements.stem}-{digest.hexdigest()[:16]}"
    if stamp.exists():
        return
    print(f"dev.py: installing {requirements.name} into .venv/ (first run only; a few minutes) ...", flush=True)
    command = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    command += ["-r", str(requirements), "-c", str(CONSTRAINTS)]
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        fail(f"pip could not install {requirements.name}; see its messages above.")
    stamp.touch()


# Options after which pytest must stay in one process: an explicit worker choice, xdist turned off,
# a debugger, or named tests (file::test), where starting workers costs more than it saves.
SERIAL_OPTIONS = ("-n", "--numprocesses", "--dist", "--pdb", "--trace")
MAXIMUM_TEST_WORKERS = 4


def parallel_options(arguments: list[str]) -> list[str]:
    """pytest-xdist options for `dev.py test`: one worker per core (at most four), each test file
    on one worker (--dist loadfile, so a module's fixtures are built once), or none at all."""
    if "no:xdist" in arguments or any("::" in argument for argument in arguments):
        return []
    if any(argument.startswith(SERIAL_OPTIONS) for argument in arguments):
        return []
    configured = os.environ.get("TEST_WORKERS", "").strip()
    if configured and not configured.isdigit():
        fail(f"TEST_WORKERS must be a number of worker processes (0 runs in one process); got {configured!r}.")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = int(configured) if configured else min(cores, MAXIMUM_TEST_WORKERS)
    if workers <= 1:
        print("dev.py: running the tests in one process", flush=True)
        return []
    print(f"dev.py: running the tests on {workers} worker processes (TEST_WORKERS={workers}; "
          "TEST_WORKERS=0 or -n 0 runs them in one process)", flush=True)
    return ["-n", str(workers), "--dist", "loadfile"]


def report_runtime_python(command: str) -> None:
    """The deploy zips carry .pyc compiled by the runtime's Python (packager/bytecode.py): say which
    interpreter that is, or how to get one. CI must have one (.ci/run installs it), so a test run
    there stops without it. Standard library only, so it runs before .venv exists."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from packager.artifacts import MISSING_BYTECODE_WARNING, find_bytecode_compiler

    compiler = find_bytecode_compiler()
    if compiler is not None:
        if command == "setup":
            print(f"dev.py: the zips' .pyc are compiled by {compiler.executable}")
        return
    if os.environ.get("CI") and command == "test":
        fail(MISSING_BYTECODE_WARNING)
    print(f"dev.py: warning: {MISSING_BYTECODE_WARNING}", file=sys.stderr)


def adopt_project_name(arguments: list[str]) -> int:
    """Standard library only (components/project_name.py), so it needs no .venv."""
    if len(arguments) != 1:
        fail("usage: python3 dev.py adopt-project-name OLD_NAME (the name the stack files' keys still use)")
    sys.path.insert(0, str(ROOT))
    from components.project_name import ProjectNameError
    from components.project_name import adopt_project_name as adopt

    try:
        adoption = adopt(ROOT, arguments[0])
    except ProjectNameError as error:
        fail(str(error))
    for change in adoption.changes:
        print(f"dev.py: {change}")
    if not adoption.changes:
        print(f"dev.py: nothing under {arguments[0]}: to rename; the files already follow Pulumi.yaml's name")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["adopt-project-name"]:
        return adopt_project_name(argv[1:])
    if not argv or argv[0] not in REQUIREMENTS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    command, arguments = argv[0], argv[1:]
    ensure_environment(REQUIREMENTS[command])
    if command in ("setup", "test"):
        report_runtime_python(command)
    if command == "setup":
        print(f"dev.py: {VENV.relative_to(ROOT)}/ is ready ({PYTHON.relative_to(ROOT)})")
        return 0
    if command == "test":
        run = [str(PYTHON), "-m", "pytest", *parallel_options(arguments), *arguments]
    elif command == "demo":
        run = [str(PYTHON), "-m", "local", "demo", *arguments]
    elif command == "docs":
        run = [str(PYTHON), "-m", "tests.support.config_docs"]
    elif command == "local":
        run = [str(PYTHON), "-m", "local", *arguments]
    else:
        run = [str(PYTHON), "-m", "bench", *arguments]
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if os.name == "posix":
        # Become the command: Ctrl-C and SIGTERM then reach it directly and it stops its own children.
        # (subprocess.run would kill the child 0.25 s after Ctrl-C and orphan the local stack's processes.)
        os.chdir(ROOT)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(run[0], run, environment)
    return run_and_forward_signals(run, environment)


def run_and_forward_signals(run: list[str], environment: dict[str, str]) -> int:
    """Where exec is not available: run the command, pass Ctrl-C on, and wait for it to finish."""
    child = subprocess.Popen(run, cwd=ROOT, env=environment)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            # The console sent Ctrl-C to the child as well; keep waiting while it shuts down.
            continue


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
