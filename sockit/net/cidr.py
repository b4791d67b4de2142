"""CIDR allow and deny lists with lookups that do not scan every network.

A list of ``ip_network`` objects answers ``ip in networks`` by testing each one
in turn, which is too slow for a check made on every accepted connection. A
:class:`CIDRList` stores each network as an integer (its masked address) in a
set keyed by prefix length, so a lookup masks the address once per prefix
length in use (at most 33 for IPv4, 129 for IPv6) and does a set membership
test for each: the cost depends on how many *different* prefix lengths the
list holds, not on how many networks.

Decisions that matter to callers:

* A network written with host bits set (``"10.1.2.3/8"``) is accepted and
  stored as the network it names (``10.0.0.0/8``); a bare address is a /32 or
  a /128.
* IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) are looked up as the IPv4
  address they carry, so a dual-stack listener needs only IPv4 entries.
* Anything that is not a valid address or network raises
  :class:`~sockit.errors.AddressError`, never ``ValueError`` or ``TypeError``.
* Lookups take no lock; changes are serialised by one and publish the new set
  of prefix lengths as a fresh tuple, so lookups racing a change see either
  the old list or the new one.
"""

from __future__ import annotations

import errno
import ipaddress
import threading
from collections.abc import Iterable, Iterator
from typing import Final

from sockit.errors import AddressError

__all__ = ["CIDRList", "IPAddress", "parse_ip", "parse_network"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
"""What :func:`parse_ip` returns."""

_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_MAX_TEXT: Final = 128  # longer than any address or network, with a scope id
_MASKS: Final = {
    4: tuple(((1 << 32) - 1) ^ ((1 << (32 - n)) - 1) for n in range(33)),
    6: tuple(((1 << 128) - 1) ^ ((1 << (128 - n)) - 1) for n in range(129)),
}


def _bad(what: str, value: object) -> AddressError:
    shown = value[:64] if isinstance(value, str) else value
    return AddressError(errno.EINVAL, f"invalid {what}: {shown!r}")


def parse_ip(ip: object) -> IPAddress:
    """Validate an IP address once, for every caller that keys tables on it.

    Accepts a ``str`` or an :mod:`ipaddress` address; IPv4-mapped IPv6 comes
    back as IPv4. Integers and packed bytes are refused: an ``int`` that
    happens to be a valid address is far more likely a bug than an address.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if isinstance(ip, ipaddress.IPv6Address):
        addr: IPAddress = ip
    else:
        if not isinstance(ip, str) or len(ip) > _MAX_TEXT:
            raise _bad("IP address", ip)
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            raise _bad("IP address", ip) from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def parse_network(cidr: object) -> _IPNetwork:
    """Validate a network (``"10.0.0.0/8"``, ``"2001:db8::/32"``, a bare address).

    Host bits are allowed and dropped. Raises :class:`AddressError` otherwise.
    """
    if isinstance(cidr, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return cidr
    if isinstance(cidr, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return ipaddress.ip_network(cidr)
    if not isinstance(cidr, str) or len(cidr) > _MAX_TEXT:
        raise _bad("network", cidr)
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise _bad("network", cidr) from None


class CIDRList:
    """A set of IPv4 and IPv6 networks answering "is this address in any of them?".

    ``CIDRList(["10.0.0.0/8", "2001:db8::/32"])``; ``"10.1.2.3" in cidrs``.
    Safe to share between threads.
    """

    def __init__(self, cidrs: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        # version -> prefix length -> masked network integers
        self._tables: dict[int, dict[int, set[int]]] = {4: {}, 6: {}}
        # version -> prefix lengths in use, longest first (replaced, never mutated)
        self._lengths: dict[int, tuple[int, ...]] = {4: (), 6: ()}
        self._count = 0
        for cidr in cidrs:
            self.add(cidr)

    def __repr__(self) -> str:
        return f"<CIDRList {len(self)} networks>"

    def add(self, cidr: str) -> bool:
        """Add a network; ``False`` if it was already there."""
        net = parse_network(cidr)
        with self._lock:
            table = self._tables[net.version]
            bucket = table.get(net.prefixlen)
            if bucket is None:
                bucket = table[net.prefixlen] = set()
                self._lengths[net.version] = tuple(sorted(table, reverse=True))
            key = int(net.network_address)
            if key in bucket:
                return False
            bucket.add(key)
            self._count += 1
            return True

    def remove(self, cidr: str) -> bool:
        """Remove a network (written as it was added, host bits or not); ``False`` if absent."""
        net = parse_network(cidr)
        with self._lock:
            table = self._tables[net.version]
            bucket = table.get(net.prefixlen)
            key = int(net.network_address)
            if bucket is None or key not in bucket:
                return False
            bucket.discard(key)
            self._count -= 1
            if not bucket:
                del table[net.prefixlen]
                self._lengths[net.version] = tuple(sorted(table, reverse=True))
            return True

    def clear(self) -> None:
        """Remove every network."""
        with self._lock:
            self._tables = {4: {}, 6: {}}
            self._lengths = {4: (), 6: ()}
            self._count = 0

    def match(self, ip: str | IPAddress) -> int | None:
        """The prefix length of the most specific network holding ``ip``, or ``None``.

        Lets a caller with both an allow and a deny list let the more specific
        entry win (``10.0.0.0/8`` denied, ``10.1.2.3`` allowed).
        """
        return self._match(parse_ip(ip))

    def _match(self, addr: IPAddress) -> int | None:
        version = addr.version
        lengths = self._lengths[version]
        if not lengths:
            return None
        table = self._tables[version]
        masks = _MASKS[version]
        value = int(addr)
        for plen in lengths:
            bucket = table.get(plen)
            if bucket is not None and value & masks[plen] in bucket:
                return plen
        return None

    def __contains__(self, ip: object) -> bool:
        """Whether ``ip`` lies in any network (bad input raises :class:`AddressError`)."""
        return self._match(parse_ip(ip)) is not None

    def __len__(self) -> int:
        """How many networks the list holds."""
        return self._count

    def __bool__(self) -> bool:
        """Whether the list holds any network."""
        return self._count > 0

    def networks(self) -> list[str]:
        """Every network, IPv4 first, most specific first (a copy)."""
        out: list[str] = []
        with self._lock:
            for version in (4, 6):
                table = self._tables[version]
                make = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
                for plen in self._lengths[version]:
                    out.extend(str(make((key, plen))) for key in sorted(table[plen]))
        return out

    def __iter__(self) -> Iterator[str]:
        """The networks as strings (see :meth:`networks`)."""
        return iter(self.networks())
