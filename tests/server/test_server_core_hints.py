"""103 Early Hints and other interim heads: ServerRequest.send_informational.

HTTP/1.1 is checked byte for byte on a raw socket (the interim head must come
before the final one, in order, on the same connection) and through sockit's
own client (which skips interim answers); HTTP/2 through the ``h2`` library,
which reports interim HEADERS as their own event.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import h2.config
import h2.connection
import h2.events
import pytest

from sockit import HTTPClient
from sockit.errors import LocalProtocolError
from sockit.server import Response, ServerRequest
from tests.server.harness import running
from tests.server.rawclient import RawClient

LINK = "</style.css>; rel=preload; as=style"
HINT_HEAD = b"HTTP/1.1 103 Early Hints\r\nLink: " + LINK.encode() + b"\r\n\r\n"


def hints_app(request: ServerRequest) -> Response:
    """``/hints``: one 103 then bytes; ``/two``: two 103s then a streamed body."""
    path = request.path
    if path == "/hints":
        request.send_informational(103, [("Link", LINK)])
        return Response(200, [("Content-Type", "text/plain")], b"final")
    if path == "/two":
        request.send_informational(103, [("Link", "</a.js>; rel=preload")])
        request.send_informational(103, {"Link": "</b.js>; rel=preload"})
        return Response(200, None, iter([b"str", b"eamed"]))
    return Response(404, None, b"nope")


def threaded_app(request: ServerRequest) -> None:
    """Hints and the answer come from a thread that is not the server's loop."""
    def work() -> None:
        request.send_informational(103, [("Link", LINK)])
        request.respond(200, [("Content-Type", "text/plain")], b"late")

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(5)  # both calls were handed to the loop, which runs them after we return


def read_until(sock: socket.socket, marker: bytes, count: int = 1) -> bytes:
    """Bytes from ``sock`` until ``marker`` was seen ``count`` times."""
    data = b""
    while data.count(marker) < count:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return data


# -- HTTP/1.1 ------------------------------------------------------------------------------


def test_http1_hint_precedes_the_final_head() -> None:
    with running(hints_app) as server, socket.create_connection(
        ("127.0.0.1", server.port), timeout=5
    ) as sock:
        sock.sendall(b"GET /hints HTTP/1.1\r\nHost: t\r\n\r\n")
        data = read_until(sock, b"final")
    assert data.startswith(HINT_HEAD)
    final = data[len(HINT_HEAD):]
    assert final.startswith(b"HTTP/1.1 200 OK\r\n")
    assert final.endswith(b"\r\n\r\nfinal")


def test_http1_two_hints_then_streamed_then_keep_alive() -> None:
    with running(hints_app) as server, RawClient(server.port) as client:
        client.send(b"GET /two HTTP/1.1\r\nHost: t\r\n\r\n")
        first, second = client.head(), client.head()
        assert (first.status, first.header("link")) == (103, "</a.js>; rel=preload")
        assert (second.status, second.header("link")) == (103, "</b.js>; rel=preload")
        final = client.response()
        assert final.status == 200 and final.body == b"streamed"
        again = client.get("/hints")  # the same connection carries the next exchange
        assert again.status == 200 and again.body == b"final"


def test_http1_hint_from_another_thread() -> None:
    with running(threaded_app) as server, socket.create_connection(
        ("127.0.0.1", server.port), timeout=5
    ) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        data = read_until(sock, b"late")
    assert data.startswith(HINT_HEAD + b"HTTP/1.1 200 OK\r\n")


def test_http10_client_gets_no_interim_head() -> None:
    with running(hints_app) as server, socket.create_connection(
        ("127.0.0.1", server.port), timeout=5
    ) as sock:
        sock.sendall(b"GET /hints HTTP/1.0\r\nHost: t\r\n\r\n")
        data = read_until(sock, b"final")
    assert b" 103 " not in data
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")


def test_sockit_client_skips_the_hint() -> None:
    with running(hints_app) as server, HTTPClient() as client:
        resp = client.get(server.url + "/hints", timeout=5)
        assert resp.status_code == 200 and resp.content == b"final"
        resp = client.get(server.url + "/two", timeout=5)
        assert resp.status_code == 200 and resp.content == b"streamed"


BAD_CALLS: list[tuple[str, Callable[[ServerRequest], None]]] = [
    ("101", lambda r: r.send_informational(101)),
    ("200", lambda r: r.send_informational(200)),
    ("99", lambda r: r.send_informational(99)),
    ("bool", lambda r: r.send_informational(True)),
    ("str", lambda r: r.send_informational("103")),  # type: ignore[arg-type]
    ("crlf value", lambda r: r.send_informational(103, [("Link", "a\r\nX: y")])),
    ("bad name", lambda r: r.send_informational(103, [("Li nk", "a")])),
]


@pytest.mark.parametrize("name, call", BAD_CALLS, ids=[n for n, _ in BAD_CALLS])
def test_bad_interim_heads_refused_on_the_callers_thread(
    name: str, call: Callable[[ServerRequest], None]
) -> None:
    errors: list[BaseException] = []

    def app(request: ServerRequest) -> Response:
        try:
            call(request)
        except LocalProtocolError as exc:
            errors.append(exc)
        return Response(200, None, b"still fine")

    with running(app) as server, RawClient(server.port) as client:
        resp = client.get("/")
        assert resp.status == 200 and resp.body == b"still fine"
        assert b"HTTP/1.1 1" not in client.buf
    assert len(errors) == 1


def test_interim_after_the_final_response_refused() -> None:
    errors: list[BaseException] = []

    def app(request: ServerRequest) -> None:
        request.respond(200, None, b"done")
        try:
            request.send_informational(103, [("Link", LINK)])
        except LocalProtocolError as exc:
            errors.append(exc)

    with running(app) as server, socket.create_connection(
        ("127.0.0.1", server.port), timeout=5
    ) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        data = read_until(sock, b"done")
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"103" not in data
    assert len(errors) == 1


def test_hint_for_a_request_whose_client_left_is_dropped() -> None:
    gone = threading.Event()
    hinted = threading.Event()
    outcome: list[str] = []

    def app(request: ServerRequest) -> Response:
        if request.path == "/slow":  # on a worker thread: the calls go through call_soon
            gone.wait(5)
            request.send_informational(103, [("Link", LINK)])
            outcome.append("hinted")
            hinted.set()
            return Response(200, None, b"nobody listens")
        return Response(200, None, b"fine")

    with running(app, workers=2) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        gone.set()
        assert hinted.wait(5)
        with RawClient(server.port) as other:  # the loop dropped the hint and goes on
            resp = other.get("/")
            assert (resp.status, resp.body) == (200, b"fine")
    assert outcome == ["hinted"]


# -- HTTP/2 --------------------------------------------------------------------------------


class H2Probe:
    """A blocking h2 client recording the order of head events per stream."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.heads: dict[int, list[dict[bytes, bytes]]] = {}
        self.bodies: dict[int, bytes] = {}
        self.ended: set[int] = set()
        self.flush()

    def flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def get(self, path: str) -> int:
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(
            sid,
            [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "t")],
            end_stream=True,
        )
        self.flush()
        return sid

    def wait(self, sid: int) -> None:
        while sid not in self.ended:
            data = self.sock.recv(65536)
            assert data, "connection closed early"
            for event in self.conn.receive_data(data):
                if isinstance(event, (h2.events.InformationalResponseReceived,
                                      h2.events.ResponseReceived)):
                    self.heads.setdefault(event.stream_id, []).append(dict(event.headers))
                elif isinstance(event, h2.events.DataReceived):
                    self.bodies[event.stream_id] = self.bodies.get(event.stream_id, b"") + \
                        event.data
                    self.conn.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
                elif isinstance(event, h2.events.StreamEnded):
                    self.ended.add(event.stream_id)
            self.flush()


def test_http2_hint_is_its_own_headers_frame() -> None:
    with running(hints_app) as server:
        probe = H2Probe(server.port)
        try:
            sid = probe.get("/hints")
            probe.wait(sid)
            two = probe.get("/two")
            probe.wait(two)
        finally:
            probe.sock.close()
    first, final = probe.heads[sid]
    assert first[b":status"] == b"103" and first[b"link"] == LINK.encode()
    assert final[b":status"] == b"200" and probe.bodies[sid] == b"final"
    assert [h[b":status"] for h in probe.heads[two]] == [b"103", b"103", b"200"]
    assert [h.get(b"link") for h in probe.heads[two][:2]] == [
        b"</a.js>; rel=preload", b"</b.js>; rel=preload"
    ]
    assert probe.bodies[two] == b"streamed"


def test_http2_hint_from_another_thread() -> None:
    with running(threaded_app) as server:
        probe = H2Probe(server.port)
        try:
            sid = probe.get("/")
            probe.wait(sid)
        finally:
            probe.sock.close()
    assert [h[b":status"] for h in probe.heads[sid]] == [b"103", b"200"]
    assert probe.bodies[sid] == b"late"
