"""The client against servers that are slow, silent, explosive or loop (issue 10).

Trickling and silent servers, gzip/deflate/br bombs, redirect loops, interim
responses, answers that come before the request body is sent, and reused
connections that die after the request was read. Each: a specific
:mod:`sockit.errors` exception (or a Timeout naming its phase), then the same
client gets a normal answer with a healthy pool and no leaked socket (see
:mod:`tests.client.misbehaving`).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator

import pytest

from sockit import HTTPClient
from sockit.client import Timeouts
from sockit.errors import (
    ConnectionClosed,
    LimitExceeded,
    NetworkError,
    Phase,
    SockitError,
    Timeout,
)
from sockit.limits import ClientLimits, HTTP1Limits
from sockit.proto.http1 import HTTP1Config
from tests.client.misbehaving import (
    GOOD,
    OK_HEAD,
    Route,
    Scripted,
    Serve,
    answer,
    assert_healthy,
    client_sockets,
    endless,
    fds_all_closed,
    scripted_servers,
    stop_event,
    trickle,
)
from tests.client.rawserver import Peer, RawRequest, RawServer


@pytest.fixture(autouse=True)
def no_fd_leak() -> Iterator[None]:
    yield from fds_all_closed()


@pytest.fixture
def stop(serve: Serve) -> Iterator[threading.Event]:
    yield from stop_event()


@pytest.fixture
def scripted(serve: Serve) -> Scripted:
    return scripted_servers(serve)



# -- decompression bombs ------------------------------------------------------------------

_CRC32_OF_1GIB_OF_ZEROS = 0x5B64C2B0


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 GiB of zeros, gzip-compressed (about 1 MB), built from one repeated block.

    A full flush resets the compressor, so every MiB of zeros after the first
    compresses to the same bytes; the trailer is the CRC and size of 1 GiB.
    """
    mib = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
    final_empty_block = b"\x03\x00"
    trailer = struct.pack("<II", _CRC32_OF_1GIB_OF_ZEROS, 1 << 30)
    return first + block * 1023 + final_empty_block + trailer


def test_gzip_bomb_is_valid(gzip_bomb: bytes) -> None:
    """The bomb really is 1 GiB of zeros (checked by stream-decoding its tail's size)."""
    d = zlib.decompressobj(31)
    out = d.decompress(gzip_bomb[: 1 << 16], 1 << 20)
    assert out == bytes(len(out)) and len(out) == 1 << 20
    assert len(gzip_bomb) < 1_100_000
    assert struct.unpack("<I", gzip_bomb[-4:])[0] == 1 << 30


def _bomb_route(bomb: bytes, stop: threading.Event, coding: str = "gzip") -> Route:
    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(OK_HEAD + f"Content-Encoding: {coding}\r\nContent-Length: {len(bomb)}"
                  "\r\n\r\n".encode())
        for i in range(0, len(bomb), 65536):
            if stop.is_set():
                break
            peer.send(bomb[i : i + 65536])
        return True

    return route


@pytest.mark.parametrize("stream", [False, True], ids=["read", "stream"])
def test_gzip_bomb_stops_at_the_decompression_cap(
    scripted: Scripted,
    stop: threading.Event,
    gzip_bomb: bytes,
    stream: bool,
) -> None:
    server = scripted({"/bomb": _bomb_route(gzip_bomb, stop)})
    cap = 10 * 1024 * 1024
    with HTTPClient(limits=ClientLimits(max_response_size=1 << 40)) as c:
        started = time.monotonic()
        with pytest.raises(LimitExceeded) as info:
            if stream:
                with c.get(server.url("/bomb"), stream=True) as r:
                    for _ in r.iter_bytes():
                        pass
            else:
                c.get(server.url("/bomb"))
        assert (info.value.limit, info.value.value) == ("max_decompressed_size", cap)
        assert time.monotonic() - started < 5  # it did not inflate the whole GiB
        assert client_sockets(server.port) == 0
        assert_healthy(c, server)


def test_gzip_bomb_under_the_response_size_cap(
    scripted: Scripted, client: HTTPClient,
    stop: threading.Event, gzip_bomb: bytes,
) -> None:
    """With default limits one of the two caps (decoded size, response size) stops it."""
    server = scripted({"/bomb": _bomb_route(gzip_bomb, stop)})
    with pytest.raises(LimitExceeded) as info:
        client.get(server.url("/bomb"))
    assert info.value.limit in ("max_decompressed_size", "max_response_size")
    assert_healthy(client, server)


@pytest.mark.parametrize(("size", "ok"), [(1000, True), (1001, False)])
def test_decompressed_size_n_and_n_plus_one(
    scripted: Scripted, size: int, ok: bool
) -> None:
    gz = zlib.compressobj(wbits=31)
    packed = gz.compress(b"z" * size) + gz.flush()
    server = scripted({"/z": answer(packed, [("Content-Encoding", "gzip")])})
    config = HTTP1Config(limits=HTTP1Limits(max_decompressed_size=1000))
    with HTTPClient(http1=config) as c:
        if ok:
            assert c.get(server.url("/z")).content == b"z" * size
        else:
            with pytest.raises(LimitExceeded) as info:
                c.get(server.url("/z"))
            assert info.value.limit == "max_decompressed_size"
        assert_healthy(c, server)


def test_deflate_and_br_bombs(
    scripted: Scripted, stop: threading.Event
) -> None:
    zeros = bytes(64 << 20)
    bombs = {"deflate": zlib.compress(zeros, 9)}
    try:
        import brotli  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        bombs["br"] = brotli.compress(zeros, quality=5)
    limits = ClientLimits(max_response_size=1 << 40)
    for coding, bomb in bombs.items():
        server = scripted({"/bomb": _bomb_route(bomb, stop, coding)})
        with HTTPClient(limits=limits) as c:
            with pytest.raises(LimitExceeded) as info:
                c.get(server.url("/bomb"))
            assert info.value.limit == "max_decompressed_size", coding
            assert_healthy(c, server)


# -- redirects ----------------------------------------------------------------------------


def _redirect(location: str) -> Route:
    def route(req: RawRequest, peer: Peer) -> bool:
        peer.respond(b"", status="302 Found", headers=[("Location", location)])
        return True

    return route


@pytest.mark.parametrize("paths", [["/loop"], ["/a", "/b"]], ids=["self", "two-step"])
def test_redirect_loop(
    scripted: Scripted, client: HTTPClient, paths: list[str]
) -> None:
    routes = {p: _redirect(paths[(i + 1) % len(paths)]) for i, p in enumerate(paths)}
    server = scripted(routes)
    with pytest.raises(LimitExceeded, match="redirects") as info:
        client.get(server.url(paths[0]))
    assert (info.value.limit, info.value.value) == ("max_redirects", 10)
    assert len(server.requests) == 11  # the first request and 10 redirects, no more
    assert server.accepted == 1  # every hop reused the one connection
    assert_healthy(client, server)


def test_redirect_limit_n_and_n_plus_one(
    scripted: Scripted,
) -> None:
    routes = {f"/r{i}": _redirect(f"/r{i + 1}") for i in range(3)}
    routes["/r3"] = answer(b"end")
    server = scripted(routes)
    with HTTPClient(limits=ClientLimits(max_redirects=3)) as c:
        r = c.get(server.url("/r0"))
        assert (r.content, len(r.history)) == (b"end", 3)
    with HTTPClient(limits=ClientLimits(max_redirects=2)) as c:
        with pytest.raises(LimitExceeded):
            c.get(server.url("/r0"))
        assert_healthy(c, server)


# -- servers that are slow, or silent -----------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "phase"),
    [
        (OK_HEAD + b"Content-Length: 5\r\n\r\nhello", Phase.READ),  # stuck in the head
        (b"", Phase.BODY),  # the head comes whole (below), the body byte by byte
    ],
    ids=["head", "body"],
)
def test_trickle_one_byte_per_second(
    scripted: Scripted,
    client: HTTPClient,
    stop: threading.Event,
    wire: bytes,
    phase: Phase,
) -> None:
    def route(req: RawRequest, peer: Peer) -> bool:
        if not wire:
            peer.send(OK_HEAD + b"Content-Length: 5\r\n\r\n")
        return trickle(wire or b"hello", 1.0, stop)(req, peer)

    server = scripted({"/slow": route})
    started = time.monotonic()
    with pytest.raises(Timeout) as info:
        client.get(server.url("/slow"), timeout=Timeouts(read=0.2))
    assert info.value.phase is phase
    assert phase.value in str(info.value)
    assert time.monotonic() - started < 0.9  # the read timeout, not the server's pace
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


def test_silent_server_that_never_reads(
    scripted: Scripted, client: HTTPClient, stop: threading.Event
) -> None:
    def route(req: RawRequest, peer: Peer) -> bool:
        stop.wait(10)
        return False

    server = scripted({"/silent": route})
    with pytest.raises(Timeout) as info:
        client.get(server.url("/silent"), timeout=Timeouts(read=0.2))
    assert info.value.phase is Phase.READ
    with pytest.raises(Timeout) as info:
        client.get(server.url("/silent"), timeout=Timeouts(total=0.2))
    assert info.value.phase is Phase.TOTAL
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


def test_listener_that_never_accepts(
    scripted: Scripted, client: HTTPClient
) -> None:
    """The kernel completes the handshake; nobody ever reads or answers."""
    good = scripted({})
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        with pytest.raises(Timeout) as info:
            client.get(f"http://127.0.0.1:{port}/", timeout=Timeouts(read=0.2))
        assert info.value.phase is Phase.READ
        assert client_sockets(port) == 0
        assert client.pool_stats().connections == 0
    assert_healthy(client, good)


# -- interim responses --------------------------------------------------------------------


def test_interim_responses_then_the_final_one(
    scripted: Scripted, client: HTTPClient
) -> None:
    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(b"HTTP/1.1 100 Continue\r\n\r\n"
                  b"HTTP/1.1 102 Processing\r\n\r\n"
                  b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")
        peer.respond(b"final", headers=[("X-Final", "1")])
        return True

    server = scripted({"/interim": route})
    for _ in range(2):
        r = client.post(server.url("/interim"), b"body")
        assert (r.status_code, r.content, r.headers["x-final"]) == (200, b"final", "1")
    assert_healthy(client, server)
    assert server.accepted == 1  # interim responses do not spoil the connection


def test_endless_interim_responses_hit_their_cap(
    scripted: Scripted, client: HTTPClient, stop: threading.Event
) -> None:
    server = scripted({"/flood": endless(b"", b"HTTP/1.1 100 Continue\r\n\r\n" * 64, stop)})
    with pytest.raises(LimitExceeded) as info:
        client.get(server.url("/flood"), timeout=Timeouts(read=1.0, total=10))
    assert info.value.limit == "max_interim_responses"
    assert_healthy(client, server)


# -- an answer before the request body is sent --------------------------------------------

_413 = b"HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 8\r\n\r\ntoo big!"


def test_early_413_then_lingering_close(
    scripted: Scripted, client: HTTPClient
) -> None:
    """The polite server (nginx's lingering close): answers, then drains the body."""

    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(_413)
        peer.sock.shutdown(socket.SHUT_WR)
        peer.wait_closed()
        return False

    server = _head_only(scripted, route)
    r = client.post(server.url("/upload"), bytes(8 << 20))
    assert (r.status_code, r.content) == (413, b"too big!")
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


def test_early_413_then_server_stops_reading(
    scripted: Scripted, client: HTTPClient,
    stop: threading.Event,
) -> None:
    """The server answers and keeps the connection open but reads nothing more."""

    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(_413)
        stop.wait(10)
        return False

    server = _head_only(scripted, route)
    body = iter([bytes(1 << 20)] * 64)  # 64 MiB: far more than the socket buffers
    try:
        r = client.post(server.url("/upload"), body, timeout=Timeouts(total=2))
    finally:
        stop.set()
    assert (r.status_code, r.content) == (413, b"too big!")
    assert_healthy(client, server)


def test_early_413_then_abortive_close(
    scripted: Scripted, client: HTTPClient
) -> None:
    """The rude server: answers and closes with the body unread (the kernel sends RST).

    The answer may or may not survive the reset; either way the client
    raises a sockit error or returns the 413, never hangs, and stays healthy.
    """

    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(_413)
        return False  # closes with unread bytes: a reset

    server = _head_only(scripted, route)
    try:
        r = client.post(server.url("/upload"), bytes(8 << 20), timeout=Timeouts(total=5))
    except NetworkError:
        pass
    else:
        assert r.status_code == 413
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


def _head_only(
    scripted: Scripted, route: Route
) -> RawServer:
    """A scripted server whose ``/upload`` route runs after reading only the head."""

    def handler(peer: Peer) -> None:
        while True:
            req = peer.read_head()
            if req is None:
                return
            if req.target == "/upload":
                route(req, peer)
                return
            peer.read_body(req)
            peer.respond(GOOD)

    server = scripted({})
    server.handler = handler
    return server


# -- a reused connection that dies after the request was read -----------------------------


def test_get_on_a_dead_pooled_connection_is_sent_again(
    scripted: Scripted, client: HTTPClient
) -> None:
    """GET is idempotent: the one stale-connection retry may re-send it."""
    calls: list[int] = []

    def route(req: RawRequest, peer: Peer) -> bool:
        calls.append(peer.index)
        if len(calls) == 1:
            return False  # the first time: read, then close without a byte
        peer.respond(b"second")
        return True

    server = scripted({"/idem": route})
    assert_healthy(client, server)
    assert client.get(server.url("/idem")).content == b"second"
    assert calls == [0, 1]
    assert_healthy(client, server)


def test_post_on_a_dead_pooled_connection_is_not_sent_twice(
    scripted: Scripted, client: HTTPClient
) -> None:
    calls: list[bytes] = []

    def route(req: RawRequest, peer: Peer) -> bool:
        calls.append(req.body)
        if len(calls) == 1:
            return False
        peer.respond(b"charged twice")
        return True

    server = scripted({"/pay": route})
    assert_healthy(client, server)  # the POST goes out on this pooled connection
    try:
        with pytest.raises(ConnectionClosed):
            client.post(server.url("/pay"), b"amount=100")
    finally:
        assert_healthy(client, server)
    assert calls == [b"amount=100"]


@pytest.mark.parametrize("host", ["a" * 64 + ".invalid", "a..invalid"], ids=["long", "empty"])
def test_redirect_to_a_host_idna_cannot_encode(
    scripted: Scripted, client: HTTPClient, host: str
) -> None:
    server = scripted({"/go": _redirect(f"http://{host}/")})
    try:
        with pytest.raises(SockitError):
            client.get(server.url("/go"), timeout=Timeouts(total=2))
    finally:
        assert_healthy(client, server)
