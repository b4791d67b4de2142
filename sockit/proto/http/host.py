"""The host subcomponent of a URI (RFC 3986 §3.2.2), with IDNA.

Three kinds of host exist: IP-literals in brackets (only IPv6 here), dotted
IPv4 addresses, and registered names. Hosts are returned *without* brackets;
whoever serializes an authority adds them back for any host containing ``:``.

Choices, each a refusal rather than a guess:

* IPv6 zone identifiers (RFC 6874, ``[fe80::1%25eth0]``) are refused: the
  RFC was never adopted by browsers, a zone is meaningless to any host but
  the sender, and HTTP/1.1 forbids sending it in ``Host``.
* ``IPvFuture`` literals (``[v1.x]``) are refused: none is defined, and one
  without a ``:`` could not be told apart from a registered name afterwards.
* Non-ASCII registered names are converted with the standard library's
  ``idna`` codec (IDNA 2003, ToASCII with nameprep). It differs from IDNA
  2008 for a few characters (sharp s maps to ``ss``, final sigma to sigma).
  The result must be a DNS-style name (letters, digits, ``-``, ``_``,
  ``.``): anything nameprep maps onto other ASCII (FULLWIDTH SOLIDUS to
  ``/``, FULLWIDTH PERCENT SIGN to ``%``, ...) is refused, so a host can
  never smuggle delimiters.
"""

from __future__ import annotations

import ipaddress
import re

from sockit.proto.http.exceptions import InvalidURL

__all__ = [
    "canonical_ipv6",
    "idna_decode",
    "idna_encode",
    "is_ipv4_address",
    "is_ipv6_address",
    "parse_host",
]


def _ipv6_pattern() -> tuple[str, str]:
    h16 = "[0-9A-Fa-f]{1,4}"
    dec_octet = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    ipv4 = rf"{dec_octet}(?:\.{dec_octet}){{3}}"
    ls32 = rf"(?:{h16}:{h16}|{ipv4})"
    # RFC 3986 §3.2.2 IPv6address, one alternative per number of leading
    # groups before "::" (n = None is the form without "::").
    alternatives = [rf"(?:{h16}:){{6}}{ls32}", rf"::(?:{h16}:){{5}}{ls32}"]
    for before, after in ((0, 4), (1, 3), (2, 2), (3, 1), (4, 0)):
        head = rf"(?:(?:{h16}:){{0,{before}}}{h16})?"
        alternatives.append(rf"{head}::(?:{h16}:){{{after}}}{ls32}")
    alternatives.append(rf"(?:(?:{h16}:){{0,5}}{h16})?::{h16}")
    alternatives.append(rf"(?:(?:{h16}:){{0,6}}{h16})?::")
    return "|".join(f"(?:{alt})" for alt in alternatives), ipv4


_IPV6_SRC, _IPV4_SRC = _ipv6_pattern()
_IPV6_RE = re.compile(_IPV6_SRC)
_IPV4_RE = re.compile(_IPV4_SRC)
# reg-name = *( unreserved / pct-encoded / sub-delims ); escapes checked apart.
_REG_NAME_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]*")
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE_RE = re.compile(r"%[0-9a-f]{2}")
_DNS_NAME_RE = re.compile(r"[a-z0-9\-_.]+")


def is_ipv6_address(text: str) -> bool:
    """Whether ``text`` matches RFC 3986 ``IPv6address`` (no brackets, no zone)."""
    return _IPV6_RE.fullmatch(text) is not None


def is_ipv4_address(text: str) -> bool:
    """Whether ``text`` is strict dotted-decimal IPv4 (no leading zeros)."""
    return _IPV4_RE.fullmatch(text) is not None


def idna_encode(host: str) -> str:
    """The ASCII (punycode) form of a registered name; ASCII input is lowercased.

    Raises :class:`InvalidURL` if the stdlib IDNA codec refuses the name
    (empty or over-long labels, prohibited characters) or if the result is not
    a DNS-style name.
    """
    if host.isascii():
        return host.lower()
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidURL(f"invalid internationalized host {host!r}: {exc}") from exc
    if _DNS_NAME_RE.fullmatch(ascii_host) is None:
        raise InvalidURL(f"internationalized host {host!r} maps to {ascii_host!r}")
    return ascii_host


def idna_decode(host: str) -> str:
    """The Unicode form of a punycode host for display; ``host`` itself if not IDNA."""
    if "xn--" not in host.lower():
        return host
    try:
        return host.encode("ascii").decode("idna")
    except UnicodeError:
        return host


def parse_host(text: str) -> str:
    """Validate and canonicalize the host subcomponent as it appears in a URI.

    ``text`` may be a bracketed IP-literal, an IPv4 address or a registered
    name (possibly non-ASCII). Returns the host without brackets: IPv6 in
    lowercase, names lowercased (escapes uppercased) and IDNA-encoded.
    Raises :class:`InvalidURL`.
    """
    if text.startswith("["):
        if not text.endswith("]"):
            raise InvalidURL(f"unterminated IP-literal {text!r}")
        literal = text[1:-1]
        if "%" in literal:
            raise InvalidURL(f"IPv6 zone identifiers are not supported: {text!r}")
        if literal[:1] in ("v", "V"):
            raise InvalidURL(f"IPvFuture literals are not supported: {text!r}")
        if _IPV6_RE.fullmatch(literal) is None:
            raise InvalidURL(f"invalid IPv6 address {text!r}")
        return literal.lower()
    if not text.isascii():
        return idna_encode(text)
    if _REG_NAME_RE.fullmatch(text) is None:
        raise InvalidURL(f"invalid character in host {text!r}")
    host = text.lower()
    if "%" in host:
        if _BAD_ESCAPE_RE.search(host):
            raise InvalidURL(f"bad percent-escape in host {text!r}")
        host = _ESCAPE_RE.sub(_upper_escape, host)  # lowercase name, uppercase %XX
    return host


def _upper_escape(match: re.Match[str]) -> str:
    return match.group().upper()


def canonical_ipv6(address: str) -> str:
    """RFC 5952 text form of a valid IPv6 address (compressed, lowercase)."""
    return ipaddress.IPv6Address(address).compressed
