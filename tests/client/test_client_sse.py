"""The client's incremental SSE parser: any chunking of the same bytes gives the same events."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from client.sse import SseComment, SseMessage, SseParser

STREAM = (
    ": keep-alive\n\n"
    'event: start\ndata: {"sessionId": "s1"}\n\n'
    'event: delta\ndata: {"text": "h\u00e9llo \u3053\u3093"}\n\n'
    "data: line one\ndata: line two\n\n"
    'event: done\ndata: {"sessionId": "s1"}\n\n'
).encode("utf-8")
EXPECTED = [
    SseComment("keep-alive"),
    SseMessage("start", '{"sessionId": "s1"}', None),
    SseMessage("delta", '{"text": "h\u00e9llo \u3053\u3093"}', None),
    SseMessage("message", "line one\nline two", None),
    SseMessage("done", '{"sessionId": "s1"}', None),
]


def parse_in_chunks(stream: bytes, cuts: list[int]) -> list[SseMessage | SseComment]:
    parser = SseParser()
    items: list[SseMessage | SseComment] = []
    previous = 0
    for cut in sorted(set(cuts)) + [len(stream)]:
        items += parser.feed(stream[previous:cut])
        previous = cut
    return items + parser.finish()


def test_whole_stream_at_once() -> None:
    assert parse_in_chunks(STREAM, []) == EXPECTED


def test_one_byte_at_a_time_splits_utf8_characters_too() -> None:
    assert parse_in_chunks(STREAM, list(range(len(STREAM)))) == EXPECTED


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    assert parse_in_chunks(STREAM, cuts) == EXPECTED


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["\r\n", "\r", "\n"]), st.lists(st.integers(min_value=0, max_value=80), max_size=8))
def test_every_line_ending_style_and_chunking(newline: str, cuts: list[int]) -> None:
    stream = STREAM.decode("utf-8").replace("\n", newline).encode("utf-8")
    assert parse_in_chunks(stream, cuts) == EXPECTED


def test_crlf_split_between_cr_and_lf_is_one_line_end() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\r") == []
    # Had the CR+LF counted as two line ends, "a" would have been dispatched already.
    assert parser.feed(b"\ndata: b\n\n") == [SseMessage("message", "a", None), SseMessage("message", "b", None)]


def test_comments_fields_without_space_and_ids() -> None:
    parser = SseParser()
    items = parser.feed(b":no space comment\nid: 7\nevent:delta\ndata:{}\nretry: 10\nunknown: x\n\n")
    assert items == [SseComment("no space comment"), SseMessage("delta", "{}", "7")]


def test_event_without_data_is_dropped_and_event_name_resets() -> None:
    parser = SseParser()
    assert parser.feed(b"event: lonely\n\ndata: x\n\n") == [SseMessage("message", "x", None)]


def test_empty_data_line_counts_as_data() -> None:
    assert SseParser().feed(b"data\n\n") == [SseMessage("message", "", None)]


def test_byte_order_mark_at_start_is_ignored_even_when_split() -> None:
    parser = SseParser()
    assert parser.feed(b"\xef\xbb") == []
    assert parser.feed(b"\xbfdata: x\n\n") == [SseMessage("message", "x", None)]


def test_unterminated_event_is_pending_then_dropped_at_the_end() -> None:
    parser = SseParser()
    assert parser.feed(b"data: half") == []
    assert parser.has_partial_event
    assert parser.finish() == []


def test_final_cr_completes_the_event_at_end_of_stream() -> None:
    parser = SseParser()
    assert parser.feed(b"data: x\r\r") == []
    assert parser.finish() == [SseMessage("message", "x", None)]
