"""Host name validation and address ordering used by the resolver."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import AddressError
from sockit.net._dns_names import canonical_host, ip_literal_family, order_by_family


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", "localhost"),
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("_sip._tcp.example.com", "_sip._tcp.example.com"),
        ("a-b.c", "a-b.c"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("fe80::1%lo", "fe80::1%lo"),
        ("1.2.3.com", "1.2.3.com"),
    ],
)
def test_good_names(host: str, expected: str) -> None:
    assert canonical_host(host) == expected


@pytest.mark.parametrize(
    "host",
    [
        "",
        ".",
        "a..b",
        ".a",
        "-a.com",
        "a-.com",
        "a b.com",
        "a/b",
        "a\0b",
        "1.2.3",  # inet_aton would read this as 1.2.0.3
        "0x7f.1",
        "127.1",
        "example.123",
        "exa$mple.com",
    ],
)
def test_bad_names(host: str) -> None:
    with pytest.raises(AddressError):
        canonical_host(host)


def test_not_a_string() -> None:
    with pytest.raises(AddressError):
        canonical_host(b"example.com")


def test_label_length_63_and_64() -> None:
    assert canonical_host("a" * 63 + ".com") == "a" * 63 + ".com"
    with pytest.raises(AddressError, match="63"):
        canonical_host("a" * 64 + ".com")


def _name_of_length(n: int) -> str:
    labels = []
    while sum(len(x) + 1 for x in labels) + 63 < n:
        labels.append("a" * 62)
    rest = n - sum(len(x) + 1 for x in labels)
    labels.append("b" * rest)
    name = ".".join(labels)
    assert len(name) == n
    return name


def test_total_length_253_and_254() -> None:
    assert len(canonical_host(_name_of_length(253))) == 253
    assert len(canonical_host(_name_of_length(253) + ".")) == 253  # the root dot is free
    with pytest.raises(AddressError, match="253"):
        canonical_host(_name_of_length(254))


def test_literal_family() -> None:
    assert ip_literal_family("192.0.2.1") == socket.AF_INET
    assert ip_literal_family("2001:db8::1") == socket.AF_INET6
    assert ip_literal_family("example.com") is None
    assert ip_literal_family("1.2.3") is None


def test_ordering_is_stable_and_deduplicated() -> None:
    a4, b4 = (socket.AF_INET, ("192.0.2.1", 1)), (socket.AF_INET, ("192.0.2.2", 1))
    a6, b6 = (socket.AF_INET6, ("2001:db8::1", 1)), (socket.AF_INET6, ("2001:db8::2", 1))
    mixed = [a4, a6, b4, a4, b6]
    assert order_by_family(mixed, prefer_ipv6=True) == [a6, b6, a4, b4]
    assert order_by_family(mixed, prefer_ipv6=False) == [a4, b4, a6, b6]


@given(st.text(max_size=300))
def test_any_text_is_accepted_or_refused_cleanly(host: str) -> None:
    try:
        name = canonical_host(host)
    except AddressError:
        return
    assert name.isascii()
    assert len(name.rstrip(".")) <= 253 or ip_literal_family(name) is not None
