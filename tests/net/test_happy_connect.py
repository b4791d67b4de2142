"""Happy Eyeballs on real loopback sockets: the blocking and reactor-driven drivers.

Names are answered by a scripted ``getaddrinfo`` (so a name can have a
``::1`` and a ``127.0.0.1`` address, or a dead one); connects are real.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from sockit.errors import AddressError, ConnectError, Phase, Timeout
from sockit.limits import DNSDefaults, HappyEyeballsDefaults
from sockit.net.dns import Resolver
from sockit.net.happy import (
    HappyEyeballsConnector,
    HappyEyeballsError,
    HappyResult,
    connect_happy,
)
from sockit.net.reactor import READ, IOEvent, Reactor
from sockit.net.tcp import Socket, listen_tcp
from tests.support.peers import require_ipv6_loopback

BLACKHOLE_V6 = "100::1"  # RFC 6666 discard prefix: nothing answers


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class ScriptedDNS:
    """``host -> [(ip, port)]``; hosts in ``hang`` block (per family) until released."""

    def __init__(self, table: dict[str, list[tuple[str, int]]]) -> None:
        self.table = table
        self.hang: dict[tuple[str, int], threading.Event] = {}

    def __call__(
        self, host: str, port: int, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> Sequence[tuple[object, ...]]:
        gate = self.hang.get((host, family))
        if gate is not None:
            gate.wait(5)
        out: list[tuple[object, ...]] = []
        for ip, p in self.table.get(host, []):
            fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
            if family in (0, fam):
                addr = (ip, p, 0, 0) if fam == socket.AF_INET6 else (ip, p)
                out.append((fam, socket.SOCK_STREAM, 6, "", addr))
        if not out:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return out


@pytest.fixture
def v4_listener() -> Iterator[Socket]:
    with listen_tcp("127.0.0.1", 0) as sock:
        yield sock


@pytest.fixture
def v6_listener() -> Iterator[Socket]:
    require_ipv6_loopback()
    with listen_tcp("::1", 0) as sock:
        yield sock


def port_of(sock: Socket) -> int:
    return int(sock.getsockname()[1])


def closed_port(host: str = "127.0.0.1") -> int:
    with listen_tcp(host, 0) as sock:
        return port_of(sock)


def check_connected(result: HappyResult, listener: Socket) -> None:
    peer = listener.accept(timeout=2)
    with peer:
        result.sock.sendall(b"ping", timeout=2)
        assert peer.recv_exactly(4, timeout=2) == b"ping"


def test_localhost_real_resolver(v4_listener: Socket) -> None:
    result = connect_happy("localhost", port_of(v4_listener), resolver=Resolver())
    with result.sock:
        assert result.address.port == port_of(v4_listener)
        assert result.attempts >= 1
        check_connected(result, v4_listener)


def test_ipv4_literal(v4_listener: Socket) -> None:
    result = connect_happy("127.0.0.1", port_of(v4_listener))
    with result.sock:
        assert result.address.address == ("127.0.0.1", port_of(v4_listener))
        assert result.attempts == 1 and result.errors == ()
        check_connected(result, v4_listener)


def test_dual_stack_prefers_ipv6(v4_listener: Socket, v6_listener: Socket) -> None:
    dns = ScriptedDNS(
        {"dual.test": [("127.0.0.1", port_of(v4_listener)), ("::1", port_of(v6_listener))]}
    )
    with Resolver(getaddrinfo=dns) as resolver:
        result = connect_happy("dual.test", 1, resolver=resolver)
    with result.sock:
        assert result.address.family == socket.AF_INET6 and result.address.host == "::1"
        assert result.elapsed < 0.2  # no resolution or attempt delay on the v6 path
        check_connected(result, v6_listener)


def test_v6_refused_falls_back_at_once(v4_listener: Socket) -> None:
    require_ipv6_loopback()
    dns = ScriptedDNS(
        {"dual.test": [("::1", closed_port("::1")), ("127.0.0.1", port_of(v4_listener))]}
    )
    with Resolver(getaddrinfo=dns) as resolver:
        result = connect_happy("dual.test", 1, resolver=resolver)
    with result.sock:
        assert result.address.family == socket.AF_INET
        assert result.attempts == 2
        assert result.elapsed < 0.2  # a refusal does not wait out the 250 ms attempt delay
        assert [e.address.family for e in result.errors if e.address] == [socket.AF_INET6]
        check_connected(result, v4_listener)


def test_v6_blackhole_v4_wins_after_attempt_delay(v4_listener: Socket) -> None:
    dns = ScriptedDNS({"dual.test": [(BLACKHOLE_V6, 9), ("127.0.0.1", port_of(v4_listener))]})
    before = open_fds()
    with Resolver(getaddrinfo=dns) as resolver:
        t0 = time.monotonic()
        result = connect_happy("dual.test", 1, resolver=resolver)
        took = time.monotonic() - t0
    with result.sock:
        assert result.address.family == socket.AF_INET
        assert result.attempts == 2
        v6_failed_fast = any(e.address and e.address.host == BLACKHOLE_V6 for e in result.errors)
        if not v6_failed_fast:  # the usual case: the v6 attempt hangs, v4 starts at 250 ms
            assert 0.24 <= took < 1.5
        check_connected(result, v4_listener)
    assert open_fds() <= before  # the losing v6 socket was closed


def test_all_refused_lists_every_attempt() -> None:
    require_ipv6_loopback()
    dns = ScriptedDNS({"dual.test": [("::1", closed_port("::1")), ("127.0.0.1", closed_port())]})
    with Resolver(getaddrinfo=dns) as resolver, pytest.raises(HappyEyeballsError) as info:
        connect_happy("dual.test", 1, resolver=resolver)
    err = info.value
    assert isinstance(err, ConnectError)
    assert [e.address.family for e in err.errors if e.address] == [
        socket.AF_INET6,
        socket.AF_INET,
    ]
    assert "::1" in str(err) and "127.0.0.1" in str(err)


def test_unknown_name_is_a_connect_error() -> None:
    with (
        Resolver(getaddrinfo=ScriptedDNS({})) as resolver,
        pytest.raises(HappyEyeballsError) as info,
    ):
        connect_happy("nowhere.test", 80, resolver=resolver)
    assert len(info.value.errors) == 2
    assert all(isinstance(e.error, AddressError) for e in info.value.errors)


def test_bad_name_is_refused_at_once() -> None:
    with pytest.raises(AddressError):
        connect_happy("1.2.3", 80)


def test_total_timeout() -> None:
    dns = ScriptedDNS({"dead.test": [(BLACKHOLE_V6, 9)]})
    before = open_fds()
    with Resolver(getaddrinfo=dns) as resolver:
        t0 = time.monotonic()
        with pytest.raises((Timeout, HappyEyeballsError)) as info:
            connect_happy("dead.test", 1, resolver=resolver, timeout=0.2)
        took = time.monotonic() - t0
    if isinstance(info.value, Timeout):  # the blackhole held: the usual case
        assert info.value.phase is Phase.CONNECT
        assert 0.19 <= took < 1.0
    assert open_fds() <= before


def test_aaaa_lookup_hangs_v4_starts_after_resolution_delay(v4_listener: Socket) -> None:
    dns = ScriptedDNS({"slow6.test": [("::1", 9), ("127.0.0.1", port_of(v4_listener))]})
    gate = dns.hang[("slow6.test", socket.AF_INET6)] = threading.Event()
    try:
        with Resolver(getaddrinfo=dns) as resolver:
            t0 = time.monotonic()
            result = connect_happy("slow6.test", 1, resolver=resolver)
            took = time.monotonic() - t0
    finally:
        gate.set()
    with result.sock:
        assert result.address.family == socket.AF_INET
        assert 0.045 <= took < 0.5
        check_connected(result, v4_listener)


def test_dns_timeout_counts_as_a_failed_family(v4_listener: Socket) -> None:
    dns = ScriptedDNS({"slow.test": [("127.0.0.1", port_of(v4_listener))]})
    gate6 = dns.hang[("slow.test", socket.AF_INET6)] = threading.Event()
    gate4 = dns.hang[("slow.test", socket.AF_INET)] = threading.Event()
    try:
        with Resolver(DNSDefaults(timeout=0.1), getaddrinfo=dns) as resolver:
            t0 = time.monotonic()
            with pytest.raises(HappyEyeballsError) as info:
                connect_happy("slow.test", 1, resolver=resolver)
            took = time.monotonic() - t0
    finally:
        gate6.set()
        gate4.set()
    assert 0.09 <= took < 1.0
    assert all(isinstance(e.error, Timeout) for e in info.value.errors)


def test_reactor_driven_connectors_side_by_side(v4_listener: Socket) -> None:
    dns = ScriptedDNS(
        {
            "a.test": [(BLACKHOLE_V6, 9), ("127.0.0.1", port_of(v4_listener))],
            "b.test": [("127.0.0.1", port_of(v4_listener))],
        }
    )
    cfg = HappyEyeballsDefaults(connection_attempt_delay=0.05)
    with Resolver(getaddrinfo=dns) as resolver, Reactor() as reactor:
        a = HappyEyeballsConnector(reactor, "a.test", 1, resolver=resolver, config=cfg)
        b = HappyEyeballsConnector(reactor, "b.test", 1, resolver=resolver, config=cfg)
        results: dict[str, HappyResult] = {}
        deadline = time.monotonic() + 3
        while len(results) < 2 and time.monotonic() < deadline:
            for ev in reactor.wait(0.5):
                for name, conn in (("a", a), ("b", b)):
                    if getattr(ev, "data", None) is conn:
                        res = conn.handle(ev)
                        if res is not None:
                            results[name] = res
        assert set(results) == {"a", "b"}
        assert a.finished and b.finished
        assert results["a"].address.family == socket.AF_INET
        for res in results.values():
            with res.sock:
                check_connected(res, v4_listener)
        assert len(reactor) == 0  # everything the connectors registered is gone


def test_connector_cancel_releases_everything() -> None:
    dns = ScriptedDNS({"dead.test": [(BLACKHOLE_V6, 9), ("192.0.2.1", 9)]})
    before = open_fds()
    with Resolver(getaddrinfo=dns) as resolver, Reactor() as reactor:
        conn = HappyEyeballsConnector(reactor, "dead.test", 1, resolver=resolver)
        for _ in range(5):
            for ev in reactor.wait(0.02):
                if getattr(ev, "data", None) is conn:
                    assert conn.handle(ev) is None
        conn.cancel()
        conn.cancel()
        assert conn.finished and len(reactor) == 0
        assert conn.handle(IOEvent(0, READ, conn)) is None  # late events are ignored
    assert open_fds() <= before


def test_ipv6_literal(v6_listener: Socket) -> None:
    result = connect_happy("::1", port_of(v6_listener))
    with result.sock:
        assert result.address.family == socket.AF_INET6 and result.attempts == 1
        check_connected(result, v6_listener)


def test_source_address_is_bound(v4_listener: Socket) -> None:
    result = connect_happy("127.0.0.1", port_of(v4_listener), source_address=("127.0.0.1", 0))
    with result.sock:
        assert result.sock.getsockname()[0] == "127.0.0.1"
        check_connected(result, v4_listener)


def test_source_address_of_the_wrong_family_fails_the_attempt(v4_listener: Socket) -> None:
    require_ipv6_loopback()
    with pytest.raises(HappyEyeballsError) as info:
        connect_happy("127.0.0.1", port_of(v4_listener), source_address=("::1", 0))
    assert len(info.value.errors) == 1
