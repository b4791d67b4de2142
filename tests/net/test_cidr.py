"""CIDRList: IPv4/IPv6 membership, most-specific match, bad input, threads, fuzzing."""

from __future__ import annotations

import ipaddress
import random
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.errors import AddressError
from sockit.net.cidr import CIDRList, parse_ip, parse_network


def test_ipv4_membership_and_boundaries() -> None:
    cidrs = CIDRList(["10.0.0.0/8", "192.168.1.0/24", "203.0.113.7"])
    assert "10.0.0.0" in cidrs and "10.255.255.255" in cidrs
    assert "9.255.255.255" not in cidrs and "11.0.0.0" not in cidrs
    assert "192.168.1.255" in cidrs and "192.168.2.0" not in cidrs
    assert "203.0.113.7" in cidrs and "203.0.113.8" not in cidrs and "203.0.113.6" not in cidrs
    assert len(cidrs) == 3


def test_ipv6_membership_and_boundaries() -> None:
    cidrs = CIDRList(["2001:db8::/32", "fe80::1/128", "::/127"])
    assert "2001:db8::" in cidrs and "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff" in cidrs
    assert "2001:db9::" not in cidrs and "2001:db7:ffff::" not in cidrs
    assert "fe80::1" in cidrs and "fe80::2" not in cidrs
    assert "::1" in cidrs and "::" in cidrs and "::2" not in cidrs
    assert "fe80::1%eth0" in cidrs  # a scope id does not change the address
    # an IPv6 network never matches an IPv4 address and vice versa
    assert "0.0.0.1" not in cidrs
    assert "::a00:1" not in CIDRList(["10.0.0.0/8"])


def test_ipv4_mapped_ipv6_is_looked_up_as_ipv4() -> None:
    cidrs = CIDRList(["10.0.0.0/8"])
    assert "::ffff:10.1.2.3" in cidrs
    assert "::ffff:11.1.2.3" not in cidrs
    assert parse_ip("::ffff:10.1.2.3") == ipaddress.IPv4Address("10.1.2.3")


def test_host_bits_are_dropped_and_bare_addresses_are_hosts() -> None:
    cidrs = CIDRList()
    assert cidrs.add("10.1.2.3/8")
    assert not cidrs.add("10.0.0.0/8")  # the same network
    assert cidrs.networks() == ["10.0.0.0/8"]
    assert cidrs.add("2001:db8::1")
    assert cidrs.match("2001:db8::1") == 128
    assert parse_network("192.0.2.1").prefixlen == 32


def test_match_returns_most_specific_prefix() -> None:
    cidrs = CIDRList(["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "0.0.0.0/0"])
    assert cidrs.match("10.1.2.3") == 24
    assert cidrs.match("10.1.3.3") == 16
    assert cidrs.match("10.2.0.1") == 8
    assert cidrs.match("8.8.8.8") == 0
    assert CIDRList().match("8.8.8.8") is None


def test_remove_and_clear() -> None:
    cidrs = CIDRList(["10.0.0.0/8", "10.0.0.0/16", "2001:db8::/32"])
    assert cidrs.remove("10.9.9.9/8")  # written with host bits, same network
    assert not cidrs.remove("10.0.0.0/8")
    assert "10.1.0.0" not in cidrs and "10.0.1.0" in cidrs
    assert cidrs.networks() == ["10.0.0.0/16", "2001:db8::/32"]
    assert list(cidrs) == cidrs.networks()
    cidrs.clear()
    assert len(cidrs) == 0 and not cidrs and "10.0.1.0" not in cidrs


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "10.0.0.256",
        "10.0.0.0/33",
        "2001:db8::/129",
        "10.0.0.0/8/8",
        "x" * 500,
        "10.0.0.0/-1",
        "1.2.3",
        ":::",
        "10.0.0.0/ 8",
        "\x00",
    ],
)
def test_bad_networks_are_address_errors(bad: str) -> None:
    cidrs = CIDRList()
    with pytest.raises(AddressError):
        cidrs.add(bad)
    with pytest.raises(AddressError):
        cidrs.remove(bad)
    with pytest.raises(AddressError):
        CIDRList([bad])


@pytest.mark.parametrize(
    "bad", ["", "10.0.0.0/8", "256.0.0.1", "example.com", 167772161, b"\x7f\0\0\1", None, 1.5]
)
def test_bad_addresses_are_address_errors(bad: object) -> None:
    cidrs = CIDRList(["0.0.0.0/0", "::/0"])
    with pytest.raises(AddressError):
        bad in cidrs  # noqa: B015 - the membership test is what raises
    with pytest.raises(AddressError):
        cidrs.match(bad)  # type: ignore[arg-type]


def test_agrees_with_ipaddress_on_random_networks() -> None:
    rng = random.Random(12)
    nets = []
    for _ in range(300):
        if rng.random() < 0.5:
            nets.append(
                ipaddress.ip_network((rng.getrandbits(32), rng.randint(8, 32)), strict=False)
            )
        else:
            nets.append(
                ipaddress.IPv6Network((rng.getrandbits(128), rng.randint(16, 128)), strict=False)
            )
    cidrs = CIDRList(str(n) for n in nets)
    probes: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for net in nets[:150]:  # addresses inside some network, plus random ones
        probes.append(net.network_address + rng.randrange(net.num_addresses))
    probes += [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(200)]
    probes += [ipaddress.IPv6Address(rng.getrandbits(128)) for _ in range(200)]
    for ip in probes:
        expected = any(ip in n for n in nets if n.version == ip.version)
        assert (str(ip) in cidrs) is expected, ip


def test_lookups_race_changes_without_errors() -> None:
    cidrs = CIDRList(["10.0.0.0/8"])
    stop = threading.Event()
    errors: list[BaseException] = []

    def lookup() -> None:
        try:
            while not stop.is_set():
                assert "10.1.1.1" in cidrs  # never removed
                "172.16.5.5" in cidrs  # noqa: B015 - added and removed concurrently
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=lookup) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(2000):
        plen = 12 + i % 12
        cidrs.add(f"172.16.0.0/{plen}")
        cidrs.remove(f"172.16.0.0/{plen}")
    stop.set()
    for t in threads:
        t.join(5)
    assert errors == []
    assert cidrs.networks() == ["10.0.0.0/8"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | st.from_regex(r"[0-9a-f:./%]{0,45}", fullmatch=True))
def test_arbitrary_strings_parse_or_raise_address_error(text: str) -> None:
    cidrs = CIDRList(["10.0.0.0/8", "2001:db8::/32"])
    try:
        found = text in cidrs
    except AddressError:
        pass
    else:
        assert isinstance(found, bool)
    try:
        added = cidrs.add(text)
    except AddressError:
        return
    assert isinstance(added, bool)
    if "/" not in text:  # a bare address is its own /32 or /128
        assert text in cidrs
    assert cidrs.remove(text) is True  # present after add, whether new or not
    assert cidrs.remove(text) is False
