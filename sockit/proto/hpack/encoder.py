"""The HPACK encoder (RFC 7541 §6): ``(name, value)`` lists to header blocks.

Strategy, field by field:

1. A field that is already in the static or dynamic table is sent as an
   index (one octet for the first 126 indices).
2. A *sensitive* field is sent as a never-indexed literal (§6.2.3), so
   neither we nor any intermediary re-encoding it puts it in a table where
   compression could betray it (§7.1.3). Sensitive are the names in
   ``never_index`` (by default ``authorization``, ``proxy-authorization``,
   ``cookie``, ``set-cookie``) plus those the caller passes in
   ``sensitive`` for one block. A short cookie is not special-cased: never
   indexing is the safe default. Its name still comes from the table.
3. Fields whose values change with every message (``content-length``,
   ``etag``, validators, ``age``, ``content-range``) and fields larger than
   half the table are sent without indexing, so they do not flush entries
   that would be reused.
4. Everything else is sent with incremental indexing, its name taken from
   the table when there (static index preferred).

Literal strings are Huffman-coded when that is strictly shorter (and the
caller did not pass ``huffman=False``). Literals are cached process-wide,
keyed by the octets, since the same values recur across connections; values
of sensitive fields, and of ``SENSITIVE_NAMES`` even when indexed because
``never_index`` was changed, are encoded every time and not kept.

Table size: ``Encoder(table_size)`` starts with the size both sides assume
(4096, the HTTP/2 default). :meth:`set_max_table_size` takes the peer's new
SETTINGS_HEADER_TABLE_SIZE; the encoder uses at most ``table_size_limit`` of
it and signals the change at the start of the next block, sending the
smallest size it had to go down to first when the setting fell and then
rose again (§4.2).

Names should be lowercase (HTTP/2 requires it; the HTTP/2 layer checks).
``str`` names and values are accepted and encoded as ISO-8859-1, like
:class:`~sockit.proto.http.headers.Headers`; ``bytes`` is the fast path.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sockit.errors import LocalProtocolError
from sockit.proto.hpack.coding import (
    SENSITIVE_NAMES,
    encode_integer,
    encode_string,
    encode_string_cached,
)
from sockit.proto.hpack.table import ENTRY_OVERHEAD, EncoderTable

__all__ = ["DEFAULT_NEVER_INDEX", "UNINDEXED_NAMES", "Encoder"]

#: Names sent as never-indexed literals unless the encoder is told otherwise.
DEFAULT_NEVER_INDEX: frozenset[bytes] = SENSITIVE_NAMES
#: Names whose values rarely repeat: sent without indexing.
UNINDEXED_NAMES: frozenset[bytes] = frozenset(
    {
        b"content-length",
        b"content-range",
        b"etag",
        b"if-modified-since",
        b"if-none-match",
        b"last-modified",
        b"age",
    }
)
_STATIC_COUNT = 61
# Indexed-field representations of indices 1..126, one octet each.
_INDEXED = tuple(bytes((0x80 | index,)) for index in range(127))
# Literal representations' first octets for name indices below 256, by kind:
# with incremental indexing (0x40), without (0x00), never indexed (0x10).
_NAME_PREFIX = {
    0x40: tuple(encode_integer(index, 6, 0x40) for index in range(256)),
    0x00: tuple(encode_integer(index, 4, 0x00) for index in range(256)),
    0x10: tuple(encode_integer(index, 4, 0x10) for index in range(256)),
}


def _as_bytes(text: object) -> bytes:
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            raise LocalProtocolError(
                f"header text {text!r} has characters beyond U+00FF"
            ) from None
    if isinstance(text, (bytearray, memoryview)):
        return bytes(text)
    raise LocalProtocolError(f"header names and values are bytes or str, not {type(text)}")


class Encoder:
    """Encodes header lists for one peer decoder (one per connection direction)."""

    __slots__ = ("_limit", "_never", "_pending", "_pending_min", "_table")

    def __init__(
        self,
        table_size: int = 4096,
        *,
        table_size_limit: int = 65536,
        never_index: Collection[bytes] = DEFAULT_NEVER_INDEX,
    ) -> None:
        if table_size < 0 or table_size_limit < 0:
            raise LocalProtocolError("table sizes must not be negative")
        self._table = EncoderTable(table_size)
        self._limit = table_size_limit
        self._never: frozenset[bytes] = (
            DEFAULT_NEVER_INDEX
            if never_index is DEFAULT_NEVER_INDEX
            else frozenset(map(_as_bytes, never_index))
        )
        self._pending: int | None = None
        self._pending_min = 0

    @property
    def table_size(self) -> int:
        """The dynamic table size in use (§4.1)."""
        return self._table.size

    @property
    def table_capacity(self) -> int:
        """The maximum dynamic table size currently in force on our side."""
        return self._table.capacity

    @property
    def never_index(self) -> frozenset[bytes]:
        """Names this encoder always sends as never-indexed literals."""
        return self._never

    def dynamic_fields(self) -> list[tuple[bytes, bytes]]:
        """The dynamic table's fields, newest first (for tests and debugging)."""
        return [field for field, _ in reversed(self._table.entries)]

    def set_max_table_size(self, size: int) -> None:
        """The peer's SETTINGS_HEADER_TABLE_SIZE changed to ``size``.

        The next :meth:`encode` starts with the size update(s) this needs.
        """
        if size < 0:
            raise LocalProtocolError(f"table size {size} is negative")
        size = min(size, self._limit)
        self._pending_min = size if self._pending is None else min(self._pending_min, size)
        self._pending = size

    def _size_updates(self, final: int) -> bytes:
        table = self._table
        current = table.capacity
        low = self._pending_min
        self._pending = None
        out = b""
        if low < current and low != final:
            out += encode_integer(low, 5, 0x20)
            table.resize(low)
        if final != current or low < current:
            out += encode_integer(final, 5, 0x20)
            table.resize(final)
        return out

    def encode(
        self,
        headers: Iterable[tuple[bytes, bytes]] | Iterable[tuple[str, str]],
        *,
        sensitive: Collection[bytes] | Collection[str] = (),
        huffman: bool = True,
    ) -> bytes:
        """Encode one header list into a header block.

        ``sensitive`` names are sent never-indexed for this block, on top of
        the encoder's ``never_index`` set. ``huffman=False`` sends every
        literal as plain octets.
        """
        parts: list[bytes] = []
        append = parts.append
        if self._pending is not None:
            append(self._size_updates(self._pending))
        extra = frozenset(map(_as_bytes, sensitive)) if sensitive else None
        table = self._table
        fields = table.fields
        base = table.inserted + _STATIC_COUNT  # dynamic index = base - insertion number
        for field in headers:
            try:  # the caller's (name, value) tuple is the key: no tuple to build
                seq = fields.get(field)  # type: ignore[arg-type]
            except TypeError:  # a list or another unhashable pair
                seq = None
            if seq is not None and (extra is None or field[0] not in extra):
                index = -seq if seq < 0 else base - seq
                append(_INDEXED[index] if index < 127 else encode_integer(index, 7, 0x80))
                continue
            name, value = field
            if type(name) is not bytes or type(value) is not bytes:
                name, value = _as_bytes(name), _as_bytes(value)
            append(self._field(name, value, extra, huffman))
            base = table.inserted + _STATIC_COUNT
        return b"".join(parts)

    def _field(
        self, name: bytes, value: bytes, extra: frozenset[bytes] | None, huffman: bool
    ) -> bytes:
        """Any field the fast path did not send as an index."""
        table = self._table
        if name in self._never or (extra is not None and name in extra):
            literal = encode_string(value, huffman)
            flags, prefix = 0x10, 4
        else:
            seq = table.fields.get((name, value))
            if seq is not None:  # it was given as str
                index = -seq if seq < 0 else table.inserted - seq + _STATIC_COUNT
                return encode_integer(index, 7, 0x80)
            if huffman and name not in SENSITIVE_NAMES:
                literal = encode_string_cached(value)
            else:  # plain, or a secret indexed on request: not kept in the cache
                literal = encode_string(value, huffman)
            if (
                name in UNINDEXED_NAMES
                or len(name) + len(value) + ENTRY_OVERHEAD > table.capacity >> 1
            ):
                flags, prefix = 0x00, 4
            else:
                flags, prefix = 0x40, 6
        name_index = table.name_index(name)  # before add(): indices shift
        if flags == 0x40:
            table.add((name, value))
        if name_index:
            if name_index < 256:
                return _NAME_PREFIX[flags][name_index] + literal
            return encode_integer(name_index, prefix, flags) + literal
        name_literal = encode_string_cached(name) if huffman else encode_string(name, False)
        return bytes((flags,)) + name_literal + literal
