"""HPACK Huffman coding (RFC 7541 §5.2, Appendix B) without per-bit loops.

Encoding maps every octet to its code written as ASCII ``0``/``1`` digits in
one C-level pass (:func:`codecs.charmap_encode`), pads with one-bits and
converts with ``int(digits, 2)``. The encoded length is
``sum(data.translate(LENGTHS))``, also C-level.

Decoding has two paths that give the same answers:

* A **byte-driven state machine** (the reference). The code tree has 256
  internal nodes; for every node and every input octet a precomputed table
  holds the node reached and the octets completed on the way, so decoding is
  one table lookup per input *octet*, never per bit. A transition that
  completes EOS leads to a dead state. At the end the state must be a node
  reached from the root by at most seven one-bits: that is exactly "padding
  shorter than 8 bits and made of the EOS prefix" (§5.2).
* **zlib** for longer strings. Every code of 15 bits or fewer is also a
  valid DEFLATE code (both are canonical codes: by length, then by symbol),
  and all longer codes start with fifteen one-bits. A DEFLATE dynamic block
  whose literal codes are the short HPACK codes and whose end-of-block code
  is those fifteen one-bits therefore decodes HPACK octets at C speed, and
  stops at the first long code, at EOS, or in the padding. The input is
  bit-reversed per octet (DEFLATE reads the low bit first) and followed by
  sixteen one-bits, so well-formed padding always runs into end-of-block.
  The result is accepted only if the code lengths of the output add up to
  the input minus at most seven bits: then the rest was valid padding.
  Anything else (a long code, EOS, bad padding) is decoded again by the
  state machine, which returns the octets or names the error.

The block header is built here at import time, its length made a multiple
of eight bits by choosing how many unused codes it declares, so a
``decompressobj`` can swallow it once and be ``copy()``-ed per string.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterator

from sockit.proto.hpack._huffman_table import CODE_LENGTHS, EOS, canonical_codes
from sockit.proto.hpack.errors import HPACKError

__all__ = [
    "ZLIB_MIN_LENGTH",
    "decode",
    "decode_fsm",
    "encode",
    "encode_if_shorter",
    "encoded_length",
]

_CODES = canonical_codes()
#: Code length in bits of each octet, as a ``bytes.translate`` table.
_LENGTHS = bytes(CODE_LENGTHS[:256])
#: Octet -> its code as ASCII digits, for ``codecs.charmap_encode`` (a list is
#: a faster mapping there than a dict).
_DIGITS = [format(_CODES[sym], f"0{CODE_LENGTHS[sym]}b").encode() for sym in range(256)]


def encoded_length(data: bytes) -> int:
    """Octets the Huffman encoding of ``data`` takes (padding included)."""
    return (sum(data.translate(_LENGTHS)) + 7) >> 3


def encode(data: bytes) -> bytes:
    """The Huffman encoding of ``data``, padded with the EOS prefix."""
    if not data:
        return b""
    digits = codecs.charmap_encode(data.decode("latin-1"), "strict", _DIGITS)[0]
    nbits = len(digits)
    pad = -nbits & 7
    return ((int(digits, 2) << pad) | ((1 << pad) - 1)).to_bytes((nbits + pad) >> 3, "big")


def encode_if_shorter(data: bytes) -> bytes | None:
    """The Huffman encoding of ``data`` if strictly shorter than ``data``, else None."""
    digits = codecs.charmap_encode(data.decode("latin-1"), "strict", _DIGITS)[0]
    nbits = len(digits)
    pad = -nbits & 7
    size = (nbits + pad) >> 3
    if size >= len(data):
        return None
    return ((int(digits, 2) << pad) | ((1 << pad) - 1)).to_bytes(size, "big")


# --- the state machine ------------------------------------------------------------


def _build_tree() -> list[list[int]]:
    """Internal nodes as ``[child0, child1]``; a leaf is ``-(symbol + 1)``."""
    nodes = [[0, 0]]
    for sym, (code, length) in enumerate(zip(_CODES, CODE_LENGTHS, strict=True)):
        node = 0
        for shift in range(length - 1, 0, -1):
            bit = (code >> shift) & 1
            nxt = nodes[node][bit]
            if nxt <= 0:  # 0 is the root, never a child: a free slot
                nxt = len(nodes)
                nodes.append([0, 0])
                nodes[node][bit] = nxt
            node = nxt
        nodes[node][code & 1] = -(sym + 1)
    return nodes


def _nibble_steps(nodes: list[list[int]], dead: int) -> list[list[tuple[int, bytes]]]:
    """For every node and 4-bit group: (node reached, octets completed)."""
    steps = []
    for start in range(len(nodes)):
        row = []
        for nibble in range(16):
            node, out = start, bytearray()
            for shift in (3, 2, 1, 0):
                child = nodes[node][(nibble >> shift) & 1]
                if child >= 0:
                    node = child
                elif child == -(EOS + 1):
                    node, out = dead, bytearray()
                    break
                else:
                    out.append(-child - 1)
                    node = 0
            row.append((node, bytes(out)))
        steps.append(row)
    return steps


def _build_machine() -> tuple[list[int], list[bytes], bytes]:
    """Flat tables indexed by ``state | octet`` (states are ``node << 8``)."""
    nodes = _build_tree()
    dead = len(nodes)
    steps = _nibble_steps(nodes, dead)
    steps.append([(dead, b"")] * 16)
    # The dead state's steps all stay dead, so composing two nibble steps
    # needs no special case: once dead, always dead (the octets a transition
    # into dead emits are never used: the string is refused).
    shifted = [[(end << 8, out) for end, out in row] for row in steps]
    interned: dict[bytes, bytes] = {}
    intern = interned.setdefault
    next_state: list[int] = []
    emit: list[bytes] = []
    for row in steps:
        for mid, first in row:
            second_row = shifted[mid]
            next_state += [end for end, _ in second_row]
            if mid == dead:
                emit += [b""] * 16
            else:
                emit += [intern(first + out, first + out) for _, out in second_row]
    # Accepting states: the root and the nodes reached by 1..7 one-bits.
    accept = bytearray(dead + 1)
    node = 0
    accept[0] = 1
    for _ in range(7):
        node = nodes[node][1]
        accept[node] = 1
    return next_state, emit, bytes(accept)


_NEXT, _EMIT, _ACCEPT = _build_machine()
_DEAD = len(_ACCEPT) - 1


def decode_fsm(data: bytes) -> bytes:
    """Decode with the state machine; raise :class:`HPACKError` if malformed."""
    state = 0
    parts: list[bytes] = []
    append = parts.append
    nxt, emit = _NEXT, _EMIT
    for octet in data:
        index = state | octet
        state = nxt[index]
        append(emit[index])
    if not _ACCEPT[state >> 8]:
        node = state >> 8
        if node == _DEAD:
            raise HPACKError("Huffman string contains the EOS symbol")
        raise HPACKError("Huffman string has invalid padding (8 bits or more, or not EOS bits)")
    return b"".join(parts)


# --- the zlib path ----------------------------------------------------------------

#: Strings at least this long (encoded octets) try zlib first; shorter ones are
#: faster through the state machine (measured by benchmarks/bench_hpack.py).
ZLIB_MIN_LENGTH = 16
_REVERSED = bytes(int(f"{octet:08b}"[::-1], 2) for octet in range(256))
_TAIL = b"\xff\xff"
_ADLER_SAFE = 65521 // 15  # outputs shorter than this sum to less than 65521
# DEFLATE's permutation of the code-length code lengths (RFC 1951 §3.2.7).
_CL_ORDER = (16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15)


class _Bits:
    """A little-endian bit writer for the DEFLATE block header."""

    def __init__(self) -> None:
        self.value = 0
        self.count = 0

    def number(self, value: int, nbits: int) -> None:
        self.value |= value << self.count
        self.count += nbits

    def code(self, code: int, nbits: int) -> None:  # Huffman codes go MSB first
        for shift in range(nbits - 1, -1, -1):
            self.number((code >> shift) & 1, 1)


def _run_length(lengths: list[int]) -> Iterator[tuple[int, int, int]]:
    """Code-length symbols ``(symbol, extra value, extra bits)`` for ``lengths``."""
    i = 0
    while i < len(lengths):
        if lengths[i]:
            yield lengths[i], 0, 0
            i += 1
            continue
        j = i
        while j < len(lengths) and not lengths[j]:
            j += 1
        run = j - i
        while run >= 11:
            take = min(run, 138)
            yield 18, take - 11, 7
            run -= take
        if run >= 3:
            yield 17, run - 3, 3
        else:
            yield from ((0, 0, 0),) * run
        i = j


def _header(hlit: int, hdist: int) -> _Bits:
    """A final dynamic-Huffman block header declaring ``hlit``/``hdist`` codes.

    Literal codes are the HPACK codes of 15 bits or fewer; end-of-block
    (256) is fifteen one-bits; one distance code (never used) of length 1.
    """
    literal = [n if n <= 15 else 0 for n in CODE_LENGTHS[:256]]
    lengths = [*literal, 15, *[0] * (hlit - 257), 1, *[0] * (hdist - 1)]
    symbols = list(_run_length(lengths))
    # The code-length code: a complete code over the k symbols used, with
    # 16 - k codes of 3 bits and 2k - 16 of 4 bits (k is 8..16 here).
    used = sorted({sym for sym, _, _ in symbols})
    cl_len = [0] * 19
    for k, sym in enumerate(used):
        cl_len[sym] = 3 if k < 16 - len(used) else 4
    cl_codes = canonical_codes(tuple(cl_len))
    hclen = max(k for k in range(19) if cl_len[_CL_ORDER[k]]) + 1
    bits = _Bits()
    bits.number(1, 1)  # BFINAL
    bits.number(2, 2)  # BTYPE: dynamic Huffman codes
    bits.number(hlit - 257, 5)
    bits.number(hdist - 1, 5)
    bits.number(hclen - 4, 4)
    for k in range(hclen):
        bits.number(cl_len[_CL_ORDER[k]], 3)
    for sym, extra, nbits in symbols:
        bits.code(cl_codes[sym], cl_len[sym])
        bits.number(extra, nbits)
    return bits


def _primed_inflater() -> zlib._Decompress | None:
    """A raw inflater that has read a byte-aligned header, or None if none fits."""
    for hlit in range(257, 287):
        for hdist in range(1, 33):
            bits = _header(hlit, hdist)
            if bits.count % 8:
                continue
            inflater = zlib.decompressobj(-15)
            try:
                if inflater.decompress(bits.value.to_bytes(bits.count >> 3, "little")):
                    continue
            except zlib.error:  # pragma: no cover - the header is well formed
                continue
            if _check(inflater):
                return inflater
    return None  # pragma: no cover - a header is always found


def _check(inflater: zlib._Decompress) -> bool:
    """Whether the primed inflater decodes a sample exactly like the state machine."""
    sample = bytes(range(32, 127)).replace(b"\\", b"") * 2  # all codes of <= 15 bits
    return _inflate(inflater, encode(sample)) == sample


def _inflate(inflater: zlib._Decompress, data: bytes) -> bytes | None:
    """The zlib path: the decoded octets, or None if the state machine must decide."""
    try:
        stream = inflater.copy()
        out = stream.decompress(data.translate(_REVERSED) + _TAIL)
    except zlib.error:  # pragma: no cover - every bit string decodes
        return None
    if not stream.eof:  # pragma: no cover - the tail always ends the block
        return None
    # Bits the output's codes take: a sum of small numbers, which adler32's low
    # half computes in C (1 + the sum, mod 65521; exact while below it).
    if len(out) < _ADLER_SAFE:
        nbits = (zlib.adler32(out.translate(_LENGTHS)) & 0xFFFF) - 1
    else:
        nbits = sum(out.translate(_LENGTHS))
    if 0 <= (len(data) << 3) - nbits <= 7:
        return out
    return None


_INFLATER = _primed_inflater()


def decode(data: bytes) -> bytes:
    """Decode a Huffman string; raise :class:`HPACKError` if it is malformed."""
    if len(data) >= ZLIB_MIN_LENGTH and _INFLATER is not None:
        out = _inflate(_INFLATER, data)
        if out is not None:
            return out
    return decode_fsm(data)
