"""The HTTP/2 connection end to end: our client against our server."""

from __future__ import annotations

import pytest

from sockit.errors import LocalProtocolError
from sockit.limits import HTTP2Limits
from sockit.proto.events import ConnectionTerminated, DataReceived, EndOfStream, Role
from sockit.proto.http.headers import Headers
from sockit.proto.http2 import (
    PREFACE,
    Connection,
    ConnectionClosed,
    ConnectionFailed,
    ConnectionState,
    Data,
    ErrorCode,
    GoAwayFrame,
    GoAwayReceived,
    H2Config,
    H2ConnectionError,
    InformationalResponse,
    PingAcknowledged,
    PingFrame,
    PingReceived,
    PushPromise,
    Request,
    ResetStream,
    Response,
    SettingsAcknowledged,
    SettingsFrame,
    SettingsReceived,
    StreamEnded,
    StreamReset,
    StreamState,
    Trailers,
    WindowUpdated,
)
from tests.proto.http2._h2_support import RawPeer, frames_out, of_type, pair, pump

H = Headers


def get(sid: int, path: bytes = b"/", **kw: object) -> Request:
    return Request(sid, b"GET", path, authority=b"example.com", end_stream=True, **kw)  # type: ignore[arg-type]


def test_handshake_events() -> None:
    client = Connection(Role.CLIENT)
    server = Connection(Role.SERVER)
    out = client.data_to_send()
    assert out.startswith(PREFACE)
    frames = frames_out(out[len(PREFACE) :])
    assert isinstance(frames[0], SettingsFrame)
    settings = dict(frames[0].settings)
    assert settings[2] == 0  # the client never asks for push by default
    assert settings[3] == 100 and settings[4] == 65535 and settings[6] == 16 * 1024
    events = server.receive_data(out)
    assert isinstance(events[0], SettingsReceived)
    assert of_type(events, WindowUpdated) == [WindowUpdated(0, (1 << 20) - 65535)]
    client_events, _ = pump(client, server)
    assert of_type(client_events, SettingsAcknowledged)
    assert server.local_settings.max_concurrent_streams == 100  # acked now
    assert client.remote_settings.max_concurrent_streams == 100
    assert client.state is server.state is ConnectionState.OPEN


def test_get_with_response_and_trailers() -> None:
    client, server = pair()
    sid = client.next_stream_id()
    assert sid == 1
    client.send(
        get(sid, b"/a?b=c", headers=H([("User-Agent", "t"), ("cookie", "a"), ("cookie", "b")]))
    )
    _, events = pump(client, server)
    req = events[0]
    assert isinstance(req, Request)
    assert (req.method, req.path, req.scheme, req.authority) == (
        b"GET",
        b"/a?b=c",
        b"https",
        b"example.com",
    )
    assert req.headers.raw_items() == [(b"user-agent", b"t"), (b"cookie", b"a"), (b"cookie", b"b")]
    assert req.end_stream
    assert events[1:] == [StreamEnded(sid)]
    assert isinstance(events[1], EndOfStream)
    server.send(InformationalResponse(sid, 103, H([("link", "</s.css>; rel=preload")])))
    server.send(Response(sid, 200, H([("content-type", "text/plain")])))
    server.send(Data(sid, b"hello "))
    server.send(Data(sid, b"world"))
    server.send(Trailers(sid, H([("x-checksum", "abc")])))
    events, _ = pump(client, server)
    assert [type(e) for e in events] == [
        InformationalResponse,
        Response,
        Data,
        Data,
        Trailers,
        StreamEnded,
    ]
    assert events[0].status_code == 103
    assert events[1].status_code == 200 and not events[1].end_stream
    assert b"".join(e.data for e in of_type(events, Data)) == b"hello world"
    assert isinstance(events[2], DataReceived)
    assert events[4].headers.get("x-checksum") == "abc"
    assert client.stream_state(sid) is StreamState.CLOSED
    assert server.stream_state(sid) is StreamState.CLOSED
    assert client.open_streams == server.open_streams == 0


def test_post_with_body_and_content_length() -> None:
    client, server = pair()
    client.send(Request(1, b"POST", b"/f", authority=b"x", headers=H([("content-length", "5")])))
    client.send(Data(1, b"ab"))
    client.send(Data(1, b"cde", end_stream=True))
    _, events = pump(client, server)
    assert [type(e) for e in events] == [Request, Data, Data, StreamEnded]
    assert events[-2].end_stream


def test_content_length_mismatch_is_a_stream_error() -> None:
    client, server = pair(client_config=H2Config(validate_outbound_headers=False))
    client.send(Request(1, b"POST", b"/f", authority=b"x", headers=H([("content-length", "5")])))
    client.send(Data(1, b"abcdef", end_stream=True))
    client_events, server_events = pump(client, server)
    assert of_type(server_events, StreamReset) == [StreamReset(1, ErrorCode.PROTOCOL_ERROR, False)]
    assert not of_type(server_events, Data)  # the offending DATA is not delivered
    assert of_type(client_events, StreamReset) == [StreamReset(1, ErrorCode.PROTOCOL_ERROR, True)]
    # short: END_STREAM before the declared length
    client.send(Request(3, b"POST", b"/f", authority=b"x", headers=H([("content-length", "5")])))
    client.send(Data(3, b"abc", end_stream=True))
    _, server_events = pump(client, server)
    assert of_type(server_events, StreamReset) == [StreamReset(3, ErrorCode.PROTOCOL_ERROR, False)]
    assert server.state is ConnectionState.OPEN


def test_head_response_content_length_is_not_enforced() -> None:
    client, server = pair()
    client.send(Request(1, b"HEAD", b"/", authority=b"x", end_stream=True))
    pump(client, server)
    server.send(Response(1, 200, H([("content-length", "1234")]), end_stream=True))
    events, _ = pump(client, server)
    assert [type(e) for e in events] == [Response, StreamEnded]


def test_many_concurrent_streams_interleaved() -> None:
    client, server = pair()
    sids = [client.next_stream_id() + 2 * i for i in range(50)]
    for sid in sids:
        client.send(get(sid))
    _, events = pump(client, server)
    assert [e.stream_id for e in of_type(events, Request)] == sids
    for sid in reversed(sids):
        server.send(Response(sid, 200, H(), end_stream=False))
    for sid in sids:
        server.send(Data(sid, b"%d" % sid, end_stream=True))
    events, _ = pump(client, server)
    assert {e.stream_id: e.data for e in of_type(events, Data)} == {s: b"%d" % s for s in sids}
    assert len(of_type(events, StreamEnded)) == 50


def test_max_concurrent_streams_refuses_the_excess() -> None:
    limits = HTTP2Limits(max_concurrent_streams=2)
    peer = RawPeer(Role.SERVER, H2Config(limits=limits))
    events = peer.send(*(peer.headers(sid, end_stream=False) for sid in (1, 3, 5)))
    assert [e.stream_id for e in of_type(events, Request)] == [1, 3]
    assert peer.resets() == {5: ErrorCode.REFUSED_STREAM}
    # at N it is fine again once a stream finished
    peer.conn.send(ResetStream(1))
    events = peer.send(peer.headers(7))
    assert [e.stream_id for e in of_type(events, Request)] == [7]


def test_client_respects_peer_max_concurrent_streams() -> None:
    limits = HTTP2Limits(max_concurrent_streams=1)
    client, _ = pair(server_config=H2Config(limits=limits))
    client.send(Request(1, b"GET", b"/", authority=b"x", end_stream=True))
    with pytest.raises(LocalProtocolError):
        client.send(Request(3, b"GET", b"/", authority=b"x", end_stream=True))
    assert client.open_outbound_streams == 1


def test_reset_from_either_side() -> None:
    client, server = pair()
    client.send(Request(1, b"POST", b"/", authority=b"x"))
    pump(client, server)
    client.send(ResetStream(1, ErrorCode.CANCEL))
    _, events = pump(client, server)
    assert events == [StreamReset(1, ErrorCode.CANCEL, True)]
    # frames for the reset stream that were in flight are ignored by the client
    server_frames = b""
    with pytest.raises(LocalProtocolError):
        server.send(Response(1, 200, H()))
    del server_frames
    client.send(Request(3, b"GET", b"/", authority=b"x", end_stream=True))
    pump(client, server)
    server.send(ResetStream(3, ErrorCode.REFUSED_STREAM))
    events, _ = pump(client, server)
    assert events == [StreamReset(3, ErrorCode.REFUSED_STREAM, True)]
    client.send(ResetStream(3))  # already closed: a no-op
    with pytest.raises(LocalProtocolError):
        client.send(ResetStream(99))  # idle


def test_ping_and_rtt() -> None:
    client, server = pair()
    opaque = client.ping(now=10.0)
    assert len(opaque) == 8
    out = client.data_to_send()
    events = server.receive_data(out, now=10.0)
    assert events == [PingReceived(opaque)]
    events = client.receive_data(server.data_to_send(), now=10.25)
    assert events == [PingAcknowledged(opaque, 0.25)]
    # an ACK we never asked for is ignored
    peer = RawPeer(Role.CLIENT)
    assert peer.send(PingFrame(b"12345678", ack=True)) == []
    custom = client.ping(b"abcdefgh")
    assert custom == b"abcdefgh"
    with pytest.raises(LocalProtocolError):
        client.ping(b"short")


def test_ping_before_the_clock_is_known_has_no_rtt() -> None:
    client = Connection(Role.CLIENT)
    server = Connection(Role.SERVER)
    opaque = client.ping()
    server.receive_data(client.data_to_send())
    events = client.receive_data(server.data_to_send())
    assert PingAcknowledged(opaque, None) in events


def test_graceful_goaway_drains() -> None:
    client, server = pair()
    client.send(Request(1, b"POST", b"/", authority=b"x"))
    pump(client, server)
    server.close()
    assert server.state is ConnectionState.CLOSING
    events, _ = pump(client, server)
    assert events == [GoAwayReceived(1, 0, b"")]
    assert isinstance(events[0], ConnectionTerminated)
    assert client.state is ConnectionState.CLOSING
    with pytest.raises(LocalProtocolError):
        client.send(Request(3, b"GET", b"/", authority=b"x", end_stream=True))
    # stream 1 still completes
    client.send(Data(1, b"body", end_stream=True))
    _, events = pump(client, server)
    assert [type(e) for e in events] == [Data, StreamEnded]
    server.send(Response(1, 200, H(), end_stream=True))
    events, _ = pump(client, server)
    assert [type(e) for e in events] == [Response, StreamEnded]
    assert server.state is ConnectionState.CLOSED
    assert client.state is ConnectionState.CLOSED
    assert server.receive_data(b"anything") == []


def test_new_streams_after_our_goaway_are_refused() -> None:
    peer = RawPeer(Role.SERVER)
    peer.send(peer.headers(1, end_stream=False))
    peer.conn.close()
    goaway = peer.goaway()
    assert goaway is not None and goaway.last_stream_id == 1 and goaway.error_code == 0
    events = peer.send(peer.headers(3))
    assert events == []
    assert peer.resets() == {3: ErrorCode.REFUSED_STREAM}


def test_goaway_received_refuses_streams_above_last() -> None:
    peer = RawPeer(Role.CLIENT)
    conn = peer.conn
    for sid in (1, 3, 5):
        conn.send(get(sid))
    events = peer.send(GoAwayFrame(1, ErrorCode.NO_ERROR, b"bye"))
    assert events == [
        GoAwayReceived(1, 0, b"bye"),
        StreamReset(3, ErrorCode.REFUSED_STREAM, True),
        StreamReset(5, ErrorCode.REFUSED_STREAM, True),
    ]
    assert events[0].reason == "bye"
    assert conn.state is ConnectionState.CLOSING
    assert conn.stream_state(1) is StreamState.HALF_CLOSED_LOCAL
    events = peer.send(peer.headers(1, [(b":status", b"204")], end_stream=True))
    assert [type(e) for e in events] == [Response, StreamEnded]
    assert conn.state is ConnectionState.CLOSED


def test_close_with_error_is_immediate() -> None:
    client, server = pair()
    client.send(Request(1, b"POST", b"/", authority=b"x"))
    pump(client, server)
    server.close(ErrorCode.INTERNAL_ERROR, b"oops")
    assert server.state is ConnectionState.CLOSED
    events, _ = pump(client, server)
    assert events[0] == GoAwayReceived(1, ErrorCode.INTERNAL_ERROR, b"oops")
    with pytest.raises(LocalProtocolError):
        server.send(Response(1, 200, H()))
    server.close()  # closing twice is harmless


def test_receive_eof() -> None:
    client, server = pair()
    client.send(Request(1, b"POST", b"/", authority=b"x"))
    pump(client, server)
    events = client.receive_eof()
    assert events == [
        StreamReset(1, ErrorCode.CANCEL, True),
        ConnectionClosed(None, "the peer closed the connection"),
    ]
    assert client.state is ConnectionState.CLOSED
    assert client.receive_eof() == []
    assert client.receive_data(b"x") == []


def test_settings_update_takes_effect_on_ack() -> None:
    client, server = pair()
    server.update_settings({4: 1000, 1: 0})  # INITIAL_WINDOW_SIZE, HEADER_TABLE_SIZE
    assert server.local_settings.initial_window_size == 65535
    client_events, server_events = pump(client, server)
    assert SettingsReceived({4: 1000, 1: 0}) in client_events
    assert of_type(server_events, SettingsAcknowledged)
    assert server.local_settings.initial_window_size == 1000
    assert server.local_settings.header_table_size == 0
    assert client.remote_settings.initial_window_size == 1000
    client.send(Request(1, b"POST", b"/", authority=b"x"))
    client.send(Data(1, b"x" * 5000, end_stream=True))
    assert client.outbound_buffered(1) == 4000
    _, events = pump(client, server)
    assert sum(len(e.data) for e in of_type(events, Data)) == 5000
    with pytest.raises(LocalProtocolError):
        server.update_settings({5: 100})  # MAX_FRAME_SIZE below 16384
    with pytest.raises(LocalProtocolError):
        server.update_settings({2: 1})  # a server cannot enable push


def test_settings_ack_timeout() -> None:
    conn = Connection(Role.SERVER, H2Config(settings_ack_timeout=2.0))
    conn.receive_data(PREFACE, now=50.0)
    assert conn.next_deadline() == 52.0
    assert conn.handle_timeout(51.0) == []
    events = conn.handle_timeout(52.0)
    assert events == [
        ConnectionFailed(ErrorCode.SETTINGS_TIMEOUT, "the peer did not acknowledge our SETTINGS")
    ]
    frames = frames_out(conn.data_to_send())
    assert (
        isinstance(frames[-1], GoAwayFrame) and frames[-1].error_code == ErrorCode.SETTINGS_TIMEOUT
    )
    assert conn.next_deadline() is None


def test_push_to_a_client_that_accepts_it() -> None:
    client, server = pair(client_config=H2Config(enable_push=True))
    assert server.remote_settings.enable_push
    client.send(get(1))
    pump(client, server)
    promised = server.next_stream_id()
    assert promised == 2
    server.send(
        PushPromise(1, promised, Request(promised, b"GET", b"/style.css", authority=b"example.com"))
    )
    server.send(Response(1, 200, H(), end_stream=True))
    server.send(Response(promised, 200, H([("content-type", "text/css")])))
    server.send(Data(promised, b"body{}", end_stream=True))
    events, _ = pump(client, server)
    push = events[0]
    assert isinstance(push, PushPromise)
    assert push.promised_stream_id == 2 and push.request.path == b"/style.css"
    assert push.request.stream_id == 2
    kinds = [(type(e).__name__, getattr(e, "stream_id", None)) for e in events[1:]]
    assert kinds == [
        ("Response", 1),
        ("StreamEnded", 1),
        ("Response", 2),
        ("Data", 2),
        ("StreamEnded", 2),
    ]


def test_push_refused_when_disabled() -> None:
    client, server = pair()
    assert not server.remote_settings.enable_push
    client.send(get(1))
    pump(client, server)
    with pytest.raises(LocalProtocolError):
        server.send(PushPromise(1, 2, Request(2, b"GET", b"/x", authority=b"a")))


def test_extended_connect() -> None:
    server_config = H2Config(enable_connect_protocol=True)
    client, server = pair(server_config=server_config)
    assert client.remote_settings.enable_connect_protocol
    ws = Request(1, b"CONNECT", b"/chat", authority=b"example.com", protocol=b"websocket")
    client.send(ws)
    _, events = pump(client, server)
    assert events[0].protocol == b"websocket" and events[0].method == b"CONNECT"
    # without the server's setting the client refuses to send it
    client2, _ = pair()
    with pytest.raises(LocalProtocolError):
        client2.send(ws)


def test_priority_header_passes_through() -> None:
    client, server = pair()
    client.send(get(1, priority=b"u=2"))
    _, events = pump(client, server)
    assert events[0].priority == b"u=2"
    assert events[0].headers.get("priority") == "u=2"


def test_h2c_upgrade() -> None:
    from sockit.proto.http1.events import Request as H1Request
    from sockit.proto.http2 import settings_header

    h1 = H1Request(
        b"GET",
        b"/up",
        Headers(
            [
                ("Host", "example.com"),
                ("Connection", "Upgrade, HTTP2-Settings"),
                ("Upgrade", "h2c"),
                ("HTTP2-Settings", settings_header().decode()),
                ("Accept", "*/*"),
            ]
        ),
    )
    server = Connection.upgraded(
        settings_header(H2Config(limits=HTTP2Limits(initial_window_size=1000))), h1
    )
    assert server.remote_settings.initial_window_size == 1000
    assert server.stream_state(1) is StreamState.HALF_CLOSED_REMOTE
    events = server.receive_data(b"")
    assert events[0] == Request(
        1, b"GET", b"/up", b"http", b"example.com", H([("accept", "*/*")]), True
    )
    assert events[1] == StreamEnded(1)
    assert server.receive_data(b"") == []
    client = Connection(Role.CLIENT)
    # the client's view of stream 1 is implicit in h2c; respond and check the bytes parse
    server.send(Response(1, 200, H(), end_stream=True))
    client_events = client.receive_data(server.data_to_send())
    assert of_type(client_events, SettingsReceived)
    for bad in (b"!!!", b"AAA", b"AAMAAABk+/"):
        with pytest.raises(H2ConnectionError):
            Connection.upgraded(bad, h1)
    with pytest.raises(LocalProtocolError):
        Connection.upgraded(settings_header(), h1, role=Role.CLIENT)


def test_local_misuse_raises() -> None:
    client, server = pair()
    with pytest.raises(LocalProtocolError):
        client.send(Request(2, b"GET", b"/", authority=b"x"))  # even id
    client.send(get(5))
    with pytest.raises(LocalProtocolError):
        client.send(get(3))  # lower than one used
    with pytest.raises(LocalProtocolError):
        client.send(Data(5, b"x"))  # ended already
    with pytest.raises(LocalProtocolError):
        client.send(Response(5, 200))
    with pytest.raises(LocalProtocolError):
        server.send(Request(1, b"GET", b"/", authority=b"x"))
    pump(client, server)
    with pytest.raises(LocalProtocolError):
        server.send(Data(5, b"x"))  # no response head yet
    with pytest.raises(LocalProtocolError):
        server.send(Response(5, 101))
    with pytest.raises(LocalProtocolError):
        server.send(InformationalResponse(5, 200))
    with pytest.raises(LocalProtocolError):
        server.send(Response(5, 200, H([("connection", "close")])))
    server.send(Response(5, 200, H([("Content-Type", "x")])))  # names are lowered for us
    with pytest.raises(LocalProtocolError):
        server.send(Response(5, 200))  # a second final response
    with pytest.raises(LocalProtocolError):
        server.send(Trailers(5, H([("te", "gzip")])))
    server.send(Trailers(5, H([("x-a", "1")])))
    with pytest.raises(LocalProtocolError):
        server.send(Data(5, b"late"))
    with pytest.raises(LocalProtocolError):
        server.send(WindowUpdated(0, 1))  # not an event one sends


def test_stream_ids_exhausted() -> None:
    client, _ = pair()
    client.send(get((1 << 31) - 1))
    with pytest.raises(LocalProtocolError):
        client.next_stream_id()


def test_data_to_send_max_bytes() -> None:
    client = Connection(Role.CLIENT)
    whole = Connection(Role.CLIENT).data_to_send()
    parts = [client.data_to_send(5), client.data_to_send(7), client.data_to_send()]
    assert b"".join(parts) == whole
    assert [len(p) for p in parts[:2]] == [5, 7]
    assert client.data_to_send() == b""
