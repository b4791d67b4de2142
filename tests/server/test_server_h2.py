"""The server over HTTP/2, driven by the ``h2`` library as an independent client.

Each test opens a raw socket, speaks h2 (prior knowledge, or the HTTP/1.1
``Upgrade: h2c`` dance) and checks what the server answers stream by stream.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest

from sockit.limits import ServerLimits
from sockit.server import HTTPServer
from tests.server.harness import running


class H2Peer:
    """A blocking h2 client on one socket, collecting events per stream."""

    def __init__(self, port: int, *, upgrade: bool = False) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.headers: dict[int, dict[bytes, bytes]] = {}
        self.bodies: dict[int, bytearray] = {}
        self.ended: set[int] = set()
        self.resets: dict[int, int] = {}
        self.goaway: h2.events.ConnectionTerminated | None = None
        if upgrade:
            self._upgrade()
        else:
            self.conn.initiate_connection()
            self.flush()

    def _upgrade(self) -> None:
        token = self.conn.initiate_upgrade_connection()  # already base64url, as sent
        self.sock.sendall(
            b"GET /info HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: " + token + b"\r\n\r\n"
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            assert chunk, data
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101 "), head
        self.flush()
        if rest:
            self._feed(rest)

    def flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def request(self, path: str, method: str = "GET", body: bytes = b"",
                extra: list[tuple[str, str]] | None = None) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        headers = [(":method", method), (":path", path), (":scheme", "http"),
                   (":authority", "localhost"), *(extra or [])]
        self.conn.send_headers(stream_id, headers, end_stream=not body)
        if body:
            self.send_body(stream_id, body)
        self.flush()
        return stream_id

    def send_body(self, stream_id: int, body: bytes) -> None:
        view = memoryview(body)
        while view:
            window = self.conn.local_flow_control_window(stream_id)
            size = min(window, self.conn.max_outbound_frame_size, len(view))
            if size == 0:
                self.flush()
                self.pump()
                continue
            self.conn.send_data(stream_id, bytes(view[:size]), end_stream=size == len(view))
            view = view[size:]
        self.flush()

    def _feed(self, data: bytes) -> None:
        for event in self.conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                self.headers[event.stream_id] = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                self.bodies.setdefault(event.stream_id, bytearray()).extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.ended.add(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self.resets[event.stream_id] = event.error_code
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = event
        self.flush()

    def pump(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self._feed(data)
        return True

    def wait(self, *stream_ids: int) -> None:
        while not all(s in self.ended or s in self.resets for s in stream_ids):
            assert self.pump(), "connection closed early"

    def body(self, stream_id: int) -> bytes:
        return bytes(self.bodies.get(stream_id, b""))

    def close(self) -> None:
        self.sock.close()


@contextmanager
def peer(server: HTTPServer, *, upgrade: bool = False) -> Iterator[H2Peer]:
    client = H2Peer(server.port, upgrade=upgrade)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def srv() -> Iterator[HTTPServer]:
    with running() as server:
        yield server


def test_prior_knowledge_get(srv: HTTPServer) -> None:
    with peer(srv) as p:
        sid = p.request("/info?x=1")
        p.wait(sid)
        assert p.headers[sid][b":status"] == b"200"
        assert p.body(sid).startswith(b"GET /info q=x=1 v=2 len=0")
        assert p.headers[sid][b"content-length"] == str(len(p.body(sid))).encode()
        assert b"date" in p.headers[sid]


def test_many_concurrent_streams_each_answered(srv: HTTPServer) -> None:
    with peer(srv) as p:
        ids = [p.request(f"/item/{i}") for i in range(50)]
        p.wait(*ids)
        for i, sid in enumerate(ids):
            assert p.body(sid) == f"GET /item/{i}".encode()


def test_post_body_larger_than_the_windows(srv: HTTPServer) -> None:
    payload = bytes(range(256)) * 1024  # 256 KiB, four default stream windows
    with peer(srv) as p:
        sid = p.request("/echo", "POST", payload)
        p.wait(sid)
        assert p.body(sid) == payload


def test_streamed_and_head_and_no_content(srv: HTTPServer) -> None:
    with peer(srv) as p:
        stream = p.request("/stream")
        head = p.request("/fixed", "HEAD")
        empty = p.request("/nocontent")
        p.wait(stream, head, empty)
        assert p.body(stream) == b"".join(b"part %d\n" % i for i in range(5))
        assert p.body(head) == b""
        assert p.headers[head][b"content-length"] == b"25"
        assert p.headers[empty][b":status"] == b"204"


def test_handler_error_is_a_500_and_the_connection_lives(srv: HTTPServer) -> None:
    with peer(srv) as p:
        boom = p.request("/boom")
        p.wait(boom)
        assert p.headers[boom][b":status"] == b"500"
        ok = p.request("/info")
        p.wait(ok)
        assert p.headers[ok][b":status"] == b"200"


def test_upgrade_h2c_answers_stream_one_then_more(srv: HTTPServer) -> None:
    with peer(srv, upgrade=True) as p:
        p.wait(1)
        assert p.headers[1][b":status"] == b"200"
        assert p.body(1).startswith(b"GET /info q= v=2")  # the request that asked, as stream 1
        sid = p.request("/info")
        p.wait(sid)
        assert p.body(sid).startswith(b"GET /info q= v=2")


def test_cookies_joined_and_host_from_authority() -> None:
    seen: list[tuple[str | None, str | None]] = []

    def app(request):  # type: ignore[no-untyped-def]
        seen.append((request.headers.get("cookie"), request.headers.get("host")))
        from sockit.server import Response

        return Response(200, None, b"ok")

    with running(app) as server, peer(server) as p:
        sid = p.request("/", extra=[("cookie", "a=1"), ("cookie", "b=2")])
        p.wait(sid)
    assert seen == [("a=1; b=2", "localhost")]


def test_body_over_the_limit_is_413_and_the_stream_reset() -> None:
    with running(limits=ServerLimits(max_body_size=1000)) as server, peer(server) as p:
        sid = p.request("/echo", "POST", b"x" * 50_000)
        p.wait(sid)
        assert p.headers[sid][b":status"] == b"413"
        ok = p.request("/info")
        p.wait(ok)
        assert p.headers[ok][b":status"] == b"200"


def test_client_reset_stream_is_dropped_and_others_continue(srv: HTTPServer) -> None:
    with peer(srv) as p:
        doomed = p.request("/stream")
        p.conn.reset_stream(doomed)
        p.flush()
        ok = p.request("/info")
        p.wait(ok)
        assert p.headers[ok][b":status"] == b"200"


def test_garbage_after_preface_gets_goaway() -> None:
    with running() as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x09" + b"x" * 50)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        finally:
            sock.close()
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    events = conn.receive_data(data)
    assert any(isinstance(e, h2.events.ConnectionTerminated) for e in events)


def test_http2_off_keeps_http11() -> None:
    with running(http2=False) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            reply = sock.recv(65536)
        finally:
            sock.close()
    assert reply.startswith(b"HTTP/1.1 4") or reply.startswith(b"HTTP/1.1 5")


def test_graceful_close_sends_goaway_and_finishes_streams() -> None:
    server = HTTPServer("127.0.0.1", 0)
    import threading

    from sockit.server import run
    from tests.server.harness import demo_app

    thread = threading.Thread(target=run, args=(server, demo_app))
    thread.start()
    try:
        with peer(server) as p:
            sid = p.request("/info")
            p.wait(sid)
            server.stop()
            thread.join(10)
            closer = threading.Thread(target=server.close, kwargs={"grace": 2.0})
            closer.start()
            while p.goaway is None and p.pump():
                pass
            closer.join(10)
            assert p.goaway is not None
            assert p.goaway.last_stream_id >= sid
    finally:
        server.stop()
        thread.join(10)
        server.close()


def test_concurrent_uploads_over_the_connection_budget_all_finish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five 90 KB bodies at once against max_body_size=100 KB: the server holds back
    stream credit past the budget but always credits the oldest, so none deadlock."""
    from sockit.server.h2 import H2Session

    held: list[int] = []
    peak: list[int] = [0]
    original = H2Session._may_credit

    def watched(self: H2Session, stream_id: int) -> bool:
        peak[0] = max(peak[0], self._buffered)
        allowed = original(self, stream_id)
        if not allowed:
            held.append(stream_id)
        return allowed

    monkeypatch.setattr(H2Session, "_may_credit", watched)
    limits = ServerLimits(max_body_size=100_000)
    bodies = [bytes([65 + i]) * 90_000 for i in range(5)]
    with running(limits=limits) as server, peer(server) as p:
        ids: list[int] = []
        for _ in bodies:
            sid = p.conn.get_next_available_stream_id()
            p.conn.send_headers(sid, [(":method", "POST"), (":path", "/echo"),
                                      (":scheme", "http"), (":authority", "localhost")])
            ids.append(sid)
        p.flush()
        views = {sid: memoryview(body) for sid, body in zip(ids, bodies, strict=True)}
        while views:
            progressed = False
            for sid, view in list(views.items()):
                size = min(p.conn.local_flow_control_window(sid), 16384, len(view))
                if size:
                    last = size == len(view)
                    p.conn.send_data(sid, bytes(view[:size]), end_stream=last)
                    views[sid] = view[size:]
                    progressed = True
                    if last:
                        del views[sid]
            p.flush()
            if not progressed:
                assert p.pump(), "connection closed while uploading"
        p.wait(*ids)
        for sid, body in zip(ids, bodies, strict=True):
            assert p.headers[sid][b":status"] == b"200"
            assert p.body(sid) == body
        sessions = [c.h2 for c in server._connections if c.h2 is not None]
        assert sessions and all(s._buffered == 0 for s in sessions)
    assert held and ids[0] not in held  # later streams waited; the oldest never did
    # the budget, one body past it, and the windows the client held before any credit
    assert peak[0] <= 2 * 100_000 + 5 * 65_535
