"""The threaded resolver: cache, deadlines, cancellation, bounds, delivery, threads.

A scripted ``getaddrinfo`` stands in for the system resolver: it answers from a
table, can hold a name until the test releases it, and records every call.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence

import pytest

from sockit.errors import AddressError, ConnectError, LocalProtocolError, Phase, Timeout
from sockit.limits import DNSDefaults
from sockit.net.dns import (
    DNSResult,
    QueryCancelled,
    Resolver,
    ResolverBusy,
    default_resolver,
)
from sockit.net.reactor import READ, IOEvent, Reactor

Answer = list[str] | BaseException


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class FakeDNS:
    """A getaddrinfo that answers from ``answers``; names in ``hold`` wait for release."""

    def __init__(self, answers: dict[str, Answer] | None = None) -> None:
        self.answers = answers if answers is not None else {}
        self.calls: list[tuple[str, int, int]] = []
        self.held: dict[str, threading.Event] = {}
        self.entered: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def hold(self, host: str) -> threading.Event:
        self.entered[host] = threading.Event()
        gate = self.held[host] = threading.Event()
        return gate

    def __call__(
        self, host: str, port: int, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> Sequence[tuple[object, ...]]:
        with self._lock:
            self.calls.append((host, port, family))
        if host in self.held:
            self.entered[host].set()
            assert self.held[host].wait(5), "test forgot to release a held lookup"
        answer = self.answers.get(host, socket.gaierror(socket.EAI_NONAME, "Name not known"))
        if isinstance(answer, BaseException):
            raise answer
        out: list[tuple[object, ...]] = []
        for ip in answer:
            fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
            if family in (0, fam):
                addr = (ip, port, 0, 0) if fam == socket.AF_INET6 else (ip, port)
                out.append((fam, socket.SOCK_STREAM, 6, "", addr))
        return out


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def dns() -> FakeDNS:
    return FakeDNS({"dual.test": ["192.0.2.1", "2001:db8::1", "192.0.2.2", "2001:db8::2"]})


@pytest.fixture
def resolver(clock: FakeClock, dns: FakeDNS) -> Iterator[Resolver]:
    with Resolver(clock=clock, getaddrinfo=dns) as r:
        yield r
    for gate in dns.held.values():
        gate.set()


def hosts(resolution_addresses: object) -> list[str]:
    return [a.host for a in resolution_addresses]  # type: ignore[attr-defined]


# -- answers, order, literals, errors ---------------------------------------------------


def test_resolve_orders_ipv6_first(resolver: Resolver) -> None:
    res = resolver.resolve("dual.test", 80)
    assert hosts(res.addresses) == ["2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2"]
    assert res.addresses[0].family == socket.AF_INET6 and res.addresses[0].port == 80
    assert res.host == "dual.test" and res.port == 80 and not res.from_cache


def test_prefer_ipv4_orders_ipv4_first(clock: FakeClock, dns: FakeDNS) -> None:
    with Resolver(DNSDefaults(prefer_ipv6=False), clock=clock, getaddrinfo=dns) as r:
        res = r.resolve("dual.test", 80)
    assert hosts(res.addresses) == ["192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"]


def test_family_filter_is_passed_to_getaddrinfo(resolver: Resolver, dns: FakeDNS) -> None:
    res = resolver.resolve("dual.test", 80, family=socket.AF_INET)
    assert hosts(res.addresses) == ["192.0.2.1", "192.0.2.2"]
    assert dns.calls == [("dual.test", 80, socket.AF_INET)]


def test_literals_skip_the_pool(resolver: Resolver, dns: FakeDNS) -> None:
    q = resolver.submit("2001:db8::5", 443)
    assert q.done()
    assert hosts(q.result().addresses) == ["2001:db8::5"]
    assert resolver.resolve("192.0.2.9", 1).addresses[0].address == ("192.0.2.9", 1)
    assert dns.calls == []
    with pytest.raises(AddressError):
        resolver.resolve("192.0.2.9", 1, family=socket.AF_INET6)


def test_real_localhost() -> None:
    with Resolver() as r:
        res = r.resolve("localhost", 8080)
    assert res.addresses and all(a.port == 8080 for a in res.addresses)
    assert {a.host for a in res.addresses} <= {"127.0.0.1", "::1"}


@pytest.mark.parametrize(
    ("answer", "exc"),
    [
        (socket.gaierror(socket.EAI_NONAME, "nope"), AddressError),
        (socket.gaierror(socket.EAI_AGAIN, "try later"), AddressError),
        (OSError(5, "I/O error"), ConnectError),
        (ValueError("broken resolver"), AddressError),
        ([], AddressError),
    ],
)
def test_failures_are_sockit_errors(
    resolver: Resolver, dns: FakeDNS, answer: Answer, exc: type[Exception]
) -> None:
    dns.answers["bad.test"] = answer
    with pytest.raises(exc):
        resolver.resolve("bad.test", 80)
    assert resolver.stats.failures == 1


@pytest.mark.parametrize("host", ["1.2.3", "a" * 64 + ".com", "-x.com", ""])
def test_bad_names_refused_before_lookup(resolver: Resolver, dns: FakeDNS, host: str) -> None:
    with pytest.raises(AddressError):
        resolver.submit(host, 80)
    assert dns.calls == []


@pytest.mark.parametrize("port", [-1, 65536, "80", None])
def test_bad_ports(resolver: Resolver, port: object) -> None:
    with pytest.raises(AddressError):
        resolver.submit("dual.test", port)  # type: ignore[arg-type]


def test_bad_family(resolver: Resolver) -> None:
    with pytest.raises(AddressError):
        resolver.submit("dual.test", 80, family=socket.AF_UNIX)


# -- the cache --------------------------------------------------------------------------


def test_cache_hit_and_ttl_expiry(clock: FakeClock, dns: FakeDNS) -> None:
    with Resolver(DNSDefaults(cache_ttl=10.0), clock=clock, getaddrinfo=dns) as r:
        first = r.resolve("dual.test", 80)
        clock.t += 9.999
        hit = r.resolve("dual.test", 80)
        assert hit.from_cache and hit.addresses == first.addresses and hit.elapsed == 0.0
        assert len(dns.calls) == 1
        clock.t += 0.001  # exactly the TTL: expired
        assert not r.resolve("dual.test", 80).from_cache
        assert len(dns.calls) == 2
        s = r.stats
        assert (s.cache_hits, s.cache_misses, s.queries) == (1, 2, 3)


def test_cache_key_includes_port_and_family(resolver: Resolver, dns: FakeDNS) -> None:
    resolver.resolve("dual.test", 80)
    resolver.resolve("dual.test", 81)
    resolver.resolve("dual.test", 80, family=socket.AF_INET6)
    assert len(dns.calls) == 3
    assert resolver.resolve("dual.test", 81).from_cache


def test_lru_bound_n_and_n_plus_one(clock: FakeClock) -> None:
    dns = FakeDNS({f"h{i}.test": [f"192.0.2.{i}"] for i in range(5)})
    with Resolver(DNSDefaults(cache_size=3), clock=clock, getaddrinfo=dns) as r:
        for i in range(3):
            r.resolve(f"h{i}.test", 1)
        assert r.cache_len == 3
        assert all(r.resolve(f"h{i}.test", 1).from_cache for i in range(3))  # N fit
        r.resolve("h0.test", 1)  # h0 most recent, h1 least
        r.resolve("h3.test", 1)  # N+1: evicts h1
        assert r.cache_len == 3
        assert r.resolve("h0.test", 1).from_cache
        assert not r.resolve("h1.test", 1).from_cache


def test_cache_size_zero_disables(clock: FakeClock, dns: FakeDNS) -> None:
    with Resolver(DNSDefaults(cache_size=0), clock=clock, getaddrinfo=dns) as r:
        r.resolve("dual.test", 1)
        assert not r.resolve("dual.test", 1).from_cache
        assert r.cache_len == 0


def test_negative_cache_is_short(clock: FakeClock, dns: FakeDNS) -> None:
    with Resolver(clock=clock, getaddrinfo=dns) as r:
        with pytest.raises(AddressError):
            r.resolve("missing.test", 1)
        clock.t += 4.9
        with pytest.raises(AddressError):
            r.resolve("missing.test", 1)
        assert len(dns.calls) == 1 and r.stats.cache_hits == 1
        clock.t += 0.1  # min(5 s, ttl) passed
        dns.answers["missing.test"] = ["192.0.2.7"]
        assert hosts(r.resolve("missing.test", 1).addresses) == ["192.0.2.7"]


def test_negative_ttl_capped_by_cache_ttl(clock: FakeClock, dns: FakeDNS) -> None:
    with Resolver(DNSDefaults(cache_ttl=1.0), clock=clock, getaddrinfo=dns) as r:
        with pytest.raises(AddressError):
            r.resolve("missing.test", 1)
        clock.t += 1.0
        with pytest.raises(AddressError):
            r.resolve("missing.test", 1)
        assert len(dns.calls) == 2


def test_temporary_failures_are_not_cached(resolver: Resolver, dns: FakeDNS) -> None:
    dns.answers["flaky.test"] = socket.gaierror(socket.EAI_AGAIN, "try again")
    with pytest.raises(AddressError):
        resolver.resolve("flaky.test", 1)
    dns.answers["flaky.test"] = ["192.0.2.3"]
    assert hosts(resolver.resolve("flaky.test", 1).addresses) == ["192.0.2.3"]


def test_clear_and_invalidate(resolver: Resolver, dns: FakeDNS) -> None:
    dns.answers["other.test"] = ["192.0.2.4"]
    resolver.resolve("dual.test", 1)
    resolver.resolve("dual.test", 2)
    resolver.resolve("other.test", 1)
    assert resolver.invalidate("DUAL.test.") == 2
    assert resolver.resolve("other.test", 1).from_cache
    resolver.clear_cache()
    assert resolver.cache_len == 0
    assert not resolver.resolve("other.test", 1).from_cache


def test_errors_are_fresh_per_query(clock: FakeClock, dns: FakeDNS) -> None:
    with Resolver(clock=clock, getaddrinfo=dns) as r:
        errors = []
        for _ in range(2):
            with pytest.raises(AddressError) as info:
                r.resolve("missing.test", 1)
            errors.append(info.value)
    assert errors[0] is not errors[1]
    assert errors[0].errno == errors[1].errno


# -- deadlines --------------------------------------------------------------------------


def test_timeout_then_late_answer_fills_cache(
    resolver: Resolver, dns: FakeDNS, clock: FakeClock
) -> None:
    gate = dns.hold("dual.test")
    q = resolver.submit("dual.test", 80, timeout=2.0)
    assert resolver.next_deadline() == clock.t + 2.0
    assert resolver.expire(clock.t + 1.999) == []
    assert not q.done()
    clock.t += 2.0
    assert resolver.expire() == [q]
    assert q.done() and not q.cancelled()
    with pytest.raises(Timeout) as info:
        q.result()
    assert info.value.phase is Phase.DNS
    assert resolver.stats.timeouts == 1 and resolver.stats.pending == 0
    assert resolver.completed() == []  # delivered once, by expire()
    assert resolver.next_deadline() is None
    gate.set()
    for _ in range(200):  # the worker finishes in the background
        if resolver.cache_len:
            break
        threading.Event().wait(0.005)
    assert resolver.resolve("dual.test", 80).from_cache


def test_blocking_resolve_times_out_on_the_query_deadline(dns: FakeDNS) -> None:
    gate = dns.hold("dual.test")
    with Resolver(getaddrinfo=dns) as r:
        with pytest.raises(Timeout) as info:
            r.resolve("dual.test", 80, timeout=0.03)
        assert info.value.phase is Phase.DNS
        assert r.stats.timeouts == 1
        gate.set()


def test_result_wait_timeout_leaves_query_pending(dns: FakeDNS) -> None:
    gate = dns.hold("dual.test")
    with Resolver(getaddrinfo=dns) as r:
        q = r.submit("dual.test", 80, timeout=10.0)
        with pytest.raises(Timeout):
            q.result(timeout=0.02)
        assert not q.done()
        gate.set()
        assert q.result(timeout=5).addresses


def test_check_deadline(resolver: Resolver, dns: FakeDNS, clock: FakeClock) -> None:
    dns.hold("dual.test")
    q = resolver.submit("dual.test", 80, timeout=1.0)
    assert q.remaining() == 1.0
    assert not q.check_deadline()
    clock.t += 1.0
    assert q.check_deadline() and q.remaining() == 0.0
    assert isinstance(q.exception(), Timeout)
    assert resolver.completed() == [q]  # not expire()d: goes out through completed()


# -- cancellation ---------------------------------------------------------------------


def test_cancel_before_start_never_runs(clock: FakeClock, dns: FakeDNS) -> None:
    dns.answers["other.test"] = ["192.0.2.4"]
    gate = dns.hold("dual.test")
    with Resolver(DNSDefaults(workers=1), clock=clock, getaddrinfo=dns) as r:
        busy = r.submit("dual.test", 80)
        assert dns.entered["dual.test"].wait(5)
        queued = r.submit("other.test", 80)
        assert queued.cancel() and queued.cancelled() and queued.done()
        assert not queued.cancel()
        with pytest.raises(QueryCancelled):
            queued.result()
        gate.set()
        busy.result(timeout=5)
        assert [c[0] for c in dns.calls] == ["dual.test"]
        assert r.stats.cancelled == 1 and r.stats.pending == 0
        assert r.completed() == [busy]


def test_cancel_after_start_discards_the_answer(resolver: Resolver, dns: FakeDNS) -> None:
    gate = dns.hold("dual.test")
    q = resolver.submit("dual.test", 80)
    assert dns.entered["dual.test"].wait(5)
    assert q.cancel()
    gate.set()
    for _ in range(200):
        if resolver.cache_len:
            break
        threading.Event().wait(0.005)
    assert q.cancelled() and isinstance(q.exception(), QueryCancelled)
    assert resolver.completed() == []
    assert resolver.resolve("dual.test", 80).from_cache  # the answer still fed the cache


def test_cancel_one_of_coalesced_queries(resolver: Resolver, dns: FakeDNS) -> None:
    gate = dns.hold("dual.test")
    a = resolver.submit("dual.test", 80)
    b = resolver.submit("dual.test", 80)
    assert a.cancel()
    gate.set()
    assert b.result(timeout=5).addresses
    assert a.cancelled() and not b.cancelled()


# -- bounds and coalescing ------------------------------------------------------------


def test_coalescing_identical_lookups(resolver: Resolver, dns: FakeDNS) -> None:
    gate = dns.hold("dual.test")
    queries = [resolver.submit("dual.test", 80, data=i) for i in range(5)]
    gate.set()
    answers = [q.result(timeout=5) for q in queries]
    assert len(dns.calls) == 1
    assert all(a.addresses == answers[0].addresses for a in answers)
    assert resolver.stats.coalesced == 4


def test_pending_bound_n_and_n_plus_one(clock: FakeClock, dns: FakeDNS) -> None:
    for i in range(4):
        dns.answers[f"h{i}.test"] = [f"192.0.2.{i}"]
        dns.hold(f"h{i}.test")
    with Resolver(DNSDefaults(max_pending=3, workers=1), clock=clock, getaddrinfo=dns) as r:
        queries = [r.submit(f"h{i}.test", 1) for i in range(3)]  # N: accepted
        with pytest.raises(ResolverBusy):
            r.submit("h3.test", 1)  # N+1: refused at once
        with pytest.raises(ResolverBusy):
            r.submit("h0.test", 1)  # coalescing does not bypass the query bound
        s = r.stats
        assert (s.pending, s.peak_pending, s.refused) == (3, 3, 2)
        assert isinstance(ResolverBusy(), ConnectError)
        assert queries[0].cancel() and queries[1].cancel()
        r.submit("h3.test", 1)  # room again
        for gate in dns.held.values():
            gate.set()


def test_lookup_bound_counts_timed_out_workers(clock: FakeClock, dns: FakeDNS) -> None:
    dns.answers["h1.test"] = ["192.0.2.1"]
    dns.hold("dual.test")
    with Resolver(DNSDefaults(max_pending=1, workers=1), clock=clock, getaddrinfo=dns) as r:
        q = r.submit("dual.test", 1, timeout=1.0)
        assert dns.entered["dual.test"].wait(5)
        clock.t += 1.0
        assert r.expire() == [q]
        assert r.stats.pending == 0
        with pytest.raises(ResolverBusy):  # the stuck worker still holds the only slot
            r.submit("h1.test", 1)
        dns.held["dual.test"].set()


# -- delivery to a reactor ------------------------------------------------------------


def test_reactor_delivery_via_fileno(dns: FakeDNS) -> None:
    dns.answers["other.test"] = ["192.0.2.4"]
    with Resolver(getaddrinfo=dns) as r, Reactor() as reactor:
        reactor.register(r, READ, data=r)
        assert reactor.wait(0.0) == []
        qa = r.submit("dual.test", 80, data="a")
        qb = r.submit("other.test", 80, data="b")
        got: list[object] = []
        for _ in range(100):
            for ev in reactor.wait(1.0):
                assert isinstance(ev, IOEvent) and ev.data is r
                got += [q.data for q in r.completed()]
            if len(got) == 2:
                break
        assert sorted(got) == ["a", "b"]  # type: ignore[type-var]
        assert qa.done() and qb.done()
        assert r.completed() == []
        assert reactor.wait(0.0) == []  # the fd was drained


def test_cache_hits_are_delivered_too(resolver: Resolver) -> None:
    resolver.resolve("dual.test", 80)
    q = resolver.submit("dual.test", 80)
    assert q.done() and q.result().from_cache
    assert resolver.poll_results() == [DNSResult(q)]
    assert resolver.poll_results() == []


def test_wakeup_queries_are_not_listed(resolver: Resolver) -> None:
    woken = threading.Event()
    q = resolver.submit("dual.test", 80, wakeup=woken.set)
    assert woken.wait(5) and q.done()
    assert resolver.completed() == []


# -- threads and lifecycle ------------------------------------------------------------


def test_many_threads(clock: FakeClock) -> None:
    dns = FakeDNS({f"h{i}.test": [f"192.0.2.{i}"] for i in range(20)})
    errors: list[BaseException] = []
    with Resolver(clock=clock, getaddrinfo=dns) as r:

        def worker(k: int) -> None:
            try:
                for j in range(50):
                    i = (j * 7 + k) % 20
                    res = r.resolve(f"h{i}.test", 1)
                    assert hosts(res.addresses) == [f"192.0.2.{i}"]
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        s = r.stats
    assert errors == []
    assert s.queries == 400 and s.pending == 0
    assert s.cache_hits + s.cache_misses == 400
    assert len(dns.calls) <= s.cache_misses and len(dns.calls) >= 20


def test_close_fails_pending_and_refuses_new(dns: FakeDNS) -> None:
    gate = dns.hold("dual.test")
    r = Resolver(getaddrinfo=dns)
    woken = threading.Event()
    q = r.submit("dual.test", 80, wakeup=woken.set)
    r.close()
    r.close()
    assert woken.is_set()
    with pytest.raises(ConnectError):
        q.result()
    with pytest.raises(LocalProtocolError):
        r.submit("dual.test", 80)
    with pytest.raises(LocalProtocolError):
        r.fileno()
    gate.set()


def test_default_resolver_is_shared() -> None:
    assert default_resolver() is default_resolver()


def test_deadline_heap_stays_bounded_without_expire(resolver: Resolver, dns: FakeDNS) -> None:
    dns.hold("slow.test")
    resolver.submit("slow.test", 1, timeout=100.0)  # a long deadline stays on top
    for i in range(500):
        resolver.clear_cache()
        resolver.resolve("dual.test", 1, timeout=200.0 + i)
    assert len(resolver._deadlines) <= 2 * resolver.stats.pending + 65
