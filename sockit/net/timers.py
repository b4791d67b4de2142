"""A binary-heap timer queue with cancel, pause/resume, reschedule and remaining().

The queue never calls anything: it hands back the :class:`Timer` objects that are
due and the caller (the reactor) turns them into events. Time comes from an
injectable ``clock`` so tests can drive the queue with a fake clock.

Design choices, written down because callers depend on them:

* **Ordering.** Due timers come out by deadline, then by the order in which they
  were (re)armed: two timers with the same deadline fire in the order they were
  added. Every arming (``add``, ``reschedule``, ``resume`` and the automatic
  re-arm of a repeating timer) takes a fresh sequence number.
* **Lazy deletion.** Cancelling, pausing or rescheduling only marks the old heap
  entry dead (O(1)); dead entries are dropped when they reach the top. When more
  than half the heap (and more than a few dozen entries) is dead, the heap is
  rebuilt from the live entries, so memory stays within about twice the live
  timer count no matter how often timers are cancelled.
* **Repeating timers do not drift.** The n-th firing is due at
  ``first_deadline + n * repeat``, computed from the anchor rather than from the
  time the previous firing was handled. When the caller falls behind by several
  periods the missed periods are skipped: the timer fires once, and
  :attr:`Timer.overruns` says how many periods were skipped.
* **Cancel during dispatch.** :meth:`TimerQueue.pop_due` returns a list; a timer
  in that list that is cancelled while an earlier one is being handled still
  appears in the list but has :attr:`Timer.cancelled` set, so a dispatcher must
  check it. :meth:`TimerQueue.pop_next` pops one timer at a time and therefore
  never returns a timer cancelled before the call; the reactor's
  ``iter_events`` is built on it.
* **Errors.** A delay or repeat that is not a finite number is a
  :class:`~sockit.errors.LocalProtocolError`; a negative delay counts as zero
  (the timer is due immediately). A repeat below ``TimerLimits.min_repeat``, a
  delay above ``TimerLimits.max_delay`` and more than ``TimerLimits.max_timers``
  live timers raise :class:`~sockit.errors.LimitExceeded` with the field name in
  ``limit``: they are the configured bounds of :mod:`sockit.limits`.
  Operating on a cancelled timer (pause, resume, reschedule) is a
  :class:`~sockit.errors.LocalProtocolError`; cancelling twice is allowed.

Not thread-safe: a queue belongs to the thread that runs its reactor.
"""

from __future__ import annotations

import enum
import heapq
import math
import time
from collections.abc import Callable

from sockit.errors import LimitExceeded, LocalProtocolError
from sockit.limits import TimerLimits

__all__ = ["Clock", "Timer", "TimerQueue", "TimerState"]

Clock = Callable[[], float]

# Below this many dead entries the heap is never rebuilt: popping them is cheaper.
_MIN_DEAD_FOR_REBUILD = 64

_Entry = tuple[float, int, "Timer"]


class _Keep(enum.Enum):
    KEEP = enum.auto()


_KEEP = _Keep.KEEP


class TimerState(enum.Enum):
    """Where a :class:`Timer` is in its life."""

    SCHEDULED = "scheduled"  # in the heap, will fire at its deadline
    PAUSED = "paused"  # holds its remaining time, not in the heap
    FIRED = "fired"  # a one-shot timer that has fired; reschedule() re-arms it
    CANCELLED = "cancelled"  # final


def _check_number(what: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LocalProtocolError(f"timer {what} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise LocalProtocolError(f"timer {what} must be a finite number, not {value!r}")
    return float(value)


class Timer:
    """A handle on one scheduled timer; create it with :meth:`TimerQueue.add`.

    ``data`` is free for the caller (the reactor reports it in the event).
    """

    __slots__ = (
        "_anchor",
        "_deadline",
        "_periods",
        "_queue",
        "_remaining",
        "_repeat",
        "_seq",
        "_state",
        "data",
        "overruns",
    )

    def __init__(self, queue: TimerQueue, repeat: float | None, data: object) -> None:
        self._queue = queue
        self._repeat = repeat
        self._state = TimerState.FIRED  # not live until the queue arms it
        self._deadline = 0.0
        self._anchor = 0.0
        self._periods = 0
        self._remaining = 0.0
        self._seq = -1
        self.data = data
        #: how many whole periods a repeating timer skipped before its last firing
        self.overruns = 0

    def __repr__(self) -> str:
        return (
            f"<Timer {self._state.value} deadline={self.deadline!r} "
            f"repeat={self._repeat!r} data={self.data!r}>"
        )

    @property
    def state(self) -> TimerState:
        """The current :class:`TimerState`."""
        return self._state

    @property
    def active(self) -> bool:
        """True while the timer is scheduled to fire (not paused, fired or cancelled)."""
        return self._state is TimerState.SCHEDULED

    @property
    def paused(self) -> bool:
        """True between :meth:`pause` and :meth:`resume`."""
        return self._state is TimerState.PAUSED

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called; a cancelled timer never fires again."""
        return self._state is TimerState.CANCELLED

    @property
    def repeat(self) -> float | None:
        """The period of a repeating timer, ``None`` for a one-shot timer."""
        return self._repeat

    @property
    def deadline(self) -> float | None:
        """The clock value at which the timer is due, ``None`` unless scheduled."""
        return self._deadline if self._state is TimerState.SCHEDULED else None

    def remaining(self) -> float:
        """Seconds until the timer is due (never negative).

        A paused timer reports the time it will still need after :meth:`resume`;
        a fired one-shot or a cancelled timer reports ``0.0``.
        """
        if self._state is TimerState.SCHEDULED:
            return max(0.0, self._deadline - self._queue.clock())
        if self._state is TimerState.PAUSED:
            return self._remaining
        return 0.0

    def cancel(self) -> None:
        """Stop the timer for good. Cancelling twice (or after firing) is harmless."""
        if self._state is TimerState.CANCELLED:
            return
        self._queue._forget(self)
        self._state = TimerState.CANCELLED

    def pause(self) -> None:
        """Stop the countdown, keeping the remaining time for :meth:`resume`.

        Pausing a paused or fired timer does nothing.
        """
        self._require_not_cancelled("pause")
        if self._state is not TimerState.SCHEDULED:
            return
        self._remaining = max(0.0, self._deadline - self._queue.clock())
        self._seq = -1
        self._state = TimerState.PAUSED
        self._queue._mark_dead()

    def resume(self) -> None:
        """Continue a paused timer with the time it had left; otherwise do nothing.

        A repeating timer's next periods are counted from the resumed deadline.
        """
        self._require_not_cancelled("resume")
        if self._state is not TimerState.PAUSED:
            return
        self._queue._arm(self, self._queue.clock() + self._remaining, anchor=True)

    def reschedule(self, delay: float, repeat: float | _Keep | None = _KEEP) -> None:
        """Arm the timer again to fire ``delay`` seconds from now.

        Works on scheduled, paused and fired timers. ``repeat`` changes the period
        (``None`` makes the timer one-shot); leaving it out keeps the current one.
        """
        self._require_not_cancelled("reschedule")
        queue = self._queue
        delay = queue._check_delay(delay)
        new_repeat = self._repeat if isinstance(repeat, _Keep) else queue._check_repeat(repeat)
        if self._state is TimerState.FIRED:
            queue._check_room()
        self._repeat = new_repeat
        queue._arm(self, queue.clock() + delay, anchor=True)

    def _require_not_cancelled(self, what: str) -> None:
        if self._state is TimerState.CANCELLED:
            raise LocalProtocolError(f"cannot {what} a cancelled timer")


class TimerQueue:
    """Timers ordered in a binary heap (:mod:`heapq`), on an injectable clock."""

    def __init__(
        self,
        clock: Clock = time.monotonic,
        limits: TimerLimits | None = None,
    ) -> None:
        self.clock = clock
        self.limits = limits if limits is not None else TimerLimits()
        self._heap: list[_Entry] = []
        self._dead = 0  # heap entries that no longer belong to a scheduled timer
        self._live = 0  # scheduled + paused timers
        self._seq = 0

    def __len__(self) -> int:
        """Live timers: scheduled or paused (what ``max_timers`` counts)."""
        return self._live

    @property
    def heap_size(self) -> int:
        """Entries in the heap, dead ones included (for tests and diagnostics)."""
        return len(self._heap)

    @property
    def sequence(self) -> int:
        """The sequence number the next arming will take (see :meth:`pop_next`)."""
        return self._seq

    def add(self, delay: float, data: object = None, repeat: float | None = None) -> Timer:
        """Schedule a timer ``delay`` seconds from now, repeating every ``repeat``."""
        delay = self._check_delay(delay)
        repeat = self._check_repeat(repeat)
        self._check_room()
        timer = Timer(self, repeat, data)
        self._arm(timer, self.clock() + delay, anchor=True)
        return timer

    def next_deadline(self) -> float | None:
        """The earliest deadline of a scheduled timer, or ``None`` if there is none."""
        heap = self._heap
        while heap:
            deadline, seq, timer = heap[0]
            if timer._seq == seq:
                return deadline
            heapq.heappop(heap)
            self._dead -= 1
        return None

    def timeout(self, now: float | None = None) -> float | None:
        """Seconds from ``now`` until the next deadline (0.0 if overdue), or ``None``."""
        deadline = self.next_deadline()
        if deadline is None:
            return None
        if now is None:
            now = self.clock()
        return max(0.0, deadline - now)

    def pop_next(self, now: float | None = None, before_seq: int | None = None) -> Timer | None:
        """Take the single earliest timer due at ``now``, or ``None``.

        ``before_seq`` (a value of :attr:`sequence` taken earlier) ignores timers
        armed after that point, so a dispatcher that re-arms or adds zero-delay
        timers while handling a batch cannot loop forever.
        """
        if now is None:
            now = self.clock()
        heap = self._heap
        held: list[_Entry] = []  # due but armed after before_seq: put back afterwards
        found: Timer | None = None
        while heap:
            deadline, seq, timer = heap[0]
            if timer._seq != seq:
                heapq.heappop(heap)
                self._dead -= 1
                continue
            if deadline > now:
                break
            entry = heapq.heappop(heap)
            if before_seq is not None and seq >= before_seq:
                held.append(entry)
                continue
            self._expire(timer, now)
            found = timer
            break
        for entry in held:
            heapq.heappush(heap, entry)
        return found

    def pop_due(self, now: float | None = None) -> list[Timer]:
        """Take every timer due at ``now``, ordered by deadline then arming order.

        Repeating timers are re-armed for their next period after ``now`` and
        appear once however many periods were missed. See the module docstring for
        what a cancel during dispatch means for the returned list.
        """
        if now is None:
            now = self.clock()
        due: list[Timer] = []
        before = self._seq
        while True:
            timer = self.pop_next(now, before)
            if timer is None:
                return due
            due.append(timer)

    # -- internals used by Timer -------------------------------------------------

    def _check_delay(self, delay: float) -> float:
        delay = _check_number("delay", delay)
        if delay > self.limits.max_delay:
            raise LimitExceeded(
                f"timer delay {delay!r}s exceeds max_delay {self.limits.max_delay!r}s",
                limit="max_delay",
                value=self.limits.max_delay,
            )
        return max(0.0, delay)

    def _check_repeat(self, repeat: float | None) -> float | None:
        if repeat is None:
            return None
        repeat = _check_number("repeat", repeat)
        if repeat < self.limits.min_repeat:
            raise LimitExceeded(
                f"timer repeat {repeat!r}s is below min_repeat {self.limits.min_repeat!r}s",
                limit="min_repeat",
                value=self.limits.min_repeat,
            )
        if repeat > self.limits.max_delay:
            raise LimitExceeded(
                f"timer repeat {repeat!r}s exceeds max_delay {self.limits.max_delay!r}s",
                limit="max_delay",
                value=self.limits.max_delay,
            )
        return repeat

    def _check_room(self) -> None:
        if self._live >= self.limits.max_timers:
            raise LimitExceeded(
                f"too many timers (max_timers={self.limits.max_timers})",
                limit="max_timers",
                value=self.limits.max_timers,
            )

    def _arm(self, timer: Timer, deadline: float, *, anchor: bool) -> None:
        state = timer._state
        if state is TimerState.FIRED:
            self._live += 1
        seq = self._seq
        self._seq = seq + 1
        timer._seq = seq  # from here on an old heap entry of this timer is dead
        timer._deadline = deadline
        if anchor:
            timer._anchor = deadline
            timer._periods = 0
        timer._state = TimerState.SCHEDULED
        if state is TimerState.SCHEDULED:
            self._mark_dead()
        heapq.heappush(self._heap, (deadline, seq, timer))

    def _expire(self, timer: Timer, now: float) -> None:
        """Account for a timer just popped from the heap top."""
        timer.overruns = 0
        repeat = timer._repeat
        if repeat is None:
            timer._seq = -1
            timer._state = TimerState.FIRED
            self._live -= 1
            return
        periods = timer._periods + 1
        deadline = timer._anchor + periods * repeat
        if deadline <= now:
            skipped = math.floor((now - deadline) / repeat) + 1
            periods += skipped
            deadline = timer._anchor + periods * repeat
            while deadline <= now:  # float rounding can leave us one short
                periods += 1
                skipped += 1
                deadline = timer._anchor + periods * repeat
            timer.overruns = skipped
        timer._periods = periods
        # the popped entry is gone, so re-arming must not count it as dead
        timer._state = TimerState.PAUSED
        self._arm(timer, deadline, anchor=False)

    def _forget(self, timer: Timer) -> None:
        """Called by cancel(): drop the timer from the live count."""
        state = timer._state
        timer._seq = -1
        if state is TimerState.SCHEDULED:
            self._live -= 1
            self._mark_dead()
        elif state is TimerState.PAUSED:
            self._live -= 1

    def _mark_dead(self) -> None:
        self._dead += 1
        if self._dead > _MIN_DEAD_FOR_REBUILD and self._dead * 2 > len(self._heap):
            self._rebuild()

    def _rebuild(self) -> None:
        # callers invalidate the timer's seq before marking its entry dead
        live = [entry for entry in self._heap if entry[2]._seq == entry[1]]
        heapq.heapify(live)
        self._heap = live
        self._dead = 0
