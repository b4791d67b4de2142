"""WebSocket over HTTP/2 (RFC 8441): extended CONNECT on a stream of the server.

No common tool speaks RFC 8441 in cleartext, so the client side is built from
sockit's own sans-I/O machines over a raw socket (an HTTP/2 client
Connection carrying a client-role WebSocket Connection on one stream); the
server is the real one.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from sockit.proto.events import Event, Role
from sockit.proto.http import Headers
from sockit.proto.http2 import Connection as H2Connection
from sockit.proto.http2 import (
    Data,
    Request,
    Response,
    SettingsReceived,
    StreamEnded,
)
from sockit.proto.ws import BytesMessage, CloseConnection, TextMessage
from sockit.proto.ws import Connection as WSConnection
from sockit.server import HTTPServer
from tests.server.harness import running


class H2WSClient:
    """One HTTP/2 connection; one WebSocket on a stream of it."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.h2 = H2Connection(Role.CLIENT)
        self.ws = WSConnection(Role.CLIENT)
        self.stream = 0
        self.status: int | None = None
        self.headers: Headers | None = None
        self.messages: list[str | bytes] = []
        self.closed: CloseConnection | None = None
        self.ended = False
        self.connect_protocol = False
        self.flush()
        while not self.connect_protocol:
            self.pump()

    def flush(self) -> None:
        out = self.h2.data_to_send()
        if out:
            self.sock.sendall(out)

    def pump(self) -> None:
        data = self.sock.recv(65536)
        assert data, "the server closed the connection"
        self.handle(self.h2.receive_data(data))
        self.flush()

    def handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, SettingsReceived):
                self.connect_protocol = self.h2.remote_settings.enable_connect_protocol
            elif isinstance(event, Response):
                self.status, self.headers = event.status_code, event.headers
            elif isinstance(event, Data) and event.stream_id == self.stream and self.status == 200:
                for ws_event in self.ws.receive_data(event.data):
                    if isinstance(ws_event, (TextMessage, BytesMessage)):
                        self.messages.append(ws_event.data)
                    elif isinstance(ws_event, CloseConnection):
                        self.closed = ws_event
                self.send_ws_output()
            elif isinstance(event, StreamEnded) and event.stream_id == self.stream:
                self.ended = True

    def open(self, path: str, extra: list[tuple[str, str]] | None = None) -> None:
        self.stream = self.h2.next_stream_id()
        fields = Headers([("sec-websocket-version", "13"), *(extra or [])])
        self.h2.send(Request(self.stream, b"CONNECT", path.encode(), scheme=b"http",
                             authority=b"localhost", headers=fields, protocol=b"websocket"))
        self.flush()
        while self.status is None:
            self.pump()

    def send_ws_output(self) -> None:
        out = self.ws.data_to_send()
        if out:
            self.h2.send(Data(self.stream, out))
        self.flush()

    def send(self, message: str | bytes) -> None:
        self.ws.send(TextMessage(message) if isinstance(message, str) else BytesMessage(message))
        self.send_ws_output()

    def wait_messages(self, count: int) -> None:
        while len(self.messages) < count:
            self.pump()


@pytest.fixture
def echo_server() -> Iterator[HTTPServer]:
    from sockit.server import make_app

    with running(make_app(None)) as server:
        yield server


def test_extended_connect_echo_and_close(echo_server: HTTPServer) -> None:
    client = H2WSClient(echo_server.port)
    client.open("/ws/echo")
    assert client.status == 200
    client.send("over a stream")
    client.send(b"\x00\x01" * 5000)
    client.wait_messages(2)
    assert client.messages == ["over a stream", b"\x00\x01" * 5000]
    client.ws.send(CloseConnection(1000, "bye"))
    client.send_ws_output()
    while client.closed is None or not client.ended:
        client.pump()
    assert client.closed.error_code == 1000
    client.sock.close()


def test_two_websockets_and_a_get_share_the_connection(echo_server: HTTPServer) -> None:
    first = H2WSClient(echo_server.port)
    first.open("/ws/echo")
    first.send("one")
    first.wait_messages(1)
    # a plain request on the same HTTP/2 connection still works
    sid = first.h2.next_stream_id()
    first.h2.send(Request(sid, b"GET", b"/hello", scheme=b"http", authority=b"localhost",
                          end_stream=True))
    first.flush()
    got: list[Event] = []
    while not any(isinstance(e, StreamEnded) and e.stream_id == sid for e in got):
        data = first.sock.recv(65536)
        events = first.h2.receive_data(data)
        got += events
        first.handle(events)
        first.flush()
    body = b"".join(e.data for e in got if isinstance(e, Data) and e.stream_id == sid)
    assert body == b"hello world\n"
    first.send("two")
    first.wait_messages(2)
    assert first.messages == ["one", "two"]
    first.sock.close()


def test_compression_negotiated_on_the_stream(echo_server: HTTPServer) -> None:
    client = H2WSClient(echo_server.port)
    client.open("/ws/echo", [("sec-websocket-extensions", "permessage-deflate")])
    assert client.headers is not None
    assert client.headers.get("sec-websocket-extensions", "").startswith("permessage-deflate")
    client.sock.close()


def test_plain_get_on_the_route_is_not_a_websocket(echo_server: HTTPServer) -> None:
    client = H2WSClient(echo_server.port)
    client.stream = client.h2.next_stream_id()
    client.h2.send(Request(client.stream, b"GET", b"/ws/echo", scheme=b"http",
                           authority=b"localhost", end_stream=True))
    client.flush()
    while client.status is None:
        client.pump()
    assert client.status == 426
    client.sock.close()
