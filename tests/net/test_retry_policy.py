"""Retry on a fake clock with a recording sleep: what is retried, delays, deadlines, stats."""

from __future__ import annotations

import contextlib
import errno
import random
import socket
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import (
    AddressError,
    ConnectError,
    ConnectionClosed,
    LimitExceeded,
    LocalProtocolError,
    NetworkError,
    Phase,
    ProxyError,
    RemoteProtocolError,
    Timeout,
    TLSError,
)
from sockit.limits import RetryDefaults
from sockit.net.backoff import CircuitOpen
from sockit.net.retry import (
    Retry,
    default_retryable,
    parse_retry_after,
    unsent_failure,
)
from sockit.proto.http.dates import format_http_date

NO_JITTER = RetryDefaults(max_attempts=4, initial_delay=0.1, max_delay=1.0, jitter=0.0)


class FakeTime:
    """A clock and a sleep that advances it, recording each delay."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Script:
    """A callable that raises the scripted exceptions, then returns ``result``."""

    def __init__(self, *failures: BaseException, result: str = "ok") -> None:
        self.failures = list(failures)
        self.calls = 0
        self.result = result

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.result


def make(config: RetryDefaults = NO_JITTER, **kw: object) -> tuple[Retry, FakeTime]:
    t = FakeTime()
    retry = Retry(config, sleep=t.sleep, clock=t.clock, **kw)  # type: ignore[arg-type]
    return retry, t


def refused() -> ConnectError:
    return ConnectError(errno.ECONNREFUSED, "Connection refused")


# -- the predicate ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "idempotent_ok", "unsent"),
    [
        (refused(), True, True),
        (ConnectError("dns said no"), True, True),
        (Timeout("t", phase=Phase.CONNECT), True, True),
        (Timeout("t", phase=Phase.DNS), True, True),
        (Timeout("t", phase=Phase.TLS), True, True),
        (Timeout("t", phase=Phase.READ), True, False),
        (Timeout("t", phase=Phase.WRITE), True, False),
        (ConnectionClosed(errno.ECONNRESET, "reset"), True, False),
        (ConnectionClosed("peer went away"), True, False),
        (NetworkError(errno.ECONNRESET, "reset"), True, False),
        (NetworkError(errno.EHOSTUNREACH, "no route"), True, True),
        (OSError(errno.ECONNREFUSED, "raw refused"), True, True),
        (OSError(errno.EPIPE, "raw pipe"), True, False),
        (TimeoutError(), True, False),
        (AddressError(socket.EAI_AGAIN, "try again"), True, True),
        (AddressError(errno.EINVAL, "bad port"), False, False),
        (NetworkError(errno.EACCES, "denied"), False, False),
        (RemoteProtocolError("garbage"), False, False),
        (LocalProtocolError("misuse"), False, False),
        (LimitExceeded("big", limit="x", value=1), False, False),
        (TLSError("verification failed"), False, False),
        (ProxyError("refused", reply_code=2), False, False),
        (CircuitOpen("open", retry_after=3.0), False, False),
        (ValueError("bug"), False, False),
        (KeyboardInterrupt(), False, False),
    ],
)
def test_default_retryable(exc: BaseException, idempotent_ok: bool, unsent: bool) -> None:
    assert default_retryable(exc) is idempotent_ok
    assert unsent_failure(exc) is unsent
    retry = Retry()
    assert retry.is_retryable(exc) is idempotent_ok
    assert retry.is_retryable(exc, idempotent=False) is (idempotent_ok and unsent)


def test_retry_on_tuple_and_callable() -> None:
    by_type = Retry(retry_on=(KeyError,))
    assert by_type.is_retryable(KeyError("k")) and not by_type.is_retryable(refused())
    by_fn = Retry(retry_on=lambda e: "again" in str(e))
    assert by_fn.is_retryable(RuntimeError("again")) and not by_fn.is_retryable(RuntimeError("x"))


# -- call -------------------------------------------------------------------------------


def test_retries_then_succeeds_with_backoff_delays() -> None:
    retry, t = make()
    fn = Script(refused(), refused(), refused())
    assert retry.call(fn) == "ok"
    assert fn.calls == 4
    assert t.slept == pytest.approx([0.1, 0.2, 0.4])
    s = retry.stats
    assert (s.calls, s.attempts, s.retries, s.successes, s.giveups) == (1, 4, 3, 1, 0)


def test_gives_up_after_max_attempts_reraising_last() -> None:
    retry, t = make()
    errors = [ConnectError(errno.ECONNREFUSED, f"refused {i}") for i in range(10)]
    fn = Script(*errors)
    with pytest.raises(ConnectError) as info:
        retry.call(fn)
    assert info.value is errors[3]  # the 4th (last allowed) attempt's error
    assert fn.calls == 4 and len(t.slept) == 3
    s = retry.stats
    assert (s.calls, s.attempts, s.retries, s.successes, s.giveups) == (1, 4, 3, 0, 1)


@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_max_attempts_exact(attempts: int) -> None:
    # N attempts allowed: N-1 failures succeed, N failures give up
    ok, _ = make(NO_JITTER.replace(max_attempts=attempts))
    assert ok.call(Script(*[refused() for _ in range(attempts - 1)])) == "ok"
    bad, _ = make(NO_JITTER.replace(max_attempts=attempts))
    fn = Script(*[refused() for _ in range(attempts)])
    with pytest.raises(ConnectError):
        bad.call(fn)
    assert fn.calls == attempts


def test_non_retryable_raises_at_once() -> None:
    retry, t = make()
    fn = Script(RemoteProtocolError("bad bytes"))
    with pytest.raises(RemoteProtocolError):
        retry.call(fn)
    assert fn.calls == 1 and t.slept == []
    assert retry.stats.giveups == 1 and retry.stats.retries == 0


def test_bug_in_fn_is_not_retried() -> None:
    retry, _ = make()
    fn = Script(ZeroDivisionError())
    with pytest.raises(ZeroDivisionError):
        retry.call(fn)
    assert fn.calls == 1


def test_non_idempotent_only_retries_unsent() -> None:
    retry, _ = make()
    fn = Script(refused(), ConnectionClosed(errno.ECONNRESET, "reset"))
    with pytest.raises(ConnectionClosed):
        retry.call(fn, idempotent=False)
    assert fn.calls == 2  # the refused connect was retried, the reset was not
    fn2 = Script(Timeout("read", phase=Phase.READ))
    retry2, _ = make()
    assert retry2.call(fn2) == "ok"  # idempotent: a read timeout is retried


def test_deadline_respected() -> None:
    retry, t = make(NO_JITTER.replace(max_attempts=10))
    fn = Script(*[refused() for _ in range(10)])
    # waits 0.1, 0.2 (t=100.3); the next wait 0.4 would end at 100.7 > 100.5
    with pytest.raises(ConnectError):
        retry.call(fn, deadline=100.5)
    assert t.slept == pytest.approx([0.1, 0.2])
    assert fn.calls == 3


def test_timeout_relative_and_earliest_wins() -> None:
    retry, t = make(NO_JITTER.replace(max_attempts=10))
    fn = Script(*[refused() for _ in range(10)])
    with pytest.raises(ConnectError):
        retry.call(fn, timeout=0.35, deadline=1000.0)
    assert t.slept == pytest.approx([0.1, 0.2])
    with pytest.raises(LocalProtocolError):
        retry.call(fn, timeout=float("nan"))


def test_deadline_exactly_reachable() -> None:
    retry, t = make()
    fn = Script(refused())
    assert retry.call(fn, deadline=100.1) == "ok"  # ends exactly at the deadline: allowed
    assert t.slept == pytest.approx([0.1])


def test_exception_retry_after_is_honoured_and_capped() -> None:
    retry, t = make(retry_on=lambda e: True)
    fn = Script(CircuitOpen("open", retry_after=0.7), CircuitOpen("open", retry_after=500.0))
    assert retry.call(fn) == "ok"
    assert t.slept == pytest.approx([0.7, 1.0])  # 500 s is capped at max_delay


def test_retry_after_never_shortens_backoff_and_can_be_ignored() -> None:
    retry, _ = make()
    assert retry.delay_for(3, retry_after=0.0) == pytest.approx(0.4)
    assert retry.delay_for(1, retry_after=0.5) == pytest.approx(0.5)
    assert retry.delay_for(1, retry_after=1e12) == pytest.approx(1.0)
    assert retry.delay_for(1, retry_after=float("nan")) == pytest.approx(0.1)
    ignoring, _ = make(respect_retry_after=False)
    assert ignoring.delay_for(1, retry_after=0.5) == pytest.approx(0.1)


def test_delays_with_jitter_stay_in_bounds() -> None:
    config = RetryDefaults(max_attempts=6, initial_delay=0.1, max_delay=1.0, jitter=0.25)
    retry, t = make(config, rng=random.Random(3))
    retry.call(Script(*[refused() for _ in range(5)]))
    for n, d in enumerate(t.slept, 1):
        base = min(1.0, 0.1 * 2 ** (n - 1))
        assert max(0.0, base * 0.75) - 1e-12 <= d <= min(1.0, base * 1.25) + 1e-12


# -- attempts() -------------------------------------------------------------------------


def test_attempts_loop_swallows_retryable_and_exposes_numbers() -> None:
    retry, t = make()
    seen: list[int] = []
    result = None
    for attempt in retry.attempts():
        with attempt:
            seen.append(attempt.number)
            if attempt.number < 3:
                raise refused()
            result = "done"
    assert result == "done" and seen == [1, 2, 3]
    assert t.slept == pytest.approx([0.1, 0.2])
    s = retry.stats
    assert (s.calls, s.attempts, s.retries, s.successes, s.giveups) == (1, 3, 2, 1, 0)


def test_attempts_loop_last_error_propagates() -> None:
    retry, _ = make()
    count = 0
    with pytest.raises(ConnectError) as info:
        for attempt in retry.attempts():
            with attempt:
                count += 1
                raise ConnectError(errno.ECONNREFUSED, f"n{attempt.number}")
    assert count == 4 and "n4" in str(info.value)


def test_attempts_loop_non_retryable_propagates_at_once() -> None:
    retry, _ = make()
    numbers = []
    with pytest.raises(TLSError):
        for attempt in retry.attempts():
            numbers.append(attempt.number)
            with attempt:
                raise TLSError("bad cert")
    assert numbers == [1]


def test_attempt_records_error_and_delay() -> None:
    retry, _ = make()
    kept = []
    for attempt in retry.attempts():
        kept.append(attempt)
        with attempt:
            if attempt.number == 1:
                raise refused()
    assert isinstance(kept[0].error, ConnectError) and kept[0].delay == pytest.approx(0.1)
    assert kept[1].error is None and kept[1].delay is None


def test_stats_exact_across_threads() -> None:
    retry = Retry(NO_JITTER, sleep=lambda s: None)
    calls_per_thread = 200

    def work() -> None:
        for i in range(calls_per_thread):
            fn = Script(*[refused() for _ in range(i % 6)])  # 0..5 failures; >= 4 gives up
            with contextlib.suppress(ConnectError):
                retry.call(fn)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(20)
    # per 6 calls: failures 0,1,2,3 succeed (attempts 1..4), 4 and 5 give up after 4
    rounds = 4 * calls_per_thread
    full, rest = divmod(calls_per_thread, 6)
    per_thread_attempts = full * (1 + 2 + 3 + 4 + 4 + 4) + sum(min(i + 1, 4) for i in range(rest))
    per_thread_giveups = full * 2 + sum(1 for i in range(rest) if i >= 4)
    s = retry.stats
    assert s.calls == rounds
    assert s.attempts == 4 * per_thread_attempts
    assert s.giveups == 4 * per_thread_giveups
    assert s.successes == rounds - s.giveups
    assert s.attempts == s.calls + s.retries


# -- statuses and Retry-After parsing ----------------------------------------------------


def test_should_retry_status() -> None:
    retry = Retry()
    assert retry.should_retry_status("GET", 503)
    assert retry.should_retry_status(b"PUT", 502)
    assert not retry.should_retry_status("POST", 503)
    assert not retry.should_retry_status("GET", 500)
    assert not retry.should_retry_status("get", 503)  # methods are case-sensitive
    custom = Retry(methods=frozenset({"POST"}), statuses=frozenset({429}))
    assert custom.should_retry_status("POST", 429) and not custom.should_retry_status("GET", 429)


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(b" 0 ") == 0.0
    assert parse_retry_after(format_http_date(now + 30), now=now) == 30.0
    assert parse_retry_after(format_http_date(now - 30), now=now) == 0.0
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now=now) == 0.0
    for bad in ("-5", "1.5", "soon", "", "\uff11\uff12", "Sun, 32 Nov 1994 08:49:37 GMT", None):
        assert parse_retry_after(bad, now=now) is None
    huge = parse_retry_after("9" * 400)
    assert huge is not None and huge > 1e18
    retry, _ = make()
    assert retry.delay_for(1, retry_after=huge) == 1.0


@given(st.binary(max_size=64))
def test_parse_retry_after_arbitrary_bytes(data: bytes) -> None:
    value = parse_retry_after(data, now=1e9)
    assert value is None or value >= 0.0
