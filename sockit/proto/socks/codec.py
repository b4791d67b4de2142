"""Addresses on the SOCKS wire, the incremental reader, and the UDP datagram header.

Both machines parse with generators over one :class:`Reader`: a parsing step
``yield``\\ s when the bytes it needs have not arrived, and resumes where it
stopped when more come, so partial input is never parsed twice and every
split of the same bytes reaches the same decision at the same byte.

Addresses (RFC 1928 §4/§5): ATYP 1 is an IPv4 address, 4 an IPv6 address,
3 a length-prefixed name. :func:`classify_host` decides which one a host
string is; names are checked (no control bytes, no NUL, which would cut a
SOCKS4A request short) and bounded by ``ProxyLimits.max_hostname_size``.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Generator
from dataclasses import dataclass

from sockit.errors import LocalProtocolError
from sockit.limits import ProxyLimits
from sockit.proto.socks.errors import (
    SOCKS5Reply,
    SOCKSLimitExceeded,
    SOCKSProtocolError,
    SOCKSVersion,
)

__all__ = [
    "AddressType",
    "Reader",
    "UDPDatagram",
    "classify_host",
    "decode_udp_datagram",
    "encode_address",
    "encode_udp_datagram",
    "read_address",
]

#: What a parsing step returns through ``yield from``: ``None`` while it waits.
Step = Generator[None, None, bytes]

_DEFAULT_LIMITS = ProxyLimits()


class AddressType(enum.IntEnum):
    """The ATYP byte of RFC 1928."""

    IPV4 = 1
    DOMAIN = 3
    IPV6 = 4


class Reader:
    """Received bytes not yet parsed; the parsing steps take from the front."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes from the peer."""
        self.buf += data

    def take_all(self) -> bytes:
        """Everything held (for ``trailing_data``), leaving the reader empty."""
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def exactly(self, n: int) -> Step:
        """The next ``n`` bytes, waiting (``yield``) until they are here."""
        while len(self.buf) < n:
            yield
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def until_nul(
        self, bound: int, what: str, limit: str, *, reply_code: int | None = None
    ) -> Step:
        """Bytes up to a NUL (dropped), at most ``bound`` of them, else a limit error.

        The decision is made at byte ``bound + 1`` whatever the split.
        """
        while True:
            end = self.buf.find(b"\0", 0, bound + 1)
            if end >= 0:
                data = bytes(self.buf[:end])
                del self.buf[: end + 1]
                return data
            if len(self.buf) > bound:
                raise SOCKSLimitExceeded(
                    f"{what} is longer than {limit}={bound}",
                    limit=limit,
                    value=bound,
                    reply_code=reply_code,
                    version=SOCKSVersion.SOCKS4,
                )
            yield


def _name_ok(raw: bytes) -> bool:
    # printable ASCII without space: what a resolver accepts (IDNA names are ASCII)
    return bool(raw) and not raw.translate(None, _NAME_BYTES)


_NAME_BYTES = bytes(range(0x21, 0x7F))


def classify_host(host: str, limits: ProxyLimits = _DEFAULT_LIMITS) -> tuple[AddressType, bytes]:
    """``(address type, bytes for the wire)`` for ``host``; LocalProtocolError if unusable.

    IPv4 and IPv6 literals (brackets allowed around IPv6) become packed
    addresses; anything else is a name, IDNA-encoded when not ASCII, at most
    ``limits.max_hostname_size`` bytes.
    """
    if not isinstance(host, str) or not host:
        raise LocalProtocolError("the host must be a non-empty str")
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if "%" not in text:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            pass
        else:
            kind = AddressType.IPV4 if ip.version == 4 else AddressType.IPV6
            return kind, ip.packed
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        try:
            raw = text.encode("idna")
        except UnicodeError:
            raise LocalProtocolError(f"{host!r} is not a valid host name") from None
    if not _name_ok(raw):
        raise LocalProtocolError(f"{host!r} is not a valid host name")
    if len(raw) > limits.max_hostname_size:
        raise LocalProtocolError(
            f"host name of {len(raw)} bytes is over max_hostname_size={limits.max_hostname_size}"
        )
    return AddressType.DOMAIN, raw


def encode_address(host: str, port: int, limits: ProxyLimits = _DEFAULT_LIMITS) -> bytes:
    """ATYP, address and port as a SOCKS5 request, reply or UDP header carries them."""
    check_port(port)
    kind, raw = classify_host(host, limits)
    if kind is AddressType.DOMAIN:
        return bytes((kind, len(raw))) + raw + port.to_bytes(2, "big")
    return bytes((kind,)) + raw + port.to_bytes(2, "big")


def check_port(port: int) -> None:
    """LocalProtocolError unless ``port`` is an int from 0 to 65535."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise LocalProtocolError(f"port must be an int from 0 to 65535, not {port!r}")


def read_address(
    reader: Reader,
    atyp: int,
    limits: ProxyLimits,
    *,
    reply_code: int | None = None,
) -> Generator[None, None, tuple[str, int]]:
    """Parse address and port of type ``atyp`` (already read) from ``reader``.

    An unknown type is a SOCKSProtocolError with reply 08; a name that is
    empty, not printable ASCII or over ``max_hostname_size`` is refused with
    ``reply_code`` (the caller's choice of what to answer).
    """
    host: str
    if atyp == AddressType.IPV4:
        host = str(ipaddress.IPv4Address((yield from reader.exactly(4))))
    elif atyp == AddressType.IPV6:
        host = str(ipaddress.IPv6Address((yield from reader.exactly(16))))
    elif atyp == AddressType.DOMAIN:
        size = (yield from reader.exactly(1))[0]
        bound = limits.max_hostname_size
        if size > bound:
            raise SOCKSLimitExceeded(
                f"host name of {size} bytes is over max_hostname_size={bound}",
                limit="max_hostname_size",
                value=bound,
                reply_code=reply_code,
                version=SOCKSVersion.SOCKS5,
            )
        raw = yield from reader.exactly(size)
        if not _name_ok(raw):
            raise SOCKSProtocolError(
                f"invalid host name {raw[:64]!r}",
                reply_code=reply_code,
                version=SOCKSVersion.SOCKS5,
            )
        host = raw.decode("ascii")
    else:
        raise SOCKSProtocolError(
            f"unknown address type 0x{atyp:02x}",
            reply_code=SOCKS5Reply.ADDRESS_TYPE_NOT_SUPPORTED,
            version=SOCKSVersion.SOCKS5,
        )
    port = int.from_bytes((yield from reader.exactly(2)), "big")
    return host, port


# -- UDP ASSOCIATE datagrams (RFC 1928 §7) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class UDPDatagram:
    """One datagram through a SOCKS5 UDP relay: where it goes (or came from), and its data.

    ``fragment`` is the FRAG byte: 0 for a whole datagram, otherwise the
    fragment's position, with the high bit set on the last one.
    """

    host: str
    port: int
    payload: bytes
    fragment: int = 0


def encode_udp_datagram(
    host: str,
    port: int,
    payload: bytes,
    *,
    fragment: int = 0,
    limits: ProxyLimits | None = None,
) -> bytes:
    """The UDP request header (RSV, FRAG, address, port) followed by ``payload``."""
    if isinstance(fragment, bool) or not isinstance(fragment, int) or not 0 <= fragment <= 255:
        raise LocalProtocolError(f"fragment must be an int from 0 to 255, not {fragment!r}")
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise LocalProtocolError("the payload must be bytes")
    header = b"\0\0" + bytes((fragment,)) + encode_address(host, port, limits or _DEFAULT_LIMITS)
    return header + bytes(payload)


def decode_udp_datagram(
    datagram: bytes | bytearray | memoryview, *, limits: ProxyLimits | None = None
) -> UDPDatagram:
    """Split a relayed datagram into address and payload; SOCKSProtocolError if malformed."""
    reader = Reader()
    reader.feed(datagram)
    steps = _udp_header(reader, limits or _DEFAULT_LIMITS)
    try:
        next(steps)
    except StopIteration as done:
        fragment, host, port = done.value
        return UDPDatagram(host, port, reader.take_all(), fragment)
    raise SOCKSProtocolError(
        f"UDP datagram of {len(datagram)} bytes is shorter than its header",
        version=SOCKSVersion.SOCKS5,
    )


def _udp_header(reader: Reader, limits: ProxyLimits) -> Generator[None, None, tuple[int, str, int]]:
    rsv_frag = yield from reader.exactly(4)
    if rsv_frag[:2] != b"\0\0":
        raise SOCKSProtocolError(
            "UDP datagram with non-zero reserved bytes", version=SOCKSVersion.SOCKS5
        )
    host, port = yield from read_address(reader, rsv_frag[3], limits)
    return rsv_frag[2], host, port
