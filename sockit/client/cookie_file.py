"""The Netscape ``cookies.txt`` format, as curl and wget read and write it.

One cookie per line, seven TAB-separated fields::

    .example.com  TRUE  /path  FALSE  1767225600  name  value
    domain        include-subdomains  path  secure  expires  name  value

A leading ``.`` and ``TRUE`` mark a domain cookie (sent to subdomains);
``FALSE`` a host-only one. ``expires`` is POSIX seconds, ``0`` for a session
cookie. Lines starting with ``#`` are comments, except that curl writes
HttpOnly cookies with a ``#HttpOnly_`` prefix on the domain. Sharing the
format lets ``curl -b/-c`` and a :class:`~sockit.client.CookieJar` use the
same file.

Text is ISO-8859-1 both ways, like cookie values everywhere in sockit, so
any octets curl stored survive a round trip. The format has no field for
``SameSite``, creation or last-access times: they are lost on saving.
Reading is lenient the way curl is: a line that does not parse is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sockit.errors import LocalProtocolError
from sockit.limits import CookieLimits
from sockit.proto.http.cookies import LATEST_EXPIRY, Cookie, make_cookie

__all__ = ["HEADER", "format_cookie_file", "parse_cookie_file"]

#: The first line curl writes (and wget looks for).
HEADER = "# Netscape HTTP Cookie File"
_PREAMBLE = (
    HEADER + "\n"
    "# https://curl.se/docs/http-cookies.html\n"
    "# Written by sockit. This file holds session secrets: keep it private.\n"
    "\n"
)
_HTTP_ONLY = "#HttpOnly_"
_UNSAFE = frozenset("\t\r\n")
_INTEGER_RE = re.compile(r"-?[0-9]+")


def _flag(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def _line(cookie: Cookie) -> str | None:
    fields = (cookie.domain, cookie.path, cookie.name, cookie.value)
    if any(ch in _UNSAFE for field in fields for ch in field):
        return None  # a TAB or newline would break the line structure
    expires = 0 if cookie.expires is None else max(1, int(cookie.expires))
    domain = cookie.domain if cookie.host_only else "." + cookie.domain
    prefix = _HTTP_ONLY if cookie.http_only else ""
    return "\t".join(
        (
            prefix + domain,
            _flag(not cookie.host_only),
            cookie.path,
            _flag(cookie.secure),
            str(expires),
            cookie.name,
            cookie.value,
        )
    )


def format_cookie_file(cookies: Iterable[Cookie]) -> tuple[str, int]:
    """The file text for ``cookies`` and how many lines it holds.

    Cookies with a TAB or line break in a field cannot be written and are
    left out (they are rare: servers cannot send line breaks at all).
    """
    lines = [line for line in map(_line, cookies) if line is not None]
    return _PREAMBLE + "".join(line + "\n" for line in lines), len(lines)


def _parse_line(line: str, now: float, limits: CookieLimits) -> Cookie | None:
    http_only = line.startswith(_HTTP_ONLY)
    if http_only:
        line = line[len(_HTTP_ONLY) :]
    elif not line or line.startswith("#"):
        return None
    fields = line.split("\t")
    if len(fields) == 6:  # curl writes an empty value this way too
        fields.append("")
    if len(fields) != 7:
        return None
    domain, subdomains, path, secure, expires_text, name, value = fields
    expires_text = expires_text.strip()
    if _INTEGER_RE.fullmatch(expires_text) is None:
        return None
    if len(expires_text) > 15:
        expiry: float | None = LATEST_EXPIRY
    else:
        number = int(expires_text)
        expiry = None if number == 0 else float(number)
    if expiry is not None and expiry <= now:
        return None  # curl drops expired lines on loading too
    try:
        return make_cookie(
            name,
            value,
            domain=domain,
            now=now,
            path=path,
            expires=expiry,
            host_only=subdomains.upper() != "TRUE",
            secure=secure.upper() == "TRUE",
            http_only=http_only,
            limits=limits,
        )
    except LocalProtocolError:
        return None


def parse_cookie_file(
    text: str, *, now: float, limits: CookieLimits | None = None
) -> tuple[list[Cookie], int]:
    """The live cookies in a cookies.txt text, and how many lines were skipped.

    Comments and blank lines are not counted as skipped; malformed lines,
    lines over the size limits and already expired cookies are. Domain
    cookies for a public suffix are refused, as the jar would refuse them
    from a server. Every cookie gets ``creation = last_access = now``.
    """
    lim = limits or CookieLimits()
    cookies: list[Cookie] = []
    skipped = 0
    for raw in text.split("\n"):  # not splitlines(): it also cuts at \x85, \x1c, ...
        line = raw.rstrip("\r")
        if not line.strip() or (line.startswith("#") and not line.startswith(_HTTP_ONLY)):
            continue
        cookie = _parse_line(line, now, lim)
        if cookie is None:
            skipped += 1
        else:
            cookies.append(cookie)
    return cookies, skipped
