"""Asynchronous DNS: ``getaddrinfo`` on a bounded worker pool, cached, reactor-friendly.

::

    resolver = Resolver()
    answer = resolver.resolve("example.com", 443)           # blocking
    query = resolver.submit("example.com", 443, data=conn)  # non-blocking
    reactor.register(resolver, READ, data=resolver)         # resolver.fileno() is pollable
    ...
    for query in resolver.completed():                      # each finished query once
        query.data ...  query.result()                       # never blocks now

Decisions worth knowing:

* **Bounded.** ``config.workers`` threads run lookups; at most
  ``config.max_pending`` queries may be unfinished and at most that many lookups
  may be queued or running. Past that, :meth:`Resolver.submit` raises
  :class:`ResolverBusy` at once instead of queueing without end.
* **Coalesced.** Queries for the same (name, port, family) while a lookup is in
  flight share that lookup, each keeping its own deadline.
* **Deadlines.** Every query has one (``timeout`` or ``config.timeout``). A
  worker stuck in ``getaddrinfo`` cannot be interrupted: its queries fail with
  :class:`~sockit.errors.Timeout` (phase ``dns``) when :meth:`Resolver.expire`
  or :meth:`DNSQuery.check_deadline` runs (or a blocking wait notices), and the
  late answer still fills the cache for the next caller.
* **Delivery.** A finished query comes out of exactly one of
  :meth:`Resolver.completed` (answered, failed) or :meth:`Resolver.expire`
  (timed out), once; cancelled queries out of neither. A query submitted with
  ``wakeup=`` is never listed: ``wakeup()`` is called instead (from whichever
  thread finished it, so it must be thread-safe, e.g. ``Reactor.wakeup``).
* **Cache.** LRU of ``cache_size`` entries with ``cache_ttl`` as the TTL
  (``getaddrinfo`` reports none); "no such name" is cached for at most 5 s.
* **Literals and names.** IP literals are answered inline, never by the pool.
  Names are checked (IDNA, length, labels) before any lookup; see
  :mod:`sockit.net._dns_names`.
* **Order.** Addresses come back IPv6 first when ``prefer_ipv6`` (else IPv4
  first), otherwise in the system's order, without duplicates.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import errno
import functools
import heapq
import socket
import threading
import time
from collections.abc import Callable

from sockit._closing import Closing
from sockit.errors import AddressError, ConnectError, LocalProtocolError, NetworkError, Phase
from sockit.limits import DNSDefaults
from sockit.net._dns_cache import AnswerCache, CacheKey
from sockit.net._dns_lookup import GetAddrInfo, WakeFd, literal_addresses, lookup_addresses
from sockit.net._dns_names import canonical_host, ip_literal_family
from sockit.net._dns_types import (
    DNSQuery,
    DNSResult,
    QueryCancelled,
    Resolution,
    ResolvedAddress,
    ResolverBusy,
    ResolverStats,
    cancelled_error,
)
from sockit.net._oserror import check_port, check_timeout, timed_out

__all__ = [
    "DNSQuery",
    "DNSResult",
    "GetAddrInfo",
    "QueryCancelled",
    "Resolution",
    "ResolvedAddress",
    "Resolver",
    "ResolverBusy",
    "ResolverStats",
    "default_resolver",
]

_FAMILIES = (socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6)
_DEFINITIVE = frozenset(
    code
    for code in (
        socket.EAI_NONAME,
        getattr(socket, "EAI_NODATA", None),
        getattr(socket, "EAI_ADDRFAMILY", None),
    )
    if code is not None
)
_Answer = tuple[ResolvedAddress, ...]


@dataclasses.dataclass(eq=False)
class _Lookup:
    key: CacheKey
    future: concurrent.futures.Future[_Answer]
    waiters: list[DNSQuery]


def _copy(error: BaseException) -> BaseException:
    """A fresh exception per query: one object raised in many threads tangles tracebacks."""
    if isinstance(error, NetworkError) and error.errno is not None:
        return type(error)(error.errno, error.strerror)
    return error


class Resolver(Closing):
    """A thread-pool resolver with cache, deadlines and a pollable completion fd.

    Thread-safe: submit, resolve, cancel and the rest may be called from any
    thread. ``getaddrinfo`` and ``clock`` are injectable for tests.
    """

    def __init__(
        self,
        config: DNSDefaults | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        getaddrinfo: GetAddrInfo = socket.getaddrinfo,
    ) -> None:
        self.config = config if config is not None else DNSDefaults()
        self._clock = clock
        self._getaddrinfo = getaddrinfo
        # re-entrant: Future.cancel() under the lock runs _lookup_done on this thread
        self._lock = threading.RLock()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            self.config.workers, thread_name_prefix="sockit-dns"
        )
        self._cache: AnswerCache[_Answer] = AnswerCache(
            self.config.cache_size, self.config.cache_ttl
        )
        self._lookups: dict[CacheKey, _Lookup] = {}
        self._lookup_of: dict[DNSQuery, _Lookup] = {}  # pending query -> its lookup
        self._deadlines: list[tuple[float, int, DNSQuery]] = []
        self._seq = 0
        self._completed: list[DNSQuery] = []
        self._closed = False
        self._counts = dict.fromkeys(
            ("queries", "cache_hits", "cache_misses", "failures", "timeouts", "cancelled",
             "pending", "peak_pending", "coalesced", "refused"), 0,
        )  # fmt: skip
        try:
            self._wake = WakeFd()
        except NetworkError:
            self._pool.shutdown(wait=False)
            raise

    # -- submitting --------------------------------------------------------------------

    def resolve(
        self, host: str, port: int, *, family: int = socket.AF_UNSPEC, timeout: float | None = None
    ) -> Resolution:
        """Look ``host`` up and wait for the answer (at most ``timeout``, default config)."""
        query = self._submit(host, port, family=family, timeout=timeout, notify=False)
        return query.result()

    def submit(
        self,
        host: str,
        port: int,
        *,
        family: int = socket.AF_UNSPEC,
        timeout: float | None = None,
        data: object = None,
        wakeup: Callable[[], object] | None = None,
    ) -> DNSQuery:
        """Start a lookup and return its handle at once (it may already be done).

        Raises :class:`~sockit.errors.AddressError` for bad names and ports and
        :class:`ResolverBusy` past ``max_pending``.
        """
        return self._submit(
            host, port, family=family, timeout=timeout, data=data, wakeup=wakeup,
            notify=wakeup is None,
        )  # fmt: skip

    def _submit(
        self,
        host: str,
        port: int,
        *,
        family: int,
        timeout: float | None,
        notify: bool,
        data: object = None,
        wakeup: Callable[[], object] | None = None,
    ) -> DNSQuery:
        name = canonical_host(host)
        check_port(port)
        if family not in _FAMILIES:
            raise AddressError(
                errno.EAFNOSUPPORT, f"family must be AF_UNSPEC/INET/INET6, not {family!r}"
            )
        limit = self.config.timeout if timeout is None else check_timeout(timeout)
        assert limit is not None
        now = self._clock()
        query = DNSQuery(self, host, port, family, started=now, deadline=now + limit,
                         data=data, wakeup=wakeup, notify=notify)  # fmt: skip
        literal = ip_literal_family(name)
        lookup: _Lookup | None = None
        with self._lock:
            if self._closed:
                raise LocalProtocolError("the resolver is closed")
            key = (name, port, family)
            counts = self._counts
            cached = None if literal else self._cache.get(key, now)
            if literal is not None or cached is not None:
                counts["queries"] += 1
            elif counts["pending"] >= self.config.max_pending or (
                key not in self._lookups and len(self._lookups) >= self.config.max_pending
            ):
                counts["refused"] += 1
                raise ResolverBusy(errno.EAGAIN, f"{self.config.max_pending} DNS lookups pending")
            else:
                counts["queries"] += 1
                counts["cache_misses"] += 1
                counts["pending"] += 1
                counts["peak_pending"] = max(counts["peak_pending"], counts["pending"])
                lookup = self._lookups.get(key)
                if lookup is None:
                    future = self._pool.submit(
                        lookup_addresses,
                        self._getaddrinfo,
                        name,
                        port,
                        family,
                        self.config.prefer_ipv6,
                    )
                    lookup = self._lookups[key] = _Lookup(key, future, [])
                    fresh = True
                else:
                    counts["coalesced"] += 1
                    fresh = False
                lookup.waiters.append(query)
                self._lookup_of[query] = lookup
                self._seq += 1
                heap = self._deadlines
                if len(heap) > 2 * counts["pending"] + 64:  # answered queries pile up otherwise
                    heap[:] = [entry for entry in heap if not entry[2].done()]
                    heapq.heapify(heap)
                heapq.heappush(heap, (query.deadline, self._seq, query))
        if lookup is not None:
            if fresh:  # outside the lock: the callback runs here if the job is done
                lookup.future.add_done_callback(functools.partial(self._lookup_done, lookup))
            return query
        if literal is not None:
            self._answer_literal(query, name, literal)
        else:
            assert cached is not None
            self._answer_cached(query, cached)
        return query

    def _answer_literal(self, query: DNSQuery, name: str, literal: socket.AddressFamily) -> None:
        try:
            addrs = literal_addresses(name, query.port, query.family, literal)
        except AddressError as exc:
            self._finish_now(query, None, exc, hit=False)
        else:
            result = Resolution(query.host, query.port, addrs, False, 0.0)
            self._finish_now(query, result, None, hit=False)

    def _answer_cached(
        self, query: DNSQuery, cached: tuple[_Answer | None, BaseException | None]
    ) -> None:
        addrs, error = cached
        result = None if addrs is None else Resolution(query.host, query.port, addrs, True, 0.0)
        self._finish_now(query, result, None if error is None else _copy(error), hit=True)

    def _finish_now(
        self, query: DNSQuery, result: Resolution | None, error: BaseException | None, *, hit: bool
    ) -> None:
        with self._lock:
            if hit:
                self._counts["cache_hits"] += 1
            self._finish(query, result, error)
        self._deliver([query])

    # -- the worker side ---------------------------------------------------------------

    def _lookup_done(self, lookup: _Lookup, _future: object = None) -> None:
        future = lookup.future
        finished: list[DNSQuery] = []
        now = self._clock()
        with self._lock:
            if self._lookups.get(lookup.key) is lookup:
                del self._lookups[lookup.key]
            if future.cancelled() or self._closed:
                return
            error = future.exception()
            answer = None if error is not None else future.result()
            if answer is not None:
                self._cache.put(lookup.key, answer, now)
            elif isinstance(error, AddressError) and error.errno in _DEFINITIVE:
                self._cache.put_negative(lookup.key, error, now)
            for query in lookup.waiters:
                self._counts["pending"] -= 1
                del self._lookup_of[query]
                if answer is not None:
                    res = Resolution(query.host, query.port, answer, False, now - query.started)
                    self._finish(query, res, None)
                else:
                    assert error is not None
                    self._counts["failures"] += 1
                    self._finish(query, None, _copy(error))
                finished.append(query)
            lookup.waiters.clear()
        self._deliver(finished)

    # -- finishing (under the lock) and delivery (outside it) --------------------------

    def _finish(
        self, query: DNSQuery, result: Resolution | None, error: BaseException | None,
        *, cancelled: bool = False, listed: bool = True,
    ) -> None:  # fmt: skip
        query._set(result, error, cancelled=cancelled)
        if query.notify and listed and not cancelled:
            self._completed.append(query)

    def _detach(self, query: DNSQuery) -> None:
        """Take a pending query off its lookup; drop the job if nobody waits for it."""
        self._counts["pending"] -= 1
        lookup = self._lookup_of.pop(query)
        lookup.waiters.remove(query)
        if (
            not lookup.waiters
            and lookup.future.cancel()
            and self._lookups.get(lookup.key) is lookup
        ):
            del self._lookups[lookup.key]

    def _deliver(self, queries: list[DNSQuery]) -> None:
        signal = False
        for query in queries:
            if query.wakeup is not None:
                query.wakeup()
            elif query.notify:
                signal = True
        if signal:
            self._wake.signal()

    def _cancel(self, query: DNSQuery) -> bool:
        with self._lock:
            if query.done():
                return False
            self._counts["cancelled"] += 1
            self._detach(query)
            self._finish(query, None, cancelled_error(query.host), cancelled=True)
            return True

    def _expire_query(self, query: DNSQuery, now: float) -> bool:
        with self._lock:
            if query.done():
                return True
            if now < query.deadline:
                return False
            self._time_out(query)
        self._deliver([query])
        return True

    def _time_out(self, query: DNSQuery, *, listed: bool = True) -> None:
        self._counts["timeouts"] += 1
        self._detach(query)
        limit = query.deadline - query.started
        error = timed_out(Phase.DNS, f"DNS lookup of {query.host!r}", limit)
        self._finish(query, None, error, listed=listed)

    def _now(self) -> float:
        return self._clock()

    # -- the reactor side ----------------------------------------------------------------

    def fileno(self) -> int:
        """A descriptor that polls readable while finished queries wait in :meth:`completed`."""
        if self._closed:
            raise LocalProtocolError("the resolver is closed")
        return self._wake.fileno()

    def completed(self) -> list[DNSQuery]:
        """The queries finished since the last call (answered or failed), each once."""
        with self._lock:
            self._wake.drain()
            out, self._completed = self._completed, []
        return out

    def expire(self, now: float | None = None) -> list[DNSQuery]:
        """Fail the queries whose deadline has passed; return those without ``wakeup``."""
        now = self._clock() if now is None else now
        expired: list[DNSQuery] = []
        with self._lock:
            heap = self._deadlines
            while heap and (heap[0][2].done() or heap[0][0] <= now):
                query = heapq.heappop(heap)[2]
                if not query.done():
                    self._time_out(query, listed=False)
                    expired.append(query)
        self._deliver([q for q in expired if q.wakeup is not None])
        return [q for q in expired if q.wakeup is None]

    def poll_results(self, now: float | None = None) -> list[DNSResult]:
        """:meth:`completed` then :meth:`expire`, as events: one call per readiness or timer."""
        return [DNSResult(q) for q in self.completed() + self.expire(now)]

    def next_deadline(self) -> float | None:
        """The earliest deadline of a pending query (for a reactor timer), or ``None``."""
        with self._lock:
            heap = self._deadlines
            while heap and heap[0][2].done():
                heapq.heappop(heap)
            return heap[0][0] if heap else None

    # -- cache and stats -----------------------------------------------------------------

    def clear_cache(self) -> None:
        """Forget every cached answer (after a network change, say)."""
        with self._lock:
            self._cache.clear()

    def invalidate(self, host: str) -> int:
        """Forget the cached answers for ``host``; how many entries were dropped."""
        name = canonical_host(host)
        with self._lock:
            return self._cache.invalidate(name)

    @property
    def cache_len(self) -> int:
        """How many answers are cached right now (expired ones count until looked up)."""
        with self._lock:
            return len(self._cache)

    @property
    def stats(self) -> ResolverStats:
        """A consistent snapshot of the counters."""
        with self._lock:
            return ResolverStats(**self._counts)

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def close(self) -> None:
        """Stop the pool and fail every pending query with ``ConnectError``. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending = [q for lookup in self._lookups.values() for q in lookup.waiters]
            for query in pending:
                self._counts["pending"] -= 1
                self._finish(query, None, ConnectError(errno.ECANCELED, "the resolver was closed"))
            self._lookups.clear()
            self._lookup_of.clear()
            self._deadlines.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for query in pending:
            if query.wakeup is not None:
                query.wakeup()
        self._wake.close()


_default: Resolver | None = None
_default_lock = threading.Lock()


def default_resolver() -> Resolver:
    """The process-wide resolver (default config), created on first use and shared.

    Sharing it is what makes the cache useful across connections; it is never
    closed. Create your own :class:`Resolver` for a different configuration.
    """
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Resolver()
        return _default
