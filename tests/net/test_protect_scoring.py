"""SYNProtector scoring on a fake clock: floods, windows, decay, trust, admit, blocks."""

from __future__ import annotations

import collections
import logging
import math

import pytest

from sockit.errors import AddressError, LocalProtocolError
from sockit.limits import SYNProtectDefaults
from sockit.net.protect import Action, SYNProtector, Verdict
from sockit.observe import Counter, Gauge, MetricsRegistry


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(
    clock: FakeClock, config: SYNProtectDefaults | None = None, **kw: object
) -> tuple[SYNProtector, MetricsRegistry]:
    registry = MetricsRegistry()
    return SYNProtector(config, clock=clock, registry=registry, **kw), registry  # type: ignore[arg-type]


FLOODER = "198.51.100.7"
GOOD = "192.0.2.10"


def test_flood_from_one_address_is_blocked_for_block_duration_then_recovers() -> None:
    clock = FakeClock()
    p, _ = make(clock)
    verdicts = [p.check(FLOODER) for _ in range(60)]
    actions = [v.action for v in verdicts]
    # 0.8 start, 0.02 per attempt: ALLOW x4, THROTTLE from 0.70, CHALLENGE from 0.40, BLOCK at 0.20
    assert actions[:4] == [Action.ALLOW] * 4
    assert actions[4] is Action.THROTTLE and verdicts[4].score == pytest.approx(0.7)
    assert actions[19] is Action.CHALLENGE and verdicts[19].score == pytest.approx(0.4)
    assert actions[18] is Action.THROTTLE
    assert actions[29] is Action.BLOCK and verdicts[29].reason == "score"
    assert all(a is Action.BLOCK for a in actions[29:])
    assert verdicts[50].reason == "rate-window"  # the 51st attempt in the window
    assert {v.reason for v in verdicts[51:]} == {"blocked"}
    assert p.is_blocked(FLOODER)

    clock.now += 30.0  # half-way: decay alone would lift the score, the timed block holds
    assert p.check(FLOODER) == Verdict(Action.BLOCK, pytest.approx(0.28), "blocked")  # type: ignore[arg-type]
    clock.now += 29.999
    assert p.check(FLOODER).reason == "blocked"
    clock.now += 0.001  # block_duration after the 51st attempt
    after = p.check(FLOODER)
    assert after.action is not Action.BLOCK
    assert after.reason == "score"  # reputation is still poor: throttled, not allowed
    clock.now += 40.0
    assert p.check(FLOODER) == Verdict(Action.ALLOW, pytest.approx(0.78), "ok")  # type: ignore[arg-type]
    assert not p.is_blocked(FLOODER)


def test_rate_window_allows_n_and_blocks_n_plus_one() -> None:
    clock = FakeClock()
    cfg = SYNProtectDefaults(max_attempts_per_window=5, window=10.0, penalty_attempt=0.0)
    p, _ = make(clock, cfg)
    for _ in range(5):
        assert p.check(FLOODER).action is Action.ALLOW
        clock.now += 1.0
    clock.now -= 0.5  # t = 4.5: six attempts inside 10 s
    assert p.check(FLOODER) == Verdict(Action.BLOCK, 0.8, "rate-window")


def test_rate_window_slides() -> None:
    clock = FakeClock()
    cfg = SYNProtectDefaults(max_attempts_per_window=5, window=10.0, penalty_attempt=0.0)
    p, _ = make(clock, cfg)
    start = clock.now
    for i in range(5):
        clock.now = start + i
        assert p.check(FLOODER).action is Action.ALLOW
    clock.now = start + 10.0  # the attempt at +0 has left the window
    assert p.check(FLOODER).action is Action.ALLOW
    clock.now = start + 10.5  # +1..+4, +10 and now: six
    assert p.check(FLOODER).reason == "rate-window"


def test_well_behaved_client_is_never_throttled_during_a_global_flood() -> None:
    clock = FakeClock()
    p, _ = make(clock)
    for _ in range(5):  # earn trust: attempt (-0.02), success (+0.05), once a second
        assert p.check(GOOD).action is Action.ALLOW
        p.record_success(GOOD)
        clock.now += 1.0
    assert p.is_trusted(GOOD)
    flooders = [f"203.0.113.{i}" for i in range(1, 251)]
    good: list[Verdict] = []
    newcomer: list[Verdict] = []
    for second in range(20):
        for i in range(1500):  # 1500 attempts a second from 250 addresses
            clock.now += 1.0 / 1500
            p.check(flooders[i % 250])
        if second % 2 == 0:  # the good client: one connection every two seconds
            good.append(p.check(GOOD))
            p.record_success(GOOD)
        if second == 10:
            newcomer.append(p.check("192.0.2.99"))
    assert p.stats.global_rate > SYNProtectDefaults().max_global_rate
    assert [v.action for v in good] == [Action.ALLOW] * 10
    assert {v.reason for v in good} == {"trusted"}
    assert [(v.action, v.reason) for v in newcomer] == [(Action.THROTTLE, "global-rate")]
    assert newcomer[0].score == pytest.approx(0.78)
    assert p.stats.blocked > 0  # the flooders themselves were blocked


def test_global_rate_at_limit_is_not_throttled_above_it_is() -> None:
    clock = FakeClock()
    cfg = SYNProtectDefaults(max_global_rate=10.0)
    p, _ = make(clock, cfg)
    for i in range(9):
        p.check(f"10.0.0.{i + 1}")
    assert p.check("10.0.1.1") == Verdict(Action.ALLOW, pytest.approx(0.78), "ok")  # type: ignore[arg-type]
    assert p.check("10.0.1.2").reason == "global-rate"  # the 11th in one second
    clock.now += 1.0  # the meter's second has passed
    assert p.check("10.0.1.3").reason == "ok"


def test_decay_restores_reputation_both_ways() -> None:
    clock = FakeClock()
    p, _ = make(clock)
    for _ in range(10):
        p.record_failure(FLOODER)
    assert p.score(FLOODER) == pytest.approx(0.3)
    assert p.check(FLOODER) == Verdict(Action.CHALLENGE, pytest.approx(0.28), "score")  # type: ignore[arg-type]
    clock.now += 25.0
    assert p.score(FLOODER) == pytest.approx(0.53)
    clock.now += 1000.0
    assert p.score(FLOODER) == pytest.approx(0.8)  # stops at score_initial
    for _ in range(10):
        p.record_success(GOOD)
    assert p.score(GOOD) == 1.0  # clamped
    clock.now += 10.0
    assert p.score(GOOD) == pytest.approx(0.9)
    clock.now += 1000.0
    assert p.score(GOOD) == pytest.approx(0.8)


def test_trust_is_earned_at_trusted_and_lost_at_throttle() -> None:
    clock = FakeClock()
    p, _ = make(clock)
    assert not p.is_trusted(GOOD)
    p.record_success(GOOD)  # 0.85
    assert not p.is_trusted(GOOD)
    p.record_success(GOOD)  # 0.90
    assert p.is_trusted(GOOD)
    clock.now += 100.0  # decays to 0.8: still trusted
    assert p.score(GOOD) == pytest.approx(0.8) and p.is_trusted(GOOD)
    p.record_failure(GOOD)  # 0.75
    assert p.is_trusted(GOOD)
    p.record_failure(GOOD)  # 0.70 = score_throttle
    assert not p.is_trusted(GOOD)


def test_admit_semantics_and_throttle_budget() -> None:
    clock = FakeClock()
    p, _ = make(clock, throttle_rate=1.0, throttle_burst=3.0)
    assert p.admit(GOOD) is None
    p.deny("192.0.2.200")
    assert p.admit("192.0.2.200") == "block:denylisted"
    p.record_failure(FLOODER)
    p.record_failure(FLOODER)  # 0.70
    for _ in range(3):  # throttled (0.68, 0.66, 0.64) but within the budget
        assert p.admit(FLOODER) is None
    assert p.admit(FLOODER) == "throttle:score"
    clock.now += 1.0  # one token back
    assert p.admit(FLOODER) is None
    assert p.admit(FLOODER) == "throttle:score"
    for _ in range(6):
        p.record_failure(FLOODER)
    assert p.admit(FLOODER) == "challenge:score"
    p.block(GOOD)
    assert p.admit(GOOD) == "block:blocked"
    stats = p.stats
    assert stats.throttled == 6 and stats.challenged == 1 and stats.blocked == 2


def test_manual_block_and_unblock() -> None:
    clock = FakeClock()
    p, _ = make(clock)
    p.block(GOOD, 5.0)
    assert p.is_blocked(GOOD)
    assert p.check(GOOD).reason == "blocked"
    assert p.unblock(GOOD)
    assert not p.unblock(GOOD)  # nothing left to lift
    assert not p.unblock("192.0.2.250")  # never seen
    assert p.check(GOOD).action is Action.ALLOW
    p.block(GOOD)  # default: block_duration
    clock.now += 59.9
    assert p.is_blocked(GOOD)
    clock.now += 0.1
    assert not p.is_blocked(GOOD)
    p.block(FLOODER, math.inf)
    clock.now += 1e9
    assert p.is_blocked(FLOODER)
    for bad in (-1.0, math.nan, "5", True):
        with pytest.raises(LocalProtocolError):
            p.block(GOOD, bad)  # type: ignore[arg-type]


def test_unblock_restores_a_score_based_block() -> None:
    clock = FakeClock()
    p, _ = make(clock)
    for _ in range(12):
        p.record_failure(FLOODER)  # 0.8 - 0.6 = 0.2
    assert p.is_blocked(FLOODER)
    assert p.unblock(FLOODER)
    assert p.score(FLOODER) == pytest.approx(0.8)
    assert p.check(FLOODER).action is Action.ALLOW


def test_cleanup_drops_only_entries_with_nothing_to_remember() -> None:
    clock = FakeClock()
    p, registry = make(clock)
    p.check("10.0.0.1")  # plain visitor
    p.block("10.0.0.2", 30.0)
    p.record_success("10.0.0.3")
    p.record_success("10.0.0.3")  # trusted
    assert len(p) == 3
    clock.now += 5.0
    assert p.cleanup() == 0  # the visitor's attempt is still in the window
    clock.now += 5.0
    assert p.cleanup() == 1  # window empty, score back at 0.8
    assert p.stats.tracked == 2
    clock.now += 19.9
    assert p.cleanup() == 0  # still blocked
    clock.now += 0.1
    assert p.cleanup() == 1  # the block expired (a manual block leaves the score alone)
    assert p.cleanup(clock.now + 1e6) == 0  # trusted entries are kept
    assert p.stats.tracked == 1 and p.is_trusted("10.0.0.3")
    tracked = registry.get("sockit_syn_tracked_ips")
    assert isinstance(tracked, Gauge) and tracked.value == 1


def test_ipv6_is_keyed_by_prefix() -> None:
    clock = FakeClock()
    p, _ = make(clock)
    assert p.key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert p.key("::ffff:192.0.2.1") == "192.0.2.1"
    p.check("2001:db8::1")
    p.check("2001:db8::2")
    assert len(p) == 1 and p.score("2001:db8::99") == pytest.approx(0.76)
    q, _ = make(clock, ipv6_prefix=128)
    q.check("2001:db8::1")
    q.check("2001:db8::2")
    assert len(q) == 2
    assert q.key("fe80::1%eth0") == q.key("fe80::1%eth1") == "fe80::1"


def test_clock_going_backwards_does_not_reopen_the_window() -> None:
    clock = FakeClock()
    cfg = SYNProtectDefaults(max_attempts_per_window=3, penalty_attempt=0.0)
    p, _ = make(clock, cfg)
    for _ in range(3):
        p.check(FLOODER)
    clock.now -= 500.0
    assert p.check(FLOODER).reason == "rate-window"


@pytest.mark.parametrize(
    "kw",
    [
        {"ipv6_prefix": 129},
        {"ipv6_prefix": -1},
        {"ipv6_prefix": True},
        {"throttle_rate": 0},
        {"throttle_burst": 0.5},
        {"throttle_rate": math.inf},
    ],
)
def test_bad_configuration_is_value_error(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make(FakeClock(), **kw)  # type: ignore[arg-type]


def test_bad_addresses_are_address_errors_everywhere() -> None:
    p, _ = make(FakeClock())
    for call in (
        p.check,
        p.admit,
        p.record_success,
        p.record_failure,
        p.block,
        p.unblock,
        p.score,
        p.is_blocked,
        p.is_trusted,
        p.key,
    ):
        with pytest.raises(AddressError):
            call("300.1.1.1")
    assert p.stats.checked == 0 and len(p) == 0


def test_metrics_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    p, registry = make(clock)
    with caplog.at_level(logging.DEBUG, logger="sockit.net.protect"):
        verdicts = [p.check(FLOODER) for _ in range(35)]
        clock.now += 1000.0
        p.check(FLOODER)
    tally = collections.Counter(v.action.value for v in verdicts)
    decisions = registry.get("sockit_syn_decisions_total")
    assert isinstance(decisions, Counter)
    for action in Action:
        expected = tally[action.value] + (action is Action.ALLOW)
        assert decisions.labels(action.value).value == expected
    records = [(r.levelno, r.getMessage(), r.sockit_fields["ip"]) for r in caplog.records]  # type: ignore[attr-defined]
    assert records == [
        (logging.DEBUG, "address limited", FLOODER),  # throttle
        (logging.DEBUG, "address limited", FLOODER),  # challenge
        (logging.WARNING, "address blocked", FLOODER),
        (logging.INFO, "address unblocked", FLOODER),
    ]
    assert caplog.records[2].sockit_fields["reason"] == "score"  # type: ignore[attr-defined]
