"""TokenBucket on fake clocks: refill, limits, backwards clocks, reconfigure, threads."""

from __future__ import annotations

import threading

import pytest

from sockit.errors import LocalProtocolError
from sockit.limits import RateLimitDefaults
from sockit.net.ratelimit import TokenBucket


class FakeClock:
    def __init__(self, now: float = 50.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_starts_full_and_refills_at_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    assert bucket.tokens == 5
    assert all(bucket.try_acquire() for _ in range(5))
    assert not bucket.try_acquire()
    clock.now += 0.1  # one token
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    clock.now += 100  # capped at burst
    assert bucket.tokens == 5
    assert bucket.try_acquire(5)
    assert bucket.tokens == 0


def test_wait_time() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=4, burst=8, clock=clock)
    assert bucket.wait_time(8) == 0.0
    assert bucket.try_acquire(8)
    assert bucket.wait_time(1) == pytest.approx(0.25)
    assert bucket.wait_time(8) == pytest.approx(2.0)
    clock.now += 1.0
    assert bucket.wait_time(8) == pytest.approx(1.0)
    assert bucket.wait_time(0) == 0.0


@pytest.mark.parametrize("n", [9, -1, float("nan"), "1", True])
def test_impossible_or_bad_amounts_are_local_errors(n: object) -> None:
    bucket = TokenBucket(rate=1, burst=8, clock=FakeClock())
    for op in (bucket.try_acquire, bucket.wait_time, bucket.acquire):
        with pytest.raises(LocalProtocolError):
            op(n)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rate", "burst"), [(0, 1), (-1, 1), (1, 0), (float("inf"), 1), (1, float("nan")), ("1", 1)]
)
def test_bad_config_is_value_error(rate: object, burst: object) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)  # type: ignore[arg-type]


def test_fractional_tokens() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1000, burst=1500, clock=clock)  # a bytes/s bucket
    assert bucket.try_acquire(1499.5)
    assert not bucket.try_acquire(1)
    assert bucket.try_acquire(0.5)


def test_backwards_clock_adds_nothing_and_is_not_trusted() -> None:
    clock = FakeClock(100.0)
    bucket = TokenBucket(rate=1, burst=10, clock=clock)
    assert bucket.try_acquire(10)
    clock.now = 90.0  # jump back 10 s
    assert bucket.tokens == 0  # no negative time, no tokens taken away either
    clock.now = 95.0  # forward again, but still below the highest reading
    assert bucket.tokens == 0
    clock.now = 102.0  # past the highest reading: only 2 s count
    assert bucket.tokens == pytest.approx(2.0)
    # oscillating clocks cannot mint tokens
    assert bucket.try_acquire(2)
    for _ in range(100):
        clock.now = 0.0
        bucket.try_acquire(0)
        clock.now = 102.0
        bucket.try_acquire(0)
    assert bucket.tokens == 0


def test_reconfigure_keeps_tokens_capped() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=10, clock=clock)
    assert bucket.try_acquire(4)  # 6 left
    bucket.reconfigure(burst=100)
    assert bucket.tokens == 6  # raising burst creates nothing
    assert bucket.burst == 100
    bucket.reconfigure(burst=3)
    assert bucket.tokens == 3  # capped
    clock.now += 1.0
    bucket.reconfigure(rate=10)  # the elapsed second was credited at the old rate
    assert bucket.tokens == 3  # (still capped by burst 3)
    assert bucket.rate == 10
    bucket.reconfigure(burst=50)
    clock.now += 1.0
    assert bucket.tokens == pytest.approx(13)
    with pytest.raises(ValueError):
        bucket.reconfigure(rate=0)
    assert bucket.rate == 10  # a rejected reconfigure changes nothing


def test_acquire_sleeps_on_the_fake_clock() -> None:
    clock = FakeClock()
    slept: list[float] = []

    def sleep(dt: float) -> None:
        slept.append(dt)
        clock.now += dt

    bucket = TokenBucket(rate=2, burst=2, clock=clock, sleep=sleep)
    assert bucket.acquire(2)
    assert slept == []
    assert bucket.acquire(1)
    assert slept == [pytest.approx(0.5)]
    assert not bucket.acquire(2, timeout=0.5)  # needs 1 s: fails without sleeping
    assert slept == [pytest.approx(0.5)]
    assert bucket.acquire(2, timeout=1.5)
    assert not bucket.acquire(1, timeout=0)
    with pytest.raises(LocalProtocolError):
        bucket.acquire(1, timeout=-1)


def test_acquire_real_clock_short() -> None:
    bucket = TokenBucket(rate=200, burst=1)
    assert bucket.try_acquire()
    assert bucket.acquire(1, timeout=5.0)  # ~5 ms of real sleep


def test_from_defaults() -> None:
    bucket = TokenBucket.from_defaults(clock=FakeClock())
    assert bucket.rate == 100.0 and bucket.burst == 50
    custom = TokenBucket.from_defaults(RateLimitDefaults(connections_per_second=5, burst=2))
    assert custom.rate == 5 and custom.burst == 2
    assert "TokenBucket" in repr(custom)


def test_threads_frozen_clock_exact_count() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=1000, clock=clock)
    successes = [0] * 8
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        for _ in range(400):
            if bucket.try_acquire():
                successes[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sum(successes) == 1000  # 3200 attempts, exactly burst succeed
    assert bucket.tokens == 0
