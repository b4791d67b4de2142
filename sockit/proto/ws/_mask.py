"""XOR masking (RFC 6455 §5.3) in pure Python, without a per-byte loop.

Two methods, picked by size after measuring both (``benchmarks/bench_ws.py``
``--mask`` prints the table; figures on the reference machine, CPython 3.11):

* **Big integers** for short payloads: ``int.from_bytes`` of the data XOR
  ``int.from_bytes`` of the key repeated, back with ``to_bytes``. Three C
  loops and a few object headers: 0.4 us at 16 bytes, 0.8 us at 256, but
  each conversion costs about 0.55 ns a byte, so 2.4 us at 1 KiB and 165 us
  at 64 KiB.
* **Four byte lanes** for the rest: byte ``i`` is XORed with key byte
  ``i % 4``, so each of the four strided slices ``buf[i::4]`` is XORed with a
  *constant*, which ``bytearray.translate`` does with a precomputed 256-byte
  table. Three strided C passes per lane on a ``bytearray`` (reading and
  translating a ``bytearray`` is about 1.7x faster than the same on ``bytes``):
  1.8 us at 1 KiB, 68 us at 64 KiB (about 1 GB/s).

The crossover is near 400 bytes. Other candidates measured and rejected:
``bytes(map(operator.xor, ...))`` (20 ns a byte), multiplying the key by a
cached ``0x00000001`` repeat instead of converting the repeated key (saves
under 15 %), translating from ``bytes`` slices into a fresh ``bytearray``
(1.5x slower than in place).
"""

from __future__ import annotations

from typing import Final

__all__ = ["mask_bytes", "mask_rotated"]

#: ``_XOR[k]`` maps every byte value ``b`` to ``b ^ k``.
_XOR: Final = tuple(bytes(b ^ k for b in range(256)) for k in range(256))

#: Below this many bytes the big-integer method wins.
_LANES_FROM: Final = 400

_from_bytes = int.from_bytes


def mask_bytes(data: bytes | bytearray | memoryview, key: bytes) -> bytes:
    """``data`` XOR ``key`` repeated (masking and unmasking are the same).

    ``key`` must be exactly 4 bytes; ``data`` may be any length.
    """
    n = len(data)
    if n < _LANES_FROM:
        if not n:
            return b""
        return (
            _from_bytes(data, "little") ^ _from_bytes((key * ((n >> 2) + 1))[:n], "little")
        ).to_bytes(n, "little")
    buf = bytearray(data)
    xor = _XOR
    buf[0::4] = buf[0::4].translate(xor[key[0]])
    buf[1::4] = buf[1::4].translate(xor[key[1]])
    buf[2::4] = buf[2::4].translate(xor[key[2]])
    buf[3::4] = buf[3::4].translate(xor[key[3]])
    return bytes(buf)


def mask_rotated(data: bytes | bytearray | memoryview, key: bytes, offset: int) -> bytes:
    """Mask a piece of a payload that starts ``offset`` bytes into the frame."""
    r = offset & 3
    if r:
        key = key[r:] + key[:r]
    return mask_bytes(data, key)
