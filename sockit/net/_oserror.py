"""OSError to sockit error mapping, and the timeout machinery sockets share.

Every socket wrapper in :mod:`sockit.net` runs its file descriptor in
non-blocking mode and implements blocking calls itself: try the system call,
and on ``EAGAIN`` wait with :func:`select.poll` until the descriptor is ready
or the deadline passes. That gives one timeout model everywhere:

* ``timeout=None`` blocks for as long as it takes;
* ``timeout=0`` tries once and raises :class:`~sockit.errors.Timeout` if the
  call would block (the ``try_*`` methods return ``None`` instead);
* ``timeout=t`` bounds the *whole* call (``sendall`` of 1 GiB included), not
  each system call inside it;
* ``timeout=DEFAULT`` (the default) uses the socket's own default, which in
  turn falls back to the process-wide value set by :func:`set_default_timeout`.

Caller mistakes are refused before any system call: bad hosts, ports and
address tuples raise :class:`~sockit.errors.AddressError`, bad sizes and
timeouts :class:`~sockit.errors.LocalProtocolError`.

Operating-system failures come out as :class:`~sockit.errors.NetworkError`
subclasses that are still :class:`OSError` with ``errno`` intact; running out
of time comes out as :class:`~sockit.errors.Timeout` (a :class:`TimeoutError`)
carrying the :class:`~sockit.errors.Phase` that timed out.
"""

from __future__ import annotations

import enum
import errno
import math
import select
import socket
import time
from typing import Any, Final

from sockit.errors import (
    AddressError,
    ConnectError,
    ConnectionClosed,
    LocalProtocolError,
    MessageTooLarge,
    NetworkError,
    Phase,
    Timeout,
)

__all__ = [
    "DEFAULT",
    "Buffer",
    "byte_view",
    "check_host",
    "check_ip_address",
    "check_port",
    "check_size",
    "resolve_address",
    "Default",
    "TimeoutArg",
    "check_timeout",
    "deadline_after",
    "get_default_timeout",
    "map_oserror",
    "remaining",
    "set_default_timeout",
    "timed_out",
    "wait_ready",
]


class Default(enum.Enum):
    """Type of the :data:`DEFAULT` sentinel ("use the socket's default timeout")."""

    DEFAULT = "DEFAULT"


DEFAULT: Final = Default.DEFAULT
"""Sentinel for ``timeout=``: use the socket's default (see module docs)."""

TimeoutArg = float | None | Default
"""What a ``timeout=`` parameter accepts: seconds, ``None`` (forever) or DEFAULT."""

Buffer = bytes | bytearray | memoryview
"""What data arguments accept."""

_default_timeout: float | None = None

_CLOSED_ERRNOS: Final = frozenset(
    {errno.EPIPE, errno.ECONNRESET, errno.ECONNABORTED, errno.ENOTCONN, errno.ESHUTDOWN}
)
_CONNECT_ERRNOS: Final = frozenset(
    {
        errno.ECONNREFUSED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
        errno.ENETDOWN,
        errno.ENOENT,
        errno.EADDRNOTAVAIL,
        errno.ECONNRESET,
        errno.ECONNABORTED,
    }
)
_ADDRESS_ERRNOS: Final = frozenset(
    {errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.ENAMETOOLONG}
)


def check_timeout(timeout: object, name: str = "timeout") -> float | None:
    """Validate a timeout in seconds: ``None`` or a finite number >= 0.

    ``math.inf`` is accepted and means ``None``. Anything else (negative, NaN,
    a bool, a string) raises :class:`~sockit.errors.LocalProtocolError`.
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise LocalProtocolError(f"{name} must be a number of seconds or None, not {timeout!r}")
    value = float(timeout)
    if math.isnan(value) or value < 0:
        raise LocalProtocolError(f"{name} must be >= 0 seconds, not {timeout!r}")
    if math.isinf(value):
        return None
    return value


def set_default_timeout(timeout: float | None) -> None:
    """Set the process-wide default timeout used by sockets without their own."""
    global _default_timeout
    _default_timeout = check_timeout(timeout)


def get_default_timeout() -> float | None:
    """The process-wide default timeout (``None``: block forever)."""
    return _default_timeout


def deadline_after(timeout: float | None) -> float | None:
    """The :func:`time.monotonic` instant ``timeout`` seconds from now (or None)."""
    return None if timeout is None else time.monotonic() + timeout


def remaining(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` (never negative), ``None`` for no deadline."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def timed_out(phase: Phase, what: str, timeout: float | None = None) -> Timeout:
    """A :class:`Timeout` for ``what`` in ``phase``, with ``errno`` ETIMEDOUT."""
    after = "" if timeout is None else f" after {timeout:.3g} s"
    exc = Timeout(f"{what} timed out{after}", phase=phase)
    exc.errno = errno.ETIMEDOUT
    exc.strerror = str(exc)
    return exc


def wait_ready(fd: int, events: int, deadline: float | None, phase: Phase, what: str) -> int:
    """Block until ``fd`` has one of ``events`` (poll flags) or ``deadline`` passes.

    Returns the poll ``revents``; errors and hang-ups count as ready, so the
    next system call reports them. Raises :class:`Timeout` past the deadline.
    """
    poller = select.poll()
    poller.register(fd, events)
    while True:
        ms: int | None = None
        if deadline is not None:
            ms = max(0, math.ceil((deadline - time.monotonic()) * 1000))
        ready = poller.poll(ms)
        if ready:
            return ready[0][1]
        if deadline is not None and time.monotonic() >= deadline:
            raise timed_out(phase, what)


def map_oserror(
    exc: OSError,
    *,
    phase: Phase,
    context: str = "",
    connecting: bool = False,
    binding: bool = False,
) -> NetworkError | Timeout:
    """Translate an :class:`OSError` into the matching sockit exception.

    ``errno`` and ``strerror`` are kept (``context`` is appended to
    ``strerror`` for readability); the caller raises the result ``from exc``.
    Already-translated exceptions are returned unchanged.

    * ``ETIMEDOUT`` / :class:`TimeoutError` -> :class:`Timeout` in ``phase``
    * ``EMSGSIZE`` -> :class:`MessageTooLarge`
    * refused / unreachable / no such socket while ``connecting`` -> :class:`ConnectError`
    * ``EPIPE``, ``ECONNRESET``, ``ENOTCONN``... -> :class:`ConnectionClosed`
    * ``EADDRINUSE``, ``EADDRNOTAVAIL``, name resolution failures -> :class:`AddressError`
    * anything else -> :class:`NetworkError`
    """
    if isinstance(exc, (NetworkError, Timeout)):
        return exc
    code = exc.errno
    strerror = exc.strerror or str(exc)
    if context:
        strerror = f"{strerror} ({context})"
    if isinstance(exc, TimeoutError) or code == errno.ETIMEDOUT:
        out = Timeout(strerror, phase=phase)
        out.errno = code if code is not None else errno.ETIMEDOUT
        out.strerror = strerror
        return out
    cls: type[NetworkError]
    if isinstance(exc, socket.gaierror):
        cls = AddressError
    elif code == errno.EMSGSIZE:
        cls = MessageTooLarge
    elif (connecting and code in _CONNECT_ERRNOS) or code == errno.ECONNREFUSED:
        cls = ConnectError
    elif code in _CLOSED_ERRNOS:
        cls = ConnectionClosed
    elif (binding and code in _ADDRESS_ERRNOS) or code == errno.EADDRINUSE:
        cls = AddressError
    else:
        cls = NetworkError
    if code is None:
        return cls(strerror)
    if exc.filename is not None:
        return cls(code, strerror, exc.filename)
    return cls(code, strerror)


def byte_view(data: Buffer) -> memoryview:
    """A flat byte view of any buffer (``len`` counts bytes)."""
    view = memoryview(data)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def check_size(n: int, name: str) -> int:
    """Validate a size/count argument: an ``int`` >= 0, else :class:`LocalProtocolError`."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise LocalProtocolError(f"{name} must be an integer >= 0, not {n!r}")
    return n


def check_port(port: object) -> int:
    """Validate a port number: an ``int`` in 0..65535, else :class:`AddressError`."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise AddressError(errno.EINVAL, f"port must be an integer in 0..65535, not {port!r}")
    return port


def check_host(host: object) -> str:
    """Validate a host: a ``str`` of at most 255 characters without NUL."""
    if not isinstance(host, str):
        raise AddressError(errno.EINVAL, f"host must be a str, not {type(host).__name__}")
    if "\0" in host or len(host) > 255:
        raise AddressError(errno.EINVAL, f"invalid host {host[:64]!r}")
    return host


def check_ip_address(address: object) -> tuple[Any, ...]:
    """Validate an IP socket address tuple ``(host, port[, flowinfo, scope_id])``."""
    if not isinstance(address, tuple) or not 2 <= len(address) <= 4:
        raise AddressError(errno.EINVAL, f"address must be a (host, port) tuple, not {address!r}")
    check_host(address[0])
    check_port(address[1])
    return address


def resolve_address(
    host: str,
    port: int,
    *,
    family: int = socket.AF_UNSPEC,
    type: int = socket.SOCK_STREAM,
    passive: bool = False,
) -> list[tuple[socket.AddressFamily, tuple[Any, ...]]]:
    """Resolve ``host``/``port`` to ``(family, sockaddr)`` pairs (blocking DNS).

    ``""`` with ``passive`` means every IPv4 interface. Failures are
    :class:`AddressError` with the resolver's reason.
    """
    check_host(host)
    check_port(port)
    flags = socket.AI_NUMERICSERV | (socket.AI_PASSIVE if passive else 0)
    try:
        any_host = "0.0.0.0" if passive else None  # noqa: S104 - "" asks for every interface
        infos = socket.getaddrinfo(host or any_host, port, family, type, 0, flags)
    except OSError as exc:
        raise AddressError(
            exc.errno or errno.EINVAL, f"cannot resolve {host!r}: {exc.strerror or exc}"
        ) from exc
    out: list[tuple[socket.AddressFamily, tuple[Any, ...]]] = [(i[0], i[4]) for i in infos]
    if not out:
        raise AddressError(errno.EADDRNOTAVAIL, f"no address for {host!r}")
    return out
