"""Flood defences: each flood ends in GOAWAY ENHANCE_YOUR_CALM within its bound,
normal traffic never does, and memory stays bounded."""

from __future__ import annotations

import pytest

from sockit.errors import LimitExceeded
from sockit.limits import HTTP2Limits
from sockit.proto.events import Role
from sockit.proto.http.headers import Headers
from sockit.proto.http2 import (
    ConnectionFailed,
    ConnectionState,
    ContinuationFrame,
    Data,
    DataFrame,
    ErrorCode,
    H2Config,
    H2ConnectionError,
    H2FloodError,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    Request,
    Response,
    RstStreamFrame,
    SettingsFrame,
    StreamReset,
)
from sockit.proto.http2.floods import FLOOD_STATS, FloodGuard, TokenBucket
from sockit.proto.http2.frames import Priority
from tests.proto.http2._h2_support import REQUEST, RawPeer, of_type

CALM = ErrorCode.ENHANCE_YOUR_CALM


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=10.0, burst=3)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.take(0.05)  # half a token
    assert bucket.take(0.1)
    assert not bucket.take(0.1)
    # refill caps at the burst
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    # time going backwards never refills
    assert not bucket.take(50.0)


def test_flood_error_is_both_kinds() -> None:
    exc = H2FloodError("x", limit="ping_rate", value=50)
    assert isinstance(exc, H2ConnectionError)
    assert isinstance(exc, LimitExceeded)
    assert exc.error_code == CALM
    assert exc.limit == "ping_rate" and exc.value == 50


def test_guard_stats_and_tripped() -> None:
    guard = FloodGuard(HTTP2Limits(ping_rate=2.0), empty_frame_rate=1.0, empty_frame_burst=1)
    assert set(guard.stats) == set(FLOOD_STATS)
    guard.ping(0.0)
    guard.ping(0.0)
    with pytest.raises(H2FloodError) as info:
        guard.ping(0.0)
    assert info.value.limit == "ping_rate"
    assert guard.stats["pings"] == 3 and guard.stats["floods"] == 1
    assert guard.tripped == "ping"


def _flooded(peer: RawPeer, events: list[object]) -> None:
    failed = of_type(events, ConnectionFailed)
    assert failed and failed[-1].error_code == CALM
    goaway = peer.goaway()
    assert goaway is not None and goaway.error_code == CALM
    assert peer.conn.state is ConnectionState.CLOSED
    assert peer.conn.receive_data(b"\x00" * 100) == []


def _until_flood(peer: RawPeer, frames, limit: int, now: float = 0.0) -> int:  # type: ignore[no-untyped-def]
    """Send frames one at a time; the count at which the connection failed."""
    for i, frame in enumerate(frames, 1):
        events = peer.send(*frame) if isinstance(frame, tuple) else peer.send(frame, now=now)
        if of_type(events, ConnectionFailed):
            _flooded(peer, events)
            return i
        assert i <= limit, "no flood detected within the bound"
    raise AssertionError("ran out of frames")


def test_ping_flood() -> None:
    peer = RawPeer(Role.SERVER, H2Config(limits=HTTP2Limits(ping_rate=50.0)))
    n = _until_flood(peer, (PingFrame(bytes(8)) for _ in range(1000)), 60)
    assert n == 51  # the burst is one second's worth
    assert peer.conn.flood_tripped == "ping"
    assert peer.conn.flood_stats["pings"] == 51


def test_pings_at_the_rate_are_fine() -> None:
    peer = RawPeer(Role.SERVER)
    for i in range(500):
        events = peer.send(PingFrame(i.to_bytes(8, "big")), now=i * 0.025)  # 40/s < 50/s
        assert not of_type(events, ConnectionFailed)


def test_settings_flood() -> None:
    peer = RawPeer(Role.SERVER)  # the handshake SETTINGS counts too
    n = _until_flood(peer, (SettingsFrame(((3, 100),)) for _ in range(100)), 20)
    assert n == 10  # 10 per 5 s: 1 in the handshake + 9 more
    assert peer.conn.flood_tripped == "settings"


def test_rst_stream_flood_and_rapid_reset() -> None:
    peer = RawPeer(Role.SERVER)

    def frames():  # type: ignore[no-untyped-def]
        sid = 1
        while True:
            yield (peer.headers(sid, end_stream=False), RstStreamFrame(sid, ErrorCode.CANCEL))
            sid += 2

    n = _until_flood(peer, frames(), 200)
    # the rapid-reset bucket's burst is max(stream_open_burst, max_concurrent_streams)
    assert n == 101
    assert peer.conn.flood_tripped == "rapid_reset"
    stats = peer.conn.flood_stats
    assert stats["rapid_resets"] == 101 and stats["streams_opened"] == 101


def test_rapid_reset_over_time_hits_per_minute_cap() -> None:
    limits = HTTP2Limits(stream_open_rate=1000.0, stream_opens_per_minute=300)
    peer = RawPeer(Role.SERVER, H2Config(limits=limits))
    sid = 1
    for i in range(400):
        events = peer.send(
            peer.headers(sid, end_stream=False), RstStreamFrame(sid, 8), now=i * 0.01
        )
        sid += 2
        if of_type(events, ConnectionFailed):
            break
    _flooded(peer, events)
    # a bucket of 300 refilling at 300 per minute: 300 plus what ~3 s refill
    assert 300 <= i + 1 <= 300 + 3.2 * 5 + 1


def test_answered_streams_reset_are_not_rapid_resets() -> None:
    peer = RawPeer(Role.SERVER)
    conn = peer.conn
    for i in range(300):
        sid = 1 + 2 * i
        peer.send(peer.headers(sid, end_stream=True), now=i * 0.02)
        conn.send(Response(sid, 200, Headers()))
        events = peer.send(RstStreamFrame(sid, ErrorCode.CANCEL), now=i * 0.02)
        assert not of_type(events, ConnectionFailed)
    assert conn.flood_stats["rapid_resets"] == 0


def test_browser_burst_of_100_streams_then_cancel_all() -> None:
    peer = RawPeer(Role.SERVER)
    frames = [peer.headers(1 + 2 * i, REQUEST, end_stream=True) for i in range(100)]
    events = peer.send(*frames)
    assert len(of_type(events, Request)) == 100
    events = peer.send(*(RstStreamFrame(1 + 2 * i, ErrorCode.CANCEL) for i in range(100)))
    assert len(of_type(events, StreamReset)) == 100
    assert not of_type(events, ConnectionFailed)
    assert peer.conn.state is ConnectionState.OPEN


def test_refused_streams_count_as_rapid_resets() -> None:
    limits = HTTP2Limits(max_concurrent_streams=1)
    peer = RawPeer(Role.SERVER, H2Config(limits=limits))
    peer.send(peer.headers(1, end_stream=False))

    def frames():  # type: ignore[no-untyped-def]
        sid = 3
        while True:
            yield peer.headers(sid, end_stream=False)
            sid += 2

    # burst is max(10, 1) = 10 refusals
    n = _until_flood(peer, frames(), 20)
    assert n == 11
    assert peer.resets()[3] == ErrorCode.REFUSED_STREAM


def test_empty_data_flood() -> None:
    peer = RawPeer(Role.SERVER, H2Config(empty_frame_burst=20))
    peer.send(peer.headers(1, end_stream=False))
    n = _until_flood(peer, (DataFrame(1, b"") for _ in range(100)), 30)
    assert n == 21
    assert peer.conn.flood_tripped == "empty_frames"


def test_empty_headers_and_continuation_flood() -> None:
    peer = RawPeer(Role.SERVER, H2Config(empty_frame_burst=5))
    block = peer.block(REQUEST)
    frames = [HeadersFrame(1, b"", end_stream=False, end_headers=False)]
    frames += [ContinuationFrame(1, b"", end_headers=False) for _ in range(5)]
    frames += [ContinuationFrame(1, block, end_headers=True)]
    events = peer.send(*frames)
    _flooded(peer, events)


def test_continuation_count_bound() -> None:
    limits = HTTP2Limits(max_continuation_frames=4)
    for extra, ok in ((4, True), (5, False)):
        peer = RawPeer(Role.SERVER, H2Config(limits=limits))
        block = peer.block(REQUEST)
        pieces = [block[i : i + 1] for i in range(len(block))]
        assert len(pieces) > extra
        head, middle, tail = pieces[0], pieces[1:extra], b"".join(pieces[extra:])
        frames = [HeadersFrame(1, head, end_stream=True, end_headers=False)]
        frames += [ContinuationFrame(1, p) for p in middle]
        frames += [ContinuationFrame(1, tail, end_headers=True)]
        assert len(frames) == 1 + extra
        events = peer.send(*frames)
        if ok:
            assert of_type(events, Request)
        else:
            _flooded(peer, events)


def test_header_block_byte_bound_before_decoding() -> None:
    limits = HTTP2Limits(max_header_list_size=1000)
    from sockit.limits import HPACKLimits

    config = H2Config(limits=limits, hpack=HPACKLimits(max_header_list_size=1000))
    cap = 2 * 1000
    for size, ok in ((cap, True), (cap + 1, False)):
        peer = RawPeer(Role.SERVER, config)
        # raw bytes that are not even valid HPACK: the bound trips first
        frames = [HeadersFrame(1, b"\x00" * 500, end_stream=True, end_headers=False)]
        left = size - 500
        while left > 0:
            piece = min(left, 500)
            left -= piece
            frames.append(ContinuationFrame(1, b"\x00" * piece, end_headers=False))
        events = peer.send(*frames)
        failed = of_type(events, ConnectionFailed)
        if ok:
            assert not failed
        else:
            assert failed and failed[0].error_code == CALM


def test_priority_frames_are_cheap_and_ignored() -> None:
    peer = RawPeer(Role.SERVER)
    events = peer.send(*(PriorityFrame(1 + 2 * i, Priority(0, 16)) for i in range(1000)))
    assert events == []
    assert peer.conn.state is ConnectionState.OPEN


def test_stream_error_flood() -> None:
    # each frame is a stream error we must answer with RST_STREAM (CVE-2019-9514)
    peer = RawPeer(Role.SERVER)
    bad = [(b":method", b"GET"), (b":path", b"/")]  # no :scheme: malformed

    def frames():  # type: ignore[no-untyped-def]
        sid = 1
        while True:
            yield peer.headers(sid, bad)
            sid += 2

    n = _until_flood(peer, frames(), 200)
    assert n == 101
    assert peer.conn.flood_tripped == "stream_errors"


def test_stalled_stream_is_reset_and_memory_released() -> None:
    config = H2Config(stalled_stream_timeout=5.0)
    peer = RawPeer(Role.CLIENT, config)
    conn = peer.conn
    sid = conn.next_stream_id()
    conn.send(Request(sid, b"POST", b"/", authority=b"a"))
    conn.receive_data(b"", now=100.0)
    conn.send(Data(sid, b"x" * 200_000))
    assert conn.outbound_buffered(sid) == 200_000 - 65535
    assert conn.next_deadline() == 105.0
    assert conn.handle_timeout(104.9) == []
    events = conn.handle_timeout(105.0)
    assert events == [StreamReset(sid, ErrorCode.CANCEL, False)]
    assert peer.resets() == {sid: ErrorCode.CANCEL}
    assert conn.outbound_buffered() == 0
    assert conn.flood_stats["stalled_resets"] == 1
    assert conn.next_deadline() is None  # nothing stalled, SETTINGS acknowledged
    assert conn.state is ConnectionState.OPEN


def test_progress_postpones_the_stall_timer() -> None:
    config = H2Config(stalled_stream_timeout=5.0)
    peer = RawPeer(Role.CLIENT, config)
    conn = peer.conn
    sid = conn.next_stream_id()
    conn.send(Request(sid, b"POST", b"/", authority=b"a"))
    conn.receive_data(b"", now=0.0)
    conn.send(Data(sid, b"x" * 200_000))
    from sockit.proto.http2 import WindowUpdateFrame

    peer.send(WindowUpdateFrame(0, 10_000), WindowUpdateFrame(sid, 10_000), now=4.0)
    assert conn.handle_timeout(8.0) == []
    assert conn.next_deadline() == 9.0


def test_flood_memory_is_bounded() -> None:
    # a peer that never reads our PING ACKs can only queue a burst of them
    peer = RawPeer(Role.SERVER)
    raw = b"".join(
        __import__("sockit.proto.http2", fromlist=["serialize"]).serialize(PingFrame(bytes(8)))
        for _ in range(10_000)
    )
    peer.conn.receive_data(raw, now=0.0)
    assert peer.conn.outbound_buffered() < 51 * 17 + 1024


def _literal_indexed(name: bytes, value: bytes) -> bytes:
    """HPACK literal with incremental indexing, new name, no Huffman (RFC 7541 §6.2.1)."""

    def integer(n: int) -> bytes:  # 7-bit prefix
        if n < 127:
            return bytes([n])
        out, n = [127], n - 127
        while n >= 128:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        return bytes([*out, n])

    return b"\x40" + integer(len(name)) + name + integer(len(value)) + value


def test_hpack_bomb_is_refused_before_the_memory_is_spent() -> None:
    """One 4 KiB table entry referenced over and over in a small block: the decoder's
    guard (decoded bytes <= min(10 x header list size, 1 MiB)) stops it mid-block."""
    peer = RawPeer(Role.SERVER)
    # x-big enters the dynamic table (index 62); each 0xbe byte references it again
    bomb = peer.block(REQUEST) + _literal_indexed(b"x-big", b"v" * 4000) + b"\xbe" * 200
    assert len(bomb) < 4400  # 4.4 KB on the wire, over 800 KB if decoded
    events = peer.send(HeadersFrame(1, bomb, end_stream=True, end_headers=True))
    failed = of_type(events, ConnectionFailed)
    assert failed and failed[0].error_code == ErrorCode.COMPRESSION_ERROR
    assert "163840" in failed[0].reason  # the guard's bound, not the whole 800 KB
    assert not of_type(events, Request)
    assert peer.conn.state is ConnectionState.CLOSED
    goaway = peer.goaway()
    assert goaway is not None and goaway.error_code == ErrorCode.COMPRESSION_ERROR


def test_hpack_list_within_the_guard_but_over_the_list_size_is_a_431_not_a_goaway() -> None:
    peer = RawPeer(Role.SERVER)
    block = peer.block([*REQUEST, *((b"x-h%d" % i, b"y" * 900) for i in range(20))])
    events = peer.send(HeadersFrame(1, block, end_stream=True, end_headers=True))
    assert not of_type(events, ConnectionFailed)
    assert not of_type(events, Request)
    assert peer.conn.state is ConnectionState.OPEN
    later = peer.send(peer.headers(3, end_stream=True))
    assert of_type(later, Request)
