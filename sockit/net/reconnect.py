"""Keep one connection up: backoff, a circuit breaker, health checks, transparent I/O.

A :class:`Reconnector` owns the sockets its ``connect`` callable returns. Its
core is driven like a sans-I/O machine: time is passed in, nothing is called
back, and every driving call (:meth:`~Reconnector.start`,
:meth:`~Reconnector.handle_timeout`, :meth:`~Reconnector.connection_lost`,
:meth:`~Reconnector.close`) returns the events it caused, state changes
included. A reactor loop arms a timer at :meth:`~Reconnector.next_deadline`
and calls ``handle_timeout`` when it fires. The one exception to "no I/O" is
that ``connect`` and ``health_check`` run inside those calls: they are the
caller's functions, and they run without the lock held, so :meth:`close`
from another thread never waits for them.

States and the triggers that move between them live in one table,
``TRANSITIONS``; anything not in it is a bug and raises
:class:`~sockit.errors.LocalProtocolError`::

    DISCONNECTED -start-> CONNECTING -ok-> CONNECTED -lost/health-> BACKING_OFF
    CONNECTING -fail-> BACKING_OFF -due-> CONNECTING
    CONNECTING -threshold-> CIRCUIT_OPEN -reset timeout-> HALF_OPEN (the probe)
    HALF_OPEN -ok-> CONNECTED     HALF_OPEN -fail-> CIRCUIT_OPEN
    CONNECTING/HALF_OPEN -max_attempts-> DISCONNECTED     any -close-> CLOSED

Choices callers depend on:

* ``attempts`` counts consecutive failed connects; a success resets it.
  ``max_attempts`` (``0``: no limit) failures in a row give up (back to
  ``DISCONNECTED``; :meth:`~Reconnector.start` begins a new round).
* A lost connection waits one first-attempt backoff delay before reconnecting,
  so a peer that accepts and drops at once cannot cause a busy loop.
* Only :class:`~sockit.errors.SockitError` and :class:`OSError` from
  ``connect`` count as failed attempts; anything else is a bug in the callable
  and propagates (the state returns to ``DISCONNECTED``).

The blocking helpers (:meth:`~Reconnector.ensure_connected`,
:meth:`~Reconnector.send`, :meth:`~Reconnector.recv`) sleep through backoff.
Their delivery guarantee is **at most once**: ``send`` resends a message on a
new connection only if *zero* bytes of it were written to the old one, and
bytes the kernel accepted on a connection that then died are lost without a
trace (TCP cannot tell). Use application-level acknowledgements when that
matters. ``recv`` reconnects and keeps reading, so a stream boundary is lost:
what arrives next comes from a new conversation. One thread does the I/O;
:meth:`~Reconnector.close` may come from any thread.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import deque
from collections.abc import Callable

from sockit.errors import (
    ConnectError,
    ConnectionClosed,
    LocalProtocolError,
    NetworkError,
    Phase,
    SockitError,
)
from sockit.limits import ReconnectDefaults
from sockit.net._oserror import Buffer, byte_view, check_size, check_timeout, timed_out
from sockit.net._reconnect_state import (
    TRANSITIONS,
    CircuitOpened,
    Connected,
    ConnectFailed,
    ConnectionLost,
    GaveUp,
    HealthCheckFailed,
    ReconnectEvent,
    ReconnectState,
    ReconnectStats,
    SendInterrupted,
    StateChanged,
    Trigger,
)
from sockit.net.backoff import Backoff, CircuitBreaker, CircuitOpen, CircuitState
from sockit.net.tcp import Socket

__all__ = [
    "TRANSITIONS",
    "CircuitOpened",
    "ConnectFailed",
    "Connected",
    "ConnectionLost",
    "GaveUp",
    "HealthCheckFailed",
    "ReconnectEvent",
    "ReconnectState",
    "ReconnectStats",
    "Reconnector",
    "SendInterrupted",
    "StateChanged",
    "Trigger",
]

_HISTORY = 64  # state changes kept for inspection
_MIN_RECHECK = 0.01  # seconds; floor for re-checking a breaker someone else holds open


class Reconnector:
    """One logical connection that comes back after failures (see the module docs)."""

    def __init__(
        self,
        connect: Callable[[], Socket],
        *,
        config: ReconnectDefaults | None = None,
        health_check: Callable[[Socket], bool] | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._connect = connect
        self._config = config if config is not None else ReconnectDefaults()
        self._health_check = health_check
        self._backoff = Backoff.from_defaults(self._config, rng)
        self._breaker = breaker or CircuitBreaker.from_defaults(self._config, clock)
        self._clock = clock
        self._sleep = sleep  # None: wait on a condition that close() interrupts
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._generation = 0  # bumped on every transition
        self._state = ReconnectState.DISCONNECTED
        self._sock: Socket | None = None
        self._deadline: float | None = None
        self._attempts = 0
        self._last_error: BaseException | None = None
        self._down_since: float | None = None
        self._stats = ReconnectStats()
        self._history: deque[StateChanged] = deque(maxlen=_HISTORY)

    def __repr__(self) -> str:
        return f"<Reconnector {self._state.value} attempts={self._attempts}>"

    def __enter__(self) -> Reconnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- inspection -----------------------------------------------------------

    @property
    def state(self) -> ReconnectState:
        """The current state."""
        return self._state

    @property
    def socket(self) -> Socket | None:
        """The connected socket, or ``None`` when not ``CONNECTED``."""
        return self._sock

    @property
    def attempts(self) -> int:
        """Consecutive failed connects in the current round."""
        return self._attempts

    @property
    def last_error(self) -> BaseException | None:
        """The exception of the most recent failed connect."""
        return self._last_error

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker (pass one in to share it between reconnectors)."""
        return self._breaker

    @property
    def stats(self) -> ReconnectStats:
        """A snapshot of the counters."""
        with self._lock:
            return dataclasses.replace(self._stats)

    @property
    def history(self) -> list[StateChanged]:
        """The last state changes (at most 64), oldest first, whoever caused them."""
        with self._lock:
            return list(self._history)

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must be called: retry, probe or health check."""
        return self._deadline

    # -- the driven core --------------------------------------------------------

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    def _move(self, trigger: Trigger, events: list[ReconnectEvent]) -> None:
        """Apply ``trigger`` through the table (lock held)."""
        new = TRANSITIONS[self._state].get(trigger)
        if new is None:
            raise LocalProtocolError(f"reconnector: {trigger.value} is illegal in {self._state}")
        change = StateChanged(self._state, new, trigger)
        self._state = new
        self._generation += 1
        self._history.append(change)
        events.append(change)
        self._changed.notify_all()

    def start(self, now: float | None = None) -> list[ReconnectEvent]:
        """Begin a round of connect attempts (no-op unless ``DISCONNECTED``)."""
        return self._attempt(self._now(now), Trigger.START)

    def handle_timeout(self, now: float | None = None) -> list[ReconnectEvent]:
        """Do what is due at ``now``: a retry, a half-open probe or a health check."""
        now = self._now(now)
        with self._lock:
            if self._deadline is None or now < self._deadline:
                return []
            state = self._state
            if state is ReconnectState.CONNECTED:
                sock = self._sock
                self._deadline = None  # nobody else runs the check meanwhile
            probe = state is ReconnectState.CIRCUIT_OPEN
            trigger = Trigger.PROBE_DUE if probe else Trigger.RETRY_DUE
        if state is ReconnectState.CONNECTED:
            assert sock is not None
            return self._check_health(sock, now)
        return self._attempt(now, trigger)

    def _attempt(self, now: float, trigger: Trigger) -> list[ReconnectEvent]:
        events: list[ReconnectEvent] = []
        with self._lock:
            # re-checked under the lock: another thread may have acted since the caller looked
            if trigger is Trigger.START:
                if self._state is not ReconnectState.DISCONNECTED:
                    return events
                self._attempts = 0
            elif (
                trigger not in TRANSITIONS[self._state]
                or self._deadline is None
                or now < self._deadline
            ):
                return events
            if not self._breaker.allow(now):
                if self._state is ReconnectState.CIRCUIT_OPEN:
                    # a shared breaker is probing elsewhere: look again later
                    wait = max(self._breaker.retry_after(now), self._backoff.initial, _MIN_RECHECK)
                    self._deadline = now + wait
                else:
                    self._open_circuit(now, events)
                return events
            self._move(trigger, events)
            self._deadline = None
            attempt = self._attempts + 1
        try:
            sock = self._connect()
        except (SockitError, OSError) as exc:
            return self._failed(exc, attempt, max(now, self._clock()), events)
        except BaseException:
            with self._lock:  # a bug in connect, or KeyboardInterrupt: do not stay CONNECTING
                if self._state is not ReconnectState.CLOSED:
                    self._breaker.record_failure(now)
                    self._move(Trigger.ABORTED, [])
                    self._deadline = None
            raise
        return self._succeeded(sock, attempt, max(now, self._clock()), events)

    def _succeeded(
        self, sock: Socket, attempt: int, now: float, events: list[ReconnectEvent]
    ) -> list[ReconnectEvent]:
        with self._lock:
            if self._state is ReconnectState.CLOSED:  # closed while connecting
                sock.close()
                return events
            self._breaker.record_success(now)
            self._move(Trigger.CONNECT_OK, events)
            self._sock = sock
            self._attempts = 0
            self._stats.connects += 1
            if self._stats.connects > 1:
                self._stats.reconnects += 1
            if self._down_since is not None:
                self._stats.total_downtime += max(0.0, now - self._down_since)
                self._down_since = None
            if self._health_check is not None:
                self._deadline = now + self._config.health_check_interval
            events.append(Connected(sock, attempt))
            return events

    def _failed(
        self, exc: BaseException, attempt: int, now: float, events: list[ReconnectEvent]
    ) -> list[ReconnectEvent]:
        with self._lock:
            if self._state is ReconnectState.CLOSED:
                return events
            self._attempts = attempt
            self._last_error = exc
            self._stats.failures += 1
            if self._down_since is None:
                self._down_since = now
            self._breaker.record_failure(now)
            limit = self._config.max_attempts
            # events in cause order: the failure, the state change, its consequence
            if limit and attempt >= limit:
                events.append(ConnectFailed(exc, attempt, None))
                self._move(Trigger.GAVE_UP, events)
                self._deadline = None
                events.append(GaveUp(attempt, exc))
            elif self._breaker.state_at(now) is CircuitState.OPEN:
                events.append(ConnectFailed(exc, attempt, None))
                self._open_circuit(now, events)
            else:
                delay = self._backoff.delay(attempt)
                events.append(ConnectFailed(exc, attempt, delay))
                self._move(Trigger.CONNECT_FAILED, events)
                self._deadline = now + delay
            return events

    def _open_circuit(self, now: float, events: list[ReconnectEvent]) -> None:
        """Enter CIRCUIT_OPEN until the breaker allows a probe (lock held)."""
        self._move(Trigger.CIRCUIT_TRIPPED, events)
        until = now + max(self._breaker.retry_after(now), _MIN_RECHECK)
        self._deadline = until
        self._stats.circuit_opens += 1
        events.append(CircuitOpened(until))

    def _check_health(self, sock: Socket, now: float) -> list[ReconnectEvent]:
        check = self._health_check
        assert check is not None
        try:
            healthy, error = bool(check(sock)), None
        except (SockitError, OSError) as exc:
            healthy, error = False, exc
        events: list[ReconnectEvent] = []
        with self._lock:
            if self._state is not ReconnectState.CONNECTED or self._sock is not sock:
                return events  # closed or lost while checking
            if healthy:
                self._stats.health_checks += 1
                self._deadline = now + self._config.health_check_interval
                return events
            self._stats.health_check_failures += 1
            events.append(HealthCheckFailed(error))
            self._drop(error, now, Trigger.HEALTH_CHECK_FAILED, events)
        return events

    def _drop(
        self, exc: BaseException | None, now: float, trigger: Trigger, events: list[ReconnectEvent]
    ) -> None:
        """Close the socket and back off before reconnecting (lock held, CONNECTED)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._stats.losses += 1
        self._down_since = now
        events.append(ConnectionLost(exc))
        self._move(trigger, events)
        self._deadline = now + self._backoff.delay(1)

    def connection_lost(
        self, exc: BaseException | None = None, now: float | None = None
    ) -> list[ReconnectEvent]:
        """Tell the machine the connection died (no-op unless ``CONNECTED``)."""
        now = self._now(now)
        events: list[ReconnectEvent] = []
        with self._lock:
            if self._state is ReconnectState.CONNECTED:
                self._drop(exc, now, Trigger.LOST, events)
        return events

    def close(self) -> list[ReconnectEvent]:
        """Close the socket and stop for good; wakes blocking callers. Idempotent."""
        events: list[ReconnectEvent] = []
        with self._lock:
            if self._state is ReconnectState.CLOSED:
                return events
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            self._move(Trigger.CLOSE, events)
            self._deadline = None
        return events

    # -- blocking helpers ---------------------------------------------------------

    def _pause(self, seconds: float | None) -> None:
        """Sleep ``seconds`` (None: until the state changes); close() cuts it short."""
        if self._sleep is not None:
            self._sleep(_MIN_RECHECK if seconds is None else seconds)
            return
        with self._changed:
            generation = self._generation
            self._changed.wait_for(lambda: self._generation != generation, seconds)

    def _left(self, end: float | None) -> float | None:
        return None if end is None else max(0.0, end - self._clock())

    def ensure_connected(self, timeout: float | None = None) -> Socket:
        """The connected socket, connecting and sleeping through backoff as needed.

        Raises :class:`~sockit.net.backoff.CircuitOpen` at once while the
        circuit is open, :class:`~sockit.errors.ConnectError` (from the last
        failure) when ``max_attempts`` run out, :class:`~sockit.errors.Timeout`
        (phase ``connect``) as soon as the next attempt would start after
        ``timeout``, and :class:`~sockit.errors.ConnectionClosed` once closed.
        ``timeout`` does not cut short a ``connect`` call in progress.
        """
        budget = check_timeout(timeout)
        end = None if budget is None else self._clock() + budget
        tried = False
        while True:
            now = self._clock()
            with self._lock:
                state, deadline, sock = self._state, self._deadline, self._sock
                if state is ReconnectState.CLOSED:
                    raise ConnectionClosed("reconnector is closed")
                if state is ReconnectState.CONNECTED and (deadline is None or now < deadline):
                    assert sock is not None
                    return sock
                if state is ReconnectState.DISCONNECTED and tried:
                    raise ConnectError(
                        f"gave up after {self._config.max_attempts} attempts: {self._last_error}"
                    ) from self._last_error
                if state is ReconnectState.CIRCUIT_OPEN and deadline is not None and now < deadline:
                    raise CircuitOpen(
                        f"circuit open after {self._attempts} failures: {self._last_error}",
                        retry_after=deadline - now,
                    ) from self._last_error
            if state is ReconnectState.DISCONNECTED:
                tried = True
                self.start(now)
            elif deadline is not None and now >= deadline:
                tried = True
                self.handle_timeout(now)
            else:
                wait = None if deadline is None else deadline - now  # None: connecting elsewhere
                if end is not None:
                    if (wait is None and now >= end) or (wait is not None and now + wait > end):
                        raise timed_out(Phase.CONNECT, "reconnect", budget) from self._last_error
                    if wait is None:
                        wait = end - now
                self._pause(wait)

    def _write(
        self, sock: Socket, view: memoryview, end: float | None
    ) -> tuple[int, NetworkError | None]:
        sent = 0
        try:
            while sent < len(view):
                sent += sock.send(view[sent:], timeout=self._left(end))
        except NetworkError as exc:
            self.connection_lost(exc)
            return sent, exc
        return sent, None

    def send(self, data: Buffer, *, timeout: float | None = None) -> None:
        """Send all of ``data``, reconnecting first if needed (at most once: module docs).

        If the connection fails before any byte went out, the whole message is
        sent once more on a new connection; if it fails part-way,
        :class:`SendInterrupted` says how much went out. A
        :class:`~sockit.errors.Timeout` is raised as is and is not a loss.
        """
        view = byte_view(data)
        budget = check_timeout(timeout)
        end = None if budget is None else self._clock() + budget
        sock = self.ensure_connected(self._left(end))
        if not sock.probe():  # the peer already closed: do not write into the void
            self.connection_lost(ConnectionClosed("peer closed the connection"))
            sock = self.ensure_connected(self._left(end))
        for final in (False, True):
            sent, exc = self._write(sock, view, end)
            if exc is None:
                return
            if sent or final:
                raise SendInterrupted(
                    f"connection lost after {sent} of {len(view)} bytes: {exc}",
                    sent=sent,
                    total=len(view),
                ) from exc
            sock = self.ensure_connected(self._left(end))

    def recv(self, n: int, *, timeout: float | None = None) -> bytes:
        """Up to ``n`` bytes, reconnecting on EOF or a broken connection (module docs).

        Gives up with :class:`~sockit.errors.ConnectionClosed` after
        ``max_attempts`` reconnects within one call (``0``: no limit); a
        :class:`~sockit.errors.Timeout` is raised as is.
        """
        check_size(n, "n")
        if n == 0:
            return b""
        budget = check_timeout(timeout)
        end = None if budget is None else self._clock() + budget
        limit = self._config.max_attempts
        drops = 0
        while True:
            sock = self.ensure_connected(self._left(end))
            error: NetworkError | None = None
            try:
                data = sock.recv(n, timeout=self._left(end))
            except NetworkError as exc:
                error, data = exc, b""
            if data:
                return data
            self.connection_lost(error)
            drops += 1
            if limit and drops > limit:
                raise ConnectionClosed(f"connection lost {drops} times in one recv") from error
