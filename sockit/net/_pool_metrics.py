"""A pool's metric series, looked up once per pool and label value.

Families (shared by every pool in a registry, told apart by the ``pool`` label):
``sockit_pool_connections`` (gauge), ``sockit_pool_accepted_total``,
``sockit_pool_refused_total{reason}``, ``sockit_pool_closed_total{reason}``
and ``sockit_pool_drain_seconds`` (histogram).
"""

from __future__ import annotations

from sockit.net._pool_types import CloseReason, RefusalReason
from sockit.observe import CounterChild, MetricsRegistry

__all__ = ["PoolMetrics"]

_DRAIN_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class PoolMetrics:
    """The cached series of one named pool."""

    __slots__ = ("_accepted", "_closed", "_connections", "_drain", "_refused")

    def __init__(self, registry: MetricsRegistry, name: str) -> None:
        connections = registry.gauge(
            "sockit_pool_connections", "Connections held by a connection pool", ("pool",)
        )
        accepted = registry.counter(
            "sockit_pool_accepted_total", "Connections admitted to a connection pool", ("pool",)
        )
        refused = registry.counter(
            "sockit_pool_refused_total",
            "Connections a pool refused to admit, by reason",
            ("pool", "reason"),
        )
        closed = registry.counter(
            "sockit_pool_closed_total",
            "Connections a pool closed or released, by reason",
            ("pool", "reason"),
        )
        drain = registry.histogram(
            "sockit_pool_drain_seconds",
            "How long pool drains took, from drain() to empty",
            ("pool",),
            buckets=_DRAIN_BUCKETS,
        )
        self._connections = connections.labels(name)
        self._accepted = accepted.labels(name)
        self._refused: dict[RefusalReason, CounterChild] = {
            r: refused.labels(name, r.value) for r in RefusalReason
        }
        self._closed: dict[CloseReason, CounterChild] = {
            r: closed.labels(name, r.value) for r in CloseReason
        }
        self._drain = drain.labels(name)

    def admitted(self, active: int) -> None:
        """One connection in; ``active`` now held."""
        self._accepted.inc()
        self._connections.set(active)

    def refused(self, reason: RefusalReason) -> None:
        """One connection refused for ``reason``."""
        self._refused[reason].inc()

    def closed(self, reason: CloseReason, active: int, n: int = 1) -> None:
        """``n`` connections out for ``reason``; ``active`` now held."""
        self._closed[reason].inc(n)
        self._connections.set(active)

    def drained(self, seconds: float) -> None:
        """A drain finished after ``seconds``."""
        self._drain.observe(seconds)
