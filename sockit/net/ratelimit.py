"""A thread-safe token bucket for connection and bandwidth rate limiting.

The bucket holds up to ``burst`` tokens and gains ``rate`` tokens per second of
its clock; it starts full. Tokens are floats, so a byte-rate bucket can be
charged any amount.

Decisions that matter to callers:

* **The clock is not trusted to move forwards.** A reading lower than the
  highest one seen so far counts as no elapsed time, and tokens accrue again only
  once the clock passes that highest reading. A clock that steps back and forth
  therefore cannot mint tokens, and tokens are never taken away by time.
* **Asking for more than** ``burst`` can never succeed, so it is a
  :class:`~sockit.errors.LocalProtocolError` (split the request) rather than a
  ``False`` or an endless wait. A negative amount is one too; ``0`` always succeeds.
* :meth:`TokenBucket.reconfigure` keeps the tokens the bucket holds, capped at the
  new ``burst``: changing the configuration never creates tokens.
* :meth:`TokenBucket.acquire` blocks by sleeping (``sleep`` is injectable for
  tests) and is not FIFO-fair between threads.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from sockit.errors import LocalProtocolError
from sockit.limits import RateLimitDefaults

__all__ = ["TokenBucket"]


def _check_config(rate: float, burst: float) -> tuple[float, float]:
    for name, value in (("rate", rate), ("burst", burst)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"TokenBucket {name} must be a number, not {value!r}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"TokenBucket {name} must be finite and > 0, not {value!r}")
    return float(rate), float(burst)


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` banked; safe to share between threads."""

    def __init__(
        self,
        rate: float,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._rate, self._burst = _check_config(rate, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self._burst
        self._last = clock()  # the highest clock reading seen

    @classmethod
    def from_defaults(
        cls,
        defaults: RateLimitDefaults | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> TokenBucket:
        """A connection-rate bucket from :class:`~sockit.limits.RateLimitDefaults`."""
        d = defaults if defaults is not None else RateLimitDefaults()
        return cls(d.connections_per_second, d.burst, clock)

    def __repr__(self) -> str:
        return f"<TokenBucket rate={self._rate!r}/s burst={self._burst!r} tokens={self.tokens:.3f}>"

    @property
    def rate(self) -> float:
        """Tokens gained per second."""
        return self._rate

    @property
    def burst(self) -> float:
        """The most tokens the bucket can hold."""
        return self._burst

    @property
    def tokens(self) -> float:
        """Tokens available now."""
        with self._lock:
            self._refill()
            return self._tokens

    def _refill(self) -> None:
        """Credit the time elapsed since the highest reading seen (lock held)."""
        now = self._clock()
        if now > self._last:
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
        # now <= last: the clock stood still or went back; nothing elapsed

    def _check_amount(self, n: float) -> float:
        if isinstance(n, bool) or not isinstance(n, (int, float)) or not math.isfinite(n):
            raise LocalProtocolError(f"token amount must be a finite number, not {n!r}")
        if n < 0:
            raise LocalProtocolError(f"token amount must not be negative, not {n!r}")
        if n > self._burst:
            raise LocalProtocolError(
                f"cannot take {n!r} tokens from a bucket whose burst is {self._burst!r}"
            )
        return float(n)

    def try_acquire(self, n: float = 1) -> bool:
        """Take ``n`` tokens if they are there now; never blocks."""
        with self._lock:
            amount = self._check_amount(n)
            self._refill()
            if self._tokens >= amount:
                self._tokens -= amount
                return True
            return False

    def wait_time(self, n: float = 1) -> float:
        """Seconds until ``n`` tokens will be available (``0.0`` if they are now)."""
        with self._lock:
            amount = self._check_amount(n)
            self._refill()
            return self._deficit_time(amount)

    def _deficit_time(self, amount: float) -> float:
        missing = amount - self._tokens
        return missing / self._rate if missing > 0 else 0.0

    def acquire(self, n: float = 1, timeout: float | None = None) -> bool:
        """Take ``n`` tokens, sleeping until they are there; True once taken.

        Returns False as soon as the tokens cannot arrive within ``timeout``
        seconds of the bucket's clock (it does not sleep out a hopeless wait).
        ``None`` waits as long as needed; ``0`` behaves like :meth:`try_acquire`.
        """
        if timeout is not None and (math.isnan(timeout) or timeout < 0):
            raise LocalProtocolError(f"timeout must be >= 0 or None, not {timeout!r}")
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            with self._lock:
                amount = self._check_amount(n)
                self._refill()
                if self._tokens >= amount:
                    self._tokens -= amount
                    return True
                delay = self._deficit_time(amount)
            if deadline is not None:
                left = deadline - self._clock()
                if left <= 0 or delay > left:
                    # the tokens cannot arrive in time: fail now instead of at the deadline
                    return False
            self._sleep(delay)

    def reconfigure(self, rate: float | None = None, burst: float | None = None) -> None:
        """Change ``rate`` and/or ``burst``; the tokens held are kept, capped at ``burst``."""
        with self._lock:
            new_rate, new_burst = _check_config(
                self._rate if rate is None else rate, self._burst if burst is None else burst
            )
            self._refill()  # credit the time so far at the old rate
            self._rate, self._burst = new_rate, new_burst
            self._tokens = min(self._tokens, new_burst)
