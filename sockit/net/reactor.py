"""The callback-free reactor: readiness, timers, wake-ups and signals as events.

::

    with Reactor() as r:
        r.register(sock, READ, data=conn)
        tick = r.add_timer(0.5, data="tick", repeat=1.0)
        for ev in r.wait(timeout=1.0):
            ...                     # IOEvent | TimerEvent | SignalEvent

Nothing here calls user code: :meth:`Reactor.wait` returns a list of frozen
events and the caller decides what to do with them.

Semantics worth knowing:

* **Readiness bits.** ``IOEvent.events`` is ``READ``, ``WRITE`` or both, always a
  subset of what the registration asked for. Errors and hang-ups are reported as
  readiness for whatever was asked (the following ``recv``/``send`` returns
  ``b""`` or raises), as with :mod:`selectors`; there is no separate error bit.
* **Backends.** ``Reactor(backend=...)`` takes ``"selectors"``, ``"epoll"``,
  ``"epoll-et"``, ``"cffi"`` or ``"cffi-et"`` (see :mod:`sockit.net._backends`);
  ``None`` picks the default chosen by ``benchmarks/bench_reactor.py``. The
  ``-et`` backends are edge-triggered (:attr:`Reactor.edge_triggered`): an fd is
  reported once per transition to ready, and the caller must read/write until
  ``BlockingIOError`` before it is reported again (or call :meth:`modify`).
* **Order of a batch.** I/O and signal events in the order the backend reported
  them, then due timers by deadline. A timer in the returned list may have been
  cancelled while an earlier event was handled: skip events whose
  ``ev.timer.cancelled`` is set, or use :meth:`Reactor.iter_events`, which hands
  out events one at a time and checks registrations and timers as it goes.
* **File objects.** Anything with ``fileno()`` or a plain non-negative ``int``.
  Unregister before closing: the kernel drops a closed fd from epoll by itself,
  but the reactor still holds the registration (so a new socket that reuses the
  fd number would be refused as already registered). :meth:`unregister` of an
  object that has been closed since still works: it is found by identity.
* **Threads.** A reactor belongs to one thread. Only :meth:`wakeup` may be
  called from other threads; wake-ups are coalesced (one write until the reactor
  drains it) and never show up as events. :meth:`wakeup` on a closed reactor
  does nothing.
* **Signals.** :meth:`watch_signals` (main thread only, as Python requires)
  installs a do-nothing Python handler and :func:`signal.set_wakeup_fd`, so a
  signal becomes a :class:`SignalEvent` from the next :meth:`wait` and never
  runs user code. Each watched signal appears at most once per batch (POSIX
  signals coalesce anyway). The previous handlers and wakeup fd are restored by
  :meth:`unwatch_signals` and :meth:`close`, which must then also run on the
  main thread. Watching ``SIGINT`` replaces ``KeyboardInterrupt`` with an event.
* **Errors.** API misuse raises :class:`~sockit.errors.LocalProtocolError`;
  operating-system failures raise :class:`~sockit.errors.NetworkError` (an
  ``OSError`` with the original ``errno``).
"""

from __future__ import annotations

import dataclasses
import enum
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeAlias

from sockit._closing import Closing
from sockit.errors import LocalProtocolError, NetworkError
from sockit.limits import TimerLimits
from sockit.net._backends import (
    Backend,
    available_backends,
    create_backend,
    default_backend_name,
)
from sockit.net._signals import SignalEvent, SignalWatcher, drain_fd
from sockit.net.timers import Clock, Timer, TimerQueue

__all__ = [
    "READ",
    "WRITE",
    "Event",
    "EventMask",
    "FileLike",
    "HasFileno",
    "IOEvent",
    "Interest",
    "Reactor",
    "Registration",
    "SignalEvent",
    "TimerEvent",
    "available_backends",
    "default_backend_name",
]


class Interest(enum.IntFlag):
    """What a registration waits for, and what an :class:`IOEvent` reports."""

    READ = 1
    WRITE = 2


EventMask = Interest
READ = Interest.READ
WRITE = Interest.WRITE

# index by an int mask: building IntFlag members per event would be slow
_MASKS: tuple[Interest, ...] = (Interest(0), READ, WRITE, READ | WRITE)


class HasFileno(Protocol):
    """Anything with a ``fileno()`` method: sockets, files, pipes, selectors."""

    def fileno(self) -> int:
        """The underlying file descriptor."""
        ...


FileLike: TypeAlias = "int | HasFileno"


@dataclasses.dataclass(frozen=True, slots=True)
class IOEvent:
    """``fileobj`` is ready for ``events``; ``data`` is what it was registered with.

    ``readable`` and ``writable`` are ``events`` as booleans, precomputed:
    testing them is cheaper than ``ev.events & WRITE`` (flag arithmetic on an
    ``IntFlag`` builds a new member each time), which matters on a hot loop.
    """

    fileobj: FileLike
    events: Interest
    data: object
    readable: bool = dataclasses.field(init=False, repr=False, compare=False)
    writable: bool = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "readable", bool(self.events & 1))
        object.__setattr__(self, "writable", bool(self.events & 2))


@dataclasses.dataclass(frozen=True, slots=True)
class TimerEvent:
    """``timer`` came due; ``data`` is the timer's data at that moment."""

    timer: Timer
    data: object


Event: TypeAlias = "IOEvent | TimerEvent | SignalEvent"


@dataclasses.dataclass(frozen=True, slots=True)
class Registration:
    """One registered file object: what :meth:`Reactor.get_key` returns."""

    fileobj: FileLike
    fd: int
    events: Interest
    data: object


class _Keep(enum.Enum):
    KEEP = enum.auto()


_ReadyEvents = tuple["IOEvent | None", "IOEvent | None", "IOEvent | None", "IOEvent | None"]


def _ready_events(key: Registration) -> _ReadyEvents:
    """The event for each possible readiness mask of one registration."""
    made: dict[int, IOEvent] = {}
    out: list[IOEvent | None] = [None]
    for ready in (1, 2, 3):
        mask = ready & key.events
        if mask and mask not in made:
            made[mask] = IOEvent(key.fileobj, _MASKS[mask], key.data)
        out.append(made.get(mask))
    return (out[0], out[1], out[2], out[3])


def _fileno(fileobj: FileLike) -> int:
    if isinstance(fileobj, int):
        if isinstance(fileobj, bool):
            raise LocalProtocolError(f"{fileobj!r} is not a file object")
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError, OSError):
            raise LocalProtocolError(f"{fileobj!r} is not a file object with fileno()") from None
    if fd < 0:
        raise LocalProtocolError(f"{fileobj!r} has no valid file descriptor (closed?)")
    return fd


def _check_events(events: int) -> int:
    if isinstance(events, bool) or not isinstance(events, int) or not 0 < events <= 3:
        raise LocalProtocolError(f"events must be READ, WRITE or READ | WRITE, not {events!r}")
    return int(events)


def _wrap(exc: OSError) -> NetworkError:
    return NetworkError(exc.errno, exc.strerror or str(exc))


class Reactor(Closing):
    """Waits for readiness, timers, wake-ups and signals; returns them as events.

    ``backend`` names the readiness mechanism (``None``: the measured default).
    ``clock`` drives the timers only (tests pass a fake one); the backend's own
    timeout is computed from it but always sleeps in real seconds.
    ``timer_limits`` bounds the timers (:class:`~sockit.limits.TimerLimits`).
    ``default_timeout`` is what :meth:`wait` uses when called without one.
    A reactor is not fork-safe: create a new one in the child.
    """

    def __init__(
        self,
        backend: str | None = None,
        clock: Clock | None = None,
        timer_limits: TimerLimits | None = None,
        *,
        default_timeout: float | None = None,
    ) -> None:
        self._backend: Backend = create_backend(
            default_backend_name() if backend is None else backend
        )
        self._clock: Clock = clock if clock is not None else time.monotonic
        self._timers = TimerQueue(self._clock, timer_limits)
        self._keys: dict[int, Registration] = {}
        # fd -> the IOEvent to report for each READ/WRITE mask (None: not asked for);
        # events are immutable, so one set per registration serves every wait()
        self._ready_events: dict[int, _ReadyEvents] = {}
        #: used by :meth:`wait` when it is called without a timeout (None: block)
        self.default_timeout = default_timeout
        self._closed = False
        self._wake_lock = threading.RLock()  # re-entrant: a signal handler may call wakeup()
        self._wake_pending = False
        self._signals = SignalWatcher()
        try:
            if hasattr(os, "eventfd"):
                self._wake_r = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
                self._wake_w = self._wake_r
            else:  # pragma: no cover - non-Linux
                self._wake_r, self._wake_w = os.pipe()
                os.set_blocking(self._wake_r, False)
                os.set_blocking(self._wake_w, False)
            self._backend.register(self._wake_r, READ)
        except OSError as exc:
            self._backend.close()
            raise _wrap(exc) from exc

    # -- introspection -------------------------------------------------------------

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._keys)} registered"
        return f"<Reactor {self._backend.name} {state}, {len(self._timers)} timers>"

    @property
    def backend_name(self) -> str:
        """The name of the backend in use (``"epoll"``, ``"selectors"``, ...)."""
        return self._backend.name

    @property
    def edge_triggered(self) -> bool:
        """True for the ``-et`` backends: drain until ``BlockingIOError``."""
        return self._backend.edge_triggered

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    @property
    def clock(self) -> Clock:
        """The clock the timers run on."""
        return self._clock

    @property
    def timers(self) -> TimerQueue:
        """The timer queue (for ``len()``, ``next_deadline()`` and the like)."""
        return self._timers

    def fileno(self) -> int:
        """The backend's own fd, readable when this reactor has I/O events."""
        return self._backend.fileno()

    def __len__(self) -> int:
        """Number of registered file objects."""
        return len(self._keys)

    def __contains__(self, fileobj: object) -> bool:
        """Whether ``fileobj`` (or its fd) is registered."""
        try:
            self._lookup(fileobj)  # type: ignore[arg-type]
        except LocalProtocolError:
            return False
        return True

    def registered(self) -> list[Registration]:
        """Every registration: ``(fileobj, fd, events, data)``."""
        return list(self._keys.values())

    def get_key(self, fileobj: FileLike) -> Registration:
        """The registration of ``fileobj``; LocalProtocolError if it has none."""
        return self._lookup(fileobj)

    # -- registrations ---------------------------------------------------------------

    def register(self, fileobj: FileLike, events: int, data: object = None) -> Registration:
        """Watch ``fileobj`` for ``events`` (READ, WRITE or both)."""
        self._check_open()
        fd = _fileno(fileobj)
        mask = _check_events(events)
        if fd in self._keys:
            raise LocalProtocolError(f"{fileobj!r} (fd {fd}) is already registered")
        if fd in (self._wake_r, self._signals.read_fd):
            raise LocalProtocolError(f"fd {fd} belongs to the reactor itself")
        try:
            self._backend.register(fd, mask)
        except OSError as exc:
            raise _wrap(exc) from exc
        key = Registration(fileobj, fd, _MASKS[mask], data)
        self._keys[fd] = key
        self._ready_events[fd] = _ready_events(key)
        return key

    def modify(
        self, fileobj: FileLike, events: int, data: object | _Keep = _Keep.KEEP
    ) -> Registration:
        """Change what ``fileobj`` waits for; ``data`` is kept unless given."""
        self._check_open()
        key = self._lookup(fileobj)
        mask = _check_events(events)
        if mask != key.events or self._backend.edge_triggered:
            try:
                self._backend.modify(key.fd, mask)
            except OSError as exc:
                raise _wrap(exc) from exc
        new = Registration(
            key.fileobj, key.fd, _MASKS[mask], key.data if isinstance(data, _Keep) else data
        )
        self._keys[key.fd] = new
        self._ready_events[key.fd] = _ready_events(new)
        return new

    def unregister(self, fileobj: FileLike) -> Registration:
        """Stop watching ``fileobj`` and return its last registration."""
        self._check_open()
        key = self._lookup(fileobj)
        del self._keys[key.fd]
        del self._ready_events[key.fd]
        try:
            self._backend.unregister(key.fd)
        except OSError as exc:
            raise _wrap(exc) from exc
        return key

    def _lookup(self, fileobj: FileLike) -> Registration:
        try:
            key = self._keys.get(_fileno(fileobj))
        except LocalProtocolError:
            key = None
        if key is not None:
            return key
        for key in self._keys.values():  # a closed object: find it by identity
            if key.fileobj is fileobj:
                return key
        raise LocalProtocolError(f"{fileobj!r} is not registered")

    # -- timers ----------------------------------------------------------------------

    def add_timer(self, delay: float, data: object = None, repeat: float | None = None) -> Timer:
        """Fire a :class:`TimerEvent` after ``delay`` seconds, then every ``repeat``."""
        self._check_open()
        return self._timers.add(delay, data, repeat)

    # -- waiting ---------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> list[Event]:
        """Block until something happens or ``timeout`` seconds pass; return events.

        ``timeout=None`` uses :attr:`default_timeout` (itself ``None``: no limit
        other than the next timer). A due timer shortens the wait. The list may be
        empty (timeout, or a wake-up).
        """
        # _poll() inlined: this runs once per loop iteration, and with few ready
        # descriptors per call the fixed cost is what a busy server pays for
        if self._closed:
            raise LocalProtocolError("the reactor is closed")
        if timeout is None:
            timeout = self.default_timeout
        timers = self._timers
        if timers._live:  # len() would cost a Python-level call
            timeout = self._timer_timeout(timeout)
        elif timeout is not None and timeout < 0:
            timeout = 0.0
        try:
            ready = self._backend.poll(timeout)
        except OSError as exc:
            raise _wrap(exc) from exc
        if type(ready) is not list:  # a backend's one-shot iterator: keep it for a retry
            ready = list(ready)
        per_fd = self._ready_events
        table = self._backend.mask_table
        events: list[Event] | None = None
        if len(ready) > 4:  # below that, setting up the comprehension costs more
            try:
                events = [
                    event
                    for fd, bits in ready
                    if (event := per_fd[fd][table[bits & 0x1F]]) is not None
                ]
            except KeyError:  # the wake-up or signal fd is in this batch: go slow
                events = None
        if events is None:
            events = []
            for fd, bits in ready:
                per_mask = per_fd.get(fd)
                if per_mask is None:
                    self._internal(fd, events)
                elif (event := per_mask[table[bits & 0x1F]]) is not None:
                    events.append(event)
        if timers._live:
            for timer in timers.pop_due(self._clock()):
                events.append(TimerEvent(timer, timer.data))
        return events

    def iter_events(self, timeout: float | None = None) -> Iterator[Event]:
        """Like :meth:`wait`, but hand events out one at a time, checked late.

        An I/O event is dropped if its file object was unregistered (or stopped
        waiting for those bits) while earlier events were handled; timers are
        taken from the queue one by one, so one cancelled by an earlier handler
        never fires. Timers armed while the batch is handled wait for the next
        call. With an edge-triggered backend, consume the iterator fully:
        readiness dropped by abandoning it is not reported again.
        """
        ready = list(self._poll(timeout))  # the backend may reuse its buffer
        table = self._backend.mask_table
        pending: list[Event] = []
        for fd, bits in ready:
            per_mask = self._ready_events.get(fd)  # looked up late, on purpose
            if per_mask is None:
                self._internal(fd, pending)
                yield from pending
                pending.clear()
                continue
            event = per_mask[table[bits & 0x1F]]
            if event is not None:
                yield event
        timers = self._timers
        now = self._clock()
        before = timers.sequence
        while not self._closed:
            timer = timers.pop_next(now, before)
            if timer is None:
                return
            yield TimerEvent(timer, timer.data)

    def _poll(self, timeout: float | None) -> Iterable[tuple[int, int]]:
        self._check_open()
        if timeout is None:
            timeout = self.default_timeout
        if len(self._timers):
            timeout = self._timer_timeout(timeout)
        elif timeout is not None and timeout < 0:
            timeout = 0.0
        try:
            return self._backend.poll(timeout)
        except OSError as exc:
            raise _wrap(exc) from exc

    def _timer_timeout(self, timeout: float | None) -> float | None:
        """``timeout`` (>= 0), shortened to the next timer's deadline."""
        if timeout is not None and timeout < 0:
            timeout = 0.0
        deadline = self._timers.next_deadline()
        if deadline is not None:
            left = max(0.0, deadline - self._clock())
            if timeout is None or left < timeout:
                timeout = left
        return timeout

    def _internal(self, fd: int, events: list[Event]) -> None:
        """Handle readiness of one of the reactor's own fds (or a stale fd)."""
        if fd == self._wake_r:
            # Drain, then clear. Cleared first, a wakeup() landing in between would
            # write, have its write drained, and leave the flag set with nothing to
            # read: every later wakeup() would be silenced. This way a wakeup()
            # before the clear is covered by the caller checking its work after
            # wait() returns, and one after it writes again.
            drain_fd(fd)
            self._wake_pending = False
        elif fd == self._signals.read_fd:
            events.extend(self._signals.read())
        # anything else: an fd unregistered after the backend reported it

    def wakeup(self) -> None:
        """Make a blocked (or the next) :meth:`wait` return early. Thread-safe."""
        if self._wake_pending:
            return
        with self._wake_lock:
            if self._closed or self._wake_pending:
                return
            self._wake_pending = True
            try:
                if self._wake_w == self._wake_r:
                    os.eventfd_write(self._wake_w, 1)
                else:  # pragma: no cover - pipe fallback
                    os.write(self._wake_w, b"\0")
            except BlockingIOError:
                pass  # the counter/pipe is full, so it is readable already
            except OSError as exc:
                self._wake_pending = False
                raise _wrap(exc) from exc

    # -- signals ---------------------------------------------------------------------

    def watch_signals(self, signals: Iterable[int]) -> None:
        """Deliver ``signals`` as :class:`SignalEvent` from now on (main thread only)."""
        self._check_open()
        self._signals.watch(signals, self._register_internal)

    def watched_signals(self) -> frozenset[signal.Signals]:
        """The signals currently delivered as events."""
        return self._signals.watched

    def unwatch_signals(self) -> None:
        """Restore the handlers and wakeup fd that were there before watch_signals()."""
        self._signals.unwatch(None if self._closed else self._backend.unregister)

    def _register_internal(self, fd: int) -> None:
        self._backend.register(fd, READ)

    # -- lifetime --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise LocalProtocolError("the reactor is closed")

    def close(self) -> None:
        """Restore signal handling, close the backend and the wake-up fd. Idempotent.

        Registered file objects are forgotten, not closed. If signals are being
        watched this must run on the main thread (LocalProtocolError otherwise,
        and nothing is closed).
        """
        if self._closed:
            return
        self.unwatch_signals()
        with self._wake_lock:
            self._closed = True
            self._keys.clear()
            self._ready_events.clear()
            self._backend.close()
            os.close(self._wake_r)
            if self._wake_w != self._wake_r:  # pragma: no cover - pipe fallback
                os.close(self._wake_w)

