"""Failures surface as sockit errors: closes, bad bytes, refusals, timeouts, limits."""

from __future__ import annotations

import select
import socket
import struct
import threading
from collections.abc import Callable

import pytest

from sockit import HTTPClient
from sockit.client import Timeouts
from sockit.errors import (
    ConnectError,
    ConnectionClosed,
    LimitExceeded,
    Phase,
    RemoteProtocolError,
    SockitError,
    Timeout,
)
from sockit.limits import ClientLimits
from tests.client.rawserver import Peer, RawRequest, RawServer, keep_alive

Serve = Callable[[Callable[[Peer], None]], RawServer]


def stall(release: threading.Event) -> Callable[[Peer], None]:
    """A handler that reads one request and never answers (until ``release``)."""

    def handler(peer: Peer) -> None:
        peer.read_request()
        release.wait(10)

    return handler


@pytest.fixture
def release() -> threading.Event:
    return threading.Event()


def test_server_closes_mid_body(serve: Serve, client: HTTPClient) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")

    server = serve(handler)
    with pytest.raises(ConnectionClosed, match="closed the connection"):
        client.get(server.url())
    assert client.pool_stats().connections == 0


def test_server_closes_mid_chunked_body(serve: Serve, client: HTTPClient) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")

    server = serve(handler)
    with pytest.raises(ConnectionClosed):
        client.get(server.url())


def test_server_closes_mid_stream(serve: Serve, client: HTTPClient) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + bytes(5000))

    server = serve(handler)
    with client.get(server.url(), stream=True) as r, pytest.raises(ConnectionClosed):
        for _ in r.iter_bytes():
            pass
    assert client.pool_stats().connections == 0


def test_server_closes_mid_head(serve: Serve, client: HTTPClient) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Le")

    server = serve(handler)
    with pytest.raises(ConnectionClosed):
        client.get(server.url())


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"hello there\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
        b"HTTP/2.0 200 OK\r\n\r\n",
    ],
)
def test_malformed_response(serve: Serve, client: HTTPClient, wire: bytes) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(wire)
        peer.wait_closed()

    server = serve(handler)
    with pytest.raises(RemoteProtocolError) as info:
        client.get(server.url())
    assert not isinstance(info.value, LimitExceeded)
    assert client.pool_stats().connections == 0


def test_oversized_head_is_a_limit(serve: Serve, client: HTTPClient) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        peer.wait_closed()

    server = serve(handler)
    with pytest.raises(LimitExceeded):
        client.get(server.url())


def test_connect_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        with HTTPClient() as c, pytest.raises(ConnectError) as info:
            c.get(f"http://127.0.0.1:{port}/")
        assert isinstance(info.value, OSError)
        assert c.pool_stats().connections == 0


def test_unix_socket_missing(tmp_path: object, client: HTTPClient) -> None:
    with pytest.raises(ConnectError):
        client.get("http+unix://%2Fnonexistent%2Fsockit-test.sock/")


def test_read_timeout(serve: Serve, client: HTTPClient, release: threading.Event) -> None:
    server = serve(stall(release))
    with pytest.raises(Timeout) as info:
        client.get(server.url(), timeout=Timeouts(read=0.2))
    assert info.value.phase is Phase.READ
    with pytest.raises(Timeout) as info:
        client.get(server.url(), timeout=0.2)  # seconds for every phase
    assert info.value.phase is Phase.READ
    assert isinstance(info.value, TimeoutError)
    release.set()
    assert client.pool_stats().connections == 0


def test_total_timeout(serve: Serve, client: HTTPClient, release: threading.Event) -> None:
    server = serve(stall(release))
    with pytest.raises(Timeout) as info:
        client.get(server.url(), timeout=Timeouts(total=0.2, read=30))
    assert info.value.phase is Phase.TOTAL
    release.set()


def test_body_timeout(serve: Serve, client: HTTPClient, release: threading.Event) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        release.wait(10)

    server = serve(handler)
    with pytest.raises(Timeout) as info:
        client.get(server.url(), timeout=Timeouts(read=0.2))
    assert info.value.phase is Phase.BODY
    with client.get(server.url(), stream=True, timeout=Timeouts(read=0.2)) as r:
        with pytest.raises(Timeout) as info:
            r.read()
        assert info.value.phase is Phase.BODY
    release.set()


def test_write_timeout(serve: Serve, client: HTTPClient, release: threading.Event) -> None:
    def handler(peer: Peer) -> None:
        peer.read_head()  # never reads the body: the client's send buffer fills
        release.wait(10)

    server = serve(handler)
    with pytest.raises(Timeout) as info:
        client.post(server.url(), iter([bytes(1 << 20)] * 200), timeout=Timeouts(write=0.2))
    assert info.value.phase is Phase.WRITE
    release.set()


def test_pool_wait_timeout(serve: Serve) -> None:
    server = serve(keep_alive(lambda req, peer: peer.respond(bytes(100))))
    limits = ClientLimits(max_connections_per_host=1, max_connections=1)
    with HTTPClient(limits=limits) as c:
        held = c.get(server.url(), stream=True)  # holds the only connection
        with pytest.raises(Timeout) as info:
            c.get(server.url(), timeout=Timeouts(total=0.2))
        assert info.value.phase is Phase.POOL
        assert held.read() == bytes(100)  # frees it
        assert c.get(server.url(), timeout=Timeouts(total=5)).content == bytes(100)
    assert server.accepted == 1


def test_total_bound_evicts_idle_connection_of_another_origin(serve: Serve) -> None:
    a = serve(keep_alive(lambda req, peer: peer.respond(b"a")))
    b = serve(keep_alive(lambda req, peer: peer.respond(b"b")))
    with HTTPClient(limits=ClientLimits(max_connections=1, max_connections_per_host=1)) as c:
        assert c.get(a.url()).content == b"a"
        assert c.get(b.url(), timeout=Timeouts(total=5)).content == b"b"
        stats = c.pool_stats()
        assert (stats.connections, stats.idle) == (1, 1)


def test_response_size_cap(serve: Serve) -> None:
    def answer(req: RawRequest, peer: Peer) -> None:
        if req.target == "/cl":
            peer.respond(bytes(5000))
        elif req.target == "/chunked":
            peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + b"400\r\n" + bytes(1024) + b"\r\n" * 1)
            for _ in range(5):
                peer.send(b"400\r\n" + bytes(1024) + b"\r\n")
            peer.send(b"0\r\n\r\n")
        else:
            peer.respond(bytes(1000))

    server = serve(keep_alive(answer))
    with HTTPClient(limits=ClientLimits(max_response_size=1000)) as c:
        assert len(c.get(server.url("/fits")).content) == 1000
        for path in ("/cl", "/chunked"):
            with pytest.raises(LimitExceeded) as info:
                c.get(server.url(path))
            assert info.value.limit == "max_response_size"
            assert info.value.value == 1000
        # streaming is the way past the cap
        with c.get(server.url("/cl"), stream=True) as r:
            assert sum(len(x) for x in r.iter_bytes()) == 5000
        assert c.pool_stats().connections <= 1


def test_errors_are_all_sockit_errors(serve: Serve, client: HTTPClient) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        linger_zero = struct.pack("ii", 1, 0)
        peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_zero)
        peer.sock.close()  # a reset, not a clean close

    server = serve(handler)
    with pytest.raises(SockitError) as info:
        client.get(server.url())
    assert isinstance(info.value, (ConnectionClosed, RemoteProtocolError))


def test_dns_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    real = socket.getaddrinfo

    def slow(*args: object, **kwargs: object) -> object:
        if args and args[0] == "slow.example":
            gate.wait(5)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    try:
        with HTTPClient(limits=ClientLimits(dns_timeout=0.1)) as c:
            with pytest.raises(Timeout) as info:
                c.get("http://slow.example/")
            assert info.value.phase is Phase.DNS
            assert c.pool_stats().connections == 0
    finally:
        gate.set()


def test_unresolvable_name_is_a_connect_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with HTTPClient() as c, pytest.raises(ConnectError, match="resolve"):
        c.get("http://no-such-host.example/")


def test_connect_timeout() -> None:
    """A listener whose accept queue is full drops further SYNs: connect hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(16):
            s = socket.socket()
            s.setblocking(False)
            fillers.append(s)
            if s.connect_ex(("127.0.0.1", port)) not in (0, 115):  # EINPROGRESS
                break
            _, writable, _ = select.select([], [s], [], 0.2)
            if not writable:
                break  # this one hangs: the queue is full
        else:
            pytest.skip("could not fill the accept queue on this kernel")
        with HTTPClient() as c, pytest.raises(Timeout) as info:
            c.get(f"http://127.0.0.1:{port}/", timeout=Timeouts(connect=0.2))
        assert info.value.phase is Phase.CONNECT
    finally:
        for s in fillers:
            s.close()
        listener.close()


def test_dual_stack_names_race_both_families(monkeypatch: pytest.MonkeyPatch) -> None:
    """An IPv6 address that never answers does not hold up the IPv4 one (RFC 8305)."""
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    real = socket.getaddrinfo

    def dual(host: object, *args: object, **kwargs: object) -> object:
        if host == "dual.example":
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("100::1", port, 0, 0)),  # discard
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", dual)

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    start = time.monotonic()
    with HTTPClient() as c:
        r = c.get(f"http://dual.example:{port}/", timeout=5)
    elapsed = time.monotonic() - start
    listener.close()
    assert r.content == b"ok"
    assert elapsed < 3  # the IPv4 attempt started after the 250 ms attempt delay


def test_response_trailers_are_exposed(serve: Serve, client: HTTPClient) -> None:
    def chunked_with_trailers(peer: Peer) -> None:
        peer.read_request()
        peer.sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          b"Trailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n")

    server = serve(chunked_with_trailers)
    r = client.get(server.url(), timeout=5)
    assert r.content == b"abc"
    assert r.trailers["x-sum"] == "42"
