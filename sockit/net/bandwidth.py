"""Per-socket bandwidth limiting: a byte-denominated token bucket.

Attach a :class:`BandwidthLimiter` to a socket's ``send_limiter`` or
``recv_limiter`` (or call ``sock.limit_bandwidth(...)``). The bucket holds up
to ``burst`` bytes and refills at ``rate`` bytes per second:

* a blocking send waits (through the limiter's ``sleep``) until tokens are
  there, within the call's timeout;
* a non-blocking ``try_send`` sends what the bucket allows right now and
  returns a ``SendResult`` whose ``retry_after`` says how long to wait;
* a datagram is all or nothing: it waits for (or reports) enough tokens for
  the whole datagram, a datagram larger than ``burst`` waits for a full bucket
  and leaves it in debt, so the long-run rate still holds.

The clock and the sleep function are injectable, so tests run on a fake clock.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from sockit.errors import LocalProtocolError

__all__ = ["BandwidthLimiter"]


class BandwidthLimiter:
    """A thread-safe token bucket counting bytes.

    ``rate`` is bytes per second (> 0); ``burst`` is the bucket size in bytes
    (default: one second's worth, at least 1). The bucket starts full.
    """

    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)):
            raise LocalProtocolError(f"rate must be a number of bytes per second, not {rate!r}")
        if not math.isfinite(rate) or rate <= 0:
            raise LocalProtocolError(f"rate must be a finite number > 0, not {rate!r}")
        if burst is None:
            burst = max(1, int(rate))
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise LocalProtocolError(f"burst must be an integer >= 1, not {burst!r}")
        self._rate = float(rate)
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        """Refill rate in bytes per second."""
        return self._rate

    @property
    def burst(self) -> int:
        """Bucket capacity in bytes."""
        return self._burst

    def _refill(self) -> None:
        now = self._clock()
        elapsed = now - self._stamp
        if elapsed > 0:
            self._tokens = min(float(self._burst), self._tokens + elapsed * self._rate)
        self._stamp = now

    def available(self) -> int:
        """Whole bytes that may be sent right now (0 while in debt)."""
        with self._lock:
            self._refill()
            return max(0, int(self._tokens))

    def consume(self, n: int) -> None:
        """Take ``n`` bytes out of the bucket; it may go into debt."""
        if n <= 0:
            return
        with self._lock:
            self._refill()
            self._tokens -= n

    def wait_time(self, n: int) -> float:
        """Seconds until ``min(n, burst)`` bytes are available (0.0 if now)."""
        need = min(max(n, 1), self._burst)
        with self._lock:
            self._refill()
            missing = need - self._tokens
        return 0.0 if missing <= 0 else missing / self._rate

    def sleep(self, seconds: float) -> None:
        """Sleep with the limiter's sleep function (fake in tests)."""
        if seconds > 0:
            self._sleep(seconds)

    def __repr__(self) -> str:
        return f"BandwidthLimiter(rate={self._rate:g}, burst={self._burst})"
