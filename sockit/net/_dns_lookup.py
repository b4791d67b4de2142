"""The resolver's small parts: one ``getaddrinfo`` call made safe, literals, a wake fd.

* :func:`lookup` runs in a worker thread: whatever the (possibly injected)
  ``getaddrinfo`` raises becomes an :class:`~sockit.errors.AddressError` or
  :class:`~sockit.errors.ConnectError`, never a raw exception.
* :func:`literal_addresses` answers IP literals inline (``AI_NUMERICHOST``
  never touches the network), so they cost no worker.
* :class:`WakeFd` is a pollable "something finished" flag that other threads
  may raise: an eventfd (a pipe off Linux), written once until drained.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Callable, Sequence
from typing import cast

from sockit.errors import AddressError, ConnectError, NetworkError
from sockit.net._dns_names import order_by_family
from sockit.net._dns_types import ResolvedAddress, SockAddr
from sockit.net._signals import drain_fd

__all__ = ["GetAddrInfo", "WakeFd", "literal_addresses", "lookup_addresses", "to_addresses"]

GetAddrInfo = Callable[..., Sequence[tuple[object, ...]]]
"""Anything called like :func:`socket.getaddrinfo` (tests inject scripted ones)."""


def to_addresses(
    infos: Sequence[tuple[object, ...]], prefer_ipv6: bool
) -> tuple[ResolvedAddress, ...]:
    """The IPv4/IPv6 entries of a ``getaddrinfo`` answer, ordered, without duplicates."""
    pairs: list[tuple[socket.AddressFamily, SockAddr]] = []
    for info in infos:
        fam, addr = info[0], info[4]
        usable = isinstance(fam, int) and fam in (socket.AF_INET, socket.AF_INET6)
        if usable and isinstance(addr, tuple) and len(addr) >= 2:
            assert isinstance(fam, int)
            pairs.append((socket.AddressFamily(fam), cast(SockAddr, addr)))
    return tuple(ResolvedAddress(f, a) for f, a in order_by_family(pairs, prefer_ipv6))


def lookup_addresses(
    getaddrinfo: GetAddrInfo, name: str, port: int, family: int, prefer_ipv6: bool
) -> tuple[ResolvedAddress, ...]:
    """Resolve ``name`` (already checked) with ``getaddrinfo``; never an empty answer."""
    try:
        infos = getaddrinfo(name, port, family, socket.SOCK_STREAM, 0, 0)
    except socket.gaierror as exc:
        why = f"cannot resolve {name!r}: {exc.strerror or exc}"
        raise AddressError(exc.errno or errno.EINVAL, why) from None
    except OSError as exc:
        why = f"cannot resolve {name!r}: {exc.strerror or exc}"
        raise ConnectError(exc.errno or errno.EIO, why) from None
    except Exception as exc:  # a broken injected resolver must not leak raw errors
        raise AddressError(errno.EINVAL, f"cannot resolve {name!r}: {exc!r}") from None
    addrs = to_addresses(infos, prefer_ipv6)
    if not addrs:
        raise AddressError(socket.EAI_NONAME, f"no address for {name!r}")
    return addrs


def literal_addresses(
    name: str, port: int, family: int, literal: socket.AddressFamily
) -> tuple[ResolvedAddress, ...]:
    """The sockaddr of the IP literal ``name``; ``AddressError`` if ``family`` excludes it."""
    if family not in (socket.AF_UNSPEC, literal):
        raise AddressError(errno.EAFNOSUPPORT, f"{name!r} is not a {family!r} address")
    flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
    try:
        infos = socket.getaddrinfo(name, port, literal, socket.SOCK_STREAM, 0, flags)
    except OSError as exc:
        raise AddressError(exc.errno or errno.EINVAL, f"bad IP literal {name!r}: {exc}") from None
    return to_addresses(infos, prefer_ipv6=True)


class WakeFd:
    """A descriptor that polls readable after :meth:`signal` until :meth:`drain`.

    :meth:`signal` is thread-safe, coalesced (one write until drained) and does
    nothing once :meth:`close` has run, so a late signal from a worker thread
    can never write into a descriptor number the process has reused.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending = False
        try:
            if hasattr(os, "eventfd"):
                self._r = self._w = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            else:  # pragma: no cover - non-Linux
                self._r, self._w = os.pipe()
                os.set_blocking(self._r, False)
                os.set_blocking(self._w, False)
        except OSError as exc:
            raise NetworkError(exc.errno, exc.strerror or str(exc)) from exc

    def fileno(self) -> int:
        """The read side, for a reactor or selector (-1 once closed)."""
        return self._r

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._r < 0

    def signal(self) -> None:
        """Make the descriptor readable (no-op if already signalled or closed)."""
        with self._lock:
            if self._pending or self._w < 0:
                return
            self._pending = True
            try:
                if self._r == self._w:
                    os.eventfd_write(self._w, 1)
                else:  # pragma: no cover - non-Linux
                    os.write(self._w, b"\x01")
            except BlockingIOError:  # pragma: no cover - already readable
                pass

    def drain(self) -> None:
        """Consume the signal; the next :meth:`signal` writes again."""
        with self._lock:
            if self._r >= 0:
                drain_fd(self._r)
            self._pending = False

    def close(self) -> None:
        """Close the descriptor(s). Idempotent."""
        with self._lock:
            fds = {self._r, self._w} - {-1}
            self._r = self._w = -1
        for fd in fds:
            os.close(fd)
