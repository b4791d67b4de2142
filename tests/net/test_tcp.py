"""TCP stream sockets on loopback: echo, timeouts, errors, zero copy, limits."""

from __future__ import annotations

import errno
import hashlib
import io
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit.errors import (
    AddressError,
    ConnectError,
    ConnectionClosed,
    LocalProtocolError,
    NetworkError,
    Phase,
    Timeout,
)
from sockit.net._oserror import DEFAULT, get_default_timeout, set_default_timeout
from sockit.net.bandwidth import BandwidthLimiter
from sockit.net.tcp import (
    SendResult,
    Socket,
    connect_tcp,
    listen_tcp,
    live_sockets,
    splice,
)
from tests.support.peers import require_ipv6_loopback


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def listener() -> Iterator[Socket]:
    with listen_tcp("127.0.0.1", 0) as lst:
        yield lst


@pytest.fixture
def pair(listener: Socket) -> Iterator[tuple[Socket, Socket]]:
    port = listener.getsockname()[1]
    client = connect_tcp("127.0.0.1", port, timeout=5)
    server = listener.accept(timeout=5)
    with client, server:
        yield client, server


def _echo_server(lst: Socket, count: int) -> threading.Thread:
    def run() -> None:
        for _ in range(count):
            with lst.accept(timeout=10) as conn:
                while data := conn.recv(65536, timeout=10):
                    conn.sendall(data, timeout=10)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_echo(host: str) -> None:
    if host == "::1":
        require_ipv6_loopback()
    with listen_tcp(host, 0) as lst:
        assert lst.family == (socket.AF_INET6 if ":" in host else socket.AF_INET)
        t = _echo_server(lst, 1)
        payload = os.urandom(300_000)
        with connect_tcp(host, lst.getsockname()[1], timeout=5) as c:
            c.sendall(payload, timeout=10)
            assert c.recv_exactly(len(payload), timeout=10) == payload
            assert c.stats.bytes_sent == len(payload)
            assert c.stats.bytes_received == len(payload)
            assert c.stats.last_activity is not None
        t.join(5)
        assert not t.is_alive()


def test_connection_refused_is_connect_error() -> None:
    with listen_tcp("127.0.0.1", 0) as lst:
        port = lst.getsockname()[1]
    with pytest.raises(ConnectError) as info:
        connect_tcp("127.0.0.1", port, timeout=5)
    assert info.value.errno == errno.ECONNREFUSED
    assert isinstance(info.value, OSError)


def test_connect_timeout_when_accept_queue_is_full() -> None:
    # backlog 0: one finished connection fills the queue, later SYNs are dropped
    with listen_tcp("127.0.0.1", 0, backlog=0) as lst:
        port = lst.getsockname()[1]
        held: list[Socket] = []
        try:
            start = time.monotonic()
            with pytest.raises(Timeout) as info:
                for _ in range(4):
                    held.append(connect_tcp("127.0.0.1", port, timeout=0.3))
            assert info.value.phase is Phase.CONNECT
            assert info.value.errno == errno.ETIMEDOUT
            assert isinstance(info.value, TimeoutError)
            assert time.monotonic() - start < 3
            assert 1 <= len(held) <= 3
        finally:
            for s in held:
                s.close()


def test_nonblocking_connect_and_finish(listener: Socket) -> None:
    addr = listener.getsockname()
    with Socket() as s:
        done = s.connect_nonblocking(addr)
        deadline = time.monotonic() + 5
        while not done and time.monotonic() < deadline:
            s.is_writable(0.5)
            done = s.finish_connect()
        assert done
        with listener.accept(timeout=5) as conn:
            s.sendall(b"ping")
            assert conn.recv_exactly(4, timeout=5) == b"ping"


def test_nonblocking_connect_refused_reports_via_finish() -> None:
    with listen_tcp("127.0.0.1", 0) as lst:
        addr = lst.getsockname()
    with Socket() as s:
        with pytest.raises(ConnectError) as info:
            if not s.connect_nonblocking(addr):
                s.is_writable(5)
                s.finish_connect()
        assert info.value.errno == errno.ECONNREFUSED
        assert s.stats.errors >= 1


def test_accept_timeout_try_accept_and_batch(listener: Socket) -> None:
    with pytest.raises(Timeout) as info:
        listener.accept(timeout=0.05)
    assert info.value.phase is Phase.CONNECT
    assert listener.try_accept() is None
    port = listener.getsockname()[1]
    clients = [connect_tcp("127.0.0.1", port, timeout=5) for _ in range(5)]
    try:
        assert listener.is_readable(2)
        first = listener.accept_batch(3)
        assert len(first) == 3
        deadline = time.monotonic() + 2
        rest: list[Socket] = []
        while len(rest) < 2 and time.monotonic() < deadline:
            rest += listener.accept_batch(10)
        assert len(rest) == 2
        assert all(isinstance(s, Socket) for s in first + rest)
        for s in first + rest:
            s.close()
        assert listener.accept_batch(0) == []
    finally:
        for c in clients:
            c.close()


def test_recv_timeouts_per_call_per_socket_and_global(pair: tuple[Socket, Socket]) -> None:
    client, _ = pair
    with pytest.raises(Timeout) as info:
        client.recv(10, timeout=0.05)
    assert info.value.phase is Phase.READ
    with pytest.raises(Timeout):
        client.recv(10, timeout=0)
    client.timeout = 0.05
    assert client.timeout == 0.05
    start = time.monotonic()
    with pytest.raises(Timeout):
        client.recv(10)
    assert time.monotonic() - start < 2
    client.timeout = DEFAULT
    old = get_default_timeout()
    set_default_timeout(0.02)
    try:
        assert client.timeout == 0.02
        with pytest.raises(Timeout):
            client.recv(10)
    finally:
        set_default_timeout(old)
    assert client.stats.errors >= 4


@pytest.mark.parametrize("bad", [-1, -0.5, math.nan, "1", True])
def test_invalid_timeouts_are_refused(pair: tuple[Socket, Socket], bad: object) -> None:
    client, _ = pair
    with pytest.raises(LocalProtocolError):
        client.recv(1, timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        set_default_timeout(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("port", [-1, 65536, 70000, "80", True, 1.5])
def test_invalid_ports(port: object) -> None:
    with pytest.raises(AddressError) as info:
        connect_tcp("127.0.0.1", port, timeout=1)  # type: ignore[arg-type]
    assert "port" in str(info.value)
    with pytest.raises(AddressError):
        listen_tcp("127.0.0.1", port)  # type: ignore[arg-type]


@pytest.mark.parametrize("host", [b"127.0.0.1", 127, None, "a\0b"])
def test_invalid_hosts(host: object) -> None:
    with pytest.raises(AddressError):
        connect_tcp(host, 80, timeout=1)  # type: ignore[arg-type]
    with Socket() as s, pytest.raises(AddressError):
        s.connect((host, 80), timeout=1)


def test_bind_in_use_is_address_error(listener: Socket) -> None:
    addr = listener.getsockname()
    with Socket() as s, pytest.raises(AddressError) as info:
        s.bind(addr)
    assert info.value.errno == errno.EADDRINUSE


def test_scatter_gather(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    assert client.sendmsg([b"abc", bytearray(b"def"), memoryview(b"ghij")]) == 10
    a, b = bytearray(4), bytearray(6)
    deadline = time.monotonic() + 5
    while len(server.peek(10, timeout=5)) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    nbytes, ancdata, _flags, _addr = server.recvmsg_into([a, b], timeout=5)
    assert (nbytes, ancdata) == (10, [])
    assert bytes(a + b) == b"abcdefghij"
    buf = bytearray(8)
    client.sendall(b"12345")
    assert server.recv_into(buf, 3, timeout=5) == 3
    assert buf[:3] == b"123"


def test_try_recv_try_send_peek_probe(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    assert server.try_recv(10) is None
    assert server.try_recv_into(bytearray(4)) is None
    result = client.try_send(b"hello")
    assert result == SendResult(5, 0.0)
    assert server.peek(5, timeout=5) == b"hello"
    assert server.probe()
    assert server.recv_exactly(5, timeout=5) == b"hello"
    client.close()
    assert server.recv(10, timeout=5) == b""
    assert not server.probe()


def test_recv_exactly_raises_when_peer_closes_early(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    client.sendall(b"abc")
    client.close()
    with pytest.raises(ConnectionClosed) as info:
        server.recv_exactly(10, timeout=5)
    assert "3 of 10" in str(info.value)


def test_write_to_closed_peer_is_connection_closed_not_sigpipe(
    pair: tuple[Socket, Socket],
) -> None:
    client, server = pair
    server.close()
    with pytest.raises(ConnectionClosed) as info:
        for _ in range(200):
            client.sendall(b"x" * 65536, timeout=5)
            time.sleep(0.001)
    assert info.value.errno in (errno.EPIPE, errno.ECONNRESET)
    assert isinstance(info.value, OSError)


def test_closed_socket_behaviour() -> None:
    before = live_sockets()
    s = Socket()
    assert live_sockets() == before + 1
    fd = s.fileno()
    assert fd >= 0
    s.close()
    s.close()
    assert s.closed and s.fileno() == -1
    assert live_sockets() == before
    with pytest.raises(ConnectionClosed) as info:
        s.recv(1)
    assert info.value.errno == errno.EBADF
    with Socket() as t:
        assert not t.closed
    assert t.closed


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _drain(sock: Socket, count: int, out: list[str]) -> threading.Thread:
    def run() -> None:
        h = hashlib.sha256()
        got = 0
        buf = bytearray(1 << 20)
        while got < count:
            n = sock.recv_into(buf, timeout=20)
            if n == 0:
                break
            h.update(memoryview(buf)[:n])
            got += n
        out.append(h.hexdigest())
        out.append(str(got))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_sendfile_50mb_checksum(pair: tuple[Socket, Socket], tmp_path: Path) -> None:
    client, server = pair
    path = tmp_path / "big.bin"
    block = os.urandom(1 << 20)
    with path.open("wb") as f:
        for i in range(50):
            f.write(block[i:] + block[:i])
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    out: list[str] = []
    t = _drain(server, 50 << 20, out)
    with path.open("rb") as f:
        assert client.sendfile(f, timeout=30) == 50 << 20
        assert f.tell() == 50 << 20
    t.join(30)
    assert out == [expected, str(50 << 20)]
    assert client.stats.bytes_sent == 50 << 20


def test_sendfile_offset_count_and_fallback(pair: tuple[Socket, Socket], tmp_path: Path) -> None:
    client, server = pair
    data = os.urandom(200_000)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert client.sendfile(fd, 1000, 5000, timeout=5) == 5000
    finally:
        os.close(fd)
    assert server.recv_exactly(5000, timeout=5) == data[1000:6000]
    bio = io.BytesIO(data)  # no fileno(): the read/send loop
    out: list[str] = []
    t = _drain(server, 150_000, out)
    assert client.sendfile(bio, 50_000, timeout=5) == 150_000
    t.join(10)
    assert out == [_sha(data[50_000:]), "150000"]
    assert bio.tell() == 200_000


def test_splice_between_sockets(listener: Socket) -> None:
    port = listener.getsockname()[1]
    a = connect_tcp("127.0.0.1", port, timeout=5)
    a_peer = listener.accept(timeout=5)
    b = connect_tcp("127.0.0.1", port, timeout=5)
    b_peer = listener.accept(timeout=5)
    with a, a_peer, b, b_peer:
        payload = os.urandom(3_000_000)
        sender = threading.Thread(target=a.sendall, args=(payload,), kwargs={"timeout": 20})
        sender.start()
        out: list[str] = []
        t = _drain(b_peer, len(payload), out)
        assert splice(a_peer, b, len(payload), timeout=20) == len(payload)
        sender.join(20)
        t.join(20)
        assert out == [_sha(payload), str(len(payload))]
        a.sendall(b"tail")
        a.shutdown(socket.SHUT_WR)
        assert splice(a_peer, b, 100, timeout=5) == 4  # EOF before count
        assert b_peer.recv_exactly(4, timeout=5) == b"tail"


def test_dup_and_replace_fd(pair: tuple[Socket, Socket], listener: Socket) -> None:
    client, server = pair
    copy = client.dup()
    assert copy.fileno() != client.fileno()
    client.close()
    copy.sendall(b"via dup")
    assert server.recv_exactly(7, timeout=5) == b"via dup"
    port = listener.getsockname()[1]
    with connect_tcp("127.0.0.1", port, timeout=5) as other:
        other_peer = listener.accept(timeout=5)
        fd_before = copy.fileno()
        copy.replace_fd(other)
        assert copy.fileno() == fd_before
        copy.sendall(b"swapped")
        assert other_peer.recv_exactly(7, timeout=5) == b"swapped"
        other_peer.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(LocalProtocolError):
        copy.replace_fd(udp)
    copy.close()


def test_fastopen_server_and_client() -> None:
    try:
        lst = listen_tcp("127.0.0.1", 0, fastopen=5)
    except NetworkError as exc:
        pytest.skip(f"TCP Fast Open unavailable: {exc}")
    with lst:
        assert lst.fastopen_queue == 5
        t = _echo_server(lst, 1)
        with connect_tcp(
            "127.0.0.1",
            lst.getsockname()[1],
            timeout=5,
            fastopen=True,
        ) as c:
            assert c.fastopen_connect
            c.sendall(b"tfo data", timeout=5)
            assert c.recv_exactly(8, timeout=5) == b"tfo data"
        t.join(5)


def test_bandwidth_limited_try_send_with_fake_clock(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    clock = FakeClock()
    client.limit_bandwidth(send=1000, burst=1000, clock=clock, sleep=clock.sleep)
    first = client.try_send(b"x" * 1500)
    assert first.sent == 1000
    assert first.retry_after == pytest.approx(0.5)
    blocked = client.try_send(b"x" * 500)
    assert blocked == SendResult(0, pytest.approx(0.5))  # type: ignore[arg-type]
    clock.now += 0.25
    assert client.try_send(b"x" * 500).sent == 250
    clock.now += 10
    assert client.try_send(b"y" * 10) == SendResult(10, 0.0)
    assert server.recv_exactly(1260, timeout=5)[-10:] == b"y" * 10


def test_bandwidth_limited_blocking_send_sleeps_on_fake_clock(
    pair: tuple[Socket, Socket],
) -> None:
    client, server = pair
    clock = FakeClock()
    client.limit_bandwidth(send=10_000, burst=2_000, clock=clock, sleep=clock.sleep)
    start = clock.now
    client.sendall(b"z" * 12_000, timeout=5)
    # 2000 from the full bucket, then 10000 more at 10000 B/s
    assert clock.now - start == pytest.approx(1.0)
    assert server.recv_exactly(12_000, timeout=5) == b"z" * 12_000
    client.limit_bandwidth(send=100, burst=100)  # real clock: 1 s per 100 bytes
    start = time.monotonic()
    with pytest.raises(Timeout) as info:
        client.sendall(b"z" * 1000, timeout=0.2)
    assert info.value.phase is Phase.WRITE
    assert time.monotonic() - start < 0.5  # refused at once, not slept through
    assert server.recv_exactly(100, timeout=5) == b"z" * 100


def test_bandwidth_limited_recv(pair: tuple[Socket, Socket]) -> None:
    client, server = pair
    clock = FakeClock()
    server.limit_bandwidth(recv=100, burst=100, clock=clock, sleep=clock.sleep)
    client.sendall(b"r" * 300)
    assert server.recv_exactly(300, timeout=5) == b"r" * 300
    assert clock.now - 100.0 == pytest.approx(2.0)
    assert server.try_recv(10) is None  # bucket empty


def test_bandwidth_limiter_validation() -> None:
    with pytest.raises(LocalProtocolError):
        BandwidthLimiter(0)
    with pytest.raises(LocalProtocolError):
        BandwidthLimiter(math.inf)
    with pytest.raises(LocalProtocolError):
        BandwidthLimiter(10, burst=0)
    lim = BandwidthLimiter(10)
    assert lim.burst == 10 and lim.rate == 10.0
    assert lim.wait_time(5) == 0.0
