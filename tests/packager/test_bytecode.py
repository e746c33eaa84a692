"""packager/bytecode.py: finding the runtime's Python the way a developer's machine has it, compiling
reproducible unchecked-hash .pyc with it, and the one-line warning when there is none.

The interpreters here are real: the machine's CPython 3.13 (linked under the names a PATH, a pyenv
root or uv would give it) and the test's own Python as the wrong version.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from packager import artifacts
from packager.artifacts import CodeZip, ContainerImage, bytecode_warning
from packager.bytecode import (
    BYTECODE_PYTHON_VARIABLE,
    BytecodeCompilerError,
    compiled_bytecode,
    find_compiler,
    pyc_name,
    sources_key,
)
from tests.support import infra_harness
from tests.support.infra_harness import run_program, stack_config

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON_313 = (3, 13)
# CPython 3.13's magic number (Lib/importlib/_bootstrap_external.py: 3571) and PEP 552's flags word
# for an unchecked hash-based .pyc, stated independently of the packager.
PYTHON_313_MAGIC = (3571).to_bytes(2, "little") + b"\r\n"
UNCHECKED_HASH_FLAGS = (1).to_bytes(4, "little")
# The build machine's own interpreter, as the "running" candidate, when it must not be a 3.13.
NOT_313 = ("/nonexistent/python", (3, 11))


@pytest.fixture(scope="module")
def python_313() -> Path:
    found = artifacts.find_bytecode_compiler()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide python3.13 (.ci/run installs it)")
        pytest.skip("no python3.13 on this machine")
    return found.executable


def empty_machine(tmp_path: Path) -> dict[str, str]:
    """An environment in which nothing provides a Python: empty PATH, HOME and pyenv root."""
    for folder in ("bin", "home", "pyenv"):
        (tmp_path / folder).mkdir(exist_ok=True)
    return {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path / "home"), "PYENV_ROOT": str(tmp_path / "pyenv")}


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


# --- finding the interpreter ------------------------------------------------------------------


def test_nothing_found_on_a_machine_without_python_313(tmp_path: Path) -> None:
    assert find_compiler(PYTHON_313, empty_machine(tmp_path), running=NOT_313) is None


def test_python_313_on_path_is_found(tmp_path: Path, python_313: Path) -> None:
    environ = empty_machine(tmp_path)
    (tmp_path / "bin" / "python3.13").symlink_to(python_313)
    found = find_compiler(PYTHON_313, environ, running=NOT_313)
    assert found is not None
    assert found.magic == PYTHON_313_MAGIC
    assert found.cache_tag == "cpython-313"


def test_a_pyenv_shim_that_refuses_is_passed_over_for_pyenvs_installed_version(tmp_path: Path, python_313: Path) -> None:
    # pyenv's shim exists on PATH even when 3.13 is not the selected version, and then fails.
    environ = empty_machine(tmp_path)
    executable(tmp_path / "bin" / "python3.13", "#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n")
    (tmp_path / "pyenv/versions/3.13.0/bin").mkdir(parents=True)
    (tmp_path / "pyenv/versions/3.13.0/bin/python3.13").symlink_to(python_313)
    found = find_compiler(PYTHON_313, environ, running=NOT_313)
    assert found is not None and found.magic == PYTHON_313_MAGIC


def test_pyenv_under_home_is_found_without_pyenv_root(tmp_path: Path, python_313: Path) -> None:
    environ = empty_machine(tmp_path)
    del environ["PYENV_ROOT"]
    (tmp_path / "home/.pyenv/versions/3.13.1/bin").mkdir(parents=True)
    (tmp_path / "home/.pyenv/versions/3.13.1/bin/python3.13").symlink_to(python_313)
    assert find_compiler(PYTHON_313, environ, running=NOT_313) is not None


def test_uv_python_find_is_asked_last(tmp_path: Path, python_313: Path) -> None:
    environ = empty_machine(tmp_path)
    executable(tmp_path / "bin" / "uv", f'#!/bin/sh\n[ "$1 $2 $4" = "python find 3.13" ] && echo {python_313}\n')
    assert find_compiler(PYTHON_313, environ, running=NOT_313) is not None


def test_a_python_named_python313_that_is_another_version_is_refused(tmp_path: Path) -> None:
    environ = empty_machine(tmp_path)
    (tmp_path / "bin" / "python3.13").symlink_to(sys.executable)  # the test's own Python
    if sys.version_info[:2] == PYTHON_313:
        pytest.skip("the test runs on 3.13 itself; no other version at hand")
    assert find_compiler(PYTHON_313, environ, running=NOT_313) is None


def test_the_running_interpreter_is_used_when_it_is_the_runtimes_version(tmp_path: Path, python_313: Path) -> None:
    found = find_compiler(PYTHON_313, empty_machine(tmp_path), running=(str(python_313), PYTHON_313))
    assert found is not None and found.magic == PYTHON_313_MAGIC


def test_an_explicit_interpreter_wins_and_a_wrong_one_is_an_error(tmp_path: Path, python_313: Path) -> None:
    environ = {**empty_machine(tmp_path), BYTECODE_PYTHON_VARIABLE: str(python_313)}
    assert find_compiler(PYTHON_313, environ, running=NOT_313) is not None

    wrong = executable(tmp_path / "other" / "python", "#!/bin/sh\nexit 1\n")
    environ[BYTECODE_PYTHON_VARIABLE] = str(wrong)
    # Even with 3.13 on PATH: a wrong explicit choice is reported, never silently replaced.
    (tmp_path / "bin" / "python3.13").symlink_to(python_313)
    with pytest.raises(BytecodeCompilerError, match=rf"{BYTECODE_PYTHON_VARIABLE}=.*not a runnable CPython 3\.13"):
        find_compiler(PYTHON_313, environ, running=NOT_313)


# --- compiling --------------------------------------------------------------------------------


def small_tree(root: Path) -> dict[str, Path]:
    files = {
        "pkg/__init__.py": "from pkg.module import answer\n",
        "pkg/module.py": "def answer():\n    return {'a', 'b', 'c'}\n",
        "pkg/py2_only.py": "print 'a Python 2 file some wheels ship'\n",
        "pkg/data.json": "{}\n",
    }
    entries = {}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
        entries[name] = root / name
    return entries


def test_each_module_gets_an_unchecked_hash_pyc_where_the_importer_looks(tmp_path: Path, python_313: Path) -> None:
    compiler = find_compiler(PYTHON_313, {BYTECODE_PYTHON_VARIABLE: str(python_313)})
    assert compiler is not None
    entries = small_tree(tmp_path / "src")
    compiled = compiled_bytecode(compiler, entries, sources_key(entries), tmp_path / "cache")

    # A source that does not compile under 3.13 ships without one (importing it fails there too).
    assert sorted(compiled) == ["pkg/__pycache__/__init__.cpython-313.pyc", "pkg/__pycache__/module.cpython-313.pyc"]
    for path in compiled.values():
        header = path.read_bytes()[:16]
        assert header[:4] == PYTHON_313_MAGIC and header[4:8] == UNCHECKED_HASH_FLAGS
        assert str(tmp_path).encode() not in path.read_bytes(), "the build path leaked into co_filename"
    assert pyc_name("a/b.py", "cpython-313") == "a/__pycache__/b.cpython-313.pyc"
    assert pyc_name("main.py", "cpython-313") == "__pycache__/main.cpython-313.pyc"


def test_compiled_bytecode_is_cached_by_key_and_equal_across_compilations(tmp_path: Path, python_313: Path) -> None:
    compiler = find_compiler(PYTHON_313, {BYTECODE_PYTHON_VARIABLE: str(python_313)})
    assert compiler is not None
    entries = small_tree(tmp_path / "src")
    first = compiled_bytecode(compiler, entries, "key", tmp_path / "one")
    second = compiled_bytecode(compiler, small_tree(tmp_path / "elsewhere"), "key", tmp_path / "two")
    assert {name: path.read_bytes() for name, path in first.items()} == {
        name: path.read_bytes() for name, path in second.items()
    }
    # The same key again is the cached tree: an edit under an old key would not be seen, which is
    # why callers key by content (sources_key, or the dependency tree's own content-keyed name).
    (tmp_path / "src/pkg/module.py").write_text("CHANGED = 1\n")
    assert compiled_bytecode(compiler, entries, "key", tmp_path / "one") == first
    assert sources_key(entries) != sources_key(small_tree(tmp_path / "elsewhere"))
    [bytecode_dir] = (tmp_path / "one" / "bytecode").iterdir()
    assert not bytecode_dir.name.startswith("."), "only the finished tree remains, no staging folder"
    # Another patch release of 3.13 (same magic number) compiles its own tree under the same key.
    other_patch = dataclasses.replace(compiler, build=compiler.build + " (another build)")
    compiled_bytecode(other_patch, entries, "key", tmp_path / "one")
    assert len(list((tmp_path / "one" / "bytecode").iterdir())) == 2


# --- the warning ------------------------------------------------------------------------------


def zip_with(tag: str | None) -> CodeZip:
    return CodeZip(path=Path("x.zip"), sha256="0" * 64, size=1, bytecode_tag=tag)


def test_the_warning_names_the_cost_and_the_fix_in_one_line() -> None:
    assert bytecode_warning([zip_with("cpython-313"), zip_with("cpython-313")]) is None
    assert bytecode_warning([zip_with("cpython-313"), ContainerImage(context=Path("agent"))]) is None
    warning = bytecode_warning([zip_with(None), zip_with(None)])
    assert warning is not None and "\n" not in warning
    assert "python3.13" in warning and "cold start" in warning and BYTECODE_PYTHON_VARIABLE in warning


def test_without_python_313_the_program_warns_once_and_ships_sources_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts, "find_bytecode_compiler", lambda: None)
    built: list[list[str]] = []
    real_build_zip = infra_harness._real_build_zip

    def recording_build_zip(sources, destination, **options):  # type: ignore[no-untyped-def]
        built.append([name for _, name in sources])
        return real_build_zip(sources[:1], destination.with_name(f"names-only-{destination.name}"), **options)

    # Only the names that would be zipped matter here, not tens of MB of deflate. (run_program puts
    # its own once-per-process cache in front of the zip writer, so the writer is replaced behind it.)
    monkeypatch.setattr(infra_harness, "_real_build_zip", recording_build_zip)
    run = run_program("dev", stack_config("dev"))
    assert [warning for warning in run.warnings if "python3.13" in warning] == run.warnings
    assert len(run.warnings) == 1, run.warnings
    assert "\n" not in run.warnings[0]
    assert len(built) == 2
    assert all(not any(name.endswith(".pyc") for name in names) for names in built)


# --- dev.py and CI make sure there is one -----------------------------------------------------


def test_dev_py_names_the_interpreter_or_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], python_313: Path
) -> None:
    import dev

    dev.report_runtime_python("setup")
    assert str(python_313) in capsys.readouterr().out

    monkeypatch.setattr(artifacts, "find_bytecode_compiler", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    dev.report_runtime_python("setup")
    [line] = capsys.readouterr().err.splitlines()
    assert "pyenv install 3.13" in line and BYTECODE_PYTHON_VARIABLE in line

    # CI must compile the .pyc the tests check: a test run there stops at once, with the same hint.
    monkeypatch.setenv("CI", "true")
    with pytest.raises(SystemExit) as stopped:
        dev.report_runtime_python("test")
    assert stopped.value.code == 2
    assert "pyenv install 3.13" in capsys.readouterr().err


def test_ci_checks_for_python_313_with_the_packagers_own_search(python_313: Path) -> None:
    ci_script = (REPO_ROOT / ".ci" / "run").read_text()
    [check] = [line for line in ci_script.splitlines() if "find_bytecode_compiler" in line]
    python_code = check.split("python3 -c '", 1)[1].rsplit("'", 1)[0]
    # It exits 0 where a 3.13 is found (here) and is what decides whether CI installs one.
    assert subprocess.run([sys.executable, "-c", python_code], cwd=REPO_ROOT, check=False).returncode == 0
    assert "apt-get install -y -qq --no-install-recommends python3.13" in ci_script
