"""HTTP cookies (RFC 6265, with the RFC 6265bis hardening rules), sans-I/O.

This module is the part of a cookie jar that needs no storage, clock or lock:
turning one ``Set-Cookie`` value into a :class:`Cookie` (§5.2 parsing plus the
§5.3 storage-model decisions that concern a single cookie), the domain and
path matching rules (§5.1.3, §5.1.4), the choice of cookies for a request
(§5.4) and the ``Cookie`` header itself. :class:`sockit.client.CookieJar`
adds storage, limits, eviction and persistence on top.

Following RFC 6265, a ``Set-Cookie`` that breaks the rules is *ignored*, never
an error: :func:`parse_set_cookie` returns ``None`` for it. Choices made where
the RFCs leave room or have moved on:

* A name-value pair without ``=`` is ignored (RFC 6265; 6265bis would store a
  cookie with an empty name, which few servers mean and none need).
* Control characters other than HTAB anywhere, or characters beyond U+00FF
  (which cannot be sent in a header), make the whole string ignored (6265bis).
* An insecure response (not ``https``/``wss``) cannot set a ``Secure``
  cookie, and the ``__Secure-`` and ``__Host-`` name prefixes are enforced
  (6265bis §4.1.3). That an insecure response cannot *overwrite* a secure
  cookie needs the store, so the jar checks it.
* ``SameSite`` is parsed and kept (``"Strict"``, ``"Lax"``, ``"None"``, or
  ``None`` when absent or unrecognised); see :func:`cookie_applies` for how
  far it is enforced. ``SameSite=None`` without ``Secure`` is *not* refused:
  that 6265bis rule protects browsers' cross-site requests, which a client
  library does not make on its own.
* ``Domain`` values that are public suffixes are refused
  (:mod:`sockit.proto.http.public_suffix`).
* A name, value, domain or path longer than :class:`CookieLimits` allows
  makes the cookie ignored, never truncated.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from sockit.errors import LocalProtocolError
from sockit.limits import CookieLimits
from sockit.proto.http.cookie_date import parse_cookie_date
from sockit.proto.http.cookie_match import (
    SECURE_SCHEMES,
    default_path,
    domain_match,
    is_ip_address,
    is_secure_url,
    path_match,
    request_path,
    same_site,
)
from sockit.proto.http.exceptions import InvalidURL
from sockit.proto.http.host import idna_encode
from sockit.proto.http.public_suffix import (
    PUBLIC_SUFFIXES,
    is_public_suffix,
    registrable_domain,
)
from sockit.proto.http.url import URL

__all__ = [
    "EARLIEST_EXPIRY",
    "LATEST_EXPIRY",
    "PUBLIC_SUFFIXES",
    "SECURE_SCHEMES",
    "Cookie",
    "cookie_applies",
    "cookie_header",
    "default_path",
    "domain_match",
    "is_ip_address",
    "is_public_suffix",
    "is_secure_url",
    "make_cookie",
    "parse_cookie_date",
    "parse_set_cookie",
    "path_match",
    "registrable_domain",
    "request_path",
    "same_site",
]

#: Expiry given to ``Max-Age<=0``: "the earliest representable date" (§5.2.2),
#: here 1601-01-01, the earliest date the cookie-date algorithm accepts.
EARLIEST_EXPIRY = -11644473600.0
#: Expiry times saturate at 9999-12-31T23:59:59Z, so a huge ``Max-Age`` stays
#: a finite number that still fits the cookies.txt format.
LATEST_EXPIRY = 253402300799.0
_SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None"}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# 6265bis §5.7 step 1: CTLs except HTAB abort parsing; so do characters that
# ISO-8859-1 cannot encode (they could never be sent back).
_BAD_CHAR_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")
_MAX_AGE_RE = re.compile(r"-?[0-9]+")
_WSP = " \t"
_DEFAULT_LIMITS = CookieLimits()


@dataclasses.dataclass(frozen=True, slots=True)
class Cookie:
    """One stored cookie: the RFC 6265 §5.3 fields.

    ``domain`` is canonical (lowercase, punycode, no leading dot) and is the
    request host itself when ``host_only``. ``expires`` is POSIX seconds, or
    ``None`` for a session cookie that lives until the jar's session ends.
    ``creation`` and ``last_access`` order the ``Cookie`` header and
    eviction; update them with :func:`dataclasses.replace`.
    """

    name: str
    value: str
    domain: str
    path: str = "/"
    expires: float | None = None
    host_only: bool = True
    secure: bool = False
    http_only: bool = False
    same_site: str | None = None
    creation: float = 0.0
    last_access: float = 0.0

    @property
    def persistent(self) -> bool:
        """Whether the cookie outlives the session (it has an expiry time)."""
        return self.expires is not None

    def is_expired(self, now: float) -> bool:
        """Whether the expiry time has been reached at ``now``."""
        return self.expires is not None and self.expires <= now

    @property
    def key(self) -> tuple[str, str, str]:
        """(domain, path, name): a new cookie with the same key replaces this one."""
        return (self.domain, self.path, self.name)


def cookie_applies(
    cookie: Cookie,
    url: URL,
    *,
    now: float,
    cross_site: bool = False,
    top_level: bool = True,
    method: str = "GET",
) -> bool:
    """RFC 6265 §5.4 step 1: should ``cookie`` go with a request to ``url``?

    Domain (exact for host-only cookies), path, ``Secure`` (secure schemes
    only) and expiry are always checked. ``SameSite`` matters only for a
    ``cross_site`` request: ``Strict`` cookies are withheld, ``Lax`` ones are
    sent only for a top-level navigation with a safe method, ``None`` and
    unmarked ones are sent. A client library has no browsing context, so the
    caller decides what cross-site means; by default nothing is.
    """
    host = url.host
    if not host or cookie.is_expired(now):
        return False
    if cookie.host_only:
        if host != cookie.domain:
            return False
    elif not domain_match(host, cookie.domain):
        return False
    if not path_match(request_path(url), cookie.path):
        return False
    if cookie.secure and not is_secure_url(url):
        return False
    if cross_site and cookie.same_site is not None:
        if cookie.same_site == "Strict":
            return False
        if cookie.same_site == "Lax":
            return top_level and method.upper() in _SAFE_METHODS
    return True


def cookie_header(cookies: Iterable[Cookie]) -> str:
    """The ``Cookie`` field value for ``cookies`` (RFC 6265 §5.4 steps 2-4).

    Longer paths first, then earlier creation; ties keep the given order.
    The caller chose the cookies (see :func:`cookie_applies`).
    """
    ordered = sorted(cookies, key=lambda c: (-len(c.path), c.creation))
    return "; ".join(f"{c.name}={c.value}" for c in ordered)


# -- parsing -------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Attributes:
    """The cookie-attribute-list of §5.2, reduced to the last value of each."""

    expires: float | None = None
    max_age: float | None = None
    domain: str | None = None
    path: str | None = None
    secure: bool = False
    http_only: bool = False
    same_site: str | None = None


def _max_age(value: str, now: float) -> float | None:
    """§5.2.2: the expiry for a Max-Age value, ``None`` if the value is invalid."""
    if _MAX_AGE_RE.fullmatch(value) is None:
        return None
    digits = value.lstrip("-").lstrip("0")
    if value.startswith("-") or not digits:
        return EARLIEST_EXPIRY
    if len(digits) > 15:  # int() of thousands of digits is slow (and refused)
        return LATEST_EXPIRY
    return min(now + int(digits), LATEST_EXPIRY)


def _domain(value: str, limits: CookieLimits) -> str | None:
    """§5.2.3 plus canonicalization; ``None`` means "ignore this attribute".

    A value that cannot be canonicalized is kept as it is: it then fails the
    domain-match (or size) check and the cookie is ignored, as it must be.
    """
    if not value:
        return None  # "the user agent SHOULD ignore the cookie-av entirely"
    domain = value[1:] if value.startswith(".") else value
    if len(domain) > limits.max_domain_size:
        return domain  # refused later by the size check, without IDNA work
    try:
        return idna_encode(domain)
    except InvalidURL:
        return domain


def _attributes(parts: list[str], now: float, limits: CookieLimits) -> _Attributes | None:
    attrs = _Attributes()
    for av in parts:
        name, _, value = av.partition("=")
        name = name.strip(_WSP).lower()
        value = value.strip(_WSP)
        if name == "expires":
            expiry = parse_cookie_date(value)
            if expiry is not None:
                attrs.expires = expiry
        elif name == "max-age":
            expiry = _max_age(value, now)
            if expiry is not None:
                attrs.max_age = expiry
        elif name == "domain":
            domain = _domain(value, limits)
            if domain is not None:
                attrs.domain = domain
        elif name == "path":
            if len(value) > limits.max_path_size:
                return None
            attrs.path = value if value.startswith("/") else None
        elif name == "secure":
            attrs.secure = True
        elif name == "httponly":
            attrs.http_only = True
        elif name == "samesite":
            attrs.same_site = _SAME_SITE.get(value.lower())
    return attrs


def _prefix_ok(name: str, attrs: _Attributes, secure_request: bool) -> bool:
    """6265bis §4.1.3 cookie name prefixes (compared case-insensitively)."""
    lowered = name[:9].lower()
    if lowered.startswith("__secure-"):
        return attrs.secure and secure_request
    if lowered.startswith("__host-"):
        return attrs.secure and secure_request and attrs.domain is None and attrs.path == "/"
    return True


def parse_set_cookie(
    value: str | bytes,
    *,
    request_url: URL,
    now: float,
    limits: CookieLimits | None = None,
) -> Cookie | None:
    """The cookie a ``Set-Cookie`` value from a response to ``request_url`` sets.

    ``None`` means "ignore it" (RFC 6265 §5.2, §5.3 and the 6265bis rules in
    the module docstring); this never raises for any ``value``. A returned
    cookie may already be expired (``Max-Age=0``, a past ``Expires``): that
    is an instruction to delete the stored cookie with the same key.
    ``bytes`` are decoded as ISO-8859-1, like every header value in sockit.
    ``request_url`` must be absolute with a host (else LocalProtocolError).
    """
    host = request_url.host
    if request_url.scheme is None or not host:
        raise LocalProtocolError(f"cookies need an absolute URL with a host, not {request_url!r}")
    lim = limits or _DEFAULT_LIMITS
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    if _BAD_CHAR_RE.search(text) is not None:
        return None
    pair, *parts = text.split(";")
    if "=" not in pair:
        return None
    name, _, cookie_value = pair.partition("=")
    name = name.strip(_WSP)
    cookie_value = cookie_value.strip(_WSP)
    if not name or len(name) > lim.max_name_size or len(cookie_value) > lim.max_value_size:
        return None
    attrs = _attributes(parts, now, lim)
    if attrs is None:
        return None
    expires = attrs.max_age if attrs.max_age is not None else attrs.expires
    domain = attrs.domain or ""
    if domain and is_public_suffix(domain) and not is_ip_address(domain):
        if domain != host:
            return None
        domain = ""  # the host is the suffix itself: keep it, host-only
    if domain:
        if not domain_match(host, domain):
            return None
        host_only = False
    else:
        domain, host_only = host, True
    if len(domain) > lim.max_domain_size:
        return None
    path = attrs.path if attrs.path is not None else default_path(request_url)
    if len(path) > lim.max_path_size:
        return None
    secure_request = is_secure_url(request_url)
    if attrs.secure and not secure_request:
        return None  # 6265bis: only secure origins may set Secure cookies
    if not _prefix_ok(name, attrs, secure_request):
        return None
    return Cookie(
        name=name,
        value=cookie_value,
        domain=domain,
        path=path,
        expires=expires,
        host_only=host_only,
        secure=attrs.secure,
        http_only=attrs.http_only,
        same_site=attrs.same_site,
        creation=now,
        last_access=now,
    )


def _refuse(what: str, text: str) -> LocalProtocolError:
    shown = repr(text) if len(text) <= 80 else repr(text[:80]) + "..."
    return LocalProtocolError(f"invalid cookie {what} {shown}")


def make_cookie(
    name: str,
    value: str,
    *,
    domain: str,
    now: float,
    path: str = "/",
    expires: float | None = None,
    host_only: bool = False,
    secure: bool = False,
    http_only: bool = False,
    same_site: str | None = None,
    limits: CookieLimits | None = None,
) -> Cookie:
    """A cookie made by the program, not by a server: checked, not ignored.

    The same rules as :func:`parse_set_cookie` apply, but a breach is the
    caller's mistake, so it raises :class:`LocalProtocolError`: a name with
    ``=``, ``;``, whitespace at either end or control characters, a value with
    ``;`` or controls, sizes over ``limits``, a path not starting with ``/``,
    a listed public suffix (:data:`PUBLIC_SUFFIXES`) as ``domain`` of a
    domain cookie. Unlisted single labels (``localhost``) are allowed here:
    the program, unlike a server, is trusted to mean them. A leading ``.`` on
    ``domain`` is dropped; ``host_only=False`` sends the cookie to subdomains.
    """
    lim = limits or _DEFAULT_LIMITS
    if (
        not name
        or len(name) > lim.max_name_size
        or "=" in name
        or ";" in name
        or name != name.strip(_WSP)
        or _BAD_CHAR_RE.search(name) is not None
    ):
        raise _refuse("name", name)
    if (
        len(value) > lim.max_value_size
        or ";" in value
        or value != value.strip(_WSP)
        or _BAD_CHAR_RE.search(value) is not None
    ):
        raise _refuse("value", value)
    bare = domain[1:] if domain.startswith(".") else domain
    try:
        canonical = idna_encode(bare) if len(bare) <= lim.max_domain_size else ""
    except InvalidURL:
        canonical = ""
    if not canonical or _BAD_CHAR_RE.search(canonical) is not None or ";" in canonical:
        raise _refuse("domain", domain)
    if not host_only and canonical in PUBLIC_SUFFIXES:
        raise _refuse("domain (a public suffix; use host_only=True)", domain)
    if not path.startswith("/") or len(path) > lim.max_path_size or _BAD_CHAR_RE.search(path):
        raise _refuse("path", path)
    if same_site is not None and same_site not in _SAME_SITE.values():
        raise _refuse("SameSite value", same_site)
    return Cookie(
        name=name,
        value=value,
        domain=canonical,
        path=path,
        expires=None if expires is None else min(float(expires), LATEST_EXPIRY),
        host_only=host_only,
        secure=secure,
        http_only=http_only,
        same_site=same_site,
        creation=now,
        last_access=now,
    )
