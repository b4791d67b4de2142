"""Signals as reactor events: a wakeup-fd pipe plus do-nothing Python handlers.

:func:`signal.set_wakeup_fd` makes the C-level signal handler write the signal
number into a pipe the reactor watches, but only for signals that have a Python
handler; :class:`SignalWatcher` installs one that does nothing, so no user code
runs from a handler and the reactor reports :class:`SignalEvent` instead.

Python only lets the main thread install handlers and the wakeup fd, so
:meth:`SignalWatcher.watch` and :meth:`SignalWatcher.unwatch` check for it. There
is one wakeup fd per process: while a watcher holds it, a previous owner (say an
asyncio loop) gets no wake-ups; :meth:`SignalWatcher.unwatch` hands it back, and
leaves alone a wakeup fd that someone else installed in the meantime.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType

from sockit.errors import LocalProtocolError, NetworkError

__all__ = ["SignalEvent", "SignalWatcher", "drain_fd"]

_CHUNK = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class SignalEvent:
    """A watched signal arrived (``signum`` is a :class:`signal.Signals` member)."""

    signum: int


def drain_fd(fd: int) -> bytes:
    """Read a non-blocking fd until it would block; OSError becomes NetworkError."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, _CHUNK)
        except (BlockingIOError, InterruptedError):
            break
        except OSError as exc:
            raise NetworkError(exc.errno, exc.strerror or str(exc)) from exc
        if not chunk:
            break
        chunks.append(chunk)
        if len(chunk) < _CHUNK:
            break  # a short read: nothing more right now (saves the EAGAIN call)
    return b"".join(chunks)


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler of watched signals: the wakeup fd does the work."""


def _require_main_thread(what: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        raise LocalProtocolError(f"{what}() must be called from the main thread")


class SignalWatcher:
    """The signal pipe, the handlers it replaced and the wakeup fd it displaced."""

    def __init__(self) -> None:
        self.read_fd = -1
        self._write_fd = -1
        self._prev_wakeup_fd = -1
        self._prev_handlers: dict[signal.Signals, object] = {}

    @property
    def watched(self) -> frozenset[signal.Signals]:
        """The signals currently reported as events."""
        return frozenset(self._prev_handlers)

    @property
    def active(self) -> bool:
        """True while there is anything for :meth:`unwatch` to restore."""
        return self.read_fd >= 0 or bool(self._prev_handlers)

    def watch(self, signals: Iterable[int], register: Callable[[int], None]) -> None:
        """Start reporting ``signals``; ``register`` adds the pipe to the backend."""
        _require_main_thread("watch_signals")
        try:
            wanted = [signal.Signals(s) for s in signals]
        except (ValueError, TypeError) as exc:
            raise LocalProtocolError(f"not a signal number: {exc}") from None
        if self.read_fd < 0:
            self._open(register)
        for sig in wanted:
            if sig in self._prev_handlers:
                continue
            try:
                previous = signal.signal(sig, _ignore_signal)
            except (OSError, ValueError) as exc:
                raise LocalProtocolError(f"cannot watch {sig.name}: {exc}") from None
            self._prev_handlers[sig] = previous

    def _open(self, register: Callable[[int], None]) -> None:
        r, w = os.pipe()
        try:
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            register(r)
            self._prev_wakeup_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        except (OSError, ValueError) as exc:
            os.close(r)
            os.close(w)
            if isinstance(exc, OSError):
                raise NetworkError(exc.errno, exc.strerror or str(exc)) from exc
            raise LocalProtocolError(f"cannot watch signals: {exc}") from None
        self.read_fd, self._write_fd = r, w

    def unwatch(self, unregister: Callable[[int], None] | None) -> None:
        """Restore handlers and the wakeup fd; ``unregister`` drops the pipe."""
        if not self.active:
            return
        _require_main_thread("unwatch_signals")
        for sig, previous in list(self._prev_handlers.items()):
            signal.signal(sig, previous)  # type: ignore[arg-type]
            del self._prev_handlers[sig]
        if self.read_fd >= 0:
            current = signal.set_wakeup_fd(self._prev_wakeup_fd)
            if current != self._write_fd:  # someone replaced ours meanwhile: keep theirs
                signal.set_wakeup_fd(current)
            if unregister is not None:
                unregister(self.read_fd)
            os.close(self.read_fd)
            os.close(self._write_fd)
            self.read_fd = self._write_fd = -1

    def read(self) -> list[SignalEvent]:
        """Drain the pipe: one event per watched signal seen (duplicates merged)."""
        events: list[SignalEvent] = []
        seen: set[int] = set()
        for signum in drain_fd(self.read_fd):
            if signum in seen:
                continue
            seen.add(signum)
            try:
                sig = signal.Signals(signum)
            except ValueError:
                continue
            if sig in self._prev_handlers:  # not, e.g., SIGALRM of someone else's handler
                events.append(SignalEvent(sig))
        return events
