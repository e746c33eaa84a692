"""The benchmark's bookkeeping: runs alternate, figures show their spread, and only a full run
replaces the committed results (bench/results/latest.md and the table in docs/performance.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench.__main__ as bench_main
from bench.report import README_END, README_START, Figure, update_readme
from bench.stats import alternate, spread
from tests.support.docs import REPO_ROOT, page_with

FIGURES = [Figure("proxy alone", "proxy CPU per event", "30.0 µs (28.0 µs..33.0 µs, 5 runs)", "<= 40 µs", True)]


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    results = tmp_path / "results" / "latest.md"
    results.parent.mkdir()
    results.write_text("committed results\n")
    readme = tmp_path / "docs" / "performance.md"
    readme.parent.mkdir()
    readme.write_text(f"# Project\n\n## Performance\n\n{README_START}\nold table\n{README_END}\n\n## Next\n")
    monkeypatch.setattr(bench_main, "RESULTS", results)
    monkeypatch.setattr(bench_main, "RESULTS_PAGE", readme)
    monkeypatch.setattr(bench_main, "SCRATCH", tmp_path / "scratch")
    monkeypatch.setattr(bench_main, "REPO_ROOT", tmp_path)
    calls: list[tuple[list[str], int]] = []

    def fake_run(parts: list[str], sizes: bench_main.Sizes, runs: int, progress: object) -> list[Figure]:
        calls.append((parts, runs))
        return FIGURES

    monkeypatch.setattr(bench_main, "run", fake_run)
    return {"results": results, "readme": readme, "scratch": tmp_path / "scratch"}


@pytest.mark.parametrize(
    ("argv", "scratch_name"),
    [(["--quick"], "quick.md"), (["--only", "proxy,latency"], "partial.md"), (["--runs", "3"], "partial.md")],
)
def test_quick_partial_or_short_runs_never_replace_the_committed_results(
    outputs: dict[str, Path], argv: list[str], scratch_name: str
) -> None:
    readme_before = outputs["readme"].read_text()
    assert bench_main.main(argv) == 0
    assert outputs["results"].read_text() == "committed results\n"
    assert outputs["readme"].read_text() == readme_before
    assert "proxy CPU per event" in (outputs["scratch"] / scratch_name).read_text()


def test_a_full_run_replaces_the_results_and_the_readme_table(outputs: dict[str, Path]) -> None:
    assert bench_main.main([]) == 0
    results = outputs["results"].read_text()
    assert "| proxy alone | proxy CPU per event | 30.0 µs (28.0 µs..33.0 µs, 5 runs) | <= 40 µs | PASS |" in results
    readme = outputs["readme"].read_text()
    assert "old table" not in readme
    assert "| proxy alone | proxy CPU per event |" in readme and "- Machine: " in readme
    assert readme.startswith("# Project\n\n## Performance\n\n") and readme.endswith(f"{README_END}\n\n## Next\n")


def test_a_full_run_rewrites_the_page_that_holds_the_performance_section() -> None:
    # The README is a short front door (issue 23); the results table lives with the Performance notes.
    page = page_with("Performance")
    assert bench_main.RESULTS_PAGE == page
    text = page.read_text(encoding="utf-8")
    assert text.index(README_START) < text.index(README_END)
    assert README_START not in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_update_readme_refuses_a_readme_without_the_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# No block\n")
    with pytest.raises(ValueError, match="no results block"):
        update_readme(readme, "# Benchmark results\n\n- Machine: x\n")


def test_runs_alternate_their_order_and_figures_show_median_and_range() -> None:
    order: list[str] = []
    results = alternate({"a": lambda: order.append("a") or 1.0, "b": lambda: order.append("b") or 2.0}, 4)
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert results == {"a": [1.0] * 4, "b": [2.0] * 4}
    assert spread([3.0, 1.0, 2.0, 5.0, 4.0], lambda v: f"{v:.0f}") == "3 (1..5, 5 runs)"
