"""TimerQueue and Timer on a fake clock: order, repeats, pause/resume, limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LimitExceeded, LocalProtocolError
from sockit.limits import TimerLimits
from sockit.net.timers import Timer, TimerQueue, TimerState


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, dt: float) -> None:
        self.now += dt


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(clock: FakeClock) -> TimerQueue:
    return TimerQueue(clock)


def datas(timers: list[Timer]) -> list[object]:
    return [t.data for t in timers]


def state(t: Timer) -> TimerState:
    """Read the state through a call, so mypy does not narrow it across actions."""
    return t.state


def active(t: Timer) -> bool:
    return t.active


def deadline(t: Timer) -> float | None:
    return t.deadline


def repeat(t: Timer) -> float | None:
    return t.repeat


def test_orders_by_deadline(queue: TimerQueue, clock: FakeClock) -> None:
    for delay, name in [(3, "c"), (1, "a"), (2, "b"), (5, "e"), (4, "d")]:
        queue.add(delay, name)
    assert queue.next_deadline() == clock.now + 1
    assert queue.pop_due(clock.now + 0.5) == []
    clock.advance(3)
    assert datas(queue.pop_due()) == ["a", "b", "c"]
    clock.advance(10)
    assert datas(queue.pop_due()) == ["d", "e"]
    assert queue.next_deadline() is None
    assert len(queue) == 0


def test_equal_deadlines_fire_in_insertion_order(queue: TimerQueue, clock: FakeClock) -> None:
    for i in range(50):
        queue.add(1.0, i)
    clock.advance(1.0)  # due exactly at the deadline
    assert datas(queue.pop_due()) == list(range(50))


def test_fired_one_shot_state(queue: TimerQueue, clock: FakeClock) -> None:
    t = queue.add(1.0, "x")
    assert active(t) and state(t) is TimerState.SCHEDULED and t.deadline == clock.now + 1
    clock.advance(1)
    assert queue.pop_due() == [t]
    assert state(t) is TimerState.FIRED
    assert not active(t) and not t.cancelled
    assert deadline(t) is None and t.remaining() == 0.0
    assert queue.pop_due(clock.now + 100) == []


def test_repeat_without_drift(queue: TimerQueue, clock: FakeClock) -> None:
    t = queue.add(1.0, "tick", repeat=0.25)
    start = clock.now
    fired_at = []
    for _ in range(40):
        clock.advance(0.1 + 0.003)  # the loop runs late by a little every time
        for timer in queue.pop_due():
            fired_at.append(timer.deadline)
    # the deadlines stay on the grid start + 1 + n * 0.25 however late we were
    n_fired = len(fired_at)
    assert n_fired >= 10
    assert t.deadline == pytest.approx(start + 1.0 + n_fired * 0.25)
    for n, deadline in enumerate(fired_at, start=1):
        assert deadline == pytest.approx(start + 1.0 + n * 0.25)


def test_repeat_skips_missed_periods(queue: TimerQueue, clock: FakeClock) -> None:
    t = queue.add(1.0, "tick", repeat=1.0)
    start = clock.now
    clock.advance(5.5)  # four whole periods missed after the first deadline
    assert queue.pop_due() == [t]  # fires once, no burst
    assert t.overruns == 4
    assert t.deadline == pytest.approx(start + 6.0)
    clock.advance(0.5)
    assert queue.pop_due() == [t]
    assert t.overruns == 0
    assert t.deadline == pytest.approx(start + 7.0)


def test_pause_resume_keeps_remaining(queue: TimerQueue, clock: FakeClock) -> None:
    t = queue.add(10.0, "x")
    clock.advance(4)
    t.pause()
    assert t.paused and not active(t) and t.deadline is None
    assert t.remaining() == pytest.approx(6.0)
    clock.advance(100)
    assert queue.pop_due() == []
    assert t.remaining() == pytest.approx(6.0)
    assert len(queue) == 1  # a paused timer still counts
    t.pause()  # idempotent
    t.resume()
    assert active(t) and t.remaining() == pytest.approx(6.0)
    t.resume()  # no-op when scheduled
    clock.advance(5.9)
    assert queue.pop_due() == []
    clock.advance(0.1)
    assert queue.pop_due() == [t]


def test_resume_repeating_counts_from_resumed_deadline(queue: TimerQueue, clock: FakeClock) -> None:
    t = queue.add(1.0, repeat=2.0)
    clock.advance(0.5)
    t.pause()
    clock.advance(10)
    t.resume()
    resumed = clock.now
    clock.advance(0.5)
    assert queue.pop_due() == [t]
    assert t.deadline == pytest.approx(resumed + 0.5 + 2.0)


def test_reschedule(queue: TimerQueue, clock: FakeClock) -> None:
    a = queue.add(5.0, "a")
    queue.add(1.0, "b")
    a.reschedule(0.5)
    clock.advance(1)
    assert datas(queue.pop_due()) == ["a", "b"]
    # re-arm a fired one-shot, and turn it into a repeating timer
    a.reschedule(1.0, repeat=1.0)
    assert a.repeat == 1.0 and len(queue) == 1
    clock.advance(1)
    assert queue.pop_due() == [a] and active(a)
    a.reschedule(3.0, repeat=None)
    assert repeat(a) is None
    clock.advance(3)
    assert queue.pop_due() == [a] and not active(a)
    # a paused timer becomes scheduled again
    c = queue.add(10.0, "c")
    c.pause()
    c.reschedule(2.0)
    assert active(c) and c.remaining() == pytest.approx(2.0)
    # reschedule keeps a repeat it is not told to change
    r = queue.add(1.0, repeat=0.5)
    r.reschedule(2.0)
    assert r.repeat == 0.5


def test_cancel(queue: TimerQueue, clock: FakeClock) -> None:
    t = queue.add(1.0)
    u = queue.add(1.0)
    t.cancel()
    t.cancel()  # idempotent
    assert t.cancelled and t.state is TimerState.CANCELLED and len(queue) == 1
    clock.advance(2)
    assert queue.pop_due() == [u]
    u.cancel()  # cancelling a fired timer is allowed too
    assert len(queue) == 0
    for op in (t.pause, t.resume, lambda: t.reschedule(1.0)):
        with pytest.raises(LocalProtocolError):
            op()
    p = queue.add(1.0)
    p.pause()
    p.cancel()
    assert len(queue) == 0


def test_cancel_repeating_stops_it(queue: TimerQueue, clock: FakeClock) -> None:
    t = queue.add(0.5, repeat=0.5)
    clock.advance(0.5)
    assert queue.pop_due() == [t]
    t.cancel()
    clock.advance(10)
    assert queue.pop_due() == []
    assert queue.next_deadline() is None


def test_cancel_during_dispatch_with_pop_next(queue: TimerQueue, clock: FakeClock) -> None:
    a = queue.add(1.0, "a")
    b = queue.add(1.0, "b")
    c = queue.add(1.0, "c")
    clock.advance(1)
    fired = []
    before = queue.sequence
    while (t := queue.pop_next(clock.now, before)) is not None:
        fired.append(t.data)
        if t is a:
            b.cancel()  # handling a cancels b: b must not fire
    assert fired == ["a", "c"]
    assert c.state is TimerState.FIRED


def test_cancel_during_dispatch_with_pop_due_is_visible(
    queue: TimerQueue, clock: FakeClock
) -> None:
    a = queue.add(1.0, "a")
    b = queue.add(1.0, "b")
    clock.advance(1)
    fired = []
    for t in queue.pop_due():
        if t.cancelled:  # the documented check for list-based dispatch
            continue
        fired.append(t.data)
        if t is a:
            b.cancel()
    assert fired == ["a"]


def test_pop_next_ignores_timers_armed_during_the_batch(
    queue: TimerQueue, clock: FakeClock
) -> None:
    queue.add(0.0, "first")
    before = queue.sequence
    t = queue.pop_next(clock.now, before)
    assert t is not None and t.data == "first"
    queue.add(0.0, "added while handling")  # due now, but belongs to the next batch
    assert queue.pop_next(clock.now, before) is None
    late = queue.pop_next(clock.now)
    assert late is not None and late.data == "added while handling"


def test_negative_delay_is_due_now(queue: TimerQueue, clock: FakeClock) -> None:
    t = queue.add(-5.0, "x")
    assert t.deadline == clock.now
    assert queue.pop_due() == [t]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "1", None, True])
def test_bad_delay_is_local_error(queue: TimerQueue, bad: object) -> None:
    with pytest.raises(LocalProtocolError):
        queue.add(bad)  # type: ignore[arg-type]


def test_limits(clock: FakeClock) -> None:
    q = TimerQueue(clock, TimerLimits(max_timers=3, max_delay=100.0, min_repeat=0.01))
    with pytest.raises(LimitExceeded) as info:
        q.add(100.5)
    assert info.value.limit == "max_delay" and info.value.value == 100.0
    with pytest.raises(LimitExceeded) as info:
        q.add(1.0, repeat=0.001)
    assert info.value.limit == "min_repeat"
    timers = [q.add(1.0) for _ in range(3)]
    with pytest.raises(LimitExceeded) as info:
        q.add(1.0)
    assert info.value.limit == "max_timers" and info.value.value == 3
    timers[0].cancel()
    q.add(1.0)  # a slot was freed
    clock.advance(1)
    assert len(q.pop_due()) == 3
    assert len(q) == 0
    # re-arming fired timers counts against the limit again
    fired = timers[1]
    for _ in range(3):
        q.add(1.0)
    with pytest.raises(LimitExceeded):
        fired.reschedule(1.0)
    assert fired.state is TimerState.FIRED


def test_default_limits_match_defaults_md() -> None:
    q = TimerQueue()
    assert q.limits.max_timers == 100_000
    assert q.limits.max_delay == 365 * 86400
    assert q.limits.min_repeat == 0.001
    with pytest.raises(LimitExceeded):
        q.add(0.0, repeat=0.0005)
    q.add(0.0, repeat=0.001)


def test_heap_is_rebuilt_when_mostly_dead(queue: TimerQueue, clock: FakeClock) -> None:
    timers = [queue.add(float(i + 1)) for i in range(10_000)]
    for t in timers[:9_900]:
        t.cancel()
    assert len(queue) == 100
    assert queue.heap_size <= 2 * 100 + 70  # not 10 000
    # pause and reschedule leave dead entries too; they are bounded the same way
    for _ in range(50):
        for t in timers[9_900:]:
            t.reschedule(5.0)
    assert queue.heap_size <= 2 * 100 + 70
    clock.advance(5)
    assert len(queue.pop_due()) == 100
    assert queue.heap_size == 0


def test_remaining_tracks_clock(queue: TimerQueue, clock: FakeClock) -> None:
    t = queue.add(2.0)
    clock.advance(0.5)
    assert t.remaining() == pytest.approx(1.5)
    clock.advance(5)
    assert t.remaining() == 0.0  # overdue, never negative
    assert queue.timeout() == 0.0
    assert "scheduled" in repr(t)


@given(
    ops=st.lists(
        st.tuples(st.integers(0, 20), st.booleans(), st.booleans()), min_size=1, max_size=60
    )
)
def test_pop_order_matches_model(ops: list[tuple[int, bool, bool]]) -> None:
    """Whatever is added and cancelled, pops come out sorted by (deadline, arming order)."""
    clock = FakeClock(0.0)
    q = TimerQueue(clock)
    model = []
    for i, (delay, cancel, reschedule) in enumerate(ops):
        t = q.add(float(delay), i)
        if reschedule:
            t.reschedule(float(20 - delay))
        model.append(t)
        if cancel:
            t.cancel()
    expected = sorted(
        (t for t in model if not t.cancelled),
        key=lambda t: (t.deadline, t._seq),
    )
    clock.advance(100)
    assert q.pop_due() == expected
    assert len(q) == 0
