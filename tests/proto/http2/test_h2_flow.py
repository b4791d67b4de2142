"""Flow control: window arithmetic, the round-robin, and the connection's use of both."""

from __future__ import annotations

import pytest

from sockit.errors import LocalProtocolError
from sockit.limits import HTTP2Limits
from sockit.proto.events import Role
from sockit.proto.http.headers import Headers
from sockit.proto.http2 import (
    Data,
    DataFrame,
    ErrorCode,
    H2Config,
    Request,
    Response,
    RstStreamFrame,
    SendBufferFull,
    SettingsFrame,
    StreamEnded,
    WindowUpdateFrame,
)
from sockit.proto.http2.flow import MAX_WINDOW, ReceiveWindow, RoundRobin
from tests.proto.http2._h2_support import RawPeer, frames_out, of_type, pair, pump


def test_receive_window_returns_credit_at_half() -> None:
    w = ReceiveWindow(100, 100)
    assert w.consume(49, 0)
    assert w.due() == 0
    assert w.consume(1, 0)
    assert w.due() == 50
    assert w.window == 100
    assert not w.consume(101, 0)
    assert w.window == 100


def test_receive_window_holds_until_released() -> None:
    w = ReceiveWindow(100, 100)
    assert w.consume(80, 80)
    assert w.due() == 0  # all held
    assert w.release(30) == 30
    assert w.due() == 0  # 30 owed < threshold 50
    assert w.release(1000) == 50  # clamped to what is held
    assert w.due() == 80
    assert w.window == 100 and w.held == 0


def test_receive_window_retarget_and_cap() -> None:
    w = ReceiveWindow(65535, 65535)
    w.consume(65535, 0)
    w.retarget(10)  # our smaller INITIAL_WINDOW_SIZE was acked
    assert w.window == 65535 - 65535 + 10 - 65535
    assert w.due() == 65535  # everything owed back up to the new target
    assert w.window == 10
    big = ReceiveWindow(MAX_WINDOW, MAX_WINDOW)
    big.consume(5, 0)
    assert big.due() == 0  # 5 owed is far below half a window
    big.consume(MAX_WINDOW - 5, 0)
    assert big.due() == MAX_WINDOW
    assert big.window == MAX_WINDOW


def test_round_robin() -> None:
    rr = RoundRobin()
    for sid in (1, 3, 5, 3):
        rr.add(sid)
    assert len(rr) == 3 and 3 in rr
    rr.discard(3)
    assert [rr.pop(), rr.pop(), rr.pop()] == [1, 5, None]
    assert not rr


# -- the connection -----------------------------------------------------------------


def _request(client, sid: int = 0, end: bool = False) -> int:  # type: ignore[no-untyped-def]
    sid = sid or client.next_stream_id()
    client.send(Request(sid, b"POST", b"/upload", authority=b"example.com", end_stream=end))
    return sid


def test_body_larger_than_both_windows_arrives_whole() -> None:
    client, server = pair()
    sid = _request(client)
    body = bytes(range(256)) * 4096  # 1 MiB: > 65535 stream window, = connection window
    client.send(Data(sid, body, end_stream=True))
    assert client.outbound_buffered(sid) == len(body) - 65535
    _, events = pump(client, server)
    got = b"".join(e.data for e in events if isinstance(e, Data))
    assert got == body
    assert of_type(events, StreamEnded) == [StreamEnded(sid)]
    assert client.outbound_buffered() == 0


def test_send_buffer_bounds() -> None:
    config = H2Config(max_stream_send_buffer=1000, max_connection_send_buffer=1500)
    client, _ = pair(client_config=config)
    sid = _request(client)
    client.send(Data(sid, b"x" * 65535))  # fills the window, buffers nothing
    client.send(Data(sid, b"x" * 1000))  # exactly the stream bound
    with pytest.raises(SendBufferFull) as info:
        client.send(Data(sid, b"x"))
    assert info.value.limit == "max_stream_send_buffer"
    assert isinstance(info.value, LocalProtocolError)
    sid2 = _request(client)
    client.send(Data(sid2, b"y" * 65535))  # its own window: sent at once
    with pytest.raises(SendBufferFull) as info:
        client.send(Data(sid2, b"y" * 501))  # connection bound 1500
    assert info.value.limit == "max_connection_send_buffer"
    assert client.outbound_buffered(sid2) == 0  # nothing was queued
    client.send(Data(sid2, b"y" * 500))
    assert client.outbound_buffered() >= 1500


def test_round_robin_shares_the_window() -> None:
    limits = HTTP2Limits(initial_window_size=1 << 20, connection_window_size=1 << 20)
    client = RawPeer(Role.CLIENT)
    conn = client.conn
    # the server grants big stream windows but the connection window is 65535
    client.send(SettingsFrame(((4, 1 << 20),)))
    sids = [_request(conn) for _ in range(3)]
    for sid in sids:
        conn.send(Data(sid, b"z" * 100_000))
    client.collect()
    client.received.clear()
    # open the connection window by 3 x 16384: each stream gets one frame
    client.send(WindowUpdateFrame(0, 3 * 16384))
    data = client.of(DataFrame)
    assert [f.stream_id for f in data] == sids
    assert all(len(f.data) == 16384 for f in data)
    del limits


def test_window_update_overflow() -> None:
    peer = RawPeer(Role.CLIENT)
    sid = _request(peer.conn)
    peer.send(WindowUpdateFrame(sid, MAX_WINDOW - 65535 + 1))
    assert peer.resets() == {sid: ErrorCode.FLOW_CONTROL_ERROR}
    peer.send(WindowUpdateFrame(0, MAX_WINDOW - 65535))  # exactly the maximum: fine
    assert peer.goaway() is None
    peer.send(WindowUpdateFrame(0, 1))
    goaway = peer.goaway()
    assert goaway is not None and goaway.error_code == ErrorCode.FLOW_CONTROL_ERROR


def test_settings_initial_window_change_adjusts_streams() -> None:
    peer = RawPeer(Role.CLIENT)
    conn = peer.conn
    sid = _request(conn)
    conn.send(Data(sid, b"a" * 70000))
    peer.send(WindowUpdateFrame(0, 100_000))  # the connection window is not the limit
    assert conn.remote_window(sid) == 0
    peer.collect()
    peer.received.clear()
    peer.send(SettingsFrame(((4, 65535 + 10),)))
    assert peer.of(DataFrame)[-1].data == b"a" * 10
    peer.send(SettingsFrame(((4, 100),)))  # shrinks: window goes negative
    assert conn.remote_window(sid) == 0
    peer.send(SettingsFrame(((4, MAX_WINDOW),)))
    assert peer.goaway() is None
    # all 70000 bytes are out: the window is MAX_WINDOW - 70000
    assert sum(len(f.data) for f in peer.of(DataFrame)) == 70000 - 65535
    peer.send(WindowUpdateFrame(sid, 70_000))
    assert peer.resets() == {}
    peer.send(WindowUpdateFrame(sid, 1))
    goaway = peer.goaway()
    assert goaway is None  # stream error only
    assert peer.resets().get(sid) == ErrorCode.FLOW_CONTROL_ERROR


def test_settings_initial_window_overflow_is_connection_error() -> None:
    peer = RawPeer(Role.CLIENT)
    sid = _request(peer.conn)
    peer.send(WindowUpdateFrame(sid, MAX_WINDOW - 65535))
    peer.send(SettingsFrame(((4, 65536),)))
    goaway = peer.goaway()
    assert goaway is not None and goaway.error_code == ErrorCode.FLOW_CONTROL_ERROR


def test_receiving_over_the_stream_window() -> None:
    peer = RawPeer(Role.SERVER)
    peer.send(peer.headers(1, end_stream=False))
    peer.send(DataFrame(1, b"x" * 16384), DataFrame(1, b"x" * 16384))
    peer.send(DataFrame(1, b"x" * 16384), DataFrame(1, b"x" * 16383))
    assert peer.resets() == {}
    # auto mode already returned credit: exceed the *advertised* window instead
    window = peer.conn.local_window(1)
    peer.send(DataFrame(1, b"x" * min(window + 1, 16384)))
    if window + 1 <= 16384:
        assert peer.resets() == {1: ErrorCode.FLOW_CONTROL_ERROR}


def test_receiving_over_the_connection_window_is_connection_error() -> None:
    config = H2Config(auto_window_update=False)
    peer = RawPeer(Role.SERVER, config)
    conn = peer.conn
    assert conn.local_window(0) == 1 << 20
    sid = 1
    sent = 0
    while sent + 65535 <= (1 << 20):
        peer.send(peer.headers(sid, end_stream=False))
        for _ in range(3):
            peer.send(DataFrame(sid, b"x" * 16384))
        peer.send(DataFrame(sid, b"x" * 16383))
        sent += 65535
        sid += 2
    assert peer.goaway() is None
    assert conn.local_window(0) == (1 << 20) - sent
    peer.send(peer.headers(sid, end_stream=False))
    peer.send(DataFrame(sid, b"x" * (conn.local_window(0) + 1)))
    goaway = peer.goaway()
    assert goaway is not None and goaway.error_code == ErrorCode.FLOW_CONTROL_ERROR


def test_manual_flow_control() -> None:
    config = H2Config(auto_window_update=False)
    client, server = pair(server_config=config)
    sid = _request(client)
    client.send(Data(sid, b"x" * 65535))
    _, events = pump(client, server)
    assert sum(len(e.data) for e in events if isinstance(e, Data)) == 65535
    assert client.remote_window(sid) == 0
    assert server.local_window(sid) == 0
    server.acknowledge_received_data(sid, 1000)  # below half: no update yet
    pump(client, server)
    assert client.remote_window(sid) == 0
    server.acknowledge_received_data(sid, 40000)
    pump(client, server)
    assert client.remote_window(sid) == 41000
    with pytest.raises(LocalProtocolError):
        server.acknowledge_received_data(sid, -1)


def test_connection_and_stream_credit_returned_apart() -> None:
    # a connection window of 65535 returns credit after half of it, like a stream's
    config = H2Config(auto_window_update=False, limits=HTTP2Limits(connection_window_size=65535))
    client, server = pair(server_config=config)
    sid = _request(client)
    client.send(Data(sid, b"x" * 65535))
    pump(client, server)
    conn_before = client.remote_window(0)
    server.acknowledge_received_data(0, 65535)  # connection credit only
    pump(client, server)
    assert client.remote_window(sid) == 0
    assert client.remote_window(0) == conn_before + 65535
    server.acknowledge_received_data(sid, 65535, connection=False)  # stream credit only
    pump(client, server)
    assert client.remote_window(sid) == 65535
    assert client.remote_window(0) == conn_before + 65535  # not returned twice


def test_padding_is_returned_automatically_in_manual_mode() -> None:
    config = H2Config(auto_window_update=False)
    peer = RawPeer(Role.SERVER, config)
    peer.send(peer.headers(1, end_stream=False))
    events = peer.send(DataFrame(1, b"abc", pad_length=200))
    data = of_type(events, Data)
    assert data == [Data(1, b"abc", False, 204)]
    # 204 consumed, 3 held: the padding is owed but below the threshold
    assert peer.conn.local_window(1) == 65535 - 204
    peer.conn.acknowledge_received_data(1, 3)
    assert peer.conn.local_window(1) == 65535 - 204  # still under half a window


def test_data_after_reset_still_counts_against_connection_window() -> None:
    peer = RawPeer(Role.SERVER)
    peer.send(peer.headers(1, end_stream=False))
    from sockit.proto.http2 import ResetStream

    peer.conn.send(ResetStream(1, ErrorCode.CANCEL))
    before = peer.conn.local_window(0)
    peer.send(DataFrame(1, b"x" * 1000))  # in flight: ignored, but counted
    assert peer.resets() == {1: ErrorCode.CANCEL}
    assert peer.goaway() is None
    assert peer.conn.local_window(0) <= before


def test_stream_window_exhausted_then_reopened_by_window_update() -> None:
    client, server = pair()
    sid = _request(client)
    client.send(Data(sid, b"q" * 100_000, end_stream=True))
    raw = client.data_to_send()
    sizes = [len(f.data) for f in frames_out(raw) if isinstance(f, DataFrame)]
    assert sum(sizes) == 65535 and max(sizes) <= 16384
    events = server.receive_data(raw)
    assert sum(len(e.data) for e in of_type(events, Data)) == 65535
    _, events = pump(client, server)
    assert sum(len(e.data) for e in of_type(events, Data)) == 100_000 - 65535
    assert of_type(events, StreamEnded)


def test_empty_end_stream_needs_no_window() -> None:
    client, server = pair()
    sid = _request(client)
    client.send(Data(sid, b"x" * 65535))
    client.send(Data(sid, b"", end_stream=True))
    _, events = pump(client, server)
    assert of_type(events, StreamEnded)


def test_rst_drops_the_send_buffer() -> None:
    peer = RawPeer(Role.CLIENT)
    sid = _request(peer.conn)
    peer.conn.send(Data(sid, b"x" * 100_000))
    assert peer.conn.outbound_buffered(sid) > 0
    peer.send(RstStreamFrame(sid, ErrorCode.CANCEL))
    assert peer.conn.outbound_buffered(sid) == 0
    assert peer.conn.outbound_buffered() == 0


def test_response_headers_not_blocked_by_flow_control() -> None:
    client, server = pair()
    sid = _request(client)
    client.send(Data(sid, b"x" * 70000, end_stream=True))
    pump(client, server)
    server.send(Response(sid, 200, Headers([("content-type", "a/b")])))
    events, _ = pump(client, server)
    assert events


def test_trailers_and_end_wait_behind_buffered_data() -> None:
    from sockit.proto.http2 import Trailers

    client, server = pair()
    sid = _request(client)
    client.send(Data(sid, b"a" * 100_000))
    client.send(Trailers(sid, Headers([("x-sum", "1")])))
    with pytest.raises(LocalProtocolError):
        client.send(Data(sid, b"late"))  # ended by the trailers already
    sid2 = _request(client)
    client.send(Data(sid2, b"b" * 70_000))
    client.send(Data(sid2, b"", end_stream=True))
    _, events = pump(client, server)
    kinds = [(type(e).__name__, e.stream_id) for e in events if not isinstance(e, Data)]
    assert ("Trailers", sid) in kinds and ("StreamEnded", sid) in kinds
    assert kinds.index(("Trailers", sid)) < kinds.index(("StreamEnded", sid))
    assert ("StreamEnded", sid2) in kinds
    got = {
        s: sum(len(e.data) for e in events if isinstance(e, Data) and e.stream_id == s)
        for s in (sid, sid2)
    }
    assert got == {sid: 100_000, sid2: 70_000}


def test_manual_mode_reset_returns_held_credit() -> None:
    config = H2Config(auto_window_update=False)
    peer = RawPeer(Role.SERVER, config)
    conn = peer.conn
    for sid in (1, 3, 5, 7, 9, 11, 13, 15, 17):
        peer.send(peer.headers(sid, end_stream=False))
        for _ in range(3):
            peer.send(DataFrame(sid, b"x" * 16384))
        peer.send(DataFrame(sid, b"x" * 16383))
    held = conn.local_window(0)
    assert held == (1 << 20) - 9 * 65535
    for sid in (1, 3, 5, 7, 9, 11, 13, 15, 17):
        peer.send(RstStreamFrame(sid, ErrorCode.CANCEL))
    # the application will never acknowledge reset streams: credit came back
    assert conn.local_window(0) == 1 << 20
    updates = [f for f in peer.of(WindowUpdateFrame) if f.stream_id == 0]
    assert updates


def test_acknowledging_an_ended_stream_returns_connection_credit() -> None:
    config = H2Config(auto_window_update=False)
    client, server = pair(server_config=config)
    for _ in range(9):
        sid = _request(client)
        client.send(Data(sid, b"y" * 65535, end_stream=True))
    _, events = pump(client, server)
    ended = [e.stream_id for e in events if isinstance(e, StreamEnded)]
    assert len(ended) == 9
    before = server.local_window(0)
    for sid in ended:
        server.acknowledge_received_data(sid, 65535)
    pump(client, server)
    assert server.local_window(0) > before
    assert client.remote_window(0) == server.local_window(0)
