"""ConnectionPool.accept on real loopback: per-IP caps and rates from many 127.0.0.x sources."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator

import pytest

from sockit.limits import PoolLimits
from sockit.net import Socket, TokenBucket, listen_tcp
from sockit.net.pool import ConnectionPool, PooledConnection, RefusalReason, Refused
from sockit.observe import MetricsRegistry


class FakeClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Gate:
    def __init__(self, blocked: str) -> None:
        self.blocked = blocked

    def admit(self, ip: str) -> str | None:
        return "on the deny list" if ip == self.blocked else None


@pytest.fixture
def listener() -> Iterator[Socket]:
    s = listen_tcp("127.0.0.1", 0, backlog=256)
    yield s
    s.close()


@pytest.fixture
def clients() -> Iterator[list[socket.socket]]:
    made: list[socket.socket] = []
    yield made
    for c in made:
        c.close()


def connect_from(listener: Socket, source: str, made: list[socket.socket]) -> socket.socket:
    port = int(listener.getsockname()[1])
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    made.append(s)
    return s


def accept_all(pool: ConnectionPool, listener: Socket, n: int) -> list[PooledConnection | Refused]:
    got: list[PooledConnection | Refused] = []
    while len(got) < n:
        assert listener.is_readable(5.0), f"only {len(got)} of {n} connections arrived"
        got.extend(pool.accept(listener))
    return got


def test_per_ip_cap_with_many_source_addresses(
    listener: Socket, clients: list[socket.socket]
) -> None:
    cap, per_source, sources = 3, 5, [f"127.0.0.{i}" for i in range(2, 10)]
    pool = ConnectionPool(max_per_ip=cap, registry=MetricsRegistry())
    for src in sources:
        for _ in range(per_source):
            connect_from(listener, src, clients)
    client_addrs = {c.getsockname() for c in clients}
    results = accept_all(pool, listener, len(clients))
    admitted = Counter(r.ip for r in results if isinstance(r, PooledConnection))
    refused = Counter(r.ip for r in results if isinstance(r, Refused))
    assert admitted == dict.fromkeys(sources, cap)  # N per client ...
    assert refused == dict.fromkeys(sources, per_source - cap)  # ... N+1 and on refused
    assert all(r.reason is RefusalReason.PER_IP for r in results if isinstance(r, Refused))
    for r in results:
        if isinstance(r, PooledConnection):
            assert r.peer in client_addrs and r.peer[0] == r.ip  # type: ignore[index]
            r.sock.sendall(b"OK\n", timeout=5)
    replies: Counter[bytes] = Counter()
    for c in clients:
        try:
            replies[c.recv(16)] += 1
        except ConnectionResetError:
            replies[b"reset"] += 1
    assert replies[b"OK\n"] == cap * len(sources)
    assert replies[b""] + replies[b"reset"] == (per_source - cap) * len(sources)
    for r in results:  # closing admitted ones lets the same clients in again
        if isinstance(r, PooledConnection) and r.ip == "127.0.0.2":
            pool.remove(r)
    assert pool.ip_tracker is not None and pool.ip_tracker.count("127.0.0.2") == 0
    connect_from(listener, "127.0.0.2", clients)
    again = accept_all(pool, listener, 1)
    assert isinstance(again[0], PooledConnection)
    pool.close()


def test_connection_rate_across_sources(listener: Socket, clients: list[socket.socket]) -> None:
    clock = FakeClock()
    pool = ConnectionPool(rate=TokenBucket(1, 5, clock), clock=clock, registry=MetricsRegistry())
    for i in range(12):
        connect_from(listener, f"127.0.0.{20 + i}", clients)
    results = accept_all(pool, listener, 12)
    kinds = Counter(type(r).__name__ for r in results)
    assert kinds == {"PooledConnection": 5, "Refused": 7}
    assert {r.reason for r in results if isinstance(r, Refused)} == {RefusalReason.RATE}
    clock.now += 2.0  # two tokens
    for i in range(3):
        connect_from(listener, f"127.0.0.{40 + i}", clients)
    later = accept_all(pool, listener, 3)
    assert [type(r) for r in later] == [PooledConnection, PooledConnection, Refused]
    assert pool.stats.refused["rate"] == 8
    pool.close()


def test_admission_and_batch_size_at_n_and_n_plus_1(
    listener: Socket, clients: list[socket.socket]
) -> None:
    pool = ConnectionPool(
        PoolLimits(max_batch_accept=4), admission=Gate("127.0.0.66"), registry=MetricsRegistry()
    )
    for src in ("127.0.0.61", "127.0.0.62", "127.0.0.66", "127.0.0.64", "127.0.0.65"):
        connect_from(listener, src, clients)
    assert listener.is_readable(5.0)
    # loopback connects finish in the kernel before connect() returns: all 5 are queued
    first = pool.accept(listener)
    assert len(first) == 4  # N+1 waiting: one call takes N
    rest = pool.accept(listener)
    assert len(rest) == 1
    everything = first + rest
    assert len(everything) == 5
    blocked = [r for r in everything if isinstance(r, Refused)]
    assert len(blocked) == 1
    assert (blocked[0].ip, blocked[0].reason, blocked[0].detail) == (
        "127.0.0.66",
        RefusalReason.PROTECTION,
        "on the deny list",
    )
    assert len(pool) == 4
    pool.close()
    assert len(pool) == 0
