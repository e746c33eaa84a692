"""bench/cold_start.py runs the zips as shipped and prints its rows (figures only: no timed assertion)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from bench import cold_start
from packager import artifacts


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_cold_start_part_measures_the_built_zips_with_and_without_their_bytecode() -> None:
    if artifacts.find_bytecode_compiler() is None:
        pytest.skip("no python3.13 on this machine (CI has one)")
    figures = cold_start.measure_as_shipped(runs=1)
    rows = {figure.name: figure for figure in figures}
    [proxy] = [figure for name, figure in rows.items() if name.startswith("proxy as shipped")]
    [proxy_without] = [figure for name, figure in rows.items() if name.startswith("proxy, the same zip without")]
    [agent] = [figure for name, figure in rows.items() if name.startswith("agent import as shipped")]
    assert "/_ready" in proxy.name and "read-only" in proxy.name and "Python 3.13" in proxy.name
    [ratio] = [figure for figure in figures if figure.target]
    assert ratio.met is not None and "anchor" in ratio.name, "the cold start's target is a ratio to the Node anchor's"
    assert re.fullmatch(r"\d+ ms \(\d+ ms\.\.\d+ ms, 1 runs\)", proxy.value)
    assert re.search(r"the \.pyc save -?\d+ ms", proxy_without.value)
    assert re.search(r"without its \.pyc \d+ ms", agent.value)


def test_a_zip_is_extracted_read_only_with_or_without_its_bytecode(tmp_path: Path) -> None:
    zip_path = tmp_path / "code.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("pkg/__init__.py", "")
        archive.writestr("pkg/__pycache__/__init__.cpython-313.pyc", b"bytecode")
        archive.writestr("__pycache__/main.cpython-313.pyc", b"bytecode")
        archive.writestr("main.py", "")
    with cold_start.extracted_read_only(zip_path, with_bytecode=False) as root:
        assert sorted(path.relative_to(root).as_posix() for path in root.rglob("*")) == ["main.py", "pkg", "pkg/__init__.py"]
        assert all(path.stat().st_mode & 0o222 == 0 for path in [root, *root.rglob("*")])
    with cold_start.extracted_read_only(zip_path, with_bytecode=True) as root:
        assert (root / "pkg/__pycache__/__init__.cpython-313.pyc").is_file()
        assert (root / "__pycache__/main.cpython-313.pyc").is_file()
