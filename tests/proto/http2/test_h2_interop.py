"""Interop in memory with the ``h2`` library, in both roles.

Our client talks to an h2 server and an h2 client talks to our server: GET,
POST bodies larger than the flow-control windows, trailers, many concurrent
streams, resets, pings, GOAWAY, settings changes, push to an h2 client, and
the h2c upgrade.
"""

from __future__ import annotations

from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

from sockit.proto.events import Role
from sockit.proto.http.headers import Headers
from sockit.proto.http2 import (
    Connection,
    ConnectionState,
    Data,
    GoAwayReceived,
    H2Config,
    InformationalResponse,
    PingAcknowledged,
    PingReceived,
    PushPromise,
    Request,
    ResetStream,
    Response,
    SettingsAcknowledged,
    StreamEnded,
    StreamReset,
    Trailers,
)
from tests.proto.http2._h2_support import of_type

H = Headers


def h2_conn(client: bool, **settings: Any) -> h2.connection.H2Connection:
    config = h2.config.H2Configuration(client_side=client, header_encoding=None)
    conn = h2.connection.H2Connection(config=config)
    if settings:
        conn.local_settings.update(settings)
    conn.initiate_connection()
    return conn


class Link:
    """Our connection and an h2 connection joined in memory."""

    def __init__(self, ours: Connection, theirs: h2.connection.H2Connection) -> None:
        self.ours = ours
        self.theirs = theirs
        self.our_events: list[Any] = []
        self.their_events: list[Any] = []
        self.auto_ack = True

    def pump(self) -> None:
        for _ in range(100_000):
            moved = False
            out = self.ours.data_to_send()
            if out:
                moved = True
                events = self.theirs.receive_data(out)
                self.their_events.extend(events)
                if self.auto_ack:
                    for ev in events:
                        if isinstance(ev, h2.events.DataReceived) and ev.flow_controlled_length:
                            self.theirs.acknowledge_received_data(
                                ev.flow_controlled_length, ev.stream_id
                            )
            back = self.theirs.data_to_send()
            if back:
                moved = True
                self.our_events.extend(self.ours.receive_data(back))
            if not moved:
                return
        raise AssertionError("never quiet")

    def take(self) -> tuple[list[Any], list[Any]]:
        ours, theirs = self.our_events, self.their_events
        self.our_events, self.their_events = [], []
        return ours, theirs


def their_kinds(events: list[Any], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def client_link(**our: Any) -> Link:
    link = Link(Connection(Role.CLIENT, H2Config(**our) if our else None), h2_conn(False))
    link.pump()
    link.take()
    return link


def server_link(config: H2Config | None = None, **their: Any) -> Link:
    link = Link(Connection(Role.SERVER, config), h2_conn(True, **their))
    link.pump()
    link.take()
    return link


def h2_send_body(link: Link, sid: int, body: bytes, end: bool = True) -> None:
    """Send ``body`` from the h2 side as its windows allow, pumping between."""
    theirs = link.theirs
    pos = 0
    while pos < len(body):
        window = theirs.local_flow_control_window(sid)
        size = min(window, theirs.max_outbound_frame_size, len(body) - pos)
        if size <= 0:
            link.pump()
            assert theirs.local_flow_control_window(sid) > 0, "h2 never got credit"
            continue
        theirs.send_data(sid, body[pos : pos + size])
        pos += size
        link.pump()
    if end:
        theirs.end_stream(sid)
    link.pump()


def our_send_body(link: Link, sid: int, body: bytes, chunk: int = 256 * 1024) -> None:
    """Send ``body`` from our side in chunks, with backpressure on the buffer."""
    for pos in range(0, len(body), chunk):
        while link.ours.outbound_buffered(sid) > chunk:
            link.pump()
        piece = body[pos : pos + chunk]
        link.ours.send(Data(sid, piece, end_stream=pos + chunk >= len(body)))
    link.pump()


# -- our client, h2 server ---------------------------------------------------------------


def test_get_our_client_h2_server() -> None:
    link = client_link()
    sid = link.ours.next_stream_id()
    link.ours.send(
        Request(
            sid,
            b"GET",
            b"/hello",
            authority=b"example.com",
            headers=H([("accept", "*/*")]),
            end_stream=True,
        )
    )
    link.pump()
    _, theirs = link.take()
    req = their_kinds(theirs, h2.events.RequestReceived)[0]
    assert (b":path", b"/hello") in req.headers and (b"accept", b"*/*") in req.headers
    assert their_kinds(theirs, h2.events.StreamEnded)
    link.theirs.send_headers(sid, [(b":status", b"100")])
    link.theirs.send_headers(sid, [(b":status", b"200"), (b"content-type", b"text/plain")])
    link.theirs.send_data(sid, b"hi there", end_stream=True)
    link.pump()
    ours, _ = link.take()
    assert [type(e) for e in ours] == [InformationalResponse, Response, Data, StreamEnded]
    assert ours[1].headers.get("content-type") == "text/plain"
    assert ours[2].data == b"hi there"


def test_post_larger_than_windows_our_client() -> None:
    link = client_link()
    body = bytes(range(256)) * 5000  # 1.28 MB > 65535 and > h2's connection window
    sid = link.ours.next_stream_id()
    link.ours.send(Request(sid, b"POST", b"/up", authority=b"x"))
    our_send_body(link, sid, body)
    _, theirs = link.take()
    got = b"".join(e.data for e in their_kinds(theirs, h2.events.DataReceived))
    assert got == body
    assert their_kinds(theirs, h2.events.StreamEnded)


def test_trailers_both_ways_our_client() -> None:
    link = client_link()
    sid = link.ours.next_stream_id()
    link.ours.send(Request(sid, b"POST", b"/t", authority=b"x", headers=H([("te", "trailers")])))
    link.ours.send(Data(sid, b"abc"))
    link.ours.send(Trailers(sid, H([("x-sum", "1")])))
    link.pump()
    _, theirs = link.take()
    trailers = their_kinds(theirs, h2.events.TrailersReceived)
    assert trailers and (b"x-sum", b"1") in trailers[0].headers
    link.theirs.send_headers(sid, [(b":status", b"200")])
    link.theirs.send_data(sid, b"ok")
    link.theirs.send_headers(sid, [(b"grpc-status", b"0")], end_stream=True)
    link.pump()
    ours, _ = link.take()
    assert [type(e) for e in ours] == [Response, Data, Trailers, StreamEnded]
    assert ours[2].headers.get("grpc-status") == "0"


def test_many_streams_and_reset_our_client() -> None:
    link = client_link()
    sids = []
    for _ in range(100):
        sid = link.ours.next_stream_id()
        sids.append(sid)
        link.ours.send(Request(sid, b"GET", b"/%d" % sid, authority=b"x", end_stream=True))
    link.pump()
    _, theirs = link.take()
    assert len(their_kinds(theirs, h2.events.RequestReceived)) == 100
    for sid in sids[::2]:
        link.theirs.send_headers(sid, [(b":status", b"200")])
        link.theirs.send_data(sid, b"%d" % sid, end_stream=True)
    for sid in sids[1::2]:
        link.theirs.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
    link.pump()
    ours, _ = link.take()
    data = {e.stream_id: e.data for e in of_type(ours, Data)}
    assert data == {sid: b"%d" % sid for sid in sids[::2]}
    resets = of_type(ours, StreamReset)
    assert {r.stream_id for r in resets} == set(sids[1::2])
    assert all(r.remote and r.error_code == 7 for r in resets)
    assert link.ours.open_streams == 0


def test_our_client_resets_and_pings() -> None:
    link = client_link()
    sid = link.ours.next_stream_id()
    link.ours.send(Request(sid, b"POST", b"/", authority=b"x"))
    link.pump()
    link.ours.send(ResetStream(sid, 8))
    opaque = link.ours.ping(now=1.0)
    link.pump()
    ours, theirs = link.take()
    resets = their_kinds(theirs, h2.events.StreamReset)
    assert resets and resets[0].error_code == 8
    assert their_kinds(theirs, h2.events.PingReceived)[0].ping_data == opaque
    assert of_type(ours, PingAcknowledged)[0].opaque == opaque
    link.theirs.ping(b"12345678")
    link.pump()
    ours, theirs = link.take()
    assert of_type(ours, PingReceived) == [PingReceived(b"12345678")]
    assert their_kinds(theirs, h2.events.PingAckReceived)


def test_h2_server_goaway() -> None:
    link = client_link()
    for _ in range(3):
        link.ours.send(
            Request(link.ours.next_stream_id(), b"GET", b"/", authority=b"x", end_stream=True)
        )
    link.pump()
    link.theirs.close_connection(last_stream_id=3)
    link.pump()
    ours, _ = link.take()
    assert of_type(ours, GoAwayReceived)[0].last_stream_id == 3
    assert [r.stream_id for r in of_type(ours, StreamReset)] == [5]
    assert link.ours.state is ConnectionState.CLOSING


def test_settings_changes_with_h2_server() -> None:
    link = client_link()
    link.theirs.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 100})
    link.ours.update_settings({4: 200_000})
    link.pump()
    ours, theirs = link.take()
    assert link.ours.remote_settings.initial_window_size == 100
    assert of_type(ours, SettingsAcknowledged)
    assert their_kinds(theirs, h2.events.RemoteSettingsChanged)
    sid = link.ours.next_stream_id()
    link.ours.send(Request(sid, b"POST", b"/", authority=b"x"))
    link.ours.send(Data(sid, b"z" * 1000, end_stream=True))
    link.pump()
    _, theirs = link.take()
    assert sum(len(e.data) for e in their_kinds(theirs, h2.events.DataReceived)) == 1000


# -- h2 client, our server -------------------------------------------------------------------


def test_get_h2_client_our_server() -> None:
    link = server_link()
    theirs = link.theirs
    sid = theirs.get_next_available_stream_id()
    theirs.send_headers(
        sid,
        [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"a"), (b":path", b"/x")],
        end_stream=True,
    )
    link.pump()
    ours, _ = link.take()
    assert [type(e) for e in ours] == [Request, StreamEnded]
    link.ours.send(Response(sid, 200, H([("content-type", "text/html")])))
    link.ours.send(Data(sid, b"<p>hi</p>", end_stream=True))
    link.pump()
    _, events = link.take()
    resp = their_kinds(events, h2.events.ResponseReceived)[0]
    assert (b":status", b"200") in resp.headers
    assert their_kinds(events, h2.events.DataReceived)[0].data == b"<p>hi</p>"
    assert their_kinds(events, h2.events.StreamEnded)


def test_post_larger_than_windows_h2_client() -> None:
    link = server_link()
    theirs = link.theirs
    sid = theirs.get_next_available_stream_id()
    theirs.send_headers(
        sid,
        [(b":method", b"POST"), (b":scheme", b"https"), (b":authority", b"a"), (b":path", b"/")],
    )
    body = bytes(range(256)) * 6000
    h2_send_body(link, sid, body)
    ours, _ = link.take()
    assert b"".join(e.data for e in of_type(ours, Data)) == body
    assert of_type(ours, StreamEnded) == [StreamEnded(sid)]
    # and a large response the other way
    link.ours.send(Response(sid, 200, H()))
    our_send_body(link, sid, body)
    _, events = link.take()
    assert b"".join(e.data for e in their_kinds(events, h2.events.DataReceived)) == body


def test_trailers_and_many_streams_h2_client() -> None:
    link = server_link()
    theirs = link.theirs
    sids = []
    for _ in range(60):
        sid = theirs.get_next_available_stream_id()
        sids.append(sid)
        theirs.send_headers(
            sid,
            [
                (b":method", b"POST"),
                (b":scheme", b"https"),
                (b":authority", b"a"),
                (b":path", b"/"),
            ],
        )
        theirs.send_data(sid, b"d%d" % sid)
        theirs.send_headers(sid, [(b"x-t", b"%d" % sid)], end_stream=True)
    link.pump()
    ours, _ = link.take()
    assert len(of_type(ours, Request)) == 60
    trailers = {t.stream_id: t.headers.get("x-t") for t in of_type(ours, Trailers)}
    assert trailers == {sid: str(sid) for sid in sids}
    for sid in sids:
        link.ours.send(Response(sid, 200, H()))
        link.ours.send(Trailers(sid, H([("grpc-status", "0")])))
    link.pump()
    _, events = link.take()
    assert len(their_kinds(events, h2.events.TrailersReceived)) == 60


def test_h2_client_reset_ping_and_our_goaway() -> None:
    link = server_link()
    theirs = link.theirs
    s1 = theirs.get_next_available_stream_id()
    theirs.send_headers(
        s1, [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"a"), (b":path", b"/")]
    )
    link.pump()
    theirs.reset_stream(s1, 8)
    theirs.ping(b"pingpong")
    link.pump()
    ours, events = link.take()
    assert StreamReset(s1, 8, True) in ours
    assert PingReceived(b"pingpong") in ours
    assert their_kinds(events, h2.events.PingAckReceived)
    s3 = theirs.get_next_available_stream_id()
    theirs.send_headers(
        s3,
        [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"a"), (b":path", b"/")],
        end_stream=True,
    )
    link.pump()
    # h2 cannot finish streams after receiving GOAWAY (it goes CLOSED), so the
    # graceful drain is tested against our own client; here: answer, then close
    link.ours.send(Response(s3, 200, H(), end_stream=True))
    link.ours.close()
    assert link.ours.state is ConnectionState.CLOSED
    link.pump()
    _, events = link.take()
    term = their_kinds(events, h2.events.ConnectionTerminated)[0]
    assert term.last_stream_id == s3 and term.error_code == 0


def test_push_to_h2_client() -> None:
    link = server_link()
    assert link.ours.remote_settings.enable_push  # h2 clients allow push by default
    theirs = link.theirs
    sid = theirs.get_next_available_stream_id()
    theirs.send_headers(
        sid,
        [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"a"), (b":path", b"/")],
        end_stream=True,
    )
    link.pump()
    promised = link.ours.next_stream_id()
    link.ours.send(
        PushPromise(sid, promised, Request(promised, b"GET", b"/app.js", authority=b"a"))
    )
    link.ours.send(Response(sid, 200, H(), end_stream=True))
    link.ours.send(Response(promised, 200, H([("content-type", "text/javascript")])))
    link.ours.send(Data(promised, b"alert(1)", end_stream=True))
    link.pump()
    _, events = link.take()
    pushed = their_kinds(events, h2.events.PushedStreamReceived)[0]
    assert pushed.pushed_stream_id == promised and pushed.parent_stream_id == sid
    assert (b":path", b"/app.js") in pushed.headers
    data = [e for e in their_kinds(events, h2.events.DataReceived) if e.stream_id == promised]
    assert data[0].data == b"alert(1)"


def test_settings_changes_with_h2_client() -> None:
    link = server_link()
    link.theirs.update_settings({h2.settings.SettingCodes.MAX_FRAME_SIZE: 32768})
    link.ours.update_settings({3: 5})
    link.pump()
    link.take()
    assert link.ours.remote_settings.max_frame_size == 32768
    assert link.theirs.remote_settings.max_concurrent_streams == 5
    sid = link.theirs.get_next_available_stream_id()
    link.theirs.send_headers(
        sid,
        [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"a"), (b":path", b"/")],
        end_stream=True,
    )
    link.pump()
    link.ours.send(Response(sid, 200, H()))
    link.ours.send(Data(sid, b"x" * 40000, end_stream=True))
    link.pump()
    _, theirs = link.take()
    sizes = [len(e.data) for e in their_kinds(theirs, h2.events.DataReceived)]
    assert sum(sizes) == 40000 and max(sizes) == 32768


def test_h2c_upgrade_with_h2_client() -> None:
    from sockit.proto.http1.events import Request as H1Request

    theirs = h2.connection.H2Connection(
        config=h2.config.H2Configuration(client_side=True, header_encoding=None)
    )
    settings = theirs.initiate_upgrade_connection()
    h1 = H1Request(
        b"GET",
        b"/up",
        H([("Host", "a"), ("Upgrade", "h2c"), ("HTTP2-Settings", settings.decode())]),
    )
    ours = Connection.upgraded(settings, h1)
    link = Link(ours, theirs)
    link.pump()
    events, _ = link.take()
    assert events[0] == Request(1, b"GET", b"/up", b"http", b"a", H(), True)
    assert events[1] == StreamEnded(1)
    ours.send(Response(1, 200, H()))
    ours.send(Data(1, b"upgraded", end_stream=True))
    link.pump()
    _, theirs_events = link.take()
    assert their_kinds(theirs_events, h2.events.DataReceived)[0].data == b"upgraded"
