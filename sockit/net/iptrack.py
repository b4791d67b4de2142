"""Per-client connection counts, so one address cannot take a whole server.

:class:`IPTracker` counts the connections each client holds. A *client* is a
normalised key, not the raw address string:

* an IPv4 address is one client (``"10.0.0.1"``);
* an IPv4-mapped IPv6 address (``::ffff:10.0.0.1``, what a dual-stack listener
  reports for IPv4 peers) is the same client as the IPv4 address;
* every IPv6 address inside one ``/ipv6_prefix`` network (default ``/64``, the
  block one subscriber usually gets) is one client (``"2001:db8::/64"``): a host
  can pick a fresh address from its /64 for every connection, so counting
  per address would make the cap meaningless. ``ipv6_prefix=128`` counts per
  address, and the key is then the bare address. Scope ids (``%eth0``) are
  dropped.

Decisions callers depend on:

* :meth:`IPTracker.track` and :meth:`IPTracker.release` are O(1) dict updates
  under one lock; the address is parsed before the lock is taken.
* The table of keys is bounded by ``max_tracked``. When it is full a *new*
  client is refused (``track`` returns False) rather than evicting another
  client's live count: evicting would let an attacker with many addresses
  erase the counts of the clients it wants to crowd out.
* A key is removed when its count reaches zero, so the table only holds
  clients with live connections. Releasing an address that holds nothing is
  not an error (a double release is harmless and never goes negative).
* A string that is not an IP address raises :class:`~sockit.errors.AddressError`
  (it came from a peer or a configuration, not from a programming slip).
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import heapq
import ipaddress
import threading

from sockit.errors import AddressError
from sockit.limits import SYNProtectDefaults

__all__ = ["IPTracker", "IPTrackerStats", "client_key"]

_DEFAULT_MAX_TRACKED = SYNProtectDefaults().max_tracked_ips


def client_key(ip: str, ipv6_prefix: int = 64) -> str:
    """The normalised client key for ``ip`` (see the module docs for the rules).

    A module-level function so other per-client tables (the SYN protector's
    reputation scores) group addresses exactly the way the tracker does.
    Results are cached (4096 most recent): parsing an address costs more
    than the rest of a track/release pair.
    """
    if not isinstance(ip, str):
        raise AddressError(errno.EINVAL, f"an IP address must be a str, not {ip!r}")
    return _cached_key(ip, ipv6_prefix)


@functools.lru_cache(maxsize=4096)
def _cached_key(ip: str, ipv6_prefix: int) -> str:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise AddressError(errno.EINVAL, f"{ip!r} is not an IP address") from None
    if isinstance(addr, ipaddress.IPv4Address):
        return str(addr)
    mapped = addr.ipv4_mapped
    if mapped is not None:
        return str(mapped)
    if ipv6_prefix == 128:
        return str(ipaddress.IPv6Address(int(addr)))  # drops a scope id
    net = ipaddress.IPv6Network((int(addr), ipv6_prefix), strict=False)
    return str(net)


def _check_count(name: str, value: int | None, *, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"IPTracker {name} must be an integer >= 1, not {value!r}")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class IPTrackerStats:
    """A consistent snapshot of an :class:`IPTracker`'s counters.

    ``tracked`` clients hold ``connections`` connections between them;
    ``refused_per_ip`` counts ``track`` calls refused by ``max_per_ip``,
    ``refused_full`` those refused because the table held ``max_tracked`` keys;
    ``peak`` is the most clients tracked at once.
    """

    tracked: int
    connections: int
    refused_per_ip: int
    refused_full: int
    peak: int


class IPTracker:
    """Counts live connections per client; thread-safe, bounded, O(1) per call.

    ``max_per_ip`` caps the connections one client may hold (``None``: no cap,
    only counting). ``ipv6_prefix`` (0..128) is how many leading bits of an
    IPv6 address name one client. ``max_tracked`` bounds the number of clients
    held at once (default: ``SYNProtectDefaults().max_tracked_ips``).
    Bad configuration raises ``ValueError``, like the limits dataclasses.
    """

    def __init__(
        self,
        *,
        max_per_ip: int | None = None,
        ipv6_prefix: int = 64,
        max_tracked: int = _DEFAULT_MAX_TRACKED,
    ) -> None:
        self._max_per_ip = _check_count("max_per_ip", max_per_ip, optional=True)
        if isinstance(ipv6_prefix, bool) or not isinstance(ipv6_prefix, int) or not (
            0 <= ipv6_prefix <= 128
        ):
            msg = f"IPTracker ipv6_prefix must be an integer in 0..128, not {ipv6_prefix!r}"
            raise ValueError(msg)
        self._prefix = ipv6_prefix
        max_keys = _check_count("max_tracked", max_tracked, optional=False)
        assert max_keys is not None
        self._max_tracked = max_keys
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._connections = 0
        self._refused_per_ip = 0
        self._refused_full = 0
        self._peak = 0

    def __repr__(self) -> str:
        return (
            f"<IPTracker {len(self._counts)} clients, {self._connections} connections, "
            f"max_per_ip={self._max_per_ip!r} /{self._prefix}>"
        )

    @property
    def max_per_ip(self) -> int | None:
        """The per-client cap (``None``: counting only)."""
        return self._max_per_ip

    @property
    def ipv6_prefix(self) -> int:
        """Leading IPv6 bits that name one client."""
        return self._prefix

    @property
    def max_tracked(self) -> int:
        """The most clients held at once."""
        return self._max_tracked

    def key(self, ip: str) -> str:
        """The client key ``ip`` is counted under (``"2001:db8::/64"``, ``"10.0.0.1"``)."""
        return client_key(ip, self._prefix)

    def track(self, ip: str) -> bool:
        """Count one more connection for ``ip``'s client; False (nothing counted) if refused.

        Refused when the client already holds ``max_per_ip`` connections, or
        when it is new and ``max_tracked`` clients are already tracked.
        """
        k = client_key(ip, self._prefix)
        with self._lock:
            count = self._counts.get(k, 0)
            if self._max_per_ip is not None and count >= self._max_per_ip:
                self._refused_per_ip += 1
                return False
            if count == 0:
                if len(self._counts) >= self._max_tracked:
                    self._refused_full += 1
                    return False
                self._counts[k] = 1
                self._peak = max(self._peak, len(self._counts))
            else:
                self._counts[k] = count + 1
            self._connections += 1
            return True

    def release(self, ip: str) -> None:
        """Count one connection of ``ip``'s client less; the key goes at zero."""
        k = client_key(ip, self._prefix)
        with self._lock:
            count = self._counts.get(k)
            if count is None:
                return
            self._connections -= 1
            if count <= 1:
                del self._counts[k]
            else:
                self._counts[k] = count - 1

    def count(self, ip: str) -> int:
        """Connections ``ip``'s client holds now."""
        k = client_key(ip, self._prefix)
        with self._lock:
            return self._counts.get(k, 0)

    def __len__(self) -> int:
        """Clients tracked now."""
        return len(self._counts)

    def __contains__(self, ip: object) -> bool:
        """Whether ``ip``'s client holds any connection (False for non-addresses)."""
        if not isinstance(ip, str):
            return False
        try:
            k = client_key(ip, self._prefix)
        except AddressError:
            return False
        return k in self._counts

    def top(self, n: int = 10) -> list[tuple[str, int]]:
        """The ``n`` clients holding the most connections, most first (ties by key).

        O(clients): meant for an admin page or a log line, not per connection.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"top(n) needs an integer >= 0, not {n!r}")
        with self._lock:
            items = list(self._counts.items())
        return heapq.nsmallest(n, items, key=lambda kv: (-kv[1], kv[0]))

    @property
    def stats(self) -> IPTrackerStats:
        """Counters as one consistent snapshot."""
        with self._lock:
            return IPTrackerStats(
                tracked=len(self._counts),
                connections=self._connections,
                refused_per_ip=self._refused_per_ip,
                refused_full=self._refused_full,
                peak=self._peak,
            )

    def clear(self) -> None:
        """Forget every count (the refusal counters and peak are kept)."""
        with self._lock:
            self._counts.clear()
            self._connections = 0
