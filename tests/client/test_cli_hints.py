"""The malformed-URL hint: one line on stderr naming the URL and what a valid one looks like."""

from __future__ import annotations

import pytest
from tests.support.client_cli import run_cli

from client.__main__ import EXIT_USAGE


@pytest.mark.parametrize(
    "url",
    ["localhost:8000", "127.0.0.1:8000", "ftp://example.com/v1", "https://", "http://127.0.0.1:80a0", "https://a.example/v1?x=1"],
)
def test_a_malformed_url_gets_a_one_line_hint_and_no_request(url: str) -> None:
    status, out, err = run_cli("hi", "--url", url)
    assert status == EXIT_USAGE and out == ""
    lines = err.splitlines()
    hints = [line for line in lines if line.startswith("hint: ")]
    assert len(hints) == 1, err
    assert repr(url) in hints[0]
    assert "https://<api-id>.execute-api.<region>.amazonaws.com/<stage>" in hints[0]
    assert "http://127.0.0.1:8000" in hints[0]
    assert not any("cannot reach" in line for line in lines)
