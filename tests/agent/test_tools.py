"""The example tools in agent/streaming_agent/tools.py, called as Strands calls them (issue 21)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from streaming_agent.tools import TOOLS, current_time, word_count


def test_the_agent_offers_both_example_tools() -> None:
    assert [tool.tool_name for tool in TOOLS] == ["current_time", "word_count"]
    assert current_time.tool_spec["inputSchema"]["json"]["properties"]["timezone"]["type"] == "string"


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/St_Johns"])
def test_current_time_answers_in_the_zone_asked_for(zone: str) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    said = datetime.fromisoformat(current_time(timezone=zone))
    assert before <= said <= datetime.now(timezone.utc)
    if zone == "Asia/Tokyo":
        assert said.utcoffset() == timedelta(hours=9)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../../etc/passwd", "/etc/localtime", "utc ", "Asia/tokyo"])
def test_current_time_refuses_a_zone_that_is_not_an_iana_name(zone: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone") as raised:
        current_time(timezone=zone)
    assert repr(zone) in str(raised.value) and "IANA" in str(raised.value)


def test_word_count_counts_words_and_characters() -> None:
    assert word_count(text="  one two\nthree ") == {"words": 3, "characters": 16}


def test_without_a_time_zone_database_current_time_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import streaming_agent.tools as tools

    monkeypatch.setattr(tools, "_time_zones", lambda: frozenset())
    with pytest.raises(RuntimeError, match="no IANA time zone database"):
        current_time(timezone="UTC")
