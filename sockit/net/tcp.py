"""Stream sockets: :class:`Socket` (TCP, and the base of Unix stream sockets).

A :class:`Socket` wraps a standard :class:`socket.socket` in non-blocking
mode and offers blocking calls with per-call timeouts (``timeout=`` on every
call, the socket's ``timeout`` property, then the process-wide default from
:func:`~sockit.net.sockopts.set_default_timeout`), plus ``try_*`` variants
that never block and return ``None`` (or a :class:`SendResult`) instead.

One-call helpers: :func:`listen_tcp` and :func:`connect_tcp`. Zero-copy
transfers: :meth:`Socket.sendfile` (``os.sendfile`` with a read/send
fallback) and :func:`splice` (socket to socket through a pipe on Linux).

SIGPIPE never kills the process: Python ignores it at start-up, and every
send here passes ``MSG_NOSIGNAL``; a write to a closed peer raises
:class:`~sockit.errors.ConnectionClosed` (``EPIPE``). Errors are the
:mod:`sockit.errors` ones: refused connections are
:class:`~sockit.errors.ConnectError` with ``errno`` ``ECONNREFUSED``, bad
hosts and ports :class:`~sockit.errors.AddressError`, timeouts
:class:`~sockit.errors.Timeout` with the phase (``connect``, ``read``,
``write``).
"""

from __future__ import annotations

import errno
import io
import os
import socket
import stat
import time
from collections.abc import Iterable, Sequence
from functools import partial
from typing import IO, TYPE_CHECKING, Any, Final, TypeVar

from sockit.errors import ConnectionClosed, LocalProtocolError, NetworkError, Phase, Timeout
from sockit.limits import PoolLimits, SocketLimits
from sockit.net._oserror import (
    DEFAULT,
    Buffer,
    TimeoutArg,
    byte_view,
    check_size,
    check_timeout,
    deadline_after,
    remaining,
    resolve_address,
    timed_out,
)
from sockit.net.sockopts import (
    MSG_NOSIGNAL,
    NOTHING_SENT,
    POLLIN,
    POLLOUT,
    STREAM_CHUNK,
    SendResult,
    cached_sent_result,
    live_sockets,
    sent_result,
)
from sockit.net.tcpinfo import TCPOptions

if TYPE_CHECKING:
    from sockit.net.tls import TLSSocket
    from sockit.proto.tls import TLSContext, TLSSession

__all__ = ["SendResult", "Socket", "connect_tcp", "listen_tcp", "live_sockets", "splice"]

_S = TypeVar("_S", bound="Socket")
_monotonic: Final = time.monotonic
_SENDFILE_MAX: Final = 0x7FFFF000
_FALLBACK_ERRNOS: Final = frozenset(
    {errno.EINVAL, errno.ENOSYS, errno.ENOTSOCK, errno.EOPNOTSUPP, errno.ESPIPE, errno.EBADF}
)


class Socket(TCPOptions):
    """A stream socket: TCP over IPv4/IPv6 (Unix: :class:`~sockit.net.unix.UnixSocket`).

    ``Socket(family)`` creates a new socket; ``Socket(sock=s)`` wraps an
    existing :class:`socket.socket` (which is switched to non-blocking mode).
    """

    def __init__(
        self,
        family: int = socket.AF_INET,
        *,
        sock: socket.socket | None = None,
        timeout: TimeoutArg = DEFAULT,
    ) -> None:
        if sock is not None and sock.type != socket.SOCK_STREAM:
            raise LocalProtocolError(f"Socket needs a SOCK_STREAM socket, not {sock.type!r}")
        super().__init__(family, socket.SOCK_STREAM, sock=sock, timeout=timeout)

    def listen(self, backlog: int = 128) -> None:
        """Start accepting connections, with up to ``backlog`` waiting."""
        check_size(backlog, "backlog")
        self._fd()
        self._wrap_call(lambda: self._sock.listen(backlog), Phase.CONNECT, "listen")

    def accept(self: _S, *, timeout: TimeoutArg = DEFAULT) -> _S:
        """Wait for and return the next connection (:class:`Timeout` if none in time)."""
        deadline = self._deadline(timeout)
        conn, _ = self._io(self._sock.accept, POLLIN, deadline, Phase.CONNECT, "accept")
        return self._child(conn)

    def try_accept(self: _S) -> _S | None:
        """The next connection if one is waiting, else ``None`` (never blocks)."""
        pair = self._try(self._sock.accept, Phase.CONNECT, "accept")
        return None if pair is None else self._child(pair[0])

    def accept_batch(self: _S, max_n: int = PoolLimits().max_batch_accept) -> list[_S]:
        """Accept up to ``max_n`` waiting connections without blocking.

        An error after at least one accepted connection ends the batch early
        (the error will show again on the next call); none are lost.
        """
        if check_size(max_n, "max_n") == 0:
            return []
        out: list[_S] = []
        while len(out) < max_n:
            try:
                conn = self.try_accept()
            except NetworkError:
                if not out:
                    raise
                break
            if conn is None:
                break
            out.append(conn)
        return out

    def connect_nonblocking(self, address: Any) -> bool:
        """Start connecting; ``True`` if already connected, ``False`` if in progress.

        Finish with :meth:`finish_connect` once :meth:`is_writable`.
        """
        addr = self._sockaddr(address)
        self._fd()
        try:
            code = self._sock.connect_ex(addr)
        except OSError as exc:
            raise self._fail(exc, Phase.CONNECT, f"connect {address!r}", connecting=True) from exc
        if code in (0, errno.EISCONN):
            return True
        if code in (errno.EINPROGRESS, errno.EALREADY, errno.EINTR, errno.EAGAIN):
            return False
        error = OSError(code, os.strerror(code))
        raise self._fail(error, Phase.CONNECT, f"connect {address!r}", connecting=True)

    def finish_connect(self) -> bool:
        """Check a connection started by :meth:`connect_nonblocking`.

        ``True`` once connected, ``False`` while still in progress; raises
        :class:`~sockit.errors.ConnectError` (via ``SO_ERROR``) if it failed.
        """
        if not self.is_writable(0.0):
            return False
        err = self.take_error()
        if err is not None:
            self.stats.errors += 1
            raise err
        return True

    def connect(self, address: Any, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Connect, waiting at most ``timeout`` (:class:`Timeout` in phase ``connect``)."""
        timeout_s = self._resolve(timeout)
        deadline = deadline_after(timeout_s)
        what = f"connect to {address!r}"
        backoff = 0.001
        while not self.connect_nonblocking(address):
            if self._sock.family == socket.AF_UNIX:
                # AF_UNIX: EAGAIN means the listener's queue is full; retry.
                left = remaining(deadline)
                if left is not None and left <= 0:
                    self.stats.errors += 1
                    raise timed_out(Phase.CONNECT, what, timeout_s)
                time.sleep(backoff if left is None else min(backoff, left))
                backoff = min(backoff * 2, 0.05)
                continue
            try:
                self._wait(POLLOUT, deadline, Phase.CONNECT, what)
            except Timeout:
                raise timed_out(Phase.CONNECT, what, timeout_s) from None
            if self.finish_connect():
                return

    def send(self, data: Buffer, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Send some of ``data``, waiting for room; returns the bytes sent."""
        view = byte_view(data)
        deadline = self._deadline(timeout)
        chunk = view[: self._quota(self.send_limiter, len(view), deadline, Phase.WRITE)]
        n = self._io(
            lambda: self._sock.send(chunk, MSG_NOSIGNAL), POLLOUT, deadline, Phase.WRITE, "send"
        )
        self._sent(n)
        return n

    def try_send(self, data: Buffer) -> SendResult:
        """Send what the kernel buffer and the bandwidth limit allow now."""
        limiter = self.send_limiter
        if limiter is None:
            # hot path (every reactor-driven write): no wrappers, no view copy,
            # counters updated inline, results shared per byte count
            if self._closed:
                self._fd()
            try:
                n = self._sock.send(data, MSG_NOSIGNAL)
            except BlockingIOError:
                return NOTHING_SENT
            except OSError as exc:
                raise self._fail(exc, Phase.WRITE, "send") from exc
            stats = self.stats
            stats.bytes_sent += n
            stats.packets_sent += 1
            stats.last_activity = _monotonic()
            result = cached_sent_result(n)
            return sent_result(n) if result is None else result
        return self._try_send_limited(data, limiter)

    def sendall(self, data: Buffer, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Send all of ``data``; ``timeout`` bounds the whole call."""
        self._sendall(byte_view(data), self._deadline(timeout))

    def _sendall(self, view: memoryview, deadline: float | None) -> None:
        while view:
            chunk = view[: self._quota(self.send_limiter, len(view), deadline, Phase.WRITE)]
            send = partial(self._sock.send, chunk, MSG_NOSIGNAL)
            n = self._io(send, POLLOUT, deadline, Phase.WRITE, "sendall")
            self._sent(n)
            view = view[n:]

    def sendmsg(
        self,
        buffers: Sequence[Buffer],
        ancdata: Iterable[tuple[int, int, Buffer]] = (),
        *,
        timeout: TimeoutArg = DEFAULT,
    ) -> int:
        """Gather-send ``buffers`` (plus ancillary data) in one call; returns bytes sent."""
        anc = list(ancdata)
        deadline = self._deadline(timeout)
        total = sum(memoryview(b).nbytes for b in buffers)
        self._wait_whole(self.send_limiter, total, deadline, Phase.WRITE)
        send = partial(self._sock.sendmsg, buffers, anc, MSG_NOSIGNAL)
        n = self._io(send, POLLOUT, deadline, Phase.WRITE, "sendmsg")
        self._sent(n)
        return n

    def recv(self, bufsize: int, *, timeout: TimeoutArg = DEFAULT) -> bytes:
        """Receive up to ``bufsize`` bytes; ``b""`` means the peer closed."""
        check_size(bufsize, "bufsize")
        deadline = self._deadline(timeout)
        n = self._quota(self.recv_limiter, bufsize, deadline, Phase.READ)
        data = self._io(lambda: self._sock.recv(n), POLLIN, deadline, Phase.READ, "recv")
        self._received(len(data))
        return data

    def try_recv(self, bufsize: int) -> bytes | None:
        """Receive what is there now; ``None`` if nothing (``b""``: peer closed)."""
        if type(bufsize) is not int or bufsize < 0:  # the common case skips a call
            check_size(bufsize, "bufsize")
        if self.recv_limiter is not None:
            return self._try_recv_limited(bufsize, self.recv_limiter)
        if self._closed:
            self._fd()
        try:
            data = self._sock.recv(bufsize)
        except BlockingIOError:
            return None
        except OSError as exc:
            raise self._fail(exc, Phase.READ, "recv") from exc
        stats = self.stats  # counted inline: a call per receive costs more than this
        stats.bytes_received += len(data)
        stats.packets_received += 1
        stats.last_activity = _monotonic()
        return data

    def recv_into(self, buffer: Buffer, nbytes: int = 0, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Receive into ``buffer`` (up to ``nbytes``, 0 = its size); returns the count."""
        view = byte_view(buffer)
        want = check_size(nbytes, "nbytes") or len(view)
        deadline = self._deadline(timeout)
        want = self._quota(self.recv_limiter, min(want, len(view)), deadline, Phase.READ)
        n = self._io(
            lambda: self._sock.recv_into(view, want), POLLIN, deadline, Phase.READ, "recv_into"
        )
        self._received(n)
        return n

    def try_recv_into(self, buffer: Buffer, nbytes: int = 0) -> int | None:
        """Like :meth:`recv_into` but never blocks: ``None`` if nothing is there."""
        if type(nbytes) is not int or nbytes < 0:
            check_size(nbytes, "nbytes")
        if type(buffer) is not bytearray:  # a bytearray is already flat bytes
            buffer = byte_view(buffer)
        size = len(buffer)
        want = nbytes if 0 < nbytes < size else size
        if self.recv_limiter is not None:
            return self._try_recv_into_limited(buffer, want, self.recv_limiter)
        if self._closed:
            self._fd()
        try:
            n = self._sock.recv_into(buffer, want)
        except BlockingIOError:
            return None
        except OSError as exc:
            raise self._fail(exc, Phase.READ, "recv_into") from exc
        stats = self.stats
        stats.bytes_received += n
        stats.packets_received += 1
        stats.last_activity = _monotonic()
        return n

    def recv_exactly(self, n: int, *, timeout: TimeoutArg = DEFAULT) -> bytes:
        """Receive exactly ``n`` bytes; :class:`ConnectionClosed` if the peer closes first."""
        buf = bytearray(check_size(n, "n"))
        view = memoryview(buf)
        deadline = self._deadline(timeout)
        got = 0
        while got < n:
            want = self._quota(self.recv_limiter, n - got, deadline, Phase.READ)
            part = view[got : got + want]
            k = self._io(
                partial(self._sock.recv_into, part), POLLIN, deadline, Phase.READ, "recv_exactly"
            )
            if k == 0:
                self.stats.errors += 1
                raise ConnectionClosed(
                    errno.ECONNRESET, f"peer closed after {got} of {n} bytes (recv_exactly)"
                )
            self._received(k)
            got += k
        return bytes(buf)

    def recvmsg_into(
        self,
        buffers: Sequence[Buffer],
        ancbufsize: int = 0,
        *,
        timeout: TimeoutArg = DEFAULT,
        flags: int = 0,
    ) -> tuple[int, list[tuple[int, int, bytes]], int, Any]:
        """Scatter-receive into ``buffers``: ``(nbytes, ancdata, msg_flags, address)``."""
        deadline = self._deadline(timeout)
        views = [byte_view(b) for b in buffers]
        recv = partial(self._sock.recvmsg_into, views, ancbufsize, flags)
        result = self._io(recv, POLLIN, deadline, Phase.READ, "recvmsg_into")
        self._received(result[0])
        return result

    def peek(self, n: int, *, timeout: TimeoutArg = DEFAULT) -> bytes:
        """Look at up to ``n`` waiting bytes without consuming them (``MSG_PEEK``)."""
        check_size(n, "n")
        deadline = self._deadline(timeout)
        return self._io(
            lambda: self._sock.recv(n, socket.MSG_PEEK), POLLIN, deadline, Phase.READ, "peek"
        )

    def probe(self) -> bool:
        """Whether the peer still seems there: ``False`` after EOF or a reset.

        Non-blocking ``MSG_PEEK``; consumes nothing. Unread data counts as alive.
        """
        if self._closed:
            return False
        try:
            data = self._sock.recv(1, socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0))
        except BlockingIOError:
            return True
        except OSError:
            return False
        return data != b""

    def start_tls(
        self,
        context: TLSContext,
        *,
        server_hostname: str | None = None,
        session: TLSSession | None = None,
        timeout: TimeoutArg = DEFAULT,
    ) -> TLSSocket:
        """Run a TLS handshake on this connected socket; the TLS socket on top of it.

        The role comes from ``context`` (client or server). ``timeout``
        bounds the handshake (default ``TLSDefaults().handshake_timeout``).
        This socket then belongs to the returned one; :meth:`TLSSocket.unwrap`
        gives it back after a TLS shutdown (STARTTLS-style protocols).
        """
        from sockit.net.tls import start_tls  # noqa: PLC0415 - tls.py imports this module

        return start_tls(self, context, server_hostname=server_hostname, session=session,
                         timeout=timeout)

    def sendfile(
        self,
        file: IO[bytes] | int,
        offset: int = 0,
        count: int | None = None,
        *,
        timeout: TimeoutArg = DEFAULT,
    ) -> int:
        """Send ``count`` bytes (default: to EOF) of ``file`` from ``offset``.

        Uses ``os.sendfile`` (zero copy) for regular files, else a read/send
        loop. Returns the bytes sent; a file object is left positioned after
        them. ``timeout`` bounds the whole transfer.
        """
        check_size(offset, "offset")
        if count is not None:
            check_size(count, "count")
        deadline = self._deadline(timeout)
        fd: int | None
        try:
            fd = file if isinstance(file, int) else file.fileno()
        except (AttributeError, io.UnsupportedOperation):
            fd = None
        start = self.stats.bytes_sent  # progress, even if an error cuts it short
        try:
            if fd is not None and hasattr(os, "sendfile") and stat.S_ISREG(os.fstat(fd).st_mode):
                if count is None:
                    count = max(0, os.fstat(fd).st_size - offset)
                if self._sendfile_zero_copy(fd, offset, count, deadline):
                    return self.stats.bytes_sent - start
            self._sendfile_copy(file, fd, offset, count, deadline)
            return self.stats.bytes_sent - start
        finally:
            if not isinstance(file, int) and hasattr(file, "seek"):
                file.seek(offset + self.stats.bytes_sent - start)

    def _sendfile_zero_copy(self, fd: int, offset: int, count: int, deadline: float | None) -> bool:
        """``os.sendfile`` loop; ``False`` if the kernel refuses it (use the copy loop)."""
        out = self._fd()
        total = 0
        while total < count:
            want = self._quota(
                self.send_limiter, min(count - total, _SENDFILE_MAX), deadline, Phase.WRITE
            )
            try:
                n = os.sendfile(out, fd, offset + total, want)
            except BlockingIOError:
                self._wait(POLLOUT, deadline, Phase.WRITE, "sendfile")
                continue
            except OSError as exc:
                if total == 0 and exc.errno in _FALLBACK_ERRNOS:
                    return False
                raise self._fail(exc, Phase.WRITE, "sendfile") from exc
            if n == 0:
                break
            total += n
            self._sent(n)
        return True

    def _sendfile_copy(
        self,
        file: IO[bytes] | int,
        fd: int | None,
        offset: int,
        count: int | None,
        deadline: float | None,
    ) -> None:
        total = 0
        if not isinstance(file, int):
            file.seek(offset)
        while count is None or total < count:
            size = STREAM_CHUNK if count is None else min(STREAM_CHUNK, count - total)
            if isinstance(file, int):
                assert fd is not None
                chunk = os.pread(fd, size, offset + total)
            else:
                chunk = file.read(size)
            if not chunk:
                break
            self._sendall(memoryview(chunk), deadline)
            total += len(chunk)


_PIPE_CHUNK: Final = 64 * 1024


def splice(src: Socket, dst: Socket, count: int, *, timeout: TimeoutArg = DEFAULT) -> int:
    """Move up to ``count`` bytes from ``src`` to ``dst`` without copying to Python.

    Linux ``splice(2)`` through a pipe; elsewhere a recv/send loop. Returns
    the bytes moved, fewer than ``count`` only if ``src`` reached EOF.
    ``timeout`` (default: ``src``'s) bounds the whole transfer. ``dst``'s
    send limiter applies.
    """
    check_size(count, "count")
    deadline = src._deadline(timeout)
    if not hasattr(os, "splice"):
        return _copy_loop(src, dst, count, deadline)
    flags = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
    rpipe, wpipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    moved = in_pipe = 0
    try:
        while moved < count:
            if in_pipe == 0:
                want = dst._quota(
                    dst.send_limiter, min(count - moved, _PIPE_CHUNK), deadline, Phase.WRITE
                )
                try:
                    n = os.splice(src._fd(), wpipe, want, flags=flags)
                except BlockingIOError:
                    src._wait(POLLIN, deadline, Phase.READ, "splice")
                    continue
                except OSError as exc:
                    raise src._fail(exc, Phase.READ, "splice") from exc
                if n == 0:
                    break
                src.stats.record_received(n)
                in_pipe = n
            try:
                n = os.splice(rpipe, dst._fd(), in_pipe, flags=flags)
            except BlockingIOError:
                dst._wait(POLLOUT, deadline, Phase.WRITE, "splice")
                continue
            except OSError as exc:
                raise dst._fail(exc, Phase.WRITE, "splice") from exc
            in_pipe -= n
            moved += n
            dst._sent(n)
    finally:
        os.close(rpipe)
        os.close(wpipe)
    return moved


def _copy_loop(src: Socket, dst: Socket, count: int, deadline: float | None) -> int:
    moved = 0
    while moved < count:
        data = src.recv(min(_PIPE_CHUNK, count - moved), timeout=remaining(deadline))
        if not data:
            break
        dst._sendall(memoryview(data), deadline)
        moved += len(data)
    return moved


def listen_tcp(
    host: str,
    port: int,
    *,
    backlog: int = 128,
    reuse_addr: bool = True,
    reuse_port: bool = False,
    dualstack: bool | None = None,
    fastopen: int = 0,
    nodelay: bool = True,
    timeout: TimeoutArg = DEFAULT,
) -> Socket:
    """A listening TCP socket on ``host:port`` (port 0: the kernel picks one).

    ``host=""`` means every IPv4 interface, ``"::"`` every IPv6 one (and IPv4
    too unless ``dualstack=False``). ``fastopen`` is the TFO queue length
    (0: off). ``nodelay`` is inherited by accepted sockets on Linux;
    ``timeout`` becomes the listener's default (for :meth:`Socket.accept`).
    """
    family, addr = resolve_address(host, port, passive=True)[0]
    sock = Socket(family, timeout=timeout)
    try:
        if reuse_addr:
            sock.reuseaddr = True
        if reuse_port:
            sock.reuseport = True
        if family == socket.AF_INET6 and dualstack is not None:
            sock._set(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, "IPV6_V6ONLY", int(not dualstack))
        if nodelay:
            sock.nodelay = True
        sock.bind(addr)
        if fastopen:
            sock.fastopen_queue = fastopen
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def connect_tcp(
    host: str,
    port: int,
    *,
    timeout: TimeoutArg = DEFAULT,
    io_timeout: TimeoutArg = DEFAULT,
    source_address: tuple[str, int] | None = None,
    nodelay: bool = True,
    fastopen: bool = False,
) -> Socket:
    """A TCP connection to ``host:port``, trying each resolved address in turn.

    ``timeout`` bounds the whole connect (default
    ``SocketLimits().connect_timeout``, 30 s); ``io_timeout`` becomes the
    socket's default for later calls (default: the global default).
    ``fastopen`` turns on ``TCP_FASTOPEN_CONNECT``.
    """
    connect_timeout = (
        SocketLimits().connect_timeout if timeout is DEFAULT else check_timeout(timeout)
    )
    deadline = deadline_after(connect_timeout)
    last: Exception | None = None
    for family, addr in resolve_address(host, port):
        sock = Socket(family, timeout=io_timeout)
        try:
            if nodelay:
                sock.nodelay = True
            if fastopen:
                sock.fastopen_connect = True
            if source_address is not None:
                sock.bind(source_address)
            sock.connect(addr, timeout=remaining(deadline))
        except (NetworkError, Timeout) as exc:
            sock.close()
            last = exc
            if isinstance(exc, Timeout):
                break
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    assert last is not None
    raise last
