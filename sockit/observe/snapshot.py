"""Immutable, plain-data views of a metrics registry.

:meth:`sockit.observe.MetricsRegistry.snapshot` returns a :class:`RegistrySnapshot`:
frozen dataclasses holding only tuples, strings and numbers, so a snapshot can
be handed to another thread, compared, hashed or kept for later without ever
changing under the reader. The exporters render snapshots, never live metrics.

Labels are stored as a tuple of ``(name, value)`` pairs in the order of the
metric's ``labelnames``; ``dict(series.labels)`` gives a mapping.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

__all__ = [
    "PERCENTILES",
    "HistogramSnapshot",
    "LabelPairs",
    "MetricSnapshot",
    "MetricType",
    "RegistrySnapshot",
    "SampleSnapshot",
]

LabelPairs = tuple[tuple[str, str], ...]
"""Label ``(name, value)`` pairs of one series, in the metric's ``labelnames`` order."""

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p75", 75.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p999", 99.9),
)
"""The percentiles every histogram reports: ``(key, percent)`` pairs."""


class MetricType(str, enum.Enum):
    """The kind of a metric family; the value is the Prometheus ``# TYPE`` word."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True, slots=True)
class SampleSnapshot:
    """The value of one counter or gauge series."""

    labels: LabelPairs
    value: float


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """The state of one histogram series.

    ``buckets`` holds ``(upper_bound, cumulative_count)`` pairs in increasing
    order; the last bound is always ``math.inf`` and its count equals ``count``.
    ``percentiles`` holds ``(key, value)`` pairs in :data:`PERCENTILES` order,
    computed over the reservoir sample; values are ``nan`` when nothing has
    been observed. ``sampled`` is how many observations the reservoir holds.
    """

    labels: LabelPairs
    count: int
    sum: float
    buckets: tuple[tuple[float, int], ...]
    percentiles: tuple[tuple[str, float], ...]
    sampled: int

    def percentile(self, key: str) -> float:
        """Return the percentile stored under ``key`` (``"p50"`` ... ``"p999"``)."""
        for name, value in self.percentiles:
            if name == key:
                return value
        msg = f"unknown percentile {key!r}; expected one of {[k for k, _ in PERCENTILES]}"
        raise KeyError(msg)

    @property
    def mean(self) -> float:
        """Return ``sum / count``, or ``nan`` when nothing has been observed."""
        return self.sum / self.count if self.count else math.nan


@dataclass(frozen=True, slots=True)
class MetricSnapshot:
    """One metric family: its definition and every series it has."""

    name: str
    type: MetricType
    documentation: str
    labelnames: tuple[str, ...]
    series: tuple[SampleSnapshot | HistogramSnapshot, ...]

    def find(self, **labels: object) -> SampleSnapshot | HistogramSnapshot:
        """Return the series whose labels equal ``labels`` (values compared as ``str``).

        Raises ``KeyError`` when no such series exists.
        """
        wanted = {k: str(v) for k, v in labels.items()}
        for series in self.series:
            if dict(series.labels) == wanted:
                return series
        msg = f"{self.name}: no series with labels {wanted}"
        raise KeyError(msg)


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """Every metric family of a registry at one moment, sorted by name."""

    metrics: tuple[MetricSnapshot, ...]

    def get(self, name: str) -> MetricSnapshot | None:
        """Return the family called ``name``, or ``None``."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        return None

    def __getitem__(self, name: str) -> MetricSnapshot:
        """Return the family called ``name``; ``KeyError`` if there is none."""
        metric = self.get(name)
        if metric is None:
            raise KeyError(name)
        return metric

    def __contains__(self, name: object) -> bool:
        """Return whether a family called ``name`` is present."""
        return isinstance(name, str) and self.get(name) is not None

    def value(self, name: str, **labels: object) -> float:
        """Return the value of a counter or gauge series."""
        series = self[name].find(**labels)
        if not isinstance(series, SampleSnapshot):
            msg = f"{name} is a histogram; use histogram()"
            raise TypeError(msg)
        return series.value

    def histogram(self, name: str, **labels: object) -> HistogramSnapshot:
        """Return one series of a histogram."""
        series = self[name].find(**labels)
        if not isinstance(series, HistogramSnapshot):
            msg = f"{name} is not a histogram"
            raise TypeError(msg)
        return series
