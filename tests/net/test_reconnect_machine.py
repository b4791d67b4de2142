"""The Reconnector core on a fake clock with scripted connect functions."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import cast

import pytest

from sockit.errors import ConnectError, ConnectionClosed, LocalProtocolError
from sockit.limits import ReconnectDefaults
from sockit.net.backoff import CircuitBreaker, CircuitState
from sockit.net.reconnect import (
    TRANSITIONS,
    CircuitOpened,
    Connected,
    ConnectFailed,
    ConnectionLost,
    GaveUp,
    HealthCheckFailed,
    ReconnectEvent,
    Reconnector,
    ReconnectState,
    StateChanged,
    Trigger,
)
from sockit.net.tcp import Socket
from sockit.net.unix import socketpair

S = ReconnectState
FIXED = ReconnectDefaults(jitter=0.0)  # 0.1 s x2 -> 30 s, 10 attempts, circuit 5 / 60 s


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScriptedConnect:
    """Raises the scripted exceptions in order; ``None`` entries connect a socketpair."""

    def __init__(self, *script: BaseException | None, default: BaseException | None = None):
        self.script = list(script)
        self.default = default
        self.calls = 0
        self.sockets: list[Socket] = []
        self.peers: list[Socket] = []

    def __call__(self) -> Socket:
        self.calls += 1
        outcome = self.script.pop(0) if self.script else self.default
        if outcome is not None:
            raise outcome
        a, b = socketpair()
        self.sockets.append(a)
        self.peers.append(b)
        return a

    def close_all(self) -> None:
        for s in self.sockets + self.peers:
            s.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def refused(i: int = 0) -> ConnectError:
    return ConnectError(errno.ECONNREFUSED, f"refused {i}")


def changes(events: list[ReconnectEvent]) -> list[tuple[S, S, Trigger]]:
    return [(e.old, e.new, e.reason) for e in events if isinstance(e, StateChanged)]


def of(events: list[ReconnectEvent], kind: type[ReconnectEvent]) -> list[ReconnectEvent]:
    return [e for e in events if isinstance(e, kind)]


def fire(r: Reconnector, clock: FakeClock) -> list[ReconnectEvent]:
    """Advance the fake clock to the next deadline and handle it."""
    deadline = r.next_deadline()
    assert deadline is not None
    clock.now = max(clock.now, deadline)
    return r.handle_timeout()


@pytest.fixture
def scripted() -> Iterator[list[ScriptedConnect]]:
    made: list[ScriptedConnect] = []
    yield made
    for s in made:
        s.close_all()


def make(
    clock: FakeClock,
    made: list[ScriptedConnect],
    *script: BaseException | None,
    config: ReconnectDefaults = FIXED,
    **kw: object,
) -> tuple[Reconnector, ScriptedConnect]:
    connect = ScriptedConnect(*script, default=refused(99))
    made.append(connect)
    return Reconnector(connect, config=config, clock=clock, **kw), connect  # type: ignore[arg-type]


# -- the table ------------------------------------------------------------------------


def test_table_shape() -> None:
    assert set(TRANSITIONS) == set(S)
    assert TRANSITIONS[S.CLOSED] == {}
    for state, row in TRANSITIONS.items():
        if state is not S.CLOSED:
            assert row[Trigger.CLOSE] is S.CLOSED
        assert all(isinstance(t, Trigger) and isinstance(n, S) for t, n in row.items())
    # every state is reachable from DISCONNECTED
    seen, todo = {S.DISCONNECTED}, [S.DISCONNECTED]
    while todo:
        for nxt in TRANSITIONS[todo.pop()].values():
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(S)


# -- lifecycle -----------------------------------------------------------------------


def test_full_lifecycle_backoff_circuit_probe(
    clock: FakeClock, scripted: list[ScriptedConnect]
) -> None:
    r, connect = make(clock, scripted, *[refused(i) for i in range(5)], None)
    assert r.state is S.DISCONNECTED and r.next_deadline() is None
    assert r.handle_timeout() == []  # nothing armed before start()

    events = r.start()
    assert changes(events) == [
        (S.DISCONNECTED, S.CONNECTING, Trigger.START),
        (S.CONNECTING, S.BACKING_OFF, Trigger.CONNECT_FAILED),
    ]
    assert [type(e) for e in events] == [StateChanged, ConnectFailed, StateChanged]
    failed = of(events, ConnectFailed)
    assert len(failed) == 1
    assert isinstance(failed[0], ConnectFailed) and failed[0].attempt == 1
    assert failed[0].next_delay == pytest.approx(0.1)
    assert r.next_deadline() == pytest.approx(1000.1)

    clock.now = 1000.05
    assert r.handle_timeout() == []  # not due yet
    delays = []
    for _ in range(3):
        ev = fire(r, clock)
        delays += [e.next_delay for e in ev if isinstance(e, ConnectFailed)]
    assert delays == pytest.approx([0.2, 0.4, 0.8])
    assert r.attempts == 4 and r.state is S.BACKING_OFF

    ev = fire(r, clock)  # the 5th failure trips the breaker
    assert changes(ev) == [
        (S.BACKING_OFF, S.CONNECTING, Trigger.RETRY_DUE),
        (S.CONNECTING, S.CIRCUIT_OPEN, Trigger.CIRCUIT_TRIPPED),
    ]
    opened = of(ev, CircuitOpened)
    assert len(opened) == 1 and isinstance(opened[0], CircuitOpened)
    assert opened[0].until == pytest.approx(clock.now + 60.0)
    assert r.next_deadline() == pytest.approx(clock.now + 60.0)
    assert r.breaker.state is CircuitState.OPEN

    clock.now += 59.9
    assert r.handle_timeout() == [] and connect.calls == 5
    ev = fire(r, clock)  # the half-open probe succeeds
    assert changes(ev) == [
        (S.CIRCUIT_OPEN, S.HALF_OPEN, Trigger.PROBE_DUE),
        (S.HALF_OPEN, S.CONNECTED, Trigger.CONNECT_OK),
    ]
    conn = of(ev, Connected)
    assert isinstance(conn[0], Connected) and conn[0].attempt == 6
    assert conn[0].sock is r.socket is connect.sockets[0]
    assert r.state is S.CONNECTED and r.attempts == 0
    assert r.breaker.state is CircuitState.CLOSED
    assert r.next_deadline() is None  # no health check configured
    s = r.stats
    assert (s.connects, s.failures, s.reconnects, s.circuit_opens) == (1, 5, 0, 1)
    assert [c.new for c in r.history] == [
        S.CONNECTING, S.BACKING_OFF, S.CONNECTING, S.BACKING_OFF, S.CONNECTING, S.BACKING_OFF,
        S.CONNECTING, S.BACKING_OFF, S.CONNECTING, S.CIRCUIT_OPEN, S.HALF_OPEN, S.CONNECTED,
    ]  # fmt: skip


def test_probe_failure_reopens(clock: FakeClock, scripted: list[ScriptedConnect]) -> None:
    config = FIXED.replace(circuit_failure_threshold=2, circuit_reset_timeout=10.0)
    r, connect = make(clock, scripted, refused(), refused(), refused(), None, config=config)
    r.start()
    fire(r, clock)
    assert r.state is S.CIRCUIT_OPEN
    ev = fire(r, clock)
    assert changes(ev) == [
        (S.CIRCUIT_OPEN, S.HALF_OPEN, Trigger.PROBE_DUE),
        (S.HALF_OPEN, S.CIRCUIT_OPEN, Trigger.CIRCUIT_TRIPPED),
    ]
    assert r.next_deadline() == pytest.approx(clock.now + 10.0)
    assert r.stats.circuit_opens == 2
    ev = fire(r, clock)
    assert r.state is S.CONNECTED and connect.calls == 4


@pytest.mark.parametrize("limit", [1, 3])
def test_max_attempts_gives_up_at_n(
    clock: FakeClock, scripted: list[ScriptedConnect], limit: int
) -> None:
    config = FIXED.replace(max_attempts=limit, circuit_failure_threshold=100)
    r, connect = make(clock, scripted, *[refused(i) for i in range(limit)], None, config=config)
    events = r.start()
    for _ in range(limit - 1):
        assert r.state is S.BACKING_OFF  # N-1 failures: still trying
        events = fire(r, clock)
    assert r.state is S.DISCONNECTED and r.next_deadline() is None
    assert changes(events)[-1] == (S.CONNECTING, S.DISCONNECTED, Trigger.GAVE_UP)
    gave = of(events, GaveUp)
    assert isinstance(gave[0], GaveUp) and gave[0].attempts == limit
    assert str(gave[0].last_error) == f"[Errno {errno.ECONNREFUSED}] refused {limit - 1}"
    last = of(events, ConnectFailed)[-1]
    assert isinstance(last, ConnectFailed) and last.next_delay is None
    assert connect.calls == limit
    # a new round starts from attempt 1 and gets the N+1-th scripted outcome: success
    events = r.start()
    assert r.state is S.CONNECTED
    assert isinstance(of(events, Connected)[0], Connected)


def test_max_attempts_zero_means_no_limit(
    clock: FakeClock, scripted: list[ScriptedConnect]
) -> None:
    config = FIXED.replace(max_attempts=0, circuit_failure_threshold=1000, max_delay=1.0)
    r, connect = make(clock, scripted, *[refused(i) for i in range(40)], None, config=config)
    r.start()
    while r.state is not S.CONNECTED:
        fire(r, clock)
    assert connect.calls == 41 and r.stats.failures == 40


def test_loss_and_reconnect_counts_downtime(
    clock: FakeClock, scripted: list[ScriptedConnect]
) -> None:
    r, connect = make(clock, scripted, None, refused(), None)
    r.start()
    first = r.socket
    assert first is not None
    clock.now = 1010.0
    cause = ConnectionClosed(errno.ECONNRESET, "reset")
    ev = r.connection_lost(cause)
    assert changes(ev) == [(S.CONNECTED, S.BACKING_OFF, Trigger.LOST)]
    assert [type(e) for e in ev] == [ConnectionLost, StateChanged]
    lost = of(ev, ConnectionLost)
    assert isinstance(lost[0], ConnectionLost) and lost[0].exc is cause
    assert first.closed and r.socket is None
    assert r.next_deadline() == pytest.approx(1010.1)  # first-attempt delay, no busy loop
    assert r.connection_lost() == []  # not connected: no-op
    fire(r, clock)  # refused, back off 0.1
    fire(r, clock)
    assert r.state is S.CONNECTED and r.socket is connect.sockets[1]
    s = r.stats
    assert (s.connects, s.reconnects, s.losses, s.failures) == (2, 1, 1, 1)
    assert s.total_downtime == pytest.approx(0.2)


def test_close_is_final_and_idempotent(clock: FakeClock, scripted: list[ScriptedConnect]) -> None:
    r, connect = make(clock, scripted, None)
    r.start()
    sock = r.socket
    assert sock is not None
    ev = r.close()
    assert changes(ev) == [(S.CONNECTED, S.CLOSED, Trigger.CLOSE)]
    assert sock.closed and r.socket is None and r.next_deadline() is None
    assert r.close() == [] and r.start() == [] and r.connection_lost() == []
    clock.now += 1e6
    assert r.handle_timeout() == []
    assert connect.calls == 1


def test_close_while_connecting_discards_socket(
    clock: FakeClock, scripted: list[ScriptedConnect]
) -> None:
    holder: list[Reconnector] = []
    inner = ScriptedConnect(None)
    scripted.append(inner)

    def connect() -> Socket:
        sock = inner()
        holder[0].close()  # another thread's close() lands mid-connect
        return sock

    r = Reconnector(connect, config=FIXED, clock=clock)
    holder.append(r)
    events = r.start()
    assert r.state is S.CLOSED and r.socket is None
    assert inner.sockets[0].closed
    assert of(events, Connected) == []


def test_bug_in_connect_propagates(clock: FakeClock) -> None:
    def connect() -> Socket:
        raise ZeroDivisionError

    r = Reconnector(connect, config=FIXED, clock=clock)
    with pytest.raises(ZeroDivisionError):
        r.start()
    assert r.state is S.DISCONNECTED
    assert r.history[-1].reason is Trigger.ABORTED


def test_health_checks(clock: FakeClock, scripted: list[ScriptedConnect]) -> None:
    verdicts: list[bool | BaseException] = [True, False, ConnectionClosed("gone"), True]
    checked: list[Socket] = []

    def check(sock: Socket) -> bool:
        checked.append(sock)
        v = verdicts.pop(0)
        if isinstance(v, BaseException):
            raise v
        return v

    config = FIXED.replace(health_check_interval=30.0)
    r, connect = make(clock, scripted, None, None, None, config=config, health_check=check)
    r.start()
    assert r.next_deadline() == pytest.approx(1030.0)
    clock.now = 1029.0
    assert r.handle_timeout() == [] and checked == []
    assert fire(r, clock) == []  # healthy: re-armed
    assert r.next_deadline() == pytest.approx(1060.0)
    ev = fire(r, clock)  # unhealthy
    assert isinstance(of(ev, HealthCheckFailed)[0], HealthCheckFailed)
    assert changes(ev) == [(S.CONNECTED, S.BACKING_OFF, Trigger.HEALTH_CHECK_FAILED)]
    assert connect.sockets[0].closed
    fire(r, clock)  # reconnects
    assert r.socket is connect.sockets[1]
    ev = fire(r, clock)  # the check raises: also a failure, with the exception
    failed = of(ev, HealthCheckFailed)[0]
    assert isinstance(failed, HealthCheckFailed) and isinstance(failed.exc, ConnectionClosed)
    fire(r, clock)
    assert fire(r, clock) == [] and r.state is S.CONNECTED
    s = r.stats
    assert (s.health_checks, s.health_check_failures, s.losses, s.reconnects) == (2, 2, 2, 2)
    assert checked == [
        connect.sockets[0],
        connect.sockets[0],
        connect.sockets[1],
        connect.sockets[2],
    ]


def test_shared_breaker_refuses_without_connecting(
    clock: FakeClock, scripted: list[ScriptedConnect]
) -> None:
    breaker = CircuitBreaker(2, 30.0, clock=clock)
    a, _ = make(clock, scripted, refused(), refused(), breaker=breaker)
    b, connect_b = make(clock, scripted, None, breaker=breaker)
    a.start()
    fire(a, clock)
    assert a.state is S.CIRCUIT_OPEN
    ev = b.start()
    assert changes(ev) == [(S.DISCONNECTED, S.CIRCUIT_OPEN, Trigger.CIRCUIT_TRIPPED)]
    assert connect_b.calls == 0
    assert b.next_deadline() == pytest.approx(clock.now + 30.0)
    fire(b, clock)  # b takes the probe and closes the shared breaker
    assert b.state is S.CONNECTED and breaker.state is CircuitState.CLOSED
    ev = fire(a, clock)  # a's probe now runs against a closed breaker: one failure, no trip
    assert changes(ev) == [
        (S.CIRCUIT_OPEN, S.HALF_OPEN, Trigger.PROBE_DUE),
        (S.HALF_OPEN, S.BACKING_OFF, Trigger.CONNECT_FAILED),
    ]


def test_probe_taken_elsewhere_waits(clock: FakeClock, scripted: list[ScriptedConnect]) -> None:
    breaker = CircuitBreaker(1, 5.0, clock=clock)
    r, connect = make(clock, scripted, refused(), None, breaker=breaker)
    r.start()
    assert r.state is S.CIRCUIT_OPEN
    clock.now += 5.0
    assert breaker.allow()  # someone else holds the only half-open probe
    assert r.handle_timeout() == []
    assert r.state is S.CIRCUIT_OPEN and connect.calls == 1
    assert r.next_deadline() == pytest.approx(clock.now + 0.1)  # looks again later
    breaker.record_success()
    fire(r, clock)
    assert r.state is S.CONNECTED and connect.calls == 2


def test_illegal_trigger_is_local_error(clock: FakeClock) -> None:
    r = Reconnector(lambda: cast(Socket, None), config=FIXED, clock=clock)
    with pytest.raises(LocalProtocolError):
        r._move(Trigger.CONNECT_OK, [])  # DISCONNECTED has no CONNECT_OK
    assert r.state is S.DISCONNECTED
