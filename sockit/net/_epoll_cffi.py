"""An epoll backend that calls libc through cffi in ABI mode (no compiler needed).

``ffi.dlopen(None)`` opens the C library already loaded into the process and we
declare the three epoll calls ourselves. The one trap is the layout of
``struct epoll_event``: glibc and musl declare it ``__attribute__((packed))`` on
x86 (32 and 64 bit), so there it is 12 bytes with the 64-bit ``data`` member at
offset 4; everywhere else it has natural alignment (16 bytes, ``data`` at offset
8). The struct is declared packed on x86 only, and the size cffi computes is
checked against the expected one before the backend is used.

Results are read without a Python-level loop: the event array is viewed once as
32-bit words, and two strided slices (the fd, which ``data`` carries in its low
word, and the event bits) are zipped together. The word positions follow from
the layout and the byte order. A single event is read by index instead, which
is cheaper than building the slices.

cffi releases the GIL around ``epoll_wait``, so other threads (and
``Reactor.wakeup``) keep running while the reactor blocks. EINTR is retried with
the remaining timeout, after Python signal handlers have run.

``cffi`` has no type stubs; everything typed ``Any`` stays inside this module.
"""

from __future__ import annotations

import errno
import importlib
import math
import os
import platform
import sys
import time
from collections.abc import Iterable
from typing import Any

from sockit.errors import LocalProtocolError
from sockit.net._backends import EPOLLET, MASK_TO_EPOLL, MAX_EVENTS_CAP, Backend

__all__ = ["CffiEpollBackend", "unavailable_reason"]

_CDEF = """
struct epoll_event {
    uint32_t events;
    uint64_t data;      /* epoll_data_t is a union of 8 bytes; we only use it as u64 */
};
int epoll_create1(int flags);
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
"""

_EPOLL_CTL_ADD = 1
_EPOLL_CTL_DEL = 2
_EPOLL_CTL_MOD = 3
_MAX_TIMEOUT_MS = 2**31 - 1

_X86 = frozenset({"x86_64", "amd64", "i386", "i486", "i586", "i686", "x86"})


def _is_packed_arch(machine: str) -> bool:
    """True where the C headers declare ``struct epoll_event`` packed."""
    return machine.lower() in _X86


class _Lib:
    """The loaded FFI, library handle and the struct codec for one layout."""

    def __init__(self) -> None:
        cffi: Any = importlib.import_module("cffi")
        packed = _is_packed_arch(platform.machine())
        ffi: Any = cffi.FFI()
        ffi.cdef(_CDEF, packed=packed)
        size = int(ffi.sizeof("struct epoll_event"))
        expected = 12 if packed else 16
        if size != expected:
            raise LocalProtocolError(
                f"struct epoll_event is {size} bytes here, expected {expected}"
            )
        self.ffi = ffi
        self.lib: Any = ffi.dlopen(None)
        self.size = size
        # in 32-bit words: events at 0; data at 1 (packed) or 2 (padded); the
        # fd fits the low word of data, which comes second on big-endian
        self.stride = size // 4
        self.fd_word = (1 if packed else 2) + (sys.byteorder == "big")
        # touching the symbols makes a libc without epoll fail here, not later
        for symbol in ("epoll_create1", "epoll_ctl", "epoll_wait"):
            getattr(self.lib, symbol)


_loaded: _Lib | None = None
_load_error: str | None = None


def _load() -> _Lib:
    global _loaded, _load_error
    if _loaded is not None:
        return _loaded
    if _load_error is not None:
        raise LocalProtocolError(f"the cffi epoll backend is unavailable: {_load_error}")
    try:
        if not sys.platform.startswith("linux"):
            raise LocalProtocolError("epoll needs Linux")
        _loaded = _Lib()
    except (ImportError, OSError, AttributeError, LocalProtocolError) as exc:
        _load_error = str(exc) or type(exc).__name__
        raise LocalProtocolError(f"the cffi epoll backend is unavailable: {_load_error}") from exc
    return _loaded


def unavailable_reason() -> str | None:
    """Why the cffi backend cannot load here, or ``None`` when it can."""
    try:
        _load()
    except LocalProtocolError as exc:
        return str(exc)
    return None


def _raise_errno(ffi: Any) -> None:
    code = int(ffi.errno)
    raise OSError(code, os.strerror(code))


class CffiEpollBackend(Backend):
    """epoll through cffi (ABI mode); level-triggered unless ``edge_triggered``."""

    def __init__(self, *, edge_triggered: bool = False) -> None:
        lib = _load()
        self._ffi: Any = lib.ffi
        self._lib: Any = lib.lib
        self._size = lib.size
        self._stride = lib.stride
        self._fd_word = lib.fd_word
        self.edge_triggered = edge_triggered
        self.name = "cffi-et" if edge_triggered else "cffi"
        self._extra = EPOLLET if edge_triggered else 0
        epfd = int(self._lib.epoll_create1(os.O_CLOEXEC))
        if epfd < 0:
            _raise_errno(self._ffi)
        self._epfd = epfd
        self._epoll_ctl: Any = self._lib.epoll_ctl
        self._epoll_wait: Any = self._lib.epoll_wait
        self._ctl_event: Any = self._ffi.new("struct epoll_event *")
        self._count = 0
        self._max_events = 64
        self._allocate()

    def _allocate(self) -> None:
        self._events: Any = self._ffi.new("struct epoll_event[]", self._max_events)
        self._words = memoryview(self._ffi.buffer(self._events)).cast("I")

    def fileno(self) -> int:
        """The epoll fd."""
        return self._epfd

    def _ctl(self, op: int, fd: int, mask: int) -> None:
        if self._epfd < 0:
            raise OSError(errno.EBADF, "the epoll backend is closed")
        event = self._ctl_event
        event.events = MASK_TO_EPOLL[mask] | self._extra
        event.data = fd
        if self._epoll_ctl(self._epfd, op, fd, event) < 0:
            _raise_errno(self._ffi)

    def register(self, fd: int, mask: int) -> None:
        """``EPOLL_CTL_ADD``."""
        self._ctl(_EPOLL_CTL_ADD, fd, mask)
        self._count += 1
        if self._count > self._max_events and self._max_events < MAX_EVENTS_CAP:
            self._max_events = min(MAX_EVENTS_CAP, self._max_events * 2)
            self._allocate()

    def modify(self, fd: int, mask: int) -> None:
        """``EPOLL_CTL_MOD``."""
        self._ctl(_EPOLL_CTL_MOD, fd, mask)

    def unregister(self, fd: int) -> None:
        """``EPOLL_CTL_DEL``; EBADF/ENOENT (fd already closed) are ignored."""
        self._count -= 1
        try:
            self._ctl(_EPOLL_CTL_DEL, fd, 0)
        except OSError as exc:
            if exc.errno not in (errno.EBADF, errno.ENOENT):
                raise

    def poll(self, timeout: float | None) -> Iterable[tuple[int, int]]:
        """One ``epoll_wait``; EINTR is retried with what is left of ``timeout``."""
        if self._epfd < 0:
            raise OSError(errno.EBADF, "the epoll backend is closed")
        deadline = None
        if timeout is None:
            ms = -1
        else:
            timeout = max(0.0, timeout)
            ms = min(_MAX_TIMEOUT_MS, math.ceil(timeout * 1000.0))
            deadline = time.monotonic() + timeout
        events = self._events
        epoll_wait = self._epoll_wait
        while True:
            n: int = epoll_wait(self._epfd, events, self._max_events, ms)
            if n >= 0:
                break
            if self._ffi.errno != errno.EINTR:
                _raise_errno(self._ffi)
            # Python signal handlers run at the next bytecode boundary (here);
            # one that raises (KeyboardInterrupt) ends the wait as it should.
            if deadline is not None:
                left = deadline - time.monotonic()
                ms = max(0, min(_MAX_TIMEOUT_MS, math.ceil(left * 1000.0)))
        words = self._words
        if n == 1:  # common in quiet loops: skip building the slices
            return ((words[self._fd_word], words[0]),)
        if n == 0:
            return ()
        stride = self._stride
        end = n * stride
        return zip(words[self._fd_word : end : stride], words[0:end:stride], strict=True)

    def close(self) -> None:
        """Close the epoll fd."""
        if self._epfd >= 0:
            epfd, self._epfd = self._epfd, -1
            os.close(epfd)
