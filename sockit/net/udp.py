"""UDP: :class:`DatagramSocket`, multicast, broadcast and batch I/O.

Datagrams are bounded by ``SocketLimits.max_udp_payload`` (65507 bytes): a
larger one raises :class:`~sockit.errors.MessageTooLarge` before anything is
sent, and an ``EMSGSIZE`` from the kernel (path MTU with DF set, a smaller
limit) comes out as the same exception with ``errno`` set.
:data:`SAFE_PAYLOAD` (1472 bytes: a 1500-byte Ethernet MTU minus IPv4 and
UDP headers) is the size that never fragments on ordinary paths.

:meth:`DatagramSocket.send_many` and :meth:`DatagramSocket.recv_many` move
many datagrams per system call with ``sendmmsg``/``recvmmsg`` (cffi, ABI
mode) on Linux and fall back to a loop elsewhere. Batch calls never raise
:class:`~sockit.errors.Timeout`: when the deadline passes they return what
they did, which may be nothing.

Timeouts follow :mod:`sockit.net._oserror`; sends use ``MSG_NOSIGNAL``.
"""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import socket
import struct
import sys
from collections.abc import Sequence
from functools import partial
from typing import Any, Final, cast

from sockit.errors import (
    AddressError,
    LocalProtocolError,
    MessageTooLarge,
    NetworkError,
    Phase,
    Timeout,
)
from sockit.limits import SocketLimits
from sockit.net import _mmsg
from sockit.net._oserror import (
    DEFAULT,
    Buffer,
    TimeoutArg,
    byte_view,
    check_ip_address,
    check_size,
    resolve_address,
)
from sockit.net.sockopts import MSG_NOSIGNAL, POLLIN, POLLOUT, BaseSocket, SendResult

__all__ = [
    "MAX_PAYLOAD",
    "SAFE_PAYLOAD",
    "Datagram",
    "DatagramSocket",
    "IPAddress",
    "bind_udp",
    "connect_udp",
]

MAX_PAYLOAD: Final = SocketLimits().max_udp_payload
"""Largest UDP payload over IPv4 (65535 - 20 - 8)."""
SAFE_PAYLOAD: Final = SocketLimits().safe_udp_payload
"""Payload that fits a 1500-byte MTU without fragmenting (1500 - 20 - 8)."""

IPAddress = tuple[str, int] | tuple[str, int, int, int]
_LINUX: Final = sys.platform.startswith("linux")
_MSG_DONTWAIT: Final[int] = getattr(socket, "MSG_DONTWAIT", 0)


@dataclasses.dataclass(frozen=True, slots=True)
class Datagram:
    """One received datagram; ``truncated`` if it did not fit the buffer."""

    data: bytes
    address: IPAddress
    truncated: bool = False


def _interface_index(interface: str | int) -> int:
    if isinstance(interface, int) and not isinstance(interface, bool):
        return interface
    try:
        return socket.if_nametoindex(str(interface))
    except OSError as exc:
        raise AddressError(errno.ENODEV, f"no network interface {interface!r}") from exc


def _multicast_group(group: str, family: int) -> bytes:
    try:
        ip = ipaddress.ip_address(group)
    except (ValueError, TypeError) as exc:
        raise AddressError(errno.EINVAL, f"invalid multicast group {group!r}") from exc
    if not ip.is_multicast:
        raise AddressError(errno.EINVAL, f"{group} is not a multicast address")
    if (ip.version == 4) != (family == socket.AF_INET):
        raise AddressError(errno.EAFNOSUPPORT, f"group {group} does not match the socket family")
    return ip.packed


class DatagramSocket(BaseSocket):
    """A UDP socket (IPv4 or IPv6), connected or not."""

    def __init__(
        self,
        family: int = socket.AF_INET,
        *,
        sock: socket.socket | None = None,
        timeout: TimeoutArg = DEFAULT,
        limits: SocketLimits | None = None,
    ) -> None:
        if sock is not None and sock.type != socket.SOCK_DGRAM:
            raise LocalProtocolError(f"DatagramSocket needs SOCK_DGRAM, not {sock.type!r}")
        super().__init__(family, socket.SOCK_DGRAM, sock=sock, timeout=timeout)
        if limits is not None:
            self.limits = limits

    @property
    def safe_payload(self) -> int:
        """Payload size that avoids fragmentation (``limits.safe_udp_payload``)."""
        return self.limits.safe_udp_payload

    @property
    def max_payload(self) -> int:
        """Largest payload this socket will send (``limits.max_udp_payload``)."""
        return self.limits.max_udp_payload

    def connect(self, address: IPAddress) -> None:
        """Fix the peer: later :meth:`send`/:meth:`recv` talk to it only."""
        addr = check_ip_address(address)
        self._fd()
        try:
            self._sock.connect(addr)
        except OSError as exc:
            raise self._fail(exc, Phase.CONNECT, f"connect {address!r}", connecting=True) from exc

    def _check_payload(self, view: memoryview) -> None:
        if len(view) > self.limits.max_udp_payload:
            self.stats.errors += 1
            raise MessageTooLarge(
                errno.EMSGSIZE,
                f"datagram of {len(view)} bytes exceeds max_udp_payload="
                f"{self.limits.max_udp_payload}",
            )

    # -- sending -----------------------------------------------------------

    def send(self, data: Buffer, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Send one datagram to the connected peer."""
        return self._send_one(data, None, timeout)

    def sendto(self, data: Buffer, address: IPAddress, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Send one datagram to ``address``."""
        return self._send_one(data, check_ip_address(address), timeout)

    def _send_one(self, data: Buffer, address: Any, timeout: TimeoutArg) -> int:
        view = byte_view(data)
        self._check_payload(view)
        deadline = self._deadline(timeout)
        self._wait_whole(self.send_limiter, len(view), deadline, Phase.WRITE)
        if address is None:
            n = self._io(
                lambda: self._sock.send(view, MSG_NOSIGNAL), POLLOUT, deadline, Phase.WRITE, "send"
            )
        else:
            n = self._io(
                lambda: self._sock.sendto(view, MSG_NOSIGNAL, address),
                POLLOUT,
                deadline,
                Phase.WRITE,
                "sendto",
            )
        self._sent(n)
        return n

    def try_sendto(self, data: Buffer, address: IPAddress | None = None) -> SendResult:
        """Send one datagram if possible now: ``sent`` is its size or 0.

        ``retry_after > 0``: the bandwidth limit holds it back that long.
        """
        view = byte_view(data)
        self._check_payload(view)
        limiter = self.send_limiter
        if limiter is not None and (wait := limiter.wait_time(len(view))) > 0:
            return SendResult(0, wait)
        if address is None:
            n = self._try(lambda: self._sock.send(view, MSG_NOSIGNAL), Phase.WRITE, "send")
        else:
            addr = check_ip_address(address)
            n = self._try(
                lambda: self._sock.sendto(view, MSG_NOSIGNAL, addr), Phase.WRITE, "sendto"
            )
        if n is None:
            return SendResult(0)
        self._sent(n)
        return SendResult(n)

    def send_many(
        self,
        datagrams: Sequence[Buffer],
        address: IPAddress | None = None,
        *,
        timeout: TimeoutArg = DEFAULT,
    ) -> int:
        """Send many datagrams (to ``address``, or the connected peer).

        Uses ``sendmmsg`` where available. Returns how many were sent: all of
        them unless the deadline passed first (``timeout=0``: what fits now).
        An OS error is raised only if it hits the first datagram of a round;
        otherwise the count so far is returned and the error shows next call.
        """
        views = [byte_view(d) for d in datagrams]
        for view in views:
            self._check_payload(view)
        name = None
        if address is not None:
            addr = check_ip_address(address)
            try:
                name = _mmsg.pack_sockaddr(self.family, addr) if _mmsg.available() else None
            except OSError as exc:
                raise self._fail(exc, Phase.WRITE, f"send_many to {address!r}") from exc
        deadline = self._deadline(timeout)
        done = 0
        limiter = self.send_limiter
        try:
            while done < len(views):
                end = min(len(views), done + _mmsg.MAX_BATCH)
                if limiter is not None:
                    self._wait_whole(limiter, len(views[done]), deadline, Phase.WRITE)
                    budget, end = limiter.available(), done + 1
                    budget -= len(views[done])
                    while end < len(views) and len(views[end]) <= budget:
                        budget -= len(views[end])
                        end += 1
                sent = self._send_batch(views[done:end], address, name)
                if sent is None:
                    self._wait(POLLOUT, deadline, Phase.WRITE, "send_many")
                    continue
                self._sent(sum(len(v) for v in views[done : done + sent]), sent)
                done += sent
        except Timeout:
            self.stats.errors -= 1  # a short batch is a result, not an error
        return done

    def _send_batch(
        self, views: Sequence[memoryview], address: IPAddress | None, name: bytes | None
    ) -> int | None:
        """One round of sending; ``None`` if nothing could go (EAGAIN)."""
        if _mmsg.available() and (address is None or name is not None):
            items = [(v, name) for v in views]
            return self._try(
                lambda: _mmsg.send_batch(self._fd(), items, MSG_NOSIGNAL), Phase.WRITE, "sendmmsg"
            )
        count = 0
        for view in views:
            call = (
                partial(self._sock.send, view, MSG_NOSIGNAL)
                if address is None
                else partial(self._sock.sendto, view, MSG_NOSIGNAL, address)
            )
            try:
                n = self._try(call, Phase.WRITE, "send_many")
            except NetworkError:
                if not count:
                    raise
                break  # report the ones that went; the error shows up next round
            if n is None:
                break
            count += 1
        return count or None

    # -- receiving ----------------------------------------------------------

    def recv(self, bufsize: int = 65535, *, timeout: TimeoutArg = DEFAULT) -> bytes:
        """Receive one datagram (cut to ``bufsize``)."""
        return self.recvfrom(bufsize, timeout=timeout)[0]

    def recvfrom(
        self, bufsize: int = 65535, *, timeout: TimeoutArg = DEFAULT
    ) -> tuple[bytes, IPAddress]:
        """Receive one datagram and its sender's address."""
        check_size(bufsize, "bufsize")
        deadline = self._deadline(timeout)
        self._quota(self.recv_limiter, 1, deadline, Phase.READ)
        data, addr = self._io(
            lambda: self._sock.recvfrom(bufsize), POLLIN, deadline, Phase.READ, "recvfrom"
        )
        self._received(len(data))
        return data, cast(IPAddress, addr)

    def try_recvfrom(self, bufsize: int = 65535) -> tuple[bytes, IPAddress] | None:
        """One datagram if one is waiting, else ``None`` (never blocks)."""
        check_size(bufsize, "bufsize")
        if self.recv_limiter is not None and self.recv_limiter.available() == 0:
            return None
        pair = self._try(lambda: self._sock.recvfrom(bufsize), Phase.READ, "recvfrom")
        if pair is None:
            return None
        self._received(len(pair[0]))
        return pair[0], cast(IPAddress, pair[1])

    def recvfrom_into(
        self, buffer: Buffer, nbytes: int = 0, *, timeout: TimeoutArg = DEFAULT
    ) -> tuple[int, IPAddress]:
        """Receive one datagram into ``buffer``: ``(nbytes, address)``."""
        view = byte_view(buffer)
        want = check_size(nbytes, "nbytes") or len(view)
        deadline = self._deadline(timeout)
        n, addr = self._io(
            lambda: self._sock.recvfrom_into(view, want),
            POLLIN,
            deadline,
            Phase.READ,
            "recvfrom_into",
        )
        self._received(n)
        return n, cast(IPAddress, addr)

    def recv_many(
        self, max_messages: int = 64, bufsize: int = 65535, *, timeout: TimeoutArg = DEFAULT
    ) -> list[Datagram]:
        """Receive up to ``max_messages`` datagrams in one go (``recvmmsg``).

        Waits for the first one at most ``timeout``, then takes what is
        queued without waiting. Returns ``[]`` if nothing came in time.
        """
        if check_size(max_messages, "max_messages") == 0:
            return []
        if check_size(bufsize, "bufsize") == 0:
            raise LocalProtocolError("bufsize must be > 0")
        deadline = self._deadline(timeout)
        try:
            self._quota(self.recv_limiter, 1, deadline, Phase.READ)
            while True:
                batch = self._recv_batch(max_messages, bufsize)
                if batch:
                    break
                self._wait(POLLIN, deadline, Phase.READ, "recv_many")
        except Timeout:
            self.stats.errors -= 1
            return []
        self._received(sum(len(d.data) for d in batch), len(batch))
        return batch

    def _recv_batch(self, count: int, bufsize: int) -> list[Datagram]:
        if _mmsg.available():
            raw = self._try(
                lambda: _mmsg.recv_batch(self._fd(), count, bufsize, _MSG_DONTWAIT),
                Phase.READ,
                "recvmmsg",
            )
            return [
                Datagram(
                    data,
                    cast(IPAddress, _mmsg.unpack_sockaddr(name)),
                    bool(flags & socket.MSG_TRUNC),
                )
                for data, name, flags in raw or ()
            ]
        out: list[Datagram] = []
        while len(out) < count:
            got = self._try(lambda: self._sock.recvmsg(bufsize), Phase.READ, "recvmsg")
            if got is None:
                break
            out.append(Datagram(got[0], cast(IPAddress, got[3]), bool(got[2] & socket.MSG_TRUNC)))
        return out

    # -- options -------------------------------------------------------------

    def _ip_level(self) -> tuple[int, bool]:
        v6 = self._sock.family == socket.AF_INET6
        return (socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP), v6

    @property
    def broadcast(self) -> bool:
        """``SO_BROADCAST``: allow sending to broadcast addresses."""
        return bool(self._get(socket.SOL_SOCKET, socket.SO_BROADCAST, "SO_BROADCAST"))

    @broadcast.setter
    def broadcast(self, on: bool) -> None:
        self._set(socket.SOL_SOCKET, socket.SO_BROADCAST, "SO_BROADCAST", int(on))

    @property
    def ttl(self) -> int:
        """Unicast TTL (IPv4 ``IP_TTL``) or hop limit (``IPV6_UNICAST_HOPS``)."""
        level, v6 = self._ip_level()
        opt = socket.IPV6_UNICAST_HOPS if v6 else socket.IP_TTL
        return self._get(level, opt, "TTL")

    @ttl.setter
    def ttl(self, value: int) -> None:
        level, v6 = self._ip_level()
        opt = socket.IPV6_UNICAST_HOPS if v6 else socket.IP_TTL
        self._set(level, opt, "TTL", value)

    @property
    def multicast_ttl(self) -> int:
        """Multicast TTL / hop limit (default 1: stay on the local network)."""
        level, v6 = self._ip_level()
        opt = socket.IPV6_MULTICAST_HOPS if v6 else socket.IP_MULTICAST_TTL
        return self._get(level, opt, "MULTICAST_TTL")

    @multicast_ttl.setter
    def multicast_ttl(self, value: int) -> None:
        level, v6 = self._ip_level()
        opt = socket.IPV6_MULTICAST_HOPS if v6 else socket.IP_MULTICAST_TTL
        self._set(level, opt, "MULTICAST_TTL", value)

    @property
    def multicast_loop(self) -> bool:
        """Whether our own multicast datagrams are looped back to local members."""
        level, v6 = self._ip_level()
        opt = socket.IPV6_MULTICAST_LOOP if v6 else socket.IP_MULTICAST_LOOP
        return bool(self._get(level, opt, "MULTICAST_LOOP"))

    @multicast_loop.setter
    def multicast_loop(self, on: bool) -> None:
        level, v6 = self._ip_level()
        opt = socket.IPV6_MULTICAST_LOOP if v6 else socket.IP_MULTICAST_LOOP
        self._set(level, opt, "MULTICAST_LOOP", int(on))

    def set_multicast_interface(self, interface: str | int) -> None:
        """Send multicast out of ``interface``: an IPv4 address, a name or an index."""
        level, v6 = self._ip_level()
        if v6:
            self._set(
                level, socket.IPV6_MULTICAST_IF, "IPV6_MULTICAST_IF", _interface_index(interface)
            )
            return
        # Linux takes an ip_mreqn (multiaddr ignored); elsewhere a bare in_addr
        mreq = self._mreq(bytes(4), interface)
        value = mreq if _LINUX else mreq[4:8]
        self._set(level, socket.IP_MULTICAST_IF, "IP_MULTICAST_IF", value)

    def _mreq(self, group: bytes, interface: str | int | None) -> bytes:
        """``ip_mreqn`` on Linux (``ip_mreq`` elsewhere) for ``group`` on ``interface``."""
        addr, index = bytes(4), 0
        if isinstance(interface, str):
            try:
                addr = socket.inet_aton(interface)
            except OSError:
                index = _interface_index(interface)
        elif interface is not None:
            index = _interface_index(interface)
        if _LINUX:
            return group + addr + struct.pack("=i", index)
        if index:
            raise AddressError(errno.EINVAL, "interface by name or index needs Linux for IPv4")
        return group + addr

    def join_group(self, group: str, interface: str | int | None = None) -> None:
        """Join multicast ``group`` on ``interface`` (address, name, index; None: any)."""
        self._membership(group, interface, join=True)

    def leave_group(self, group: str, interface: str | int | None = None) -> None:
        """Leave multicast ``group`` (same ``interface`` as when joining)."""
        self._membership(group, interface, join=False)

    def _membership(self, group: str, interface: str | int | None, *, join: bool) -> None:
        level, v6 = self._ip_level()
        packed = _multicast_group(group, self._sock.family)
        if v6:
            index = 0 if interface is None else _interface_index(interface)
            opt = socket.IPV6_JOIN_GROUP if join else socket.IPV6_LEAVE_GROUP
            self._set(level, opt, "IPV6_JOIN_GROUP", packed + struct.pack("=I", index))
            return
        opt = socket.IP_ADD_MEMBERSHIP if join else socket.IP_DROP_MEMBERSHIP
        self._set(level, opt, "IP_ADD_MEMBERSHIP", self._mreq(packed, interface))


def bind_udp(
    host: str,
    port: int,
    *,
    reuse_addr: bool = False,
    reuse_port: bool = False,
    broadcast: bool = False,
    timeout: TimeoutArg = DEFAULT,
    limits: SocketLimits | None = None,
) -> DatagramSocket:
    """A UDP socket bound to ``host:port`` (``""``: every IPv4 interface)."""
    family, addr = resolve_address(host, port, type=socket.SOCK_DGRAM, passive=True)[0]
    sock = DatagramSocket(family, timeout=timeout, limits=limits)
    try:
        if reuse_addr:
            sock.reuseaddr = True
        if reuse_port:
            sock.reuseport = True
        if broadcast:
            sock.broadcast = True
        sock.bind(cast(IPAddress, addr))
    except BaseException:
        sock.close()
        raise
    return sock


def connect_udp(
    host: str,
    port: int,
    *,
    timeout: TimeoutArg = DEFAULT,
    limits: SocketLimits | None = None,
) -> DatagramSocket:
    """A UDP socket connected to ``host:port`` (``timeout``: its default)."""
    family, addr = resolve_address(host, port, type=socket.SOCK_DGRAM)[0]
    sock = DatagramSocket(family, timeout=timeout, limits=limits)
    try:
        sock.connect(cast(IPAddress, addr))
    except BaseException:
        sock.close()
        raise
    return sock
