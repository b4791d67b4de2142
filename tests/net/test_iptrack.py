"""IPTracker: client keys (IPv4, /64 grouping, mapped), caps at N and N+1, table bound, threads."""

from __future__ import annotations

import ipaddress
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import AddressError, SockitError
from sockit.limits import SYNProtectDefaults
from sockit.net.iptrack import IPTracker, client_key


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("::FFFF:10.0.0.1", "10.0.0.1"),
        ("2001:db8::1", "2001:db8::/64"),
        ("2001:db8:0:0:ffff:ffff:ffff:ffff", "2001:db8::/64"),
        ("2001:db8:0:1::1", "2001:db8:0:1::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::1", "::/64"),
    ],
)
def test_keys(ip: str, key: str) -> None:
    assert IPTracker().key(ip) == key


def test_prefix_128_counts_per_address_and_drops_scope() -> None:
    t = IPTracker(ipv6_prefix=128)
    assert t.key("2001:db8::1") == "2001:db8::1"
    assert t.key("fe80::1%eth0") == "fe80::1"
    assert IPTracker(ipv6_prefix=48).key("2001:db8:1:2::9") == "2001:db8:1::/48"
    assert IPTracker(ipv6_prefix=0).key("2001:db8::1") == "::/0"


@pytest.mark.parametrize(
    "bad", ["", "10.0.0", "10.0.0.256", "example.com", "::g", "1.2.3.4 ", 5, None, b"1.2.3.4"]
)
def test_bad_addresses_are_address_errors(bad: object) -> None:
    t = IPTracker(max_per_ip=2)
    for op in (t.key, t.track, t.release, t.count):
        with pytest.raises(AddressError):
            op(bad)  # type: ignore[arg-type]
    assert bad not in t
    assert len(t) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_per_ip": 0},
        {"max_per_ip": True},
        {"ipv6_prefix": 129},
        {"ipv6_prefix": -1},
        {"max_tracked": 0},
        {"max_tracked": 1.5},
    ],
)
def test_bad_config_is_value_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        IPTracker(**kwargs)  # type: ignore[arg-type]


def test_default_bound_comes_from_limits() -> None:
    assert IPTracker().max_tracked == SYNProtectDefaults().max_tracked_ips


@pytest.mark.parametrize("cap", [1, 3])
def test_per_ip_cap_at_n_and_n_plus_1(cap: int) -> None:
    t = IPTracker(max_per_ip=cap)
    assert all(t.track("192.0.2.7") for _ in range(cap))  # N admitted
    assert not t.track("192.0.2.7")  # N+1 refused, nothing counted
    assert t.count("192.0.2.7") == cap
    assert t.track("192.0.2.8")  # another client is unaffected
    t.release("192.0.2.7")
    assert t.track("192.0.2.7")
    s = t.stats
    assert (s.tracked, s.connections, s.refused_per_ip, s.refused_full) == (2, cap + 1, 1, 0)


def test_one_slash64_is_one_client_and_mapped_is_ipv4() -> None:
    t = IPTracker(max_per_ip=2)
    assert t.track("2001:db8::1")
    assert t.track("2001:db8::dead:beef")
    assert not t.track("2001:db8::ffff")  # third address, same /64
    assert t.track("2001:db8:0:1::1")  # the next /64 is someone else
    assert t.track("198.51.100.1")
    assert t.track("::ffff:198.51.100.1")
    assert not t.track("198.51.100.1")  # mapped and plain share the count
    assert t.count("::ffff:198.51.100.1") == 2
    assert dict(t.top()) == {"2001:db8::/64": 2, "198.51.100.1": 2, "2001:db8:0:1::/64": 1}


@pytest.mark.parametrize("bound", [1, 4])
def test_max_tracked_at_n_and_n_plus_1(bound: int) -> None:
    t = IPTracker(max_tracked=bound)
    for i in range(bound):
        assert t.track(f"10.0.0.{i + 1}")
    assert len(t) == bound
    assert not t.track("10.0.1.1")  # N+1-th client refused ...
    assert t.track("10.0.0.1")  # ... but a known client can still add connections
    assert t.count("10.0.0.1") == 2
    assert t.stats.refused_full == 1
    t.release("10.0.0.1")
    t.release("10.0.0.1")  # key gone: room for one new client
    assert "10.0.0.1" not in t
    assert t.track("10.0.1.1")
    assert not t.track("10.0.1.2")
    assert t.stats.peak == bound


def test_release_unknown_and_double_release_never_go_negative() -> None:
    t = IPTracker()
    t.release("10.9.9.9")
    assert t.track("10.9.9.9")
    t.release("10.9.9.9")
    t.release("10.9.9.9")
    assert t.count("10.9.9.9") == 0
    assert t.stats.connections == 0
    assert len(t) == 0


def test_top_orders_by_count_then_key() -> None:
    t = IPTracker()
    for ip, n in (("10.0.0.3", 1), ("10.0.0.1", 3), ("10.0.0.2", 3), ("10.0.0.4", 2)):
        for _ in range(n):
            t.track(ip)
    assert t.top(3) == [("10.0.0.1", 3), ("10.0.0.2", 3), ("10.0.0.4", 2)]
    assert t.top(0) == []
    with pytest.raises(ValueError):
        t.top(-1)


def test_clear_forgets_counts() -> None:
    t = IPTracker(max_per_ip=1)
    t.track("10.0.0.1")
    t.clear()
    assert len(t) == 0
    assert t.track("10.0.0.1")


def test_threads_track_and_release_exactly() -> None:
    t = IPTracker(max_per_ip=10_000)
    ips = [f"10.0.{i // 250}.{i % 250}" for i in range(40)] + [f"2001:db8:{i}::1" for i in range(8)]
    rounds = 400
    barrier = threading.Barrier(6)

    def worker(keep: int) -> None:
        barrier.wait()
        for _ in range(rounds):
            for ip in ips:
                assert t.track(ip)
            for ip in ips:
                t.release(ip)
        for ip in ips:  # each thread leaves `keep` connections per client
            for _ in range(keep):
                assert t.track(ip)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    want = sum(range(6))  # 0 + 1 + ... + 5
    assert all(t.count(ip) == want for ip in ips)
    assert t.stats.connections == want * len(ips)
    assert len(t) == len(ips)


def test_threads_never_exceed_the_cap() -> None:
    cap = 7
    t = IPTracker(max_per_ip=cap)
    admitted: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        n = sum(t.track("203.0.113.5") for _ in range(50))
        with lock:
            admitted.append(n)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert sum(admitted) == cap
    assert t.count("203.0.113.5") == cap
    assert t.stats.refused_per_ip == 8 * 50 - cap


@given(st.text(max_size=60))
def test_arbitrary_text_is_a_key_or_an_address_error(s: str) -> None:
    try:
        key = client_key(s)
    except SockitError as exc:
        assert isinstance(exc, AddressError)
        return
    # whatever parsed is a real address or network
    if "/" in key:
        ipaddress.ip_network(key)
    else:
        ipaddress.ip_address(key)


@given(st.integers(0, 2**128 - 1), st.integers(0, 128))
def test_every_ipv6_address_falls_in_its_key(n: int, prefix: int) -> None:
    addr = ipaddress.IPv6Address(n)
    key = client_key(str(addr), prefix)
    if addr.ipv4_mapped is not None:
        assert key == str(addr.ipv4_mapped)
    elif prefix == 128:
        assert key == str(addr)
    else:
        assert addr in ipaddress.IPv6Network(key)
        assert ipaddress.IPv6Network(key).prefixlen == prefix
