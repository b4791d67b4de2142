"""The series behind each metric: one lock each, held only for the arithmetic.

:class:`CounterChild`, :class:`GaugeChild` and :class:`HistogramChild` are what
``family.labels(...)`` returns. A histogram series keeps fixed buckets (exact
counts, what Prometheus scrapes) and a bounded uniform reservoir sample
(Vitter's algorithm R: at most ``reservoir_size`` values, however many are
observed) from which percentiles are computed by linear interpolation between
closest ranks, the ``"inclusive"`` method of :func:`statistics.quantiles`.
"""

from __future__ import annotations

import math
import random
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType

from sockit.observe.snapshot import PERCENTILES, HistogramSnapshot, LabelPairs, SampleSnapshot

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_RESERVOIR_SIZE",
    "CounterChild",
    "GaugeChild",
    "HistogramChild",
    "HistogramTimer",
]

DEFAULT_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Default histogram bucket upper bounds, in seconds (``+Inf`` is always added)."""

DEFAULT_RESERVOIR_SIZE = 1024
"""Default number of observations a histogram's percentile reservoir keeps."""

_INF = math.inf
_NEG_INF = -math.inf


def _percentile_of_sorted(data: Sequence[float], percent: float) -> float:
    """Linear interpolation between closest ranks (``statistics.quantiles`` inclusive)."""
    n = len(data)
    if n == 0:
        return math.nan
    # Rounding keeps e.g. 999 * 99.9 / 100 from landing a hair past an exact rank.
    position = round((n - 1) * percent / 100.0, 9)
    lower = int(position)
    upper = min(lower + 1, n - 1)
    fraction = position - lower
    return data[lower] + (data[upper] - data[lower]) * fraction


class _ValueSeries:
    """A single locked number: what counter and gauge series have in common."""

    __slots__ = ("_lock", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: float = 0

    @property
    def value(self) -> float:
        """Return the current value."""
        return self._value

    def _reset(self) -> None:
        with self._lock:
            self._value = 0

    def _snapshot(self, labels: LabelPairs) -> SampleSnapshot:
        return SampleSnapshot(labels, self._value)


class CounterChild(_ValueSeries):
    """One counter series: a monotonically increasing number."""

    __slots__ = ()

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (finite and >= 0; ``ValueError`` otherwise)."""
        if not 0 <= amount < math.inf:
            msg = f"counters only go up by finite non-negative amounts, not {amount!r}"
            raise ValueError(msg)
        with self._lock:
            self._value += amount



class GaugeChild(_ValueSeries):
    """One gauge series: a number that can go up and down."""

    __slots__ = ()

    def set(self, value: float) -> None:
        """Set the gauge to ``value``."""
        with self._lock:
            self._value = value

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (may be negative)."""
        with self._lock:
            self._value += amount

    def dec(self, amount: float = 1) -> None:
        """Subtract ``amount`` (may be negative)."""
        with self._lock:
            self._value -= amount

    @contextmanager
    def track_inprogress(self) -> Iterator[None]:
        """Increment on entry and decrement on exit: ``with active.track_inprogress(): ...``."""
        self.inc()
        try:
            yield
        finally:
            self.dec()



class HistogramTimer:
    """Context manager returned by ``Histogram.time()``: observes elapsed seconds on exit.

    The duration is measured with :func:`time.perf_counter` and observed even
    when the block raises; it is also kept in :attr:`elapsed`.
    """

    __slots__ = ("_child", "_start", "elapsed")

    def __init__(self, child: HistogramChild) -> None:
        self._child = child
        self._start = 0.0
        self.elapsed: float | None = None
        """Seconds the block took, set on exit."""

    def __enter__(self) -> HistogramTimer:
        """Start the clock."""
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the clock and observe the elapsed time."""
        self.elapsed = time.perf_counter() - self._start
        self._child.observe(self.elapsed)


class HistogramChild:
    """One histogram series: bucket counts, sum, count and a percentile reservoir."""

    __slots__ = ("_count", "_counts", "_lock", "_random", "_reservoir", "_size", "_sum", "_upper")

    def __init__(self, upper_bounds: tuple[float, ...], reservoir_size: int, rng: random.Random):
        self._lock = threading.Lock()
        self._upper = upper_bounds
        self._counts = [0] * len(upper_bounds)
        self._sum: float = 0
        self._count = 0
        self._reservoir: list[float] = []
        self._size = reservoir_size
        self._random: Callable[[], float] = rng.random

    def observe(self, value: float) -> None:
        """Record one observation (finite; ``ValueError`` for NaN and infinities)."""
        if not _NEG_INF < value < _INF:  # also false for NaN, which would poison everything
            msg = f"histograms observe finite values, not {value!r}"
            raise ValueError(msg)
        index = bisect_left(self._upper, value)  # first bucket with value <= le
        with self._lock:
            self._counts[index] += 1
            self._sum += value
            self._count = seen = self._count + 1
            # Vitter's algorithm R: keep each of the `seen` values with probability size/seen.
            if seen <= self._size:
                self._reservoir.append(value)
            else:
                slot = int(self._random() * seen)
                if slot < self._size:
                    self._reservoir[slot] = value

    def time(self) -> HistogramTimer:
        """Return a context manager that observes how long its block takes, in seconds."""
        return HistogramTimer(self)

    @property
    def count(self) -> int:
        """Return how many values were observed."""
        return self._count

    @property
    def sum(self) -> float:
        """Return the sum of the observed values."""
        return self._sum

    @property
    def reservoir_size(self) -> int:
        """Return the maximum number of values the percentile reservoir keeps."""
        return self._size

    def sample(self) -> list[float]:
        """Return a copy of the current reservoir (unsorted)."""
        with self._lock:
            return list(self._reservoir)

    def percentile(self, percent: float) -> float:
        """Return the ``percent``-th percentile (0..100) of the reservoir; NaN if empty."""
        if not 0 <= percent <= 100:
            msg = f"percentile must be within [0, 100], not {percent!r}"
            raise ValueError(msg)
        return _percentile_of_sorted(sorted(self.sample()), percent)

    def percentiles(self) -> dict[str, float]:
        """Return ``{"p50": ..., ..., "p999": ...}`` computed from one reservoir copy."""
        data = sorted(self.sample())
        return {key: _percentile_of_sorted(data, percent) for key, percent in PERCENTILES}

    def _reset(self) -> None:
        with self._lock:
            self._counts = [0] * len(self._upper)
            self._sum = 0
            self._count = 0
            self._reservoir = []

    def _snapshot(self, labels: LabelPairs) -> HistogramSnapshot:
        with self._lock:
            counts = list(self._counts)
            total, count = self._sum, self._count
            data = list(self._reservoir)
        data.sort()
        cumulative: list[tuple[float, int]] = []
        running = 0
        for bound, n in zip(self._upper, counts, strict=True):
            running += n
            cumulative.append((bound, running))
        return HistogramSnapshot(
            labels=labels,
            count=count,
            sum=total,
            buckets=tuple(cumulative),
            percentiles=tuple((k, _percentile_of_sorted(data, p)) for k, p in PERCENTILES),
            sampled=len(data),
        )
