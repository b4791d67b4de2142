"""The metrics registry: uniquely named families, snapshots, reset, the default registry."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import Any, TypeVar

from sockit.observe.metrics import Counter, Gauge, Histogram, MetricFamily
from sockit.observe.series import DEFAULT_BUCKETS, DEFAULT_RESERVOIR_SIZE
from sockit.observe.snapshot import RegistrySnapshot

__all__ = ["REGISTRY", "MetricsRegistry", "default_registry"]

FamilyT = TypeVar("FamilyT", bound="MetricFamily[Any]")


class MetricsRegistry:
    """A set of uniquely named metric families.

    ``counter()``, ``gauge()`` and ``histogram()`` are get-or-create: asking
    again for a name with the *same definition* (type, help text, label names,
    and for histograms buckets and reservoir size) returns the existing family,
    so modules may declare their metrics independently; a different definition
    raises ``ValueError``, as does a name that collides with a series another
    family exposes (a histogram ``x`` also owns ``x_bucket``, ``x_sum``,
    ``x_count`` and ``x_quantile``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._families: dict[str, MetricFamily[Any]] = {}
        self._claimed: dict[str, str] = {}

    def register(self, family: FamilyT) -> FamilyT:
        """Add ``family``; return the already registered one if its definition is equal."""
        with self._lock:
            existing = self._families.get(family.name)
            if existing is not None:
                if existing._definition() == family._definition():
                    assert isinstance(existing, type(family))
                    return existing
                msg = (
                    f"metric {family.name!r} is already registered with a different "
                    f"definition: {existing!r}"
                )
                raise ValueError(msg)
            for exposed in family._exposition_names():
                owner = self._claimed.get(exposed)
                if owner is not None:
                    msg = f"metric {family.name!r} would expose {exposed!r}, owned by {owner!r}"
                    raise ValueError(msg)
            self._families[family.name] = family
            for exposed in family._exposition_names():
                self._claimed[exposed] = family.name
            return family

    def counter(
        self, name: str, documentation: str = "", labelnames: Sequence[str] = ()
    ) -> Counter:
        """Return the counter ``name``, creating it if needed."""
        return self.register(Counter(name, documentation, labelnames))

    def gauge(self, name: str, documentation: str = "", labelnames: Sequence[str] = ()) -> Gauge:
        """Return the gauge ``name``, creating it if needed."""
        return self.register(Gauge(name, documentation, labelnames))

    def histogram(
        self,
        name: str,
        documentation: str = "",
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        reservoir_size: int = DEFAULT_RESERVOIR_SIZE,
        rng: random.Random | None = None,
    ) -> Histogram:
        """Return the histogram ``name``, creating it if needed (``rng`` is not compared)."""
        return self.register(
            Histogram(
                name,
                documentation,
                labelnames,
                buckets=buckets,
                reservoir_size=reservoir_size,
                rng=rng,
            )
        )

    def unregister(self, name: str) -> None:
        """Remove the family called ``name`` (``KeyError`` if absent)."""
        with self._lock:
            family = self._families.pop(name)
            for exposed in family._exposition_names():
                self._claimed.pop(exposed, None)

    def get(self, name: str) -> MetricFamily[Any] | None:
        """Return the family called ``name``, or ``None``."""
        return self._families.get(name)

    def __contains__(self, name: object) -> bool:
        """Return whether a family called ``name`` is registered."""
        return name in self._families

    def names(self) -> list[str]:
        """Return the registered family names, sorted."""
        with self._lock:
            return sorted(self._families)

    def snapshot(self) -> RegistrySnapshot:
        """Return an immutable copy of every value, families sorted by name.

        Each series is copied atomically; the snapshot as a whole is not a
        single instant across series (updates keep flowing while it is taken).
        """
        with self._lock:
            families = sorted(self._families.values(), key=lambda f: f.name)
        return RegistrySnapshot(tuple(f._snapshot() for f in families))

    def reset(self) -> None:
        """Zero every series (counters, gauges, histogram buckets, sums and reservoirs).

        Families and their label series stay registered.
        """
        with self._lock:
            families = list(self._families.values())
        for family in families:
            family._reset()


REGISTRY = MetricsRegistry()
"""The process-wide default registry sockit's own metrics live in."""


def default_registry() -> MetricsRegistry:
    """Return the process-wide default registry (:data:`REGISTRY`)."""
    return REGISTRY
