"""Connecting through SOCKS4/4a/5 and HTTP CONNECT proxies.

::

    from sockit.net.proxy import connect_via_proxy

    tunnel = connect_via_proxy("socks5h://user:pw@127.0.0.1:1080", "example.com", 443)
    sock = tunnel.sock                 # a connected Socket to example.com:443, via the proxy
    first = tunnel.initial_data        # bytes the target already sent (hand them on!)

The handshakes are the sans-I/O machines of :mod:`sockit.proto.socks` and
:mod:`sockit.proto.connect`; this module only moves their bytes. One pump does
both forms: :func:`connect_via_proxy` blocks with a deadline per phase, and
:class:`ProxyHandshake` is driven by a reactor (register ``handshake.sock`` for
``handshake.interest``, call :meth:`ProxyHandshake.step` on readiness).

Phases and their timeouts: connecting to the proxy (``connect_timeout``,
:class:`~sockit.errors.Timeout` phase ``connect``), then the proxy handshake
(``handshake_timeout``, default ``ProxyLimits().handshake_timeout``, phase
``proxy``). Refusals raise :class:`~sockit.errors.ProxyError` with the
proxy's reply code.

Bytes that follow the proxy's reply belong to the target's protocol (an SSH
or SMTP server speaks first). They are never dropped: they come back as
:attr:`ProxyConnection.initial_data` for the next layer to consume first.

Name resolution: ``socks4a``, ``socks5h`` and HTTP proxies get the host name
and resolve it themselves; ``socks4`` (IPv4 only) and ``socks5`` resolve it
here first, as curl does.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sockit.errors import ConnectionClosed, LocalProtocolError, Phase, Timeout
from sockit.limits import ProxyLimits
from sockit.net._oserror import DEFAULT, TimeoutArg, resolve_address
from sockit.net.reactor import READ, WRITE
from sockit.net.tcp import Socket, connect_tcp
from sockit.net.udp import DatagramSocket, bind_udp
from sockit.proto.connect import ConnectClient, TunnelEstablished
from sockit.proto.events import Event
from sockit.proto.proxy_url import ProxyScheme, ProxyURL
from sockit.proto.socks import (
    SOCKSClient,
    SOCKSCommand,
    SOCKSVersion,
    Succeeded,
    decode_udp_datagram,
    encode_udp_datagram,
)

__all__ = [
    "ProxyConnection",
    "ProxyHandshake",
    "SOCKSUDPAssociation",
    "connect_via_proxy",
    "open_proxy_handshake",
    "run_handshake",
    "socks_udp_associate",
]

_RECV_SIZE = 65536


@dataclass(frozen=True, slots=True)
class ProxyConnection:
    """A tunnel through a proxy to ``target``.

    ``initial_data`` holds bytes the proxy relayed from the target right after
    its reply; the next layer (TLS, HTTP) must consume them before reading
    ``sock``. ``bound`` is the address the proxy reported (SOCKS), if any.
    """

    sock: Socket
    proxy: ProxyURL
    target: tuple[str, int]
    bound: tuple[str, int] | None
    initial_data: bytes


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _target_for(proxy: ProxyURL, host: str, port: int) -> str:
    """The host to put in the request: the name, or an address resolved here."""
    if proxy.remote_dns or _is_ip(host):
        return host
    family = socket.AF_INET if proxy.scheme is ProxyScheme.SOCKS4 else socket.AF_UNSPEC
    infos = resolve_address(host, port, family=family)
    return str(infos[0][1][0])


def _machine(
    proxy: ProxyURL, host: str, port: int, command: SOCKSCommand, limits: ProxyLimits
) -> SOCKSClient | ConnectClient:
    if proxy.scheme in (ProxyScheme.HTTP, ProxyScheme.HTTPS):
        if command is not SOCKSCommand.CONNECT:
            raise LocalProtocolError(f"an HTTP proxy only tunnels CONNECT, not {command.name}")
        auth = (proxy.username, proxy.password or "") if proxy.username is not None else None
        return ConnectClient(host, port, proxy_auth=auth)
    version = proxy.socks_version
    assert version is not None
    if version is SOCKSVersion.SOCKS4:
        return SOCKSClient(version, _target_for(proxy, host, port), port, command=command,
                           user_id=proxy.username or "", limits=limits)
    return SOCKSClient(version, _target_for(proxy, host, port), port, command=command,
                       username=proxy.username, password=proxy.password, limits=limits)


class ProxyHandshake:
    """The proxy handshake on a connected non-blocking socket, one step at a time.

    Reactor use: register :attr:`sock` for :attr:`interest`, call
    :meth:`step` whenever it is ready (and :meth:`expired` on a timer at
    :attr:`deadline`); ``step`` returns the :class:`ProxyConnection` once the
    tunnel is up, ``None`` while it is not, and raises on refusal. The
    handshake does not own the socket on failure: the caller closes it.
    """

    def __init__(
        self,
        sock: Socket,
        proxy: ProxyURL,
        host: str,
        port: int,
        *,
        command: SOCKSCommand = SOCKSCommand.CONNECT,
        deadline: float | None = None,
        limits: ProxyLimits | None = None,
    ) -> None:
        self.sock = sock
        self.proxy = proxy
        self.target = (host, port)
        #: monotonic time after which :meth:`expired` is true (``None``: never)
        self.deadline = deadline
        self._machine = _machine(proxy, host, port, command, limits or ProxyLimits())
        self._out = b""
        self._bound: tuple[str, int] | None = None
        self._result: ProxyConnection | None = None

    @property
    def interest(self) -> int:
        """The readiness to wait for next: ``WRITE`` while bytes are queued, else ``READ``."""
        return WRITE if self._out or self._pending_output() else READ

    @property
    def done(self) -> bool:
        """Whether the tunnel is established."""
        return self._result is not None

    def expired(self, now: float | None = None) -> bool:
        """Whether the handshake deadline has passed."""
        if self.deadline is None:
            return False
        return (time.monotonic() if now is None else now) >= self.deadline

    def _pending_output(self) -> bool:
        data = self._machine.data_to_send()
        if data:
            self._out += data
        return bool(self._out)

    def step(self) -> ProxyConnection | None:
        """Move what can move without blocking; the tunnel once it is up."""
        if self._result is not None:
            return self._result
        if self._pending_output():
            sent = self.sock.try_send(self._out).sent
            self._out = self._out[sent:]
            if self._out:
                return None
        data = self.sock.try_recv(_RECV_SIZE)
        if data is None:
            return None
        events = self._machine.receive_eof() if not data else self._machine.receive_data(data)
        self._note(events)
        if self._result is None and not data:
            raise ConnectionClosed(f"the proxy {self.proxy.redacted()} closed the connection "
                                   "during the handshake")
        self._pending_output()  # e.g. SOCKS5 sub-negotiation after the method reply
        return self._result

    def _note(self, events: Sequence[Event]) -> None:
        for event in events:
            if isinstance(event, Succeeded):
                self._bound = (event.bound_host, event.bound_port)
                self._finish()
            elif isinstance(event, TunnelEstablished):
                self._finish()

    def _finish(self) -> None:
        self._result = ProxyConnection(
            sock=self.sock,
            proxy=self.proxy,
            target=self.target,
            bound=self._bound,
            initial_data=self._machine.trailing_data,
        )

    @property
    def machine(self) -> SOCKSClient | ConnectClient:
        """The protocol machine (for BIND's second reply and UDP ASSOCIATE)."""
        return self._machine


def _timeout(value: TimeoutArg, default: float) -> float | None:
    if value is DEFAULT:
        return default
    return None if value is None else float(value)


def open_proxy_handshake(
    proxy: ProxyURL | str,
    host: str,
    port: int,
    *,
    command: SOCKSCommand = SOCKSCommand.CONNECT,
    connect_timeout: TimeoutArg = DEFAULT,
    handshake_timeout: TimeoutArg = DEFAULT,
    limits: ProxyLimits | None = None,
) -> ProxyHandshake:
    """Connect to the proxy (blocking) and return the handshake, not yet run."""
    limits = limits or ProxyLimits()
    url = proxy if isinstance(proxy, ProxyURL) else ProxyURL.parse(proxy, limits=limits)
    if url.scheme is ProxyScheme.HTTPS:
        raise LocalProtocolError("https:// proxies need TLS to the proxy; use "
                                 "sockit.net.tls with connect_via_proxy(tls_context=...)")
    sock = connect_tcp(url.host, url.port, timeout=connect_timeout)
    try:
        budget = _timeout(handshake_timeout, limits.handshake_timeout)
        deadline = None if budget is None else time.monotonic() + budget
        return ProxyHandshake(sock, url, host, port, command=command, deadline=deadline,
                              limits=limits)
    except BaseException:
        sock.close()
        raise


def run_handshake(handshake: ProxyHandshake) -> ProxyConnection:
    """Drive ``handshake`` to the end, blocking until its deadline."""
    sock = handshake.sock
    what = f"the handshake with proxy {handshake.proxy.redacted()}"
    while True:
        result = handshake.step()
        if result is not None:
            return result
        left = None if handshake.deadline is None else handshake.deadline - time.monotonic()
        if left is not None and left <= 0:
            raise Timeout(f"{what} timed out", phase=Phase.PROXY)
        if handshake.interest & WRITE:
            sock.is_writable(left)
        else:
            sock.is_readable(left)


def connect_via_proxy(
    proxy: ProxyURL | str,
    host: str,
    port: int,
    *,
    connect_timeout: TimeoutArg = DEFAULT,
    handshake_timeout: TimeoutArg = DEFAULT,
    limits: ProxyLimits | None = None,
) -> ProxyConnection:
    """A tunnel to ``host:port`` through ``proxy`` (a URL or a :class:`ProxyURL`).

    Blocking; ``connect_timeout`` bounds reaching the proxy, ``handshake_timeout``
    the proxy's handshake (default 30 s). Raises :class:`~sockit.errors.ProxyError`
    when the proxy refuses, with its reply code.
    """
    handshake = open_proxy_handshake(proxy, host, port, connect_timeout=connect_timeout,
                                     handshake_timeout=handshake_timeout, limits=limits)
    try:
        return run_handshake(handshake)
    except BaseException:
        handshake.sock.close()
        raise



class SOCKSUDPAssociation:
    """A SOCKS5 UDP ASSOCIATE: datagrams to any host through the proxy's relay.

    The association lives as long as its TCP control connection; :meth:`close`
    ends both. Each datagram carries the RFC 1928 section 7 header, added and
    removed here; datagrams that do not come from the relay are ignored.
    """

    def __init__(self, control: Socket, udp: DatagramSocket, relay: tuple[str, int]) -> None:
        self.control = control
        self.udp = udp
        #: the proxy's UDP relay address
        self.relay = relay

    def sendto(self, payload: bytes, address: tuple[str, int]) -> None:
        """Send ``payload`` to ``address`` (a host name is resolved by the proxy)."""
        self.udp.sendto(encode_udp_datagram(address[0], address[1], payload), self.relay)

    def recvfrom(self, *, timeout: TimeoutArg = DEFAULT) -> tuple[bytes, tuple[str, int]]:
        """The next datagram relayed to us and the address it came from."""
        while True:
            data, source = self.udp.recvfrom(timeout=timeout)
            if (str(source[0]), int(source[1])) != self.relay:
                continue  # only the relay may talk to us
            dgram = decode_udp_datagram(data)
            if dgram.fragment:
                continue  # fragments are optional; we do not reassemble
            return dgram.payload, (dgram.host, dgram.port)

    def close(self) -> None:
        """End the association (closing the control connection ends it on the proxy)."""
        self.udp.close()
        self.control.close()

    def __enter__(self) -> SOCKSUDPAssociation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def socks_udp_associate(
    proxy: ProxyURL | str,
    *,
    connect_timeout: TimeoutArg = DEFAULT,
    handshake_timeout: TimeoutArg = DEFAULT,
    limits: ProxyLimits | None = None,
) -> SOCKSUDPAssociation:
    """Open a UDP association through a SOCKS5 ``proxy`` (blocking)."""
    limits = limits or ProxyLimits()
    url = proxy if isinstance(proxy, ProxyURL) else ProxyURL.parse(proxy, limits=limits)
    if url.socks_version is not SOCKSVersion.SOCKS5:
        raise LocalProtocolError("UDP ASSOCIATE needs a socks5:// or socks5h:// proxy")
    control = connect_tcp(url.host, url.port, timeout=connect_timeout)
    udp: DatagramSocket | None = None
    try:
        local_ip = str(control.getsockname()[0])
        udp = bind_udp(local_ip, 0)
        local_port = int(udp.getsockname()[1])
        budget = _timeout(handshake_timeout, limits.handshake_timeout)
        handshake = ProxyHandshake(
            control, url, local_ip, local_port, command=SOCKSCommand.UDP_ASSOCIATE,
            deadline=None if budget is None else time.monotonic() + budget, limits=limits,
        )
        result = run_handshake(handshake)
        assert result.bound is not None
        host, port = result.bound
        if ipaddress.ip_address(host).is_unspecified:
            host = str(control.getpeername()[0])  # "the proxy's own address"
        return SOCKSUDPAssociation(control, udp, (host, port))
    except BaseException:
        if udp is not None:
            udp.close()
        control.close()
        raise
