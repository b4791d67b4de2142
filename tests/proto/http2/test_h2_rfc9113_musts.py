"""RFC 9113's MUSTs, frame by frame: each test sends the exact bytes a rule is
about and checks the answer (GOAWAY or RST_STREAM with the RFC's code)."""

from __future__ import annotations

import struct

import pytest

from sockit.proto.events import Role
from sockit.proto.http2 import (
    PREFACE,
    ConnectionFailed,
    ConnectionState,
    ContinuationFrame,
    Data,
    DataFrame,
    ErrorCode,
    GoAwayFrame,
    H2Config,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    PushPromiseFrame,
    Request,
    ResetStream,
    Response,
    RstStreamFrame,
    SettingsFrame,
    StreamReset,
    UnknownFrame,
    WindowUpdateFrame,
    serialize,
)
from sockit.proto.http2.frames import Priority
from tests.proto.http2._h2_support import REQUEST, RawPeer, of_type

E = ErrorCode


def header(length: int, ftype: int, flags: int, sid: int) -> bytes:
    return struct.pack(">LBL", length << 8 | ftype, flags, sid)


def expect_goaway(peer: RawPeer, code: int, events: list[object] | None = None) -> None:
    goaway = peer.goaway()
    assert goaway is not None, "expected GOAWAY"
    assert goaway.error_code == code
    assert peer.conn.state is ConnectionState.CLOSED
    if events is not None:
        failed = of_type(events, ConnectionFailed)
        assert failed and failed[-1].error_code == code


def expect_rst(peer: RawPeer, sid: int, code: int) -> None:
    assert peer.goaway() is None, f"unexpected GOAWAY {peer.goaway()}"
    assert peer.resets().get(sid) == code
    assert peer.conn.state is not ConnectionState.CLOSED


def server(**kw: object) -> RawPeer:
    return RawPeer(Role.SERVER, H2Config(**kw) if kw else None)  # type: ignore[arg-type]


def client(**kw: object) -> RawPeer:
    return RawPeer(Role.CLIENT, H2Config(**kw) if kw else None)  # type: ignore[arg-type]


# -- §3.4 the connection preface ------------------------------------------------------


def test_bad_preface() -> None:
    peer = RawPeer(Role.SERVER, handshake=False)
    events = peer.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    expect_goaway(peer, E.PROTOCOL_ERROR, events)


def test_preface_wrong_late_byte() -> None:
    peer = RawPeer(Role.SERVER, handshake=False)
    assert peer.feed(PREFACE[:20]) == []
    events = peer.feed(b"\r\n\r\r")
    expect_goaway(peer, E.PROTOCOL_ERROR, events)


def test_preface_byte_by_byte_then_settings() -> None:
    peer = RawPeer(Role.SERVER, handshake=False)
    for i in range(len(PREFACE)):
        assert peer.feed(PREFACE[i : i + 1]) == []
    events = peer.send(SettingsFrame())
    assert peer.goaway() is None and events


@pytest.mark.parametrize(
    "first",
    [PingFrame(bytes(8)), SettingsFrame(ack=True), WindowUpdateFrame(0, 10), HeadersFrame(1, b"")],
)
def test_first_frame_must_be_settings(first: object) -> None:
    peer = RawPeer(Role.SERVER, handshake=False)
    events = peer.feed(PREFACE + serialize(first))  # type: ignore[arg-type]
    expect_goaway(peer, E.PROTOCOL_ERROR, events)
    peer = RawPeer(Role.CLIENT, handshake=False)
    events = peer.feed(serialize(first))  # type: ignore[arg-type]
    expect_goaway(peer, E.PROTOCOL_ERROR, events)


# -- §4.2 frame size --------------------------------------------------------------------


def test_frame_size_limit_n_and_n_plus_one() -> None:
    peer = server()
    peer.send(peer.headers(1, end_stream=False))
    events = peer.send(DataFrame(1, b"x" * 16384))
    assert peer.goaway() is None and of_type(events, Data)
    events = peer.feed(header(16385, 0, 0, 1) + b"x" * 16385)
    expect_goaway(peer, E.FRAME_SIZE_ERROR, events)


def test_larger_frames_after_our_setting_is_acked() -> None:
    peer = server()
    peer.conn.update_settings({5: 1 << 20})
    # not yet acknowledged: still 16384
    peer.send(SettingsFrame(ack=True))
    peer.send(peer.headers(1, end_stream=False))
    events = peer.send(DataFrame(1, b"x" * 20000))
    assert peer.goaway() is None and len(of_type(events, Data)[0].data) == 20000


def test_we_split_by_the_peers_frame_size() -> None:
    peer = client()
    peer.send(WindowUpdateFrame(0, 1 << 20), SettingsFrame(((4, 1 << 20),)))
    conn = peer.conn
    conn.send(Request(1, b"POST", b"/", authority=b"a", end_stream=False))
    conn.send(Data(1, b"x" * 40000, end_stream=True))
    sizes = [len(f.data) for f in peer.of(DataFrame)]
    assert sizes == [16384, 16384, 40000 - 32768]
    peer.send(SettingsFrame(((5, 32768),)))
    conn.send(Request(3, b"POST", b"/", authority=b"a"))
    conn.send(Data(3, b"y" * 40000))
    assert [len(f.data) for f in peer.of(DataFrame)][3:] == [32768, 40000 - 32768]


def test_big_header_block_is_split_into_continuations() -> None:
    peer = client()
    conn = peer.conn
    value = bytes(range(0x61, 0x61 + 26)) * 1500  # ~39 KB, not compressible by the table
    from sockit.proto.http.headers import Headers

    # the default header list bound would stop the peer, not us: we only split
    conn.send(
        Request(
            1, b"GET", b"/", authority=b"a", headers=Headers([("x-big", value)]), end_stream=True
        )
    )
    frames = peer.collect()
    kinds = [type(f).__name__ for f in frames]
    assert kinds[0] == "HeadersFrame" and kinds.count("ContinuationFrame") >= 1
    assert not frames[0].end_headers and frames[-1].end_headers
    assert all(len(getattr(f, "block", b"")) <= 16384 for f in frames)


# -- §4.3 header compression --------------------------------------------------------------


def test_bad_hpack_is_compression_error() -> None:
    peer = server()
    events = peer.send(HeadersFrame(1, b"\xff\xff\xff\xff\xff\xff"))  # index overflow
    expect_goaway(peer, E.COMPRESSION_ERROR, events)


# -- §5.1 stream states -----------------------------------------------------------------


def test_data_on_idle_stream() -> None:
    peer = server()
    expect_goaway(peer, E.PROTOCOL_ERROR, peer.send(DataFrame(1, b"x")))


def test_rst_and_window_update_on_idle_stream() -> None:
    peer = server()
    expect_goaway(peer, E.PROTOCOL_ERROR, peer.send(RstStreamFrame(1, 0)))
    peer = server()
    expect_goaway(peer, E.PROTOCOL_ERROR, peer.send(WindowUpdateFrame(1, 1)))


def test_priority_on_idle_stream_is_fine() -> None:
    peer = server()
    assert peer.send(PriorityFrame(9, Priority(0, 1))) == []
    events = peer.send(peer.headers(1))  # 9 did not use up lower ids
    assert of_type(events, Request)


def test_half_closed_remote_rejects_data_and_headers() -> None:
    peer = server()
    peer.send(peer.headers(1, end_stream=True))
    peer.send(DataFrame(1, b"x"))
    expect_rst(peer, 1, E.STREAM_CLOSED)
    peer = server()
    peer.send(peer.headers(1, end_stream=True))
    peer.send(peer.headers(1, [(b"x-trailer", b"1")], end_stream=True))
    expect_rst(peer, 1, E.STREAM_CLOSED)


def test_frames_after_both_ends_are_connection_stream_closed() -> None:
    peer = server()
    peer.send(peer.headers(1, end_stream=True))
    peer.conn.send(Response(1, 204, end_stream=True))
    events = peer.send(DataFrame(1, b"late"))
    expect_goaway(peer, E.STREAM_CLOSED, events)


def test_window_update_and_rst_after_close_are_ignored() -> None:
    peer = server()
    peer.send(peer.headers(1, end_stream=True))
    peer.conn.send(Response(1, 204, end_stream=True))
    assert (
        peer.send(WindowUpdateFrame(1, 5), RstStreamFrame(1, 0), PriorityFrame(1, Priority(0, 5)))
        == []
    )
    assert peer.goaway() is None and peer.resets() == {}


def test_frames_after_we_reset_are_ignored() -> None:
    peer = server()
    peer.send(peer.headers(1, end_stream=False))
    peer.conn.send(ResetStream(1, E.CANCEL))
    events = peer.send(DataFrame(1, b"x"), peer.headers(1, [(b"x", b"y")]), WindowUpdateFrame(1, 1))
    assert events == []
    assert peer.goaway() is None and peer.resets() == {1: E.CANCEL}
    # the ignored HEADERS still went through HPACK: the next request decodes
    events = peer.send(peer.headers(3))
    assert of_type(events, Request)


def test_frames_after_peer_reset_are_stream_closed() -> None:
    peer = server()
    peer.send(peer.headers(1, end_stream=False))
    peer.send(RstStreamFrame(1, E.CANCEL))
    peer.send(DataFrame(1, b"x"))
    expect_rst(peer, 1, E.STREAM_CLOSED)


def test_reserved_remote_rejects_data() -> None:
    peer = client(enable_push=True)
    peer.conn.send(Request(1, b"GET", b"/", authority=b"a", end_stream=True))
    peer.send(peer.push_promise(1, 2))
    events = peer.send(DataFrame(2, b"x"))
    expect_goaway(peer, E.PROTOCOL_ERROR, events)


# -- §5.1.1 stream identifiers ------------------------------------------------------------


def test_client_must_use_odd_ids() -> None:
    peer = server()
    expect_goaway(peer, E.PROTOCOL_ERROR, peer.send(peer.headers(2)))


def test_ids_must_increase() -> None:
    peer = server()
    peer.send(peer.headers(5))
    expect_goaway(peer, E.PROTOCOL_ERROR, peer.send(peer.headers(3)))


def test_server_headers_on_a_stream_the_client_never_opened() -> None:
    peer = client()
    expect_goaway(peer, E.PROTOCOL_ERROR, peer.send(peer.headers(1, [(b":status", b"200")])))
    peer = client()
    expect_goaway(peer, E.PROTOCOL_ERROR, peer.send(peer.headers(2, [(b":status", b"200")])))


# -- §5.3 priority ------------------------------------------------------------------------


def test_priority_self_dependency() -> None:
    peer = server()
    peer.send(PriorityFrame(1, Priority(1, 16)))
    expect_rst(peer, 1, E.PROTOCOL_ERROR)


def test_headers_self_dependency_keeps_hpack_in_step() -> None:
    peer = server()
    block = peer.block([*REQUEST, (b"x-indexed", b"value")])
    frame = HeadersFrame(1, block, True, True, priority=Priority(1, 16))
    events = peer.send(frame)
    assert of_type(events, StreamReset) == [StreamReset(1, E.PROTOCOL_ERROR, False)]
    expect_rst(peer, 1, E.PROTOCOL_ERROR)
    events = peer.send(peer.headers(3, [*REQUEST, (b"x-indexed", b"value")]))
    req = of_type(events, Request)
    assert req and req[0].headers.get("x-indexed") == "value"


def test_priority_is_otherwise_ignored() -> None:
    peer = server()
    frame = HeadersFrame(1, peer.block(REQUEST), True, True, priority=Priority(0, 256, True))
    assert of_type(peer.send(frame), Request)


# -- §6 frame definitions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (header(1, 0, 0, 0) + b"x", E.PROTOCOL_ERROR),  # DATA on stream 0
        (header(1, 1, 4, 0) + b"\x82", E.PROTOCOL_ERROR),  # HEADERS on stream 0
        (header(5, 2, 0, 0) + bytes(5), E.PROTOCOL_ERROR),  # PRIORITY on stream 0
        (header(4, 3, 0, 0) + bytes(4), E.PROTOCOL_ERROR),  # RST_STREAM on stream 0
        (header(3, 3, 0, 1) + bytes(3), E.FRAME_SIZE_ERROR),  # RST_STREAM length
        (header(0, 4, 0, 1), E.PROTOCOL_ERROR),  # SETTINGS on a stream
        (header(5, 4, 0, 0) + bytes(5), E.FRAME_SIZE_ERROR),  # SETTINGS length
        (header(6, 4, 1, 0) + bytes(6), E.FRAME_SIZE_ERROR),  # SETTINGS ACK with payload
        (header(6, 4, 0, 0) + struct.pack(">HL", 2, 2), E.PROTOCOL_ERROR),  # ENABLE_PUSH 2
        (header(6, 4, 0, 0) + struct.pack(">HL", 4, 1 << 31), E.FLOW_CONTROL_ERROR),
        (header(6, 4, 0, 0) + struct.pack(">HL", 5, 16383), E.PROTOCOL_ERROR),
        (header(6, 4, 0, 0) + struct.pack(">HL", 5, 1 << 24), E.PROTOCOL_ERROR),
        (header(6, 4, 0, 0) + struct.pack(">HL", 8, 2), E.PROTOCOL_ERROR),
        (header(8, 6, 0, 1) + bytes(8), E.PROTOCOL_ERROR),  # PING on a stream
        (header(7, 6, 0, 0) + bytes(7), E.FRAME_SIZE_ERROR),  # PING length
        (header(8, 7, 0, 1) + bytes(8), E.PROTOCOL_ERROR),  # GOAWAY on a stream
        (header(3, 8, 0, 0) + bytes(3), E.FRAME_SIZE_ERROR),  # WINDOW_UPDATE length
        (header(4, 8, 0, 0) + bytes(4), E.PROTOCOL_ERROR),  # WINDOW_UPDATE 0 on the connection
        (header(0, 9, 4, 1), E.PROTOCOL_ERROR),  # CONTINUATION without HEADERS
        (header(4, 5, 4, 1) + struct.pack(">L", 2), E.PROTOCOL_ERROR),  # PUSH_PROMISE to a server
        (header(3, 0, 8, 1) + b"\x05ab", E.PROTOCOL_ERROR),  # padding longer than the payload
    ],
)
def test_frame_rules_connection_errors(raw: bytes, code: int) -> None:
    peer = server()
    peer.send(peer.headers(1, end_stream=False))
    expect_goaway(peer, code, peer.feed(raw))


def test_window_update_zero_on_a_stream_is_a_stream_error() -> None:
    peer = server()
    peer.send(peer.headers(1, end_stream=False))
    peer.feed(header(4, 8, 0, 1) + bytes(4))
    expect_rst(peer, 1, E.PROTOCOL_ERROR)


def test_priority_wrong_length_is_a_stream_error() -> None:
    peer = server()
    peer.send(peer.headers(1, end_stream=False))
    peer.feed(header(4, 2, 0, 1) + bytes(4))
    expect_rst(peer, 1, E.FRAME_SIZE_ERROR)


def test_unknown_settings_and_frames_are_ignored() -> None:
    peer = server()
    peer.feed(header(6, 4, 0, 0) + struct.pack(">HL", 0x99, 7))
    assert peer.send(UnknownFrame(1, 0x20, 0xFF, b"whatever")) == []
    assert peer.goaway() is None


def test_settings_are_acknowledged() -> None:
    peer = server()
    before = len(peer.of(SettingsFrame))
    peer.send(SettingsFrame(((3, 5),)))
    acks = [f for f in peer.of(SettingsFrame)[before:] if f.ack]
    assert len(acks) == 1


def test_server_enable_push_1_is_an_error_for_clients() -> None:
    peer = client()
    expect_goaway(peer, E.PROTOCOL_ERROR, peer.send(SettingsFrame(((2, 1),))))


def test_enable_connect_protocol_cannot_be_withdrawn() -> None:
    peer = client()
    peer.send(SettingsFrame(((8, 1),)))
    expect_goaway(peer, E.PROTOCOL_ERROR, peer.send(SettingsFrame(((8, 0),))))


def test_push_promise_to_client_without_push() -> None:
    peer = client()
    peer.conn.send(Request(1, b"GET", b"/", authority=b"a", end_stream=True))
    expect_goaway(peer, E.PROTOCOL_ERROR, peer.send(peer.push_promise(1, 2)))


def test_push_promise_rules_with_push_enabled() -> None:
    peer = client(enable_push=True)
    peer.conn.send(Request(1, b"GET", b"/", authority=b"a", end_stream=True))
    # unsafe method: stream error on the promised stream
    post = [(b":method", b"POST"), *REQUEST[1:]]
    peer.send(peer.push_promise(1, 2, post))
    expect_rst(peer, 2, E.PROTOCOL_ERROR)
    # promised ids must grow
    expect_goaway(peer, E.PROTOCOL_ERROR, peer.send(peer.push_promise(1, 2)))


def test_ping_is_answered() -> None:
    peer = server()
    events = peer.send(PingFrame(b"abcdefgh"))
    assert events and peer.of(PingFrame)[-1] == PingFrame(b"abcdefgh", ack=True)


def test_goaway_is_processed() -> None:
    peer = server()
    events = peer.send(GoAwayFrame(0, E.NO_ERROR))
    assert events and peer.conn.state is ConnectionState.CLOSED  # no streams: done


# -- §6.10 CONTINUATION ----------------------------------------------------------------------


def test_interleaved_frame_in_header_block() -> None:
    peer = server()
    block = peer.block(REQUEST)
    events = peer.send(HeadersFrame(1, block[:3], True, False), PingFrame(bytes(8)))
    expect_goaway(peer, E.PROTOCOL_ERROR, events)


def test_continuation_on_another_stream() -> None:
    peer = server()
    block = peer.block(REQUEST)
    events = peer.send(
        HeadersFrame(1, block[:3], True, False), ContinuationFrame(3, block[3:], True)
    )
    expect_goaway(peer, E.PROTOCOL_ERROR, events)


def test_unknown_frame_inside_header_block() -> None:
    peer = server()
    block = peer.block(REQUEST)
    events = peer.send(HeadersFrame(1, block[:3], True, False), UnknownFrame(1, 0x30, 0, b""))
    expect_goaway(peer, E.PROTOCOL_ERROR, events)


def test_continuation_assembles() -> None:
    peer = server()
    block = peer.block(REQUEST)
    frames = [HeadersFrame(1, block[:2], True, False)]
    frames += [ContinuationFrame(1, block[i : i + 1]) for i in range(2, len(block) - 1)]
    frames += [ContinuationFrame(1, block[-1:], True)]
    events = peer.send(*frames)
    assert of_type(events, Request)[0].path == b"/"


# -- §8 HTTP semantics ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        [*REQUEST, (b"User-Agent", b"x")],  # uppercase
        [*REQUEST, (b"connection", b"close")],
        [*REQUEST, (b"keep-alive", b"1")],
        [*REQUEST, (b"proxy-connection", b"1")],
        [*REQUEST, (b"transfer-encoding", b"chunked")],
        [*REQUEST, (b"upgrade", b"h2c")],
        [*REQUEST, (b"te", b"gzip")],
        [REQUEST[0], (b"x", b"1"), *REQUEST[1:]],  # pseudo after regular
        [*REQUEST, (b":foo", b"1")],
        [(b":status", b"200"), *REQUEST],
        [*REQUEST, (b":path", b"/2")],
        REQUEST[1:],
        [*REQUEST, (b"x", b"a\nb")],
        [*REQUEST, (b"x", b" lead")],
    ],
)
def test_malformed_request_is_stream_protocol_error(fields: list[tuple[bytes, bytes]]) -> None:
    peer = server()
    events = peer.send(peer.headers(1, fields))
    assert events == [StreamReset(1, E.PROTOCOL_ERROR, False)]
    expect_rst(peer, 1, E.PROTOCOL_ERROR)
    # the connection goes on
    assert of_type(peer.send(peer.headers(3)), Request)


def test_te_trailers_is_allowed() -> None:
    peer = server()
    events = peer.send(peer.headers(1, [*REQUEST, (b"te", b"trailers")]))
    assert of_type(events, Request)


def test_trailers_must_end_the_stream_and_hold_no_pseudo_headers() -> None:
    peer = server()
    peer.send(peer.headers(1, end_stream=False))
    peer.send(peer.headers(1, [(b"x-t", b"1")], end_stream=False))
    expect_rst(peer, 1, E.PROTOCOL_ERROR)
    peer = server()
    peer.send(peer.headers(1, end_stream=False))
    peer.send(peer.headers(1, [(b":path", b"/")], end_stream=True))
    expect_rst(peer, 1, E.PROTOCOL_ERROR)


def test_response_rules_on_the_client() -> None:
    for fields, end in (
        ([(b":status", b"200"), (b"Content-Type", b"x")], True),
        ([(b":status", b"101")], True),
        ([(b":status", b"100")], True),  # 1xx with END_STREAM
        ([(b":method", b"GET")], True),
        ([(b":status", b"200"), (b"content-length", b"3")], True),  # no content follows
    ):
        peer = client()
        peer.conn.send(Request(1, b"GET", b"/", authority=b"a", end_stream=True))
        events = peer.send(peer.headers(1, fields, end_stream=end))
        assert events == [StreamReset(1, E.PROTOCOL_ERROR, False)], fields
        expect_rst(peer, 1, E.PROTOCOL_ERROR)


def test_data_before_response_head() -> None:
    peer = client()
    peer.conn.send(Request(1, b"GET", b"/", authority=b"a", end_stream=True))
    peer.send(DataFrame(1, b"x"))
    expect_rst(peer, 1, E.PROTOCOL_ERROR)


def test_oversized_header_list_gets_431() -> None:
    from sockit.limits import HPACKLimits

    peer = RawPeer(Role.SERVER, H2Config(hpack=HPACKLimits(max_header_list_size=200)))
    events = peer.send(peer.headers(1, [*REQUEST, (b"x-big", b"v" * 300)]))
    assert events == []
    heads = peer.of(HeadersFrame)
    assert heads and heads[-1].stream_id == 1 and heads[-1].end_stream
    assert peer.decoder.decode(heads[-1].block)[0] == (b":status", b"431")
    # the connection is fine
    assert of_type(peer.send(peer.headers(3)), Request)


def test_push_promise_frame_via_serialize_roundtrip() -> None:
    frame = PushPromiseFrame(1, 2, b"\x82")
    assert serialize(frame)[3] == 5


def test_push_on_a_stream_we_reset_is_cancelled() -> None:
    peer = client(enable_push=True)
    peer.conn.send(Request(1, b"GET", b"/", authority=b"a", end_stream=True))
    peer.conn.send(ResetStream(1, E.CANCEL))
    assert peer.send(peer.push_promise(1, 2)) == []
    assert peer.resets() == {1: E.CANCEL, 2: E.CANCEL}
    assert peer.goaway() is None


def test_reserved_streams_are_bounded() -> None:
    from sockit.limits import HTTP2Limits

    peer = client(enable_push=True, limits=HTTP2Limits(max_concurrent_streams=2))
    peer.conn.send(Request(1, b"GET", b"/", authority=b"a", end_stream=True))
    events = peer.send(*(peer.push_promise(1, p) for p in (2, 4, 6)))
    assert [e.promised_stream_id for e in events] == [2, 4]
    expect_rst(peer, 6, E.REFUSED_STREAM)
    # a pushed response moves its stream out of reserved
    events = peer.send(peer.headers(2, [(b":status", b"200")], end_stream=True))
    assert [type(e).__name__ for e in events] == ["Response", "StreamEnded"]
    assert of_type(peer.send(peer.push_promise(1, 8)), object)
