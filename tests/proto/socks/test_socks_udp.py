"""The SOCKS5 UDP request header (RFC 1928 §7): encode, decode, refuse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, SockitError
from sockit.limits import ProxyLimits
from sockit.proto.socks import (
    SOCKSLimitExceeded,
    SOCKSProtocolError,
    UDPDatagram,
    decode_udp_datagram,
    encode_udp_datagram,
)


def test_rfc_layout_ipv4() -> None:
    wire = encode_udp_datagram("192.0.2.7", 53, b"query")
    assert wire == b"\x00\x00\x00\x01\xc0\x00\x02\x07\x00\x35query"
    assert decode_udp_datagram(wire) == UDPDatagram("192.0.2.7", 53, b"query", 0)


@pytest.mark.parametrize("host", ["example.com", "2001:db8::1", "10.0.0.1"])
@pytest.mark.parametrize("fragment", [0, 1, 0x81])
def test_round_trip(host: str, fragment: int) -> None:
    wire = encode_udp_datagram(host, 4444, b"\x00payload", fragment=fragment)
    assert decode_udp_datagram(wire) == UDPDatagram(host, 4444, b"\x00payload", fragment)
    assert decode_udp_datagram(bytearray(wire)).payload == b"\x00payload"


def test_empty_payload() -> None:
    wire = encode_udp_datagram("example.com", 1, b"")
    assert decode_udp_datagram(wire) == UDPDatagram("example.com", 1, b"")


@pytest.mark.parametrize(
    "wire",
    [
        b"",
        b"\x00\x00\x00",
        b"\x00\x00\x00\x01\xc0\x00\x02",  # address cut short
        b"\x00\x00\x00\x01\xc0\x00\x02\x07\x00",  # port cut short
        b"\x00\x01\x00\x01\xc0\x00\x02\x07\x00\x35",  # reserved bytes not zero
        b"\x00\x00\x00\x09\xc0\x00\x02\x07\x00\x35",  # unknown address type
        b"\x00\x00\x00\x03\x05ab",  # name cut short
    ],
)
def test_malformed(wire: bytes) -> None:
    with pytest.raises(SOCKSProtocolError):
        decode_udp_datagram(wire)


def test_name_bound() -> None:
    wire = encode_udp_datagram("a" * 11, 1, b"x")
    assert decode_udp_datagram(wire, limits=ProxyLimits(max_hostname_size=11)).host == "a" * 11
    with pytest.raises(SOCKSLimitExceeded):
        decode_udp_datagram(wire, limits=ProxyLimits(max_hostname_size=10))


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("h", 70000, b""), {}),
        (("h", 1, b""), {"fragment": 256}),
        (("", 1, b""), {}),
        (("h", 1, "text"), {}),
    ],
)
def test_bad_arguments(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        encode_udp_datagram(*args, **kwargs)  # type: ignore[arg-type]


@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_sockit_errors(wire: bytes) -> None:
    try:
        datagram = decode_udp_datagram(wire)
    except SockitError:
        return
    assert wire.endswith(datagram.payload)
    assert (
        decode_udp_datagram(
            encode_udp_datagram(
                datagram.host, datagram.port, datagram.payload, fragment=datagram.fragment
            )
        )
        == datagram
    )
