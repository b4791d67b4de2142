"""Split feeding and robustness: the same bytes cut any way give the same
events, the same answers and the same limit decisions; nothing the peer
sends makes ``receive_data`` raise."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.limits import HTTP2Limits
from sockit.proto.events import Role
from sockit.proto.hpack import Encoder
from sockit.proto.http2 import (
    PREFACE,
    Connection,
    ConnectionFailed,
    ConnectionState,
    ContinuationFrame,
    DataFrame,
    GoAwayFrame,
    H2Config,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    UnknownFrame,
    WindowUpdateFrame,
    serialize,
)
from sockit.proto.http2.frames import Priority
from tests.proto.http2._h2_support import REQUEST
from tests.support.feeding import splits


def client_bytes() -> bytes:
    """A busy client: requests, bodies, trailers, pings, resets, padding."""
    enc = Encoder()
    frames: list[Any] = [SettingsFrame(((4, 100_000), (1, 2048))), SettingsFrame(ack=True)]
    frames.append(HeadersFrame(1, enc.encode(REQUEST), True))
    post = [(b":method", b"POST"), *REQUEST[1:], (b"content-length", b"10")]
    frames.append(HeadersFrame(3, enc.encode(post), False))
    frames.append(DataFrame(3, b"01234", pad_length=7))
    frames.append(PingFrame(b"pingping"))
    frames.append(DataFrame(3, b"56789", end_stream=True))
    block = enc.encode([*REQUEST[:3], (b":path", b"/long"), (b"x-a", b"b" * 40)])
    frames.append(HeadersFrame(5, block[:5], False, False))
    frames.append(ContinuationFrame(5, block[5:20]))
    frames.append(ContinuationFrame(5, block[20:], True))
    frames.append(DataFrame(5, b"x" * 3000))
    frames.append(HeadersFrame(5, enc.encode([(b"x-trailer", b"1")]), True))
    frames.append(PriorityFrame(7, Priority(1, 20)))
    frames.append(HeadersFrame(7, enc.encode(REQUEST), False))
    frames.append(RstStreamFrame(7, 8))
    frames.append(WindowUpdateFrame(0, 1000))
    frames.append(UnknownFrame(0, 0xEE, 0, b"ext"))
    # a malformed request (uppercase name) and then a connection error
    frames.append(HeadersFrame(9, enc.encode([*REQUEST, (b"Bad", b"x")]), True))
    frames.append(HeadersFrame(11, enc.encode(REQUEST), True))
    frames.append(DataFrame(13, b"idle stream"))
    frames.append(PingFrame(b"too late"))
    return PREFACE + b"".join(serialize(f) for f in frames)


def feed(make: Any, chunks: list[bytes], now: float = 1.0) -> tuple[list[Any], bytes]:
    conn = make()
    conn.data_to_send()
    events: list[Any] = []
    out = b""
    for chunk in chunks:
        events.extend(conn.receive_data(chunk, now=now))
        out += conn.data_to_send()
    events.extend(conn.receive_data(b"", now=now))
    return events, out + conn.data_to_send()


def test_server_split_feeding_is_identical() -> None:
    data = client_bytes()
    results = [feed(lambda: Connection(Role.SERVER), chunks) for chunks in splits(data, seed=3)]
    first_events, first_out = results[0]
    kinds = [type(e).__name__ for e in first_events]
    assert kinds.count("Request") == 5
    assert "Trailers" in kinds and "PingReceived" in kinds and "StreamReset" in kinds
    assert isinstance(first_events[-1], ConnectionFailed)
    for events, out in results[1:]:
        assert events == first_events
        assert out == first_out


def test_flood_decisions_do_not_depend_on_splits() -> None:
    data = PREFACE + serialize(SettingsFrame()) + serialize(PingFrame(bytes(8))) * 60
    config = H2Config(limits=HTTP2Limits(ping_rate=20.0))
    results = [
        feed(lambda: Connection(Role.SERVER, config), chunks) for chunks in splits(data, seed=5)
    ]
    for events, out in results:
        assert events == results[0][0]
        assert out == results[0][1]
    assert isinstance(results[0][0][-1], ConnectionFailed)
    assert sum(type(e).__name__ == "PingReceived" for e in results[0][0]) == 20


def test_client_split_feeding_is_identical() -> None:
    enc = Encoder()
    frames: list[Any] = [SettingsFrame(((3, 10),)), SettingsFrame(ack=True)]
    frames.append(HeadersFrame(1, enc.encode([(b":status", b"103")]), False))
    frames.append(HeadersFrame(1, enc.encode([(b":status", b"200"), (b"a", b"b")]), False))
    frames.append(DataFrame(1, b"hello", pad_length=3))
    frames.append(HeadersFrame(1, enc.encode([(b"grpc-status", b"0")]), True))
    frames.append(GoAwayFrame(1, 0, b"done"))
    data = b"".join(serialize(f) for f in frames)

    def make() -> Connection:
        from sockit.proto.http2 import Request

        conn = Connection(Role.CLIENT)
        conn.send(Request(1, b"GET", b"/", authority=b"a", end_stream=True))
        return conn

    results = [feed(make, chunks) for chunks in splits(data, seed=9)]
    kinds = [type(e).__name__ for e in results[0][0]]
    assert kinds[-2:] == ["StreamEnded", "GoAwayReceived"]
    for events, out in results[1:]:
        assert (events, out) == results[0]


def _after_handshake(role: Role) -> Connection:
    conn = Connection(role)
    prefix = PREFACE if role is Role.SERVER else b""
    conn.receive_data(prefix + serialize(SettingsFrame()), now=0.0)
    return conn


@settings(max_examples=300)
@given(st.binary(max_size=400), st.sampled_from([Role.SERVER, Role.CLIENT]))
def test_arbitrary_bytes_never_raise(data: bytes, role: Role) -> None:
    conn = _after_handshake(role)
    events = conn.receive_data(data, now=1.0)
    assert isinstance(events, list)
    conn.data_to_send()
    assert isinstance(conn.receive_eof(), list)
    assert conn.state is ConnectionState.CLOSED


def _frame_strategy() -> st.SearchStrategy[Any]:
    sid = st.sampled_from([0, 1, 2, 3, 5, 7, 0x7FFFFFFF])
    small = st.binary(max_size=40)
    return st.one_of(
        st.builds(DataFrame, sid, small, st.booleans(), st.none() | st.integers(0, 20)),
        st.builds(HeadersFrame, sid, small, st.booleans(), st.booleans()),
        st.builds(
            lambda s, f, e: HeadersFrame(s, Encoder().encode(f), e),
            sid,
            st.lists(
                st.tuples(
                    st.sampled_from([b":method", b":path", b":status", b"x", b"te", b"X"]), small
                ),
                max_size=5,
            ),
            st.booleans(),
        ),
        st.builds(ContinuationFrame, sid, small, st.booleans()),
        st.builds(
            PriorityFrame,
            sid,
            st.builds(Priority, st.integers(0, 9), st.integers(1, 256), st.booleans()),
        ),
        st.builds(RstStreamFrame, sid, st.integers(0, 20)),
        st.builds(
            SettingsFrame,
            st.lists(st.tuples(st.integers(0, 9), st.integers(0, (1 << 32) - 1)), max_size=3).map(
                tuple
            ),
            st.booleans(),
        ),
        st.builds(PingFrame, st.binary(min_size=8, max_size=8), st.booleans()),
        st.builds(GoAwayFrame, st.integers(0, 9), st.integers(0, 20), small),
        st.builds(WindowUpdateFrame, sid, st.integers(1, (1 << 31) - 1)),
    )


@settings(max_examples=300)
@given(st.lists(_frame_strategy(), max_size=12), st.sampled_from([Role.SERVER, Role.CLIENT]))
def test_arbitrary_frames_never_raise(frames: list[Any], role: Role) -> None:
    conn = _after_handshake(role)
    if role is Role.CLIENT:
        from sockit.proto.http2 import Request

        conn.send(Request(1, b"POST", b"/", authority=b"a"))
    raw = b"".join(serialize(f) for f in frames)
    rng = random.Random(len(raw))
    pos = 0
    while pos < len(raw):
        step = rng.randint(1, 50)
        assert isinstance(conn.receive_data(raw[pos : pos + step], now=pos / 1000), list)
        pos += step
    conn.data_to_send()
    conn.handle_timeout(1e9)
