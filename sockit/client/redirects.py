"""What the next request of a redirect chain is: method, body and headers per RFC 9110.

* 301 and 302 turn a POST into a GET without body (what every browser and
  client does); 303 turns anything but HEAD into a GET without body; 307 and
  308 repeat the method and the body (which must then be replayable).
* Leaving the origin (scheme, host or port changes) drops ``Authorization``,
  ``Cookie`` (the jar adds the new origin's own), ``Proxy-Authorization`` and
  any header the caller marked sensitive — urllib3's CVE-2018-20060 and
  CVE-2023-43804 lessons.
* ``https`` → ``http`` is refused with :class:`InsecureRedirect` unless the
  client allows downgrades.
* More than ``max_redirects`` hops raise :class:`TooManyRedirects` (a
  :class:`~sockit.errors.LimitExceeded`); the responses so far are on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sockit.errors import LimitExceeded, RemoteProtocolError
from sockit.proto.http import URL

__all__ = [
    "REDIRECT_STATUSES",
    "InsecureRedirect",
    "RedirectStep",
    "TooManyRedirects",
    "next_hop",
]

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_SENSITIVE: Final = frozenset({"authorization", "cookie", "proxy-authorization"})
_BODY_HEADERS: Final = frozenset(
    {"content-length", "content-type", "content-encoding", "transfer-encoding", "expect"}
)


class TooManyRedirects(LimitExceeded):
    """A redirect chain longer than ``max_redirects`` (a loop, usually)."""


class InsecureRedirect(RemoteProtocolError):
    """An ``https`` URL redirected to plain ``http`` and downgrades are not allowed."""


@dataclass(frozen=True, slots=True)
class RedirectStep:
    """The request to send next: ``url``, ``method``, whether the body goes again, headers."""

    url: URL
    method: str
    keep_body: bool
    cross_origin: bool
    headers: list[tuple[str, str]]


def _origin(url: URL) -> tuple[str | None, str | None, int | None]:
    return (url.scheme, url.host, url.effective_port)


def next_hop(
    status: int,
    location: str,
    url: URL,
    method: str,
    headers: Iterable[tuple[str, str]],
    *,
    allow_downgrade: bool = False,
    sensitive: Iterable[str] = (),
) -> RedirectStep:
    """The request after a ``status`` redirect to ``location`` from ``method url``.

    ``headers`` are the previous request's own headers (not the client's
    defaults, which every request gets anyway). Raises
    :class:`~sockit.errors.RemoteProtocolError` for a Location that is not a
    URL, :class:`InsecureRedirect` for a refused downgrade.
    """
    try:
        target = url.join(location)
    except RemoteProtocolError:
        raise RemoteProtocolError(f"the redirect Location {location!r} is not a URL") from None
    if target.fragment is None and url.fragment is not None:
        target = target.replace(fragment=url.fragment)  # RFC 9110 section 10.2.2
    if target.scheme not in ("http", "https"):
        raise RemoteProtocolError(f"refusing to follow a redirect to {target.scheme}://")
    if url.scheme == "https" and target.scheme == "http" and not allow_downgrade:
        raise InsecureRedirect(f"refusing the downgrade from {url} to {target}")
    new_method, keep_body = method, True
    if (status in (301, 302) and method == "POST") or (status == 303 and method != "HEAD"):
        new_method, keep_body = "GET", False
    cross = _origin(target) != _origin(url)
    drop = set(_SENSITIVE if cross else ()) | {s.lower() for s in sensitive if cross}
    if not keep_body:
        drop |= _BODY_HEADERS
    kept = [(n, v) for n, v in headers if n.lower() not in drop and n.lower() != "host"]
    return RedirectStep(target, new_method, keep_body, cross, kept)
