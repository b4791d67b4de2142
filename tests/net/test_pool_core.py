"""ConnectionPool core: add/get/remove, buffers and free list, refusals, stats, metrics, 10k."""

from __future__ import annotations

import logging
import resource
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError
from sockit.limits import PoolLimits
from sockit.net import READ, Reactor, TokenBucket, UnixSocket, socketpair
from sockit.net.iptrack import IPTracker
from sockit.net.pool import (
    ConnectionPool,
    Health,
    PooledConnection,
    PoolState,
    RefusalReason,
    Refused,
)
from sockit.observe import MetricsRegistry
from sockit.observe.snapshot import SampleSnapshot


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Gate:
    """A fake admission gate: refuses the addresses in ``blocked``, records every ask."""

    def __init__(self, *blocked: str) -> None:
        self.blocked = set(blocked)
        self.asked: list[str] = []

    def admit(self, ip: str) -> str | None:
        self.asked.append(ip)
        return "blocked by test" if ip in self.blocked else None


@pytest.fixture
def pairs() -> Iterator[list[tuple[UnixSocket, UnixSocket]]]:
    made: list[tuple[UnixSocket, UnixSocket]] = []
    yield made
    for a, b in made:
        a.close()
        b.close()


def make(pairs: list[tuple[UnixSocket, UnixSocket]]) -> UnixSocket:
    a, b = socketpair()
    pairs.append((a, b))
    return a


def value(reg: MetricsRegistry, name: str, **labels: str) -> float:
    series = reg.snapshot()[name].find(**labels)
    assert isinstance(series, SampleSnapshot)
    return series.value


Pairs = list[tuple[UnixSocket, UnixSocket]]


def test_add_get_remove_by_socket_fd_and_connection(pairs: Pairs) -> None:
    clock = FakeClock()
    pool = ConnectionPool(clock=clock, registry=MetricsRegistry())
    s1, s2 = make(pairs), make(pairs)
    c1 = pool.add(s1, data="one")
    c2 = pool.add(s2, data="two", peer=("192.0.2.1", 4000))
    assert isinstance(c1, PooledConnection) and isinstance(c2, PooledConnection)
    assert (c1.ip, c2.ip, c2.peer) == (None, "192.0.2.1", ("192.0.2.1", 4000))
    assert len(pool) == 2
    assert pool.get(s1) is c1 and pool.get(s2.fileno()) is c2
    assert s1 in pool and c2 in pool and s2.fileno() in pool and "x" not in pool
    assert set(pool) == {c1, c2}
    assert pool.find(lambda c: c.data == "two") is c2
    assert pool.filter(lambda c: c.ip is None) == [c1]
    with pytest.raises(LocalProtocolError):
        pool.add(s1)  # already pooled
    assert pool.remove(s1) is True
    assert s1.closed
    assert pool.remove(s1) is False  # closed and gone: found by identity, not removed twice
    assert pool.get(s1) is None and len(pool) == 1
    assert pool.remove(c2, close=False) is True
    assert not s2.closed
    with pytest.raises(LocalProtocolError):
        pool.add(s1)  # closed socket


def test_buffers_are_lazy_and_reused_through_the_free_list(
    pairs: list[tuple[UnixSocket, UnixSocket]],
) -> None:
    pool = ConnectionPool(PoolLimits(buffer_size=512), registry=MetricsRegistry())
    c = pool.add(make(pairs))
    assert isinstance(c, PooledConnection)
    assert pool.stats.free_buffers == 0
    rb = c.recv_buffer
    assert len(rb) == 512 and c.recv_buffer is rb
    rb[:5] = b"hello"
    sb = c.send_buffer
    assert sb is not rb
    pool.remove(c)
    with pytest.raises(LocalProtocolError):
        _ = c.recv_buffer  # the connection left: its buffers are gone
    assert pool.stats.free_buffers == 2
    c2 = pool.add(make(pairs))
    assert isinstance(c2, PooledConnection)
    reused = c2.recv_buffer
    assert reused is rb or reused is sb
    assert reused == bytes(512)  # zeroed before reuse
    stats = pool.stats
    assert stats.buffer_reuse_rate == pytest.approx(1 / 3)


def test_prewarm_shrink_and_free_list_bound(pairs: Pairs) -> None:
    limits = PoolLimits(max_connections=4, buffer_size=512)
    pool = ConnectionPool(limits, registry=MetricsRegistry())
    assert pool.prewarm(3) == 6
    assert pool.prewarm(100) == 8  # at most two buffers per possible connection
    c = pool.add(make(pairs))
    assert isinstance(c, PooledConnection)
    _ = c.recv_buffer
    assert pool.stats.free_buffers == 7
    assert pool.stats.buffer_reuse_rate == 1.0
    assert pool.shrink(keep=2) == 5
    assert pool.shrink() == 2
    assert pool.stats.free_buffers == 0
    with pytest.raises(LocalProtocolError):
        pool.prewarm(-1)


def test_full_at_n_and_n_plus_1_and_resize(pairs: list[tuple[UnixSocket, UnixSocket]]) -> None:
    reg = MetricsRegistry()
    pool = ConnectionPool(PoolLimits(max_connections=3), registry=reg, name="p")
    conns = [pool.add(make(pairs)) for _ in range(3)]
    assert all(isinstance(c, PooledConnection) for c in conns)
    extra = make(pairs)
    refused = pool.add(extra)
    assert refused == Refused(None, RefusalReason.FULL, "", "")
    assert not extra.closed  # add() leaves a refused socket to the caller
    pool.resize(4)
    assert isinstance(pool.add(extra), PooledConnection)
    pool.resize(2)  # lower than held: nothing is closed, new ones refused
    assert len(pool) == 4
    assert isinstance(pool.add(make(pairs)), Refused)
    with pytest.raises(ValueError):
        pool.resize(0)
    assert pool.limits.max_connections == 2
    assert value(reg, "sockit_pool_refused_total", pool="p", reason="full") == 2
    assert value(reg, "sockit_pool_accepted_total", pool="p") == 4
    assert value(reg, "sockit_pool_connections", pool="p") == 4


def test_per_ip_cap_at_n_and_n_plus_1_and_release_on_remove(
    pairs: list[tuple[UnixSocket, UnixSocket]],
) -> None:
    pool = ConnectionPool(max_per_ip=2, registry=MetricsRegistry())
    peer = ("198.51.100.9", 1)
    a = pool.add(make(pairs), peer=peer)
    b = pool.add(make(pairs), peer=("::ffff:198.51.100.9", 2))  # same client
    c = pool.add(make(pairs), peer=peer)
    assert isinstance(a, PooledConnection) and isinstance(b, PooledConnection)
    assert isinstance(c, Refused) and c.reason is RefusalReason.PER_IP and c.ip == "198.51.100.9"
    assert isinstance(pool.add(make(pairs), peer=("198.51.100.10", 1)), PooledConnection)
    assert isinstance(pool.add(make(pairs)), PooledConnection)  # Unix peer: no per-IP cap
    pool.remove(a)
    assert pool.ip_tracker is not None and pool.ip_tracker.count("198.51.100.9") == 1
    assert isinstance(pool.add(make(pairs), peer=peer), PooledConnection)
    assert pool.stats.refused["per_ip"] == 1


def test_shared_tracker_and_conflicting_arguments() -> None:
    tracker = IPTracker(max_per_ip=1)
    p1 = ConnectionPool(ip_tracker=tracker, registry=MetricsRegistry())
    p2 = ConnectionPool(ip_tracker=tracker, registry=MetricsRegistry())
    a, b = socketpair()
    c, d = socketpair()
    try:
        assert isinstance(p1.add(a, peer=("10.1.1.1", 1)), PooledConnection)
        refused = p2.add(c, peer=("10.1.1.1", 2))
        assert isinstance(refused, Refused) and refused.reason is RefusalReason.PER_IP
    finally:
        for s in (a, b, c, d):
            s.close()
    with pytest.raises(ValueError):
        ConnectionPool(ip_tracker=tracker, max_per_ip=3)


def test_rate_limit_on_a_fake_clock_and_degraded_health(
    pairs: list[tuple[UnixSocket, UnixSocket]],
) -> None:
    clock = FakeClock()
    pool = ConnectionPool(
        PoolLimits(max_connections=100),
        rate=TokenBucket(2, 3, clock),
        max_per_ip=10,
        clock=clock,
        registry=MetricsRegistry(),
    )
    peer = ("10.0.0.1", 1)
    assert all(isinstance(pool.add(make(pairs), peer=peer), PooledConnection) for _ in range(3))
    assert pool.health is Health.HEALTHY
    refused = pool.add(make(pairs), peer=peer)  # burst of 3 spent: N+1 refused
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.RATE
    assert pool.ip_tracker is not None and pool.ip_tracker.count("10.0.0.1") == 3  # not counted
    assert pool.health is Health.DEGRADED
    clock.now += 0.5  # one token
    assert isinstance(pool.add(make(pairs), peer=peer), PooledConnection)
    assert isinstance(pool.add(make(pairs), peer=peer), Refused)
    clock.now += 11.0  # refusals are old news
    assert pool.health is Health.HEALTHY


def test_health_degraded_at_ninety_percent(pairs: list[tuple[UnixSocket, UnixSocket]]) -> None:
    pool = ConnectionPool(PoolLimits(max_connections=10), registry=MetricsRegistry())
    for _ in range(8):
        pool.add(make(pairs))
    assert pool.health is Health.HEALTHY
    pool.add(make(pairs))
    assert pool.health is Health.DEGRADED


def test_admission_sees_every_attempt_first(pairs: list[tuple[UnixSocket, UnixSocket]]) -> None:
    gate = Gate("203.0.113.66")
    pool = ConnectionPool(PoolLimits(max_connections=1), admission=gate, registry=MetricsRegistry())
    refused = pool.add(make(pairs), peer=("203.0.113.66", 9))
    assert isinstance(refused, Refused)
    assert (refused.reason, refused.detail) == (RefusalReason.PROTECTION, "blocked by test")
    assert isinstance(pool.add(make(pairs), peer=("203.0.113.1", 9)), PooledConnection)
    full = pool.add(make(pairs), peer=("203.0.113.2", 9))
    assert isinstance(full, Refused) and full.reason is RefusalReason.FULL
    assert gate.asked == ["203.0.113.66", "203.0.113.1", "203.0.113.2"]
    pool.add(make(pairs))  # a Unix peer has no IP to ask about
    assert len(gate.asked) == 3


def test_refusals_are_logged_at_debug(
    pairs: list[tuple[UnixSocket, UnixSocket]], caplog: pytest.LogCaptureFixture
) -> None:
    pool = ConnectionPool(PoolLimits(max_connections=1), registry=MetricsRegistry(), name="logs")
    pool.add(make(pairs))
    with caplog.at_level(logging.DEBUG, logger="sockit.net.pool"):
        pool.add(make(pairs))
    rec = [r for r in caplog.records if r.getMessage() == "connection refused"]
    assert len(rec) == 1 and rec[0].levelno == logging.DEBUG
    assert rec[0].sockit_fields["reason"] == "full"  # type: ignore[attr-defined]


def test_stats_counts_ages_and_churn(pairs: list[tuple[UnixSocket, UnixSocket]]) -> None:
    clock = FakeClock(0.0)
    limits = PoolLimits(cleanup_interval=10.0)
    pool = ConnectionPool(limits, clock=clock, registry=MetricsRegistry())
    a = pool.add(make(pairs))
    clock.now = 4.0
    b = pool.add(make(pairs))
    assert isinstance(a, PooledConnection) and isinstance(b, PooledConnection)
    clock.now = 12.0
    b.record_received(100)
    b.record_sent(40)
    assert (b.bytes_in, b.bytes_out, b.last_activity) == (100, 40, 12.0)
    s = pool.stats
    assert (s.active, s.idle, s.peak, s.created, s.closed, s.available) == (2, 1, 2, 2, 0, 998)
    assert s.average_age == pytest.approx((12 + 8) / 2)
    assert pool.remove(a)
    clock.now = 20.0
    s = pool.stats
    assert (s.active, s.closed, s.closed_by["removed"]) == (1, 1, 1)
    assert s.churn_per_second == pytest.approx(3 / 20)
    assert s.state is PoolState.RUNNING
    pool.reset_stats()
    s = pool.stats
    assert (s.created, s.closed, s.peak, s.churn_per_second) == (0, 0, 1, 0.0)


def test_remove_unregisters_from_the_attached_reactor(
    pairs: list[tuple[UnixSocket, UnixSocket]],
) -> None:
    with Reactor() as reactor:
        pool = ConnectionPool(reactor=reactor, registry=MetricsRegistry())
        s = make(pairs)
        c = pool.add(s)
        reactor.register(s, READ, data=c)
        pool.remove(c)
        assert s not in reactor and len(reactor) == 0
        s2 = make(pairs)  # may reuse the fd number: registering must work
        reactor.register(s2, READ)
        assert s2 in reactor


def _ensure_fds(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {need}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def test_ten_thousand_connections() -> None:
    n = 10_000
    _ensure_fds(n + 1000)
    reg = MetricsRegistry()
    pool = ConnectionPool(
        PoolLimits(max_connections=n, buffer_size=512), max_per_ip=1, registry=reg, name="big"
    )
    socks: list[UnixSocket] = []
    try:
        for i in range(n):
            a, b = socketpair()
            b.close()  # only the pooled end is kept: n fds, not 2n
            socks.append(a)
            peer = (f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}", 1)
            assert isinstance(pool.add(a, peer=peer, data=i), PooledConnection)
        assert len(pool) == n
        with pytest.raises(LocalProtocolError):
            pool.add(socks[0])  # already pooled
        extra, other = socketpair()
        with extra, other:  # N+1
            refused = pool.add(extra, peer=("10.200.0.1", 1))
            assert isinstance(refused, Refused) and refused.reason is RefusalReason.FULL
        for i in range(0, n, 97):  # identity by socket and by fd
            c = pool.get(socks[i])
            assert c is not None and c.data == i and pool.get(socks[i].fileno()) is c
        evens = [pool.get(s) for s in socks[::2]]
        assert all(c is not None and len(c.recv_buffer) == 512 for c in evens)
        assert all(pool.remove(s) for s in socks[::2])  # half of them leave
        assert len(pool) == n // 2
        assert pool.stats.free_buffers == n // 2  # every buffer back on the free list
        c = pool.get(socks[1])
        assert c is not None
        _ = c.send_buffer
        assert pool.stats.free_buffers == n // 2 - 1  # served from it
        assert pool.ip_tracker is not None and len(pool.ip_tracker) == n // 2
        assert sum(1 for _ in pool) == n // 2
        assert all(pool.get(s) is None for s in socks[::2])
        assert all(pool.get(s) is not None for s in socks[1::2])
        assert pool.force_close() == n // 2
        assert len(pool) == 0 and all(s.closed for s in socks)
        assert value(reg, "sockit_pool_closed_total", pool="big", reason="forced") == n // 2
        assert value(reg, "sockit_pool_connections", pool="big") == 0
    finally:
        for s in socks:
            s.close()


OPS = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "buffer", "idle", "tick"]), st.integers(0, 7)),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_random_operations_keep_the_books_straight(ops: list[tuple[str, int]]) -> None:
    clock = FakeClock(0.0)
    limits = PoolLimits(max_connections=5, buffer_size=512, idle_timeout=3.0)
    pool = ConnectionPool(limits, max_per_ip=2, clock=clock, registry=MetricsRegistry())
    socks = [socketpair() for _ in range(8)]
    try:
        for op, i in ops:
            sock = socks[i][0]
            peer = (f"10.0.0.{i % 3}", i)
            if op == "add" and not sock.closed and sock not in pool:
                before = pool.ip_tracker.count(peer[0]) if pool.ip_tracker else 0
                result = pool.add(sock, peer=peer)
                if isinstance(result, Refused):
                    assert result.reason in (RefusalReason.FULL, RefusalReason.PER_IP)
                    assert len(pool) == 5 or before == 2
            elif op == "remove":
                was_in = sock in pool
                assert pool.remove(sock) is was_in
                assert sock.closed or not was_in
            elif op == "buffer" and (c := pool.get(sock)) is not None:
                assert len(c.recv_buffer) == 512
            elif op == "idle":
                for ev in pool.cleanup_idle():
                    assert ev.conn.sock.closed and ev.conn not in pool
            else:
                clock.now += 1.0
            held = list(pool)
            stats = pool.stats
            assert stats.active == len(held) == stats.created - stats.closed <= 5
            assert stats.free_buffers <= 10
            assert all(not c.sock.closed and pool.get(c.sock) is c for c in held)
            tracker = pool.ip_tracker
            assert tracker is not None
            for k in range(3):
                ip = f"10.0.0.{k}"
                assert tracker.count(ip) == sum(1 for c in held if c.ip == ip) <= 2
    finally:
        for a, b in socks:
            a.close()
            b.close()
