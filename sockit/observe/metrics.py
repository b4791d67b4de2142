"""Metric families: counters, gauges and histograms, with labels.

A family (:class:`Counter`, :class:`Gauge`, :class:`Histogram`) has a name, a
help text and a fixed tuple of label names. Each distinct tuple of label values
is a child series (:class:`~sockit.observe.series.CounterChild`, ...) created on
first use by ``family.labels(...)``. A family without label names is its own
single series: its ``inc()``/``set()``/``observe()`` act on it directly.

Locking: every series has its own :class:`threading.Lock`, held only for the few
arithmetic operations of an update; a family's lock is taken only when a series
is created or removed and while a snapshot lists them. Looking up an existing
series is a lock-free dict read. Nothing global sits on the hot path.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import ClassVar, Generic, TypeVar

from sockit.observe.series import (
    DEFAULT_BUCKETS,
    DEFAULT_RESERVOIR_SIZE,
    CounterChild,
    GaugeChild,
    HistogramChild,
    HistogramTimer,
)
from sockit.observe.snapshot import MetricSnapshot, MetricType

__all__ = ["Counter", "Gauge", "Histogram", "MetricFamily"]

ChildT = TypeVar("ChildT", CounterChild, GaugeChild, HistogramChild)

_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def _check_metric_name(name: str) -> None:
    if not isinstance(name, str) or not _METRIC_NAME_RE.match(name):
        msg = f"invalid metric name {name!r}: must match [a-zA-Z_:][a-zA-Z0-9_:]*"
        raise ValueError(msg)


def _check_labelnames(labelnames: Sequence[str], reserved: frozenset[str]) -> tuple[str, ...]:
    if isinstance(labelnames, str):
        msg = "labelnames must be a sequence of names, not a single string"
        raise TypeError(msg)
    names = tuple(labelnames)
    for label in names:
        if not isinstance(label, str) or not _LABEL_NAME_RE.match(label):
            msg = f"invalid label name {label!r}: must match [a-zA-Z_][a-zA-Z0-9_]*"
            raise ValueError(msg)
        if label.startswith("__"):
            msg = f"invalid label name {label!r}: names starting with '__' are reserved"
            raise ValueError(msg)
        if label in reserved:
            msg = f"label name {label!r} is reserved for this metric type"
            raise ValueError(msg)
    if len(set(names)) != len(names):
        msg = f"duplicate label names in {names}"
        raise ValueError(msg)
    return names


class MetricFamily(Generic[ChildT]):
    """Base of :class:`Counter`, :class:`Gauge` and :class:`Histogram`.

    Holds the name, help text and label names, and the children keyed by their
    label values. Create families through a :class:`MetricsRegistry`.
    """

    type: ClassVar[MetricType]
    """The metric type (counter, gauge or histogram)."""
    _reserved_labels: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, documentation: str = "", labelnames: Sequence[str] = ()):
        _check_metric_name(name)
        self._name = name
        self._documentation = documentation
        self._labelnames = _check_labelnames(labelnames, self._reserved_labels)
        self._lock = threading.Lock()
        self._children: dict[tuple[str, ...], ChildT] = {}
        self._solo: ChildT | None = None
        if not self._labelnames:
            self._solo = self._children[()] = self._new_child()

    def _new_child(self) -> ChildT:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """Return the metric name."""
        return self._name

    @property
    def documentation(self) -> str:
        """Return the help text."""
        return self._documentation

    @property
    def labelnames(self) -> tuple[str, ...]:
        """Return the label names, in order."""
        return self._labelnames

    def _key(self, values: tuple[object, ...], labelvalues: dict[str, object]) -> tuple[str, ...]:
        names = self._labelnames
        if values and labelvalues:
            msg = "pass label values either positionally or by name, not both"
            raise ValueError(msg)
        if labelvalues:
            if len(labelvalues) != len(names) or not all(n in labelvalues for n in names):
                msg = f"{self._name}: expected labels {names}, got {tuple(labelvalues)}"
                raise ValueError(msg)
            return tuple(str(labelvalues[n]) for n in names)
        if len(values) != len(names):
            msg = f"{self._name}: expected {len(names)} label values {names}, got {len(values)}"
            raise ValueError(msg)
        return tuple(str(v) for v in values)

    def labels(self, *values: object, **labelvalues: object) -> ChildT:
        """Return the child series for these label values, creating it on first use.

        Values are converted with ``str()``; pass all of them, positionally in
        ``labelnames`` order or by name. ``ValueError`` on a missing or extra label.
        """
        key = self._key(values, labelvalues)
        child = self._children.get(key)
        if child is None:
            with self._lock:
                child = self._children.get(key)
                if child is None:
                    child = self._children[key] = self._new_child()
        return child

    def remove(self, *values: object, **labelvalues: object) -> None:
        """Forget the child series for these label values (no error if absent)."""
        if not self._labelnames:
            msg = f"{self._name} has no labels; use reset() instead"
            raise ValueError(msg)
        key = self._key(values, labelvalues)
        with self._lock:
            self._children.pop(key, None)

    def _only(self) -> ChildT:
        solo = self._solo
        if solo is None:
            msg = f"{self._name} has labels {self._labelnames}: call .labels(...) first"
            raise ValueError(msg)
        return solo

    def _definition(self) -> tuple[object, ...]:
        return (type(self), self._documentation, self._labelnames)

    def _exposition_names(self) -> tuple[str, ...]:
        return (self._name,)

    def _reset(self) -> None:
        with self._lock:
            children = list(self._children.values())
        for child in children:
            child._reset()

    def _snapshot(self) -> MetricSnapshot:
        with self._lock:
            items = sorted(self._children.items(), key=lambda item: item[0])
        names = self._labelnames
        return MetricSnapshot(
            name=self._name,
            type=self.type,
            documentation=self._documentation,
            labelnames=names,
            series=tuple(
                child._snapshot(tuple(zip(names, key, strict=True))) for key, child in items
            ),
        )

    def __repr__(self) -> str:
        """Return ``Counter('name', labelnames=(...))``."""
        return f"{type(self).__name__}({self._name!r}, labelnames={self._labelnames!r})"


class Counter(MetricFamily[CounterChild]):
    """A family of counters; ``inc()`` works directly when it has no labels.

    By Prometheus convention a counter's name ends in ``_total``.
    """

    type = MetricType.COUNTER

    def _new_child(self) -> CounterChild:
        return CounterChild()

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` to the unlabelled counter."""
        self._only().inc(amount)

    @property
    def value(self) -> float:
        """Return the unlabelled counter's total."""
        return self._only().value


class Gauge(MetricFamily[GaugeChild]):
    """A family of gauges; ``set``/``inc``/``dec`` work directly when it has no labels."""

    type = MetricType.GAUGE

    def _new_child(self) -> GaugeChild:
        return GaugeChild()

    def set(self, value: float) -> None:
        """Set the unlabelled gauge."""
        self._only().set(value)

    def inc(self, amount: float = 1) -> None:
        """Add to the unlabelled gauge."""
        self._only().inc(amount)

    def dec(self, amount: float = 1) -> None:
        """Subtract from the unlabelled gauge."""
        self._only().dec(amount)

    def track_inprogress(self) -> AbstractContextManager[None]:
        """Increment the unlabelled gauge for the duration of a ``with`` block."""
        return self._only().track_inprogress()

    @property
    def value(self) -> float:
        """Return the unlabelled gauge's value."""
        return self._only().value


class Histogram(MetricFamily[HistogramChild]):
    """A family of histograms; ``observe()``/``time()`` work directly when it has no labels.

    ``buckets`` are the finite upper bounds (strictly increasing; ``+Inf`` is
    added). ``reservoir_size`` bounds the percentile sample per series. ``rng``
    seeds each series' reservoir sampling (one ``random.Random`` per series,
    derived from ``rng`` in creation order), for reproducible percentiles.
    The labels ``le`` and ``quantile`` are reserved.
    """

    type = MetricType.HISTOGRAM
    _reserved_labels = frozenset({"le", "quantile"})

    def __init__(
        self,
        name: str,
        documentation: str = "",
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        reservoir_size: int = DEFAULT_RESERVOIR_SIZE,
        rng: random.Random | None = None,
    ):
        bounds = [float(b) for b in buckets]
        if bounds and bounds[-1] == math.inf:
            bounds.pop()
        if not bounds:
            msg = "a histogram needs at least one finite bucket bound"
            raise ValueError(msg)
        if any(not math.isfinite(b) for b in bounds):
            msg = f"bucket bounds must be finite numbers (+Inf is implicit): {buckets!r}"
            raise ValueError(msg)
        if any(a >= b for a, b in itertools.pairwise(bounds)):
            msg = f"bucket bounds must be strictly increasing: {buckets!r}"
            raise ValueError(msg)
        if isinstance(reservoir_size, bool) or not isinstance(reservoir_size, int):
            msg = "reservoir_size must be an int"
            raise TypeError(msg)
        if reservoir_size < 1:
            msg = f"reservoir_size must be >= 1, not {reservoir_size}"
            raise ValueError(msg)
        self._upper = (*bounds, math.inf)
        self._reservoir_size = reservoir_size
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - sampling only
        super().__init__(name, documentation, labelnames)

    def _new_child(self) -> HistogramChild:
        seed = self._rng.getrandbits(64)
        rng = random.Random(seed)  # noqa: S311 - sampling, not security
        return HistogramChild(self._upper, self._reservoir_size, rng)

    @property
    def buckets(self) -> tuple[float, ...]:
        """Return the bucket upper bounds, ending with ``math.inf``."""
        return self._upper

    @property
    def reservoir_size(self) -> int:
        """Return the maximum reservoir size per series."""
        return self._reservoir_size

    def observe(self, value: float) -> None:
        """Record one observation in the unlabelled histogram."""
        self._only().observe(value)

    def time(self) -> HistogramTimer:
        """Time a ``with`` block into the unlabelled histogram (seconds)."""
        return self._only().time()

    def percentile(self, percent: float) -> float:
        """Return a percentile (0..100) of the unlabelled histogram."""
        return self._only().percentile(percent)

    def percentiles(self) -> dict[str, float]:
        """Return p50 ... p999 of the unlabelled histogram."""
        return self._only().percentiles()

    @property
    def count(self) -> int:
        """Return the unlabelled histogram's observation count."""
        return self._only().count

    @property
    def sum(self) -> float:
        """Return the unlabelled histogram's sum."""
        return self._only().sum

    def _definition(self) -> tuple[object, ...]:
        return (*super()._definition(), self._upper, self._reservoir_size)

    def _exposition_names(self) -> tuple[str, ...]:
        n = self._name
        return (n, f"{n}_bucket", f"{n}_sum", f"{n}_count", f"{n}_quantile")
