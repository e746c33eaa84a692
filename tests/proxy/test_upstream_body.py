"""The response body's framing (upstream_http._Body): the same bytes, the same end and the same
refusals as h11 reading the same response, however the network splits it; and a read takes everything
that has arrived in one pass, not one chunk at a time."""

from __future__ import annotations

import asyncio
import time

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming_proxy.upstream_http import (
    MAX_LINE_BYTES,
    READ_LIMIT,
    BodyProtocolError,
    UpstreamBroken,
    UpstreamTimeout,
    _Body,
)
from streaming_shared.edge import load_settings
from tests.support.fake_agentcore import CHUNKED_HEAD, RUNTIME_ARN, FakeAgentCore, chunk

FRAMES = [b'data: {"type": "delta", "text": "w%d "}\n\n' % index for index in range(5)] + [b'data: {"type": "done"}\n\n']


def client() -> h11.Connection:
    connection = h11.Connection(h11.CLIENT)
    connection.send(h11.Request(method="POST", target="/", headers=[("Host", "agentcore"), ("Content-Length", "0")]))
    connection.send(h11.EndOfMessage())
    return connection


def with_h11(raw: bytes, pieces: list[bytes]) -> tuple[bytes, bool, bool]:
    """What h11 alone reads of a response given in `pieces`: its body, whether it ended, whether it
    refused the framing (after the whole input, then the end of the connection)."""
    connection = client()
    body = b""
    for piece in [*pieces, b""]:
        connection.receive_data(piece)
        while True:
            try:
                event = connection.next_event()
            except h11.RemoteProtocolError:
                return body, False, True
            if isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return body, True, False
            elif event is h11.NEED_DATA or event is h11.PAUSED:
                break
    return body, False, False


def with_body(raw: bytes, pieces: list[bytes]) -> tuple[bytes, bool, bool]:
    """The same through h11 for the head and _Body after it, as upstream_http reads a response."""
    connection = client()
    pending = list(pieces)
    head = None
    while head is None and pending:
        connection.receive_data(pending.pop(0))
        while True:
            event = connection.next_event()
            if isinstance(event, h11.Response):
                head = event
                break
            if event is h11.NEED_DATA:
                break
    assert head is not None
    reader = _Body(head, connection.trailing_data[0])
    body = b""
    try:
        body += reader.take()
        for piece in pending:
            reader.feed(piece)
            body += reader.take()
    except BodyProtocolError:
        return body, False, True
    # The connection ends: a body read until the close has ended, any other that has not is cut
    # short, which upstream_http refuses as h11 does.
    if reader.ended or reader.until_close:
        return body, True, False
    return body, False, True


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(raw), *(cut % (len(raw) + 1) for cut in cuts)})
    return [raw[start:end] for start, end in zip(points, points[1:])]


def test_a_chunked_body_split_at_every_byte_reads_whole():
    raw = CHUNKED_HEAD + b"".join(chunk(frame) for frame in FRAMES) + b"0\r\n\r\n"
    head_end = len(CHUNKED_HEAD)
    for cut in range(1, len(raw)):
        pieces = [raw[:cut], raw[cut:]]
        assert with_body(raw, pieces) == (b"".join(FRAMES), True, False), cut
    # One byte at a time after the head.
    assert with_body(raw, [raw[:head_end], *(raw[i:i + 1] for i in range(head_end, len(raw)))]) == (
        b"".join(FRAMES), True, False)


def test_many_chunks_that_arrived_together_are_taken_at_once():
    connection = client()
    connection.receive_data(CHUNKED_HEAD)
    head = connection.next_event()
    reader = _Body(head, b"")
    reader.feed(b"".join(chunk(frame) for frame in FRAMES[:3]))
    reader.feed(chunk(FRAMES[3])[:7])  # the next chunk's start only
    assert reader.take() == b"".join(FRAMES[:3]) + FRAMES[3][:7 - len(b"%x\r\n" % len(FRAMES[3]))]
    assert not reader.ended


def test_one_take_holds_whole_chunks_up_to_the_read_limit_and_the_rest_waits():
    connection = client()
    connection.receive_data(CHUNKED_HEAD)
    reader = _Body(connection.next_event(), b"")
    pieces = [bytes([65 + index % 26]) * 1000 for index in range(3 * READ_LIMIT // 1000)]
    reader.feed(b"".join(map(chunk, pieces)))
    takes = []
    while data := reader.take():
        takes.append(data)
    assert b"".join(takes) == b"".join(pieces)
    # Each take ends at a chunk's end, at the first one that reaches the limit.
    assert len(takes) == 3 and all(READ_LIMIT <= len(data) < READ_LIMIT + 1000 for data in takes[:2])
    assert reader.buffered == 0


@pytest.mark.parametrize(
    "tail",
    [
        b"5;name=value\r\nhello\r\n0\r\n\r\n",  # a chunk extension
        b"5  \r\nhello\r\n0\r\nExpires: never\r\nX-Other: 1\r\n\r\n",  # spaces after the size, trailers
        b"00005\r\nhello\r\n000\r\n\r\n",  # leading zeros
        b"5\r\nhel",  # cut short
        b"5\r\nhelloXY0\r\n\r\n",  # no CRLF after the data
        b"5\r\nhello\rX0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",  # not hex digits
        b"+5\r\nhello\r\n0\r\n\r\n",
        b"5_0\r\nhello\r\n0\r\n\r\n",
        b"\r\n",
        b"5\nhello\r\n0\r\n\r\n",  # a bare LF ends no chunk-size line
        b"0\r\nno colon here\r\n\r\n",  # a malformed trailer
        b"0\r\n\r\n",
        b"0\r\n\n",  # the trailer section ends at a bare LF (RFC 9112 section 2.2 allows it; h11 does)
        b"5\r\nhello\r\n0\r\nX-A: 1\nX-B: 2\r\n\n",
        b"0\r\nX-A: 1\n\r\n",
        b"0\r\nX-A: 1\r\n\r\r\n",
        b"1" * (MAX_LINE_BYTES + 10),  # a chunk-size line that never ends
    ],
)
def test_chunked_framing_reads_and_refuses_as_h11_does(tail: bytes):
    raw = CHUNKED_HEAD + tail
    for cut in range(len(CHUNKED_HEAD), len(raw) + 1, max(1, len(tail) // 40)):
        pieces = [raw[:cut], raw[cut:]]
        ours, theirs = with_body(raw, pieces), with_h11(raw, pieces)
        # h11 reads the bytes of a chunk it later refuses; so do we: compare what each delivered
        # up to the refusal, and that both refused.
        assert ours == theirs, (cut, ours, theirs)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n",
        b"HTTP/1.1 500 X\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",  # until the connection closes
        b"HTTP/1.0 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n",
    ],
)
@given(body=st.binary(max_size=40), cuts=st.lists(st.integers(min_value=0), max_size=4))
@settings(max_examples=40, deadline=None)
def test_other_framings_read_as_h11_does(head: bytes, body: bytes, cuts: list[int]):
    raw = head + body
    pieces = [raw[: len(head)], *split(raw[len(head):], cuts)]
    assert with_body(raw, pieces) == with_h11(raw, pieces)


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=300), max_size=8),
    extension=st.sampled_from([b"", b";a=b", b"  "]),
    trailers=st.sampled_from([b"", b"X-A: 1\r\n"]),
    cuts=st.lists(st.integers(min_value=0), max_size=10),
)
@settings(max_examples=200, deadline=None)
def test_generated_chunked_bodies_split_anywhere_read_as_h11_does(
    sizes: list[int], extension: bytes, trailers: bytes, cuts: list[int]
):
    data = [bytes([65 + index % 26]) * size for index, size in enumerate(sizes)]
    chunks = b"".join(b"%x%s\r\n%s\r\n" % (len(piece), extension, piece) for piece in data)
    raw = CHUNKED_HEAD + chunks + b"0\r\n" + trailers + b"\r\n"
    pieces = [raw[: len(CHUNKED_HEAD)], *split(raw[len(CHUNKED_HEAD):], cuts)]
    assert with_body(raw, pieces) == with_h11(raw, pieces) == (b"".join(data), True, False)


@pytest.mark.parametrize(
    ("head", "reusable"),
    [
        (CHUNKED_HEAD, True),
        (b"HTTP/1.1 200 OK\r\nconnection: keep-alive, Close\r\ntransfer-encoding: chunked\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", False),
    ],
)
def test_only_a_kept_alive_response_read_to_its_end_leaves_its_connection_reusable(head: bytes, reusable: bool):
    # The pool's own decision, as h11 would make it (MUST_CLOSE on `Connection: close` or HTTP/1.0).
    connection = client()
    connection.receive_data(head + chunk(FRAMES[0]) + b"0\r\n\r\n")
    assert isinstance(connection.next_event(), h11.Response)
    assert isinstance(connection.next_event(), h11.Data)
    assert isinstance(connection.next_event(), h11.EndOfMessage)
    assert (connection.their_state is h11.DONE) is reusable

    answer = FakeAgentCore(lambda sock: sock.sendall(head + chunk(FRAMES[0]) + b"0\r\n\r\n"))
    pooled = asyncio.run(read_all(answer))
    assert pooled is reusable


async def read_all(agentcore: FakeAgentCore) -> bool:
    response = await agentcore.open_stream("s" * 40, "hello", "turn-1")
    while await response.read():
        pass
    [served] = agentcore.served
    return served.connection in agentcore.pool._idle


def test_bytes_after_the_body_keep_its_connection_out_of_the_pool():
    answer = FakeAgentCore(lambda sock: sock.sendall(CHUNKED_HEAD + chunk(FRAMES[0]) + b"0\r\n\r\nHTTP/1.1 200"))
    assert asyncio.run(read_all(answer)) is False


def test_a_read_returns_every_frame_that_arrived_together():
    """The frames of several chunks that arrived in one piece come out of one read (the relay then
    sends them to the client in one write), not one read per chunk."""
    frames = b"".join(chunk(frame) for frame in FRAMES)

    async def first_read() -> tuple[bytes | None, bytes | None]:
        agentcore = FakeAgentCore(lambda sock: sock.sendall(CHUNKED_HEAD + frames + b"0\r\n\r\n"))
        response = await agentcore.open_stream("s" * 40, "hello", "turn-1")
        await asyncio.sleep(0.05)  # every byte has arrived
        return await response.read(), await response.read()

    assert asyncio.run(first_read()) == (b"".join(FRAMES), b"")


def test_a_broken_chunk_is_a_protocol_error_and_closes_the_connection():
    async def read_broken() -> tuple[bytes | None, str, bool]:
        agentcore = FakeAgentCore(lambda sock: sock.sendall(CHUNKED_HEAD + chunk(FRAMES[0]) + b"zz\r\n"))
        response = await agentcore.open_stream("s" * 40, "hello", "turn-1")
        await asyncio.sleep(0.05)
        first = await response.read()
        with pytest.raises(UpstreamBroken) as broken:
            await response.read()
        [served] = agentcore.served
        return first, broken.value.args[0], served.connection.transport.is_closing()

    assert asyncio.run(read_broken()) == (FRAMES[0], "ProtocolError", True)


def test_bytes_that_arrive_while_a_connection_waits_in_the_pool_keep_it_from_being_reused():
    """A response the server sends with nobody asking (a response split in two, a confused server)
    would be read as the answer to the next stream that takes the connection: another session's."""
    stray = CHUNKED_HEAD + chunk(b'data: {"type": "delta", "text": "not yours"}\n\n') + b"0\r\n\r\n"
    answers = []

    def answer(sock) -> None:
        answers.append(sock)
        sock.sendall(CHUNKED_HEAD + chunk(FRAMES[0]) + b"0\r\n\r\n")
        if len(answers) == 1:
            time.sleep(0.05)  # after the proxy has read the body's end and pooled the connection
            sock.sendall(stray)

    async def two_streams() -> tuple[bytes, int]:
        agentcore = FakeAgentCore(answer)
        first = await agentcore.open_stream("s" * 40, "hello", "turn-1")
        while await first.read():
            pass
        await asyncio.sleep(0.2)  # the stray response has arrived
        second = await agentcore.open_stream("s" * 40, "hello", "turn-2")
        body = b""
        while data := await second.read():
            body += data
        return body, agentcore.pool.opened

    assert asyncio.run(two_streams()) == (FRAMES[0], 2)


def test_a_response_with_both_transfer_encoding_and_content_length_is_read_chunked_and_never_pooled():
    # RFC 9112 section 6.3: Transfer-Encoding overrides Content-Length, and such a message "ought to
    # be handled as an error": whoever framed it may disagree with us about where it ends.
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n"

    async def first_read() -> tuple[bytes | None, bool]:
        agentcore = FakeAgentCore(lambda sock: sock.sendall(head + chunk(FRAMES[0]) + b"0\r\n\r\n"))
        response = await agentcore.open_stream("s" * 40, "hello", "turn-1")
        body = b""
        while data := await response.read():
            body += data
        [served] = agentcore.served
        return body, served.connection in agentcore.pool._idle

    assert asyncio.run(first_read()) == (FRAMES[0], False)


def test_an_error_answer_whose_body_stalls_ends_the_call_at_the_stream_limit():
    """AgentCore's error head came, its body never ends: the call must still end (the stream holds its
    slot while the call opens), as botocore's read timeout ended it."""
    settings = load_settings({"AGENT_RUNTIME_ARN": RUNTIME_ARN, "PROXY_STREAM_TIMEOUT_SECONDS": "1",
                              "PROXY_KEEPALIVE_SECONDS": "0.5"})

    def stalled(sock) -> None:
        sock.sendall(b"HTTP/1.1 500 X\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{")
        time.sleep(5)

    async def call() -> str:
        agentcore = FakeAgentCore(stalled, settings)
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout) as timeout:
            await asyncio.wait_for(agentcore.open_stream("s" * 40, "hello", "turn-1"), 4)
        assert time.monotonic() - started < 2.5
        [served] = agentcore.served
        assert served.connection.transport.is_closing()
        return timeout.value.args[0]

    assert asyncio.run(call()) == "ReadTimeout"
