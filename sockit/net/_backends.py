"""Readiness backends behind :class:`sockit.net.reactor.Reactor`.

A backend knows file descriptors and two bits, ``READ`` (1) and ``WRITE`` (2); the
reactor keeps the file objects and user data. :meth:`Backend.poll` hands back
``(fd, native_bits)`` pairs untranslated and :attr:`Backend.mask_table` maps
``native_bits & 0x1F`` to READ/WRITE, so the reactor translates each event with
one tuple index and no intermediate list. Backends raise plain ``OSError``; the
reactor wraps it into :class:`~sockit.errors.NetworkError`. Error and hang-up
conditions (``EPOLLERR``, ``EPOLLHUP``) are reported as both READ and WRITE
readiness, and the reactor then keeps only the bits the registration asked for,
so the caller's next ``recv``/``send`` is what surfaces the error, exactly as
with :mod:`selectors`.

Names accepted by :func:`create_backend`:

``selectors``
    :class:`selectors.DefaultSelector` (epoll, kqueue, devpoll or poll): portable.
``epoll``
    :class:`select.epoll`, level-triggered.
``epoll-et``
    :class:`select.epoll` with ``EPOLLET``: edge-triggered, opt-in (see below).
``cffi`` / ``cffi-et``
    ``epoll_create1``/``epoll_ctl``/``epoll_wait`` called through cffi in ABI
    mode (:mod:`sockit.net._epoll_cffi`), level- or edge-triggered.

With an edge-triggered backend an fd is reported once when it *becomes* ready;
the caller must read (or write) until ``EAGAIN``/``BlockingIOError`` before it
will be reported again, or re-arm it with ``Reactor.modify``.

:data:`DEFAULT_BACKEND` is the fastest level-triggered backend measured by
``benchmarks/bench_reactor.py``; where it is unavailable the next one in
:data:`_PREFERENCE` is used, ending with the always-available ``selectors``.
"""

from __future__ import annotations

import abc
import contextlib
import errno
import select
import selectors
import sys
from collections.abc import Iterable

from sockit.errors import LocalProtocolError

__all__ = [
    "BACKEND_NAMES",
    "DEFAULT_BACKEND",
    "Backend",
    "EpollBackend",
    "SelectorsBackend",
    "available_backends",
    "create_backend",
    "default_backend_name",
]

READ = 1
WRITE = 2

# Linux epoll bits; identical on every Linux architecture.
EPOLLIN = 0x001
EPOLLPRI = 0x002
EPOLLOUT = 0x004
EPOLLERR = 0x008
EPOLLHUP = 0x010
EPOLLET = 1 << 31

_READISH = EPOLLIN | EPOLLPRI | EPOLLERR | EPOLLHUP
_WRITEISH = EPOLLOUT | EPOLLERR | EPOLLHUP

#: epoll event bits (masked with 0x1F) -> READ/WRITE readiness
EPOLL_TO_MASK: tuple[int, ...] = tuple(
    (READ if bits & _READISH else 0) | (WRITE if bits & _WRITEISH else 0) for bits in range(32)
)
#: selectors' EVENT_READ/EVENT_WRITE already are READ/WRITE
SELECTORS_TO_MASK: tuple[int, ...] = tuple(bits & (READ | WRITE) for bits in range(32))
#: READ/WRITE interest -> epoll bits to register
MASK_TO_EPOLL: tuple[int, ...] = (0, EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT)

# Events fetched per epoll_wait: grows with the registrations, up to this cap.
MAX_EVENTS_CAP = 8192

# errno values meaning "the kernel already forgot this fd" on unregister
_GONE = frozenset({errno.EBADF, errno.ENOENT})


class Backend(abc.ABC):
    """What the reactor needs from a readiness mechanism."""

    #: the name :func:`create_backend` knows it by
    name: str = ""
    #: True when readiness is reported once per edge (the caller must drain)
    edge_triggered: bool = False
    #: ``native_bits & 0x1F`` -> READ/WRITE mask
    mask_table: tuple[int, ...] = EPOLL_TO_MASK

    @abc.abstractmethod
    def fileno(self) -> int:
        """The backend's own fd (an epoll fd), so a reactor can be nested."""

    @abc.abstractmethod
    def register(self, fd: int, mask: int) -> None:
        """Start watching ``fd`` for ``mask`` (READ and/or WRITE)."""

    @abc.abstractmethod
    def modify(self, fd: int, mask: int) -> None:
        """Change the interest of a registered ``fd`` (re-arms an edge-triggered fd)."""

    @abc.abstractmethod
    def unregister(self, fd: int) -> None:
        """Stop watching ``fd``; an fd that was already closed is not an error."""

    @abc.abstractmethod
    def poll(self, timeout: float | None) -> Iterable[tuple[int, int]]:
        """Wait up to ``timeout`` s (``None``: forever); ``(fd, native_bits)`` pairs.

        The result may be a view of a buffer the next call reuses: consume it first.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Release the backend's own resources; idempotent."""


class SelectorsBackend(Backend):
    """The standard library's :class:`selectors.DefaultSelector`."""

    name = "selectors"
    mask_table = SELECTORS_TO_MASK

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()

    def fileno(self) -> int:
        """The selector's fd (``-1`` for select()/poll() based selectors)."""
        return self._selector.fileno() if hasattr(self._selector, "fileno") else -1

    def register(self, fd: int, mask: int) -> None:
        """Register ``fd``; selectors' ``KeyError``/``ValueError`` become ``OSError``."""
        try:
            self._selector.register(fd, mask)
        except KeyError:
            raise OSError(errno.EEXIST, "file descriptor is already registered") from None
        except ValueError as exc:
            raise OSError(errno.EBADF, str(exc)) from None

    def modify(self, fd: int, mask: int) -> None:
        """Change the interest of ``fd``."""
        try:
            self._selector.modify(fd, mask)
        except KeyError:
            raise OSError(errno.ENOENT, "file descriptor is not registered") from None

    def unregister(self, fd: int) -> None:
        """Forget ``fd`` (the selector already ignores errors for closed fds)."""
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(fd)

    def poll(self, timeout: float | None) -> Iterable[tuple[int, int]]:
        """One ``select()`` call."""
        return [(key.fd, mask) for key, mask in self._selector.select(timeout)]

    def close(self) -> None:
        """Close the selector."""
        self._selector.close()


class EpollBackend(Backend):
    """:class:`select.epoll`, level-triggered or (``edge_triggered=True``) with EPOLLET."""

    def __init__(self, *, edge_triggered: bool = False) -> None:
        epoll = getattr(select, "epoll", None)
        if epoll is None:
            raise LocalProtocolError("the epoll backends need Linux (select.epoll)")
        self._epoll: select.epoll = epoll()
        self.edge_triggered = edge_triggered
        self.name = "epoll-et" if edge_triggered else "epoll"
        self._extra = EPOLLET if edge_triggered else 0
        self._count = 0
        self._max_events = 64

    def fileno(self) -> int:
        """The epoll fd."""
        return self._epoll.fileno()

    def register(self, fd: int, mask: int) -> None:
        """``EPOLL_CTL_ADD``."""
        self._epoll.register(fd, MASK_TO_EPOLL[mask] | self._extra)
        self._count += 1
        if self._count > self._max_events and self._max_events < MAX_EVENTS_CAP:
            self._max_events = min(MAX_EVENTS_CAP, self._max_events * 2)

    def modify(self, fd: int, mask: int) -> None:
        """``EPOLL_CTL_MOD``."""
        self._epoll.modify(fd, MASK_TO_EPOLL[mask] | self._extra)

    def unregister(self, fd: int) -> None:
        """``EPOLL_CTL_DEL``; EBADF/ENOENT (fd already closed) are ignored."""
        self._count -= 1
        try:
            self._epoll.unregister(fd)
        except OSError as exc:
            if exc.errno not in _GONE:
                raise

    def poll(self, timeout: float | None) -> Iterable[tuple[int, int]]:
        """One ``epoll_wait`` (CPython retries EINTR and rounds the timeout up)."""
        if timeout is None:
            timeout = -1.0
        elif timeout < 0:
            timeout = 0.0
        return self._epoll.poll(timeout, self._max_events)

    def close(self) -> None:
        """Close the epoll fd."""
        self._epoll.close()


BACKEND_NAMES: tuple[str, ...] = ("selectors", "epoll", "epoll-et", "cffi", "cffi-et")

#: chosen by benchmarks/bench_reactor.py: the fastest level-triggered backend.
#: At 1000 pairs / 100 active, select.epoll and cffi epoll tie (within noise, both
#: ~1.6x the selectors backend in wait()); with 1 active pair per wait() the
#: per-call cost of a cffi ABI-mode (libffi) call makes cffi ~25 % slower, so
#: select.epoll wins the tie-break.
DEFAULT_BACKEND = "epoll"

# fallback order when the default is unavailable here (level-triggered only)
_PREFERENCE: tuple[str, ...] = (DEFAULT_BACKEND, "cffi", "selectors")


def create_backend(name: str) -> Backend:
    """Instantiate the backend called ``name``.

    An unknown name is a ``ValueError``; a known backend that cannot work on this
    platform raises :class:`~sockit.errors.LocalProtocolError` saying why.
    """
    if name == "selectors":
        return SelectorsBackend()
    if name in ("epoll", "epoll-et"):
        return EpollBackend(edge_triggered=name == "epoll-et")
    if name in ("cffi", "cffi-et"):
        from sockit.net._epoll_cffi import CffiEpollBackend  # noqa: PLC0415 (lazy: imports cffi)

        return CffiEpollBackend(edge_triggered=name == "cffi-et")
    raise ValueError(f"unknown reactor backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")


def backend_unavailable_reason(name: str) -> str | None:
    """Why backend ``name`` cannot be used here, or ``None`` if it can."""
    if name == "selectors":
        return None
    if not sys.platform.startswith("linux") or not hasattr(select, "epoll"):
        return "epoll needs Linux"
    if name in ("cffi", "cffi-et"):
        from sockit.net._epoll_cffi import unavailable_reason  # noqa: PLC0415

        return unavailable_reason()
    if name in ("epoll", "epoll-et"):
        return None
    raise ValueError(f"unknown reactor backend {name!r}")


def available_backends() -> list[str]:
    """The backend names that work on this machine, in :data:`BACKEND_NAMES` order."""
    return [name for name in BACKEND_NAMES if backend_unavailable_reason(name) is None]


def default_backend_name() -> str:
    """The backend ``Reactor()`` uses here: :data:`DEFAULT_BACKEND` or a fallback."""
    for name in _PREFERENCE:
        if backend_unavailable_reason(name) is None:
            return name
    return "selectors"  # pragma: no cover - selectors is always available
