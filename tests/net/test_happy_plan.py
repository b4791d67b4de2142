"""The Happy Eyeballs planner on a fake clock, driven by scripted networks.

``run()`` is a small discrete-event simulator: DNS answers and connect
outcomes are scheduled at scripted times, the planner is asked what to do at
each instant, and every decision is recorded with its time.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import ConnectError, Phase, Timeout
from sockit.limits import HappyEyeballsDefaults
from sockit.net._happy_plan import (
    CancelAttempt,
    Done,
    Failed,
    HappyEyeballsPlanner,
    StartAttempt,
    Wait,
)
from sockit.net.dns import ResolvedAddress

V6, V4 = socket.AF_INET6, socket.AF_INET
NEVER = None


def v6(n: int = 1, port: int = 443) -> ResolvedAddress:
    return ResolvedAddress(V6, (f"2001:db8::{n}", port, 0, 0))


def v4(n: int = 1, port: int = 443) -> ResolvedAddress:
    return ResolvedAddress(V4, (f"192.0.2.{n}", port))


@dataclasses.dataclass
class Trace:
    starts: list[tuple[float, ResolvedAddress]]
    cancels: list[tuple[float, ResolvedAddress]]
    end: Done | Failed
    end_time: float

    @property
    def start_times(self) -> list[float]:
        return [round(t, 6) for t, _ in self.starts]

    @property
    def order(self) -> list[ResolvedAddress]:
        return [a for _, a in self.starts]


DNSScript = dict[int, tuple[float, "list[ResolvedAddress] | BaseException"]]
ConnScript = dict[ResolvedAddress, tuple[float, "bool | None"]]


def run(
    dns: DNSScript,
    connects: ConnScript,
    *,
    config: HappyEyeballsDefaults | None = None,
    prefer_ipv6: bool = True,
    total: float | None = None,
) -> Trace:
    """Replay ``dns`` (family -> (delay, answer or error)) and ``connects``
    (address -> (delay after start, True connect / False refuse / None never))."""
    planner = HappyEyeballsPlanner(config, now=0.0, prefer_ipv6=prefer_ipv6, total_timeout=total)
    events: list[tuple[float, int, str, object]] = []
    seq = 0
    for family, (delay, answer) in dns.items():
        seq += 1
        heapq.heappush(events, (delay, seq, "dns", (family, answer)))
    now = 0.0
    starts: list[tuple[float, ResolvedAddress]] = []
    cancels: list[tuple[float, ResolvedAddress]] = []
    for _ in range(10_000):
        while events and events[0][0] <= now:
            _, _, kind, payload = heapq.heappop(events)
            if kind == "dns":
                family, answer = payload  # type: ignore[misc]
                if isinstance(answer, BaseException):
                    planner.resolution_failed(family, answer, now)
                else:
                    planner.addresses_resolved(family, answer, now)
            else:
                addr, ok = payload  # type: ignore[misc]
                if ok:
                    planner.attempt_succeeded(addr, now)
                else:
                    planner.attempt_failed(addr, now, ConnectError(111, "refused"))
        action = planner.next_action(now)
        if isinstance(action, StartAttempt):
            starts.append((now, action.address))
            delay, outcome = connects.get(action.address, (0.0, None))
            if outcome is not None:
                seq += 1
                heapq.heappush(events, (now + delay, seq, "conn", (action.address, outcome)))
            continue
        if isinstance(action, CancelAttempt):
            cancels.append((now, action.address))
            continue
        if isinstance(action, (Done, Failed)):
            assert planner.next_action(now + 1) is action  # the end is sticky
            return Trace(starts, cancels, action, now)
        assert isinstance(action, Wait)
        nxt = min(action.until, events[0][0] if events else math.inf)
        assert nxt > now or (events and events[0][0] <= nxt), "the planner must make progress"
        now = nxt
    raise AssertionError("simulation did not finish")


def test_aaaa_first_connects_v6_at_once() -> None:
    trace = run({V6: (0.010, [v6()]), V4: (0.020, [v4()])}, {v6(): (0.005, True)})
    assert trace.start_times == [0.010]
    assert isinstance(trace.end, Done)
    assert trace.end.winner == v6() and trace.end.attempts == 1 and trace.end.losers == ()
    assert trace.end_time == pytest.approx(0.015)


def test_a_first_waits_for_aaaa_within_resolution_delay() -> None:
    trace = run({V4: (0.010, [v4()]), V6: (0.030, [v6()])}, {v6(): (0.001, True)})
    assert trace.order == [v6()]
    assert trace.start_times == [0.030]


def test_a_first_and_aaaa_never_starts_v4_after_resolution_delay() -> None:
    trace = run({V4: (0.010, [v4()])}, {v4(): (0.002, True)})
    assert trace.order == [v4()]
    assert trace.start_times == [pytest.approx(0.060)]
    assert isinstance(trace.end, Done) and trace.end.winner == v4()


def test_resolution_delay_is_configurable() -> None:
    cfg = HappyEyeballsDefaults(resolution_delay=0.2)
    trace = run({V4: (0.0, [v4()])}, {v4(): (0.0, True)}, config=cfg)
    assert trace.start_times == [0.2]


def test_aaaa_failure_ends_the_resolution_delay_early() -> None:
    trace = run({V4: (0.010, [v4()]), V6: (0.020, OSError("no AAAA"))}, {v4(): (0.001, True)})
    assert trace.start_times == [0.020]
    assert isinstance(trace.end, Done)


def test_v6_blackhole_v4_starts_at_attempt_delay_and_wins() -> None:
    trace = run({V6: (0.0, [v6()]), V4: (0.0, [v4()])}, {v6(): (0.0, NEVER), v4(): (0.010, True)})
    assert trace.order == [v6(), v4()]
    assert trace.start_times == [0.0, 0.25]
    assert isinstance(trace.end, Done)
    assert trace.end.winner == v4()
    assert trace.end.losers == (v6(),)  # the driver closes the v6 socket
    assert trace.end.attempts == 2


def test_failed_attempt_starts_next_immediately() -> None:
    trace = run({V6: (0.0, [v6()]), V4: (0.0, [v4()])}, {v6(): (0.030, False), v4(): (0.010, True)})
    assert trace.start_times == [0.0, 0.030]
    assert isinstance(trace.end, Done) and trace.end.winner == v4()


def test_all_fail_reports_every_error() -> None:
    addrs6, addrs4 = [v6(1), v6(2)], [v4(1), v4(2)]
    connects: ConnScript = {a: (0.005, False) for a in addrs6 + addrs4}
    trace = run({V6: (0.0, addrs6), V4: (0.0, addrs4)}, connects)
    assert trace.order == [v6(1), v4(1), v6(2), v4(2)]
    assert trace.start_times == [0.0, 0.005, 0.010, 0.015]
    end = trace.end
    assert isinstance(end, Failed) and end.reason == "exhausted"
    assert [e.address for e in end.errors] == trace.order
    assert all(isinstance(e.error, ConnectError) for e in end.errors)
    assert end.attempts == 4 and end.losers == ()


def test_both_lookups_fail() -> None:
    trace = run({V6: (0.01, OSError("a")), V4: (0.02, OSError("b"))}, {})
    assert trace.starts == []
    assert isinstance(trace.end, Failed) and trace.end.reason == "exhausted"
    assert [e.family for e in trace.end.errors] == [V6, V4]
    assert all(e.address is None for e in trace.end.errors)
    assert trace.end_time == 0.02


def test_total_timeout_fails_and_lists_losers() -> None:
    trace = run(
        {V6: (0.0, [v6()]), V4: (0.0, [v4()])},
        {v6(): (0.0, NEVER), v4(): (0.0, NEVER)},
        total=1.0,
    )
    end = trace.end
    assert isinstance(end, Failed) and end.reason == "timeout"
    assert trace.end_time == 1.0
    assert set(end.losers) == {v6(), v4()}
    timeout = end.errors[-1].error
    assert isinstance(timeout, Timeout) and timeout.phase is Phase.CONNECT


def test_total_timeout_while_dns_never_answers() -> None:
    trace = run({}, {}, total=2.0)
    assert isinstance(trace.end, Failed) and trace.end.reason == "timeout"
    assert trace.end_time == 2.0


def test_interleaving_order_and_attempt_delay() -> None:
    addrs6, addrs4 = [v6(i) for i in (1, 2, 3)], [v4(i) for i in (1, 2)]
    trace = run({V6: (0.0, addrs6), V4: (0.0, addrs4)}, {}, total=10.0)
    assert trace.order == [v6(1), v4(1), v6(2), v4(2), v6(3)]
    assert trace.start_times == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_prefer_ipv4_mirrors_the_rules() -> None:
    trace = run(
        {V6: (0.0, [v6(1), v6(2)]), V4: (0.010, [v4(1)])},
        {},
        prefer_ipv6=False,
        total=5.0,
    )
    assert trace.order == [v4(1), v6(1), v6(2)]
    assert trace.start_times == [0.010, 0.26, 0.51]


def test_attempt_timeout_cancels_and_moves_on() -> None:
    cfg = HappyEyeballsDefaults(attempt_timeout=0.1, connection_attempt_delay=0.25)
    trace = run({V6: (0.0, [v6()]), V4: (0.0, [v4()])}, {v4(): (0.01, True)}, config=cfg)
    assert trace.cancels == [(0.1, v6())]
    assert trace.start_times == [0.0, 0.1]  # the cancel counts as a failure
    end = trace.end
    assert isinstance(end, Done) and end.winner == v4()
    assert isinstance(end.losers, tuple) and end.losers == ()


def test_attempt_timeout_of_the_last_address_exhausts() -> None:
    cfg = HappyEyeballsDefaults(attempt_timeout=0.5)
    trace = run({V6: (0.0, []), V4: (0.0, [v4()])}, {}, config=cfg)
    assert trace.cancels == [(0.5, v4())]
    assert isinstance(trace.end, Failed) and trace.end.reason == "exhausted"
    assert isinstance(trace.end.errors[0].error, Timeout)


def test_late_aaaa_joins_the_queue() -> None:
    trace = run({V4: (0.0, [v4(1), v4(2)]), V6: (0.1, [v6()])}, {}, total=3.0)
    assert trace.order == [v4(1), v6(), v4(2)]
    assert trace.start_times == [0.05, 0.3, 0.55]


def test_duplicate_addresses_are_tried_once() -> None:
    trace = run({V6: (0.0, [v6(), v6()]), V4: (0.0, [])}, {v6(): (0.01, False)})
    assert trace.order == [v6()]
    assert isinstance(trace.end, Failed)


def test_unspec_answer_covers_both_families() -> None:
    planner = HappyEyeballsPlanner(now=0.0)
    planner.addresses_resolved(socket.AF_UNSPEC, [v4()], 0.0)
    action = planner.next_action(0.0)
    assert action == StartAttempt(v4())


def test_cancel_lists_running_attempts() -> None:
    planner = HappyEyeballsPlanner(now=0.0)
    planner.addresses_resolved(V6, [v6()], 0.0)
    assert planner.next_action(0.0) == StartAttempt(v6())
    plan = planner.cancel(0.1)
    assert plan.reason == "cancelled" and plan.losers == (v6(),)
    assert planner.finished and planner.next_action(0.2) is plan


def test_reports_after_the_end_are_ignored() -> None:
    planner = HappyEyeballsPlanner(now=0.0)
    planner.addresses_resolved(V6, [v6()], 0.0)
    planner.addresses_resolved(V4, [v4()], 0.0)
    planner.next_action(0.0)
    planner.attempt_succeeded(v6(), 0.01)
    end = planner.next_action(0.01)
    planner.attempt_failed(v4(), 0.02)
    planner.attempt_succeeded(v4(), 0.02)
    assert planner.next_action(0.03) is end
    assert isinstance(end, Done) and end.winner == v6()


# -- properties over random scripted networks -----------------------------------------

_delays = st.floats(min_value=0.0, max_value=2.0, allow_nan=False)
_outcomes = st.sampled_from([True, False, None])


@st.composite
def scripts(draw: st.DrawFn) -> tuple[DNSScript, ConnScript]:
    dns: DNSScript = {}
    connects: ConnScript = {}
    for family, make in ((V6, v6), (V4, v4)):
        kind = draw(st.sampled_from(["addrs", "error", "never"]))
        if kind == "never":
            continue
        if kind == "error":
            dns[family] = (draw(_delays), OSError("lookup failed"))
            continue
        addrs = [make(i) for i in range(draw(st.integers(0, 3)))]
        dns[family] = (draw(_delays), addrs)
        for addr in addrs:
            connects[addr] = (draw(_delays), draw(_outcomes))
    return dns, connects


@given(scripts(), st.booleans())
def test_random_networks_keep_the_rules(
    script: tuple[DNSScript, ConnScript], v6_first: bool
) -> None:
    dns, connects = script
    cfg = HappyEyeballsDefaults(total_timeout=5.0, attempt_timeout=1.0)
    trace = run(dns, connects, config=cfg, prefer_ipv6=v6_first)
    assert trace.end_time <= 5.0
    assert len(set(trace.order)) == len(trace.order)  # no address is tried twice
    known = {a for _, answer in dns.values() if isinstance(answer, list) for a in answer}
    assert set(trace.order) <= known
    for (t0, _), (t1, _) in zip(trace.starts, trace.starts[1:], strict=False):
        assert t1 >= t0
    if isinstance(trace.end, Done):
        _, outcome = connects[trace.end.winner]
        assert outcome is True
        assert trace.end.winner not in trace.end.losers
    else:
        assert trace.end.reason in ("exhausted", "timeout")
        if trace.end.reason == "exhausted":
            assert len(trace.order) == len(known)
