"""The callback-free HTTP/1.1 server core: :class:`HTTPServer`.

::

    with HTTPServer("127.0.0.1", 8080) as server:
        for request in server:                      # or: server.poll(timeout)
            request.respond(200, [("Content-Type", "text/plain")], b"hello\\n")

One :class:`~sockit.net.Reactor` drives every listener and connection on the
thread that calls :meth:`HTTPServer.poll` (or iterates). ``poll`` sends what
was answered since the last call, waits for I/O and timers, and returns the
requests that became complete — head and body read, within the limits — in
arrival order per connection. Nothing here calls application code except a
streamed body's iterator.

Over ``ServerLimits.max_connections`` (or ``max_connections_per_client`` from
one address) a new connection is accepted and answered ``503`` with
``Connection: close`` at once (counted as a refusal); while more than
``max(16, max_connections // 8)`` such answers are still being delivered,
further ones are closed without an answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Final, Literal

from sockit._closing import Closing
from sockit.errors import LocalProtocolError, NetworkError
from sockit.limits import ServerLimits, WSLimits
from sockit.net import (
    READ,
    IOEvent,
    Reactor,
    SignalEvent,
    Socket,
    TimerEvent,
    listen_tcp,
    listen_unix,
)
from sockit.observe import get_logger
from sockit.proto.events import Role
from sockit.proto.http import format_http_date
from sockit.proto.http1 import HTTP1Config
from sockit.proto.http2 import H2Config
from sockit.proto.tls import TLSConnection, TLSContext
from sockit.server.connection import ErrorPages, HTTPConnection
from sockit.server.drain import DrainStatus, in_flight, is_busy, wind_down
from sockit.server.metrics import ServerMetrics, shared_metrics
from sockit.server.ops import ops_metrics
from sockit.server.request import Address, ServerRequest

__all__ = ["DrainStatus", "HTTPServer"]

log = get_logger("server")

#: Connections taken from a listener's backlog per readiness event.
_ACCEPT_BATCH: Final = 64
#: How long accepting pauses after the process ran out of descriptors.
_ACCEPT_PAUSE: Final = 0.1


class _Listener:
    """A listening socket, what its connections are called, and whether they speak TLS."""

    __slots__ = ("paused", "sock", "tls", "unix_path")

    def __init__(self, sock: Socket, unix_path: str | None, tls: TLSContext | None) -> None:
        self.sock = sock
        self.unix_path = unix_path
        self.tls = tls
        self.paused = False


class _Periodic:
    """A call the loop makes on a repeating timer (see :meth:`HTTPServer.every`)."""

    __slots__ = ("call",)

    def __init__(self, call: Callable[[], None]) -> None:
        self.call = call


def _http1_config(http1: HTTP1Config | None, limits: ServerLimits) -> HTTP1Config:
    """``http1`` tightened to the server's body and head bounds."""
    config = HTTP1Config() if http1 is None else http1
    lim = config.limits
    changes: dict[str, int] = {}
    if lim.max_body_size is None or lim.max_body_size > limits.max_body_size:
        changes["max_body_size"] = limits.max_body_size
    if lim.max_header_block_size > limits.max_header_block_size:
        changes["max_header_block_size"] = limits.max_header_block_size
        if lim.max_header_name_size > limits.max_header_block_size:
            changes["max_header_name_size"] = limits.max_header_block_size
    if not changes:
        return config
    return dataclasses.replace(config, limits=lim.replace(**changes))


class HTTPServer(Closing):
    """An HTTP/1.1 and HTTP/2 server on TCP (IPv4 or IPv6) and/or a Unix socket; yields requests.

    ``host=None`` listens on no TCP address (``unix_path`` only). ``port=0``
    lets the kernel choose (see :attr:`port`). ``limits`` bounds connections,
    requests and every phase's time; ``http1`` configures the parser (its
    body and head bounds are tightened to ``limits``). ``linger_timeout``
    bounds the drain after a half-close. ``read_size`` is the receive
    buffer all connections share (one thread reads one socket at a time);
    ``feed`` is how received bytes reach the parser (see
    :class:`~sockit.net.channel.Channel`). ``backend`` picks a level-triggered
    reactor backend (``None``: the measured default). ``http2`` configures
    cleartext HTTP/2 — a client's connection preface (prior knowledge) or an
    ``Upgrade: h2c`` request switches the connection (see
    :mod:`sockit.server.h2`); ``False`` keeps every connection HTTP/1.1.
    ``tls`` (a server :class:`~sockit.proto.tls.TLSContext`) makes every TCP
    connection HTTPS (Unix-socket listeners stay plaintext); give the context
    ``alpn=("h2", "http/1.1")`` so HTTP/2 clients pick h2 by ALPN (see
    :func:`server_tls_context`). A failed handshake closes the connection
    quietly and is counted in ``sockit_http_tls_failures_total``.
    ``error_pages(status) -> (fields, body)`` renders the errors the server
    answers by itself, before or without the application (``400``, ``408``,
    ``413``, ``431``, ``503``); :meth:`ErrorHandlers.page
    <sockit.server.ErrorHandlers.page>` is one. It runs on the loop's thread
    (keep it quick); if it fails, the plain text page is sent.
    ``reuse_port`` sets ``SO_REUSEPORT`` on the TCP listener, so several
    processes (see :mod:`sockit.server.workers`) can each listen on one port.
    More addresses: :meth:`add_listener` and :meth:`add_unix_listener`.

    Stopping: :meth:`drain` (or SIGTERM/SIGINT after :meth:`watch_signals`)
    stops accepting and lets work in flight finish for up to ``grace``
    seconds while iteration goes on; :meth:`close` ends everything.

    Threading: :meth:`poll`, iteration and :meth:`close` belong to one thread
    (the loop's); :meth:`stop` and :meth:`ServerRequest.respond` may be called
    from any thread.
    """

    def __init__(
        self,
        host: str | None = "127.0.0.1",
        port: int = 0,
        *,
        unix_path: str | None = None,
        limits: ServerLimits | None = None,
        http1: HTTP1Config | None = None,
        linger_timeout: float = 2.0,
        read_size: int = 64 * 1024,
        feed: Literal["bytes", "view"] = "bytes",
        backend: str | None = None,
        metrics: ServerMetrics | None = None,
        http2: H2Config | bool = True,
        websocket: WSLimits | None = None,
        tls: TLSContext | None = None,
        reuse_port: bool = False,
        grace: float = 5.0,
        drain_notice: float = 0.0,
        error_pages: ErrorPages | None = None,
    ) -> None:
        if host is None and unix_path is None:
            raise ValueError("give a host, a unix_path, or both")
        self.limits = ServerLimits() if limits is None else limits
        self.http1_config = _http1_config(http1, self.limits)
        #: Bounds of accepted WebSockets (frame, message, fragments, inflated size).
        self.ws_limits = WSLimits() if websocket is None else websocket
        #: HTTP/2 settings (cleartext: prior knowledge and ``Upgrade: h2c``); ``None``: off.
        #: Flow control is always manual: the server returns credit as it can hold bodies.
        #: By default WebSocket over HTTP/2 (RFC 8441) is advertised too.
        h2 = (
            (H2Config(enable_connect_protocol=True) if http2 is True else None)
            if isinstance(http2, bool)
            else http2
        )
        self.http2: H2Config | None = (
            None if h2 is None else dataclasses.replace(h2, auto_window_update=False)
        )
        self.linger_timeout = linger_timeout
        #: Renders the server's own errors (400, 408, 413, 431, 503...); ``None``: plain text.
        self.error_pages = error_pages
        #: The server TLS context (``None``: plaintext HTTP).
        self.tls = tls
        if tls is not None and tls.role is not Role.SERVER:
            raise ValueError("HTTPServer needs a server-role TLSContext")
        #: One receive buffer for every connection: the loop reads one socket at a time.
        self.receive_buffer = bytearray(read_size)
        self.feed: Literal["bytes", "view"] = feed
        self.metrics = shared_metrics() if metrics is None else metrics
        #: The thread running the loop (set by :meth:`poll`); ``None`` before.
        self.loop_thread: int | None = None
        #: ``True`` once :meth:`close` began: answers carry ``Connection: close``.
        self.closing = False
        #: The signal that stopped the server (see :meth:`watch_signals`), if any.
        self.stop_signal: int | None = None
        #: Seconds a drain started by a signal gives work in flight (see :meth:`drain`).
        self.grace = grace
        #: Seconds a signal-started drain keeps accepting first (see :meth:`drain`'s ``notice``).
        self.drain_notice = drain_notice
        #: ``True`` once :meth:`drain` (or :meth:`close`) began; ``/healthz`` answers 503.
        self.draining = False
        #: When the drain began and when it cuts what is left (reactor clock); ``None`` before.
        self.drain_started: float | None = None
        self.drain_deadline: float | None = None
        #: How many reopen signals (SIGHUP) arrived; see :meth:`on_reopen`.
        self.reopen_count = 0
        self._drain_done = False
        self._accepting = True
        self._notice_until: float | None = None
        self._forced = 0
        self._refusing = False
        self._reopen_signals: frozenset[int] = frozenset()
        self._reopen_calls: list[Callable[[], object]] = []
        self._ops = ops_metrics()
        self._reactor = Reactor(backend)
        if self._reactor.edge_triggered:
            self._reactor.close()
            raise ValueError("the server reads once per readiness: use a level-triggered backend")
        self.now = self._reactor.clock()
        self._listeners: list[_Listener] = []
        self._connections: set[HTTPConnection] = set()
        self._active = 0
        self._rejecting = 0
        self._per_client: dict[str, int] = {}
        self._ready: list[ServerRequest] = []
        self._dirty: list[HTTPConnection] = []
        self._posted: deque[Callable[[], None]] = deque()
        self._stopping = False
        self._closed = False
        self._date_second = -1
        self._date = b""
        try:
            backlog = self.limits.listen_backlog
            if host is not None:
                sock = listen_tcp(host, port, backlog=backlog, reuse_port=reuse_port)
                self._add_listener(sock, None, tls)
            if unix_path is not None:
                self._add_listener(listen_unix(unix_path, backlog=backlog), unix_path, None)
        except BaseException:
            self._close_listeners()
            self._reactor.close()
            raise

    def _add_listener(self, sock: Socket, unix_path: str | None, tls: TLSContext | None) -> None:
        listener = _Listener(sock, unix_path, tls)
        self._listeners.append(listener)
        self._reactor.register(sock, READ, data=listener)

    def add_listener(
        self,
        host: str,
        port: int = 0,
        *,
        tls: TLSContext | None = None,
        reuse_port: bool = False,
    ) -> Address:
        """Also listen on ``host:port`` (HTTPS with ``tls``); the bound address. Loop thread.

        One server may serve plaintext and TLS on different ports at once;
        ``tls`` here is independent of the constructor's.
        """
        if self.closing or self._closed:
            raise LocalProtocolError("the server is closing")
        if tls is not None and tls.role is not Role.SERVER:
            raise ValueError("a listener needs a server-role TLSContext")
        sock = listen_tcp(host, port, backlog=self.limits.listen_backlog, reuse_port=reuse_port)
        try:
            self._add_listener(sock, None, tls)
        except BaseException:
            sock.close()
            raise
        return tuple(sock.getsockname())

    def add_unix_listener(self, path: str) -> str:
        """Also listen on the Unix socket ``path`` (plaintext HTTP). Loop thread."""
        if self.closing or self._closed:
            raise LocalProtocolError("the server is closing")
        sock = listen_unix(path, backlog=self.limits.listen_backlog)
        try:
            self._add_listener(sock, path, None)
        except BaseException:
            sock.close()
            raise
        return path

    # -- introspection ----------------------------------------------------------------

    @property
    def addresses(self) -> list[Address]:
        """Every listening address: ``(host, port, ...)`` tuples and Unix paths."""
        out: list[Address] = []
        for listener in self._listeners:
            if listener.unix_path is not None:
                out.append(listener.unix_path)
            else:
                out.append(tuple(listener.sock.getsockname()))
        return out

    @property
    def port(self) -> int:
        """The TCP port listened on (``LocalProtocolError`` without a TCP listener)."""
        for listener in self._listeners:
            if listener.unix_path is None:
                return int(listener.sock.getsockname()[1])
        raise LocalProtocolError("this server has no TCP listener")

    @property
    def url(self) -> str:
        """``http://host:port`` of the TCP listener (IPv6 hosts in brackets)."""
        for listener in self._listeners:
            if listener.unix_path is None:
                host, port = listener.sock.getsockname()[:2]
                scheme = "https" if listener.tls is not None else "http"
                return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"
        raise LocalProtocolError("this server has no TCP listener")

    @property
    def connection_count(self) -> int:
        """Open client connections (those being refused with 503 included)."""
        return len(self._connections)

    @property
    def reactor(self) -> Reactor:
        """The reactor the server runs on (for adding timers or other sockets)."""
        return self._reactor

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` finished."""
        return self._closed

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called (iteration ends)."""
        return self._stopping

    # -- the loop ---------------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> list[ServerRequest]:
        """Send what was answered, wait up to ``timeout`` s for I/O, return new requests.

        ``timeout=None`` waits until something happens (a request, a timer,
        :meth:`stop`). Returns ``[]`` once the server is closed.
        """
        if self._closed:
            return []
        self.loop_thread = threading.get_ident()
        self._turn(timeout)
        ready = self._ready
        if ready:
            self._ready = []
        return ready

    def __iter__(self) -> Iterator[ServerRequest]:
        """Yield requests until :meth:`stop`, or until a drain (see :meth:`drain`) ended."""
        while not self._stopping and not self._closed:
            yield from self.poll(None)

    def _turn(self, timeout: float | None) -> None:
        if self._posted:
            self._run_posted()
        if self._dirty:
            self._advance_dirty()
        if self._ready or self._dirty or self._posted or (self._stopping and not self._refusing):
            timeout = 0.0
        elif self.drain_deadline is not None and not self._drain_done:
            until = self._notice_until or self.drain_deadline
            left = max(0.0, until - self._reactor.clock())
            timeout = left if timeout is None else min(timeout, left)
        reactor = self._reactor
        self._dispatch(reactor.wait(timeout))
        if self._posted:
            self._run_posted()
        if self._dirty:
            self._advance_dirty()
        if self.draining and not self._drain_done:
            if self._notice_until is not None:
                if self._reactor.clock() >= self._notice_until:
                    self._stop_accepting()
            else:
                self._check_drain()

    def _dispatch(self, events: list[IOEvent | TimerEvent | SignalEvent]) -> None:
        self.now = self._reactor.clock()
        for ev in events:
            if type(ev) is IOEvent:
                data = ev.data
                if type(data) is HTTPConnection:
                    data.on_io(ev.readable, ev.writable)
                elif isinstance(data, _Listener):
                    self._accept(data)
            elif type(ev) is TimerEvent:
                data = ev.data
                if type(data) is HTTPConnection:
                    data.on_timer()
                elif isinstance(data, _Listener):
                    self._resume_accepting(data)
                elif type(data) is _Periodic:
                    self._run_call(data.call)
            elif type(ev) is SignalEvent:
                self._on_signal(int(ev.signum))

    def _advance_dirty(self) -> None:
        dirty = self._dirty
        self._dirty = []
        for conn in dirty:
            conn.advance()

    def _run_posted(self) -> None:
        posted = self._posted
        while posted:
            self._run_call(posted.popleft())

    @staticmethod
    def _run_call(call: Callable[[], object]) -> None:
        try:
            call()
        except Exception:
            log.exception("a call handed to the server loop failed")

    def mark_dirty(self, conn: HTTPConnection) -> None:
        """``conn`` has output or work for the end of this turn (connections call this)."""
        self._dirty.append(conn)

    def deliver(self, request: ServerRequest) -> None:
        """A complete request: queue it for :meth:`poll` (503 once :meth:`close` runs)."""
        if self._refusing:
            request._responded = True
            conn = request._conn
            conn.close_after = True
            if not conn.closed:
                self.metrics.refusal("closing")
                conn.send_error(503)
            return
        self._ready.append(request)

    def call_soon(self, call: Callable[[], None]) -> None:
        """Run ``call`` on the loop's thread at its next turn. Thread-safe."""
        self._posted.append(call)
        self._reactor.wakeup()

    def every(self, interval: float, call: Callable[[], None]) -> None:
        """Run ``call`` on the loop's thread every ``interval`` s (housekeeping). Loop thread.

        For work the loop must do while it waits (a worker watching its
        supervisor, a stats refresh); exceptions are logged, not raised.
        """
        self._reactor.add_timer(interval, data=_Periodic(call), repeat=interval)

    def date_header(self) -> bytes:
        """The ``Date`` value for now (formatted once per second)."""
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            self._date = format_http_date(now).encode("ascii")
        return self._date

    # -- connections ------------------------------------------------------------------

    def _accept(self, listener: _Listener) -> int:
        if listener.paused or listener.sock.closed:
            return 0
        # a long turn makes the turn's clock stale: new connections' read deadlines
        # count from when they were accepted, not from when the turn began
        self.now = self._reactor.clock()
        try:
            socks = listener.sock.accept_batch(_ACCEPT_BATCH)
        except NetworkError as exc:
            # EMFILE and the like: the backlog stays readable, so pause instead of spinning
            log.warning("accept failed: %s; pausing accepts for %.1f s", exc, _ACCEPT_PAUSE)
            listener.paused = True
            self._reactor.unregister(listener.sock)
            self._reactor.add_timer(_ACCEPT_PAUSE, data=listener)
            return 0
        for sock in socks:
            self._open(sock, listener)
        return len(socks)

    def _resume_accepting(self, listener: _Listener) -> None:
        if listener.paused and self._accepting and not listener.sock.closed:
            listener.paused = False
            self._reactor.register(listener.sock, READ, data=listener)

    def _open(self, sock: Socket, listener: _Listener) -> None:
        if not self._accepting:
            sock.close()
            return
        client: Address
        key: str | None
        if listener.unix_path is not None:
            client, key = listener.unix_path, None
        else:
            try:
                client = tuple(sock.getpeername())
            except NetworkError:  # gone before we looked
                sock.close()
                return
            key = str(client[0])
        limits = self.limits
        reason = None
        if self._active >= limits.max_connections:
            reason = "max_connections"
        elif key is not None and self._per_client.get(key, 0) >= limits.max_connections_per_client:
            reason = "max_connections_per_client"
        if reason is not None:
            if listener.tls is not None:
                self.metrics.refusal(reason)  # no handshake spent on a 503: just close
                sock.close()
                return
            self._reject(sock, client, reason)
            return
        conn = HTTPConnection(self, sock, client, key)
        if listener.tls is not None:
            conn.channel.start_tls(TLSConnection(listener.tls))
        self._connections.add(conn)
        self._active += 1
        if key is not None:
            self._per_client[key] = self._per_client.get(key, 0) + 1
        self.metrics.connections.inc()
        self.metrics.active.inc()
        conn.channel.attach(self._reactor)

    def _reject(self, sock: Socket, client: Address, reason: str) -> None:
        self.metrics.refusal(reason)
        if self._rejecting >= max(16, self.limits.max_connections // 8):
            sock.close()
            return
        conn = HTTPConnection(self, sock, client, None, counted=False)
        self._connections.add(conn)
        self._rejecting += 1
        conn.channel.attach(self._reactor)
        conn.send_error(503)

    def forget(self, conn: HTTPConnection) -> None:
        """A connection closed: drop it from the books (connections call this)."""
        if conn not in self._connections:
            return
        self._connections.discard(conn)
        if not conn.counted:
            self._rejecting -= 1
            return
        self._active -= 1
        self.metrics.active.dec()
        key = conn.client_key
        if key is not None:
            left = self._per_client.get(key, 1) - 1
            if left:
                self._per_client[key] = left
            else:
                self._per_client.pop(key, None)

    # -- stopping ---------------------------------------------------------------------

    def watch_signals(
        self,
        signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM),
        *,
        reopen: tuple[int, ...] = (signal.SIGHUP,),
    ) -> None:
        """Drain on ``signals`` and run the :meth:`on_reopen` calls on ``reopen``; main thread.

        The first of ``signals`` starts :meth:`drain` with :attr:`grace`; a
        second one cuts the drain short (what is still busy is closed now).
        """
        self._reopen_signals = frozenset(int(s) for s in reopen)
        self._reactor.watch_signals((*signals, *reopen))

    def on_reopen(self, call: Callable[[], object]) -> None:
        """Run ``call`` on the loop thread at each reopen signal (SIGHUP): reopen log files."""
        self._reopen_calls.append(call)

    def _on_signal(self, signum: int) -> None:
        if signum in self._reopen_signals:
            self.reopen_count += 1
            log.info("signal %d: reopening log files", signum)
            for call in list(self._reopen_calls):
                self._run_call(call)
            return
        self.stop_signal = signum
        if self.draining:
            log.warning("signal %d during the drain: closing what is left now", signum)
            self.drain_deadline = self._reactor.clock()
        else:
            self._start_drain(self.grace, self.drain_notice)

    def stop(self) -> None:
        """Make iteration end and a blocked :meth:`poll` return. Thread-safe."""
        self._stopping = True
        self._reactor.wakeup()

    def drain(self, grace: float | None = None, *, notice: float = 0.0) -> None:
        """Stop accepting and let work in flight finish, for up to ``grace`` s. Thread-safe.

        With ``notice`` > 0 the server first keeps accepting for ``notice``
        seconds while :attr:`draining` is already true: ``/healthz`` says 503
        so load balancers move away, every answer carries ``Connection:
        close`` and idle keep-alive connections are closed, so clients
        reconnect elsewhere. Then (or at once) it stops accepting:

        Connections already queued in the backlog are accepted and bytes
        already received are read first, so a request sent before the drain
        is served. Then the listeners close, idle keep-alive connections
        close, HTTP/1.1 answers still to come carry ``Connection: close``,
        HTTP/2 connections get GOAWAY (streams already opened finish) and
        WebSockets a close 1001. :meth:`poll` keeps returning the requests
        that complete; iteration ends once nothing is busy, and at the
        deadline what is left is closed. ``grace=None`` uses :attr:`grace`.
        Progress: :meth:`drain_status`.
        """
        seconds = self.grace if grace is None else grace
        if self.loop_thread is not None and self.loop_thread != threading.get_ident():
            self.call_soon(lambda: self._start_drain(seconds, notice))
            return
        self._start_drain(seconds, notice)

    def _start_drain(self, grace: float, notice: float = 0.0) -> None:
        if self._closed:
            return
        reactor = self._reactor
        grace, notice = max(0.0, grace), max(0.0, notice)
        if self.draining:
            if not self._drain_done and self.drain_deadline is not None:
                self._notice_until = None if notice <= 0 else self._notice_until
                self.drain_deadline = min(self.drain_deadline, reactor.clock() + grace)
                if self._notice_until is None and self._accepting:
                    self._stop_accepting()
            return
        now = reactor.clock()
        self.draining = self.closing = True
        self.drain_started = now
        self.drain_deadline = now + notice + grace
        self._ops.draining.inc()
        log.info("draining %d connections: %.1f s notice, %.1f s grace",
                 len(self._connections), notice, grace)
        if notice > 0:
            self._notice_until = now + notice
            for conn in list(self._connections):
                if conn.h2 is None and conn.ws is None:
                    wind_down(conn)  # idle ones go; busy ones answer with Connection: close
            return
        self._stop_accepting()

    def _stop_accepting(self) -> None:
        """The drain's second step: take what is queued, close the listeners, wind down."""
        self._notice_until = None
        for listener in self._listeners:
            self._accept_backlog(listener)
        self._accepting = False
        self._close_listeners()
        self._dispatch(self._reactor.wait(0.0))  # bytes that already arrived on quiet connections
        for conn in list(self._connections):
            wind_down(conn)
        self._check_drain()

    def _accept_backlog(self, listener: _Listener) -> None:
        rounds = self.limits.listen_backlog // _ACCEPT_BATCH + 1
        while rounds > 0 and self._accept(listener) == _ACCEPT_BATCH:
            rounds -= 1

    def _check_drain(self) -> None:
        deadline = self.drain_deadline
        assert deadline is not None
        busy = sum(1 for conn in self._connections if is_busy(conn))
        if busy and self._reactor.clock() < deadline:
            return
        for conn in list(self._connections):
            conn.close()
        if busy:
            self._forced += busy
            self._ops.drain_forced.inc(busy)
            log.warning("drain deadline: %d busy connections closed", busy)
        self._drain_done = True
        self._stopping = True
        self._ops.draining.dec()
        log.info("drained in %.3f s", self._reactor.clock() - (self.drain_started or deadline))

    def drain_status(self) -> DrainStatus:
        """Where the drain stands (all zeros but the counts before one began). Loop thread."""
        now = self._reactor.clock() if not self._closed else (self.drain_deadline or 0.0)
        started, deadline = self.drain_started, self.drain_deadline
        conns = list(self._connections)
        h2 = sum(1 for c in conns if c.h2 is not None)
        ws = sum(1 for c in conns if c.ws is not None)
        return DrainStatus(
            draining=self.draining,
            done=self._drain_done,
            elapsed=0.0 if started is None else max(0.0, now - started),
            remaining=0.0 if deadline is None or self._drain_done else max(0.0, deadline - now),
            connections=len(conns),
            busy=sum(1 for c in conns if is_busy(c)),
            in_flight=sum(in_flight(c) for c in conns),
            http1=len(conns) - h2 - ws,
            http2=h2,
            websocket=ws,
            forced=self._forced,
        )

    def close(self, grace: float = 0.0) -> None:
        """Drain (see :meth:`drain`) for up to ``grace`` s, then close everything; loop thread.

        Unlike a drain under :meth:`poll`, nobody takes new requests here: one
        that completes meanwhile is answered ``503``; answers already given
        (or given from other threads) are delivered. Idempotent.
        """
        if self._closed:
            return
        self._refusing = True
        self._stopping = True
        self._start_drain(grace)
        for request in self._ready:
            self.deliver(request)
        self._ready = []
        while not self._drain_done:
            self._turn(0.05)
        for conn in list(self._connections):
            conn.close()
        self._reactor.close()
        self._closed = True

    def _close_listeners(self) -> None:
        for listener in self._listeners:
            if not listener.paused:
                with contextlib.suppress(LocalProtocolError, NetworkError):
                    self._reactor.unregister(listener.sock)
            listener.paused = True
            listener.sock.close()

