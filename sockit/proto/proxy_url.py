"""Proxy URLs (``socks5h://user:pw@host:1080``) and the proxy environment variables.

:meth:`ProxyURL.parse` accepts ``scheme://[user[:password]@]host[:port][/]``
for the schemes of :class:`ProxyScheme`, percent-decodes the credentials
(UTF-8), and refuses anything else (a path, a query, an unknown scheme, a
bad port, fields over :class:`~sockit.limits.ProxyLimits`) with
:class:`ProxyURLError`, a :class:`~sockit.errors.ProxyError`.

:func:`proxy_from_environment` picks the proxy for one target the way curl
does: ``http_proxy`` for http/ws targets, ``https_proxy`` for https/wss,
``all_proxy`` otherwise, each lowercase name before its uppercase one;
``no_proxy`` exempts targets. ``HTTP_PROXY`` (uppercase) is ignored when
``REQUEST_METHOD`` is set: under CGI a client's ``Proxy:`` header arrives as
that variable ("httpoxy"). A value without a scheme is an HTTP proxy.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote_to_bytes

from sockit.errors import LocalProtocolError, ProxyError
from sockit.limits import ProxyLimits
from sockit.proto.socks.codec import AddressType, classify_host
from sockit.proto.socks.errors import SOCKSVersion

__all__ = [
    "ProxyScheme",
    "ProxyURL",
    "ProxyURLError",
    "no_proxy_matches",
    "proxy_from_environment",
]


class ProxyURLError(ProxyError):
    """A proxy URL (or a proxy environment variable) is not usable."""


class ProxyScheme(enum.Enum):
    """The proxy kinds a URL can name."""

    HTTP = "http"
    HTTPS = "https"
    SOCKS4 = "socks4"
    SOCKS4A = "socks4a"
    SOCKS5 = "socks5"
    SOCKS5H = "socks5h"


_DEFAULT_PORTS = {ProxyScheme.HTTP: 80, ProxyScheme.HTTPS: 443}
_REMOTE_DNS = frozenset(
    {ProxyScheme.SOCKS4A, ProxyScheme.SOCKS5H, ProxyScheme.HTTP, ProxyScheme.HTTPS}
)
_SOCKS = {
    ProxyScheme.SOCKS4: SOCKSVersion.SOCKS4,
    ProxyScheme.SOCKS4A: SOCKSVersion.SOCKS4A,
    ProxyScheme.SOCKS5: SOCKSVersion.SOCKS5,
    ProxyScheme.SOCKS5H: SOCKSVersion.SOCKS5,
}


@dataclass(frozen=True, slots=True)
class ProxyURL:
    """A parsed, validated proxy URL; ``host`` has no brackets; the password never prints."""

    scheme: ProxyScheme
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def remote_dns(self) -> bool:
        """Whether the proxy resolves the target's name (socks4a, socks5h, http, https)."""
        return self.scheme in _REMOTE_DNS

    @property
    def socks_version(self) -> SOCKSVersion | None:
        """The SOCKS dialect to speak, ``None`` for HTTP(S) proxies."""
        return _SOCKS.get(self.scheme)

    @classmethod
    def parse(cls, url: str, *, limits: ProxyLimits | None = None) -> ProxyURL:
        """Parse and check ``url``; :class:`ProxyURLError` says what is wrong."""
        lim = limits if limits is not None else ProxyLimits()
        if not isinstance(url, str):
            raise ProxyURLError("a proxy URL must be a str")
        if len(url) > lim.max_url_size:
            raise ProxyURLError(f"proxy URL is longer than max_url_size={lim.max_url_size}")
        if any(c <= " " or c == "\x7f" for c in url):
            raise ProxyURLError("proxy URL with spaces or control characters")
        name, sep, rest = url.partition("://")
        if not sep:
            raise ProxyURLError(f"proxy URL without a scheme: {_safe(url)!r}")
        try:
            scheme = ProxyScheme(name.lower())
        except ValueError:
            raise ProxyURLError(f"unknown proxy scheme {name[:20]!r}") from None
        if rest.endswith("/"):
            rest = rest[:-1]
        if any(c in rest for c in "/?#"):
            raise ProxyURLError("a proxy URL has no path, query or fragment")
        userinfo, at, hostport = rest.rpartition("@")
        username = password = None
        if at:
            user_raw, colon, pass_raw = userinfo.partition(":")
            username = _decode(user_raw, "username", lim.max_username_size)
            password = _decode(pass_raw, "password", lim.max_password_size) if colon else None
        host, port = _host_port(hostport, scheme, lim)
        return cls(scheme, host, port, username, password)

    def redacted(self) -> str:
        """The URL with the password replaced by ``***`` (for logs and messages)."""
        return self._url("***" if self.password is not None else None)

    def to_url(self) -> str:
        """The URL with credentials percent-encoded (it parses back to this object)."""
        return self._url(None if self.password is None else quote(self.password, safe=""))

    def _url(self, password: str | None) -> str:
        auth = ""
        if self.username is not None:
            auth = quote(self.username, safe="")
            if password is not None:
                auth += ":" + password
            auth += "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme.value}://{auth}{host}:{self.port}"

    def __str__(self) -> str:
        return self.redacted()


def _safe(url: str) -> str:
    # never echo credentials back in an error message
    return url.rpartition("@")[2][:80]


def _decode(raw: str, what: str, bound: int) -> str:
    data = unquote_to_bytes(raw)
    if len(data) > bound:
        raise ProxyURLError(f"proxy {what} is longer than max_{what}_size={bound}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProxyURLError(f"proxy {what} is not UTF-8 after percent-decoding") from None


def _host_port(hostport: str, scheme: ProxyScheme, lim: ProxyLimits) -> tuple[str, int]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ProxyURLError("unclosed '[' in the proxy host")
        host, tail = hostport[1:end], hostport[end + 1 :]
        if tail and not tail.startswith(":"):
            raise ProxyURLError("junk after the bracketed proxy host")
        digits = tail[1:] if tail else None
    else:
        host, colon, digits_raw = hostport.partition(":")
        digits = digits_raw if colon else None
    if digits is None or digits == "":
        port = _DEFAULT_PORTS.get(scheme, 1080)
    elif digits.isascii() and digits.isdigit() and len(digits) <= 5 and 1 <= int(digits) <= 65535:
        port = int(digits)
    else:
        raise ProxyURLError(f"invalid proxy port {digits[:10]!r}")
    try:
        kind, _raw = classify_host(host, lim)
    except LocalProtocolError as exc:
        raise ProxyURLError(f"invalid proxy host: {exc}") from None
    if (kind is AddressType.IPV6) != hostport.startswith("["):
        raise ProxyURLError("an IPv6 proxy host must be in brackets, and only it")
    return host, port


# -- the environment ----------------------------------------------------------------------


def _env(environ: Mapping[str, str], name: str, *, cgi_safe: bool = False) -> str | None:
    value = environ.get(name.lower())
    if value is None and not (cgi_safe and "REQUEST_METHOD" in environ):
        value = environ.get(name.upper())
    return value


def _normal_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _entry_matches(entry: str, host: str, port: int) -> bool:
    if entry == "*":
        return True
    entry_port: int | None = None
    if entry.startswith("["):
        inner, _, tail = entry[1:].partition("]")
        entry = inner
        if tail.startswith(":") and tail[1:].isdigit():
            entry_port = int(tail[1:])
    elif entry.count(":") == 1:
        name, _, digits = entry.partition(":")
        if digits.isdigit():
            entry, entry_port = name, int(digits)
    if entry_port is not None and entry_port != port:
        return False
    target_ip = _ip(host)
    if "/" in entry:
        if target_ip is None:
            return False
        try:
            return target_ip in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
    entry_ip = _ip(entry)
    if entry_ip is not None or target_ip is not None:
        return entry_ip is not None and entry_ip == target_ip
    entry = entry.lstrip("*").lstrip(".").rstrip(".")
    return bool(entry) and (host == entry or host.endswith("." + entry))


def no_proxy_matches(no_proxy: str, host: str, port: int) -> bool:
    """Whether ``host:port`` is exempt by a ``NO_PROXY`` value.

    Entries are separated by commas or whitespace: ``*`` (everything), names
    (``example.com`` and ``.example.com`` both cover the name and its
    subdomains), IP literals, CIDR blocks (``10.0.0.0/8``), and any of those
    with ``:port`` (IPv6 as ``[::1]:port``). Case and a trailing dot do not matter.
    """
    target = _normal_host(host)
    entries = no_proxy.replace(",", " ").lower().split()
    return any(_entry_matches(entry, target, port) for entry in entries)


def proxy_from_environment(
    target_scheme: str, target_host: str, target_port: int, environ: Mapping[str, str]
) -> ProxyURL | None:
    """The proxy the environment names for this target, or ``None`` (see the module docstring).

    An unparsable proxy variable raises :class:`ProxyURLError` rather than
    silently connecting directly.
    """
    no_proxy = _env(environ, "no_proxy")
    if no_proxy and no_proxy_matches(no_proxy, target_host, target_port):
        return None
    scheme = target_scheme.lower()
    value: str | None = None
    if scheme in ("http", "ws"):
        value = _env(environ, "http_proxy", cgi_safe=True)
    elif scheme in ("https", "wss"):
        value = _env(environ, "https_proxy")
    if not value:
        value = _env(environ, "all_proxy")
    if not value:
        return None
    value = value.strip()
    if "://" not in value:
        value = "http://" + value
    return ProxyURL.parse(value)
