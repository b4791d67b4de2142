"""The HPACK decoder (RFC 7541 §3, §6): header blocks to ``(name, value)`` lists.

One :class:`Decoder` per connection direction; it owns the dynamic table the
peer's encoder fills, so blocks must be decoded in the order they arrived.

Bounds, all from :class:`~sockit.limits.HPACKLimits`:

* **Decoded-size guard** (``max_decoded_size``): the name and value octets
  produced by one block, counted *before* each field is stored or appended.
  A literal is checked against its declared length before it is decoded
  (and again after Huffman decoding with the real length); an indexed field
  before it is appended. A block that indexes one large entry a thousand
  times is refused at the first reference past the guard.
  :class:`HPACKLimitExceeded` (fatal).
* **Table size updates**: only before the first field, at most
  ``max_table_size_updates`` of them, each at most :attr:`max_table_size`.
  Too many is :class:`HPACKLimitExceeded`; a late one or one too large is
  :class:`HPACKError`. When :attr:`max_table_size` is lowered below the
  size the encoder is using, the next block must start with an update that
  brings it within the new bound (§4.2).
* **Header list** (``max_header_list_size``, RFC 9113 §6.5.2: name + value
  + 32 per field), **field count** (``max_headers``) and **field size**
  (``max_header_size``: name + value): checked once the whole block is
  decoded, so the dynamic table stays in step with the peer, and reported
  as :class:`HeaderListTooLarge` (the connection may carry on).

Anything malformed raises :class:`HPACKError` at once: truncated integers
and strings, integers over 2**32 - 1 or with too many octets, index 0, an
index past the table, a bad Huffman string (EOS inside, padding of 8 bits or
more or not all ones). The table may then be half-updated: the HTTP/2 layer
ends the connection with COMPRESSION_ERROR and drops the decoder.
"""

from __future__ import annotations

from collections.abc import Collection

from sockit.errors import LocalProtocolError
from sockit.limits import HPACKLimits
from sockit.proto.hpack import huffman
from sockit.proto.hpack.coding import (
    SENSITIVE_NAMES,
    _decode_cache,
    decode_huffman_cached,
    decode_integer,
)
from sockit.proto.hpack.errors import HeaderListTooLarge, HPACKError, HPACKLimitExceeded
from sockit.proto.hpack.table import ENTRY_OVERHEAD, DecoderTable

__all__ = ["Decoder"]

_DEFAULT_LIMITS = HPACKLimits()


class Decoder:
    """Decodes the header blocks of one peer encoder.

    ``max_table_size`` is the SETTINGS_HEADER_TABLE_SIZE in force for this
    decoder (what we advertised and the peer has acknowledged, or the
    protocol's 4096 before that); it defaults to ``limits.header_table_size``
    and the dynamic table starts at that size.
    """

    __slots__ = ("_guard", "_limits", "_max", "_table")

    def __init__(
        self, limits: HPACKLimits = _DEFAULT_LIMITS, *, max_table_size: int | None = None
    ) -> None:
        self._limits = limits
        size = limits.header_table_size if max_table_size is None else max_table_size
        self._check_size(size)
        self._max = size
        self._table = DecoderTable(size)
        self._guard = limits.max_decoded_size

    @property
    def limits(self) -> HPACKLimits:
        """The bounds this decoder enforces."""
        return self._limits

    @property
    def max_table_size(self) -> int:
        """The largest dynamic table the peer's encoder may use (our setting)."""
        return self._max

    @max_table_size.setter
    def max_table_size(self, size: int) -> None:
        self._check_size(size)
        self._max = size

    @property
    def table_size(self) -> int:
        """The current dynamic table size (§4.1), for tests and metrics."""
        return self._table.size

    @property
    def table_capacity(self) -> int:
        """The dynamic table's current maximum size, as the encoder last set it."""
        return self._table.capacity

    def dynamic_fields(self) -> list[tuple[bytes, bytes]]:
        """The dynamic table's fields, newest first."""
        return self._table.dynamic_fields()

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._limits.max_header_table_size:
            raise LocalProtocolError(
                f"header table size {size} outside 0..{self._limits.max_header_table_size}"
            )

    def decode(self, block: bytes | bytearray | memoryview) -> list[tuple[bytes, bytes]]:
        """Decode one complete header block into ``(name, value)`` pairs, in order."""
        return self._decode(block if type(block) is bytes else bytes(block), None)

    def decode_with_flags(
        self, block: bytes | bytearray | memoryview
    ) -> list[tuple[bytes, bytes, bool]]:
        """Like :meth:`decode`, each field with a third item: sent never-indexed.

        A proxy re-encoding the fields must keep those never-indexed (§6.2.3).
        """
        positions: list[int] = []
        fields = self._decode(block if type(block) is bytes else bytes(block), positions)
        never: Collection[int] = set(positions) if positions else ()
        return [(name, value, i in never) for i, (name, value) in enumerate(fields)]

    # The loop is written out for speed: one pass, locals only, integers that
    # spill one octet past their prefix inline, IndexError standing for "ran
    # off the end of the block" or "index past the table".
    def _decode(self, data: bytes, never: list[int] | None) -> list[tuple[bytes, bytes]]:
        table = self._table
        pos = 0
        end = len(data)
        if end and data[0] & 0xE0 == 0x20:
            pos = self._size_updates(data)
        if table.capacity > self._max:
            raise HPACKError(
                f"dynamic table size update to at most {self._max} required at block start"
            )
        fields = table.fields
        lengths = table.lengths
        guard = self._guard
        limits = self._limits
        hmax = limits.max_header_size
        cache = _decode_cache
        out: list[tuple[bytes, bytes]] = []
        append = out.append
        decoded = 0
        oversize = False
        first = 0
        try:
            while pos < end:
                first = data[pos]
                pos += 1
                if first & 0x80:  # indexed field (§6.1)
                    index = first & 0x7F
                    if index == 0x7F:
                        index, pos = decode_integer(data, pos, 0x7F)
                    length = lengths[index]
                    decoded += length
                    if decoded > guard:
                        self._over_guard(index, decoded)
                    if length > hmax:
                        oversize = True
                    append(fields[index])
                    continue
                if first & 0x40:  # literal with incremental indexing (§6.2.1)
                    index = first & 0x3F
                    if index == 0x3F:
                        octet = data[pos]
                        if octet < 0x80:
                            index += octet
                            pos += 1
                        else:
                            index, pos = decode_integer(data, pos, 0x3F)
                elif first & 0x20:
                    raise HPACKError("dynamic table size update after the first field")
                else:  # without indexing (0000) or never indexed (0001) (§6.2.2-3)
                    index = first & 0x0F
                    if index == 0x0F:
                        octet = data[pos]
                        if octet < 0x80:
                            index += octet
                            pos += 1
                        else:
                            index, pos = decode_integer(data, pos, 0x0F)
                # the name
                if index:
                    if index >= len(fields):
                        raise HPACKError(f"name index {index} past the table")
                    name = fields[index][0]
                else:
                    octet = data[pos]
                    length = octet & 0x7F
                    pos += 1
                    if length == 0x7F:
                        length, pos = decode_integer(data, pos, 0x7F)
                    if decoded + length > guard:
                        self._over_guard(-1, decoded + length)
                    stop = pos + length
                    if stop > end:
                        raise HPACKError("header block truncated inside a name")
                    name = data[pos:stop]
                    pos = stop
                    if octet & 0x80:
                        name = cache.get(name) or decode_huffman_cached(name)
                # the value
                octet = data[pos]
                length = octet & 0x7F
                pos += 1
                if length == 0x7F:
                    length, pos = decode_integer(data, pos, 0x7F)
                total = decoded + len(name) + length
                if total > guard:
                    self._over_guard(-1, total)
                stop = pos + length
                if stop > end:
                    raise HPACKError("header block truncated inside a value")
                value = data[pos:stop]
                pos = stop
                if octet & 0x80:
                    if first & 0xF0 == 0x10 or name in SENSITIVE_NAMES:
                        value = huffman.decode(value)
                    else:
                        value = cache.get(value) or decode_huffman_cached(value)
                length = len(name) + len(value)
                decoded += length
                if decoded > guard:
                    self._over_guard(-1, decoded)
                if length > hmax:
                    oversize = True
                field = (name, value)
                if first & 0x40:
                    table.add(field, length)
                elif never is not None and first & 0xF0 == 0x10:
                    never.append(len(out))
                append(field)
        except IndexError:
            raise HPACKError(
                "field index past the table" if first & 0x80 else "header block truncated"
            ) from None
        count = len(out)
        if (
            oversize
            or count > limits.max_headers
            or decoded + ENTRY_OVERHEAD * count > limits.max_header_list_size
        ):
            self._refuse_list(count, decoded, oversize)
        return out

    def _size_updates(self, data: bytes) -> int:
        """Apply the table size updates that open a block; return where fields start."""
        pos = 0
        count = 0
        allowed = self._limits.max_table_size_updates
        while pos < len(data) and data[pos] & 0xE0 == 0x20:
            count += 1
            if count > allowed:
                raise HPACKLimitExceeded(
                    f"more than {allowed} dynamic table size updates in one block",
                    limit="max_table_size_updates",
                    value=allowed,
                )
            size = data[pos] & 0x1F
            pos += 1
            if size == 0x1F:
                size, pos = decode_integer(data, pos, 0x1F)
            if size > self._max:
                raise HPACKError(
                    f"dynamic table size update to {size} above the maximum {self._max}"
                )
            self._table.resize(size)
        return pos

    def _over_guard(self, index: int, total: int) -> None:
        if index == 0:
            raise HPACKError("index 0 is not a field (RFC 7541 §6.1)")
        raise HPACKLimitExceeded(
            f"header block decodes to more than {self._guard} octets ({total} so far)",
            limit="max_decoded_size",
            value=self._guard,
        )

    def _refuse_list(self, count: int, decoded: int, oversize: bool) -> None:
        limits = self._limits
        if count > limits.max_headers:
            raise HeaderListTooLarge(
                f"header block holds {count} fields, more than {limits.max_headers}",
                limit="max_headers",
                value=limits.max_headers,
            )
        if oversize:
            raise HeaderListTooLarge(
                f"a header field is larger than {limits.max_header_size} octets",
                limit="max_header_size",
                value=limits.max_header_size,
            )
        size = decoded + ENTRY_OVERHEAD * count
        raise HeaderListTooLarge(
            f"header list size {size} exceeds {limits.max_header_list_size}",
            limit="max_header_list_size",
            value=limits.max_header_list_size,
        )
