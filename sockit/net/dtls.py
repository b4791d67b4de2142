"""Blocking DTLS 1.2 over sockit UDP sockets: :class:`DTLSSocket` and :class:`DTLSServer`.

A client owns one connected UDP socket::

    ctx = DTLSContext.client(cafile="ca.pem")
    with connect_dtls("localhost", 4433, ctx, timeout=5) as dtls:
        dtls.send(b"ping")                 # one datagram, one record
        print(dtls.recv(timeout=5))        # one payload

A server shares one UDP socket among its peers, told apart by address. The
first datagram from an unknown address goes to the stateless
:class:`~sockit.proto.tls.dtls.DTLSListener` (cookies); only a client that
echoes its cookie gets an association::

    server = listen_dtls("127.0.0.1", 4433, DTLSContext.server("cert.pem", "key.pem"))
    peer = server.accept(timeout=10)      # a DTLSPeer whose handshake is done
    peer.send(peer.recv(timeout=5))       # echo one datagram

Both sides resend lost handshake flights on the engine's schedule through a
:class:`~sockit.net.timers.TimerQueue` on the injectable ``clock``. A
handshake past ``DTLSDefaults.handshake_timeout`` (or the call's
``timeout``) raises :class:`~sockit.errors.Timeout` with phase ``tls``.
Nothing here is thread-safe: a server and its peers belong to one thread.
"""

from __future__ import annotations

import collections
import contextlib
import time
from collections.abc import Callable
from types import TracebackType
from typing import Final

from sockit.errors import ConnectError, ConnectionClosed, NetworkError, Phase, SockitError, Timeout
from sockit.limits import ServerLimits
from sockit.net._oserror import DEFAULT, Buffer, TimeoutArg, byte_view, check_timeout
from sockit.net.timers import Timer, TimerQueue
from sockit.net.udp import DatagramSocket, IPAddress, bind_udp, connect_udp
from sockit.proto.events import Event
from sockit.proto.tls.dtls import (
    CloseNotify,
    DTLSConnection,
    DTLSContext,
    DTLSListener,
    DTLSState,
    HandshakeComplete,
    TLSData,
)

__all__ = ["DTLSPeer", "DTLSServer", "DTLSSocket", "connect_dtls", "listen_dtls"]

Clock = Callable[[], float]
_READ_SIZE: Final = 65535
_MAX_INBOX: Final = 1024  # payloads queued per peer before new ones are dropped
_SHUTDOWN_SEND: Final = 1.0


def _wait(deadline: float | None, timer: float | None, clock: Clock) -> float | None:
    """Seconds to block for: until the call's deadline or the next timer, if sooner."""
    ends = [t for t in (deadline, timer) if t is not None]
    return None if not ends else max(0.0, min(ends) - clock())


class _Endpoint:
    """One association's engine, its received payloads and its resend timer."""

    def __init__(self, conn: DTLSConnection) -> None:
        self.conn = conn
        self.inbox: collections.deque[bytes] = collections.deque()
        self.handshake: HandshakeComplete | None = None
        self.eof = False
        self.timer: Timer | None = None
        self.dropped = 0

    def absorb(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, TLSData):
                if len(self.inbox) >= _MAX_INBOX:
                    self.dropped += 1
                else:
                    self.inbox.append(event.data)
            elif isinstance(event, HandshakeComplete):
                self.handshake = event
            elif isinstance(event, CloseNotify):
                self.eof = True

    def rearm(self, timers: TimerQueue, now: float) -> None:
        deadline = self.conn.next_deadline()
        if deadline is None:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
        elif self.timer is None:
            self.timer = timers.add(deadline - now, self)
        else:
            self.timer.reschedule(deadline - now)


class DTLSSocket:
    """A DTLS client over a connected UDP socket; made by :func:`connect_dtls`."""

    def __init__(self, sock: DatagramSocket, conn: DTLSConnection, *,
                 clock: Clock = time.monotonic) -> None:
        self._sock = sock
        self._clock = clock
        self._end = _Endpoint(conn)
        self._timers = TimerQueue(clock)
        #: ICMP "connection refused" reports seen (ignored, as DTLS does).
        self.refusals = 0

    @property
    def connection(self) -> DTLSConnection:
        """The sans-I/O engine (negotiated values, stats)."""
        return self._end.conn

    @property
    def socket(self) -> DatagramSocket:
        """The UDP socket underneath."""
        return self._sock

    def _flush(self) -> None:
        for datagram in self._end.conn.datagrams_to_send():
            self._sock.send(datagram)

    def _pump(self, deadline: float | None) -> None:
        """Fire due timers, then wait once for a datagram (or the next timer)."""
        end, conn = self._end, self._end.conn
        for _timer in self._timers.pop_due():
            end.timer = None
            conn.handle_timeout(self._clock())
        self._flush()
        end.rearm(self._timers, self._clock())
        wait = _wait(deadline, self._timers.next_deadline(), self._clock)
        try:
            data = self._sock.recv(_READ_SIZE, timeout=wait)
        except ConnectError:
            # ICMP port unreachable: a soft error for UDP (the server may be
            # starting); the flight is resent on schedule until the deadline
            self.refusals += 1
            return
        except Timeout:
            if deadline is not None and self._clock() >= deadline:
                raise
            return
        try:
            events = conn.receive_datagram(data, now=self._clock())
        except SockitError:
            with contextlib.suppress(SockitError):
                self._flush()  # our alert tells the peer why
            raise
        end.absorb(events)
        self._flush()
        end.rearm(self._timers, self._clock())

    def handshake(self, timeout: TimeoutArg = DEFAULT) -> HandshakeComplete:
        """Run the handshake to the end (resending lost flights on the way)."""
        end = self._end
        limit = (end.conn.context.defaults.handshake_timeout if timeout is DEFAULT
                 else check_timeout(timeout))
        deadline = None if limit is None else self._clock() + limit
        try:
            self._flush()
            end.rearm(self._timers, self._clock())
            while end.handshake is None:
                self._pump(deadline)
        except Timeout as exc:
            refused = f" ({self.refusals} connection refused reports)" if self.refusals else ""
            raise Timeout(f"DTLS handshake timed out: {exc}{refused}", phase=Phase.TLS) from None
        return end.handshake

    def send(self, payload: Buffer) -> None:
        """Send ``payload`` as one record in one datagram (MessageTooLarge if it does not fit)."""
        self._end.conn.send_data(byte_view(payload))
        self._flush()

    def recv(self, timeout: TimeoutArg = DEFAULT) -> bytes:
        """The next payload from the peer; ``b""`` once it sent close_notify."""
        end = self._end
        limit = self._sock.timeout if timeout is DEFAULT else check_timeout(timeout)
        deadline = None if limit is None else self._clock() + limit
        while not end.inbox:
            if end.eof:
                return b""
            try:
                self._pump(deadline)
            except Timeout:
                raise Timeout("DTLS recv timed out", phase=Phase.READ) from None
        return end.inbox.popleft()

    def close(self) -> None:
        """Send close_notify (best effort) and close the socket."""
        if self._sock.closed:
            return
        with contextlib.suppress(SockitError):
            self._end.conn.close()
            self._flush()
        self._sock.close()

    def __enter__(self) -> DTLSSocket:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def connect_dtls(
    host: str,
    port: int,
    context: DTLSContext,
    *,
    server_hostname: str | None = None,
    timeout: TimeoutArg = DEFAULT,
    mtu: int | None = None,
    clock: Clock = time.monotonic,
) -> DTLSSocket:
    """A DTLS client connected to ``host:port`` with its handshake done.

    ``server_hostname`` (default: ``host``) is sent as SNI and checked
    against the certificate; ``timeout`` bounds the handshake (default
    ``DTLSDefaults.handshake_timeout``).
    """
    sock = connect_udp(host, port)
    try:
        conn = DTLSConnection(context, server_hostname=server_hostname or host,
                              now=clock(), mtu=mtu)
        dtls = DTLSSocket(sock, conn, clock=clock)
        dtls.handshake(timeout)
    except BaseException:
        sock.close()
        raise
    return dtls


class DTLSPeer:
    """One client of a :class:`DTLSServer`, after its handshake."""

    def __init__(self, server: DTLSServer, address: IPAddress, end: _Endpoint) -> None:
        self._server = server
        self.address = address
        self._end = end

    @property
    def connection(self) -> DTLSConnection:
        """The sans-I/O engine (negotiated values, stats)."""
        return self._end.conn

    @property
    def handshake(self) -> HandshakeComplete | None:
        """What the handshake agreed."""
        return self._end.handshake

    def send(self, payload: Buffer) -> None:
        """Send ``payload`` to this peer as one record in one datagram."""
        self._end.conn.send_data(byte_view(payload))
        self._server._flush(self.address, self._end)

    def recv(self, timeout: TimeoutArg = DEFAULT) -> bytes:
        """This peer's next payload (serving the others meanwhile); ``b""`` after close.

        ConnectionClosed if the association failed or was dropped.
        """
        server, end = self._server, self._end
        limit = server.socket.timeout if timeout is DEFAULT else check_timeout(timeout)
        deadline = None if limit is None else server._clock() + limit
        while not end.inbox:
            if end.eof:
                return b""
            if end.conn.state is not DTLSState.OPEN:
                raise ConnectionClosed(f"the DTLS association is {end.conn.state.value}")
            server._pump(deadline, Phase.READ)
        return end.inbox.popleft()

    def close(self) -> None:
        """Send close_notify and forget the peer."""
        self._server._drop(self.address, notify=True)


class DTLSServer:
    """DTLS peers over one UDP socket; made by :func:`listen_dtls`."""

    def __init__(
        self,
        sock: DatagramSocket,
        context: DTLSContext,
        *,
        clock: Clock = time.monotonic,
        mtu: int | None = None,
        max_peers: int = ServerLimits().max_connections,
    ) -> None:
        self.socket = sock
        self.context = context
        self._clock = clock
        self.listener = DTLSListener(context, mtu=mtu)
        self.max_peers = max_peers
        self._ends: dict[IPAddress, _Endpoint] = {}
        self._ready: collections.deque[DTLSPeer] = collections.deque()
        self._timers = TimerQueue(clock)
        #: Peers dropped after a failed handshake or a timeout.
        self.failed = 0
        #: Datagrams refused because ``max_peers`` associations exist.
        self.refused = 0

    @property
    def address(self) -> IPAddress:
        """The bound address (with the port the system picked)."""
        addr: IPAddress = self.socket.getsockname()
        return addr

    @property
    def peer_count(self) -> int:
        """Associations alive (handshaking or open)."""
        return len(self._ends)

    def accept(self, timeout: TimeoutArg = DEFAULT) -> DTLSPeer:
        """The next peer whose handshake completed (Timeout with phase ``tls`` if none)."""
        limit = self.socket.timeout if timeout is DEFAULT else check_timeout(timeout)
        deadline = None if limit is None else self._clock() + limit
        while not self._ready:
            self._pump(deadline, Phase.TLS)
        return self._ready.popleft()

    def poll(self, timeout: float | None = 0.0) -> None:
        """Serve for up to ``timeout`` seconds: read one datagram if any, fire timers."""
        deadline = None if timeout is None else self._clock() + timeout
        with contextlib.suppress(Timeout):
            self._pump(deadline, Phase.READ)

    def _flush(self, address: IPAddress, end: _Endpoint) -> None:
        for datagram in end.conn.datagrams_to_send():
            try:
                self.socket.sendto(datagram, address)
            except NetworkError:
                return  # a peer that went away; its timers will give up

    def _drop(self, address: IPAddress, *, notify: bool) -> None:
        end = self._ends.pop(address, None)
        if end is None:
            return
        if end.timer is not None:
            end.timer.cancel()
        if notify:
            with contextlib.suppress(SockitError):
                end.conn.close()
                self._flush(address, end)

    def _pump(self, deadline: float | None, phase: Phase) -> None:
        for timer in self._timers.pop_due():
            end = timer.data
            assert isinstance(end, _Endpoint)
            end.timer = None
            address = end.conn.peer_address
            assert isinstance(address, tuple)
            try:
                end.conn.handle_timeout(self._clock())
            except SockitError:
                self.failed += 1
                self._drop(address, notify=False)
                continue
            self._flush(address, end)
            end.rearm(self._timers, self._clock())
        wait = _wait(deadline, self._timers.next_deadline(), self._clock)
        try:
            data, address = self.socket.recvfrom(_READ_SIZE, timeout=wait)
        except Timeout:
            if deadline is not None and self._clock() >= deadline:
                raise Timeout("DTLS server wait timed out", phase=phase) from None
            return
        self._dispatch(data, address)

    def _dispatch(self, data: bytes, address: IPAddress) -> None:
        now = self._clock()
        end = self._ends.get(address)
        if end is None:
            if len(self._ends) >= self.max_peers:
                self.refused += 1
                return
            result = self.listener.accept_hello(data, address, now)
            if result.reply is not None:
                with contextlib.suppress(NetworkError):
                    self.socket.sendto(result.reply, address)
            if result.connection is None:
                return
            end = self._ends[address] = _Endpoint(result.connection)
            self._flush(address, end)
            end.rearm(self._timers, now)
            return
        was_open = end.handshake is not None
        try:
            end.absorb(end.conn.receive_datagram(data, now=now))
        except SockitError:
            self._flush(address, end)  # our alert, if any
            self.failed += 1
            self._drop(address, notify=False)
            return
        self._flush(address, end)
        end.rearm(self._timers, now)
        if not was_open and end.handshake is not None:
            self._ready.append(DTLSPeer(self, address, end))

    def close(self) -> None:
        """Send close_notify to every peer and close the socket."""
        for address in list(self._ends):
            self._drop(address, notify=True)
        self.socket.close()

    def __enter__(self) -> DTLSServer:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def listen_dtls(
    host: str,
    port: int,
    context: DTLSContext,
    *,
    clock: Clock = time.monotonic,
    mtu: int | None = None,
    max_peers: int = ServerLimits().max_connections,
) -> DTLSServer:
    """A DTLS server on ``host:port`` (port 0: the system picks; see :attr:`DTLSServer.address`)."""
    sock = bind_udp(host, port)
    return DTLSServer(sock, context, clock=clock, mtu=mtu, max_peers=max_peers)

