"""A pool's bookkeeping: its counters and its drain state machine.

Both are plain objects mutated under the pool's lock; keeping them apart from
:class:`~sockit.net.pool.ConnectionPool` keeps the pool about connections.
"""

from __future__ import annotations

from collections.abc import Sequence

from sockit.net._pool_types import (
    CloseReason,
    DrainProgress,
    PooledConnection,
    PoolState,
    PoolStats,
    RefusalReason,
)

__all__ = ["DEGRADED_WINDOW", "DrainState", "PoolCounters"]

#: Health stays DEGRADED this many seconds after a FULL or RATE refusal.
DEGRADED_WINDOW = 10.0


class PoolCounters:
    """What ``ConnectionPool.stats`` reports, counted since creation or reset."""

    __slots__ = ("closed", "closed_by", "created", "last_pressure", "peak", "refused", "since")

    def __init__(self, now: float, active: int = 0) -> None:
        self.created = 0
        self.closed = 0
        self.refused = dict.fromkeys(RefusalReason, 0)
        self.closed_by = dict.fromkeys(CloseReason, 0)
        self.peak = active
        self.since = now
        self.last_pressure: float | None = None

    def admitted(self, active: int) -> None:
        """One connection in; ``active`` now held."""
        self.created += 1
        self.peak = max(self.peak, active)

    def refused_one(self, reason: RefusalReason, now: float) -> None:
        """One refusal; FULL and RATE count as pressure for the health state."""
        self.refused[reason] += 1
        if reason is RefusalReason.FULL or reason is RefusalReason.RATE:
            self.last_pressure = now

    def closed_one(self, reason: CloseReason) -> None:
        """One connection out."""
        self.closed += 1
        self.closed_by[reason] += 1

    def under_pressure(self, now: float, window: float = DEGRADED_WINDOW) -> bool:
        """Whether a FULL or RATE refusal happened in the last ``window`` seconds."""
        return self.last_pressure is not None and now - self.last_pressure < window

    def snapshot(
        self,
        conns: Sequence[PooledConnection],
        *,
        now: float,
        state: PoolState,
        max_connections: int,
        quiet_after: float,
        free_buffers: int,
        buffer_hits: int,
        buffer_misses: int,
    ) -> PoolStats:
        """The PoolStats for ``conns`` held now."""
        quiet = now - quiet_after
        asked = buffer_hits + buffer_misses
        elapsed = now - self.since
        return PoolStats(
            state=state,
            active=len(conns),
            idle=sum(1 for c in conns if c.last_activity <= quiet),
            available=max(0, max_connections - len(conns)),
            peak=self.peak,
            created=self.created,
            closed=self.closed,
            refused={r.value: n for r, n in self.refused.items()},
            closed_by={r.value: n for r, n in self.closed_by.items()},
            free_buffers=free_buffers,
            buffer_reuse_rate=buffer_hits / asked if asked else 0.0,
            churn_per_second=(self.created + self.closed) / elapsed if elapsed > 0 else 0.0,
            average_age=sum(now - c.created for c in conns) / len(conns) if conns else 0.0,
        )


class DrainState:
    """RUNNING -> DRAINING -> STOPPED, with the drain's start, deadline and closures."""

    __slots__ = ("closed", "deadline", "started", "state")

    def __init__(self) -> None:
        self.state = PoolState.RUNNING
        self.started: float | None = None
        self.deadline: float | None = None
        self.closed = 0

    def begin(self, now: float, timeout: float) -> bool:
        """Start (True) or tighten (False) a drain; nothing once STOPPED (False)."""
        deadline = now + timeout
        if self.state is PoolState.RUNNING:
            self.state = PoolState.DRAINING
            self.started, self.deadline, self.closed = now, deadline, 0
            return True
        if self.state is PoolState.DRAINING and self.deadline is not None:
            self.deadline = min(self.deadline, deadline)
        return False

    def count_close(self) -> None:
        """A connection left the pool (counted only while draining)."""
        if self.state is PoolState.DRAINING:
            self.closed += 1

    def past_deadline(self, now: float) -> bool:
        """Whether a drain is running and its deadline has come."""
        return (
            self.state is PoolState.DRAINING and self.deadline is not None and now >= self.deadline
        )

    def finish(self, now: float) -> float | None:
        """DRAINING -> STOPPED; the drain's duration, or None if it was not draining."""
        if self.state is not PoolState.DRAINING or self.started is None:
            return None
        self.state = PoolState.STOPPED
        return max(0.0, now - self.started)

    def progress(self, remaining: int) -> DrainProgress:
        """The DrainProgress with ``remaining`` connections still held."""
        return DrainProgress(self.state, remaining, self.closed, self.started, self.deadline)
