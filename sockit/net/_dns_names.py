"""Host name checks and address ordering for :mod:`sockit.net.dns`.

Names are refused *before* any lookup so that a bad name costs no worker
thread and can never reach the system resolver in a form it reinterprets:

* IDNA (2003, Python's ``idna`` codec) turns Unicode names into ASCII; a name
  the codec refuses is an :class:`~sockit.errors.AddressError`.
* RFC 1035/1123 shape: at most 253 characters without the root dot, labels of
  1..63 characters of letters, digits, ``-`` and ``_`` (used by service names),
  no label starting or ending with ``-``.
* A name whose last label is numeric (``1.2.3``, ``0x7f.1``) but that is not a
  proper IP literal is refused: ``getaddrinfo`` would otherwise read it with
  ``inet_aton``'s legacy rules as an address (``1.2.3`` is ``1.2.0.3``).
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
from collections.abc import Hashable, Iterable
from typing import Final, TypeVar

from sockit.errors import AddressError
from sockit.net._oserror import check_host

__all__ = ["MAX_NAME_LENGTH", "canonical_host", "ip_literal_family", "order_by_family"]

MAX_NAME_LENGTH: Final = 253
_LABEL: Final = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")
_A = TypeVar("_A", bound=Hashable)
_NUMERIC_LABEL: Final = re.compile(r"(?:[0-9]+|0[xX][0-9a-fA-F]*)\Z")


def _bad(host: str, why: str) -> AddressError:
    return AddressError(errno.EINVAL, f"invalid host name {host[:64]!r}: {why}")


def ip_literal_family(host: str) -> socket.AddressFamily | None:
    """``AF_INET``/``AF_INET6`` when ``host`` is an IP literal, else ``None``.

    Only the strict forms count (dotted quad, RFC 4291 text with an optional
    ``%scope``), so legacy shorthands go through the name checks and fail there.
    """
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return None
    return socket.AF_INET6 if addr.version == 6 else socket.AF_INET


def canonical_host(host: object) -> str:
    """The ASCII, lower-case form of ``host`` used for lookups and as cache key.

    IP literals come back unchanged; names are checked as described in the
    module docs. Raises :class:`~sockit.errors.AddressError` on anything else.
    """
    name = check_host(host)
    if ip_literal_family(name) is not None:
        return name
    if not name:
        raise _bad(name, "empty")
    try:  # ASCII names skip the codec so the checks below give the precise reason
        ascii_name = name if name.isascii() else name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise _bad(name, f"not a valid IDNA name ({exc})") from None
    bare = ascii_name[:-1] if ascii_name.endswith(".") else ascii_name
    if not bare:
        raise _bad(name, "empty")
    if len(bare) > MAX_NAME_LENGTH:
        raise _bad(name, f"longer than {MAX_NAME_LENGTH} characters")
    labels = bare.split(".")
    for label in labels:
        if not label:
            raise _bad(name, "empty label")
        if len(label) > 63:
            raise _bad(name, "label longer than 63 characters")
        if not _LABEL.match(label):
            raise _bad(name, f"label {label[:63]!r} has characters not allowed")
    if _NUMERIC_LABEL.match(labels[-1]):
        raise _bad(name, "numeric last label but not an IP address")
    return bare.lower()


def order_by_family(
    addresses: Iterable[tuple[socket.AddressFamily, _A]], prefer_ipv6: bool
) -> list[tuple[socket.AddressFamily, _A]]:
    """Drop duplicates, then put the preferred family first, keeping the order within each."""
    seen: set[tuple[socket.AddressFamily, _A]] = set()
    unique = []
    for item in addresses:
        if item not in seen:
            seen.add(item)
            unique.append(item)
    first = socket.AF_INET6 if prefer_ipv6 else socket.AF_INET
    return sorted(unique, key=lambda item: item[0] != first)
