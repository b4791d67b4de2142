"""An ordered, case-insensitive multi-dict of HTTP fields (RFC 9110 §5).

Storage is ``bytes``. The HTTP/1.1 parser and the HPACK decoder both produce
``(bytes, bytes)`` pairs, and the serializers want bytes back, so keeping the
wire form avoids an encode/decode per field on the hot path and makes
:meth:`Headers.from_raw` a list copy plus an index build. Names keep the case
they were given (HTTP/1.1 peers sometimes care); lookups use an index keyed by
the ASCII-lowercased name.

The text API (``get``, ``[]``, ``items``, ...) accepts ``str`` or ``bytes`` and
returns ``str`` decoded as ISO-8859-1: a lossless, never-failing 1:1 mapping of
octets, so ``obs-text`` survives a round trip. ``str`` values passed in are
encoded as ISO-8859-1 too (characters beyond U+00FF are refused). Use the
``*_raw`` methods for the bytes themselves.

Name lowering is ASCII-only on purpose: ``str.lower`` would map U+212A KELVIN
SIGN to ``k`` and let a non-ASCII name alias an ASCII one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeAlias

from sockit.errors import LocalProtocolError
from sockit.proto.http.syntax import TCHAR, split_list

__all__ = ["Headers", "HeadersInput", "is_valid_name", "is_valid_value"]

_NAME_RE = re.compile(rf"[{TCHAR}]+".encode())
# Octets a field value may never contain: CTLs other than HTAB, and DEL.
_BAD_VALUE_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_WS = b" \t"
_SET_COOKIE = b"set-cookie"
_SECRET = frozenset({b"authorization", b"proxy-authorization"})

_Text = str | bytes


def _as_bytes(value: _Text) -> bytes | None:
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return None


def is_valid_name(name: _Text) -> bool:
    """Whether ``name`` is a field name (a token, RFC 9110 §5.1)."""
    raw = _as_bytes(name)
    return raw is not None and _NAME_RE.fullmatch(raw) is not None


def is_valid_value(value: _Text) -> bool:
    """Whether ``value`` is a field-value (RFC 9110 §5.5).

    No CTLs except HTAB (so no CR, LF or NUL), no DEL, and no leading or
    trailing whitespace; ``obs-text`` octets are allowed, the empty value too.
    """
    raw = _as_bytes(value)
    if raw is None:
        return False
    if not raw:
        return True
    if raw[0] in _WS or raw[-1] in _WS:
        return False
    return _BAD_VALUE_RE.search(raw) is None


def _key(name: _Text) -> bytes | None:
    """The index key of ``name``, or ``None`` if no stored field can match it."""
    raw = _as_bytes(name)
    return None if raw is None else raw.lower()


def _build_index(items: list[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    index: dict[bytes, list[bytes]] = {}
    for name, value in items:
        key = name.lower()
        values = index.get(key)
        if values is None:
            index[key] = [value]
        else:
            values.append(value)
    return index


def _checked_name(name: _Text) -> bytes:
    if not isinstance(name, (str, bytes)):
        raise LocalProtocolError(f"field name must be str or bytes, not {type(name).__name__}")
    raw = _as_bytes(name)
    if raw is None or _NAME_RE.fullmatch(raw) is None:
        raise LocalProtocolError(f"invalid field name {name!r}")
    return raw


def _checked_value(value: _Text) -> bytes:
    if not isinstance(value, (str, bytes)):
        raise LocalProtocolError(f"field value must be str or bytes, not {type(value).__name__}")
    raw = _as_bytes(value)
    if raw is None or not is_valid_value(raw):
        raise LocalProtocolError(f"invalid field value {value!r}")
    return raw


class Headers:
    """Ordered (name, value) fields with O(1) case-insensitive lookup.

    ``len()`` and iteration count every field line: ``list(headers)`` is the
    list of ``(name, value)`` text pairs, duplicates included, in order.
    Equality ignores name case and the relative order of *different* names but
    not the order of values of the same name (RFC 9110 §5.3).
    """

    __slots__ = ("_index", "_items", "_validated")
    __hash__ = None  # type: ignore[assignment]  # mutable

    _items: list[tuple[bytes, bytes]]
    _index: dict[bytes, list[bytes]]
    _validated: bool

    def __init__(
        self,
        fields: HeadersInput | None = None,
    ) -> None:
        self._items = []
        self._index = {}
        if fields is None:
            self._validated = True
            return
        if isinstance(fields, Headers):
            self._items = list(fields._items)
            self._index = {k: list(v) for k, v in fields._index.items()}
            self._validated = fields._validated
            return
        self._validated = True
        pairs: Iterable[tuple[_Text, _Text]]
        pairs = fields.items() if isinstance(fields, Mapping) else fields
        for pair in pairs:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise LocalProtocolError(f"expected a (name, value) pair, got {pair!r}")
            self.add(pair[0], pair[1])

    @classmethod
    def from_raw(cls, pairs: Iterable[tuple[bytes, bytes]]) -> Headers:
        """Wrap pairs from a parser that already validated them: no checks.

        Names keep their case. The lookup index (keyed by lowered names) is
        built on the first lookup, so a parser can hand headers over for the
        price of a list copy.
        """
        self = cls.__new__(cls)
        self._items = list(pairs)
        return self

    if not TYPE_CHECKING:  # hidden from type checkers: it would make any name valid

        def __getattr__(self, name: str) -> object:
            # Only called when normal lookup fails: the index of from_raw()
            # headers, on first use.
            if name == "_index":
                index = self._index = _build_index(self._items)
                return index
            if name == "_validated":
                return False  # from_raw(): trusted, never checked here
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- reading -----------------------------------------------------------

    def _combined(self, name: _Text) -> bytes | None:
        key = _key(name)
        values = None if key is None else self._index.get(key)
        if values is None:
            return None
        if len(values) == 1:
            return values[0]
        if key == _SET_COOKIE:
            raise LocalProtocolError(
                "Set-Cookie field lines must not be combined (RFC 9110 §5.3); use get_all()"
            )
        return b", ".join(values)

    def __getitem__(self, name: _Text) -> str:
        """All values of ``name`` combined with ``", "``; KeyError if absent.

        Set-Cookie cannot be combined: with more than one line this raises
        :class:`LocalProtocolError` (use :meth:`get_all`).
        """
        value = self._combined(name)
        if value is None:
            raise KeyError(name)
        return value.decode("latin-1")

    def get(self, name: _Text, default: str | None = None) -> str | None:
        """Like ``headers[name]`` but returns ``default`` when absent."""
        value = self._combined(name)
        return default if value is None else value.decode("latin-1")

    def get_raw(self, name: _Text) -> bytes | None:
        """The combined value of ``name`` as bytes, or ``None`` when absent."""
        return self._combined(name)

    def get_all(self, name: _Text) -> list[str]:
        """Every value of ``name``, one per field line, in order."""
        key = _key(name)
        values = None if key is None else self._index.get(key)
        return [] if values is None else [v.decode("latin-1") for v in values]

    def get_all_raw(self, name: _Text) -> list[bytes]:
        """Every value of ``name`` as bytes, one per field line, in order."""
        key = _key(name)
        values = None if key is None else self._index.get(key)
        return [] if values is None else list(values)

    def get_list(self, name: _Text) -> list[str]:
        """The elements of a list-valued field across all its lines.

        Splits on commas outside quoted-strings and drops empty elements
        (RFC 9110 §5.6.1); raises :class:`InvalidHeader` on an unterminated
        quoted-string. Comments (``(...)``) are not special.
        """
        out: list[str] = []
        for value in self.get_all_raw(name):
            out.extend(split_list(value))
        return out

    @property
    def validated(self) -> bool:
        """Whether every field line passed the name and value checks on the way in.

        ``True`` for headers built through the checking API (the constructor,
        :meth:`add`, :meth:`set`); ``False`` once :meth:`from_raw` trusted a
        caller's pairs. Serializers use it to skip checking again.
        """
        return self._validated

    def lookup_raw(self, key: bytes) -> list[bytes] | None:
        """The values stored under ``key``, an already lowercased name, or ``None``.

        A read-only view for hot paths: the list is the one :class:`Headers`
        keeps (never modify it); :meth:`get_all_raw` returns a copy instead.
        """
        return self._index.get(key)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, (str, bytes)):
            return False
        key = _key(name)
        return key is not None and key in self._index

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for name, value in self._items:
            yield name.decode("latin-1"), value.decode("latin-1")

    def items(self) -> list[tuple[str, str]]:
        """Every field line as a ``(name, value)`` text pair, in order."""
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self._items]

    def raw_items(self) -> list[tuple[bytes, bytes]]:
        """Every field line as ``(name, value)`` bytes, names in original case."""
        return list(self._items)

    def keys(self) -> list[str]:
        """The distinct field names, lowercased, in order of first appearance."""
        return [k.decode("latin-1") for k in self._index]

    # -- writing -----------------------------------------------------------

    def add(self, name: _Text, value: _Text) -> None:
        """Append a field line after checking name and value (LocalProtocolError)."""
        raw_name = _checked_name(name)
        raw_value = _checked_value(value)
        self._items.append((raw_name, raw_value))
        key = raw_name.lower()
        values = self._index.get(key)
        if values is None:
            self._index[key] = [raw_value]
        else:
            values.append(raw_value)

    def extend(self, fields: Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]]) -> None:
        """:meth:`add` every pair of ``fields``, in order."""
        for name, value in fields:
            self.add(name, value)

    def set(self, name: _Text, value: _Text) -> None:
        """Replace every line of ``name`` by one; it takes the first one's place."""
        raw_name = _checked_name(name)
        raw_value = _checked_value(value)
        key = raw_name.lower()
        if key not in self._index:
            self._items.append((raw_name, raw_value))
            self._index[key] = [raw_value]
            return
        items: list[tuple[bytes, bytes]] = []
        placed = False
        for item in self._items:
            if item[0].lower() != key:
                items.append(item)
            elif not placed:
                items.append((raw_name, raw_value))
                placed = True
        self._items = items
        self._index[key] = [raw_value]

    def __setitem__(self, name: _Text, value: _Text) -> None:
        self.set(name, value)

    def remove(self, name: _Text) -> int:
        """Remove every line of ``name``; returns how many were removed."""
        key = _key(name)
        if key is None or key not in self._index:
            return 0
        count = len(self._index.pop(key))
        self._items = [item for item in self._items if item[0].lower() != key]
        return count

    def __delitem__(self, name: _Text) -> None:
        if not self.remove(name):
            raise KeyError(name)

    def copy(self) -> Headers:
        """An independent copy (values are immutable bytes, lists are new)."""
        return Headers(self)

    # -- comparison and display -------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._index == other._index

    def __repr__(self) -> str:
        shown = [
            (n.decode("latin-1"), "[redacted]" if n.lower() in _SECRET else v.decode("latin-1"))
            for n, v in self._items
        ]
        return f"Headers({shown!r})"


#: What :class:`Headers` accepts on construction (besides ``None``).
HeadersInput: TypeAlias = (
    Headers
    | Mapping[str, str]
    | Mapping[bytes, bytes]
    | Iterable[tuple[str, str]]
    | Iterable[tuple[bytes, bytes]]
)
