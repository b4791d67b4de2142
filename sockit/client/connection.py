"""One client connection: a socket, an HTTP/1.1 machine, and the timed waits.

:class:`HTTPConnection` joins a :class:`sockit.net.Socket` to a client-role
:class:`sockit.proto.http1.Connection`. It is used by one thread at a time
(the pool hands it out exclusively) and knows nothing about pooling: it
sends one request, hands out the events of one response, and says whether it
can carry another exchange afterwards.

The socket is non-blocking (as every sockit socket is); waits use one
``select.poll`` object per direction, registered once, so a wait is a single
``poll`` system call with the deadline of the phase in progress (see
:mod:`sockit.client.timeouts`).
"""

from __future__ import annotations

import errno
import ipaddress
import math
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Final

from sockit.client.timeouts import Deadlines
from sockit.client.tlsio import Transport, start_client_tls
from sockit.errors import (
    ConnectError,
    ConnectionClosed,
    LocalProtocolError,
    NetworkError,
    Phase,
    RemoteProtocolError,
    Timeout,
)
from sockit.net import Socket, connect_tcp, connect_unix
from sockit.net.dns import ResolvedAddress
from sockit.net.happy import connect_happy
from sockit.net.proxy import open_proxy_handshake, run_handshake
from sockit.proto.events import Event, Role
from sockit.proto.http import Headers
from sockit.proto.http.percent import unquote
from sockit.proto.http.url import Origin
from sockit.proto.http1 import (
    Connection,
    ConnectionState,
    Data,
    EndOfMessage,
    HTTP1Config,
    Request,
)
from sockit.proto.proxy_url import ProxyURL
from sockit.proto.tls import TLSContext

__all__ = ["HTTPConnection", "connect_origin", "connect_origin_with_data", "open_connection"]

_POLLIN: Final = select.POLLIN | select.POLLPRI
_POLLOUT: Final = select.POLLOUT
_RECV_SIZE: Final = 64 * 1024
_GATHER: Final = 64 * 1024
_DONE: Final = ConnectionState.DONE
_ERROR: Final = ConnectionState.ERROR
_monotonic: Final = time.monotonic
_TLS_SCHEMES: Final = frozenset({"https", "wss"})

_resolver_lock = threading.Lock()
_resolver_pool: tuple[int, ThreadPoolExecutor] | None = None


def _resolver() -> ThreadPoolExecutor:
    """The workers name resolution runs in, so that ``dns_timeout`` can bound it.

    ``getaddrinfo`` itself cannot be interrupted: a stuck lookup keeps its
    worker until the system resolver gives up, and at most 4 run at once.
    Made on first use, and again in a forked child (whose copy has no threads).
    """
    global _resolver_pool
    pool = _resolver_pool
    pid = os.getpid()
    if pool is None or pool[0] != pid:
        with _resolver_lock:
            pool = _resolver_pool
            if pool is None or pool[0] != pid:
                executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sockit-dns")
                pool = _resolver_pool = (pid, executor)
    return pool[1]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int, budget: float | None, phase: Phase) -> list[str]:
    """The addresses of ``host``, waiting at most ``budget`` (a Timeout in ``phase``)."""
    if _is_ip(host):
        return [host]
    future = _resolver().submit(
        socket.getaddrinfo, host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
        socket.AI_NUMERICSERV,
    )  # fmt: skip
    try:
        infos = future.result(timeout=budget)
    except FutureTimeout:
        future.cancel()
        after = "" if budget is None else f" after {budget:.3g} s"
        raise Timeout(f"resolving {host!r} timed out{after}", phase=phase) from None
    except OSError as exc:
        raise ConnectError(
            exc.errno or errno.EHOSTUNREACH, f"cannot resolve {host!r}: {exc.strerror or exc}"
        ) from exc
    except UnicodeError as exc:  # the idna codec: an empty label, or one over 63 bytes
        raise ConnectError(
            errno.EHOSTUNREACH, f"cannot resolve {host!r}: not a valid host name ({exc})"
        ) from exc
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]), None)
    if not seen:
        raise ConnectError(errno.EHOSTUNREACH, f"no address for {host!r}")
    return list(seen)


def _happy(host: str, port: int, addresses: list[str], budget: float | None) -> Socket:
    """Happy Eyeballs (RFC 8305) over addresses of both families; the winner's socket."""
    resolved = [
        ResolvedAddress(socket.AF_INET6, (a, port, 0, 0)) if ":" in a
        else ResolvedAddress(socket.AF_INET, (a, port))
        for a in addresses
    ]
    result = connect_happy(host, port, timeout=budget, addresses=resolved)
    result.sock.timeout = None
    return result.sock


def _nearest(*bounds: tuple[float | None, Phase]) -> tuple[float | None, Phase]:
    """The smallest of several ``(seconds, phase)`` bounds (``None`` is unbounded)."""
    best: tuple[float | None, Phase] = (None, Phase.TOTAL)
    for seconds, phase in bounds:
        if seconds is not None and (best[0] is None or seconds < best[0]):
            best = (max(0.0, seconds), phase)
    return best


def open_connection(
    origin: Origin,
    dl: Deadlines,
    config: HTTP1Config,
    proxy: ProxyURL | None = None,
    tls: TLSContext | None = None,
) -> HTTPConnection:
    """A new HTTP/1.1 connection to ``origin`` (see :func:`connect_origin`)."""
    sock, initial = connect_origin_with_data(origin, dl, proxy, tls)
    return HTTPConnection(sock, origin, config, initial=initial)


def connect_origin(
    origin: Origin,
    dl: Deadlines,
    proxy: ProxyURL | None = None,
    tls: TLSContext | None = None,
) -> Transport:
    """A connected socket to ``origin`` (``http`` over TCP, or ``http+unix``).

    The connect budget covers name resolution and every address tried (and,
    through ``proxy``, reaching the proxy and its handshake). Failures:
    :class:`ConnectError` (refused, unreachable, unresolvable),
    :class:`~sockit.errors.ProxyError`, :class:`Timeout` in phase ``dns``,
    ``connect``, ``proxy`` or ``total``. For protocols where the client speaks
    first: bytes the server sent before any request are refused as a
    :class:`RemoteProtocolError` rather than dropped. ``https``/``wss``
    origins get a TLS handshake in ``tls`` (within the connect budget;
    :class:`Timeout` in phase ``tls``).
    """
    sock, initial = connect_origin_with_data(origin, dl, proxy, tls)
    if initial:
        sock.close()
        raise RemoteProtocolError(
            f"{origin} sent {len(initial)} bytes through the proxy before any request"
        )
    return sock


def _via_proxy(
    origin: Origin, proxy: ProxyURL, budget: Callable[[], tuple[float | None, Phase]]
) -> tuple[Socket, bytes]:
    _scheme, host, port = origin
    assert port is not None
    left, _phase = budget()
    handshake = open_proxy_handshake(proxy, host, port, connect_timeout=left,
                                     handshake_timeout=left)
    try:
        tunnel = run_handshake(handshake)
    except BaseException:
        handshake.sock.close()
        raise
    tunnel.sock.timeout = None
    return tunnel.sock, tunnel.initial_data


def connect_origin_with_data(
    origin: Origin,
    dl: Deadlines,
    proxy: ProxyURL | None = None,
    tls: TLSContext | None = None,
) -> tuple[Transport, bytes]:
    """:func:`connect_origin`, also returning bytes the server already sent (via a proxy)."""
    connect_end = None if dl.connect is None else _monotonic() + dl.connect
    sock, initial = _connect_plain(origin, dl, proxy)
    if origin.scheme not in _TLS_SCHEMES:
        return sock, initial
    if tls is None:
        sock.close()
        raise LocalProtocolError(f"{origin} needs TLS but no TLS context was given")
    ends = [t for t in (connect_end, dl.total) if t is not None]
    try:
        transport = start_client_tls(sock, tls, origin.host, min(ends) if ends else None,
                                     initial=initial)
    except BaseException:
        sock.close()
        raise
    return transport, b""


def _connect_plain(
    origin: Origin, dl: Deadlines, proxy: ProxyURL | None
) -> tuple[Socket, bytes]:
    scheme, host, port = origin
    connect_end = None if dl.connect is None else _monotonic() + dl.connect

    def budget() -> tuple[float | None, Phase]:
        now = _monotonic()
        return _nearest(
            (None if connect_end is None else connect_end - now, Phase.CONNECT),
            (None if dl.total is None else dl.total - now, Phase.TOTAL),
        )

    sock: Socket | None = None
    phase = Phase.CONNECT
    try:
        if proxy is not None and scheme != "http+unix":
            return _via_proxy(origin, proxy, budget)
        if scheme == "http+unix":
            left, phase = budget()
            sock = connect_unix(unquote(host), timeout=left, io_timeout=None)
        else:
            assert port is not None
            left, phase = budget()
            left, phase = _nearest((left, phase), (dl.dns, Phase.DNS))
            addresses = _resolve(host, port, left, phase)
            if len({":" in a for a in addresses}) == 2:  # both families: race them
                left, phase = budget()
                sock = _happy(host, port, addresses, left)
                return sock, b""
            last: NetworkError | None = None
            for address in addresses:
                left, phase = budget()
                try:
                    sock = connect_tcp(address, port, timeout=left, io_timeout=None)
                    break
                except ConnectError as exc:
                    last = exc
            if sock is None:
                assert last is not None
                raise last
    except Timeout as exc:
        if exc.phase is Phase.PROXY:
            raise
        if exc.phase is Phase.CONNECT and phase is Phase.TOTAL:
            raise Timeout(f"{exc} (the request's total deadline)", phase=Phase.TOTAL) from None
        raise
    except NetworkError as exc:
        reason = exc.strerror or str(exc)
        raise ConnectError(
            exc.errno or errno.ECONNREFUSED, f"cannot connect to {origin}: {reason}"
        ) from exc
    return sock, b""


class HTTPConnection:
    """A socket plus a client HTTP/1.1 machine; see the module docstring."""

    __slots__ = (
        "_events",
        "_h1",
        "_initial",
        "_pboth",
        "_pin",
        "_pos",
        "_pout",
        "created",
        "exchanges",
        "idle_since",
        "origin",
        "received",
        "sock",
    )

    def __init__(
        self, sock: Transport, origin: Origin, config: HTTP1Config, *, initial: bytes = b""
    ) -> None:
        self.sock = sock
        # bytes a proxy relayed before our request: parsed before anything read later
        self._initial = initial
        self.origin = origin
        self._h1 = Connection(Role.CLIENT, config)
        fd = sock.fileno()
        self._pin = select.poll()
        self._pin.register(fd, _POLLIN)
        self._pout = select.poll()
        self._pout.register(fd, _POLLOUT)
        self._pboth = select.poll()
        self._pboth.register(fd, _POLLIN | _POLLOUT)
        self._events: list[Event] = []
        self._pos = 0
        #: When the connection went back to the pool (``time.monotonic``).
        self.idle_since = 0.0
        #: When it was opened (``time.monotonic``): ``max_connection_age`` counts from here.
        self.created = _monotonic()
        #: Exchanges completed on this connection.
        self.exchanges = 0
        #: Response bytes received in the current exchange.
        self.received = 0

    # -- state ----------------------------------------------------------------

    def looks_reusable(self) -> bool:
        """For an idle connection: nothing readable (readable means EOF, a reset or junk)."""
        if self.sock.closed:
            return False
        try:
            return not self._pin.poll(0)
        except OSError:  # pragma: no cover - a closed descriptor
            return False

    def finish_exchange(self) -> bool:
        """After a complete response: reset for the next one; ``False`` if it cannot.

        A client sends one request at a time, so bytes that arrived after a
        complete response (a body on a HEAD answer, a stray duplicate) are junk;
        parsed later they would pass for the next response, so such a
        connection is not reused.
        """
        h1 = self._h1
        if (
            h1.our_state is _DONE
            and h1.their_state is _DONE
            and self._pos >= len(self._events)
            and not h1.buffered_input
        ):
            h1.start_next_cycle()
            self.exchanges += 1
            return True
        return False

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self.sock.close()

    # -- waits ------------------------------------------------------------------

    def _wait(self, poller: select.poll, deadline: float | None, phase: Phase, what: str) -> None:
        while True:
            if deadline is None:
                ms = -1
            else:
                left = deadline - _monotonic()
                if left <= 0:
                    raise Timeout(f"{what} timed out (phase {phase.value})", phase=phase)
                ms = math.ceil(left * 1000)
            if poller.poll(ms):
                return

    # -- sending ------------------------------------------------------------------

    def _send(self, data: bytes, dl: Deadlines) -> None:
        sock = self.sock
        view = memoryview(data)
        total = len(view)
        sent = 0
        while sent < total:
            n = sock.try_send(view[sent:] if sent else view).sent
            if n:
                sent += n
                continue
            deadline, phase = dl.until(dl.write, Phase.WRITE)
            self._wait(self._pboth, deadline, phase, f"sending the request to {self.origin}")
            if self._pin.poll(0):
                self._early_input()

    def _early_input(self) -> None:
        """The server spoke while we were still sending: an early answer (413, 401...)?

        Its bytes are kept for the response parser and the upload stops (RFC
        9112 section 9.3); the caller then reads that answer. Input that is not
        application data (a TLS session ticket) changes nothing.
        """
        data = self.sock.try_recv(_RECV_SIZE)
        if data is None:
            return
        if not data:
            raise ConnectionClosed(errno.EPIPE, f"{self.origin} closed the connection "
                                   "before the request was sent")
        self._initial += data
        raise NetworkError(errno.ECONNABORTED, f"{self.origin} answered before the "
                           "request body was sent; the upload stopped")

    def send_request(
        self,
        request: Request,
        chunks: Iterator[bytes] | None,
        dl: Deadlines,
        trailers: Headers | None = None,
    ) -> None:
        """Send the head and the body (``chunks``; ``None``: no body), then ``trailers``.

        Small pieces are gathered into one write (a head with a small body
        is one ``send``); large ones are written as they come, uncopied.
        """
        h1 = self._h1
        self.received = 0
        h1.send(request)
        if chunks is None:
            h1.send(EndOfMessage())
            self._send(h1.data_to_send(), dl)
            return
        pending = [h1.data_to_send()]
        size = len(pending[0])
        for chunk in chunks:
            h1.send(Data(chunk))
            out = h1.data_to_send()
            if size + len(out) > _GATHER:
                self._send(b"".join(pending), dl)
                pending.clear()
                size = 0
                if len(out) > _GATHER:
                    self._send(out, dl)
                    continue
            pending.append(out)
            size += len(out)
        h1.send(EndOfMessage(trailers) if trailers else EndOfMessage())
        pending.append(h1.data_to_send())
        self._send(b"".join(pending), dl)

    def send_aborted(self) -> None:
        """Our request could not be completed: the connection must not be reused."""
        self._h1.send_failed()

    # -- receiving ----------------------------------------------------------------

    def next_event(self, dl: Deadlines, phase: Phase, timeout: float | None) -> Event:
        """The next response event, reading as needed.

        ``phase`` (``read`` or ``body``) and ``timeout`` name the inactivity
        bound of this wait. EOF before the response is complete raises
        :class:`ConnectionClosed`.
        """
        pos = self._pos
        events = self._events
        if pos < len(events):
            self._pos = pos + 1
            return events[pos]
        h1 = self._h1
        if h1.their_state is _ERROR:
            h1.receive_data(b"")  # raises the error found after the events handed out
        sock = self.sock
        poll_first = phase is Phase.READ
        data: bytes | None
        while True:
            if self._initial:
                data, self._initial = self._initial, b""
            else:
                if poll_first:
                    deadline, which = dl.until(timeout, phase)
                    what = "the response head" if phase is Phase.READ else "the response body"
                    self._wait(self._pin, deadline, which,
                               f"waiting for {what} from {self.origin}")
                data = sock.try_recv(_RECV_SIZE)
            if data is None:
                poll_first = True
                continue
            if data:
                self.received += len(data)
                events = h1.receive_data(data)
            else:
                try:
                    events = h1.receive_eof()
                except RemoteProtocolError as exc:
                    raise ConnectionClosed(
                        errno.ECONNRESET,
                        f"the server closed the connection after {self.received} bytes "
                        f"of the response ({exc.message})",
                    ) from exc
            if events:
                self._events = events
                self._pos = 1
                return events[0]
            poll_first = True
