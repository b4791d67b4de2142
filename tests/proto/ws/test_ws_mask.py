"""Masking (RFC 6455 §5.3): both methods of _mask.py against a per-byte reference."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.proto.ws import mask_bytes
from sockit.proto.ws._mask import _LANES_FROM, mask_rotated


def reference(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ k for b, k in zip(data, itertools.cycle(key)))


SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 125, 126, 255, 256, _LANES_FROM - 1, _LANES_FROM,
         _LANES_FROM + 1, _LANES_FROM + 3, 1024, 4097, 65536, 65537]


@pytest.mark.parametrize("size", SIZES)
def test_mask_matches_reference_at_every_size(size: int) -> None:
    rng = random.Random(size)
    data = rng.randbytes(size)
    key = rng.randbytes(4)
    assert mask_bytes(data, key) == reference(data, key)


@pytest.mark.parametrize("size", [3, 64, _LANES_FROM + 5, 5000])
def test_mask_accepts_bytearray_and_memoryview(size: int) -> None:
    data = random.Random(1).randbytes(size)
    key = b"\x00\xff\x80\x7f"
    want = reference(data, key)
    assert mask_bytes(bytearray(data), key) == want
    assert mask_bytes(memoryview(data), key) == want
    assert mask_bytes(memoryview(b"xx" + data)[2:], key) == want
    assert type(mask_bytes(bytearray(data), key)) is bytes


def test_mask_is_an_involution_and_leaves_input_alone() -> None:
    data = bytearray(random.Random(2).randbytes(3000))
    before = bytes(data)
    key = b"\x01\x02\x03\x04"
    once = mask_bytes(data, key)
    assert data == before
    assert once != before
    assert mask_bytes(once, key) == before


def test_zero_key_is_identity_and_rfc_example() -> None:
    assert mask_bytes(b"Hello", b"\0\0\0\0") == b"Hello"
    # RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d
    assert mask_bytes(b"Hello", b"\x37\xfa\x21\x3d") == bytes.fromhex("7f9f4d5158")


@pytest.mark.parametrize("offset", range(9))
def test_mask_rotated_continues_the_key_at_an_offset(offset: int) -> None:
    data = random.Random(offset).randbytes(1000)
    key = b"\xde\xad\xbe\xef"
    whole = mask_bytes(data, key)
    assert mask_rotated(data[offset:], key, offset) == whole[offset:]


@given(st.binary(max_size=2000), st.binary(min_size=4, max_size=4),
       st.lists(st.integers(0, 2000), max_size=6))
def test_masking_in_pieces_equals_masking_whole(data: bytes, key: bytes, cuts: list[int]) -> None:
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    pieces = [mask_rotated(data[a:b], key, a) for a, b in itertools.pairwise(bounds)]
    assert b"".join(pieces) == mask_bytes(data, key) == reference(data, key)
