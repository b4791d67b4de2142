"""SYNProtector under threads: no lost updates, exact counters, a bounded table."""

from __future__ import annotations

import threading

import pytest

from sockit.limits import SYNProtectDefaults
from sockit.net.protect import Action, SYNProtector
from sockit.observe import Counter, Gauge, MetricsRegistry

THREADS = 4
ROUNDS = 1500


def _run(target: object, n: int = THREADS) -> None:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def wrapped(i: int) -> None:
        try:
            barrier.wait(5)
            target(i)  # type: ignore[operator]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_concurrent_checks_on_shared_and_distinct_addresses_lose_nothing() -> None:
    registry = MetricsRegistry()
    cfg = SYNProtectDefaults(
        penalty_attempt=0.0001,
        max_attempts_per_window=1_000_000,
        window=3600.0,
        max_global_rate=1e9,
        decay_per_second=0.0,
    )
    p = SYNProtector(cfg, clock=lambda: 0.0, registry=registry)

    def work(i: int) -> None:
        for _ in range(ROUNDS):
            p.check("10.0.0.1")  # shared
            p.check(f"10.0.1.{i}")  # this thread's own

    _run(work)
    stats = p.stats
    assert stats.checked == 2 * THREADS * ROUNDS
    assert stats.allowed + stats.throttled + stats.challenged + stats.blocked == stats.checked
    # every attempt was charged exactly once
    assert p.score("10.0.0.1") == pytest.approx(0.8 - THREADS * ROUNDS * 0.0001, abs=1e-6)
    for i in range(THREADS):
        assert p.score(f"10.0.1.{i}") == pytest.approx(0.8 - ROUNDS * 0.0001, abs=1e-6)
    decisions = registry.get("sockit_syn_decisions_total")
    assert isinstance(decisions, Counter)
    assert sum(decisions.labels(a.value).value for a in Action) == stats.checked


def test_concurrent_mixed_operations_keep_the_table_bounded() -> None:
    cfg = SYNProtectDefaults(max_tracked_ips=50)
    registry = MetricsRegistry()
    p = SYNProtector(cfg, registry=registry)

    def work(i: int) -> None:
        for n in range(ROUNDS):
            ip = f"10.{i}.{n % 200}.1"
            p.check(ip)
            if n % 3 == 0:
                p.record_success(ip)
            elif n % 3 == 1:
                p.record_failure(ip)
            if n % 100 == 0:
                p.cleanup()
                p.block(ip, 0.5)
                p.unblock(ip)

    _run(work)
    stats = p.stats
    assert stats.checked == THREADS * ROUNDS
    assert len(p) <= 50 and stats.tracked <= 50
    assert stats.evicted > 0
    tracked = registry.get("sockit_syn_tracked_ips")
    evictions = registry.get("sockit_syn_evictions_total")
    assert isinstance(tracked, Gauge) and tracked.value == len(p)
    assert isinstance(evictions, Counter) and evictions.value == stats.evicted
