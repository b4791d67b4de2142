"""A small SOCKS5 (and SOCKS4/4a) proxy server on the reactor.

::

    with SOCKSProxyServer("127.0.0.1", 1080, users={"alice": "s3cret"}) as server:
        server.serve_forever()          # or server.start() for a background thread

It is the server-role machine of :mod:`sockit.proto.socks` joined to sockets:
``CONNECT`` opens the target connection on a small worker pool (so DNS and a
slow connect never stall the loop) and then relays bytes both ways with
back-pressure and half-closes; ``UDP ASSOCIATE`` relays datagrams through a
UDP socket for as long as the client's TCP connection stays open; ``BIND`` is
refused (command not supported). Usable from the CLI as ``python -m sockit
socks`` and in tests as a real peer for curl and other clients.

Passwords are compared in constant time. Datagrams for a UDP association are
accepted only from the client's own IP address.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import functools
import hmac
import ipaddress
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sockit._closing import Closing
from sockit.errors import AddressError, NetworkError, SockitError, Timeout
from sockit.limits import ProxyLimits
from sockit.net import (
    READ,
    WRITE,
    IOEvent,
    Reactor,
    Socket,
    TimerEvent,
    bind_udp,
    connect_tcp,
    listen_tcp,
)
from sockit.net.udp import DatagramSocket
from sockit.observe import get_logger, log_event
from sockit.proto.socks import (
    CommandRequested,
    CredentialsReceived,
    SOCKS5Reply,
    SOCKSCommand,
    SOCKSServer,
    SOCKSVersion,
    decode_udp_datagram,
    encode_udp_datagram,
)

__all__ = ["SOCKSProxyServer"]

log = get_logger("server.socks")

_CHUNK = 65536
_HIGH_WATER = 256 * 1024
_ALL_VERSIONS = frozenset(SOCKSVersion)


def _reply_for(exc: BaseException) -> SOCKS5Reply:
    """The SOCKS5 reply code that best names a failed connect to the target."""
    if isinstance(exc, Timeout):
        return SOCKS5Reply.TTL_EXPIRED
    if isinstance(exc, AddressError):
        return SOCKS5Reply.HOST_UNREACHABLE
    code = getattr(exc, "errno", None)
    return {
        errno.ECONNREFUSED: SOCKS5Reply.CONNECTION_REFUSED,
        errno.ENETUNREACH: SOCKS5Reply.NETWORK_UNREACHABLE,
        errno.EHOSTUNREACH: SOCKS5Reply.HOST_UNREACHABLE,
        errno.ETIMEDOUT: SOCKS5Reply.TTL_EXPIRED,
    }.get(code or 0, SOCKS5Reply.GENERAL_FAILURE)


@dataclass(eq=False)
class _Client:
    """One proxied client: its socket, machine, target and the two relay buffers."""

    sock: Socket
    machine: SOCKSServer
    peer_ip: str
    deadline: float | None
    last_activity: float
    target: Socket | None = None
    udp: DatagramSocket | None = None
    udp_client: tuple[str, int] | None = None
    to_client: bytearray = field(default_factory=bytearray)
    to_target: bytearray = field(default_factory=bytearray)
    client_eof: bool = False
    target_eof: bool = False
    relaying: bool = False
    closed: bool = False


class SOCKSProxyServer(Closing):
    """A SOCKS proxy listening on ``host:port`` (port 0: the kernel picks one).

    ``users`` (name → password) turns on RFC 1929 authentication; ``versions``
    limits the protocol versions accepted. ``idle_timeout`` closes relays that
    moved no bytes for that long; ``handshake_timeout`` bounds the SOCKS
    negotiation; ``connect_timeout`` the connection to each target.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1080,
        *,
        users: Mapping[str, str] | None = None,
        versions: frozenset[SOCKSVersion] = _ALL_VERSIONS,
        connect_timeout: float = 10.0,
        handshake_timeout: float = ProxyLimits().handshake_timeout,
        idle_timeout: float = 300.0,
        allow_udp: bool = True,
        max_clients: int = 1000,
        workers: int = 8,
        backend: str | None = None,
    ) -> None:
        self._users = dict(users) if users else None
        self._versions = versions
        self._connect_timeout = connect_timeout
        self._handshake_timeout = handshake_timeout
        self._idle_timeout = idle_timeout
        self._allow_udp = allow_udp
        self._max_clients = max_clients
        self._listener = listen_tcp(host, port)
        self._reactor = Reactor(backend)
        self._reactor.register(self._listener, READ, data=self)
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, "sockit-socks")
        self._done: list[tuple[_Client, concurrent.futures.Future[Socket]]] = []
        self._done_lock = threading.Lock()
        self._clients: set[_Client] = set()
        self._masks: dict[int, int] = {}  # fd -> the readiness the reactor watches
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._tick = self._reactor.add_timer(1.0, data="tick", repeat=1.0)
        #: counters: accepted, refused_auth, connects, connect_failures, udp_datagrams
        self.stats: dict[str, int] = dict.fromkeys(
            ("accepted", "refused_auth", "connects", "connect_failures", "udp_datagrams"), 0
        )

    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` the server listens on."""
        name = self._listener.getsockname()
        return str(name[0]), int(name[1])

    @property
    def client_count(self) -> int:
        """Clients currently connected (negotiating or relaying)."""
        return len(self._clients)

    # -- running -----------------------------------------------------------------

    def start(self) -> None:
        """Serve in a background daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self.serve_forever, name="sockit-socks",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to stop (thread-safe) and wait for the thread, if any."""
        self._stop.set()
        self._reactor.wakeup()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10.0)

    def serve_forever(self) -> None:
        """Run the loop in this thread until :meth:`stop`; then close every client."""
        host, port = self.address
        log_event(log, logging.INFO, "SOCKS proxy listening", host=host, port=port,
                  auth=self._users is not None)
        try:
            while not self._stop.is_set():
                for event in self._reactor.iter_events(timeout=1.0):
                    self._dispatch(event)
                self._finish_connects()
        finally:
            for client in list(self._clients):
                self._close_client(client)

    def close(self) -> None:
        """Stop serving and release the listener, the reactor and the workers."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        for client in list(self._clients):
            self._close_client(client)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._reactor.close()
        self._listener.close()

    # -- events ------------------------------------------------------------------

    def _dispatch(self, event: object) -> None:
        if isinstance(event, TimerEvent):
            self._expire(time.monotonic())
            return
        if not isinstance(event, IOEvent):
            return
        data = event.data
        if data is self:
            self._accept()
            return
        kind: str
        client: _Client
        kind, client = data  # type: ignore[misc]
        if client.closed:
            return
        try:
            if kind == "c":
                self._on_client(client, event)
            elif kind == "t":
                self._on_target(client, event)
            else:
                self._on_udp(client)
        except (SockitError, OSError) as exc:
            log_event(log, logging.DEBUG, "SOCKS client dropped", client=client.peer_ip,
                      error=str(exc))
            if not client.relaying:  # best effort: the refusal the machine queued
                with contextlib.suppress(SockitError, OSError):
                    client.sock.try_send(client.to_client + client.machine.data_to_send())
            self._close_client(client)

    def _accept(self) -> None:
        for sock in self._listener.accept_batch(64):
            if len(self._clients) >= self._max_clients:
                sock.close()
                continue
            now = time.monotonic()
            machine = SOCKSServer(versions=self._versions, require_auth=self._users is not None)
            client = _Client(sock, machine, str(sock.getpeername()[0]),
                             now + self._handshake_timeout, now)
            self._clients.add(client)
            self.stats["accepted"] += 1
            self._interest(sock, READ, ("c", client))

    def _on_client(self, client: _Client, event: IOEvent) -> None:
        if event.events & WRITE:
            self._flush(client.sock, client.to_client)
        if event.events & READ and len(client.to_target) < _HIGH_WATER:
            data = client.sock.try_recv(_CHUNK)
            if data is not None:
                client.last_activity = time.monotonic()
                if client.relaying:
                    self._relay(client, data, from_client=True)
                else:
                    self._negotiate(client, data)
        self._update(client)

    def _on_target(self, client: _Client, event: IOEvent) -> None:
        target = client.target
        assert target is not None
        if event.events & WRITE:
            self._flush(target, client.to_target)
        if event.events & READ and len(client.to_client) < _HIGH_WATER:
            data = target.try_recv(_CHUNK)
            if data is not None:
                client.last_activity = time.monotonic()
                self._relay(client, data, from_client=False)
        self._update(client)

    # -- negotiation ---------------------------------------------------------------

    def _negotiate(self, client: _Client, data: bytes) -> None:
        machine = client.machine
        events = machine.receive_eof() if not data else machine.receive_data(data)
        for ev in events:
            if isinstance(ev, CredentialsReceived):
                ok = self._check_password(ev.username, ev.password)
                if not ok:
                    self.stats["refused_auth"] += 1
                machine.accept_credentials(ok)
            elif isinstance(ev, CommandRequested):
                self._command(client, ev)
        client.to_client += machine.data_to_send()
        if not data:
            client.client_eof = True

    def _check_password(self, username: str, password: str) -> bool:
        assert self._users is not None
        expected = self._users.get(username)
        given = password.encode()
        if expected is None:
            hmac.compare_digest(given, given)  # same work for unknown users
            return False
        return hmac.compare_digest(given, expected.encode())

    def _command(self, client: _Client, ev: CommandRequested) -> None:
        if ev.command is SOCKSCommand.CONNECT:
            client.deadline = None  # the connect has its own timeout
            future = self._pool.submit(connect_tcp, ev.host, ev.port,
                                       timeout=self._connect_timeout)
            future.add_done_callback(functools.partial(self._connected, client))
        elif ev.command is SOCKSCommand.UDP_ASSOCIATE and self._allow_udp:
            self._associate(client, ev)
        else:
            client.machine.reply_failure(SOCKS5Reply.COMMAND_NOT_SUPPORTED)

    def _connected(self, client: _Client, future: concurrent.futures.Future[Socket]) -> None:
        with self._done_lock:
            self._done.append((client, future))
        self._reactor.wakeup()

    def _finish_connects(self) -> None:
        with self._done_lock:
            done, self._done = self._done, []
        for client, future in done:
            try:
                target = future.result()
            except (SockitError, OSError) as exc:
                self.stats["connect_failures"] += 1
                if not client.closed:
                    client.machine.reply_failure(_reply_for(exc))
                    client.to_client += client.machine.data_to_send()
                    client.client_eof = True  # close once the reply is out
                    self._update(client)
                continue
            if client.closed:
                target.close()
                continue
            self.stats["connects"] += 1
            client.target = target
            host, port = target.getsockname()[:2]
            client.machine.reply_success(str(host), int(port))
            client.to_client += client.machine.data_to_send()
            client.relaying = True
            client.to_target += client.machine.trailing_data
            self._interest(target, READ, ("t", client))
            self._update(client)

    def _associate(self, client: _Client, ev: CommandRequested) -> None:
        local_ip = str(client.sock.getsockname()[0])
        udp = bind_udp(local_ip, 0)
        client.udp = udp
        if ev.port and ev.host not in ("0.0.0.0", "::"):  # noqa: S104 - RFC 1928 "any"
            client.udp_client = (ev.host, ev.port)
        host, port = udp.getsockname()[:2]
        client.machine.reply_success(str(host), int(port))
        self._reactor.register(udp, READ, data=("u", client))

    def _on_udp(self, client: _Client) -> None:
        udp = client.udp
        assert udp is not None
        while (got := udp.try_recvfrom()) is not None:
            payload, source = got
            src_ip, src_port = str(source[0]), int(source[1])
            client.last_activity = time.monotonic()
            if _same_ip(src_ip, client.peer_ip) and (
                client.udp_client is None or client.udp_client[1] == src_port
            ):
                client.udp_client = (src_ip, src_port)
                try:
                    dgram = decode_udp_datagram(payload)
                except SockitError:
                    continue
                if dgram.fragment:
                    continue  # fragmentation is optional (RFC 1928 section 7); drop
                self.stats["udp_datagrams"] += 1
                udp.try_sendto(dgram.payload, (dgram.host, dgram.port))
            elif client.udp_client is not None:
                self.stats["udp_datagrams"] += 1
                udp.try_sendto(encode_udp_datagram(src_ip, src_port, payload), client.udp_client)

    # -- relaying ------------------------------------------------------------------

    def _relay(self, client: _Client, data: bytes, *, from_client: bool) -> None:
        if from_client:
            if not data:
                client.client_eof = True
            else:
                client.to_target += data
                assert client.target is not None
                self._flush(client.target, client.to_target)
        elif not data:
            client.target_eof = True
        else:
            client.to_client += data
            self._flush(client.sock, client.to_client)

    @staticmethod
    def _flush(sock: Socket, buffer: bytearray) -> None:
        if buffer:
            sent = sock.try_send(buffer).sent
            del buffer[:sent]

    def _update(self, client: _Client) -> None:
        """Registrations follow the buffers; half-closes and the final close happen here."""
        if client.closed:
            return
        self._flush(client.sock, client.to_client)
        target = client.target
        if target is not None:
            self._flush(target, client.to_target)
        if client.client_eof and not client.to_target and target is not None:
            _shutdown_write(target)
        if client.target_eof and not client.to_client:
            _shutdown_write(client.sock)
        if client.client_eof and (target is None or client.target_eof) and not client.to_client:
            self._close_client(client)
            return
        mask = 0
        if not client.client_eof and len(client.to_target) < _HIGH_WATER:
            mask |= READ
        if client.to_client:
            mask |= WRITE
        self._interest(client.sock, mask, ("c", client))
        if target is not None:
            tmask = 0
            if not client.target_eof and len(client.to_client) < _HIGH_WATER:
                tmask |= READ
            if client.to_target:
                tmask |= WRITE
            self._interest(target, tmask, ("t", client))

    def _interest(self, sock: Socket, mask: int, data: tuple[str, _Client]) -> None:
        """Register, modify or unregister ``sock`` so the reactor watches exactly ``mask``."""
        fd = sock.fileno()
        current = self._masks.get(fd, 0)
        if mask == current:
            return
        if not mask:
            self._reactor.unregister(sock)
            del self._masks[fd]
        elif current:
            self._reactor.modify(sock, mask, data=data)
            self._masks[fd] = mask
        else:
            self._reactor.register(sock, mask, data=data)
            self._masks[fd] = mask

    def _expire(self, now: float) -> None:
        for client in list(self._clients):
            stalled = client.deadline is not None and now >= client.deadline
            if (stalled and not client.relaying) or now - client.last_activity > self._idle_timeout:
                self._close_client(client)

    def _close_client(self, client: _Client) -> None:
        if client.closed:
            return
        client.closed = True
        self._clients.discard(client)
        for sock in (client.sock, client.target, client.udp):
            if sock is None or sock.closed:
                continue
            if self._masks.pop(sock.fileno(), 0) or sock is client.udp:
                with contextlib.suppress(SockitError, KeyError):
                    self._reactor.unregister(sock)
            sock.close()


def _shutdown_write(sock: Any) -> None:
    with contextlib.suppress(NetworkError, OSError):
        sock.shutdown(1)  # SHUT_WR


def _same_ip(a: str, b: str) -> bool:
    try:
        ip_a, ip_b = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return False
    if isinstance(ip_a, ipaddress.IPv6Address) and ip_a.ipv4_mapped is not None:
        ip_a = ip_a.ipv4_mapped
    if isinstance(ip_b, ipaddress.IPv6Address) and ip_b.ipv4_mapped is not None:
        ip_b = ip_b.ipv4_mapped
    return ip_a == ip_b
