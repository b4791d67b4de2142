"""Batch datagram I/O: ``sendmmsg(2)`` / ``recvmmsg(2)`` through cffi in ABI mode.

The C library is opened with ``ffi.dlopen(None)`` (the symbols already in
the process), so nothing is compiled. :func:`available` says whether the
fast path works here (Linux with cffi importable and the symbols present);
callers fall back to a Python loop of ``sendto``/``recvfrom`` otherwise.

Socket addresses travel as raw ``struct sockaddr`` bytes:
:func:`pack_sockaddr` and :func:`unpack_sockaddr` convert IPv4/IPv6 address
tuples (Linux layout: native-endian ``sa_family``, network-order port).
"""

from __future__ import annotations

import errno
import importlib
import os
import socket
import struct
import sys
from collections.abc import Sequence
from typing import Any, Final

__all__ = [
    "MAX_BATCH",
    "available",
    "pack_sockaddr",
    "recv_batch",
    "send_batch",
    "unpack_sockaddr",
]

MAX_BATCH: Final = 1024
"""Messages per system call (the kernel's ``UIO_MAXIOV``)."""

_SOCKADDR_STORAGE: Final = 128

_CDEF: Final = """
struct iovec { void *iov_base; size_t iov_len; };
struct msghdr {
    void *msg_name; unsigned int msg_namelen;
    struct iovec *msg_iov; size_t msg_iovlen;
    void *msg_control; size_t msg_controllen;
    int msg_flags;
};
struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; };
int sendmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags);
int recvmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags, void *timeout);
"""

_state: dict[str, Any] = {}
_disabled = False


def _load() -> tuple[Any, Any] | None:
    """``(ffi, lib)`` once loaded, ``None`` if the fast path is unavailable."""
    if "lib" in _state:
        return _state["ffi"], _state["lib"]
    if _disabled or not sys.platform.startswith("linux"):
        return None
    try:
        cffi = importlib.import_module("cffi")  # optional: no stubs needed
        ffi = cffi.FFI()
        ffi.cdef(_CDEF)
        lib = ffi.dlopen(None)
        _ = lib.sendmmsg, lib.recvmmsg
    except Exception:  # cffi missing, no libc symbols, odd platform
        _disable()
        return None
    _state.update(ffi=ffi, lib=lib, alloc=ffi.new_allocator(should_clear_after_alloc=False))
    return ffi, lib


def _disable() -> None:
    global _disabled
    _disabled = True
    _state.clear()


def available() -> bool:
    """Whether ``sendmmsg``/``recvmmsg`` can be called through cffi here."""
    return _load() is not None


def set_enabled(enabled: bool) -> None:
    """Turn the cffi path on or off (tests use it to exercise the fallback)."""
    global _disabled
    if enabled:
        _disabled = False
    else:
        _disable()


def _raise_errno(ffi: Any) -> None:
    code = ffi.errno
    raise OSError(code, os.strerror(code))


def send_batch(fd: int, items: Sequence[tuple[Any, bytes | None]], flags: int = 0) -> int:
    """``sendmmsg`` of ``(buffer, packed sockaddr or None)`` pairs; returns how many went.

    Raises :class:`OSError` (``BlockingIOError`` on ``EAGAIN``) if none went.
    """
    loaded = _load()
    if loaded is None:
        raise OSError(errno.ENOSYS, "sendmmsg is not available")
    ffi, lib = loaded
    count = min(len(items), MAX_BATCH)
    if count == 0:
        return 0
    msgs = ffi.new("struct mmsghdr[]", count)
    iovs = ffi.new("struct iovec[]", count)
    keep: list[Any] = []
    for i in range(count):
        data, name = items[i]
        buf = ffi.from_buffer(data)
        keep.append(buf)
        iovs[i].iov_base = buf
        iovs[i].iov_len = len(buf)
        hdr = msgs[i].msg_hdr
        hdr.msg_iov = iovs + i
        hdr.msg_iovlen = 1
        if name:
            raw = ffi.from_buffer(name)
            keep.append(raw)
            hdr.msg_name = raw
            hdr.msg_namelen = len(name)
    while True:
        sent = int(lib.sendmmsg(fd, msgs, count, flags))
        if sent >= 0:
            return sent
        if ffi.errno != errno.EINTR:
            _raise_errno(ffi)


def recv_batch(fd: int, count: int, bufsize: int, flags: int = 0) -> list[tuple[bytes, bytes, int]]:
    """``recvmmsg`` of up to ``count`` datagrams: ``(data, raw sockaddr, msg_flags)``.

    ``msg_flags & MSG_TRUNC`` marks a datagram cut to ``bufsize``. Raises
    :class:`OSError` (``BlockingIOError`` on ``EAGAIN``) if nothing came.
    """
    loaded = _load()
    if loaded is None:
        raise OSError(errno.ENOSYS, "recvmmsg is not available")
    ffi, lib = loaded
    count = min(count, MAX_BATCH)
    if count <= 0:
        return []
    alloc = _state["alloc"]
    msgs = ffi.new("struct mmsghdr[]", count)
    iovs = ffi.new("struct iovec[]", count)
    bufs = alloc("char[]", count * max(bufsize, 1))
    names = alloc("char[]", count * _SOCKADDR_STORAGE)
    for i in range(count):
        iovs[i].iov_base = bufs + i * bufsize
        iovs[i].iov_len = bufsize
        hdr = msgs[i].msg_hdr
        hdr.msg_name = names + i * _SOCKADDR_STORAGE
        hdr.msg_namelen = _SOCKADDR_STORAGE
        hdr.msg_iov = iovs + i
        hdr.msg_iovlen = 1
    while True:
        got = int(lib.recvmmsg(fd, msgs, count, flags, ffi.NULL))
        if got >= 0:
            break
        if ffi.errno != errno.EINTR:
            _raise_errno(ffi)
    out = []
    for i in range(got):
        msg = msgs[i]
        hdr = msg.msg_hdr
        data = ffi.buffer(bufs + i * bufsize, msg.msg_len)[:]
        name = ffi.buffer(names + i * _SOCKADDR_STORAGE, hdr.msg_namelen)[:]
        out.append((data, name, int(hdr.msg_flags)))
    return out


def pack_sockaddr(family: int, address: tuple[Any, ...]) -> bytes:
    """Raw ``sockaddr_in``/``sockaddr_in6`` bytes for an address tuple (Linux layout).

    A non-numeric host is resolved with ``getaddrinfo`` (blocking DNS).
    """
    host, port = address[0], address[1]
    try:
        packed = socket.inet_pton(family, host)
    except OSError:
        resolved: tuple[Any, ...] = socket.getaddrinfo(host, port, family, socket.SOCK_DGRAM)[0][4]
        packed = socket.inet_pton(family, str(resolved[0]).split("%", 1)[0])
        if family == socket.AF_INET6 and len(address) < 4:
            address = (host, port, resolved[2], resolved[3])
    if family == socket.AF_INET:
        return struct.pack("=H", family) + struct.pack("!H", port) + packed + bytes(8)
    if family == socket.AF_INET6:
        flowinfo = address[2] if len(address) > 2 else 0
        scope_id = address[3] if len(address) > 3 else 0
        return (
            struct.pack("=H", family)
            + struct.pack("!HI", port, flowinfo)
            + packed
            + struct.pack("=I", scope_id)
        )
    raise OSError(errno.EAFNOSUPPORT, f"cannot pack a family {family} address")


def unpack_sockaddr(raw: bytes) -> tuple[Any, ...]:
    """The address tuple of raw ``sockaddr`` bytes (IPv4 or IPv6), ``()`` if unknown."""
    if len(raw) < 2:
        return ()
    (family,) = struct.unpack_from("=H", raw)
    if family == socket.AF_INET and len(raw) >= 8:
        (port,) = struct.unpack_from("!H", raw, 2)
        return (socket.inet_ntop(socket.AF_INET, raw[4:8]), port)
    if family == socket.AF_INET6 and len(raw) >= 28:
        port, flowinfo = struct.unpack_from("!HI", raw, 2)
        (scope_id,) = struct.unpack_from("=I", raw, 24)
        return (socket.inet_ntop(socket.AF_INET6, raw[8:24]), port, flowinfo, scope_id)
    return ()
