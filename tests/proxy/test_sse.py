import pytest

from streaming_proxy.sse import MAX_FRAME_BYTES, SseDecoder, SseProtocolError


def test_frames_split_anywhere_are_reassembled():
    stream = b'data: {"a": 1}\n\ndata: "two"\r\n\r\n: comment\n\ndata: x\ndata: y\n\n'
    for size in range(1, len(stream) + 1):
        decoder = SseDecoder()
        events = []
        for start in range(0, len(stream), size):
            events += decoder.feed(stream[start : start + size])
        assert events == ['{"a": 1}', '"two"', "x\ny"], size
        assert not decoder.has_partial_event


def test_unfinished_event_is_reported_as_partial():
    decoder = SseDecoder()
    assert decoder.feed(b'data: {"a"') == []
    assert decoder.has_partial_event


def test_multibyte_text_split_between_chunks():
    data = 'data: "héllo 👋"\n\n'.encode()
    decoder = SseDecoder()
    assert decoder.feed(data[:9]) + decoder.feed(data[9:]) == ['"héllo 👋"']


@pytest.mark.parametrize("garbage", [b"<html>oops</html>\n\n", b"garbage without colon\n", b"field: value\n\n"])
def test_lines_that_are_not_sse_fields_are_a_protocol_error(garbage):
    with pytest.raises(SseProtocolError):
        SseDecoder().feed(garbage)


def test_an_event_of_many_data_lines_is_bounded_like_one_long_line():
    # Each line is short, so the unfinished line never grows; the event they build must not grow
    # without limit either (an agent that never sends the blank line would fill the proxy's memory).
    line = b"data: " + b"x" * (1024 * 1024) + b"\n"
    decoder = SseDecoder()
    with pytest.raises(SseProtocolError, match="larger than the proxy accepts"):
        for _ in range(MAX_FRAME_BYTES // len(line) + 2):
            decoder.feed(line)


def test_an_event_of_many_data_lines_under_the_bound_is_whole():
    line = b"data: " + b"x" * (1024 * 1024) + b"\n"
    count = MAX_FRAME_BYTES // len(line) - 1
    decoder = SseDecoder()
    events = []
    for _ in range(count):
        events += decoder.feed(line)
    events += decoder.feed(b"\n")
    assert events == ["\n".join(["x" * (1024 * 1024)] * count)]
