"""HPACK primitive types: prefixed integers (RFC 7541 §5.1) and string literals (§5.2).

These are the reference forms; the decoder inlines the common one-octet
cases and calls :func:`decode_integer` only for values that spill over the
prefix. An integer may use at most :data:`MAX_INTEGER_OCTETS` continuation
octets and may not exceed :data:`MAX_INTEGER` (2**32 - 1: nothing HPACK
counts, lengths, indices or table sizes, can be larger); beyond either it is
refused, as §5.1 allows ("integer encodings that exceed implementation
limits").

Huffman-decoded strings go through a small process-wide cache keyed by the
encoded octets: real traffic repeats the same user agents, accept lists and
hosts across connections, and a hit costs one dict lookup. Only strings of
at most :data:`CACHE_MAX_LENGTH` octets are cached, at most
:data:`CACHE_SIZE` of them (the cache is emptied when full), and never a
value sent never-indexed or whose name is in :data:`SENSITIVE_NAMES`: those
are coded every time and forgotten.
"""

from __future__ import annotations

from sockit.proto.hpack import huffman
from sockit.proto.hpack.errors import HPACKError

__all__ = [
    "CACHE_MAX_LENGTH",
    "CACHE_SIZE",
    "MAX_INTEGER",
    "MAX_INTEGER_OCTETS",
    "SENSITIVE_NAMES",
    "clear_caches",
    "decode_huffman_cached",
    "decode_integer",
    "decode_string",
    "encode_integer",
    "encode_string",
    "encode_string_cached",
]

#: Names whose values are secrets: the encoder never indexes them by default,
#: and neither side ever puts their values in the shared caches.
SENSITIVE_NAMES: frozenset[bytes] = frozenset(
    {b"authorization", b"proxy-authorization", b"cookie", b"set-cookie"}
)
MAX_INTEGER = (1 << 32) - 1
MAX_INTEGER_OCTETS = 5
CACHE_SIZE = 1024
CACHE_MAX_LENGTH = 256

_decode_cache: dict[bytes, bytes] = {}
_encode_cache: dict[bytes, bytes] = {}


def clear_caches() -> None:
    """Empty the shared string caches (benchmarks measure first sight this way)."""
    _decode_cache.clear()
    _encode_cache.clear()


def encode_integer(value: int, prefix_bits: int, flags: int = 0) -> bytes:
    """``value`` on a ``prefix_bits`` prefix, the first octet or-ed with ``flags``."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((flags | value,))
    out = bytearray((flags | limit,))
    value -= limit
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_integer(data: bytes, pos: int, prefix_max: int) -> tuple[int, int]:
    """Finish an integer whose prefix was all ones: ``(value, position after it)``.

    ``pos`` is the first continuation octet; ``prefix_max`` is ``2**N - 1``.
    """
    value = prefix_max
    shift = 0
    end = pos + MAX_INTEGER_OCTETS
    while pos < end:
        if pos >= len(data):
            raise HPACKError("header block truncated inside an integer")
        octet = data[pos]
        pos += 1
        value += (octet & 0x7F) << shift
        if octet < 0x80:
            if value > MAX_INTEGER:
                raise HPACKError(f"integer {value} exceeds 2**32 - 1")
            return value, pos
        shift += 7
    raise HPACKError(f"integer longer than {MAX_INTEGER_OCTETS} continuation octets")


def decode_huffman_cached(raw: bytes) -> bytes:
    """Huffman-decode ``raw`` through the shared cache (non-sensitive strings only)."""
    value = _decode_cache.get(raw)
    if value is None:
        value = huffman.decode(raw)
        if len(raw) <= CACHE_MAX_LENGTH:
            if len(_decode_cache) >= CACHE_SIZE:
                _decode_cache.clear()
            _decode_cache[raw] = value
    return value


def decode_string(data: bytes, pos: int, *, cache: bool = True) -> tuple[bytes, int]:
    """A string literal at ``pos``: ``(octets, position after it)``."""
    if pos >= len(data):
        raise HPACKError("header block truncated before a string literal")
    first = data[pos]
    length = first & 0x7F
    pos += 1
    if length == 0x7F:
        length, pos = decode_integer(data, pos, 0x7F)
    end = pos + length
    if end > len(data):
        raise HPACKError("header block truncated inside a string literal")
    raw = data[pos:end]
    if first & 0x80:
        return (decode_huffman_cached(raw) if cache else huffman.decode(raw)), end
    return raw, end


def encode_string(value: bytes, huffman_ok: bool = True) -> bytes:
    """A string literal for ``value``; Huffman-coded when that is strictly shorter."""
    if huffman_ok and len(value) > 1:
        coded = huffman.encode_if_shorter(value)
        if coded is not None:
            return encode_integer(len(coded), 7, 0x80) + coded
    return encode_integer(len(value), 7) + value


def encode_string_cached(value: bytes) -> bytes:
    """:func:`encode_string` with Huffman allowed, through the shared cache."""
    literal = _encode_cache.get(value)
    if literal is None:
        literal = encode_string(value)
        if len(value) <= CACHE_MAX_LENGTH:
            if len(_encode_cache) >= CACHE_SIZE:
                _encode_cache.clear()
            _encode_cache[value] = literal
    return literal
