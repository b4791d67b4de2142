"""Exact totals when 8 threads hammer the same metrics at once."""

from __future__ import annotations

import math
import random
import sys
import threading
from collections.abc import Callable, Iterator
from fractions import Fraction

import pytest

from sockit.observe import MetricsRegistry

THREADS = 8
PER_THREAD = 25_000


@pytest.fixture(autouse=True)
def eager_thread_switching() -> Iterator[None]:
    """Switch threads every few microseconds so that unlocked updates would get lost."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def hammer(work: Callable[[int], None]) -> None:
    """Run work(thread_index) in THREADS threads released at the same instant."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_counter_total_is_exact_under_eight_threads() -> None:
    registry = MetricsRegistry()
    counter = registry.counter("sockit_hammer_total", "hammered")

    def work(_: int) -> None:
        inc = counter.inc
        for _ in range(PER_THREAD):
            inc()

    hammer(work)
    assert counter.value == THREADS * PER_THREAD
    assert registry.snapshot().value("sockit_hammer_total") == THREADS * PER_THREAD


def test_counter_is_exact_when_addition_runs_python_code() -> None:
    # In CPython 3.11 `x += 1` on an int cannot be interrupted, so the plain test
    # above would pass even without locks. Fraction.__radd__ is Python code, so
    # here the interpreter can switch threads between read and write: only the
    # per-series lock keeps the total exact.
    counter = MetricsRegistry().counter("sockit_fraction_total")
    step = Fraction(1, 3)
    per_thread = 6_000

    def work(_: int) -> None:
        for _ in range(per_thread):
            counter.inc(step)  # type: ignore[arg-type]  # any number type works

    hammer(work)
    assert counter.value == Fraction(THREADS * per_thread, 3)


def test_labelled_counters_are_exact_and_created_once() -> None:
    registry = MetricsRegistry()
    counter = registry.counter("sockit_req_total", labelnames=("worker", "shared"))
    seen: list[set[int]] = [set() for _ in range(THREADS)]

    def work(index: int) -> None:
        for i in range(PER_THREAD // 5):
            child = counter.labels(worker=str(i % 4), shared="yes")
            seen[index].add(id(child))
            child.inc(2)

    hammer(work)
    # Concurrent first use of a label set must still yield one series per set.
    assert len(set().union(*seen)) == 4
    snap = registry.snapshot()
    assert len(snap["sockit_req_total"].series) == 4
    per_worker = THREADS * (PER_THREAD // 5) * 2 // 4
    for w in range(4):
        assert snap.value("sockit_req_total", worker=w, shared="yes") == per_worker


def test_gauge_inc_dec_balance_under_eight_threads() -> None:
    gauge = MetricsRegistry().gauge("sockit_inflight")

    def work(index: int) -> None:
        for _ in range(PER_THREAD // 2):
            gauge.inc(3)
            gauge.dec()

    hammer(work)
    assert gauge.value == THREADS * (PER_THREAD // 2) * 2


def test_histogram_counts_are_exact_under_eight_threads() -> None:
    registry = MetricsRegistry()
    hist = registry.histogram(
        "sockit_lat", buckets=(0.5, 1.5), reservoir_size=128, rng=random.Random(0)
    )
    per_thread = PER_THREAD // 5

    def work(index: int) -> None:
        observe = hist.observe
        for i in range(per_thread):
            observe(i % 2)  # 0 and 1, alternately

    hammer(work)
    snap = registry.snapshot().histogram("sockit_lat")
    total = THREADS * per_thread
    assert snap.count == total
    assert snap.sum == total // 2
    assert snap.buckets == ((0.5, total // 2), (1.5, total), (math.inf, total))
    assert snap.sampled == 128
    assert set(hist.labels().sample()) == {0, 1}
