"""Scripted misbehaving servers for the client tests, and the health check after each.

``scripted({"/path": route})`` starts a keep-alive raw server whose ``/good``
always answers ``200 good``; every other path runs a *route*, which answers
one request however badly and returns whether the connection goes on.
:func:`assert_healthy` is what each test ends with: the same client gets a
normal answer, holds exactly one idle connection, and has no other socket
open to the server (counted through ``/proc/self/fd`` and ``/proc/net/tcp``).
The test modules build their fixtures from :func:`scripted_servers`,
:func:`stop_event` and :func:`fds_all_closed` (every descriptor a test opened
is closed when it ends).
"""

from __future__ import annotations

import gc
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

from sockit import HTTPClient
from tests.client.rawserver import Peer, RawRequest, RawServer
from tests.server.harness import fd_count

__all__ = [
    "CHUNKED",
    "GOOD",
    "OK_HEAD",
    "Route",
    "Scripted",
    "Serve",
    "answer",
    "assert_healthy",
    "client_sockets",
    "endless",
    "fds_all_closed",
    "scripted_servers",
    "send_then_close",
    "send_then_reset",
    "send_then_wait",
    "stop_event",
    "trickle",
]

GOOD = b"good"
OK_HEAD = b"HTTP/1.1 200 OK\r\n"
CHUNKED = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
Route = Callable[[RawRequest, Peer], bool]
Serve = Callable[[Callable[[Peer], None]], RawServer]
Scripted = Callable[[dict[str, Route]], RawServer]


# -- counting sockets -----------------------------------------------------------


def _own_socket_inodes() -> set[int]:
    inodes = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # closed meanwhile (the listdir fd itself, another thread)
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return inodes


def client_sockets(port: int) -> int:
    """Open descriptors of this process that are TCP sockets connected *to* ``port``."""
    mine = _own_socket_inodes()
    count = 0
    with open("/proc/net/tcp", encoding="ascii") as f:
        next(f)
        for line in f:
            cols = line.split()
            local_port = int(cols[1].rsplit(":", 1)[1], 16)
            remote_port = int(cols[2].rsplit(":", 1)[1], 16)
            if remote_port == port and local_port != port and int(cols[9]) in mine:
                count += 1
    return count


def assert_healthy(client: HTTPClient, server: RawServer) -> None:
    """The client's next request to ``server`` works and leaves one idle connection."""
    r = client.get(server.url("/good"), timeout=5)
    assert (r.status_code, r.content) == (200, GOOD)
    stats = client.pool_stats()
    assert (stats.connections, stats.idle) == (1, 1)
    assert client_sockets(server.port) == 1


# -- what the test modules' fixtures are made of ---------------------------------


def fds_all_closed() -> Iterator[None]:
    """Fixture body: every descriptor a test opened (client, servers) is closed after it."""
    gc.collect()
    before = fd_count()
    yield
    gc.collect()
    deadline = time.monotonic() + 2
    while fd_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)  # server handler threads closing their side
    assert fd_count() == before


def stop_event() -> Iterator[threading.Event]:
    """Fixture body: an event set at teardown, before the servers close, so looping
    routes end at once (depend on ``serve`` so that the order holds)."""
    event = threading.Event()
    yield event
    event.set()


def scripted_servers(serve: Serve) -> Scripted:
    """``start({"/path": route})``: a keep-alive server with ``/good`` plus routes.

    A route answers one request; it returns whether the connection goes on.
    """

    def start(routes: dict[str, Route]) -> RawServer:
        def handler(peer: Peer) -> None:
            while True:
                req = peer.read_request()
                if req is None:
                    return
                server.record(req)
                if req.target == "/good":
                    peer.respond(GOOD)
                elif not routes[req.target](req, peer):
                    return

        server = serve(handler)
        return server

    return start


def answer(body: bytes, headers: list[tuple[str, str]] | None = None) -> Route:
    """A route that answers well (``200`` with Content-Length) and keeps the connection."""

    def route(req: RawRequest, peer: Peer) -> bool:
        peer.respond(body, headers=headers)
        return True

    return route


def send_then_wait(wire: bytes) -> Route:
    """A route that sends ``wire`` and holds the connection until the client closes it."""

    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(wire)
        peer.wait_closed()
        return False

    return route


def send_then_close(wire: bytes) -> Route:
    """A route that sends ``wire`` and closes (a clean FIN)."""

    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(wire)
        return False

    return route


def send_then_reset(wire: bytes) -> Route:
    """A route that sends ``wire`` and resets the connection (SO_LINGER 0)."""

    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(wire)
        peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.sock.close()
        return False

    return route


def endless(first: bytes, piece: bytes, stop: threading.Event) -> Route:
    """A route that sends ``first`` and then ``piece`` until the client goes away."""

    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(first)
        while not stop.is_set():
            peer.send(piece)  # raises once the client has closed: the handler ends
        return False

    return route


def trickle(wire: bytes, every: float, stop: threading.Event) -> Route:
    """A route that sends ``wire`` one byte at a time, ``every`` seconds apart."""

    def route(req: RawRequest, peer: Peer) -> bool:
        for i in range(len(wire)):
            peer.send(wire[i : i + 1])
            if stop.wait(every):
                break
        return False

    return route
