"""HTTP/2 frame layer: every MUST of RFC 9113 §4 and §6, round trips, interop.

Raw frames are built by hand here (``raw``), independently of ``serialize``,
so a bug shared by our writer and our parser cannot hide itself.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable

import hyperframe.frame as hf
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, SockitError
from sockit.proto.http2 import (
    PREFACE,
    ContinuationFrame,
    DataFrame,
    ErrorCode,
    Flag,
    Frame,
    FrameParser,
    FrameType,
    GoAwayFrame,
    H2ConnectionError,
    H2StreamError,
    HeadersFrame,
    PingFrame,
    Priority,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    UnknownFrame,
    WindowUpdateFrame,
    serialize,
    serialize_data,
    serialize_headers,
)

PROTOCOL = ErrorCode.PROTOCOL_ERROR
FRAME_SIZE = ErrorCode.FRAME_SIZE_ERROR
MAX_ID = 2**31 - 1


def raw(ftype: int, flags: int, sid: int, payload: bytes = b"", length: int | None = None) -> bytes:
    """A frame built octet by octet; ``length`` may lie about the payload size."""
    n = len(payload) if length is None else length
    return n.to_bytes(3, "big") + bytes((ftype, flags)) + sid.to_bytes(4, "big") + payload


def parse_all(data: bytes, max_frame_size: int = 16384) -> list[Frame]:
    parser = FrameParser(max_frame_size)
    parser.feed(data)
    frames = list(parser)
    assert parser.buffered == 0
    return frames


def parse_one(data: bytes) -> Frame:
    frames = parse_all(data)
    assert len(frames) == 1
    return frames[0]


def connection_error(
    data: bytes, code: ErrorCode, max_frame_size: int = 16384
) -> H2ConnectionError:
    parser = FrameParser(max_frame_size)
    parser.feed(data)
    with pytest.raises(H2ConnectionError) as info:
        list(parser)
    assert info.value.error_code is code
    return info.value


def stream_error(data: bytes, code: ErrorCode, sid: int) -> tuple[H2StreamError, FrameParser]:
    parser = FrameParser()
    parser.feed(data)
    with pytest.raises(H2StreamError) as info:
        parser.next_frame()
    assert info.value.error_code is code
    assert info.value.stream_id == sid
    return info.value, parser


def chunkings(data: bytes, seed: int = 0) -> Iterable[list[bytes]]:
    """Whole, byte by byte, and a few seeded random cuts."""
    yield [data]
    yield [data[i : i + 1] for i in range(len(data))]
    rng = random.Random(seed)
    for _ in range(4):
        cuts = (
            sorted(rng.sample(range(1, len(data)), min(len(data) - 1, 8))) if len(data) > 1 else []
        )
        bounds = [0, *cuts, len(data)]
        yield [data[a:b] for a, b in itertools.pairwise(bounds)]


def feed_chunks(chunks: Iterable[bytes], max_frame_size: int = 16384) -> list[Frame]:
    parser = FrameParser(max_frame_size)
    out: list[Frame] = []
    for chunk in chunks:
        parser.feed(chunk)
        out.extend(parser)
    assert parser.buffered == 0
    return out


# -- valid payloads per type, for the stream-id and flag tests ------------------------------

VALID_PAYLOAD = {
    0: b"data",
    1: b"\x82",
    2: b"\x00\x00\x00\x03\x0f",
    3: b"\x00\x00\x00\x08",
    4: b"\x00\x01\x00\x00\x10\x00",
    5: b"\x00\x00\x00\x02\x82",
    6: b"12345678",
    7: b"\x00\x00\x00\x01\x00\x00\x00\x00debug",
    8: b"\x00\x00\x00\x01",
    9: b"\x82",
}


@pytest.mark.parametrize("ftype", [0, 1, 2, 3, 5, 9])
def test_stream_frames_on_stream_zero_are_connection_protocol_errors(ftype: int) -> None:
    assert parse_one(raw(ftype, 0, 1, VALID_PAYLOAD[ftype])).stream_id == 1
    err = connection_error(raw(ftype, 0, 0, VALID_PAYLOAD[ftype]), PROTOCOL)
    assert "stream 0" in str(err)


@pytest.mark.parametrize("ftype", [4, 6, 7])
def test_connection_frames_on_a_stream_are_connection_protocol_errors(ftype: int) -> None:
    assert parse_one(raw(ftype, 0, 0, VALID_PAYLOAD[ftype])).stream_id == 0
    connection_error(raw(ftype, 0, 1, VALID_PAYLOAD[ftype]), PROTOCOL)
    connection_error(raw(ftype, 0, MAX_ID, VALID_PAYLOAD[ftype]), PROTOCOL)


def test_window_update_is_allowed_on_both() -> None:
    assert parse_one(raw(8, 0, 0, VALID_PAYLOAD[8])) == WindowUpdateFrame(0, 1)
    assert parse_one(raw(8, 0, 7, VALID_PAYLOAD[8])) == WindowUpdateFrame(7, 1)


# -- the reserved bit ----------------------------------------------------------------------


def test_reserved_bit_of_stream_id_is_ignored() -> None:
    assert parse_one(raw(0, 0, 0x80000005, b"x")) == DataFrame(5, b"x")
    assert parse_one(raw(4, 0, 0x80000000, b"")) == SettingsFrame()
    # masked to 0, so a stream frame on "stream 0x80000000" is on stream 0
    connection_error(raw(0, 0, 0x80000000, b"x"), PROTOCOL)


def test_reserved_bits_of_payload_ids_are_ignored() -> None:
    assert parse_one(raw(8, 0, 1, b"\x80\x00\x00\x05")) == WindowUpdateFrame(1, 5)
    assert parse_one(raw(7, 0, 0, b"\x80\x00\x00\x03\x00\x00\x00\x02")) == GoAwayFrame(3, 2)
    pp = parse_one(raw(5, 4, 1, b"\x80\x00\x00\x02hb"))
    assert pp == PushPromiseFrame(1, 2, b"hb", end_headers=True)
    # reserved-bit-only increment is an increment of 0
    stream_error(raw(8, 0, 1, b"\x80\x00\x00\x00"), PROTOCOL, 1)


def test_serialize_leaves_reserved_bits_unset() -> None:
    wire = serialize(WindowUpdateFrame(MAX_ID, MAX_ID))
    assert wire[5] == 0x7F and wire[9] == 0x7F
    wire = serialize(GoAwayFrame(MAX_ID, 0))
    assert wire[5] == 0 and wire[9] == 0x7F


# -- fixed sizes --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 7, 9, 16])
def test_ping_must_be_8_bytes(size: int) -> None:
    connection_error(raw(6, 0, 0, bytes(size)), FRAME_SIZE)
    connection_error(raw(6, 1, 0, bytes(size)), FRAME_SIZE)


def test_ping_of_8_bytes() -> None:
    assert parse_one(raw(6, 0, 0, b"abcdefgh")) == PingFrame(b"abcdefgh")
    assert parse_one(raw(6, 1, 0, b"abcdefgh")) == PingFrame(b"abcdefgh", ack=True)


@pytest.mark.parametrize("size", [0, 4, 6, 10])
def test_priority_of_wrong_size_is_a_stream_frame_size_error(size: int) -> None:
    after = raw(8, 0, 3, b"\x00\x00\x00\x09")
    err, parser = stream_error(raw(2, 0, 3, bytes(size)) + after, FRAME_SIZE, 3)
    assert err.frame is None
    # the bad frame was consumed: parsing continues with the next one
    assert parser.next_frame() == WindowUpdateFrame(3, 9)
    assert parser.next_frame() is None


def test_priority_of_5_bytes() -> None:
    frame = parse_one(raw(2, 0, 3, b"\x80\x00\x00\x01\xff"))
    assert frame == PriorityFrame(3, Priority(1, 256, exclusive=True))
    frame = parse_one(raw(2, 0, 3, b"\x00\x00\x00\x00\x00"))
    assert frame == PriorityFrame(3, Priority(0, 1, exclusive=False))


@pytest.mark.parametrize("size", [0, 3, 5, 8])
def test_rst_stream_must_be_4_bytes(size: int) -> None:
    connection_error(raw(3, 0, 1, bytes(size)), FRAME_SIZE)


@pytest.mark.parametrize("sid", [0, 1])
@pytest.mark.parametrize("size", [0, 3, 5, 8])
def test_window_update_must_be_4_bytes(size: int, sid: int) -> None:
    connection_error(raw(8, 0, sid, b"\x00" * (size - 1) + b"\x01"[:size]), FRAME_SIZE)


@pytest.mark.parametrize("size", [1, 5, 7, 11, 13])
def test_settings_must_be_a_multiple_of_6(size: int) -> None:
    connection_error(raw(4, 0, 0, bytes(size)), FRAME_SIZE)


@pytest.mark.parametrize("size", [0, 6, 12, 60])
def test_settings_multiple_of_6(size: int) -> None:
    frame = parse_one(raw(4, 0, 0, bytes(size)))
    assert frame == SettingsFrame(((0, 0),) * (size // 6))


@pytest.mark.parametrize("size", [1, 6, 12])
def test_settings_ack_must_be_empty(size: int) -> None:
    connection_error(raw(4, 1, 0, bytes(size)), FRAME_SIZE)
    assert parse_one(raw(4, 1, 0)) == SettingsFrame(ack=True)


def test_settings_keep_order_duplicates_and_unknown_codes() -> None:
    payload = b"".join(
        c.to_bytes(2, "big") + v.to_bytes(4, "big")
        for c, v in [(4, 10), (0xABCD, 2**32 - 1), (4, 20), (2, 7)]
    )
    frame = parse_one(raw(4, 0, 0, payload))
    assert frame == SettingsFrame(((4, 10), (0xABCD, 2**32 - 1), (4, 20), (2, 7)))


@pytest.mark.parametrize("size", [0, 4, 7])
def test_goaway_shorter_than_8_bytes(size: int) -> None:
    connection_error(raw(7, 0, 0, bytes(size)), FRAME_SIZE)


def test_goaway_with_and_without_debug_data() -> None:
    assert parse_one(raw(7, 0, 0, bytes(8))) == GoAwayFrame(0, 0, b"")
    frame = parse_one(raw(7, 0, 0, b"\x00\x00\x00\x07\x00\x00\x00\x0bcalm down"))
    assert frame == GoAwayFrame(7, ErrorCode.ENHANCE_YOUR_CALM, b"calm down")


@pytest.mark.parametrize(
    ("ftype", "flags", "size"),
    [
        (0, 0x8, 0),  # padded DATA without its pad-length octet
        (1, 0x8, 0),  # padded HEADERS without its pad-length octet
        (1, 0x20, 4),  # HEADERS with PRIORITY but fewer than 5 octets
        (1, 0x28, 5),  # padded HEADERS with PRIORITY: 1 + 5 needed
        (5, 0, 3),  # PUSH_PROMISE without a whole promised stream id
        (5, 0x8, 4),  # padded PUSH_PROMISE: 1 + 4 needed
    ],
)
def test_too_short_for_mandatory_fields(ftype: int, flags: int, size: int) -> None:
    connection_error(raw(ftype, flags, 1, bytes(size)), FRAME_SIZE)
    # one more octet is enough (a zero pad length, a zero dependency, an even id later)
    if ftype != 5:
        parse_one(raw(ftype, flags, 1, bytes(size + 1)))


# -- padding -------------------------------------------------------------------------------


@pytest.mark.parametrize(("ftype", "extra_flags"), [(0, 0), (1, 0), (1, 0x20), (5, 0)])
def test_padding_may_fill_all_but_mandatory_fields(ftype: int, extra_flags: int) -> None:
    fixed = {0: b"", 1: b"\x00\x00\x00\x00\x0f" if extra_flags else b"", 5: b"\x00\x00\x00\x02"}[
        ftype
    ]
    body = b"ab"
    for pad in (0, 1, 200, 255):
        ok = raw(ftype, 0x8 | extra_flags, 1, bytes((pad,)) + fixed + body + b"\xaa" * pad)
        frame = parse_one(ok)
        assert frame.pad_length == pad  # type: ignore[attr-defined]
        assert getattr(frame, "data", None) == body or getattr(frame, "block", None) == body
    # pad length equal to everything after the mandatory fields: empty body, fine
    frame = parse_one(raw(ftype, 0x8 | extra_flags, 1, b"\x03" + fixed + b"pad"))
    assert (getattr(frame, "data", b"") or getattr(frame, "block", b"")) == b""
    # one more octet of padding than there is room for: PROTOCOL_ERROR
    err = connection_error(raw(ftype, 0x8 | extra_flags, 1, b"\x04" + fixed + b"pad"), PROTOCOL)
    assert "padding" in str(err)
    connection_error(raw(ftype, 0x8 | extra_flags, 1, b"\xff" + fixed + b"pad"), PROTOCOL)


def test_padding_without_padded_flag_is_content() -> None:
    assert parse_one(raw(0, 0, 1, b"\x05abc")) == DataFrame(1, b"\x05abc")


def test_data_flow_controlled_length_counts_padding() -> None:
    frame = parse_one(raw(0, 0x9, 1, b"\x03abc\x00\x00\x00"))
    assert frame == DataFrame(1, b"abc", end_stream=True, pad_length=3)
    assert isinstance(frame, DataFrame)
    assert frame.flow_controlled_length == 7
    assert DataFrame(1, b"abc").flow_controlled_length == 3
    assert DataFrame(1, b"", pad_length=0).flow_controlled_length == 1


# -- max frame size ------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [16384, 100_000, 2**24 - 1])
def test_max_frame_size_at_n_and_n_plus_1(limit: int) -> None:
    parser = FrameParser(limit)
    assert parser.max_frame_size == limit
    parser.feed(raw(0, 0, 1, length=limit))
    assert parser.next_frame() is None  # accepted, waiting for the payload
    if limit < 2**24 - 1:
        # N + 1 fails on the header alone, before any payload is buffered
        connection_error(raw(0, 0, 1, length=limit + 1), FRAME_SIZE, limit)
        connection_error(raw(0xEE, 0, 1, length=limit + 1), FRAME_SIZE, limit)
        connection_error(raw(4, 0, 0, length=limit + 1), FRAME_SIZE, limit)


def test_frame_of_exactly_max_size_parses() -> None:
    frame = parse_one(raw(0, 0, 1, bytes(16384)))
    assert frame == DataFrame(1, bytes(16384))
    connection_error(raw(0, 0, 1, bytes(16385)), FRAME_SIZE)


def test_max_frame_size_can_be_raised_later() -> None:
    parser = FrameParser()
    wire = raw(0, 0, 1, bytes(20000))
    parser.feed(wire[:9])
    with pytest.raises(H2ConnectionError):
        parser.next_frame()
    parser.max_frame_size = 20000
    parser.feed(wire[9:])
    assert parser.next_frame() == DataFrame(1, bytes(20000))


@pytest.mark.parametrize("bad", [0, 16383, 2**24, -1])
def test_max_frame_size_outside_rfc_range_is_refused(bad: int) -> None:
    with pytest.raises(LocalProtocolError):
        FrameParser(bad)
    parser = FrameParser()
    with pytest.raises(LocalProtocolError):
        parser.max_frame_size = bad
    assert parser.max_frame_size == 16384


# -- stream errors -------------------------------------------------------------------------


def test_window_update_of_zero() -> None:
    _, parser = stream_error(raw(8, 0, 5, bytes(4)) + raw(6, 0, 0, bytes(8)), PROTOCOL, 5)
    assert parser.next_frame() == PingFrame()
    connection_error(raw(8, 0, 0, bytes(4)), PROTOCOL)
    assert parse_one(raw(8, 0, 0, b"\x7f\xff\xff\xff")) == WindowUpdateFrame(0, MAX_ID)


def test_priority_frame_depending_on_its_own_stream() -> None:
    err, parser = stream_error(raw(2, 0, 3, b"\x00\x00\x00\x03\x10") + raw(4, 1, 0), PROTOCOL, 3)
    assert err.frame is None
    assert parser.next_frame() == SettingsFrame(ack=True)


def test_headers_depending_on_own_stream_keeps_the_frame() -> None:
    wire = raw(1, 0x25, 3, b"\x80\x00\x00\x03\x10" + b"\x82\x84") + raw(9, 4, 3, b"")
    err, parser = stream_error(wire, PROTOCOL, 3)
    assert err.frame == HeadersFrame(
        3, b"\x82\x84", end_stream=True, end_headers=True, priority=Priority(3, 17, True)
    )
    assert parser.next_frame() == ContinuationFrame(3, b"", end_headers=True)


@pytest.mark.parametrize("promised", [0, 1, 3, 0x80000000, MAX_ID])
def test_push_promise_promising_an_impossible_stream(promised: int) -> None:
    connection_error(raw(5, 4, 1, promised.to_bytes(4, "big") + b"\x82"), PROTOCOL)


def test_connection_error_is_sticky() -> None:
    parser = FrameParser()
    parser.feed(raw(0, 0, 0, b"x") + raw(6, 0, 0, bytes(8)))
    for _ in range(2):
        with pytest.raises(H2ConnectionError):
            parser.next_frame()


# -- unknown types and flags ---------------------------------------------------------------


@pytest.mark.parametrize("ftype", [10, 0x10, 0xFF])
def test_unknown_frame_types_are_yielded_as_unknown(ftype: int) -> None:
    wire = raw(ftype, 0xA5, 0x80000000 | 7, b"ext") + raw(ftype, 0, 0) + raw(0, 1, 1, b"d")
    assert parse_all(wire) == [
        UnknownFrame(7, ftype, 0xA5, b"ext"),
        UnknownFrame(0, ftype, 0, b""),
        DataFrame(1, b"d", end_stream=True),
    ]


@pytest.mark.parametrize("ftype", range(10))
def test_undefined_flags_are_ignored(ftype: int) -> None:
    defined = {0: 0x09, 1: 0x2D, 2: 0, 3: 0, 4: 0x01, 5: 0x0C, 6: 0x01, 7: 0, 8: 0, 9: 0x04}[ftype]
    sid = 0 if ftype in (4, 6, 7) else 1
    payload = VALID_PAYLOAD[ftype]
    plain = parse_one(raw(ftype, 0, sid, payload))
    assert parse_one(raw(ftype, 0xFF & ~defined, sid, payload)) == plain
    # and serializing sets no undefined flag
    assert serialize(plain)[4] & ~defined == 0


def test_flag_and_type_values() -> None:
    assert Flag.END_STREAM == Flag.ACK == 0x1
    assert (Flag.END_HEADERS, Flag.PADDED, Flag.PRIORITY) == (0x4, 0x8, 0x20)
    assert [t.value for t in FrameType] == list(range(10))
    assert FrameType.CONTINUATION.name == "CONTINUATION"
    assert PREFACE == b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" and len(PREFACE) == 24


# -- incremental parsing and buffering -----------------------------------------------------


def test_frames_split_anywhere_give_the_same_frames() -> None:
    frames = [
        DataFrame(1, bytes(range(200)), pad_length=17),
        HeadersFrame(3, b"hb" * 50),
        SettingsFrame(((1, 0), (3, 100))),
        PingFrame(b"\x01" * 8, ack=True),
        UnknownFrame(0, 0x42, 3, b"?"),
        ContinuationFrame(3, b"c", True),
    ]
    wire = b"".join(serialize(f) for f in frames)
    for chunks in chunkings(wire, seed=1):
        assert feed_chunks(chunks) == frames


def test_partial_header_and_payload_wait_for_more() -> None:
    parser = FrameParser()
    wire = raw(0, 1, 1, b"hello")
    parser.feed(wire[:8])
    assert parser.next_frame() is None and parser.buffered == 8
    parser.feed(wire[8:12])
    assert parser.next_frame() is None and parser.buffered == 12
    parser.feed(wire[12:])
    assert parser.next_frame() == DataFrame(1, b"hello", end_stream=True)
    assert parser.buffered == 0 and parser.next_frame() is None


def test_feed_accepts_bytearray_and_memoryview_and_copies() -> None:
    source = bytearray(raw(0, 0, 1, b"abc") + raw(0, 0, 1, bytes(5000)))
    parser = FrameParser()
    parser.feed(memoryview(source)[:12])
    parser.feed(source[12:])
    source[9:12] = b"xyz"
    small, large = list(parser)
    assert small == DataFrame(1, b"abc")
    assert type(small.data) is bytes  # type: ignore[attr-defined]
    assert type(large.data) is bytes and large.data == bytes(5000)  # type: ignore[attr-defined]


def test_many_small_frames_in_one_buffer() -> None:
    frames = [HeadersFrame(2 * i + 1, b"\x82\x86", end_stream=True) for i in range(5000)]
    parser = FrameParser()
    parser.feed(b"".join(serialize(f) for f in frames))
    assert list(parser) == frames
    parser.feed(raw(8, 0, 0, b"\x00\x00\x00\x01"))  # after draining, the buffer is reused
    assert parser.buffered == 13
    assert list(parser) == [WindowUpdateFrame(0, 1)]


# -- serialize -----------------------------------------------------------------------------


def test_serialize_examples() -> None:
    assert serialize(DataFrame(1, b"hi", end_stream=True)) == raw(0, 1, 1, b"hi")
    assert serialize(DataFrame(1, b"hi", pad_length=2)) == raw(0, 8, 1, b"\x02hi\x00\x00")
    assert serialize(HeadersFrame(3, b"hb", end_headers=False)) == raw(1, 0, 3, b"hb")
    assert serialize(HeadersFrame(3, b"hb", True, True, 1, Priority(1, 16, True))) == raw(
        1, 0x2D, 3, b"\x01\x80\x00\x00\x01\x0fhb\x00"
    )
    assert serialize(PriorityFrame(5, Priority(0, 1))) == raw(2, 0, 5, bytes(5))
    assert serialize(RstStreamFrame(1, ErrorCode.CANCEL)) == raw(3, 0, 1, b"\x00\x00\x00\x08")
    assert serialize(SettingsFrame(((4, 1),))) == raw(4, 0, 0, b"\x00\x04\x00\x00\x00\x01")
    assert serialize(SettingsFrame(ack=True)) == raw(4, 1, 0)
    assert serialize(PushPromiseFrame(1, 2, b"b")) == raw(5, 4, 1, b"\x00\x00\x00\x02b")
    assert serialize(PingFrame(ack=True)) == raw(6, 1, 0, bytes(8))
    assert serialize(GoAwayFrame(1, 2, b"x")) == raw(7, 0, 0, b"\x00\x00\x00\x01\x00\x00\x00\x02x")
    assert serialize(WindowUpdateFrame(0, 1)) == raw(8, 0, 0, b"\x00\x00\x00\x01")
    assert serialize(ContinuationFrame(1, b"c", True)) == raw(9, 4, 1, b"c")
    assert serialize(UnknownFrame(1, 0xFA, 0xFF, b"u")) == raw(0xFA, 0xFF, 1, b"u")


@pytest.mark.parametrize("end_stream", [False, True])
@pytest.mark.parametrize("end_headers", [False, True])
def test_fast_paths_match_serialize(end_stream: bool, end_headers: bool) -> None:
    assert serialize_data(9, b"abc", end_stream) == serialize(DataFrame(9, b"abc", end_stream))
    assert serialize_headers(9, b"h", end_stream, end_headers) == serialize(
        HeadersFrame(9, b"h", end_stream, end_headers)
    )


@pytest.mark.parametrize(
    "frame",
    [
        DataFrame(2**31, b""),
        DataFrame(-1, b""),
        DataFrame(1, b"", pad_length=256),
        DataFrame(1, b"", pad_length=-1),
        HeadersFrame(1, b"", priority=Priority(1, 0)),
        HeadersFrame(1, b"", priority=Priority(1, 257)),
        HeadersFrame(1, b"", priority=Priority(2**31, 16)),
        PriorityFrame(1, Priority(-1, 16)),
        RstStreamFrame(1, 2**32),
        SettingsFrame(((0x10000, 0),)),
        SettingsFrame(((1, 2**32),)),
        SettingsFrame(((1, -1),)),
        PushPromiseFrame(1, 2**31, b""),
        PingFrame(b"1234567"),
        PingFrame(b"123456789"),
        GoAwayFrame(2**31, 0),
        GoAwayFrame(0, 2**32),
        WindowUpdateFrame(1, 2**31),
        UnknownFrame(1, 256, 0, b""),
        UnknownFrame(1, 10, 256, b""),
    ],
)
def test_serialize_refuses_what_the_wire_cannot_carry(frame: Frame) -> None:
    with pytest.raises(LocalProtocolError):
        serialize(frame)


def test_serialize_refuses_oversized_payload_and_foreign_objects() -> None:
    huge = bytes(2**24)
    with pytest.raises(LocalProtocolError):
        serialize(DataFrame(1, huge))
    with pytest.raises(LocalProtocolError):
        serialize_data(1, huge)
    with pytest.raises(LocalProtocolError):
        serialize_headers(1, huge)
    with pytest.raises(LocalProtocolError):
        serialize_data(2**31, b"")
    assert len(serialize(DataFrame(1, huge[:-1]))) == 9 + 2**24 - 1
    with pytest.raises(LocalProtocolError):
        serialize(Frame())


def test_frames_are_frozen_and_hashable() -> None:
    frame = DataFrame(1, b"x")
    with pytest.raises(AttributeError):
        frame.stream_id = 2  # type: ignore[misc]
    assert {frame, DataFrame(1, b"x")} == {frame}
    assert not hasattr(frame, "__dict__")


# -- hypothesis: round trips ---------------------------------------------------------------

stream_ids = st.integers(1, MAX_ID)
any_ids = st.integers(0, MAX_ID)
u32 = st.integers(0, 2**32 - 1)
blobs = st.binary(max_size=80)
pads = st.none() | st.integers(0, 255)
priorities = st.builds(Priority, any_ids, st.integers(1, 256), st.booleans())
even_ids = st.integers(1, 2**30 - 1).map(lambda n: 2 * n)

data_frames = st.builds(DataFrame, stream_ids, blobs, st.booleans(), pads)
headers_frames = st.builds(
    HeadersFrame, stream_ids, blobs, st.booleans(), st.booleans(), pads, st.none() | priorities
).filter(lambda f: f.priority is None or f.priority.depends_on != f.stream_id)
priority_frames = st.builds(PriorityFrame, stream_ids, priorities).filter(
    lambda f: f.priority.depends_on != f.stream_id
)
rst_frames = st.builds(RstStreamFrame, stream_ids, u32)
settings_frames = st.builds(
    SettingsFrame, st.lists(st.tuples(st.integers(0, 0xFFFF), u32), max_size=8).map(tuple)
) | st.just(SettingsFrame(ack=True))
push_frames = st.builds(PushPromiseFrame, stream_ids, even_ids, blobs, st.booleans(), pads)
ping_frames = st.builds(PingFrame, st.binary(min_size=8, max_size=8), st.booleans())
goaway_frames = st.builds(GoAwayFrame, any_ids, u32, blobs)
window_frames = st.builds(WindowUpdateFrame, any_ids, stream_ids)
continuation_frames = st.builds(ContinuationFrame, stream_ids, blobs, st.booleans())
unknown_frames = st.builds(UnknownFrame, any_ids, st.integers(10, 255), st.integers(0, 255), blobs)

ALL_FRAMES = {
    "data": data_frames,
    "headers": headers_frames,
    "priority": priority_frames,
    "rst_stream": rst_frames,
    "settings": settings_frames,
    "push_promise": push_frames,
    "ping": ping_frames,
    "goaway": goaway_frames,
    "window_update": window_frames,
    "continuation": continuation_frames,
    "unknown": unknown_frames,
}
any_frame = st.one_of(*ALL_FRAMES.values())


@pytest.mark.parametrize("kind", sorted(ALL_FRAMES))
@given(data=st.data())
def test_round_trip_each_type(kind: str, data: st.DataObject) -> None:
    frame = data.draw(ALL_FRAMES[kind])
    wire = serialize(frame)
    for chunks in chunkings(wire):
        assert feed_chunks(chunks) == [frame]


@given(frames=st.lists(any_frame, max_size=12), cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_round_trip_sequences_cut_anywhere(frames: list[Frame], cuts: list[int]) -> None:
    wire = b"".join(serialize(f) for f in frames)
    bounds = [0, *sorted(c % (len(wire) + 1) for c in cuts), len(wire)]
    chunks = [wire[a:b] for a, b in itertools.pairwise(bounds)]
    assert feed_chunks(chunks) == frames


# -- hypothesis: hostile input -------------------------------------------------------------


def outcome(chunks: Iterable[bytes]) -> tuple[list[object], tuple[type, int] | None]:
    """Frames and stream errors in order, then the connection error, if any."""
    parser = FrameParser()
    seen: list[object] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            while True:
                try:
                    frame = parser.next_frame()
                except H2StreamError as exc:
                    seen.append(("stream-error", exc.stream_id, exc.error_code))
                    continue
                if frame is None:
                    break
                seen.append(frame)
    except H2ConnectionError as exc:
        return seen, (type(exc), exc.error_code)
    return seen, None


@given(st.binary(max_size=300))
@example(raw(1, 0x28, 1, b"\x00"))
@example(raw(5, 0x08, 1, b"\x04\x00\x00\x00"))
def test_arbitrary_bytes_parse_or_raise_sockit_errors(data: bytes) -> None:
    parser = FrameParser()
    parser.feed(data)
    try:
        while True:
            try:
                if parser.next_frame() is None:
                    break
            except H2StreamError:
                continue
    except SockitError:
        pass


raw_frames = st.builds(
    raw,
    st.integers(0, 12),
    st.integers(0, 255),
    st.sampled_from([0, 1, 2, 3, 0x80000001, MAX_ID]),
    st.binary(max_size=24),
)


@given(st.lists(raw_frames, max_size=6), st.randoms(use_true_random=False))
def test_plausible_frames_behave_the_same_however_split(
    frames: list[bytes], rng: random.Random
) -> None:
    wire = b"".join(frames)
    whole = outcome([wire])
    assert outcome(wire[i : i + 1] for i in range(len(wire))) == whole
    cuts = sorted(rng.sample(range(len(wire) + 1), min(len(wire) + 1, 5)))
    bounds = [0, *cuts, len(wire)]
    assert outcome(wire[a:b] for a, b in itertools.pairwise(bounds)) == whole


# -- interop with hyperframe ---------------------------------------------------------------


def to_hyper(frame: Frame) -> hf.Frame:
    """The hyperframe object for one of our frames."""
    out: hf.Frame
    flags: list[str] = []
    if isinstance(frame, DataFrame):
        out = hf.DataFrame(frame.stream_id, frame.data)
        flags = ["END_STREAM"] * frame.end_stream
    elif isinstance(frame, HeadersFrame):
        out = hf.HeadersFrame(frame.stream_id, frame.block)
        flags = ["END_STREAM"] * frame.end_stream + ["END_HEADERS"] * frame.end_headers
        if frame.priority is not None:
            flags.append("PRIORITY")
            out.depends_on = frame.priority.depends_on
            out.stream_weight = frame.priority.weight - 1
            out.exclusive = frame.priority.exclusive
    elif isinstance(frame, PriorityFrame):
        p = frame.priority
        out = hf.PriorityFrame(frame.stream_id, p.depends_on, p.weight - 1, p.exclusive)
    elif isinstance(frame, RstStreamFrame):
        out = hf.RstStreamFrame(frame.stream_id, frame.error_code)
    elif isinstance(frame, SettingsFrame):
        out = hf.SettingsFrame(0, dict(frame.settings))
        flags = ["ACK"] * frame.ack
    elif isinstance(frame, PushPromiseFrame):
        out = hf.PushPromiseFrame(frame.stream_id, frame.promised_stream_id, frame.block)
        flags = ["END_HEADERS"] * frame.end_headers
    elif isinstance(frame, PingFrame):
        out = hf.PingFrame(0, frame.opaque)
        flags = ["ACK"] * frame.ack
    elif isinstance(frame, GoAwayFrame):
        out = hf.GoAwayFrame(0, frame.last_stream_id, frame.error_code, frame.debug_data)
    elif isinstance(frame, WindowUpdateFrame):
        out = hf.WindowUpdateFrame(frame.stream_id, frame.increment)
    elif isinstance(frame, ContinuationFrame):
        out = hf.ContinuationFrame(frame.stream_id, frame.block)
        flags = ["END_HEADERS"] * frame.end_headers
    else:
        assert isinstance(frame, UnknownFrame)
        ext = hf.ExtensionFrame(frame.type, frame.stream_id, frame.flags, frame.payload)
        ext.body_len = len(frame.payload)  # hyperframe only sets it when parsing
        return ext
    pad = getattr(frame, "pad_length", None)
    if pad is not None:
        flags.append("PADDED")
        out.pad_length = pad
    for name in flags:
        out.flags.add(name)
    return out


def from_hyper(h: hf.Frame) -> Frame:
    """Our frame for a parsed hyperframe object."""
    flags = h.flags
    pad = h.pad_length if "PADDED" in flags else None  # type: ignore[attr-defined]
    if isinstance(h, hf.DataFrame):
        return DataFrame(h.stream_id, h.data, "END_STREAM" in flags, pad)
    if isinstance(h, hf.HeadersFrame):
        prio = None
        if "PRIORITY" in flags:
            prio = Priority(h.depends_on, h.stream_weight + 1, h.exclusive)
        return HeadersFrame(
            h.stream_id, h.data, "END_STREAM" in flags, "END_HEADERS" in flags, pad, prio
        )
    if isinstance(h, hf.PriorityFrame):
        return PriorityFrame(h.stream_id, Priority(h.depends_on, h.stream_weight + 1, h.exclusive))
    if isinstance(h, hf.RstStreamFrame):
        return RstStreamFrame(h.stream_id, h.error_code)
    if isinstance(h, hf.SettingsFrame):
        return SettingsFrame(tuple(h.settings.items()), "ACK" in flags)
    if isinstance(h, hf.PushPromiseFrame):
        return PushPromiseFrame(
            h.stream_id, h.promised_stream_id, h.data, "END_HEADERS" in flags, pad
        )
    if isinstance(h, hf.PingFrame):
        return PingFrame(h.opaque_data, "ACK" in flags)
    if isinstance(h, hf.GoAwayFrame):
        return GoAwayFrame(h.last_stream_id, h.error_code, h.additional_data)
    if isinstance(h, hf.WindowUpdateFrame):
        return WindowUpdateFrame(h.stream_id, h.window_increment)
    if isinstance(h, hf.ContinuationFrame):
        return ContinuationFrame(h.stream_id, h.data, "END_HEADERS" in flags)
    assert isinstance(h, hf.ExtensionFrame)
    return UnknownFrame(h.stream_id, h.type, h.flag_byte, h.body)


def hyper_parse(wire: bytes) -> hf.Frame:
    view = memoryview(wire)
    h, length = hf.Frame.parse_frame_header(view[:9])
    assert length == len(wire) - 9
    h.parse_body(view[9:])
    return h


def hyperframe_accepts_padding(frame: Frame) -> bool:
    """hyperframe refuses HEADERS/PUSH_PROMISE whose padding fills the whole rest.

    RFC 9113 §6.2/§6.6 only forbid padding that *exceeds* the room left, so an
    empty fragment with maximal padding is valid; we accept it (see
    test_padding_may_fill_all_but_mandatory_fields) and leave it out here.
    """
    if isinstance(frame, (HeadersFrame, PushPromiseFrame)):
        return frame.pad_length is None or frame.block != b""
    return True


# What hyperframe 6.1 can carry: settings in a dict (no repeated codes) whose codes
# it writes as one octet; type 0xA it parses as ALTSVC (RFC 7838), not as unknown.
INTEROP_FRAMES = {
    **ALL_FRAMES,
    "settings": st.builds(
        SettingsFrame,
        st.dictionaries(st.integers(0, 0xFF), u32, max_size=8).map(lambda d: tuple(d.items())),
    )
    | st.just(SettingsFrame(ack=True)),
    "unknown": st.builds(UnknownFrame, any_ids, st.integers(11, 255), st.integers(0, 255), blobs),
}


@pytest.mark.parametrize("kind", sorted(ALL_FRAMES))
@given(data=st.data())
def test_hyperframe_reads_what_we_write(kind: str, data: st.DataObject) -> None:
    frame = data.draw(INTEROP_FRAMES[kind].filter(hyperframe_accepts_padding))
    assert from_hyper(hyper_parse(serialize(frame))) == frame


@pytest.mark.parametrize("kind", sorted(ALL_FRAMES))
@given(data=st.data())
def test_we_read_what_hyperframe_writes(kind: str, data: st.DataObject) -> None:
    frame = data.draw(INTEROP_FRAMES[kind])
    wire = to_hyper(frame).serialize()
    assert parse_all(wire) == [frame]
    assert wire == serialize(frame)  # both write zero padding and no undefined flags
