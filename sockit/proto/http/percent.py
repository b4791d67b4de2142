"""Percent-encoding (RFC 3986 §2.1, §2.4, §6.2.2.2) and form-style queries.

Decoding is strict: a ``%`` not followed by two hex digits, or decoded octets
that are not valid in the requested encoding, raise :class:`InvalidURL`
instead of being passed through or replaced, so two components that look
different can never silently decode to the same thing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from sockit.errors import LocalProtocolError
from sockit.proto.http.exceptions import InvalidURL

__all__ = [
    "UNRESERVED",
    "check_escapes",
    "encode_query",
    "normalize_percent_encoding",
    "parse_query",
    "quote",
    "quote_from_bytes",
    "unquote",
    "unquote_to_bytes",
]

#: ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3).
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = "0123456789ABCDEF"
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED_RE = re.compile(r"[A-Za-z0-9\-._~]*")


@functools.lru_cache(maxsize=32)
def _table(safe: str) -> tuple[str, ...]:
    keep = UNRESERVED | {c for c in safe if ord(c) < 128}
    return tuple(chr(b) if chr(b) in keep else f"%{_HEX[b >> 4]}{_HEX[b & 15]}" for b in range(256))


def quote_from_bytes(data: bytes, safe: str = "") -> str:
    """Percent-encode every octet except unreserved ones and ASCII in ``safe``."""
    table = _table(safe)
    return "".join([table[b] for b in data])


def quote(text: str, safe: str = "") -> str:
    """Percent-encode the UTF-8 form of ``text`` (uppercase hex digits).

    Unreserved characters are never encoded; ASCII characters listed in
    ``safe`` are kept too (pass ``"/"`` for a path). ``%`` is always encoded
    unless it is in ``safe``. Lone surrogates raise ``LocalProtocolError``.
    """
    if not safe and _UNRESERVED_RE.fullmatch(text):
        return text
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"cannot encode {text!r} as UTF-8") from exc
    return quote_from_bytes(data, safe)


def check_escapes(text: str) -> None:
    """Raise :class:`InvalidURL` if a ``%`` is not followed by two hex digits."""
    bad = _BAD_ESCAPE_RE.search(text)
    if bad is not None:
        raise InvalidURL(f"bad percent-escape at offset {bad.start()} in {text!r}")


def unquote_to_bytes(text: str) -> bytes:
    """Decode ``%XX`` escapes; other characters are taken as UTF-8.

    Raises :class:`InvalidURL` on a malformed escape.
    """
    check_escapes(text)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates
        raise InvalidURL(f"undecodable character in {text!r}") from exc
    if b"%" not in data:
        return data
    parts = data.split(b"%")
    out = bytearray(parts[0])
    for part in parts[1:]:
        out.append(int(part[:2], 16))  # two hex digits, checked above
        out += part[2:]
    return bytes(out)


def unquote(text: str, encoding: str = "utf-8") -> str:
    """Decode ``%XX`` escapes and the resulting octets with ``encoding``.

    Strict both ways: a malformed escape or octets that are not valid
    ``encoding`` raise :class:`InvalidURL`.
    """
    if "%" not in text:
        return text
    data = unquote_to_bytes(text)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InvalidURL(f"percent-decoded {text!r} is not valid {encoding}") from exc


def _normalize_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in UNRESERVED else "%" + match.group(1).upper()


def normalize_percent_encoding(text: str) -> str:
    """Uppercase escape hex digits and decode escaped unreserved characters.

    RFC 3986 §6.2.2.1-2: ``%7e`` and ``%7E`` become ``~``, ``%2f`` becomes
    ``%2F`` (reserved characters stay encoded). Raises :class:`InvalidURL`
    on a malformed escape.
    """
    if "%" not in text:
        return text
    check_escapes(text)
    return _ESCAPE_RE.sub(_normalize_escape, text)


def parse_query(
    query: str, *, plus_as_space: bool = True, encoding: str = "utf-8"
) -> list[tuple[str, str]]:
    """Split a query into decoded ``(name, value)`` pairs, in order.

    Uses the ``application/x-www-form-urlencoded`` conventions: pairs are
    separated by ``&`` (not ``;``), the first ``=`` separates name and value
    (a pair without ``=`` has value ``""``), empty pairs are skipped and ``+``
    means space unless ``plus_as_space`` is false. Decoding is strict
    (:func:`unquote`), so malformed escapes raise :class:`InvalidURL`.
    """
    out: list[tuple[str, str]] = []
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if plus_as_space:
            name = name.replace("+", " ")
            value = value.replace("+", " ")
        out.append((unquote(name, encoding), unquote(value, encoding)))
    return out


def encode_query(pairs: Iterable[tuple[str, str]], *, space_as_plus: bool = True) -> str:
    """Build a form-style query string from ``(name, value)`` pairs.

    Everything but unreserved characters is percent-encoded as UTF-8; spaces
    become ``+`` (or ``%20`` when ``space_as_plus`` is false).
    """
    safe = " " if space_as_plus else ""
    parts = []
    for name, value in pairs:
        n, v = quote(name, safe), quote(value, safe)
        if space_as_plus:
            n, v = n.replace(" ", "+"), v.replace(" ", "+")
        parts.append(f"{n}={v}")
    return "&".join(parts)
