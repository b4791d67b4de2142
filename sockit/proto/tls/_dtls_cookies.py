"""Stateless DTLS cookies: an HMAC over the client's address, with rotating secrets.

A DTLS server answers a ClientHello without a valid cookie with a small
HelloVerifyRequest and keeps nothing; only a client that can receive at its
claimed address can echo the cookie back. That makes spoofed ClientHellos
useless for amplification and for filling the server's memory (RFC 6347
section 4.2.1).

The cookie is ``HMAC-SHA256(secret, address)``. The secret is replaced every
``cookie_lifetime`` seconds and the previous one stays valid for one more
lifetime, so a cookie handed out just before a rotation still works while its
client retries. Nothing per client is stored: verifying a cookie needs only
the two secrets. Time is an argument (``now``), never read here.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sockit.limits import DTLSDefaults
from sockit.proto.tls.errors import TLSUsageError

__all__ = ["CookieJar", "CookieStats", "PeerAddress", "address_key"]

#: A peer's address as sockets report it, or an opaque label (``str``/``bytes``).
PeerAddress = tuple[str, int] | tuple[str, int, int, int] | str | bytes

_COOKIE_SIZE = 32  # a whole SHA-256 HMAC


def address_key(address: PeerAddress) -> bytes:
    """The bytes a cookie is bound to: a canonical ``host|port`` for socket addresses.

    IPv6 flow info and scope are left out (they may differ between datagrams
    of one client); IP literals are normalised so ``::1`` and ``0::1`` match.
    """
    if isinstance(address, bytes):
        return b"b:" + address
    if isinstance(address, str):
        return b"s:" + address.encode("utf-8", "surrogateescape")
    if not isinstance(address, tuple) or len(address) < 2:
        raise TLSUsageError(f"peer address must be (host, port), str or bytes, not {address!r}")
    host, port = address[0], address[1]
    if not isinstance(host, str) or isinstance(port, bool) or not isinstance(port, int):
        raise TLSUsageError(f"peer address must be (host, port), not {address!r}")
    try:
        host = ipaddress.ip_address(host.split("%", 1)[0]).compressed
    except ValueError:
        host = host.lower()
    return f"a:{host}|{port}".encode("utf-8", "surrogateescape")


@dataclass(slots=True)
class CookieStats:
    """Counters of one jar: cookies made, accepted, refused and secret rotations."""

    issued: int = 0
    accepted: int = 0
    refused: int = 0
    rotations: int = 0


class CookieJar:
    """Makes and checks DTLS cookies; one per server, shared by its connections.

    ``defaults`` gives the secret size and lifetime (``DTLSDefaults``);
    ``token`` makes secrets (``secrets.token_bytes``; tests inject their own).
    The first secret's lifetime starts at the first ``now`` the jar sees.
    """

    def __init__(
        self,
        defaults: DTLSDefaults | None = None,
        *,
        token: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.defaults = defaults if defaults is not None else DTLSDefaults()
        self._token = token
        self._current = self._new_secret()
        self._previous: bytes | None = None
        self._rotated_at: float | None = None
        self.stats = CookieStats()

    def _new_secret(self) -> bytes:
        size = self.defaults.cookie_secret_size
        secret = self._token(size)
        if not isinstance(secret, bytes) or len(secret) != size:
            raise TLSUsageError(f"the cookie secret source must return {size} bytes")
        return secret

    def _advance(self, now: float) -> None:
        """Rotate the secrets ``now`` calls for (none, one, or both at once)."""
        if self._rotated_at is None:
            self._rotated_at = now
            return
        lifetime = self.defaults.cookie_lifetime
        elapsed = now - self._rotated_at
        if elapsed < lifetime:
            return  # includes a clock that went backwards: keep the secrets
        if elapsed >= 2 * lifetime:
            self._previous = None  # the old current secret is past its grace too
        else:
            self._previous = self._current
        self._current = self._new_secret()
        self._rotated_at = now - (elapsed % lifetime)
        self.stats.rotations += 1

    @staticmethod
    def _mac(secret: bytes, address: PeerAddress) -> bytes:
        return hmac.new(secret, address_key(address), hashlib.sha256).digest()

    def make(self, address: PeerAddress, now: float) -> bytes:
        """The cookie for ``address`` at time ``now`` (32 bytes)."""
        self._advance(now)
        self.stats.issued += 1
        return self._mac(self._current, address)

    def verify(self, cookie: bytes, address: PeerAddress, now: float) -> bool:
        """Whether ``cookie`` was made for ``address`` with the current or previous secret."""
        self._advance(now)
        ok = False
        if len(cookie) == _COOKIE_SIZE:
            ok = hmac.compare_digest(cookie, self._mac(self._current, address))
            previous = self._previous
            if previous is not None:
                ok = hmac.compare_digest(cookie, self._mac(previous, address)) or ok
        if ok:
            self.stats.accepted += 1
        else:
            self.stats.refused += 1
        return ok
