"""Cookie domain and path matching (RFC 6265 §5.1.3, §5.1.4) and request security.

Pure string functions on canonical hosts and paths, shared by the parser in
:mod:`sockit.proto.http.cookies` (which re-exports them) and the jar.
"""

from __future__ import annotations

from sockit.proto.http.host import is_ipv4_address, is_ipv6_address
from sockit.proto.http.public_suffix import registrable_domain
from sockit.proto.http.url import URL

__all__ = [
    "SECURE_SCHEMES",
    "default_path",
    "domain_match",
    "is_ip_address",
    "is_secure_url",
    "path_match",
    "request_path",
    "same_site",
]

#: Schemes whose requests count as secure for the ``Secure`` attribute.
SECURE_SCHEMES = frozenset({"https", "wss"})


def is_ip_address(host: str) -> bool:
    """Whether ``host`` is an IPv4 or IPv6 literal (never domain-matched loosely)."""
    return is_ipv4_address(host) or is_ipv6_address(host)


def domain_match(host: str, domain: str) -> bool:
    """RFC 6265 §5.1.3: is ``host`` ``domain`` itself or a subdomain of it?

    Both are canonical host names (lowercase, no leading dot). IP addresses
    only ever match themselves: ``1.2.3.4`` is not a "subdomain" of ``3.4``.
    """
    if host == domain:
        return True
    return (
        bool(domain)
        and host.endswith(domain)
        and host[-len(domain) - 1] == "."
        and not is_ip_address(host)
    )


def path_match(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 §5.1.4: does ``cookie_path`` cover ``request_path``?

    ``/docs`` covers ``/docs``, ``/docs/`` and ``/docs/web`` but not ``/docsx``.
    """
    if request_path == cookie_path:
        return True
    if not request_path.startswith(cookie_path):
        return False
    return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"


def request_path(url: URL) -> str:
    """The path a cookie is matched against: the URL's path, ``/`` if empty."""
    return url.path if url.path.startswith("/") else "/"


def default_path(url: URL) -> str:
    """RFC 6265 §5.1.4 default-path: the request path up to its last ``/``.

    ``/a/b/c`` gives ``/a/b``; ``/a``, ``/`` and an empty path give ``/``.
    """
    path = url.path
    if not path.startswith("/") or path.count("/") == 1:
        return "/"
    return path[: path.rfind("/")]


def is_secure_url(url: URL) -> bool:
    """Whether requests to ``url`` go over a secure channel (``https``, ``wss``).

    Like browsers without a secure-context exception, plain ``http`` to
    ``localhost`` is not secure here.
    """
    return url.scheme in SECURE_SCHEMES


def same_site(url: URL, site: URL) -> bool:
    """Whether a request to ``url`` made on behalf of ``site`` is same-site.

    Schemeful, as in 6265bis: same scheme class (secure or not) and the same
    registrable domain (public suffix plus one label).
    """
    if url.host is None or site.host is None:
        return False
    if is_secure_url(url) != is_secure_url(site):
        return False
    return registrable_domain(url.host) == registrable_domain(site.host)
