"""bench/signer_cost.py (issue #20, item 3) runs: it times botocore's import and per-request cost in
fresh interpreters, and says so when the smaller signer cannot be imported (aws-sdk-signers needs
Python >= 3.12; this venv may be older)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import botocore
import pytest

from bench import signer_cost


def test_signer_cost_prints_botocore_rows_and_names_a_missing_signer(capsys: pytest.CaptureFixture[str]) -> None:
    site = str(Path(botocore.__file__).resolve().parents[1])
    assert signer_cost.main(["--site", site, "--runs", "1", "--calls", "20"]) == 0
    printed = capsys.readouterr().out
    for name in list(signer_cost.IMPORTS)[:3]:
        assert re.search(rf"^import CPU, {re.escape(name)}: [\d.]+ ms \([\d.]+ ms\.\.[\d.]+ ms, 1 runs\)$", printed, re.M)
    for name in list(signer_cost.PER_REQUEST)[:2]:
        assert re.search(rf"^CPU per request, {re.escape(name)}: \d+ µs \(", printed, re.M)
    signer_importable = sys.version_info >= (3, 12) and signer_cost.available(site, "aws_sdk_signers")
    assert ("aws-sdk-signers: not importable" in printed) != signer_importable
