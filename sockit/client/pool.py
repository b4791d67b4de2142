"""A thread-safe keep-alive pool of client connections, keyed by origin.

Rules (bounds from :class:`sockit.limits.ClientLimits`):

* A connection belongs either to the pool (idle) or to exactly one request.
  Every live connection counts against ``max_connections_per_host`` for its
  origin ``(scheme, host, port)`` and against ``max_connections`` overall,
  from the moment its slot is reserved (before connecting) until it closes.
* Idle connections are reused last-in first-out (the most recently used is
  the most likely to still be open). One that has been idle longer than
  ``pool_idle_timeout``, or that is readable while idle (the server closed
  it, reset it, or sent bytes nobody asked for), is closed instead.
* When the per-host or total bound is reached, :meth:`ConnectionPool.acquire`
  waits on a condition variable until a connection is released or closed,
  up to the request's deadline (then :class:`~sockit.errors.Timeout` in
  phase ``pool``). When only the total bound is in the way and another
  origin has an idle connection, the oldest such connection is closed to
  make room rather than waiting.

Sockets are opened and closed outside the lock; the lock only guards the
bookkeeping.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from sockit.client.connection import HTTPConnection
from sockit.client.timeouts import Deadlines
from sockit.errors import LocalProtocolError, Phase, Timeout
from sockit.limits import ClientLimits
from sockit.observe import REGISTRY
from sockit.proto.http.url import Origin

__all__ = ["ConnectionPool", "PoolStats"]

_monotonic: Final = time.monotonic
_SWEEP_EVERY: Final = 1.0

_OPENED = REGISTRY.counter(
    "sockit_client_connections_opened_total", "Connections the HTTP client opened"
)
_REUSED = REGISTRY.counter(
    "sockit_client_connections_reused_total", "Requests sent on a pooled keep-alive connection"
)
_POOL_TIMEOUTS = REGISTRY.counter(
    "sockit_client_pool_timeouts_total", "Requests that timed out waiting for a pool slot"
)
_POOL_WAITS = REGISTRY.counter(
    "sockit_client_pool_waits_total", "Times a request waited for a pool slot"
)
_POOL_CONNECTIONS = REGISTRY.gauge(
    "sockit_client_pool_connections", "Live client connections, by state", ("state",)
)
_ACTIVE = _POOL_CONNECTIONS.labels("active")
_IDLE = _POOL_CONNECTIONS.labels("idle")


def _moved(*, total: int = 0, idle: int = 0) -> None:
    """Keep the gauges in step: active = total - idle, summed over every client's pool."""
    if idle:
        _IDLE.inc(idle)
    if total - idle:
        _ACTIVE.inc(total - idle)

Opener = Callable[[Origin, Deadlines], HTTPConnection]


class PoolStats:
    """A snapshot of the pool's bookkeeping (for tests and diagnostics)."""

    __slots__ = ("connections", "idle", "per_origin")

    def __init__(self, connections: int, idle: int, per_origin: dict[Origin, int]) -> None:
        #: Live connections (idle, in use, or being opened).
        self.connections = connections
        #: Idle connections waiting in the pool.
        self.idle = idle
        #: Live connections per origin.
        self.per_origin = per_origin

    def __repr__(self) -> str:
        return f"PoolStats(connections={self.connections}, idle={self.idle})"


class ConnectionPool:
    """Hands out connections per origin; see the module docstring for the rules."""

    def __init__(self, limits: ClientLimits, opener: Opener) -> None:
        self._per_host = limits.max_connections_per_host
        self._max = limits.max_connections
        self._idle_timeout = limits.pool_idle_timeout
        self._max_age = limits.max_connection_age
        self._opener = opener
        self._cond = threading.Condition(threading.Lock())
        self._idle: dict[Origin, list[HTTPConnection]] = {}
        self._count: dict[Origin, int] = {}
        self._total = 0
        self._idle_total = 0
        self._closed = False
        self._next_sweep = _monotonic() + _SWEEP_EVERY
        # origins of connections closed by finalizers, uncounted under the lock later
        self._orphans: deque[Origin] = deque()
        self._waiters = 0  # threads in _take's wait: notify only when there are some

    # -- taking -------------------------------------------------------------

    def acquire(
        self, origin: Origin, dl: Deadlines, *, fresh: bool = False
    ) -> tuple[HTTPConnection, bool]:
        """A connection to ``origin`` and whether it was reused from the pool.

        ``fresh`` asks for a new connection: idle ones are not used (when they
        fill the per-host bound, the oldest is closed to make room).
        """
        while True:
            conn, evicted = self._take(origin, dl.total, fresh)
            if evicted is not None:
                evicted.close()
            if conn is None:
                break
            now = _monotonic()
            if (
                now - conn.idle_since <= self._idle_timeout
                and now - conn.created <= self._max_age
                and conn.looks_reusable()
            ):
                _REUSED.inc()
                return conn, True
            self.discard(conn)
        try:
            conn = self._opener(origin, dl)
        except BaseException:
            self._forget(origin)
            raise
        _OPENED.inc()
        return conn, False

    def _take(
        self, origin: Origin, deadline: float | None, fresh: bool
    ) -> tuple[HTTPConnection | None, HTTPConnection | None]:
        """Under the lock: ``(idle connection, None)`` or ``(None, evicted)`` after reserving."""
        with self._cond:
            while True:
                if self._closed:
                    raise LocalProtocolError("the HTTP client is closed")
                self._drain_orphans()
                stack = self._idle.get(origin)
                if fresh:
                    if stack and self._count[origin] >= self._per_host:
                        oldest = stack[0]
                        self._unlink(oldest)
                        self._reserve(origin, self._count.get(origin, 0))
                        return None, oldest
                elif stack:
                    idle = stack.pop()
                    self._idle_total -= 1
                    _moved(idle=-1)
                    if not stack:
                        del self._idle[origin]
                    return idle, None
                count = self._count.get(origin, 0)
                if count < self._per_host:
                    if self._total < self._max:
                        self._reserve(origin, count)
                        return None, None
                    victim = self._oldest_idle()
                    if victim is not None:
                        self._unlink(victim)
                        self._reserve(origin, count)
                        return None, victim
                left = _SWEEP_EVERY if deadline is None else deadline - _monotonic()
                if left <= 0:
                    _POOL_TIMEOUTS.inc()
                    raise Timeout(
                        f"no free connection to {origin} before the request's deadline "
                        f"({self._per_host} per host, {self._max} in all)",
                        phase=Phase.POOL,
                    )
                # finalizers cannot notify (they must not take the lock), so
                # waits are sliced to pick up their orphans
                self._waiters += 1
                _POOL_WAITS.inc()
                try:
                    self._cond.wait(min(left, _SWEEP_EVERY))
                finally:
                    self._waiters -= 1

    def _reserve(self, origin: Origin, count: int) -> None:
        self._count[origin] = count + 1
        self._total += 1
        _moved(total=+1)

    def _oldest_idle(self) -> HTTPConnection | None:
        oldest: HTTPConnection | None = None
        for stack in self._idle.values():
            if stack and (oldest is None or stack[0].idle_since < oldest.idle_since):
                oldest = stack[0]
        return oldest

    def _unlink(self, conn: HTTPConnection) -> None:
        """Under the lock: remove an idle connection from its stack and the counts."""
        stack = self._idle[conn.origin]
        stack.remove(conn)
        if not stack:
            del self._idle[conn.origin]
        self._idle_total -= 1
        _moved(idle=-1)
        self._uncount(conn.origin)

    def _uncount(self, origin: Origin) -> None:
        count = self._count[origin] - 1
        if count:
            self._count[origin] = count
        else:
            del self._count[origin]
        self._total -= 1
        _moved(total=-1)
        if self._waiters:
            self._cond.notify_all()

    def _drain_orphans(self) -> None:
        """Under the lock: uncount connections closed by finalizers."""
        orphans = self._orphans
        while orphans:
            self._uncount(orphans.popleft())

    def _forget(self, origin: Origin) -> None:
        with self._cond:
            self._uncount(origin)

    # -- giving back ------------------------------------------------------------

    def release(self, conn: HTTPConnection) -> None:
        """Return a connection whose exchange finished cleanly and can carry another."""
        now = _monotonic()
        conn.idle_since = now
        expired: list[HTTPConnection] = []
        with self._cond:
            self._drain_orphans()
            if self._closed or conn.sock.closed:
                self._uncount(conn.origin)
                expired.append(conn)
            else:
                self._idle.setdefault(conn.origin, []).append(conn)
                self._idle_total += 1
                _moved(idle=+1)
                if self._waiters:
                    self._cond.notify_all()
                if now >= self._next_sweep:
                    self._next_sweep = now + _SWEEP_EVERY
                    expired.extend(self._expired(now))
        for old in expired:
            old.close()

    def _expired(self, now: float) -> list[HTTPConnection]:
        """Under the lock: unlink every idle connection past the idle timeout."""
        limit = now - self._idle_timeout
        out = [c for stack in self._idle.values() for c in stack if c.idle_since < limit]
        for conn in out:
            self._unlink(conn)
        return out

    def discard(self, conn: HTTPConnection) -> None:
        """Close a connection that was handed out and must not be reused."""
        conn.close()
        self._forget(conn.origin)

    def discard_later(self, conn: HTTPConnection) -> None:
        """:meth:`discard` for finalizers: closes now, uncounts at the next pool call.

        A finalizer may run while this very thread holds the pool lock, so it
        only closes the socket and appends to a deque (atomic, lock-free).
        """
        conn.close()
        self._orphans.append(conn.origin)

    # -- life cycle ----------------------------------------------------------------

    def close(self) -> None:
        """Close every idle connection; ones in use are closed when they come back."""
        with self._cond:
            self._closed = True
            idle = [c for stack in self._idle.values() for c in stack]
            for conn in idle:
                self._unlink(conn)
            self._cond.notify_all()
        for conn in idle:
            conn.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def stats(self) -> PoolStats:
        """Counts of live and idle connections."""
        with self._cond:
            self._drain_orphans()
            return PoolStats(self._total, self._idle_total, dict(self._count))
