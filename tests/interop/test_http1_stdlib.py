"""HTTP/1.1 interop with the standard library over a socketpair.

* sockit server ``Connection`` <-> ``http.client.HTTPConnection`` (given the
  socket through ``conn.sock``), in one thread: the requests and responses
  are small enough to sit in the socket buffers.
* sockit client ``Connection`` <-> ``http.server.BaseHTTPRequestHandler``
  running on the other end of the pair in a thread.

Every socket has a timeout and every thread is joined with one.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from sockit.errors import RemoteProtocolError
from sockit.limits import HTTP1Limits
from sockit.proto.events import Event, Role
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import (
    Connection,
    ConnectionClosed,
    ConnectionState,
    Data,
    EndOfMessage,
    HTTP1Config,
    Request,
    Response,
)

pytestmark = pytest.mark.interop

TIMEOUT = 5.0


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.settimeout(TIMEOUT)
    b.settimeout(TIMEOUT)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def read_message(conn: Connection, sock: socket.socket) -> list[Event]:
    """Receive until the current message ends (or the peer closes)."""
    events: list[Event] = list(conn.receive_data(b""))
    while not any(isinstance(ev, (EndOfMessage, ConnectionClosed)) for ev in events):
        data = sock.recv(65536)
        events.extend(conn.receive_data(data) if data else conn.receive_eof())
    return events


def body_of(events: list[Event]) -> bytes:
    return b"".join(ev.data for ev in events if isinstance(ev, Data))


def respond(conn: Connection, sock: socket.socket, *events: Event) -> None:
    for ev in events:
        conn.send(ev)
    sock.sendall(conn.data_to_send())


# --- sockit server <-> http.client ------------------------------------------------------


def test_http_client_against_sockit_server(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    client = http.client.HTTPConnection("example.com", timeout=TIMEOUT)
    client.sock = a
    server = Connection(Role.SERVER, config=HTTP1Config(limits=HTTP1Limits()))

    # 1: POST with Content-Length, answered with Content-Length
    client.request("POST", "/echo?x=1", body=b"hello", headers={"X-Test": "one two"})
    events = read_message(server, b)
    req = events[0]
    assert isinstance(req, Request)
    assert (req.method, req.target, req.http_version) == (b"POST", b"/echo?x=1", b"1.1")
    assert req.headers.get("host") == "example.com"
    assert req.headers.get("x-test") == "one two"
    assert req.headers.get("content-length") == "5"
    assert body_of(events) == b"hello"
    respond(server, b,
            Response(status_code=200, reason=b"OK",
                     headers=Headers([("Content-Length", "6"), ("X-Reply", "yes")])),
            Data(data=b"HELLO!"), EndOfMessage())
    resp = client.getresponse()
    assert (resp.status, resp.reason) == (200, "OK")
    assert resp.getheader("X-Reply") == "yes"
    assert resp.read() == b"HELLO!"
    assert (server.our_state, server.their_state) == (ConnectionState.DONE, ConnectionState.DONE)
    server.start_next_cycle()

    # 2: chunked request body, chunked response with trailers
    client.request("PUT", "/c", body=iter([b"ab", b"", b"cdef"]), encode_chunked=True)
    events = read_message(server, b)
    req = events[0]
    assert isinstance(req, Request)
    assert req.headers.get("transfer-encoding") == "chunked"
    assert body_of(events) == b"abcdef"
    respond(server, b,
            Response(status_code=201, reason=b"Created",
                     headers=Headers([("Transfer-Encoding", "chunked")])),
            Data(data=b"part1-"), Data(data=b"part2"),
            EndOfMessage(trailers=Headers([("X-Checksum", "42")])))
    resp = client.getresponse()
    assert resp.status == 201
    assert resp.read() == b"part1-part2"
    server.start_next_cycle()

    # 3: HEAD: Content-Length without a body
    client.request("HEAD", "/h")
    events = read_message(server, b)
    assert isinstance(events[0], Request)
    assert events[0].method == b"HEAD"
    respond(server, b,
            Response(status_code=200, reason=b"OK", headers=Headers([("Content-Length", "10")])),
            EndOfMessage())
    resp = client.getresponse()
    assert resp.getheader("Content-Length") == "10"
    assert resp.read() == b""
    server.start_next_cycle()

    # 4: we close: Connection: close, then the client sees EOF
    client.request("GET", "/bye")
    read_message(server, b)
    respond(server, b,
            Response(status_code=200, reason=b"OK",
                     headers=Headers([("Content-Length", "3"), ("Connection", "close")])),
            Data(data=b"bye"), EndOfMessage())
    assert server.our_state is ConnectionState.MUST_CLOSE
    resp = client.getresponse()
    assert resp.read() == b"bye"
    assert resp.will_close
    b.shutdown(socket.SHUT_WR)
    client.close()


def test_http_client_bad_request_gets_refused(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    server = Connection(Role.SERVER, config=HTTP1Config(limits=HTTP1Limits()))
    # http.client refuses to send CL+TE itself, so write the attack raw
    a.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        read_message(server, b)
    assert info.value.http_status == 400


# --- sockit client <-> BaseHTTPRequestHandler ---------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT

    def log_message(self, *args: object) -> None:
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _reply(self, body: bytes, *, head: bool = False) -> None:
        self.send_response(200, "Fine")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Path", self.path)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"4\r\nWiki\r\n6\r\npedia \r\n0\r\nX-Trail: t\r\n\r\n")
        else:
            self._reply(b"hello " + self.path.encode())

    def do_HEAD(self) -> None:
        self._reply(b"0123456789", head=True)

    def do_POST(self) -> None:
        self._reply(self._read_body()[::-1])


def run_handler(sock: socket.socket) -> threading.Thread:
    thread = threading.Thread(target=Handler, args=(sock, ("127.0.0.1", 0), None), daemon=True)
    thread.start()
    return thread


def exchange(conn: Connection, sock: socket.socket, *events: Event) -> list[Event]:
    for ev in events:
        conn.send(ev)
    sock.sendall(conn.data_to_send())
    return read_message(conn, sock)


def test_sockit_client_against_base_http_handler(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    thread = run_handler(b)
    client = Connection(Role.CLIENT, config=HTTP1Config(limits=HTTP1Limits()))
    host = ("Host", "localhost")

    events = exchange(client, a, Request(method=b"GET", target=b"/one", headers=Headers([host])),
                      EndOfMessage())
    resp = events[0]
    assert isinstance(resp, Response)
    assert (resp.status_code, resp.reason, resp.http_version) == (200, b"Fine", b"1.1")
    assert resp.headers.get("x-path") == "/one"
    assert resp.headers.get("server") is not None  # the stdlib adds Server and Date
    assert body_of(events) == b"hello /one"
    client.start_next_cycle()

    events = exchange(client, a,
                      Request(method=b"POST", target=b"/rev",
                              headers=Headers([host, ("Content-Length", "6")])),
                      Data(data=b"abc"), Data(data=b"def"), EndOfMessage())
    assert body_of(events) == b"fedcba"
    client.start_next_cycle()

    events = exchange(client, a,
                      Request(method=b"POST", target=b"/rev",
                              headers=Headers([host, ("Transfer-Encoding", "chunked")])),
                      Data(data=b"12"), Data(data=b"345"),
                      EndOfMessage(trailers=Headers([("X-T", "1")])))
    assert body_of(events) == b"54321"
    client.start_next_cycle()

    events = exchange(client, a, Request(method=b"GET", target=b"/chunked",
                                         headers=Headers([host])), EndOfMessage())
    assert body_of(events) == b"Wikipedia "
    assert events[-1] == EndOfMessage(trailers=Headers([("X-Trail", "t")]))
    client.start_next_cycle()

    events = exchange(client, a, Request(method=b"HEAD", target=b"/h", headers=Headers([host])),
                      EndOfMessage())
    assert isinstance(events[0], Response)
    assert events[0].headers.get("content-length") == "10"
    assert events[1:] == [EndOfMessage()]
    client.start_next_cycle()

    events = exchange(client, a,
                      Request(method=b"GET", target=b"/last",
                              headers=Headers([host, ("Connection", "close")])),
                      EndOfMessage())
    assert body_of(events) == b"hello /last"
    assert client.our_state is ConnectionState.MUST_CLOSE
    a.shutdown(socket.SHUT_WR)  # the handler sees EOF and returns
    thread.join(TIMEOUT)
    assert not thread.is_alive()
