"""A connection pool for servers built on the reactor: admission, buffers, idle, drain.

::

    pool = ConnectionPool(PoolLimits(max_connections=5000), max_per_ip=20)
    pool.schedule(reactor)                       # idle cleanup on a reactor timer
    for ev in reactor.wait(1.0):
        if ev.data is listener:
            for item in pool.accept(listener):   # PooledConnection | Refused
                if isinstance(item, PooledConnection):
                    reactor.register(item.sock, READ, data=item)
        elif isinstance(ev, TimerEvent) and ev.data is pool:
            for pe in pool.handle_timer():       # ConnectionIdle, DrainDeadline, PoolDrained
                ...

Nothing here calls user code. Limits and refusals are return values
(:class:`Refused`), idle and drain outcomes are events returned by
:meth:`ConnectionPool.cleanup_idle`, :meth:`~ConnectionPool.check_drain`,
:meth:`~ConnectionPool.handle_timer` and :meth:`~ConnectionPool.handle_timeout`.

Decisions callers depend on:

* **Admission order.** A new connection is checked for DRAINING (the pool is
  not running), then PROTECTION (the ``admission`` gate sees every attempt, so
  a flood is scored even while the pool is full), FULL, PER_IP and last RATE
  (so a client refused by its own cap does not spend the global rate's tokens).
  :meth:`~ConnectionPool.add` leaves a refused socket open for the caller;
  :meth:`~ConnectionPool.accept` closes it.
* **Closing.** The pool closes a connection it drops (idle, forced, or
  ``remove(close=True)``) and, if it knows the reactor (``reactor=`` or
  :meth:`~ConnectionPool.schedule`), unregisters the socket first.
* **Draining.** :meth:`~ConnectionPool.drain` stops admission; connections
  already in finish their work and the caller removes them as usual. While
  the pool drains, call :meth:`~ConnectionPool.check_drain` after each batch of
  events (O(1) until the pool is empty or the deadline passes): it reports
  :class:`PoolDrained` exactly once, after force-closing whatever is left at the
  deadline (:class:`DrainDeadline`). The pool is then STOPPED for good.
* **Threads.** The pool belongs to the reactor's thread. ``stats``, ``health``,
  ``drain_progress``, ``state``, ``drain()`` and ``len()`` may be called from
  any thread (an admin or signal thread); one lock guards the tables and
  counters they read.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator

from sockit._closing import Closing
from sockit.errors import LocalProtocolError, NetworkError
from sockit.limits import PoolLimits
from sockit.net._pool_metrics import PoolMetrics
from sockit.net._pool_state import DEGRADED_WINDOW, DrainState, PoolCounters
from sockit.net._pool_types import (
    Admission,
    CloseReason,
    ConnectionIdle,
    DrainDeadline,
    DrainProgress,
    Health,
    PoolDrained,
    PooledConnection,
    PoolEvent,
    PoolState,
    PoolStats,
    RefusalReason,
    Refused,
    _BufferFreeList,
)
from sockit.net.iptrack import IPTracker
from sockit.net.ratelimit import TokenBucket
from sockit.net.reactor import Reactor
from sockit.net.tcp import Socket
from sockit.net.timers import Timer
from sockit.observe import REGISTRY, MetricsRegistry, get_logger, log_event

__all__ = [
    "DEGRADED_FILL",
    "DEGRADED_WINDOW",
    "Admission",
    "CloseReason",
    "ConnectionIdle",
    "ConnectionPool",
    "DrainDeadline",
    "DrainProgress",
    "Health",
    "PoolDrained",
    "PoolEvent",
    "PoolState",
    "PoolStats",
    "PooledConnection",
    "RefusalReason",
    "Refused",
]

#: Health is DEGRADED from this share of ``max_connections`` in use.
DEGRADED_FILL = PoolLimits().degraded_fill

_log = get_logger("net.pool")


def _peer_ip(peer: object) -> str | None:
    """The host part of an IPv4/IPv6 peer address; None for Unix sockets."""
    if isinstance(peer, tuple) and peer and isinstance(peer[0], str) and peer[0]:
        return peer[0]
    return None


class ConnectionPool(Closing):
    """Holds a server's connections: O(1) by socket, with admission, buffers and drain.

    ``limits`` bounds the pool (:class:`~sockit.limits.PoolLimits`). ``rate`` is
    a connection-rate :class:`~sockit.net.ratelimit.TokenBucket` (one token per
    admitted connection). ``max_per_ip`` caps connections per client through
    an :class:`~sockit.net.iptrack.IPTracker` (or pass ``ip_tracker`` to share
    one, with its own cap, between pools). ``admission`` is asked about every
    client first (see :class:`Admission`). ``reactor`` lets the pool unregister
    sockets before closing them. ``clock`` drives idle, drain and statistics;
    ``registry`` and ``name`` place the metrics (``pool`` label).
    """

    def __init__(
        self,
        limits: PoolLimits | None = None,
        *,
        rate: TokenBucket | None = None,
        max_per_ip: int | None = None,
        ip_tracker: IPTracker | None = None,
        admission: Admission | None = None,
        reactor: Reactor | None = None,
        clock: Callable[[], float] = time.monotonic,
        registry: MetricsRegistry | None = None,
        name: str = "pool",
    ) -> None:
        if max_per_ip is not None and ip_tracker is not None:
            raise ValueError("give max_per_ip or ip_tracker (with its own cap), not both")
        self._limits = limits if limits is not None else PoolLimits()
        self._tracker = ip_tracker if max_per_ip is None else IPTracker(max_per_ip=max_per_ip)
        self._rate = rate
        self._admission = admission
        self._reactor = reactor
        self._timer: Timer | None = None
        self._clock = clock
        self.name = name
        self._metrics = PoolMetrics(registry if registry is not None else REGISTRY, name)
        self._lock = threading.Lock()
        self._conns: dict[int, PooledConnection] = {}  # by fd
        self._by_obj: dict[int, PooledConnection] = {}  # by id(sock), for closed sockets
        self._buffers = _BufferFreeList(self._limits.buffer_size, 2 * self._limits.max_connections)
        self._drain = DrainState()
        now = clock()
        self._counters = PoolCounters(now)
        self._next_cleanup = now + self._limits.cleanup_interval

    def __repr__(self) -> str:
        return (
            f"<ConnectionPool {self.name!r} {self._drain.state.value} "
            f"{len(self._conns)}/{self._limits.max_connections}>"
        )

    # -- introspection ---------------------------------------------------------------

    @property
    def limits(self) -> PoolLimits:
        """The bounds in force (``resize`` replaces ``max_connections``)."""
        return self._limits

    @property
    def ip_tracker(self) -> IPTracker | None:
        """The per-client counter, if a per-IP cap is configured."""
        return self._tracker

    @property
    def state(self) -> PoolState:
        """RUNNING, DRAINING or STOPPED."""
        return self._drain.state

    @property
    def draining(self) -> bool:
        """True between drain() and the PoolDrained event."""
        return self._drain.state is PoolState.DRAINING

    def __len__(self) -> int:
        """Connections held now."""
        return len(self._conns)

    def __iter__(self) -> Iterator[PooledConnection]:
        """The connections held now (a snapshot: removing while iterating is fine)."""
        with self._lock:
            return iter(list(self._conns.values()))

    def __contains__(self, item: object) -> bool:
        """Whether ``item`` (a PooledConnection, socket or fd) is in the pool."""
        return self._lookup(item) is not None

    def get(self, sock_or_fd: Socket | int) -> PooledConnection | None:
        """The pooled connection of a socket (or fd), or None. O(1)."""
        return self._lookup(sock_or_fd)

    def _lookup(self, item: object) -> PooledConnection | None:
        if isinstance(item, PooledConnection):
            return item if self._conns.get(item.fd) is item else None
        if isinstance(item, int) and not isinstance(item, bool):
            return self._conns.get(item)
        conn = self._by_obj.get(id(item))
        if conn is not None and conn.sock is item:
            return conn
        return None

    def find(self, predicate: Callable[[PooledConnection], bool]) -> PooledConnection | None:
        """The first connection ``predicate`` accepts, or None."""
        return next((c for c in self if predicate(c)), None)

    def filter(self, predicate: Callable[[PooledConnection], bool]) -> list[PooledConnection]:
        """Every connection ``predicate`` accepts."""
        return [c for c in self if predicate(c)]

    # -- admission -------------------------------------------------------------------

    def add(
        self, sock: Socket, *, data: object = None, peer: object = None
    ) -> PooledConnection | Refused:
        """Admit ``sock`` and return its PooledConnection, or a Refused saying why.

        ``peer`` defaults to ``sock.getpeername()`` (a NetworkError if the peer
        is already gone). A refused socket is left open: the caller may still
        write a "busy" line before closing it. Adding a closed socket or one
        already pooled is a LocalProtocolError.
        """
        fd = sock.fileno()
        if fd < 0:
            raise LocalProtocolError(f"{sock!r} is closed")
        if fd in self._conns:
            raise LocalProtocolError(f"{sock!r} (fd {fd}) is already in the pool")
        if peer is None:
            peer = sock.getpeername()
        ip = _peer_ip(peer)
        refusal = self._admit(ip, peer)
        if refusal is not None:
            return refusal
        now = self._clock()
        conn = PooledConnection(
            sock, fd, peer, ip, now, now, data, _clock=self._clock, _buffers=self._buffers
        )
        with self._lock:
            self._conns[fd] = conn
            self._by_obj[id(sock)] = conn
            active = len(self._conns)
            self._counters.admitted(active)
        self._metrics.admitted(active)
        return conn

    def _admit(self, ip: str | None, peer: object) -> Refused | None:
        if self._drain.state is not PoolState.RUNNING:
            return self._refuse(ip, peer, RefusalReason.DRAINING)
        if ip is not None and self._admission is not None:
            verdict = self._admission.admit(ip)
            if verdict is not None:
                return self._refuse(ip, peer, RefusalReason.PROTECTION, verdict)
        if len(self._conns) >= self._limits.max_connections:
            return self._refuse(ip, peer, RefusalReason.FULL)
        tracker = self._tracker if ip is not None else None
        if tracker is not None and ip is not None and not tracker.track(ip):
            return self._refuse(ip, peer, RefusalReason.PER_IP)
        if self._rate is not None and not self._rate.try_acquire():
            if tracker is not None and ip is not None:
                tracker.release(ip)
            return self._refuse(ip, peer, RefusalReason.RATE)
        return None

    def _refuse(
        self, ip: str | None, peer: object, reason: RefusalReason, detail: str = ""
    ) -> Refused:
        now = self._clock()
        with self._lock:
            self._counters.refused_one(reason, now)
        self._metrics.refused(reason)
        log_event(
            _log, logging.DEBUG, "connection refused",
            pool=self.name, ip=ip, reason=reason.value, detail=detail,
        )
        return Refused(ip, reason, peer, detail)

    def accept(self, listener: Socket) -> list[PooledConnection | Refused]:
        """Accept every waiting connection (up to ``limits.max_batch_accept``) and add it.

        Refused sockets are closed here. A connection that is reset before its
        peer address can be read is closed and left out of the list.
        """
        out: list[PooledConnection | Refused] = []
        for sock in listener.accept_batch(self._limits.max_batch_accept):
            try:
                peer = sock.getpeername()
            except NetworkError:
                sock.close()
                continue
            result = self.add(sock, peer=peer)
            if isinstance(result, Refused):
                sock.close()
            out.append(result)
        return out

    # -- removal ---------------------------------------------------------------------

    def remove(self, item: PooledConnection | Socket | int, *, close: bool = True) -> bool:
        """Take a connection out of the pool (closing it unless ``close=False``).

        Its buffers go back to the free list and its client's count goes down.
        Returns False (and does nothing) if it is not in the pool.
        """
        conn = self._lookup(item)
        if conn is None:
            return False
        reason = CloseReason.DRAIN if self.draining else CloseReason.REMOVED
        return self._discard(conn, reason, close)

    def _discard(self, conn: PooledConnection, reason: CloseReason, close: bool) -> bool:
        with self._lock:
            if self._conns.get(conn.fd) is not conn:
                return False
            del self._conns[conn.fd]
            del self._by_obj[id(conn.sock)]
            self._counters.closed_one(reason)
            self._drain.count_close()
            active = len(self._conns)
        conn._give_back()
        if conn.ip is not None and self._tracker is not None:
            self._tracker.release(conn.ip)
        if close:
            reactor = self._reactor
            if reactor is not None and not reactor.closed and conn.sock in reactor:
                reactor.unregister(conn.sock)
            conn.sock.close()
        self._metrics.closed(reason, active)
        return True

    def _close_all(self, reason: CloseReason) -> int:
        with self._lock:
            conns = list(self._conns.values())
        return sum(self._discard(c, reason, True) for c in conns)

    def force_close(self) -> int:
        """Close every connection now; returns how many were closed."""
        n = self._close_all(CloseReason.FORCED)
        if n:
            log_event(_log, logging.WARNING, "connections closed by force", pool=self.name, count=n)
        return n

    def cleanup_idle(self, now: float | None = None) -> list[ConnectionIdle]:
        """Close and remove connections silent for ``limits.idle_timeout`` or longer."""
        if now is None:
            now = self._clock()
        cutoff = now - self._limits.idle_timeout
        with self._lock:
            idle = [c for c in self._conns.values() if c.last_activity <= cutoff]
            self._next_cleanup = now + self._limits.cleanup_interval
        events = [ConnectionIdle(c) for c in idle if self._discard(c, CloseReason.IDLE, True)]
        if events:
            log_event(_log, logging.DEBUG, "idle connections closed", pool=self.name,
                      count=len(events))
        return events

    # -- draining --------------------------------------------------------------------

    def drain(self, timeout: float) -> None:
        """Stop admitting; connections left after ``timeout`` seconds get force-closed.

        Safe from any thread (it wakes the attached reactor). Calling it again
        while draining can only bring the deadline closer; after STOPPED it
        does nothing.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (
            math.isfinite(timeout) and timeout >= 0
        ):
            raise LocalProtocolError(f"drain timeout must be a finite number >= 0, not {timeout!r}")
        with self._lock:
            started = self._drain.begin(self._clock(), timeout)
            remaining = len(self._conns)
        if started:
            log_event(_log, logging.INFO, "pool draining", pool=self.name,
                      connections=remaining, timeout=timeout)
        reactor = self._reactor
        if reactor is not None:
            reactor.wakeup()

    @property
    def drain_progress(self) -> DrainProgress:
        """How far a drain has got (safe from any thread)."""
        with self._lock:
            return self._drain.progress(len(self._conns))

    def check_drain(self, now: float | None = None) -> list[PoolEvent]:
        """While draining: PoolDrained once empty; at the deadline force-close the rest.

        Returns ``[]`` when there is nothing to report (O(1)); at the deadline
        ``[DrainDeadline(n), PoolDrained(duration)]``. PoolDrained comes once.
        """
        if self._drain.state is not PoolState.DRAINING:
            return []
        if now is None:
            now = self._clock()
        if self._conns and not self._drain.past_deadline(now):
            return []
        events: list[PoolEvent] = []
        if self._conns:
            forced = self._close_all(CloseReason.FORCED)
            log_event(_log, logging.WARNING, "drain deadline passed; connections closed by force",
                      pool=self.name, count=forced)
            events.append(DrainDeadline(forced))
        with self._lock:
            duration = self._drain.finish(now)
            closed = self._drain.closed
        if duration is None:  # another thread finished it
            return events
        self._metrics.drained(duration)
        log_event(_log, logging.INFO, "pool drained", pool=self.name,
                  seconds=round(duration, 6), closed=closed)
        events.append(PoolDrained(duration))
        return events

    @property
    def health(self) -> Health:
        """HEALTHY, DEGRADED (>= 90% full, or refusing by rate/capacity), DRAINING, STOPPED."""
        now = self._clock()
        with self._lock:
            state = self._drain.state
            full = len(self._conns) >= self._limits.degraded_fill * self._limits.max_connections
            pressure = self._counters.under_pressure(now, self._limits.degraded_window)
        if state is PoolState.STOPPED:
            return Health.STOPPED
        if state is PoolState.DRAINING:
            return Health.DRAINING
        return Health.DEGRADED if full or pressure else Health.HEALTHY

    # -- timers ----------------------------------------------------------------------

    def schedule(self, reactor: Reactor | None = None) -> Timer:
        """Attach ``reactor`` and add a repeating idle-cleanup timer whose data is the pool.

        On its TimerEvent call :meth:`handle_timer`. Call from the reactor's thread.
        """
        if reactor is not None:
            self._reactor = reactor
        if self._reactor is None:
            raise LocalProtocolError("schedule() needs a reactor")
        if self._timer is not None:
            self._timer.cancel()
        interval = self._limits.cleanup_interval
        self._timer = self._reactor.add_timer(interval, data=self, repeat=interval)
        return self._timer

    def handle_timer(self, now: float | None = None) -> list[PoolEvent]:
        """The cleanup timer fired: close idle connections, then check a drain."""
        if now is None:
            now = self._clock()
        events: list[PoolEvent] = list(self.cleanup_idle(now))
        events.extend(self.check_drain(now))
        return events

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` has work next (None: nothing pending).

        For loops that size their ``wait()`` timeout themselves instead of
        using :meth:`schedule`.
        """
        deadline = self._drain.deadline
        if self._drain.state is PoolState.DRAINING and deadline is not None:
            return min(deadline, self._next_cleanup)
        return self._next_cleanup if self._conns else None

    def handle_timeout(self, now: float | None = None) -> list[PoolEvent]:
        """Run what is due now: idle cleanup (every cleanup_interval) and the drain check."""
        if now is None:
            now = self._clock()
        events: list[PoolEvent] = []
        if now >= self._next_cleanup:
            events.extend(self.cleanup_idle(now))
        events.extend(self.check_drain(now))
        return events

    # -- capacity --------------------------------------------------------------------

    def prewarm(self, n: int) -> int:
        """Allocate buffers for ``n`` connections ahead of time; returns free buffers."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise LocalProtocolError(f"prewarm(n) needs an integer >= 0, not {n!r}")
        self._buffers.prewarm(2 * n)
        return len(self._buffers)

    def resize(self, max_connections: int) -> None:
        """Change ``max_connections``; connections over a lower bound stay until they go."""
        limits = self._limits.replace(max_connections=max_connections)  # validated
        with self._lock:
            self._limits = limits
            self._buffers.max_free = 2 * max_connections
        self._buffers.trim(self._buffers.max_free)

    def shrink(self, keep: int = 0) -> int:
        """Free idle buffers beyond ``keep``; returns how many were released."""
        return self._buffers.trim(max(0, keep))

    # -- statistics ------------------------------------------------------------------

    @property
    def stats(self) -> PoolStats:
        """A snapshot of the counters (O(connections) for idle and age; any thread)."""
        now = self._clock()
        buffers = self._buffers
        with self._lock:
            return self._counters.snapshot(
                list(self._conns.values()),
                now=now,
                state=self._drain.state,
                max_connections=self._limits.max_connections,
                quiet_after=self._limits.cleanup_interval,
                free_buffers=len(buffers),
                buffer_hits=buffers.hits,
                buffer_misses=buffers.misses,
            )

    def reset_stats(self) -> None:
        """Start a new measurement window (counters to zero, peak to the current count)."""
        with self._lock:
            self._counters = PoolCounters(self._clock(), len(self._conns))
            self._buffers.hits = self._buffers.misses = 0

    # -- lifetime --------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection, cancel the timer and stop for good. Idempotent."""
        self._close_all(CloseReason.FORCED)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        with self._lock:
            self._drain.state = PoolState.STOPPED
