"""Every target of the benchmark is measured in one run against the Node anchor and printed with its
verdict (issue #20's table). The runs here are real but small (--quick): they check that each row is
there with PASS or MISS, never how fast anything is."""

from __future__ import annotations

import math
import os
import re
import shutil
from pathlib import Path

import pytest

import bench.__main__ as bench_main
from bench import anchor, cold_start
from bench.anchor import LABEL, anchored_figure
from packager import artifacts

RATIO_TARGET = re.escape(f"x {LABEL}")
# (row name, target) of every row with a target in a `--only proxy` run, as regular expressions.
PROXY_ROWS = [
    (r"proxy CPU per event, tokens one at a time, 1 ms apart, uvloop \+ h11 \(deployed\) .*: ours / " + re.escape(LABEL), r"<= 1\.0" + RATIO_TARGET),
    (r"proxy CPU per event, burst \(frames back to back\), uvloop \+ h11 \(deployed\) .*: ours / " + re.escape(LABEL), r"<= 1\.0" + RATIO_TARGET),
    (r"time to first token added, .*: ours / " + re.escape(LABEL), r"<= 1\.0" + RATIO_TARGET),
    (r"per-event delay p99 added by the proxy: p99 through it minus p99 read directly, same round .*", r"<= 0\.5 ms"),
    (r"new upstream connections per warm stream .*", "0"),
    (r"proxy memory growth relaying .*, fast reader", "< 5 MiB"),
    (r"proxy memory growth relaying .*, stalled reader .*", "< 5 MiB"),
    (r"\d+ requests at once against the cap of \d+ streams", r"\d+ stream, 1 refused"),
]
RATIO_VALUE = r"\d+\.\d\dx \(\d+\.\d\dx\.\.\d+\.\d\dx, (\d+) runs\); ours .*, " + re.escape(LABEL) + r" .*"


@pytest.fixture
def node_available() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail(f"{anchor.INSTALL_HINT}. CI must run these tests.", pytrace=False)
        pytest.skip(anchor.INSTALL_HINT)


def table_rows(text: str) -> list[list[str]]:
    """The cells of the table's data rows (not its heading or the line under it)."""
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")]
    return [row for row in rows if row[0] not in ("part", "---")]


def test_a_quick_proxy_run_prints_every_target_with_its_verdict(
    node_available: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench_main, "SCRATCH", tmp_path)
    assert bench_main.main(["--quick", "--only", "proxy"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("| part | figure |") == 1
    rows = table_rows(printed)
    with_targets = [row for row in rows if row[3]]
    for name, target in PROXY_ROWS:
        matching = [row for row in with_targets if re.fullmatch(name, row[1]) and re.fullmatch(target, row[3])]
        assert len(matching) == 1, f"no single row {name!r} with target {target!r} in:\n{printed}"
        assert matching[0][4] in ("PASS", "MISS")
    assert len(with_targets) == len(PROXY_ROWS), "a row with a target that this test does not know"
    ratio_rows = [row for row in with_targets if row[3].endswith(f"x {LABEL}")]
    assert len(ratio_rows) == 3
    for row in ratio_rows:
        runs = re.fullmatch(RATIO_VALUE, row[2])
        assert runs and runs.group(1) == "2", row  # --quick: 2 rounds, each side measured in every one
    assert (tmp_path / "quick.md").read_text().count(f"x {LABEL}") == 3


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_cold_start_row_compares_the_proxy_with_the_anchor_in_the_same_runs(node_available: None) -> None:
    if artifacts.find_bytecode_compiler() is None:
        pytest.skip("no python3.13 on this machine (CI has one)")
    figures = cold_start.measure_as_shipped(2)
    [row] = [figure for figure in figures if figure.target]
    assert row.part == "cold start" and row.target == f"<= 1.5x {LABEL}"
    assert row.verdict in ("PASS", "MISS")
    runs = re.fullmatch(RATIO_VALUE, row.value)
    assert runs and runs.group(1) == "2"


def test_anchor_ready_seconds_is_a_real_start_of_node(node_available: None) -> None:
    anchor.install()
    seconds = anchor.ready_seconds()
    assert 0 < seconds < 30


def test_a_ratio_over_its_limit_is_printed_as_a_miss_with_both_sides() -> None:
    figure = anchored_figure("proxy alone", "CPU", [30.0, 20.0, 50.0], [10.0, 20.0, 10.0], lambda v: f"{v:.0f} µs", 1.0)
    assert figure.verdict == "MISS"
    assert figure.value == f"3.00x (1.00x..5.00x, 3 runs); ours 30 µs (20 µs..50 µs, 3 runs), {LABEL} 10 µs (10 µs..20 µs, 3 runs)"
    assert figure.target == f"<= 1.0x {LABEL}"
    assert anchored_figure("proxy alone", "CPU", [9.0, 14.0], [10.0, 10.0], str, 1.5).verdict == "PASS"


def test_ratios_pair_rounds_and_survive_an_anchor_that_adds_nothing() -> None:
    with pytest.raises(ValueError, match="pair them round by round"):
        anchored_figure("proxy alone", "x", [1.0, 2.0], [1.0], str, 1.0)
    assert anchor.run_ratio(-0.1, 0.0) == 1.0
    assert math.isinf(anchor.run_ratio(0.2, 0.0))
    assert anchor.run_ratio(3.0, 2.0) == 1.5
