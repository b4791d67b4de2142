"""Happy Eyeballs v2 (RFC 8305): race IPv6 and IPv4 connects, keep the first that works.

Two forms over one planner (:class:`HappyEyeballsPlanner`, which holds every
timing rule and is pure):

* :func:`connect_happy` blocks until a connected :class:`~sockit.net.tcp.Socket`
  is ready (or raises);
* :class:`HappyEyeballsConnector` runs inside the caller's
  :class:`~sockit.net.reactor.Reactor`: it registers its sockets, a wake-up fd
  for DNS answers and a timer, all with ``data=connector``; the caller forwards
  those events to :meth:`HappyEyeballsConnector.handle`, which returns a
  :class:`HappyResult` once one attempt has connected.

AAAA and A lookups go out in parallel through a
:class:`~sockit.net.dns.Resolver` (by default the shared
:func:`~sockit.net.dns.default_resolver`, so answers are cached across
connections). Losing attempts are closed as soon as there is a winner.
Failure is a :class:`HappyEyeballsError` (a
:class:`~sockit.errors.ConnectError`) listing every lookup and attempt that
failed, or :class:`~sockit.errors.Timeout` (phase ``connect``) past the total
timeout.
"""

from __future__ import annotations

import dataclasses
import errno
import socket
import time
from collections.abc import Callable, Sequence

from sockit.errors import ConnectError, NetworkError, Phase, SockitError, Timeout
from sockit.limits import HappyEyeballsDefaults
from sockit.net._dns_lookup import WakeFd
from sockit.net._dns_names import ip_literal_family
from sockit.net._happy_plan import (
    Action,
    AttemptError,
    CancelAttempt,
    Done,
    Failed,
    HappyEyeballsPlanner,
    StartAttempt,
    Wait,
)
from sockit.net.dns import DNSQuery, ResolvedAddress, Resolver, default_resolver
from sockit.net.reactor import READ, WRITE, Event, IOEvent, Reactor, SignalEvent
from sockit.net.tcp import Socket
from sockit.net.timers import Timer

__all__ = [
    "Action",
    "AttemptError",
    "CancelAttempt",
    "Done",
    "Failed",
    "HappyEyeballsConnector",
    "HappyEyeballsError",
    "HappyEyeballsPlanner",
    "HappyResult",
    "StartAttempt",
    "Wait",
    "connect_happy",
]


_SLACK = 0.001  # wake a little after a DNS deadline, not a hair before it


class HappyEyeballsError(ConnectError):
    """No address could be connected; ``errors`` holds each lookup's and attempt's reason."""

    errors: tuple[AttemptError, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class HappyResult:
    """The winning connection: the socket, the address it reached, how it went."""

    sock: Socket
    address: ResolvedAddress
    attempts: int
    elapsed: float
    errors: tuple[AttemptError, ...] = ()


def _failure(plan: Failed, host: str, port: int, total: float) -> Exception:
    reasons = "; ".join(str(e) for e in plan.errors) or "no addresses"
    target = f"{host!r} port {port}"
    if plan.reason == "timeout":
        exc = Timeout(
            f"connect to {target} timed out after {total:.3g} s ({reasons})", phase=Phase.CONNECT
        )
        exc.errno = errno.ETIMEDOUT
        return exc
    if plan.reason == "cancelled":
        return ConnectError(errno.ECANCELED, f"connect to {target} was cancelled")
    codes = [e.error.errno for e in plan.errors if isinstance(e.error, OSError) and e.error.errno]
    err = HappyEyeballsError(codes[-1] if codes else errno.EHOSTUNREACH,
                             f"cannot connect to {target}: {reasons}")  # fmt: skip
    err.errors = plan.errors
    return err


class HappyEyeballsConnector:
    """One Happy Eyeballs connect driven by the caller's reactor; see the module docs.

    ``timeout`` overrides ``config.total_timeout``; ``source_address`` is bound
    before each attempt (an attempt whose family does not fit it fails).
    Create it, then forward every event whose ``data`` is the connector to
    :meth:`handle` until it returns a result or raises.
    """

    def __init__(
        self,
        reactor: Reactor,
        host: str,
        port: int,
        *,
        resolver: Resolver | None = None,
        config: HappyEyeballsDefaults | None = None,
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
        nodelay: bool = True,
        prefer_ipv6: bool | None = None,
        addresses: Sequence[ResolvedAddress] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._reactor = reactor
        self._clock = reactor.clock
        self._resolver = resolver if resolver is not None else default_resolver()
        self._source = source_address
        self._nodelay = nodelay
        prefer = self._resolver.config.prefer_ipv6 if prefer_ipv6 is None else prefer_ipv6
        self._started = self._clock()
        self._planner = HappyEyeballsPlanner(
            config, now=self._started, prefer_ipv6=prefer, total_timeout=timeout
        )
        self._total = self._planner.deadline - self._started
        self._sockets: dict[ResolvedAddress, Socket] = {}
        self._queries: list[DNSQuery] = []
        self._timer: Timer | None = None
        self._finished = False
        self._wake = WakeFd()  # raised by resolver threads when one of our lookups is done
        try:
            reactor.register(self._wake, READ, data=self)
            if addresses is not None:  # resolved already: no lookups, start at once
                for family in (socket.AF_INET6, socket.AF_INET):
                    found = tuple(a for a in addresses if a.family == family)
                    self._planner.addresses_resolved(family, found, self._started)
                self._arm(self._started, self._started)
                return
            literal = ip_literal_family(host) is not None
            families = (socket.AF_UNSPEC,) if literal else (socket.AF_INET6, socket.AF_INET)
            dns_timeout = min(self._resolver.config.timeout, self._total)
            for family in families:
                self._queries.append(
                    self._resolver.submit(
                        host, port, family=family, timeout=dns_timeout, data=self,
                        wakeup=self._wake.signal,
                    )
                )  # fmt: skip
            self._arm(self._planner.deadline, self._started)
        except BaseException:
            self._cleanup()
            raise

    @property
    def finished(self) -> bool:
        """True once :meth:`handle` returned the result or raised, or after :meth:`cancel`."""
        return self._finished

    def handle(self, event: Event) -> HappyResult | None:
        """Process one event whose ``data`` is this connector; the result once connected.

        Raises :class:`HappyEyeballsError` or :class:`~sockit.errors.Timeout`
        when the connect has failed. Events arriving after that are ignored.
        """
        if self._finished:
            return None
        now = self._clock()
        if isinstance(event, IOEvent):
            if event.fileobj is self._wake:
                self._wake.drain()
            else:
                self._socket_ready(event.fileobj, now)
        return self._advance(now)

    def cancel(self) -> None:
        """Stop: cancel the lookups, close every socket, unregister everything."""
        if not self._finished:
            self._planner.cancel(self._clock())
            self._cleanup()

    # -- internals -------------------------------------------------------------------

    def _socket_ready(self, fileobj: object, now: float) -> None:
        found = [(a, s) for a, s in self._sockets.items() if s is fileobj]
        if not found:
            return
        addr, sock = found[0]
        try:
            if not sock.finish_connect():
                return
        except (NetworkError, Timeout) as exc:
            self._close_attempt(addr)
            self._planner.attempt_failed(addr, now, exc)
            return
        self._planner.attempt_succeeded(addr, now)

    def _check_queries(self, now: float) -> None:
        for query in list(self._queries):
            if not (query.done() or query.check_deadline()):
                continue
            self._queries.remove(query)
            error = query.exception()
            if error is None:
                self._planner.addresses_resolved(query.family, query.result().addresses, now)
            else:
                self._planner.resolution_failed(query.family, error, now)

    def _advance(self, now: float) -> HappyResult | None:
        self._check_queries(now)
        while True:
            action = self._planner.next_action(now)
            if isinstance(action, StartAttempt):
                self._start(action.address, now)
            elif isinstance(action, CancelAttempt):
                self._close_attempt(action.address)
            elif isinstance(action, Wait):
                self._arm(action.until, now)
                return None
            elif isinstance(action, Done):
                sock = self._sockets.pop(action.winner)
                self._reactor.unregister(sock)
                self._cleanup()
                return HappyResult(sock, action.winner, action.attempts, now - self._started,
                                   self._planner.errors)  # fmt: skip
            else:
                self._cleanup()
                raise _failure(action, self.host, self.port, self._total)

    def _start(self, addr: ResolvedAddress, now: float) -> None:
        try:
            sock = Socket(addr.family)
        except (NetworkError, Timeout) as exc:
            self._planner.attempt_failed(addr, now, exc)
            return
        try:
            if self._nodelay:
                sock.nodelay = True
            if self._source is not None:
                sock.bind(self._source)
            connected = sock.connect_nonblocking(addr.address)
        except (SockitError, OSError) as exc:
            sock.close()
            self._planner.attempt_failed(addr, now, exc)
            return
        self._sockets[addr] = sock
        self._reactor.register(sock, WRITE, data=self)
        if connected:
            self._planner.attempt_succeeded(addr, now)

    def _close_attempt(self, addr: ResolvedAddress) -> None:
        sock = self._sockets.pop(addr, None)
        if sock is not None:
            self._reactor.unregister(sock)
            sock.close()

    def _arm(self, until: float, now: float) -> None:
        """Wake at ``until`` or when a lookup's deadline passes, whichever is first."""
        for query in self._queries:  # their deadlines are on the resolver's clock
            until = min(until, now + query.remaining() + _SLACK)
        delay = max(0.0, until - self._clock())
        if self._timer is None:
            self._timer = self._reactor.add_timer(delay, data=self)
        else:
            self._timer.reschedule(delay)

    def _cleanup(self) -> None:
        self._finished = True
        for query in self._queries:
            query.cancel()
        self._queries.clear()
        for addr in list(self._sockets):
            self._close_attempt(addr)
        if self._timer is not None:
            self._timer.cancel()
        if not self._wake.closed:
            if not self._reactor.closed and self._wake in self._reactor:
                self._reactor.unregister(self._wake)
            self._wake.close()


def connect_happy(
    host: str,
    port: int,
    *,
    resolver: Resolver | None = None,
    config: HappyEyeballsDefaults | None = None,
    timeout: float | None = None,
    source_address: tuple[str, int] | None = None,
    clock: Callable[[], float] = time.monotonic,
    nodelay: bool = True,
    prefer_ipv6: bool | None = None,
    addresses: Sequence[ResolvedAddress] | None = None,
) -> HappyResult:
    """Connect to ``host:port`` the Happy Eyeballs way, blocking until one attempt wins.

    A private reactor drives a :class:`HappyEyeballsConnector`; the returned
    socket is in the usual sockit mode (non-blocking fd, blocking calls with
    timeouts). ``timeout`` bounds the whole call (default
    ``config.total_timeout``, 30 s). ``addresses`` skips the lookups: the
    attempts race over these (the caller resolved ``host`` already).
    """
    with Reactor(clock=clock) as reactor:
        connector = HappyEyeballsConnector(
            reactor, host, port, resolver=resolver, config=config, timeout=timeout,
            source_address=source_address, nodelay=nodelay, prefer_ipv6=prefer_ipv6,
            addresses=addresses,
        )  # fmt: skip
        try:
            while True:
                for event in reactor.wait():
                    if not isinstance(event, SignalEvent) and event.data is connector:
                        result = connector.handle(event)
                        if result is not None:
                            return result
        finally:
            connector.cancel()
