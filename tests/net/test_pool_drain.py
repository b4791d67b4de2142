"""ConnectionPool idle cleanup and drain: fake clocks, reactor timers, threads, live traffic."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from sockit.errors import LocalProtocolError, NetworkError
from sockit.limits import PoolLimits
from sockit.net import READ, IOEvent, Reactor, TimerEvent, UnixSocket, listen_tcp, socketpair
from sockit.net.pool import (
    ConnectionIdle,
    ConnectionPool,
    DrainDeadline,
    Health,
    PoolDrained,
    PooledConnection,
    PoolState,
    RefusalReason,
    Refused,
)
from sockit.observe import MetricsRegistry
from sockit.observe.snapshot import HistogramSnapshot, SampleSnapshot


class FakeClock:
    def __init__(self, now: float = 500.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pairs() -> Iterator[list[tuple[UnixSocket, UnixSocket]]]:
    made: list[tuple[UnixSocket, UnixSocket]] = []
    yield made
    for a, b in made:
        a.close()
        b.close()


Pairs = list[tuple[UnixSocket, UnixSocket]]


def fill(pool: ConnectionPool, pairs: Pairs, n: int) -> list[PooledConnection]:
    out = []
    for _ in range(n):
        a, b = socketpair()
        pairs.append((a, b))
        c = pool.add(a)
        assert isinstance(c, PooledConnection)
        out.append(c)
    return out


def counter(reg: MetricsRegistry, name: str, **labels: str) -> float:
    s = reg.snapshot()[name].find(**labels)
    assert isinstance(s, SampleSnapshot)
    return s.value


def test_idle_cleanup_at_the_timeout_not_before(pairs: list[tuple[UnixSocket, UnixSocket]]) -> None:
    clock = FakeClock()
    reg = MetricsRegistry()
    pool = ConnectionPool(PoolLimits(idle_timeout=30.0), clock=clock, registry=reg, name="idle")
    quiet, busy = fill(pool, pairs, 2)
    clock.now += 29.999
    assert pool.cleanup_idle() == []
    busy.touch()
    clock.now += 0.001  # quiet: exactly idle_timeout
    events = pool.cleanup_idle()
    assert events == [ConnectionIdle(quiet)]
    assert quiet.sock.closed and not busy.sock.closed
    assert list(pool) == [busy]
    clock.now += 29.0
    assert pool.cleanup_idle() == []
    clock.now += 1.0
    assert [e.conn for e in pool.cleanup_idle()] == [busy]
    assert len(pool) == 0
    assert counter(reg, "sockit_pool_closed_total", pool="idle", reason="idle") == 2
    assert pool.stats.closed_by["idle"] == 2


def test_handle_timeout_runs_cleanup_every_interval(pairs: Pairs) -> None:
    clock = FakeClock(0.0)
    pool = ConnectionPool(
        PoolLimits(idle_timeout=5.0, cleanup_interval=10.0), clock=clock, registry=MetricsRegistry()
    )
    assert pool.next_deadline() is None  # nothing to clean
    (c,) = fill(pool, pairs, 1)
    assert pool.next_deadline() == 10.0
    clock.now = 9.0
    assert pool.handle_timeout() == []  # idle already, but cleanup is not due
    assert c in pool
    clock.now = 10.0
    assert pool.handle_timeout() == [ConnectionIdle(c)]
    assert pool.next_deadline() is None


def test_schedule_fires_a_reactor_timer_whose_data_is_the_pool(
    pairs: list[tuple[UnixSocket, UnixSocket]],
) -> None:
    clock = FakeClock(0.0)
    with Reactor(clock=clock) as reactor:
        pool = ConnectionPool(
            PoolLimits(idle_timeout=5.0, cleanup_interval=10.0),
            clock=clock,
            registry=MetricsRegistry(),
        )
        (c,) = fill(pool, pairs, 1)
        reactor.register(c.sock, READ, data=c)
        timer = pool.schedule(reactor)
        assert timer.repeat == 10.0
        clock.now = 10.0
        events = reactor.wait(0)
        assert [type(e) for e in events] == [TimerEvent]
        assert isinstance(events[0], TimerEvent) and events[0].data is pool
        assert pool.handle_timer() == [ConnectionIdle(c)]
        assert c.sock not in reactor  # unregistered before it was closed
        pool.close()
        assert timer.cancelled and pool.state is PoolState.STOPPED
    with pytest.raises(LocalProtocolError):
        ConnectionPool(registry=MetricsRegistry()).schedule()


def test_drain_deadline_force_closes_and_reports_drained_once(
    pairs: list[tuple[UnixSocket, UnixSocket]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(100.0)
    reg = MetricsRegistry()
    pool = ConnectionPool(clock=clock, registry=reg, name="d")
    conns = fill(pool, pairs, 4)
    with caplog.at_level(logging.DEBUG, logger="sockit.net.pool"):
        pool.drain(30.0)
        assert pool.state is PoolState.DRAINING and pool.health is Health.DRAINING
        a, b = socketpair()
        pairs.append((a, b))
        refused = pool.add(a)
        assert isinstance(refused, Refused) and refused.reason is RefusalReason.DRAINING
        pool.remove(conns[0])  # a connection that finished its work
        clock.now += 29.9
        assert pool.check_drain() == []
        progress = pool.drain_progress
        assert (progress.remaining, progress.closed_since_drain) == (3, 1)
        assert (progress.started, progress.deadline) == (100.0, 130.0)
        clock.now = 130.0
        assert pool.check_drain() == [DrainDeadline(3), PoolDrained(30.0)]
        assert pool.check_drain() == []  # once
        assert pool.handle_timer() == []
    assert all(c.sock.closed for c in conns)
    assert pool.state is PoolState.STOPPED and pool.health is Health.STOPPED
    assert pool.drain_progress.closed_since_drain == 4
    pool.drain(5.0)  # stopped: nothing happens
    assert pool.state is PoolState.STOPPED
    assert counter(reg, "sockit_pool_closed_total", pool="d", reason="drain") == 1
    assert counter(reg, "sockit_pool_closed_total", pool="d", reason="forced") == 3
    assert counter(reg, "sockit_pool_refused_total", pool="d", reason="draining") == 1
    hist = reg.snapshot()["sockit_pool_drain_seconds"].find(pool="d")
    assert isinstance(hist, HistogramSnapshot) and (hist.count, hist.sum) == (1, 30.0)
    levels = {r.getMessage(): r.levelno for r in caplog.records}
    assert levels["pool draining"] == logging.INFO
    assert levels["drain deadline passed; connections closed by force"] == logging.WARNING
    assert levels["pool drained"] == logging.INFO


def test_drain_that_empties_in_time_has_no_deadline_event(
    pairs: list[tuple[UnixSocket, UnixSocket]],
) -> None:
    clock = FakeClock(0.0)
    pool = ConnectionPool(clock=clock, registry=MetricsRegistry())
    conns = fill(pool, pairs, 2)
    pool.drain(10.0)
    pool.drain(20.0)  # never extends
    assert pool.drain_progress.deadline == 10.0
    pool.drain(4.0)  # but may shorten
    assert pool.drain_progress.deadline == 4.0
    clock.now = 1.0
    for c in conns:
        pool.remove(c)
    clock.now = 2.0
    assert pool.next_deadline() == 4.0
    assert pool.check_drain() == [PoolDrained(2.0)]
    assert pool.stats.closed_by == {"idle": 0, "drain": 2, "forced": 0, "removed": 0}


def test_empty_pool_drains_at_once_and_bad_timeouts() -> None:
    pool = ConnectionPool(clock=FakeClock(7.0), registry=MetricsRegistry())
    for bad in (-1, float("nan"), float("inf"), "1", True):
        with pytest.raises(LocalProtocolError):
            pool.drain(bad)  # type: ignore[arg-type]
    assert pool.state is PoolState.RUNNING
    pool.drain(0)
    assert pool.check_drain() == [PoolDrained(0.0)]


def test_drain_from_another_thread_wakes_the_reactor() -> None:
    with Reactor() as reactor:
        pool = ConnectionPool(PoolLimits(cleanup_interval=30.0), registry=MetricsRegistry())
        pool.schedule(reactor)
        timer = threading.Timer(0.02, pool.drain, args=(1.0,))
        timer.start()
        t0 = time.monotonic()
        reactor.wait(5.0)
        elapsed = time.monotonic() - t0
        timer.join()
        assert elapsed < 2.0
        assert pool.draining
        assert [type(e) for e in pool.check_drain()] == [PoolDrained]


def test_stats_and_health_from_other_threads_while_the_loop_churns(
    pairs: list[tuple[UnixSocket, UnixSocket]],
) -> None:
    pool = ConnectionPool(PoolLimits(max_connections=64), max_per_ip=64, registry=MetricsRegistry())
    socks = []
    for _ in range(64):
        a, b = socketpair()
        pairs.append((a, b))
        socks.append(a)
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                s = pool.stats
                assert 0 <= s.active <= 64
                assert pool.health in Health
                seen.append(s.active)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for round_ in range(150):
            for i, sock in enumerate(socks):
                assert isinstance(pool.add(sock, peer=("10.0.0.1", i)), PooledConnection)
            for sock in socks:
                assert pool.remove(sock, close=False)
            assert len(pool) == 0, round_
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert not errors
    assert seen
    s = pool.stats
    assert (s.created, s.closed, s.active) == (150 * 64, 150 * 64, 0)
    assert pool.ip_tracker is not None and len(pool.ip_tracker) == 0


# -- drain with live traffic ------------------------------------------------------------


class LineServer:
    """A PING/PONG line server on the reactor and a pool, for the live drain test."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.listener = listen_tcp("127.0.0.1", 0, backlog=256)
        self.reactor = Reactor()
        self.pool = pool
        pool.schedule(self.reactor)
        self.reactor.register(self.listener, READ, data=self.listener)
        self.inbox: dict[int, bytes] = {}
        self.events: list[object] = []

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def run(self, limit: float = 20.0) -> None:
        end = time.monotonic() + limit
        listening = True
        while time.monotonic() < end:
            for ev in self.reactor.wait(0.5):
                if isinstance(ev, TimerEvent):
                    self.events.extend(self.pool.handle_timer())
                elif isinstance(ev, IOEvent) and ev.data is self.listener:
                    for item in self.pool.accept(self.listener):
                        if isinstance(item, PooledConnection):
                            self.reactor.register(item.sock, READ, data=item)
                elif isinstance(ev, IOEvent) and isinstance(ev.data, PooledConnection):
                    self.serve(ev.data)
            if self.pool.draining and listening:
                self.reactor.unregister(self.listener)  # stop accepting
                listening = False
            drained = self.pool.check_drain()
            self.events.extend(drained)
            if any(isinstance(e, PoolDrained) for e in drained):
                break
        self.reactor.close()
        self.listener.close()

    def serve(self, conn: PooledConnection) -> None:
        buf = conn.recv_buffer
        try:
            n = conn.sock.try_recv_into(buf)
        except NetworkError:
            self.pool.remove(conn)
            return
        if n is None:
            return
        if n == 0:
            self.pool.remove(conn)
            return
        conn.record_received(n)
        data = self.inbox.pop(conn.fd, b"") + bytes(buf[:n])
        *lines, rest = data.split(b"\n")
        self.inbox[conn.fd] = rest
        out = b""
        quit_ = False
        for line in lines:
            if line == b"QUIT":
                out += b"BYE\n"
                quit_ = True
                break
            out += b"PONG " + line[5:] + b"\n" if line.startswith(b"PING ") else b"ERR\n"
        if out:
            conn.sock.sendall(out, timeout=5.0)
            conn.record_sent(len(out))
        if quit_:
            self.inbox.pop(conn.fd, None)
            self.pool.remove(conn)


def test_drain_with_live_traffic_loses_nothing() -> None:
    reg = MetricsRegistry()
    pool = ConnectionPool(PoolLimits(cleanup_interval=0.05), registry=reg, name="live")
    server = LineServer(pool)
    n_clients, n_pings = 12, 40
    connected = threading.Barrier(n_clients + 1)
    draining = threading.Event()
    results: dict[int, list[bytes]] = {}
    failures: list[BaseException] = []

    def client(i: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                f = s.makefile("rb")
                got = []
                for k in range(n_pings):
                    s.sendall(f"PING {i}-{k}\n".encode())
                    got.append(f.readline())
                    if k == 0:
                        connected.wait(timeout=10)  # every client is in the pool
                    if k == n_pings // 2:
                        draining.wait(timeout=10)  # the rest runs while the pool drains
                s.sendall(b"QUIT\n")
                got.append(f.readline())
                assert f.readline() == b""  # the server closed after BYE
                results[i] = got
        except BaseException as exc:
            failures.append(exc)

    def drainer() -> None:
        connected.wait(timeout=10)
        pool.drain(10.0)
        draining.set()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
    threads.append(threading.Thread(target=drainer))
    for t in threads:
        t.start()
    server.run()
    for t in threads:
        t.join(timeout=15)
    assert not failures, failures
    assert len(results) == n_clients
    for i, got in results.items():
        assert got == [f"PONG {i}-{k}\n".encode() for k in range(n_pings)] + [b"BYE\n"]
    assert pool.state is PoolState.STOPPED
    assert [type(e) for e in server.events] == [PoolDrained]
    stats = pool.stats
    assert stats.created == n_clients and stats.closed == n_clients
    assert stats.closed_by["forced"] == 0
    assert counter(reg, "sockit_pool_closed_total", pool="live", reason="forced") == 0
