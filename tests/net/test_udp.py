"""UDP on loopback: echo, payload bounds, multicast, broadcast, batch I/O."""

from __future__ import annotations

import errno
import os
import socket
import time
from collections.abc import Iterator

import pytest

from sockit.errors import AddressError, ConnectError, MessageTooLarge, Phase, Timeout
from sockit.limits import SocketLimits
from sockit.net import _mmsg
from sockit.net.tcp import SendResult
from sockit.net.udp import (
    MAX_PAYLOAD,
    SAFE_PAYLOAD,
    Datagram,
    DatagramSocket,
    bind_udp,
    connect_udp,
)
from tests.support.peers import require_ipv6_loopback


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def pair() -> Iterator[tuple[DatagramSocket, DatagramSocket]]:
    with bind_udp("127.0.0.1", 0, timeout=5) as a, bind_udp("127.0.0.1", 0, timeout=5) as b:
        yield a, b


@pytest.fixture(params=["cffi", "loop"])
def batch_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "cffi" and not _mmsg.available():
        pytest.skip("sendmmsg/recvmmsg through cffi unavailable")
    _mmsg.set_enabled(request.param == "cffi")
    try:
        yield request.param
    finally:
        _mmsg.set_enabled(True)


def test_constants() -> None:
    assert MAX_PAYLOAD == 65507
    assert SAFE_PAYLOAD == 1472
    with DatagramSocket() as s:
        assert s.safe_payload == 1472 and s.max_payload == 65507


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_echo_unconnected_and_connected(host: str) -> None:
    if host == "::1":
        require_ipv6_loopback()
    with bind_udp(host, 0, timeout=5) as server:
        addr = server.getsockname()
        with connect_udp(host, addr[1], timeout=5) as client:
            assert client.send(b"ping") == 4
            data, peer = server.recvfrom()
            assert data == b"ping"
            assert peer[:2] == client.getsockname()[:2]
            assert server.sendto(b"pong", peer) == 4
            assert client.recv() == b"pong"
            assert client.stats.packets_sent == 1 and client.stats.packets_received == 1
            assert server.stats.bytes_received == 4


def test_recv_timeout_and_try_recvfrom(pair: tuple[DatagramSocket, DatagramSocket]) -> None:
    a, b = pair
    with pytest.raises(Timeout) as info:
        b.recvfrom(timeout=0.05)
    assert info.value.phase is Phase.READ
    assert b.try_recvfrom() is None
    a.sendto(b"now", b.getsockname())
    assert b.is_readable(5)
    got = b.try_recvfrom()
    assert got is not None and got[0] == b"now"
    buf = bytearray(10)
    a.sendto(b"into", b.getsockname())
    n, addr = b.recvfrom_into(buf)
    assert (n, bytes(buf[:4]), addr) == (4, b"into", a.getsockname())


def test_oversize_datagram_refused_before_sending(
    pair: tuple[DatagramSocket, DatagramSocket],
) -> None:
    a, b = pair
    with pytest.raises(MessageTooLarge) as info:
        a.sendto(b"x" * (MAX_PAYLOAD + 1), b.getsockname())
    assert info.value.errno == errno.EMSGSIZE
    assert "65507" in str(info.value)
    with pytest.raises(MessageTooLarge):
        a.send_many([b"ok", b"x" * 70_000], b.getsockname())
    assert a.stats.packets_sent == 0
    assert not b.is_readable(0.05)
    assert a.sendto(b"y" * MAX_PAYLOAD, b.getsockname()) == MAX_PAYLOAD
    assert len(b.recv(70_000)) == MAX_PAYLOAD


def test_kernel_emsgsize_becomes_message_too_large(
    pair: tuple[DatagramSocket, DatagramSocket],
) -> None:
    a, b = pair
    # lift our own bound so the kernel is the one to refuse
    lax = SocketLimits()
    object.__setattr__(lax, "max_udp_payload", 70_000)
    a.limits = lax
    with pytest.raises(MessageTooLarge) as info:
        a.sendto(b"z" * (MAX_PAYLOAD + 1), b.getsockname())
    assert info.value.errno == errno.EMSGSIZE
    assert isinstance(info.value, OSError)


def test_connected_udp_refused() -> None:
    with bind_udp("127.0.0.1", 0) as tmp:
        port = tmp.getsockname()[1]
    with connect_udp("127.0.0.1", port, timeout=1) as c:
        c.send(b"anyone?")
        with pytest.raises(ConnectError) as info:
            for _ in range(50):
                c.send(b"anyone?")
                time.sleep(0.01)
        assert info.value.errno == errno.ECONNREFUSED


def test_broadcast_ttl_and_multicast_options() -> None:
    with DatagramSocket() as s:
        assert not s.broadcast
        s.broadcast = True
        assert s.broadcast
        assert s.raw.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST) == 1
        s.ttl = 17
        assert s.ttl == 17
        s.multicast_ttl = 3
        assert s.multicast_ttl == 3
        s.multicast_loop = False
        assert not s.multicast_loop
        s.multicast_loop = True
        assert s.multicast_loop
    with bind_udp("127.0.0.1", 0, broadcast=True) as b:
        assert b.broadcast


def test_ipv6_hop_options() -> None:
    require_ipv6_loopback()
    with DatagramSocket(socket.AF_INET6) as s:
        s.ttl = 9
        assert s.raw.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS) == 9
        s.multicast_ttl = 4
        assert s.multicast_ttl == 4


def test_multicast_ipv4_loopback() -> None:
    group = "239.255.77.77"
    with bind_udp("0.0.0.0", 0, reuse_addr=True, timeout=2) as rx:
        port = rx.getsockname()[1]
        try:
            rx.join_group(group, "127.0.0.1")
        except OSError as exc:
            pytest.skip(f"cannot join a multicast group on lo: {exc}")
        with DatagramSocket(timeout=2) as tx:
            tx.set_multicast_interface("127.0.0.1")
            tx.multicast_loop = True
            tx.multicast_ttl = 1
            tx.sendto(b"to the group", (group, port))
            try:
                data, _ = rx.recvfrom()
            except Timeout:
                pytest.skip("no multicast delivery on lo")
            assert data == b"to the group"
        with DatagramSocket(timeout=2) as tx2:
            tx2.set_multicast_interface("lo")  # by interface name (ip_mreqn ifindex)
            tx2.sendto(b"via lo", (group, port))
            assert rx.recv() == b"via lo"
            rx.leave_group(group, "127.0.0.1")
            tx2.sendto(b"after leave", (group, port))
        assert not rx.is_readable(0.2)


def test_multicast_ipv6_loopback() -> None:
    require_ipv6_loopback()
    group = "ff02::1:77"
    index = socket.if_nametoindex("lo")
    with DatagramSocket(socket.AF_INET6, timeout=1) as rx:
        rx.bind(("::", 0))
        port = rx.getsockname()[1]
        try:
            rx.join_group(group, "lo")
        except OSError as exc:
            pytest.skip(f"cannot join an IPv6 group on lo: {exc}")
        with DatagramSocket(socket.AF_INET6, timeout=1) as tx:
            tx.set_multicast_interface(index)
            try:
                tx.sendto(b"six", (group, port, 0, index))
                data = rx.recv()
            except (OSError, Timeout) as exc:
                pytest.skip(f"lo has no IPv6 multicast route here: {exc}")
            assert data == b"six"
        rx.leave_group(group, index)


def test_multicast_group_validation() -> None:
    with DatagramSocket() as s:
        with pytest.raises(AddressError):
            s.join_group("10.0.0.1")
        with pytest.raises(AddressError):
            s.join_group("not-an-ip")
        with pytest.raises(AddressError):
            s.join_group("ff02::1")
        with pytest.raises(AddressError):
            s.join_group("239.1.1.1", "no-such-interface0")


def test_send_many_recv_many(batch_mode: str, pair: tuple[DatagramSocket, DatagramSocket]) -> None:
    a, b = pair
    msgs = [os.urandom(1 + i * 7) for i in range(100)]
    assert a.send_many(msgs, b.getsockname()) == 100
    got: list[Datagram] = []
    deadline = time.monotonic() + 5
    while len(got) < 100 and time.monotonic() < deadline:
        got += b.recv_many(64, timeout=1)
    assert [d.data for d in got] == msgs
    assert all(d.address == a.getsockname() and not d.truncated for d in got)
    assert a.stats.packets_sent == 100 and b.stats.packets_received == 100
    a.sendto(b"x" * 100, b.getsockname())
    cut = b.recv_many(8, bufsize=10)
    assert len(cut) == 1 and cut[0].truncated and cut[0].data == b"x" * 10
    start = time.monotonic()
    assert b.recv_many(8, timeout=0.05) == []
    assert time.monotonic() - start < 2


def test_send_many_connected(batch_mode: str, pair: tuple[DatagramSocket, DatagramSocket]) -> None:
    a, b = pair
    a.connect(b.getsockname())
    assert a.send_many([b"1", b"22", b"333"]) == 3
    got = b.recv_many(10, timeout=2)
    while len(got) < 3:
        got += b.recv_many(10, timeout=2)
    assert [d.data for d in got] == [b"1", b"22", b"333"]


def test_send_many_ipv6(batch_mode: str) -> None:
    require_ipv6_loopback()
    with bind_udp("::1", 0, timeout=2) as a, bind_udp("::1", 0, timeout=2) as b:
        assert a.send_many([b"six", b"v6"], b.getsockname()) == 2
        got = b.recv_many(4)
        while len(got) < 2:
            got += b.recv_many(4)
        assert [d.data for d in got] == [b"six", b"v6"]
        assert got[0].address[:2] == a.getsockname()[:2]


def test_sockaddr_pack_round_trip() -> None:
    v4 = _mmsg.pack_sockaddr(socket.AF_INET, ("127.0.0.1", 4242))
    assert len(v4) == 16 and _mmsg.unpack_sockaddr(v4) == ("127.0.0.1", 4242)
    v6 = _mmsg.pack_sockaddr(socket.AF_INET6, ("::1", 443, 0, 3))
    assert len(v6) == 28 and _mmsg.unpack_sockaddr(v6) == ("::1", 443, 0, 3)
    assert _mmsg.unpack_sockaddr(b"") == ()


def test_datagram_bandwidth_limit_fake_clock(
    pair: tuple[DatagramSocket, DatagramSocket],
) -> None:
    a, b = pair
    clock = FakeClock()
    a.limit_bandwidth(send=1000, burst=1000, clock=clock, sleep=clock.sleep)
    dest = b.getsockname()
    assert a.try_sendto(b"d" * 800, dest) == SendResult(800)
    held = a.try_sendto(b"d" * 800, dest)
    assert held.sent == 0 and held.retry_after == pytest.approx(0.6)
    assert a.sendto(b"e" * 800, dest) == 800
    assert clock.now == pytest.approx(0.6)
    assert a.send_many([b"f" * 400] * 5, dest) == 5
    assert clock.now == pytest.approx(2.6)
    sizes = [len(b.recv()) for _ in range(7)]
    assert sizes == [800, 800, 400, 400, 400, 400, 400]
