"""The static table (RFC 7541 Appendix A) and the two views of the dynamic table (§2.3, §4).

One index space: 1..61 is the static table, 62 and up the dynamic table,
newest entry first. An entry's size is its name and value lengths plus 32
(§4.1); adding an entry first evicts the oldest ones until it fits, and an
entry larger than the whole table empties it and is not added (§4.4).

The decoder and the encoder need different shapes of the same thing:

* :class:`DecoderTable` keeps one list holding a placeholder at 0, the 61
  static fields and then the dynamic fields newest first, so any index is a
  single list subscript, a new entry is one ``insert`` at 62 and eviction
  pops from the end. A parallel list holds each field's decoded length
  (name + value, without the 32). The placeholder's length is huge on
  purpose: index 0 then trips the decoder's size check, which is where it
  is refused, so the hot path needs no test of its own for it.
* :class:`EncoderTable` finds fields by content: a dict from ``(name,
  value)`` and one from ``name`` to the insertion number of the newest such
  entry. With ``inserted`` entries added so far, insertion number ``s`` is at
  index ``inserted - s + 61``, valid while ``s >= evicted``. Static fields
  sit in the first dict with negative numbers (``-index``) and never leave.
"""

from __future__ import annotations

from collections import deque

__all__ = [
    "ENTRY_OVERHEAD",
    "STATIC_FIELD_INDEX",
    "STATIC_NAME_INDEX",
    "STATIC_TABLE",
    "DecoderTable",
    "EncoderTable",
]

#: Bytes of bookkeeping §4.1 adds to every entry's size.
ENTRY_OVERHEAD = 32

STATIC_TABLE: tuple[tuple[bytes, bytes], ...] = (
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
)
_STATIC_COUNT = len(STATIC_TABLE)

#: ``(name, value)`` -> static index, for exact matches.
STATIC_FIELD_INDEX: dict[tuple[bytes, bytes], int] = {
    field: index for index, field in enumerate(STATIC_TABLE, 1)
}
#: ``name`` -> the lowest static index with that name.
STATIC_NAME_INDEX: dict[bytes, int] = {}
for _index, (_name, _) in enumerate(STATIC_TABLE, 1):
    STATIC_NAME_INDEX.setdefault(_name, _index)
del _index, _name

#: Decoded length recorded for index 0: larger than any decoded-size guard.
_INDEX_ZERO_SIZE = 1 << 62
_DECODER_FIELDS = [(b"", b""), *STATIC_TABLE]
_DECODER_LENGTHS = [_INDEX_ZERO_SIZE, *(len(n) + len(v) for n, v in STATIC_TABLE)]
_ENCODER_FIELDS = {field: -index for field, index in STATIC_FIELD_INDEX.items()}


class DecoderTable:
    """The decoder's combined static + dynamic table, indexed by HPACK index.

    ``fields[i]`` is the field at index ``i`` (``fields[0]`` is a
    placeholder), ``lengths[i]`` its name + value length; ``size`` is the
    dynamic table size per §4.1 and ``capacity`` its current maximum.
    """

    __slots__ = ("capacity", "fields", "lengths", "size")

    def __init__(self, capacity: int) -> None:
        self.fields = _DECODER_FIELDS.copy()
        self.lengths = _DECODER_LENGTHS.copy()
        self.size = 0
        self.capacity = capacity

    def __len__(self) -> int:
        """Number of dynamic entries."""
        return len(self.fields) - 1 - _STATIC_COUNT

    def add(self, field: tuple[bytes, bytes], length: int) -> None:
        """Insert ``field`` (decoded length ``length``) as index 62, evicting as needed."""
        size = length + ENTRY_OVERHEAD
        if size > self.capacity:
            self._evict_to(0)
            return
        self._evict_to(self.capacity - size)
        self.fields.insert(_STATIC_COUNT + 1, field)
        self.lengths.insert(_STATIC_COUNT + 1, length)
        self.size += size

    def resize(self, capacity: int) -> None:
        """Apply a dynamic table size update (§6.3)."""
        self.capacity = capacity
        self._evict_to(capacity)

    def _evict_to(self, limit: int) -> None:
        fields, lengths = self.fields, self.lengths
        while self.size > limit:
            fields.pop()
            self.size -= lengths.pop() + ENTRY_OVERHEAD

    def dynamic_fields(self) -> list[tuple[bytes, bytes]]:
        """The dynamic entries, newest first (for tests and debugging)."""
        return self.fields[_STATIC_COUNT + 1 :]


class EncoderTable:
    """The encoder's view of the dynamic table, searchable by field and by name."""

    __slots__ = ("capacity", "entries", "evicted", "fields", "inserted", "names", "size")

    def __init__(self, capacity: int) -> None:
        self.fields = _ENCODER_FIELDS.copy()
        self.names: dict[bytes, int] = {}
        self.entries: deque[tuple[tuple[bytes, bytes], int]] = deque()
        self.inserted = 0
        self.evicted = 0
        self.size = 0
        self.capacity = capacity

    def __len__(self) -> int:
        """Number of dynamic entries."""
        return len(self.entries)

    def add(self, field: tuple[bytes, bytes]) -> None:
        """Record that ``field`` was sent with incremental indexing."""
        size = len(field[0]) + len(field[1]) + ENTRY_OVERHEAD
        if size > self.capacity:
            self._evict_to(0)
            return
        self._evict_to(self.capacity - size)
        seq = self.inserted
        self.inserted = seq + 1
        self.fields[field] = seq
        self.names[field[0]] = seq
        self.entries.append((field, size))
        self.size += size

    def resize(self, capacity: int) -> None:
        """Change the maximum size (the caller signals it to the peer)."""
        self.capacity = capacity
        self._evict_to(capacity)

    def _evict_to(self, limit: int) -> None:
        fields, names, entries = self.fields, self.names, self.entries
        while self.size > limit:
            field, size = entries.popleft()
            seq = self.evicted
            self.evicted = seq + 1
            self.size -= size
            if fields.get(field) == seq:
                del fields[field]
            if names.get(field[0]) == seq:
                del names[field[0]]

    def name_index(self, name: bytes) -> int:
        """The index to use for ``name`` (static preferred), or 0 if none."""
        index = STATIC_NAME_INDEX.get(name)
        if index is not None:
            return index
        seq = self.names.get(name)
        if seq is None:
            return 0
        return self.inserted - seq + _STATIC_COUNT
