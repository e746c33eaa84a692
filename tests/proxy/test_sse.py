import pytest

from streaming_proxy.sse import SseDecoder, SseProtocolError


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
