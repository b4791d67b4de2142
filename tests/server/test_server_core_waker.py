"""Wakeable streamed bodies: ``attach_waker(wake)``, ``b""`` pauses, ``wake()`` resumes.

A body that has nothing to send yields ``b""``; with a waker attached the
server stops pulling it (no busy loop) until ``wake()`` is called from any
thread, over HTTP/1.1 (chunked) and HTTP/2 (DATA frames).
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable

import h2.config
import h2.connection
import h2.events

from sockit.server import Response, ServerRequest
from tests.server.harness import running
from tests.server.rawclient import RawClient


class Gate:
    """A body fed from another thread; counts the pulls the server makes."""

    def __init__(self) -> None:
        self.items: deque[bytes] = deque()
        self.done = False
        self.pulls = 0
        self.closed = threading.Event()
        self.wake: Callable[[], None] | None = None
        self.attached = threading.Event()

    def attach_waker(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        self.attached.set()

    def __iter__(self) -> Gate:
        return self

    def __next__(self) -> bytes:
        self.pulls += 1
        if self.items:
            return self.items.popleft()
        if self.done:
            raise StopIteration
        return b""

    def push(self, chunk: bytes) -> None:
        self.items.append(chunk)
        assert self.wake is not None
        self.wake()

    def finish(self) -> None:
        self.done = True
        assert self.wake is not None
        self.wake()

    def close(self) -> None:
        self.closed.set()


def gate_app(gates: list[Gate]) -> Callable[[ServerRequest], Response]:
    def app(request: ServerRequest) -> Response:
        if request.path == "/ping":
            return Response(200, None, b"pong")
        gate = Gate()
        gates.append(gate)
        return Response(200, [("Content-Type", "text/plain")], gate)

    return app


def wait_for(gates: list[Gate]) -> Gate:
    deadline = time.monotonic() + 5
    while not gates or not gates[-1].attached.is_set():
        assert time.monotonic() < deadline, "the body never got a waker"
        time.sleep(0.002)
    return gates[-1]


def test_http1_paused_body_is_not_polled_and_resumes_on_wake() -> None:
    gates: list[Gate] = []
    with running(gate_app(gates)) as server, RawClient(server.port) as client:
        client.send(b"GET /feed HTTP/1.1\r\nHost: t\r\n\r\n")
        head = client.head()
        assert head.status == 200 and head.header("transfer-encoding") == "chunked"
        gate = wait_for(gates)
        time.sleep(0.05)
        paused_pulls = gate.pulls
        with RawClient(server.port) as other:  # the loop is free while the body waits
            assert other.get("/ping").body == b"pong"
        time.sleep(0.03)
        assert gate.pulls == paused_pulls <= 3  # paused: not pulled again without a wake
        threading.Thread(target=gate.push, args=(b"first",)).start()
        assert client._line() == b"5" and client._line() == b"first"
        gate.push(b"second")
        gate.finish()
        rest = b""
        while not rest.endswith(b"0\r\n\r\n"):
            assert client._fill()
            rest = client.buf
        assert rest == b"6\r\nsecond\r\n0\r\n\r\n"
        client.buf = b""
        assert client.get("/ping").body == b"pong"  # keep-alive after the streamed answer


def test_http1_wake_after_the_client_left_is_harmless() -> None:
    gates: list[Gate] = []
    with running(gate_app(gates)) as server:
        with RawClient(server.port) as client:
            client.send(b"GET /feed HTTP/1.1\r\nHost: t\r\n\r\n")
            assert client.head().status == 200
            gate = wait_for(gates)
        assert gate.closed.wait(5)  # the server noticed and released the body
        gate.push(b"too late")
        gate.finish()
        with RawClient(server.port) as other:
            assert other.get("/ping").body == b"pong"


def test_http2_paused_stream_resumes_while_others_are_served() -> None:
    gates: list[Gate] = []
    with running(gate_app(gates)) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()

        def get(path: str) -> int:
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, [(":method", "GET"), (":path", path), (":scheme", "http"),
                                    (":authority", "t")], end_stream=True)
            sock.sendall(conn.data_to_send())
            return sid

        bodies: dict[int, bytes] = {}
        ended: set[int] = set()

        def pump_until(check: Callable[[], bool]) -> None:
            while not check():
                data = sock.recv(65536)
                assert data
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.DataReceived):
                        bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                        conn.acknowledge_received_data(event.flow_controlled_length,
                                                       event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        ended.add(event.stream_id)
                sock.sendall(conn.data_to_send())

        try:
            feed = get("/feed")
            gate = wait_for(gates)
            ping = get("/ping")
            pump_until(lambda: ping in ended)
            assert bodies[ping] == b"pong" and feed not in ended
            pulls = gate.pulls
            assert pulls <= 3
            gate.push(b"one")
            pump_until(lambda: bodies.get(feed) == b"one")
            gate.push(b"two")
            gate.finish()
            pump_until(lambda: feed in ended)
            assert bodies[feed] == b"onetwo"
        finally:
            sock.close()


def test_http2_client_leaving_a_paused_stream_releases_it() -> None:
    gates: list[Gate] = []
    with running(gate_app(gates)) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        conn.send_headers(1, [(":method", "GET"), (":path", "/feed"), (":scheme", "http"),
                              (":authority", "t")], end_stream=True)
        sock.sendall(conn.data_to_send())
        gate = wait_for(gates)
        sock.close()
        assert gate.closed.wait(5)
        gate.push(b"too late")
        with RawClient(server.port) as other:
            assert other.get("/ping").body == b"pong"
