"""SYNProtector allow/deny lists (IPv4 and IPv6), the bounded LRU table, arbitrary input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.errors import AddressError
from sockit.limits import SYNProtectDefaults
from sockit.net.protect import Action, SYNProtector, Verdict
from sockit.observe import Counter, Gauge, MetricsRegistry


class FakeClock:
    def __init__(self, now: float = 50.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_allow_and_deny_lists_ipv4_and_ipv6() -> None:
    p = SYNProtector(
        allow=["10.0.0.0/8", "2001:db8:aaaa::/48"],
        deny=["192.0.2.0/24", "2001:db8:bbbb::/48"],
        clock=FakeClock(),
        registry=MetricsRegistry(),
    )
    for _ in range(200):  # far past every per-address limit: lists win
        assert p.check("10.9.8.7") == Verdict(Action.ALLOW, 1.0, "allowlisted")
        assert p.check("2001:db8:aaaa:1::5") == Verdict(Action.ALLOW, 1.0, "allowlisted")
    assert p.check("192.0.2.1") == Verdict(Action.BLOCK, 0.0, "denylisted")
    assert p.check("2001:db8:bbbb::1") == Verdict(Action.BLOCK, 0.0, "denylisted")
    assert p.check("::ffff:192.0.2.1").reason == "denylisted"
    assert p.check("192.0.3.1").reason == "ok"  # just outside the /24
    assert p.check("2001:db8:cccc::1").reason == "ok"
    assert len(p) == 2  # listed addresses take no table space
    assert p.is_blocked("192.0.2.77") and not p.is_blocked("10.1.1.1")
    assert p.admit("2001:db8:bbbb::9") == "block:denylisted"
    assert p.admit("2001:db8:aaaa::9") is None


def test_more_specific_entry_wins_and_ties_go_to_deny() -> None:
    p = SYNProtector(clock=FakeClock(), registry=MetricsRegistry())
    p.deny("10.0.0.0/8")
    p.allow("10.1.2.3")
    assert p.check("10.1.2.3").reason == "allowlisted"
    assert p.check("10.1.2.4").reason == "denylisted"
    p.allow("172.16.0.0/12")
    p.deny("172.16.5.0/24")
    assert p.check("172.16.5.1").reason == "denylisted"
    assert p.check("172.16.6.1").reason == "allowlisted"
    p.allow("198.51.100.0/24")
    p.deny("198.51.100.0/24")
    assert p.check("198.51.100.1").reason == "denylisted"
    assert p.denylist.remove("198.51.100.0/24")
    assert p.check("198.51.100.1").reason == "allowlisted"
    assert p.allowlist.remove("198.51.100.0/24")
    assert p.check("198.51.100.1").reason == "ok"


def test_bad_list_entries_are_address_errors() -> None:
    with pytest.raises(AddressError):
        SYNProtector(allow=["10.0.0.0/40"], registry=MetricsRegistry())
    p = SYNProtector(registry=MetricsRegistry())
    with pytest.raises(AddressError):
        p.deny("not-a-network")


def _table(n: int) -> tuple[SYNProtector, MetricsRegistry]:
    registry = MetricsRegistry()
    cfg = SYNProtectDefaults(max_tracked_ips=n)
    return SYNProtector(cfg, clock=FakeClock(), registry=registry), registry


def test_table_holds_n_without_eviction() -> None:
    p, registry = _table(5)
    for i in range(5):
        p.check(f"10.0.0.{i}")
    assert len(p) == 5 and p.stats.evicted == 0
    evictions = registry.get("sockit_syn_evictions_total")
    assert isinstance(evictions, Counter) and evictions.value == 0


def test_table_at_n_plus_one_evicts_least_recently_seen() -> None:
    p, registry = _table(5)
    for i in range(5):
        p.check(f"10.0.0.{i}")
    p.record_failure("10.0.0.0")  # 10.0.0.0 is now the most recent; 10.0.0.1 the least
    p.check("10.0.0.5")
    assert len(p) == 5 and p.stats.evicted == 1
    assert p.score("10.0.0.1") == pytest.approx(0.8)  # forgotten: back to initial
    assert p.score("10.0.0.0") == pytest.approx(0.8 - 0.02 - 0.05)  # kept
    evictions = registry.get("sockit_syn_evictions_total")
    tracked = registry.get("sockit_syn_tracked_ips")
    assert isinstance(evictions, Counter) and evictions.value == 1
    assert isinstance(tracked, Gauge) and tracked.value == 5
    for i in range(100):  # a spray of new addresses never grows the table
        p.check(f"10.1.0.{i}")
    assert len(p) == 5 and p.stats.evicted == 101 and tracked.value == 5


def test_a_flooder_that_keeps_coming_is_not_evicted_by_a_spray() -> None:
    p, _ = _table(10)
    for _ in range(60):
        p.check("192.0.2.66")
    assert p.is_blocked("192.0.2.66")
    for i in range(200):
        p.check(f"10.2.0.{i}")
        p.check("192.0.2.66")  # still hammering: always the most recently seen
    assert p.is_blocked("192.0.2.66")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=50) | st.from_regex(r"[0-9a-fA-F:.%/]{0,45}", fullmatch=True))
def test_arbitrary_strings_check_or_raise_address_error(text: str) -> None:
    p = SYNProtector(clock=FakeClock(), registry=MetricsRegistry(), deny=["10.0.0.0/8"])
    for call in (p.check, p.admit, p.record_success, p.record_failure, p.score, p.is_blocked):
        try:
            result = call(text)
        except AddressError:
            continue
        assert result is None or isinstance(result, (Verdict, str, float, bool))
    assert p.stats.checked in (0, 2)
