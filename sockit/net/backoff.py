"""Exponential backoff with jitter, and a circuit breaker, shared by retry and reconnect.

Backoff formula (``attempt`` counts from 1)::

    base(n)  = min(max_delay, initial * multiplier ** (n - 1))
    delay(n) = clamp(base(n) * (1 + jitter * u), 0, max_delay)   u uniform in [-1, 1]

so with the defaults (0.1 s, x2, jitter 0.25, cap 30 s) the third delay lies in
``[0.3, 0.5]``. Jitter spreads clients that failed together (a server restart)
so they do not come back in lock-step; it is symmetric, so the *mean* delay is
the un-jittered one, and the cap applies after jitter, so no delay ever exceeds
``max_delay`` nor goes below zero.

The :class:`CircuitBreaker` stops hammering a peer that keeps failing:

* ``CLOSED``: calls go through; ``failure_threshold`` *consecutive* failures
  open it (a success resets the count).
* ``OPEN``: calls are refused until ``reset_timeout`` seconds after it opened.
* ``HALF_OPEN``: up to ``half_open_max_probes`` calls are let through as
  probes; the first probe success closes the circuit, a probe failure opens it
  again for another ``reset_timeout``.

The breaker never raises from its hot methods and is safe to share between
threads (one lock). Every method that depends on time takes an optional
``now``, so a caller driven by a reactor can pass the loop's time; without it
the breaker reads its ``clock``. Readings that go backwards count as no time
elapsed. Results recorded in a state they do not belong to (a late success
while ``OPEN``) are counted in :attr:`CircuitBreaker.stats` but change nothing:
they come from calls started before the circuit opened.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import random
import threading
import time
from collections.abc import Callable

from sockit.errors import ConnectError, LocalProtocolError
from sockit.limits import ReconnectDefaults, RetryDefaults

__all__ = ["Backoff", "CircuitBreaker", "CircuitOpen", "CircuitState", "CircuitStats"]


def _number(name: str, value: float, lo: float, hi: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LocalProtocolError(f"{name} must be a number, not {value!r}")
    if math.isnan(value) or not lo <= value <= hi:
        raise LocalProtocolError(f"{name} must be in [{lo}, {hi}], not {value!r}")
    return float(value)


def _count(name: str, value: int, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise LocalProtocolError(f"{name} must be an integer >= {lo}, not {value!r}")
    return value


class CircuitOpen(ConnectError):
    """Refused without trying: the circuit breaker says the peer is down.

    ``retry_after`` is how many seconds remain until the breaker lets a probe
    through. It is a :class:`~sockit.errors.ConnectError`, so code that handles
    failed connects handles it too; callers that want to fail fast can catch it
    first and skip their own backoff.
    """

    def __init__(self, message: str, *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Backoff:
    """Exponential delays with symmetric jitter (formula in the module docs).

    ``rng`` is injectable so tests, and callers that want reproducible
    schedules, can seed it; each instance otherwise gets its own generator.
    Not cryptographic: jitter only needs to de-synchronise clients.
    """

    def __init__(
        self,
        initial: float,
        max: float,
        multiplier: float = 2.0,
        jitter: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self._initial = _number("initial", initial, 0.0)
        self._max = _number("max", max, 0.0)
        self._multiplier = _number("multiplier", multiplier, 1.0)
        self._jitter = _number("jitter", jitter, 0.0, 1.0)
        if self._initial > self._max or math.isinf(self._max):
            raise LocalProtocolError(
                f"backoff needs a finite max >= initial, got initial={initial!r} max={max!r}"
            )
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - not crypto

    @classmethod
    def from_defaults(
        cls, defaults: RetryDefaults | ReconnectDefaults, rng: random.Random | None = None
    ) -> Backoff:
        """A backoff with the delays of a retry or reconnect configuration."""
        return cls(
            defaults.initial_delay,
            defaults.max_delay,
            defaults.multiplier,
            defaults.jitter,
            rng,
        )

    def __repr__(self) -> str:
        return (
            f"<Backoff initial={self._initial!r} max={self._max!r} "
            f"multiplier={self._multiplier!r} jitter={self._jitter!r}>"
        )

    @property
    def initial(self) -> float:
        """The first delay before jitter."""
        return self._initial

    @property
    def max(self) -> float:
        """No delay is ever longer than this, jitter included."""
        return self._max

    @property
    def multiplier(self) -> float:
        """Growth factor from one attempt to the next."""
        return self._multiplier

    @property
    def jitter(self) -> float:
        """Half-width of the random spread, as a fraction of the base delay."""
        return self._jitter

    def base(self, attempt: int) -> float:
        """The un-jittered delay after failed attempt ``attempt`` (1-based)."""
        _count("attempt", attempt, 1)
        if self._initial == 0.0:
            return 0.0
        try:
            grown = self._initial * self._multiplier ** (attempt - 1)
        except OverflowError:  # huge attempt numbers: far beyond any cap
            return self._max
        return min(self._max, grown)

    def bounds(self, attempt: int) -> tuple[float, float]:
        """The smallest and largest value :meth:`delay` can return for ``attempt``."""
        base = self.base(attempt)
        low = max(0.0, base * (1.0 - self._jitter))
        high = min(self._max, base * (1.0 + self._jitter))
        return low, high

    def delay(self, attempt: int) -> float:
        """A jittered delay for ``attempt`` (1-based), within :meth:`bounds`."""
        base = self.base(attempt)
        if self._jitter == 0.0 or base == 0.0:
            return base
        spread = self._jitter * (2.0 * self._rng.random() - 1.0)
        return min(self._max, max(0.0, base * (1.0 + spread)))


class CircuitState(enum.Enum):
    """Where a :class:`CircuitBreaker` is (see the module docs)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclasses.dataclass(slots=True)
class CircuitStats:
    """Counters of a :class:`CircuitBreaker`; a snapshot copy is handed out."""

    successes: int = 0
    failures: int = 0
    rejected: int = 0  # allow() answered False
    opens: int = 0  # CLOSED/HALF_OPEN -> OPEN
    half_opens: int = 0  # OPEN -> HALF_OPEN
    closes: int = 0  # HALF_OPEN -> CLOSED
    consecutive_failures: int = 0


class CircuitBreaker:
    """Fail fast against a peer that keeps failing; probe it now and then."""

    def __init__(
        self,
        failure_threshold: int = ReconnectDefaults().circuit_failure_threshold,
        reset_timeout: float = ReconnectDefaults().circuit_reset_timeout,
        half_open_max_probes: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = _count("failure_threshold", failure_threshold, 1)
        self._reset_timeout = _number("reset_timeout", reset_timeout, 0.0)
        self._max_probes = _count("half_open_max_probes", half_open_max_probes, 1)
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._opened_at: float | None = None
        self._probes = 0  # probes let through in the current HALF_OPEN period
        self._stats = CircuitStats()
        self._last = -math.inf  # highest clock reading seen

    @classmethod
    def from_defaults(
        cls,
        defaults: ReconnectDefaults | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> CircuitBreaker:
        """A breaker with the threshold and reset timeout of a reconnect configuration."""
        d = defaults if defaults is not None else ReconnectDefaults()
        return cls(d.circuit_failure_threshold, d.circuit_reset_timeout, clock=clock)

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.state.value} threshold={self._threshold}>"

    @property
    def failure_threshold(self) -> int:
        """Consecutive failures that open the circuit."""
        return self._threshold

    @property
    def reset_timeout(self) -> float:
        """Seconds the circuit stays open before probes are allowed."""
        return self._reset_timeout

    def _now(self, now: float | None) -> float:
        """A time reading that never goes backwards (lock held)."""
        reading = self._clock() if now is None else now
        self._last = max(self._last, reading)
        return self._last

    def _advance(self, now: float) -> None:
        """OPEN becomes HALF_OPEN once the reset timeout has passed (lock held)."""
        if (
            self._state is CircuitState.OPEN
            and self._opened_at is not None
            and now >= self._opened_at + self._reset_timeout
        ):
            self._state = CircuitState.HALF_OPEN
            self._probes = 0
            self._stats.half_opens += 1

    def _open(self, now: float) -> None:
        self._state = CircuitState.OPEN
        self._opened_at = now
        self._probes = 0
        self._stats.opens += 1

    def state_at(self, now: float | None = None) -> CircuitState:
        """The state at ``now`` (default: the clock), applying the reset timeout."""
        with self._lock:
            self._advance(self._now(now))
            return self._state

    @property
    def state(self) -> CircuitState:
        """The state now (reading the clock)."""
        return self.state_at()

    @property
    def opened_at(self) -> float | None:
        """When the circuit last opened (clock time), ``None`` if it never did."""
        with self._lock:
            return self._opened_at

    @property
    def stats(self) -> CircuitStats:
        """A snapshot of the counters."""
        with self._lock:
            return dataclasses.replace(self._stats)

    def allow(self, now: float | None = None) -> bool:
        """Whether a call may go ahead now; in HALF_OPEN this uses up a probe slot."""
        with self._lock:
            self._advance(self._now(now))
            if self._state is CircuitState.CLOSED:
                return True
            if self._state is CircuitState.HALF_OPEN and self._probes < self._max_probes:
                self._probes += 1
                return True
            self._stats.rejected += 1
            return False

    def record_success(self, now: float | None = None) -> None:
        """A call succeeded: reset the failure count; a probe success closes the circuit."""
        with self._lock:
            self._advance(self._now(now))
            self._stats.successes += 1
            if self._state is CircuitState.HALF_OPEN:
                self._state = CircuitState.CLOSED
                self._probes = 0
                self._stats.closes += 1
            if self._state is CircuitState.CLOSED:
                self._stats.consecutive_failures = 0

    def record_failure(self, now: float | None = None) -> None:
        """A call failed: count it; the threshold or a failed probe opens the circuit."""
        with self._lock:
            moment = self._now(now)
            self._advance(moment)
            self._stats.failures += 1
            if self._state is CircuitState.HALF_OPEN:
                self._open(moment)
            elif self._state is CircuitState.CLOSED:
                self._stats.consecutive_failures += 1
                if self._stats.consecutive_failures >= self._threshold:
                    self._open(moment)

    def retry_after(self, now: float | None = None) -> float:
        """Seconds until probes are allowed (``0.0`` unless the circuit is OPEN)."""
        with self._lock:
            moment = self._now(now)
            self._advance(moment)
            if self._state is not CircuitState.OPEN or self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self._reset_timeout - moment)

    def reset(self) -> None:
        """Force the circuit CLOSED and forget the failure count (an operator override)."""
        with self._lock:
            self._state = CircuitState.CLOSED
            self._probes = 0
            self._stats.consecutive_failures = 0

    def refuse(self, now: float | None = None) -> CircuitOpen:
        """A :class:`CircuitOpen` describing the current refusal, for callers to raise."""
        wait = self.retry_after(now)
        return CircuitOpen(f"circuit open; next probe in {wait:.3g} s", retry_after=wait)
