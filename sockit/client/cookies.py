"""A thread-safe RFC 6265 cookie jar with limits, eviction and a cookies.txt file.

The rules for one cookie live in :mod:`sockit.proto.http.cookies`; this class
adds what needs state: the store, the 6265bis rule that an insecure response
cannot overwrite (or delete) a ``Secure`` cookie, bounds with eviction, a
clock and a lock. One jar may be shared by any number of threads.

Eviction follows RFC 6265 §5.3: when a domain holds more than
``max_per_domain`` cookies, or the jar more than ``CookieLimits.max_cookies``,
expired cookies go first, then the least recently used (stored or sent).

The store is an insertion-ordered dict kept in recency order, indexed by
domain, so choosing the cookies for a request looks only at the host and its
parent domains, never at the whole jar.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from sockit.client.cookie_file import format_cookie_file, parse_cookie_file
from sockit.client.cookie_store import CookieStore
from sockit.errors import LocalProtocolError
from sockit.limits import CookieLimits
from sockit.proto.http.cookies import (
    Cookie,
    cookie_applies,
    cookie_header,
    is_ip_address,
    is_secure_url,
    make_cookie,
    parse_set_cookie,
    same_site,
)
from sockit.proto.http.headers import Headers
from sockit.proto.http.url import URL

__all__ = ["CookieJar", "CookieJarStats", "HeaderPairs"]

_PathLike = str | os.PathLike[str]
#: What :meth:`CookieJar.extract` accepts: a Headers or (name, value) pairs.
HeaderPairs = Headers | Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]]


@dataclasses.dataclass(frozen=True, slots=True)
class CookieJarStats:
    """Counters since the jar was made, and its current size."""

    cookies: int  #: stored now (expired ones not yet purged included)
    domains: int  #: distinct cookie domains stored now
    stored: int  #: cookies stored or updated (from servers, set() and files)
    ignored: int  #: Set-Cookie values refused (RFC rules, limits, secure shadowing)
    deleted: int  #: cookies removed by a server (Max-Age<=0, past Expires)
    expired: int  #: expired cookies purged
    evicted: int  #: live cookies dropped to stay within the limits


def _as_url(url: URL | str) -> URL:
    parsed = url if isinstance(url, URL) else URL.parse(url)
    if parsed.scheme is None or not parsed.host:
        raise LocalProtocolError(f"cookies need an absolute URL with a host, not {parsed!r}")
    return parsed


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _set_cookie_values(headers: HeaderPairs) -> list[str]:
    if isinstance(headers, Headers):
        return headers.get_all("set-cookie")
    return [_text(v) for n, v in headers if _text(n).lower() == "set-cookie"]


class CookieJar:
    """Cookies received from servers, chosen again for later requests.

    ``extract`` after each response, ``header_for`` before each request.
    ``clock`` gives POSIX seconds (expiry times are absolute); inject a fake
    one in tests. ``max_per_domain`` bounds one cookie domain (browsers use
    about 50-180); ``limits`` bounds sizes and the total count.
    """

    def __init__(
        self,
        limits: CookieLimits | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_per_domain: int | None = None,
    ) -> None:
        if max_per_domain is None:
            max_per_domain = (limits or CookieLimits()).max_cookies_per_domain
        if type(max_per_domain) is not int or max_per_domain < 1:
            raise LocalProtocolError(f"max_per_domain must be an int >= 1, not {max_per_domain!r}")
        self._limits = limits or CookieLimits()
        self._clock = clock
        self._lock = threading.RLock()
        self._store = CookieStore(self._limits, max_per_domain)

    @property
    def limits(self) -> CookieLimits:
        """The size and count bounds this jar enforces."""
        return self._limits

    @property
    def max_per_domain(self) -> int:
        """How many cookies one domain may hold before eviction."""
        return self._store.max_per_domain

    @property
    def stats(self) -> CookieJarStats:
        """A snapshot of the counters, for metrics and debugging."""
        with self._lock:
            store = self._store
            return CookieJarStats(cookies=len(store), domains=store.domain_count, **store.counts)

    # -- HTTP ------------------------------------------------------------------

    def extract(self, url: URL | str, headers: HeaderPairs) -> int:
        """Store the cookies a response to ``url`` sets; how many were stored.

        Every ``Set-Cookie`` field counts; refused ones and deletions do not.
        An insecure response cannot overwrite or delete a ``Secure`` cookie.
        """
        request_url = _as_url(url)
        values = _set_cookie_values(headers)
        if not values:
            return 0
        secure_request = is_secure_url(request_url)
        now = self._clock()
        stored = 0
        with self._lock:
            store = self._store
            for value in values:
                cookie = parse_set_cookie(
                    value, request_url=request_url, now=now, limits=self._limits
                )
                if cookie is None or (
                    not secure_request and not cookie.secure and store.shadows_secure(cookie)
                ):
                    store.counts["ignored"] += 1
                elif store.store(cookie, now):
                    stored += 1
        return stored

    def cookies_for(
        self,
        url: URL | str,
        *,
        top_level: bool = True,
        method: str = "GET",
        site: URL | str | None = None,
    ) -> list[Cookie]:
        """The cookies to send to ``url``, in ``Cookie`` header order.

        Marks them used (``last_access``), which protects them from eviction.
        ``site`` is the URL whose page or redirect chain started the request:
        when given and not same-site with ``url``, SameSite is enforced
        (``top_level`` and ``method`` decide for ``Lax``); without it every
        request counts as same-site, since a client library has no browsing
        context of its own.
        """
        target = _as_url(url)
        if not len(self._store):  # the common case of a jar nobody filled: no more work
            return []
        cross = site is not None and not same_site(target, _as_url(site))
        host = target.host
        assert host is not None  # _as_url checked
        domains = [host]
        if not is_ip_address(host):
            domains += [host[i + 1 :] for i, ch in enumerate(host) if ch == "."]
        now = self._clock()
        with self._lock:
            store = self._store
            chosen: list[Cookie] = []
            for domain in domains:
                store.purge_expired(now, domain=domain)
                for cookie in store.in_domain(domain):  # a copy: touch() reorders
                    if cookie_applies(
                        cookie, target, now=now, cross_site=cross, top_level=top_level,
                        method=method,
                    ):  # fmt: skip
                        chosen.append(store.touch(cookie, now))
        chosen.sort(key=lambda c: (-len(c.path), c.creation))
        return chosen

    def header_for(
        self,
        url: URL | str,
        *,
        top_level: bool = True,
        method: str = "GET",
        site: URL | str | None = None,
    ) -> str | None:
        """The ``Cookie`` value for a request to ``url``; ``None`` if no cookie applies.

        See :meth:`cookies_for` for the rules and the meaning of ``site``.
        """
        cookies = self.cookies_for(url, top_level=top_level, method=method, site=site)
        return cookie_header(cookies) if cookies else None

    # -- by hand ---------------------------------------------------------------

    def set(  # the cookie's fields, keyword-only
        self,
        name: str,
        value: str,
        *,
        domain: str,
        path: str = "/",
        secure: bool = False,
        expires: float | None = None,
        host_only: bool = False,
        http_only: bool = False,
        same_site: str | None = None,
    ) -> Cookie:
        """Store a cookie made by the program; LocalProtocolError if it is invalid.

        ``domain`` without ``host_only`` also covers its subdomains, like a
        ``Domain`` attribute. Returns the cookie as stored (a replacement
        keeps the creation time of the cookie it replaces).
        """
        now = self._clock()
        cookie = make_cookie(
            name, value, domain=domain, now=now, path=path, expires=expires,
            host_only=host_only, secure=secure, http_only=http_only,
            same_site=same_site, limits=self._limits,
        )  # fmt: skip
        with self._lock:
            self._store.store(cookie, now)
            return self._store.get(cookie.key) or cookie

    def _matching(
        self, name: str | None, domain: str | None, path: str | None, now: float
    ) -> list[Cookie]:
        if domain is not None:
            domain = domain.removeprefix(".").lower()
        return [
            c
            for c in self._store
            if not c.is_expired(now)
            and (name is None or c.name == name)
            and (domain is None or c.domain == domain)
            and (path is None or c.path == path)
        ]

    def get(self, name: str, domain: str | None = None, path: str | None = None) -> str | None:
        """The value of a live cookie called ``name``; ``None`` if there is none.

        ``domain`` and ``path`` narrow the search (exact match). Among several
        matches the one a request would send first wins: longest path, then
        oldest.
        """
        with self._lock:
            found = self._matching(name, domain, path, self._clock())
        if not found:
            return None
        return min(found, key=lambda c: (-len(c.path), c.creation)).value

    def clear(
        self, domain: str | None = None, path: str | None = None, name: str | None = None
    ) -> int:
        """Remove the cookies matching every given field (all when none); how many."""
        with self._lock:
            return self._store.remove_where(
                [c.key for c in self._matching(name, domain, path, -math.inf)]
            )

    def clear_session_cookies(self) -> int:
        """End the session: remove cookies without an expiry time; how many."""
        with self._lock:
            return self._store.remove_where([c.key for c in self._store if c.expires is None])

    def expire(self, now: float | None = None) -> int:
        """Remove cookies expired at ``now`` (default: the clock); how many."""
        with self._lock:
            return self._store.purge_expired(self._clock() if now is None else now, force=True)

    def __len__(self) -> int:
        """How many live cookies the jar holds (expired ones are purged first)."""
        with self._lock:
            self._store.purge_expired(self._clock())
            return len(self._store)

    def __iter__(self) -> Iterator[Cookie]:
        """A snapshot of the live cookies, least recently used first."""
        with self._lock:
            now = self._clock()
            return iter([c for c in self._store if not c.is_expired(now)])

    def __contains__(self, name: object) -> bool:
        """Whether a live cookie has this name (in any domain or path)."""
        if not isinstance(name, str):
            return False
        with self._lock:
            return bool(self._matching(name, None, None, self._clock()))

    def __repr__(self) -> str:
        return f"<CookieJar {len(self)} cookies>"

    # -- persistence -------------------------------------------------------------

    def save(self, path: _PathLike, *, include_session: bool = False) -> int:
        """Write the live cookies to ``path`` in cookies.txt format; how many.

        The file is replaced atomically and made readable by its owner only.
        Session cookies are left out unless ``include_session`` (curl keeps
        them; browsers do not). File-system errors propagate as ``OSError``.
        """
        with self._lock:
            now = self._clock()
            cookies = [
                c
                for c in self._store
                if not c.is_expired(now) and (include_session or c.expires is not None)
            ]
        text, count = format_cookie_file(cookies)
        target = os.fspath(path)
        fd, tmp = tempfile.mkstemp(prefix=".cookies-", dir=os.path.dirname(target) or ".")
        try:  # mkstemp creates the file with mode 0600
            with os.fdopen(fd, "w", encoding="latin-1", newline="\n") as f:
                f.write(text)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return count

    def load_into(self, path: _PathLike, *, missing_ok: bool = True) -> int:
        """Add the cookies of a cookies.txt file; how many were stored.

        A missing file is an empty jar when ``missing_ok`` (curl's ``-b``
        behaves the same); malformed lines are skipped. Other file-system
        errors propagate as ``OSError``.
        """
        try:
            with open(path, encoding="latin-1", newline="") as f:
                text = f.read()
        except FileNotFoundError:
            if missing_ok:
                return 0
            raise
        now = self._clock()
        cookies, skipped = parse_cookie_file(text, now=now, limits=self._limits)
        with self._lock:
            self._store.counts["ignored"] += skipped
            return sum(self._store.store(cookie, now) for cookie in cookies)

    @classmethod
    def load(
        cls,
        path: _PathLike,
        limits: CookieLimits | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_per_domain: int | None = None,
        missing_ok: bool = False,
    ) -> CookieJar:
        """A new jar holding the cookies of a cookies.txt file."""
        jar = cls(limits, clock=clock, max_per_domain=max_per_domain)
        jar.load_into(path, missing_ok=missing_ok)
        return jar
