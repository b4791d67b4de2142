"""The storage behind :class:`~sockit.client.CookieJar`: indexes, bounds, eviction.

Not thread-safe and clock-free on purpose: the jar holds the lock and passes
``now``. Cookies live in one insertion-ordered dict kept in recency order
(a cookie moves to the end when stored or sent), with a per-domain index in
the same order, so:

* choosing the cookies for a request touches only the host's own domain and
  its parents, never the whole store;
* eviction (RFC 6265 §5.3: expired first, then least recently used) takes
  from the front of a dict, O(1) per cookie;
* a full scan for expired cookies runs only when the earliest expiry time
  in the store has been reached.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator

from sockit.limits import CookieLimits
from sockit.proto.http.cookies import Cookie, domain_match, path_match

__all__ = ["COUNTERS", "CookieStore"]

_Key = tuple[str, str, str]
#: The names of the event counters a store keeps (see CookieJarStats).
COUNTERS = ("stored", "ignored", "deleted", "expired", "evicted")


class CookieStore:
    """Cookies keyed by (domain, path, name), bounded in total and per domain."""

    def __init__(self, limits: CookieLimits, max_per_domain: int) -> None:
        self.limits = limits
        self.max_per_domain = max_per_domain
        self.counts = dict.fromkeys(COUNTERS, 0)
        self._cookies: dict[_Key, Cookie] = {}
        self._by_domain: dict[str, dict[_Key, None]] = {}
        self._secure_by_name: dict[str, set[_Key]] = {}
        self._next_expiry = math.inf  # no stored cookie expires before this

    def __len__(self) -> int:
        return len(self._cookies)

    def __iter__(self) -> Iterator[Cookie]:
        """Every stored cookie, least recently used first (do not mutate meanwhile)."""
        return iter(self._cookies.values())

    @property
    def domain_count(self) -> int:
        """How many distinct cookie domains are stored."""
        return len(self._by_domain)

    def _index(self, cookie: Cookie) -> None:
        key = cookie.key
        self._cookies[key] = cookie
        self._by_domain.setdefault(cookie.domain, {})[key] = None
        if cookie.secure:
            self._secure_by_name.setdefault(cookie.name, set()).add(key)
        if cookie.expires is not None and cookie.expires < self._next_expiry:
            self._next_expiry = cookie.expires

    def remove(self, key: _Key) -> Cookie:
        """Take the cookie with ``key`` out of every index."""
        cookie = self._cookies.pop(key)
        bucket = self._by_domain[cookie.domain]
        del bucket[key]
        if not bucket:
            del self._by_domain[cookie.domain]
        if cookie.secure:
            names = self._secure_by_name[cookie.name]
            names.discard(key)
            if not names:
                del self._secure_by_name[cookie.name]
        return cookie

    def remove_where(self, keys: Iterable[_Key]) -> int:
        """Remove the cookies with these keys (a materialized list); how many."""
        count = 0
        for key in keys:
            self.remove(key)
            count += 1
        return count

    def purge_expired(self, now: float, *, domain: str | None = None, force: bool = False) -> int:
        """Remove cookies expired at ``now`` (of one domain, or all); how many."""
        if domain is not None:
            keys: Iterable[_Key] = self._by_domain.get(domain, ())
        elif now < self._next_expiry and not force:
            return 0
        else:
            keys = self._cookies
        gone = self.remove_where([k for k in keys if self._cookies[k].is_expired(now)])
        self.counts["expired"] += gone
        if domain is None:
            self._next_expiry = min(
                (c.expires for c in self._cookies.values() if c.expires is not None),
                default=math.inf,
            )
        return gone

    def _evict(self, domain: str, now: float) -> None:
        bucket = self._by_domain.get(domain, {})
        if len(bucket) > self.max_per_domain:
            self.purge_expired(now, domain=domain)
            bucket = self._by_domain.get(domain, {})
            while len(bucket) > self.max_per_domain:
                self.remove(next(iter(bucket)))
                self.counts["evicted"] += 1
        if len(self._cookies) > self.limits.max_cookies:
            self.purge_expired(now)
            while len(self._cookies) > self.limits.max_cookies:
                self.remove(next(iter(self._cookies)))
                self.counts["evicted"] += 1

    def store(self, cookie: Cookie, now: float) -> bool:
        """RFC 6265 §5.3 steps 11-12: replace, delete or insert; True if stored.

        A replacement keeps the old creation time; an expired cookie only
        deletes; then the bounds are restored by eviction.
        """
        key = cookie.key
        old = self._cookies.get(key)
        if old is not None:
            self.remove(key)
            cookie = dataclasses.replace(cookie, creation=old.creation)
        if cookie.is_expired(now):
            self.counts["deleted" if old is not None else "ignored"] += 1
            return False
        if self.limits.max_cookies == 0:
            self.counts["ignored"] += 1
            return False
        self._index(cookie)
        self.counts["stored"] += 1
        self._evict(cookie.domain, now)
        return key in self._cookies

    def get(self, key: _Key) -> Cookie | None:
        """The cookie stored under ``key``, if any."""
        return self._cookies.get(key)

    def touch(self, cookie: Cookie, now: float) -> Cookie:
        """Record that ``cookie`` was sent: new ``last_access``, most recent in order."""
        c = cookie  # positional construction: 5x faster than dataclasses.replace
        used = Cookie(
            c.name, c.value, c.domain, c.path, c.expires, c.host_only,
            c.secure, c.http_only, c.same_site, c.creation, now,
        )  # fmt: skip
        key = cookie.key
        del self._cookies[key]  # re-inserting moves it to the most recent end
        self._cookies[key] = used
        bucket = self._by_domain[cookie.domain]
        del bucket[key]
        bucket[key] = None
        return used

    def in_domain(self, domain: str) -> list[Cookie]:
        """The cookies whose domain field is exactly ``domain``."""
        cookies = self._cookies
        return [cookies[k] for k in self._by_domain.get(domain, ())]

    def shadows_secure(self, cookie: Cookie) -> bool:
        """6265bis §5.7 step 16: would this insecure cookie overlay a Secure one?

        True when a stored Secure cookie has the same name, a domain that
        domain-matches the new one's (or the reverse), and a path the new
        cookie's path path-matches.
        """
        for key in self._secure_by_name.get(cookie.name, ()):
            old = self._cookies[key]
            if (
                domain_match(old.domain, cookie.domain) or domain_match(cookie.domain, old.domain)
            ) and path_match(cookie.path, old.path):
                return True
        return False
