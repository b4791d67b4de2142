"""Retry a failed operation with exponential backoff, for errors worth retrying.

``Retry(config).call(fn)`` runs ``fn`` up to ``max_attempts`` times in all,
sleeping :class:`~sockit.net.backoff.Backoff` delays between attempts; a loop
that needs the attempt number uses :meth:`Retry.attempts`::

    for attempt in retry.attempts():
        with attempt:
            response = fetch(attempt.number)

A retryable exception inside ``with attempt`` is swallowed and the loop goes on
after the delay; the last one (or any non-retryable one) propagates unchanged.

What is worth retrying (:func:`default_retryable`): failures that say nothing
about the peer's state and may pass — refused or unreachable connects, resets,
closed connections, timeouts — but never protocol errors, TLS failures, proxy
refusals or an open circuit breaker: repeating those gets the same answer.
Work that is **not idempotent** (``idempotent=False``) is retried only when the
failure proves nothing was sent (:func:`unsent_failure`: a failed connect or a
timeout before the request phase), because a reset after sending may mean the
peer already acted on it.

Delays: ``delay_for(n, retry_after)`` is the backoff delay for attempt ``n``,
raised to the peer's ``Retry-After`` when that is longer, and never more than
``max_delay`` (a hostile ``Retry-After: 99999999`` cannot park a client). An
exception carrying a ``retry_after`` attribute in seconds (like
:class:`~sockit.net.backoff.CircuitOpen`) is treated the same way. A deadline
is respected by not *starting* a wait that would end past it: the last error
is raised at once instead of sleeping in vain. ``fn`` itself is not cut short.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TypeVar

from sockit.errors import (
    AddressError,
    ConnectError,
    ConnectionClosed,
    LocalProtocolError,
    Phase,
    ProtocolError,
    ProxyError,
    Timeout,
    TLSError,
)
from sockit.limits import RetryDefaults
from sockit.net.backoff import Backoff, CircuitOpen
from sockit.proto.http.dates import try_parse_http_date
from sockit.proto.http.methods import IDEMPOTENT_METHODS

__all__ = [
    "DEFAULT_STATUSES",
    "IDEMPOTENT",
    "Attempt",
    "Retry",
    "RetryStats",
    "default_retryable",
    "parse_retry_after",
    "unsent_failure",
]

_R = TypeVar("_R")

#: Methods retried by default: repeating them has the effect of doing them once.
IDEMPOTENT = IDEMPOTENT_METHODS
#: Statuses that mean "try again later" from a gateway or an overloaded server.
DEFAULT_STATUSES = frozenset({502, 503, 504})

# Phases that end before the request is written: a timeout there sent nothing.
_UNSENT_PHASES = frozenset(
    {Phase.DNS, Phase.CONNECT, Phase.TLS, Phase.PROXY, Phase.POOL, Phase.HANDSHAKE}
)
# Errnos where the connection never carried data.
_UNSENT_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
        errno.ENETDOWN,
        errno.EADDRNOTAVAIL,
    }
)
# Errnos where the connection died, maybe after the peer got our bytes.
_DROPPED_ERRNOS = frozenset(
    {errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT, errno.ENOTCONN}
)
_TRANSIENT_DNS = frozenset({getattr(socket, "EAI_AGAIN", -3)})
_NEVER = (ProtocolError, TLSError, ProxyError, CircuitOpen)


def unsent_failure(exc: BaseException) -> bool:
    """Whether ``exc`` proves nothing reached the peer (safe to retry anything)."""
    if isinstance(exc, _NEVER):
        return False
    if isinstance(exc, Timeout):
        return exc.phase in _UNSENT_PHASES
    if isinstance(exc, AddressError):
        return exc.errno in _TRANSIENT_DNS  # a bad address stays bad
    if isinstance(exc, ConnectError):
        return True
    return isinstance(exc, OSError) and exc.errno in _UNSENT_ERRNOS


def default_retryable(exc: BaseException) -> bool:
    """Whether ``exc`` is worth another try for idempotent work (module docs)."""
    if unsent_failure(exc):
        return True
    if isinstance(exc, (*_NEVER, AddressError)):
        return False
    if isinstance(exc, (ConnectionClosed, TimeoutError)):  # Timeout of any phase included
        return True
    return isinstance(exc, OSError) and exc.errno in _DROPPED_ERRNOS


def parse_retry_after(value: str | bytes | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or an HTTP-date).

    ``now`` is the wall-clock POSIX time a date is measured from (default
    :func:`time.time`); a date in the past means ``0.0``. Anything malformed is
    ``None`` (RFC 9110 lets a client ignore it).
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip(" \t")
    if text.isascii() and text.isdigit():
        return float(int(text[:20]))  # more than 20 digits is capped later anyway
    wall = time.time() if now is None else now
    when = try_parse_http_date(text, now=wall)
    return None if when is None else max(0.0, when - wall)


@dataclasses.dataclass(slots=True)
class RetryStats:
    """Counters of a :class:`Retry`; a snapshot copy is handed out.

    After every call has finished, ``calls == successes + giveups`` and
    ``attempts == calls + retries`` (a loop left with ``break`` counts in
    neither successes nor giveups).
    """

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    successes: int = 0
    giveups: int = 0


class Attempt:
    """One try inside :meth:`Retry.attempts`; use it as a context manager."""

    __slots__ = ("_end", "_idempotent", "_retry", "delay", "error", "number")

    def __init__(self, retry: Retry, number: int, end: float | None, idempotent: bool) -> None:
        self._retry = retry
        self._end = end
        self._idempotent = idempotent
        self.number = number
        """1-based number of this attempt."""
        self.error: BaseException | None = None
        """The swallowed exception, if this attempt failed and will be retried."""
        self.delay: float | None = None
        """Seconds slept before the next attempt (set when this one failed)."""

    def __repr__(self) -> str:
        return f"<Attempt {self.number} error={self.error!r}>"

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None:
            self._retry._count(successes=1)
            return False
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: never retried
            self._retry._count(giveups=1)
            return False
        delay = self._retry._next_delay(exc, self.number, self._end, self._idempotent)
        if delay is None:
            return False
        self.error, self.delay = exc, delay
        return True


class Retry:
    """A retry policy: how many tries, how long between them, which errors count."""

    def __init__(
        self,
        config: RetryDefaults | None = None,
        *,
        retry_on: Callable[[BaseException], bool]
        | tuple[type[BaseException], ...] = default_retryable,
        methods: frozenset[str] = IDEMPOTENT,
        statuses: frozenset[int] = DEFAULT_STATUSES,
        respect_retry_after: bool = True,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config if config is not None else RetryDefaults()
        if isinstance(retry_on, tuple):
            types = retry_on
            self._retry_on: Callable[[BaseException], bool] = lambda e: isinstance(e, types)
        else:
            self._retry_on = retry_on
        self._methods = frozenset(methods)
        self._statuses = frozenset(statuses)
        self._respect_retry_after = respect_retry_after
        self._sleep = sleep
        self._clock = clock
        self._backoff = Backoff.from_defaults(self._config, rng)
        self._lock = threading.Lock()
        self._stats = RetryStats()

    def __repr__(self) -> str:
        return f"<Retry max_attempts={self._config.max_attempts} {self._backoff!r}>"

    @property
    def config(self) -> RetryDefaults:
        """The attempt count and delays in use."""
        return self._config

    @property
    def stats(self) -> RetryStats:
        """A snapshot of the counters (safe to read from any thread)."""
        with self._lock:
            return dataclasses.replace(self._stats)

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self._stats, name, getattr(self._stats, name) + delta)

    def is_retryable(self, exc: BaseException, *, idempotent: bool = True) -> bool:
        """The policy's predicate, narrowed to :func:`unsent_failure` for non-idempotent work."""
        return self._retry_on(exc) and (idempotent or unsent_failure(exc))

    def should_retry_status(self, method: str | bytes, status: int) -> bool:
        """Whether an HTTP response ``status`` to ``method`` deserves another try."""
        name = method.decode("latin-1") if isinstance(method, bytes) else method
        return name in self._methods and status in self._statuses

    def delay_for(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based; module docs)."""
        delay = self._backoff.delay(attempt)
        if (
            retry_after is not None
            and self._respect_retry_after
            and isinstance(retry_after, (int, float))
            and not math.isnan(retry_after)
        ):
            delay = max(delay, min(float(retry_after), self._config.max_delay))
        return delay

    def _end(self, deadline: float | None, timeout: float | None) -> float | None:
        for name, value in (("deadline", deadline), ("timeout", timeout)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value)
            ):
                raise LocalProtocolError(f"{name} must be a number or None, not {value!r}")
        later = None if timeout is None else self._clock() + timeout
        ends = [d for d in (deadline, later) if d is not None]
        return min(ends) if ends else None

    def _next_delay(
        self, exc: BaseException, number: int, end: float | None, idempotent: bool
    ) -> float | None:
        """The wait before attempt ``number + 1``, or None to give up (counts it)."""
        delay: float | None = None
        if number < self._config.max_attempts and self.is_retryable(exc, idempotent=idempotent):
            hint = getattr(exc, "retry_after", None)
            delay = self.delay_for(number, hint if isinstance(hint, (int, float)) else None)
            if end is not None and self._clock() + delay > end:
                delay = None
        self._count(**({"retries": 1} if delay is not None else {"giveups": 1}))
        return delay

    def attempts(
        self,
        *,
        deadline: float | None = None,
        timeout: float | None = None,
        idempotent: bool = True,
    ) -> Iterator[Attempt]:
        """Attempts to run as ``with attempt:`` blocks (module docs).

        The loop ends after an attempt whose block finished without an
        exception (counted as a success) or was not entered at all; a
        swallowed error makes it sleep and yield the next attempt.
        """
        end = self._end(deadline, timeout)
        self._count(calls=1)
        number = 0
        while True:
            number += 1
            self._count(attempts=1)
            attempt = Attempt(self, number, end, idempotent)
            yield attempt
            if attempt.delay is None:  # the block succeeded (and counted it) or was skipped
                return
            self._sleep(attempt.delay)

    def call(
        self,
        fn: Callable[[], _R],
        *,
        deadline: float | None = None,
        timeout: float | None = None,
        idempotent: bool = True,
    ) -> _R:
        """``fn()``, retried per the policy; re-raises the last error when giving up.

        ``deadline`` is a time on the policy's clock, ``timeout`` seconds from
        now; with both, the earlier wins.
        """
        for attempt in self.attempts(deadline=deadline, timeout=timeout, idempotent=idempotent):
            with attempt:
                return fn()
        raise AssertionError("unreachable: the last attempt re-raises")  # pragma: no cover
