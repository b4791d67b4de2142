"""The socket base shared by every sockit socket, and typed socket options.

:class:`BaseSocket` wraps one standard :class:`socket.socket`, always kept in
non-blocking mode: blocking calls are built on :func:`select.poll` with one
deadline per call (see :mod:`sockit.net._oserror` for the timeout model). It
owns the life cycle (``close()`` is idempotent, context-manager support, a
process-wide count of open sockets in :func:`live_sockets` for leak tests),
per-socket :class:`SocketStats`, optional bandwidth limiters and the
``SOL_SOCKET`` options (``IPPROTO_TCP`` ones are in
:class:`sockit.net.tcpinfo.TCPOptions`).

SIGPIPE: Python starts with SIGPIPE ignored, so writing to a closed peer
raises ``EPIPE`` (:class:`~sockit.errors.ConnectionClosed`) instead of killing
the process. sockit also passes ``MSG_NOSIGNAL`` to every ``send``/``sendto``/
``sendmsg`` where the platform has it, so even an application that restores
the default SIGPIPE action is safe there; only ``os.sendfile`` and
``os.splice`` cannot take that flag.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import select
import socket
import stat
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, Final, Protocol, TypeVar

from sockit._closing import Closing
from sockit.errors import ConnectionClosed, LocalProtocolError, NetworkError, Phase, Timeout
from sockit.limits import SocketLimits
from sockit.net._oserror import (
    DEFAULT,
    Buffer,
    Default,
    TimeoutArg,
    byte_view,
    check_ip_address,
    check_timeout,
    deadline_after,
    get_default_timeout,
    map_oserror,
    set_default_timeout,
    timed_out,
    wait_ready,
)
from sockit.net.bandwidth import BandwidthLimiter

__all__ = [
    "DEFAULT",
    "BaseSocket",
    "SendResult",
    "SocketStats",
    "get_default_timeout",
    "live_sockets",
    "set_default_timeout",
]

_LINUX: Final = sys.platform.startswith("linux")


def option_constant(name: str, linux_value: int) -> int | None:
    """``socket.<name>``, else its Linux value on Linux, else ``None``."""
    value: int | None = getattr(socket, name, None)
    if value is None and _LINUX:
        value = linux_value
    return value


SO_REUSEPORT: Final = option_constant("SO_REUSEPORT", 15)
MSG_NOSIGNAL: Final[int] = getattr(socket, "MSG_NOSIGNAL", 0)
POLLIN: Final = select.POLLIN
POLLOUT: Final = select.POLLOUT
STREAM_CHUNK: Final = 64 * 1024

_T = TypeVar("_T")
_S = TypeVar("_S", bound="BaseSocket")


class HasFileno(Protocol):
    """Anything with a ``fileno()`` method."""

    def fileno(self) -> int:
        """The file descriptor."""
        ...


def unsupported(name: str) -> NetworkError:
    """The error for an option this platform does not have."""
    return NetworkError(errno.ENOPROTOOPT, f"{name} is not supported on {sys.platform}")


@dataclasses.dataclass(slots=True)
class SocketStats:
    """Counters for one socket (mutable; read them, don't write them).

    ``packets_*`` count datagrams for UDP and successful system calls for
    stream sockets; ``errors`` counts raised network errors and timeouts;
    ``last_activity`` is the :func:`time.monotonic` time of the last transfer.
    """

    bytes_sent: int = 0
    bytes_received: int = 0
    packets_sent: int = 0
    packets_received: int = 0
    errors: int = 0
    last_activity: float | None = None

    def record_sent(self, nbytes: int, packets: int = 1) -> None:
        """Count a successful send."""
        self.bytes_sent += nbytes
        self.packets_sent += packets
        self.last_activity = time.monotonic()

    def record_received(self, nbytes: int, packets: int = 1) -> None:
        """Count a successful receive."""
        self.bytes_received += nbytes
        self.packets_received += packets
        self.last_activity = time.monotonic()


@dataclasses.dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of a non-blocking send.

    ``sent`` bytes went out. ``retry_after > 0`` means the bandwidth limit held
    the rest back for that many seconds; ``sent`` short of the data with
    ``retry_after == 0`` means the kernel buffer is full: wait for writability.
    """

    sent: int
    retry_after: float = 0.0


# Building a frozen dataclass costs ~0.3 µs (two object.__setattr__ calls), as
# much as the rest of a reactor-driven try_send; results are immutable, so the
# kernel-limited ones (retry_after == 0) are shared per byte count.
_SENT_RESULTS: dict[int, SendResult] = {}
_SENT_RESULTS_MAX: Final = 4096
#: ``_SENT_RESULTS.get``: the hot path's lookup (``None``: use :func:`sent_result`)
cached_sent_result: Final = _SENT_RESULTS.get
#: what a non-blocking send that would block returns
NOTHING_SENT: Final = SendResult(0)


def sent_result(nbytes: int) -> SendResult:
    """``SendResult(nbytes)``, shared between calls (at most 4096 sizes are kept)."""
    result = _SENT_RESULTS.get(nbytes)
    if result is None:
        result = SendResult(nbytes)
        if len(_SENT_RESULTS) < _SENT_RESULTS_MAX:
            _SENT_RESULTS[nbytes] = result
    return result


_live_lock = threading.Lock()
_live_count = 0


def _live_add(delta: int) -> None:
    global _live_count
    with _live_lock:
        _live_count += delta


def live_sockets() -> int:
    """How many sockit sockets are open in this process (for leak checks)."""
    return _live_count


class BaseSocket(Closing):
    """Life cycle, timeouts, stats, limiters and ``SOL_SOCKET`` options.

    Not used directly: see :class:`sockit.net.tcp.Socket`,
    :class:`sockit.net.unix.UnixSocket` and
    :class:`sockit.net.udp.DatagramSocket`.
    """

    _sock: socket.socket
    _closed: bool = True
    limits: SocketLimits = SocketLimits()
    """Bounds for this socket (datagram size, passed descriptors); shared default."""

    def __init__(
        self,
        family: int,
        type: int,
        *,
        sock: socket.socket | None = None,
        timeout: TimeoutArg = DEFAULT,
    ) -> None:
        if sock is None:
            try:
                sock = socket.socket(family, type)
            except OSError as exc:
                raise map_oserror(exc, phase=Phase.CONNECT, context="socket()") from exc
        elif sock.fileno() < 0:
            raise LocalProtocolError("cannot wrap a closed socket")
        self._setup(sock, timeout)

    def _setup(self, sock: socket.socket, timeout: TimeoutArg) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._timeout: float | Default | None = (
            DEFAULT if timeout is DEFAULT else check_timeout(timeout)
        )
        self._closed = False
        self.stats = SocketStats()
        self.send_limiter: BandwidthLimiter | None = None
        self.recv_limiter: BandwidthLimiter | None = None
        _live_add(1)

    @classmethod
    def _adopt(cls: type[_S], sock: socket.socket) -> _S:
        obj = cls.__new__(cls)
        obj._setup(sock, DEFAULT)
        return obj

    def _child(self: _S, sock: socket.socket) -> _S:
        """A socket of this class for an accepted or duplicated ``sock``, same limits."""
        child = self._adopt(sock)
        child.limits = self.limits
        return child

    # -- life cycle ---------------------------------------------------------

    def close(self) -> None:
        """Close the socket; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        _live_add(-1)
        self._sock.close()

    def detach(self) -> int:
        """Give up the file descriptor without closing it; returns it."""
        fd = self._fd()
        self._closed = True
        _live_add(-1)
        self._sock.detach()
        return fd

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` (or :meth:`detach`) was called."""
        return self._closed


    def __del__(self) -> None:
        if not self._closed:
            try:
                warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)
            finally:
                self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"fd={self._sock.fileno()}"
        return f"<{type(self).__name__} {state} family={self._sock.family.name}>"

    def fileno(self) -> int:
        """The file descriptor (-1 once closed)."""
        return -1 if self._closed else self._sock.fileno()

    def _fd(self) -> int:
        if self._closed:
            raise ConnectionClosed(errno.EBADF, "socket is closed")
        return self._sock.fileno()

    @property
    def raw(self) -> socket.socket:
        """The wrapped :class:`socket.socket` (always in non-blocking mode)."""
        return self._sock

    @property
    def family(self) -> socket.AddressFamily:
        """Address family (``AF_INET``, ``AF_INET6``, ``AF_UNIX``)."""
        return self._sock.family

    def getsockname(self) -> Any:
        """The local address."""
        return self._wrap_call(self._sock.getsockname, Phase.CONNECT, "getsockname")

    def getpeername(self) -> Any:
        """The peer address; :class:`ConnectionClosed` if not connected."""
        return self._wrap_call(self._sock.getpeername, Phase.CONNECT, "getpeername")

    def shutdown(self, how: int = socket.SHUT_RDWR) -> None:
        """Shut down one or both directions (``SHUT_RD``, ``SHUT_WR``, ``SHUT_RDWR``)."""
        self._fd()
        self._wrap_call(lambda: self._sock.shutdown(how), Phase.SHUTDOWN, "shutdown")

    def dup(self: _S) -> _S:
        """A new socket object of the same class on a duplicated descriptor."""
        self._fd()
        return self._child(self._wrap_call(self._sock.dup, Phase.CONNECT, "dup"))

    def replace_fd(self, source: int | HasFileno) -> None:
        """Make this object use a duplicate of ``source`` (like ``dup2``).

        The descriptor number stays the same; the old connection is closed.
        ``source`` must be a socket of the same type (stream or datagram).
        """
        fd = self._fd()
        src = source if isinstance(source, int) else source.fileno()
        mode = self._wrap_call(lambda: os.fstat(src).st_mode, Phase.CONNECT, "replace_fd")
        if not stat.S_ISSOCK(mode):
            raise LocalProtocolError(f"fd {src} is not a socket")
        probe = socket.socket(fileno=src)
        same_type = probe.type == self._sock.type
        probe.detach()
        if not same_type:
            raise LocalProtocolError(f"fd {src} is not a {self._sock.type.name} socket")
        inheritable = self._sock.get_inheritable()
        os.dup2(src, fd, inheritable=inheritable)
        self._sock.detach()
        self._sock = socket.socket(fileno=fd)
        self._sock.setblocking(False)

    def _sockaddr(self, address: Any) -> Any:
        """Validate ``address`` for this family (Unix sockets override)."""
        if self._sock.family in (socket.AF_INET, socket.AF_INET6):
            return check_ip_address(address)
        return address

    def bind(self, address: Any) -> None:
        """Bind to a local address; :class:`AddressError` if it is taken or invalid."""
        addr = self._sockaddr(address)
        self._fd()
        try:
            self._sock.bind(addr)
        except OSError as exc:
            raise self._fail(exc, Phase.CONNECT, f"bind {address!r}", binding=True) from exc

    def _sent(self, nbytes: int, packets: int = 1) -> None:
        self.stats.record_sent(nbytes, packets)
        if self.send_limiter is not None:
            self.send_limiter.consume(nbytes)

    def _try_send_limited(self, data: Buffer, limiter: BandwidthLimiter) -> SendResult:
        """``try_send`` under a bandwidth limit: send what it allows, say when to retry."""
        view = byte_view(data)
        allowed = min(len(view), limiter.available())
        if allowed == 0 and len(view) > 0:
            return SendResult(0, limiter.wait_time(min(len(view), STREAM_CHUNK)))
        chunk = view[:allowed]
        n = self._try(lambda: self._sock.send(chunk, MSG_NOSIGNAL), Phase.WRITE, "send") or 0
        self._sent(n)
        retry = 0.0
        if n == allowed < len(view):
            retry = limiter.wait_time(min(len(view) - n, STREAM_CHUNK))
        return SendResult(n, retry)

    def _try_recv_limited(self, bufsize: int, limiter: BandwidthLimiter) -> bytes | None:
        """``try_recv`` under a bandwidth limit: ``None`` while it allows nothing."""
        bufsize = min(bufsize, limiter.available())
        if bufsize == 0:
            return None
        data = self._try(lambda: self._sock.recv(bufsize), Phase.READ, "recv")
        if data is not None:
            self._received(len(data))
        return data

    def _try_recv_into_limited(
        self, buffer: Buffer, want: int, limiter: BandwidthLimiter
    ) -> int | None:
        """``try_recv_into`` under a bandwidth limit: ``None`` while it allows nothing."""
        size = want
        want = min(want, limiter.available())
        if want == 0 and size > 0:
            return None
        n = self._try(lambda: self._sock.recv_into(buffer, want), Phase.READ, "recv_into")
        if n is not None:
            self._received(n)
        return n

    def _received(self, nbytes: int, packets: int = 1) -> None:
        self.stats.record_received(nbytes, packets)
        if self.recv_limiter is not None:
            self.recv_limiter.consume(nbytes)

    # -- timeouts and the blocking machinery --------------------------------

    @property
    def timeout(self) -> float | None:
        """Default timeout of this socket's calls (falls back to the global default)."""
        return get_default_timeout() if self._timeout is DEFAULT else self._timeout

    @timeout.setter
    def timeout(self, value: float | Default | None) -> None:
        self._timeout = DEFAULT if value is DEFAULT else check_timeout(value)

    def _resolve(self, timeout: TimeoutArg) -> float | None:
        return self.timeout if timeout is DEFAULT else check_timeout(timeout)

    def _deadline(self, timeout: TimeoutArg) -> float | None:
        return deadline_after(self._resolve(timeout))

    def _fail(self, exc: OSError, phase: Phase, context: str = "", **kw: bool) -> Exception:
        self.stats.errors += 1
        return map_oserror(exc, phase=phase, context=context, **kw)

    def _wrap_call(self, fn: Callable[[], _T], phase: Phase, context: str) -> _T:
        try:
            return fn()
        except OSError as exc:
            raise self._fail(exc, phase, context) from exc

    def _wait(self, events: int, deadline: float | None, phase: Phase, what: str) -> None:
        try:
            wait_ready(self._fd(), events, deadline, phase, what)
        except Timeout:
            self.stats.errors += 1
            raise

    def _io(
        self, fn: Callable[[], _T], events: int, deadline: float | None, phase: Phase, what: str
    ) -> _T:
        """Run ``fn`` until it does not raise ``EAGAIN``, waiting in between."""
        self._fd()
        while True:
            try:
                return fn()
            except BlockingIOError:
                pass
            except OSError as exc:
                raise self._fail(exc, phase, what) from exc
            self._wait(events, deadline, phase, what)

    def _try(self, fn: Callable[[], _T], phase: Phase, what: str) -> _T | None:
        """Run ``fn`` once; ``None`` if it would block."""
        self._fd()
        try:
            return fn()
        except BlockingIOError:
            return None
        except OSError as exc:
            raise self._fail(exc, phase, what) from exc

    def is_readable(self, timeout: float | None = 0.0) -> bool:
        """Whether a read would not block (data, EOF or an error is pending)."""
        return self._poll(POLLIN, timeout)

    def is_writable(self, timeout: float | None = 0.0) -> bool:
        """Whether a write would not block."""
        return self._poll(POLLOUT, timeout)

    def _poll(self, events: int, timeout: float | None) -> bool:
        try:
            wait_ready(self._fd(), events, deadline_after(check_timeout(timeout)), Phase.IDLE, "")
        except Timeout:
            return False
        return True

    # -- bandwidth ---------------------------------------------------------

    def limit_bandwidth(
        self,
        send: float | None = None,
        recv: float | None = None,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Limit this socket to ``send``/``recv`` bytes per second (None: no limit)."""
        self.send_limiter = (
            None if send is None else BandwidthLimiter(send, burst, clock=clock, sleep=sleep)
        )
        self.recv_limiter = (
            None if recv is None else BandwidthLimiter(recv, burst, clock=clock, sleep=sleep)
        )

    def _quota(
        self, limiter: BandwidthLimiter | None, want: int, deadline: float | None, phase: Phase
    ) -> int:
        """Block until ``limiter`` allows some of ``want`` bytes; return how many."""
        if limiter is None or want <= 0:
            return want
        while True:
            allowed = limiter.available()
            if allowed > 0:
                return min(want, allowed)
            wait = limiter.wait_time(min(want, STREAM_CHUNK))
            if deadline is not None and time.monotonic() + wait > deadline:
                self.stats.errors += 1
                raise timed_out(phase, "waiting for the bandwidth limit")
            limiter.sleep(wait)

    def _wait_whole(
        self, limiter: BandwidthLimiter | None, size: int, deadline: float | None, phase: Phase
    ) -> None:
        """Block until ``limiter`` allows a whole ``size``-byte message."""
        if limiter is None:
            return
        while (wait := limiter.wait_time(size)) > 0:
            if deadline is not None and time.monotonic() + wait > deadline:
                self.stats.errors += 1
                raise timed_out(phase, "waiting for the bandwidth limit")
            limiter.sleep(wait)

    # -- SOL_SOCKET options -------------------------------------------------

    def _get(self, level: int, option: int | None, name: str) -> int:
        if option is None:
            raise unsupported(name)
        return self._wrap_call(lambda: self._sock.getsockopt(level, option), Phase.CONNECT, name)

    def _set(self, level: int, option: int | None, name: str, value: int | bytes) -> None:
        if option is None:
            raise unsupported(name)
        self._fd()
        self._wrap_call(lambda: self._sock.setsockopt(level, option, value), Phase.CONNECT, name)

    @property
    def rcvbuf(self) -> int:
        """``SO_RCVBUF`` in bytes (Linux reports double the value set)."""
        return self._get(socket.SOL_SOCKET, socket.SO_RCVBUF, "SO_RCVBUF")

    @rcvbuf.setter
    def rcvbuf(self, size: int) -> None:
        self._set(socket.SOL_SOCKET, socket.SO_RCVBUF, "SO_RCVBUF", size)

    @property
    def sndbuf(self) -> int:
        """``SO_SNDBUF`` in bytes (Linux reports double the value set)."""
        return self._get(socket.SOL_SOCKET, socket.SO_SNDBUF, "SO_SNDBUF")

    @sndbuf.setter
    def sndbuf(self, size: int) -> None:
        self._set(socket.SOL_SOCKET, socket.SO_SNDBUF, "SO_SNDBUF", size)

    @property
    def reuseaddr(self) -> bool:
        """``SO_REUSEADDR``."""
        return bool(self._get(socket.SOL_SOCKET, socket.SO_REUSEADDR, "SO_REUSEADDR"))

    @reuseaddr.setter
    def reuseaddr(self, on: bool) -> None:
        self._set(socket.SOL_SOCKET, socket.SO_REUSEADDR, "SO_REUSEADDR", int(on))

    @property
    def reuseport(self) -> bool:
        """``SO_REUSEPORT`` (load-balanced binds of one port by many sockets)."""
        return bool(self._get(socket.SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT"))

    @reuseport.setter
    def reuseport(self, on: bool) -> None:
        self._set(socket.SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", int(on))

    @property
    def inheritable(self) -> bool:
        """Whether child processes inherit the descriptor (False: close-on-exec)."""
        return self._wrap_call(self._sock.get_inheritable, Phase.CONNECT, "get_inheritable")

    @inheritable.setter
    def inheritable(self, on: bool) -> None:
        self._fd()
        self._wrap_call(lambda: self._sock.set_inheritable(on), Phase.CONNECT, "set_inheritable")

    def take_error(self) -> NetworkError | Timeout | None:
        """Read and clear ``SO_ERROR``: the pending error as an exception, or None."""
        code = self._get(socket.SOL_SOCKET, socket.SO_ERROR, "SO_ERROR")
        if code == 0:
            return None
        return map_oserror(OSError(code, os.strerror(code)), phase=Phase.CONNECT, connecting=True)
