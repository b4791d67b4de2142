"""Backoff delays within jitter bounds and the circuit breaker's transitions, on fake clocks."""

from __future__ import annotations

import math
import pickle
import random
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import ConnectError, LocalProtocolError, NetworkError
from sockit.limits import ReconnectDefaults, RetryDefaults
from sockit.net.backoff import Backoff, CircuitBreaker, CircuitOpen, CircuitState


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- Backoff ------------------------------------------------------------------


def test_no_jitter_sequence_doubles_then_caps() -> None:
    b = Backoff(0.1, 1.0, 2.0, 0.0)
    assert [b.delay(n) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_defaults_third_delay_range() -> None:
    b = Backoff.from_defaults(ReconnectDefaults(), random.Random(1))
    low, high = b.bounds(3)
    assert (low, high) == pytest.approx((0.3, 0.5))
    values = [b.delay(3) for _ in range(500)]
    assert all(0.3 - 1e-12 <= v <= 0.5 + 1e-12 for v in values)
    # symmetric jitter: both halves of the range are used
    assert min(values) < 0.35 and max(values) > 0.45


def test_from_retry_defaults() -> None:
    b = Backoff.from_defaults(RetryDefaults(initial_delay=0.5, max_delay=2.0, jitter=0.0))
    assert (b.initial, b.max, b.multiplier, b.jitter) == (0.5, 2.0, 2.0, 0.0)
    assert b.delay(10) == 2.0


def test_cap_applies_after_jitter() -> None:
    b = Backoff(1.0, 4.0, 2.0, 1.0, random.Random(7))
    assert b.bounds(3) == (0.0, 4.0)  # base 4: jitter ±100 % is clamped to [0, max]
    assert all(0.0 <= b.delay(3) <= 4.0 for _ in range(200))


def test_huge_attempt_does_not_overflow() -> None:
    b = Backoff(0.1, 30.0, 100.0, 0.25, random.Random(0))
    assert b.base(10**6) == 30.0
    assert 22.5 <= b.delay(10**6) <= 30.0


def test_zero_initial_means_no_wait() -> None:
    b = Backoff(0.0, 5.0, 2.0, 0.5)
    assert b.delay(1) == 0.0 and b.delay(10**5) == 0.0


def test_seeded_rng_is_reproducible() -> None:
    a = Backoff(0.1, 30, 2, 0.25, random.Random(42))
    b = Backoff(0.1, 30, 2, 0.25, random.Random(42))
    assert [a.delay(n) for n in range(1, 20)] == [b.delay(n) for n in range(1, 20)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": -1.0},
        {"initial": math.nan},
        {"max": math.inf},
        {"initial": 2.0, "max": 1.0},
        {"multiplier": 0.5},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"initial": "1"},
        {"max": True},
    ],
)
def test_bad_backoff_config(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"initial": 0.1, "max": 1.0, "multiplier": 2.0, "jitter": 0.1}
    args.update(kwargs)
    with pytest.raises(LocalProtocolError):
        Backoff(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("attempt", [0, -1, 1.5, True, "1"])
def test_bad_attempt(attempt: object) -> None:
    b = Backoff(0.1, 1.0)
    with pytest.raises(LocalProtocolError):
        b.delay(attempt)  # type: ignore[arg-type]


@given(
    initial=st.floats(0.0, 100.0),
    extra=st.floats(0.0, 1000.0),
    multiplier=st.floats(1.0, 100.0),
    jitter=st.floats(0.0, 1.0),
    attempt=st.integers(1, 10_000),
    seed=st.integers(0, 2**32),
)
def test_delay_within_bounds(
    initial: float, extra: float, multiplier: float, jitter: float, attempt: int, seed: int
) -> None:
    cap = initial + extra
    b = Backoff(initial, cap, multiplier, jitter, random.Random(seed))
    base = b.base(attempt)
    assert 0.0 <= base <= cap
    try:
        expected = 0.0 if initial == 0 else min(cap, initial * multiplier ** (attempt - 1))
    except OverflowError:
        expected = cap
    assert base == pytest.approx(expected)
    low, high = b.bounds(attempt)
    d = b.delay(attempt)
    assert 0.0 <= low <= d <= high <= cap
    assert low >= base * (1 - jitter) - 1e-9 and high <= base * (1 + jitter) + 1e-9


@given(st.integers(1, 200), st.floats(1.0, 10.0))
def test_base_is_monotonic(attempt: int, multiplier: float) -> None:
    b = Backoff(0.01, 60.0, multiplier)
    assert b.base(attempt) <= b.base(attempt + 1)


# -- CircuitBreaker -------------------------------------------------------------


def test_defaults_open_after_5_and_half_open_after_60s() -> None:
    clock = FakeClock()
    cb = CircuitBreaker.from_defaults(clock=clock)
    for _ in range(4):
        assert cb.allow()
        cb.record_failure()
    assert cb.state is CircuitState.CLOSED  # N-1 failures: still closed
    assert cb.allow()
    cb.record_failure()  # the 5th
    assert cb.state is CircuitState.OPEN
    assert cb.opened_at == 1000.0
    assert not cb.allow()
    assert cb.retry_after() == 60.0
    clock.now += 59.999
    assert cb.state is CircuitState.OPEN and not cb.allow()
    assert cb.retry_after() == pytest.approx(0.001)
    clock.now += 0.001
    assert cb.state is CircuitState.HALF_OPEN
    assert cb.retry_after() == 0.0


def test_probe_success_closes() -> None:
    clock = FakeClock()
    cb = CircuitBreaker(2, 10.0, clock=clock)
    cb.record_failure()
    cb.record_failure()
    clock.now += 10
    assert cb.allow()  # the probe
    assert not cb.allow()  # only one probe at a time
    cb.record_success()
    assert cb.state is CircuitState.CLOSED
    assert cb.allow() and cb.allow()
    cb.record_failure()  # count restarted: one failure does not open
    assert cb.state is CircuitState.CLOSED
    s = cb.stats
    assert (s.opens, s.half_opens, s.closes, s.rejected) == (1, 1, 1, 1)
    assert (s.successes, s.failures, s.consecutive_failures) == (1, 3, 1)


def test_probe_failure_reopens_for_another_timeout() -> None:
    clock = FakeClock()
    cb = CircuitBreaker(1, 5.0, clock=clock)
    cb.record_failure()
    clock.now += 5
    assert cb.allow()
    cb.record_failure()
    assert cb.state is CircuitState.OPEN
    assert cb.opened_at == 1005.0
    assert cb.retry_after() == 5.0
    assert cb.stats.opens == 2


def test_several_probes() -> None:
    clock = FakeClock()
    cb = CircuitBreaker(1, 1.0, half_open_max_probes=3, clock=clock)
    cb.record_failure()
    clock.now += 1
    assert [cb.allow() for _ in range(4)] == [True, True, True, False]


def test_success_resets_consecutive_count() -> None:
    cb = CircuitBreaker(3, 1.0, clock=FakeClock())
    for _ in range(10):
        cb.record_failure()
        cb.record_failure()
        cb.record_success()
    assert cb.state is CircuitState.CLOSED


def test_late_success_while_open_changes_nothing() -> None:
    cb = CircuitBreaker(1, 30.0, clock=FakeClock())
    cb.record_failure()
    cb.record_success()
    assert cb.state is CircuitState.OPEN
    assert cb.stats.successes == 1


def test_explicit_now_and_backwards_clock() -> None:
    cb = CircuitBreaker(1, 10.0, clock=FakeClock(0.0))
    cb.record_failure(now=100.0)
    assert cb.state_at(105.0) is CircuitState.OPEN
    assert cb.retry_after(now=50.0) == 5.0  # the reading went back: no time elapsed
    assert cb.state_at(110.0) is CircuitState.HALF_OPEN


def test_reset_and_refuse() -> None:
    cb = CircuitBreaker(1, 10.0, clock=FakeClock())
    cb.record_failure()
    exc = cb.refuse()
    assert isinstance(exc, CircuitOpen) and isinstance(exc, ConnectError)
    assert isinstance(exc, NetworkError) and isinstance(exc, OSError)
    assert exc.retry_after == 10.0
    copy = pickle.loads(pickle.dumps(exc))
    assert copy.retry_after == 10.0 and str(copy) == str(exc)
    cb.reset()
    assert cb.state is CircuitState.CLOSED and cb.allow()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_threshold": 0},
        {"failure_threshold": 1.5},
        {"reset_timeout": -1},
        {"reset_timeout": math.nan},
        {"half_open_max_probes": 0},
    ],
)
def test_bad_breaker_config(kwargs: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]


def test_thread_safe_counts() -> None:
    cb = CircuitBreaker(10**9, 1.0, clock=FakeClock())
    per_thread = 2000

    def work() -> None:
        for _ in range(per_thread):
            cb.allow()
            cb.record_failure()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    s = cb.stats
    assert s.failures == s.consecutive_failures == 4 * per_thread
    assert cb.state is CircuitState.CLOSED
