"""The HPACK Huffman code (RFC 7541 Appendix B) as code lengths.

The code in Appendix B is *canonical*: codes of one length are consecutive
integers in symbol order, and the first code of each length follows the last
code of the previous length, shifted left. The 257 lengths (256 octets and
EOS) therefore fix every code; :func:`canonical_codes` rebuilds them. The
tests compare the result against rows of the RFC table.
"""

from __future__ import annotations

__all__ = ["CODE_LENGTHS", "EOS", "canonical_codes"]

#: Symbol number of the end-of-string code (30 one-bits).
EOS = 256

# Lengths in bits, symbol 0 first, sixteen to a line.
CODE_LENGTHS: tuple[int, ...] = (
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,  # 0x00
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,  # 0x10
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,  # 0x20  !"#$%&'()*+,-./
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,  # 0x30 0123456789:;<=>?
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,  # 0x40 @ABCDEFGHIJKLMNO
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,  # 0x50 PQRSTUVWXYZ[\]^_
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,  # 0x60 `abcdefghijklmno
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,  # 0x70 pqrstuvwxyz{|}~
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,  # 0x80
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,  # 0x90
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,  # 0xa0
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,  # 0xb0
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,  # 0xc0
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,  # 0xd0
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,  # 0xe0
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,  # 0xf0
    30,  # EOS
)


def canonical_codes(lengths: tuple[int, ...] = CODE_LENGTHS) -> list[int]:
    """The code of every symbol, right-aligned, rebuilt from the lengths.

    Symbols of length 0 are unused and get code 0.
    """
    codes = [0] * len(lengths)
    code = 0
    prev_len = 0
    used = [s for s in range(len(lengths)) if lengths[s]]
    for sym in sorted(used, key=lambda s: (lengths[s], s)):
        code <<= lengths[sym] - prev_len
        prev_len = lengths[sym]
        codes[sym] = code
        code += 1
    return codes
