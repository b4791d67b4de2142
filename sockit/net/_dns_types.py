"""The values :mod:`sockit.net.dns` hands out: answers, query handles, stats, errors.

Kept apart from the :class:`~sockit.net.dns.Resolver` so the resolver module
holds only the machinery (pool, cache, deadlines, delivery).
"""

from __future__ import annotations

import dataclasses
import errno
import socket
import threading
from collections.abc import Callable
from typing import Protocol

from sockit.errors import ConnectError, Phase
from sockit.net._oserror import check_timeout, timed_out

__all__ = [
    "DNSQuery",
    "DNSResult",
    "QueryCancelled",
    "Resolution",
    "ResolvedAddress",
    "ResolverBusy",
    "ResolverStats",
    "SockAddr",
]

SockAddr = tuple[str | int, ...]
"""A sockaddr as ``getaddrinfo`` gives it: ``(host, port)`` or ``(host, port, flow, scope)``."""


class ResolverBusy(ConnectError):
    """Too many lookups in flight (``DNSDefaults.max_pending``): shed load, try later.

    A :class:`~sockit.errors.ConnectError` because to the caller it is a
    connection that could not be started, not a protocol violation.
    """


class QueryCancelled(ConnectError):
    """The query was cancelled before it finished; raised by :meth:`DNSQuery.result`."""


@dataclasses.dataclass(frozen=True, slots=True)
class ResolvedAddress:
    """One address to connect to: the family to create the socket with, and the sockaddr."""

    family: socket.AddressFamily
    address: SockAddr

    @property
    def host(self) -> str:
        """The address part as text (``"::1"``, ``"127.0.0.1"``), for logs and errors."""
        return str(self.address[0])

    @property
    def port(self) -> int:
        """The port part of the sockaddr."""
        return int(self.address[1])

    def __str__(self) -> str:
        return (
            f"[{self.host}]:{self.port}"
            if self.family == socket.AF_INET6
            else (f"{self.host}:{self.port}")
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Resolution:
    """A successful lookup: the addresses in preference order, and where they came from.

    ``elapsed`` is clock time from submission to answer (0 for cache hits and
    IP literals), so slow resolvers show up in logs and metrics.
    """

    host: str
    port: int
    addresses: tuple[ResolvedAddress, ...]
    from_cache: bool
    elapsed: float


@dataclasses.dataclass(frozen=True, slots=True)
class ResolverStats:
    """Counters since the resolver was created; ``pending`` is the current number in flight."""

    queries: int
    cache_hits: int
    cache_misses: int
    failures: int
    timeouts: int
    cancelled: int
    pending: int
    peak_pending: int
    coalesced: int
    refused: int


class _Owner(Protocol):
    def _cancel(self, query: DNSQuery) -> bool: ...
    def _expire_query(self, query: DNSQuery, now: float) -> bool: ...
    def _now(self) -> float: ...


class DNSQuery:
    """A lookup in progress: a tiny future, finished once (answer, failure, timeout, cancel).

    Handed out by :meth:`~sockit.net.dns.Resolver.submit`; ``data`` is the
    caller's tag, so a query coming out of
    :meth:`~sockit.net.dns.Resolver.completed` can be routed to its owner.
    """

    __slots__ = (
        "__weakref__",
        "_cancelled",
        "_error",
        "_event",
        "_owner",
        "_resolution",
        "data",
        "deadline",
        "family",
        "host",
        "notify",
        "port",
        "started",
        "wakeup",
    )

    def __init__(
        self,
        owner: _Owner,
        host: str,
        port: int,
        family: int,
        *,
        started: float,
        deadline: float,
        data: object,
        wakeup: Callable[[], object] | None,
        notify: bool,
    ) -> None:
        self._owner = owner
        #: the host as the caller passed it
        self.host = host
        self.port = port
        self.family = family
        self.data = data
        self.started = started
        #: the resolver-clock instant this query times out
        self.deadline = deadline
        self.wakeup = wakeup
        self.notify = notify
        self._event = threading.Event()
        self._resolution: Resolution | None = None
        self._error: BaseException | None = None
        self._cancelled = False

    def __repr__(self) -> str:
        state = (
            "cancelled"
            if self._cancelled
            else ("failed" if self._error else "done" if self._event.is_set() else "pending")
        )
        return f"<DNSQuery {self.host!r}:{self.port} family={self.family} {state}>"

    def done(self) -> bool:
        """True once the query is finished in any way (the answer is ready or never will be)."""
        return self._event.is_set()

    def cancelled(self) -> bool:
        """True if :meth:`cancel` stopped the query."""
        return self._cancelled

    def cancel(self) -> bool:
        """Stop waiting for this answer; ``False`` if it already finished.

        A lookup no worker has started yet is taken off the pool's queue; a
        running one finishes in the background (its answer still fills the cache).
        """
        return self._owner._cancel(self)

    def check_deadline(self, now: float | None = None) -> bool:
        """Time the query out if its deadline has passed; True if it is finished now.

        For owners that drive their own timers instead of calling
        :meth:`~sockit.net.dns.Resolver.expire` (which times out every query).
        """
        return self._owner._expire_query(self, self._owner._now() if now is None else now)

    def remaining(self) -> float:
        """Seconds until the query's deadline on the resolver's clock (never negative)."""
        return max(0.0, self.deadline - self._owner._now())

    def exception(self) -> BaseException | None:
        """The failure of a finished query (``None`` if it succeeded or is still pending)."""
        return self._error

    def result(self, timeout: float | None = None) -> Resolution:
        """Wait for the answer; raise the failure if there was one.

        ``timeout`` (seconds) bounds this wait only: running out raises
        :class:`~sockit.errors.Timeout` but leaves the query pending. The query's
        own deadline fails it for good (also a ``Timeout``, phase ``dns``).
        Cancelled queries raise :class:`QueryCancelled`.
        """
        limit = check_timeout(timeout)
        start = self._owner._now()
        while not self._event.is_set():
            now = self._owner._now()
            if now >= self.deadline:
                self._owner._expire_query(self, now)
                continue
            wait = self.deadline - now
            if limit is not None:
                left = start + limit - now
                if left <= 0:
                    raise timed_out(Phase.DNS, f"waiting for DNS answer for {self.host!r}", limit)
                wait = min(wait, left)
            self._event.wait(wait)
        if self._error is not None:
            raise self._error
        assert self._resolution is not None
        return self._resolution

    # -- called by the resolver, under its lock ---------------------------------------

    def _set(
        self,
        resolution: Resolution | None,
        error: BaseException | None,
        *,
        cancelled: bool = False,
    ) -> None:
        self._resolution = resolution
        self._error = error
        self._cancelled = cancelled
        self._event.set()


def cancelled_error(host: str) -> QueryCancelled:
    """The error a cancelled query reports."""
    return QueryCancelled(errno.ECANCELED, f"DNS query for {host!r} was cancelled")


@dataclasses.dataclass(frozen=True, slots=True)
class DNSResult:
    """A finished query, as an event: what :meth:`~sockit.net.dns.Resolver.poll_results` yields."""

    query: DNSQuery
