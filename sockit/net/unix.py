"""Unix-domain stream sockets: paths, abstract names, credentials, fd passing.

Addresses are filesystem paths (``str``, ``bytes`` or path-like) or, on
Linux, abstract names written ``"@name"`` (sent as a leading NUL byte; use
``"./@name"`` for a file really named ``@name``). ``sun_path`` holds 108
bytes, so a filesystem path may have at most 107 bytes plus its NUL and an
abstract name 107 bytes after the NUL; longer ones raise
:class:`~sockit.errors.AddressError` (``ENAMETOOLONG``) with the reason.

:func:`listen_unix` removes a *stale* socket file (a socket nobody listens
on any more) before binding, refuses a path another process is serving
(``EADDRINUSE``), and unlinks its own file again on ``close()``.

Descriptors received with :meth:`UnixSocket.recv_fds` belong to the caller
(close them). They arrive close-on-exec. If the peer sent more than asked
for (``MSG_CTRUNC``) every descriptor that did arrive is closed before
:class:`~sockit.errors.LimitExceeded` is raised, so nothing leaks.

As everywhere in sockit, sends use ``MSG_NOSIGNAL``: no SIGPIPE.
"""

from __future__ import annotations

import array
import contextlib
import errno
import os
import socket
import stat
import struct
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from sockit.errors import AddressError, LimitExceeded, LocalProtocolError, Phase
from sockit.limits import SocketLimits
from sockit.net._oserror import (
    DEFAULT,
    Buffer,
    TimeoutArg,
    byte_view,
    check_size,
    check_timeout,
    map_oserror,
)
from sockit.net.sockopts import MSG_NOSIGNAL, POLLIN, POLLOUT, unsupported
from sockit.net.tcp import Socket

__all__ = [
    "SUN_PATH_SIZE",
    "PeerCredentials",
    "UnixSocket",
    "connect_unix",
    "listen_unix",
    "socketpair",
    "unix_address",
]

SUN_PATH_SIZE: Final = 108
"""Bytes in ``sockaddr_un.sun_path`` on Linux (including the NUL of a path)."""

SO_PEERCRED: Final[int | None] = getattr(socket, "SO_PEERCRED", None)
MSG_CMSG_CLOEXEC: Final[int] = getattr(socket, "MSG_CMSG_CLOEXEC", 0)
_INT_SIZE: Final = array.array("i").itemsize

UnixPath = str | bytes | os.PathLike[str] | os.PathLike[bytes]


class PeerCredentials(NamedTuple):
    """The peer process of a Unix socket, as the kernel saw it at connect time."""

    pid: int
    uid: int
    gid: int


def unix_address(path: UnixPath) -> bytes:
    """Validate a Unix socket address and return it as ``sun_path`` bytes.

    ``"@name"`` (or bytes starting with NUL) is an abstract name.
    """
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, str):
        raw = b"\0" + os.fsencode(path[1:]) if path.startswith("@") else os.fsencode(path)
    elif isinstance(path, bytes):
        raw = path
    else:
        raise AddressError(errno.EINVAL, f"Unix socket path must be str or bytes, not {path!r}")
    if not raw:
        raise AddressError(errno.EINVAL, "Unix socket path is empty")
    if raw[0] == 0:
        if len(raw) > SUN_PATH_SIZE:
            raise AddressError(
                errno.ENAMETOOLONG,
                f"abstract Unix socket name is {len(raw) - 1} bytes; "
                f"at most {SUN_PATH_SIZE - 1} fit in sun_path",
            )
        return raw
    if b"\0" in raw:
        raise AddressError(errno.EINVAL, f"Unix socket path {raw!r} contains a NUL byte")
    if len(raw) >= SUN_PATH_SIZE:
        raise AddressError(
            errno.ENAMETOOLONG,
            f"Unix socket path is {len(raw)} bytes; sun_path holds at most "
            f"{SUN_PATH_SIZE - 1} plus the terminating NUL",
            os.fsdecode(raw),
        )
    return raw


class UnixSocket(Socket):
    """A Unix-domain stream socket with credentials and descriptor passing."""

    _unlink: tuple[bytes, int, int] | None = None

    def __init__(
        self,
        *,
        sock: socket.socket | None = None,
        timeout: TimeoutArg = DEFAULT,
        limits: SocketLimits | None = None,
    ) -> None:
        if sock is not None and sock.family != socket.AF_UNIX:
            raise LocalProtocolError(f"UnixSocket needs an AF_UNIX socket, not {sock.family!r}")
        super().__init__(socket.AF_UNIX, sock=sock, timeout=timeout)
        if limits is not None:
            self.limits = limits

    def _sockaddr(self, address: Any) -> Any:
        return unix_address(address)

    def close(self) -> None:
        """Close; a socket file created by :func:`listen_unix` is unlinked too."""
        if self._closed:
            return
        super().close()
        if self._unlink is not None:
            raw, dev, ino = self._unlink
            self._unlink = None
            try:
                st = os.lstat(raw)
                if (st.st_dev, st.st_ino) == (dev, ino):
                    os.unlink(raw)
            except OSError:
                pass

    def peer_credentials(self) -> PeerCredentials:
        """``(pid, uid, gid)`` of the connected peer (``SO_PEERCRED``, Linux)."""
        if SO_PEERCRED is None:
            raise unsupported("SO_PEERCRED")
        opt = SO_PEERCRED
        self._fd()
        raw = self._wrap_call(
            lambda: self._sock.getsockopt(socket.SOL_SOCKET, opt, struct.calcsize("3i")),
            Phase.CONNECT,
            "SO_PEERCRED",
        )
        return PeerCredentials(*struct.unpack("3i", raw))

    def send_fds(self, data: Buffer, fds: Sequence[int], *, timeout: TimeoutArg = DEFAULT) -> int:
        """Send ``data`` (at least one byte) with descriptors ``fds`` attached.

        At most ``limits.max_passed_fds`` (253) descriptors, else
        :class:`LimitExceeded` before anything is sent. The descriptors stay
        open here; the peer gets duplicates. Returns ``len(data)``.
        """
        fd_list = list(fds)
        bound = self.limits.max_passed_fds
        if len(fd_list) > bound:
            raise LimitExceeded(
                f"{len(fd_list)} descriptors in one message; at most {bound}",
                limit="max_passed_fds",
                value=bound,
            )
        for fd in fd_list:
            if isinstance(fd, bool) or not isinstance(fd, int) or fd < 0:
                raise LocalProtocolError(f"not a file descriptor: {fd!r}")
        view = byte_view(data)
        if not view:
            raise LocalProtocolError("send_fds needs at least one byte of data")
        anc = (
            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fd_list).tobytes())]
            if fd_list
            else []
        )
        deadline = self._deadline(timeout)
        n = self._io(
            lambda: self._sock.sendmsg([view], anc, MSG_NOSIGNAL),
            POLLOUT,
            deadline,
            Phase.WRITE,
            "send_fds",
        )
        self._sent(n)
        if n < len(view):
            self._sendall(view[n:], deadline)
        return len(view)

    def recv_fds(
        self, bufsize: int, maxfds: int, *, timeout: TimeoutArg = DEFAULT
    ) -> tuple[bytes, list[int]]:
        """Receive up to ``bufsize`` bytes and up to ``maxfds`` descriptors.

        Returns ``(data, fds)``; ``data == b""`` means the peer closed. The
        descriptors are the caller's to close. More than ``maxfds`` sent ->
        every received descriptor is closed and :class:`LimitExceeded` raised.
        """
        check_size(bufsize, "bufsize")
        bound = self.limits.max_passed_fds
        if check_size(maxfds, "maxfds") > bound:
            raise LimitExceeded(
                f"maxfds={maxfds} exceeds the limit of {bound}",
                limit="max_passed_fds",
                value=bound,
            )
        ancbufsize = socket.CMSG_LEN(maxfds * _INT_SIZE) if maxfds else 0
        deadline = self._deadline(timeout)
        data, ancdata, msg_flags, _ = self._io(
            lambda: self._sock.recvmsg(bufsize, ancbufsize, MSG_CMSG_CLOEXEC),
            POLLIN,
            deadline,
            Phase.READ,
            "recv_fds",
        )
        fds: list[int] = []
        try:
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    usable = len(payload) - len(payload) % _INT_SIZE
                    fds.extend(array.array("i", payload[:usable]))
            if msg_flags & socket.MSG_CTRUNC or len(fds) > maxfds:
                self.stats.errors += 1
                raise LimitExceeded(
                    f"peer passed more than maxfds={maxfds} descriptors; "
                    f"the {len(fds)} received were closed",
                    limit="max_passed_fds",
                    value=maxfds,
                )
        except BaseException:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            raise
        self._received(len(data))
        return data, fds


def _remove_stale(raw: bytes) -> None:
    """Unlink ``raw`` if it is a socket file nobody listens on."""
    try:
        st = os.lstat(raw)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise AddressError(
            exc.errno or errno.EINVAL, f"cannot inspect: {exc.strerror}", os.fsdecode(raw)
        ) from exc
    if not stat.S_ISSOCK(st.st_mode):
        raise AddressError(errno.EADDRINUSE, "path exists and is not a socket", os.fsdecode(raw))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.setblocking(False)
        code = probe.connect_ex(raw)
    if code in (0, errno.EAGAIN, errno.EINPROGRESS):
        raise AddressError(
            errno.EADDRINUSE, "another process is listening on this socket", os.fsdecode(raw)
        )
    if code == errno.ECONNREFUSED:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(raw)


def listen_unix(
    path: UnixPath,
    *,
    backlog: int = 128,
    mode: int | None = None,
    remove_stale: bool = True,
    timeout: TimeoutArg = DEFAULT,
    limits: SocketLimits | None = None,
) -> UnixSocket:
    """A listening Unix socket at ``path`` (``"@name"``: abstract namespace).

    ``mode`` chmods the socket file before ``listen`` (so nobody connects
    with looser permissions). The file is unlinked on ``close()``.
    """
    raw = unix_address(path)
    abstract = raw[0] == 0
    if remove_stale and not abstract:
        _remove_stale(raw)
    sock = UnixSocket(timeout=timeout, limits=limits)
    try:
        sock.bind(raw)
        if not abstract:
            st = os.lstat(raw)
            sock._unlink = (raw, st.st_dev, st.st_ino)
            if mode is not None:
                os.chmod(raw, mode)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def connect_unix(
    path: UnixPath,
    *,
    timeout: TimeoutArg = DEFAULT,
    io_timeout: TimeoutArg = DEFAULT,
    limits: SocketLimits | None = None,
) -> UnixSocket:
    """A connection to the Unix socket at ``path``.

    ``timeout`` bounds the connect (default ``SocketLimits().connect_timeout``);
    ``io_timeout`` becomes the socket's default for later calls.
    """
    raw = unix_address(path)
    connect_timeout = (
        SocketLimits().connect_timeout if timeout is DEFAULT else check_timeout(timeout)
    )
    sock = UnixSocket(timeout=io_timeout, limits=limits)
    try:
        sock.connect(raw, timeout=connect_timeout)
    except BaseException:
        sock.close()
        raise
    return sock


def socketpair(
    *, timeout: TimeoutArg = DEFAULT, limits: SocketLimits | None = None
) -> tuple[UnixSocket, UnixSocket]:
    """Two connected :class:`UnixSocket` objects (``socket.socketpair``)."""
    try:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError as exc:
        raise map_oserror(exc, phase=Phase.CONNECT, context="socketpair") from exc
    return (
        UnixSocket(sock=a, timeout=timeout, limits=limits),
        UnixSocket(sock=b, timeout=timeout, limits=limits),
    )
