"""Prefixed integers (RFC 7541 §5.1, C.1) and string literals (§5.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.proto.hpack import HPACKError, coding, huffman


def test_c1_1_ten_on_a_5_bit_prefix() -> None:
    assert coding.encode_integer(10, 5) == b"\x0a"
    assert coding.encode_integer(10, 5, 0xE0) == b"\xea"  # flags keep their bits


def test_c1_2_1337_on_a_5_bit_prefix() -> None:
    assert coding.encode_integer(1337, 5) == bytes([0x1F, 0x9A, 0x0A])
    assert coding.decode_integer(bytes([0x1F, 0x9A, 0x0A]), 1, 0x1F) == (1337, 3)


def test_c1_3_42_at_an_octet_boundary() -> None:
    assert coding.encode_integer(42, 8) == b"\x2a"


@pytest.mark.parametrize("prefix", range(1, 9))
def test_prefix_boundaries(prefix: int) -> None:
    limit = (1 << prefix) - 1
    assert coding.encode_integer(limit - 1, prefix) == bytes([limit - 1])
    assert coding.encode_integer(limit, prefix) == bytes([limit, 0])
    assert coding.encode_integer(limit + 127, prefix) == bytes([limit, 127])
    assert coding.encode_integer(limit + 128, prefix) == bytes([limit, 0x80, 1])


@given(st.integers(0, coding.MAX_INTEGER), st.integers(1, 8))
def test_integer_round_trip(value: int, prefix: int) -> None:
    data = coding.encode_integer(value, prefix) + b"tail"
    limit = (1 << prefix) - 1
    if value < limit:
        assert data[0] == value
        return
    assert data[0] == limit
    assert coding.decode_integer(data, 1, limit) == (value, len(data) - 4)


def test_largest_integer_is_accepted_and_one_more_refused() -> None:
    top = coding.encode_integer(coding.MAX_INTEGER, 5)
    assert coding.decode_integer(top, 1, 31) == (coding.MAX_INTEGER, len(top))
    over = coding.encode_integer(coding.MAX_INTEGER + 1, 5)
    with pytest.raises(HPACKError, match="exceeds"):
        coding.decode_integer(over, 1, 31)


def test_too_many_continuation_octets() -> None:
    # zero-valued continuation octets keep the value small but the encoding long
    padded = bytes([0x1F, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])
    with pytest.raises(HPACKError, match="continuation"):
        coding.decode_integer(padded, 1, 31)
    five = bytes([0x1F, 0x80, 0x80, 0x80, 0x80, 0x00])  # exactly MAX_INTEGER_OCTETS
    assert coding.decode_integer(five, 1, 31) == (31, 6)


@pytest.mark.parametrize("data", [b"\x1f", b"\x1f\x80", b"\x1f\xff\xff"])
def test_truncated_integer(data: bytes) -> None:
    with pytest.raises(HPACKError, match="truncated"):
        coding.decode_integer(data, 1, 31)


@given(st.binary(max_size=400), st.booleans())
def test_string_round_trip(value: bytes, use_huffman: bool) -> None:
    literal = coding.encode_string(value, use_huffman)
    assert coding.decode_string(literal + b"x", 0) == (value, len(literal))
    assert coding.decode_string(literal, 0, cache=False) == (value, len(literal))
    huffman_len = huffman.encoded_length(value)
    if use_huffman and huffman_len < len(value):
        assert literal[0] & 0x80
    else:
        assert not literal[0] & 0x80
        assert literal.endswith(value)


def test_string_literal_errors() -> None:
    with pytest.raises(HPACKError, match="before a string"):
        coding.decode_string(b"", 0)
    with pytest.raises(HPACKError, match="inside a string"):
        coding.decode_string(b"\x05abcd", 0)
    with pytest.raises(HPACKError, match="truncated inside an integer"):
        coding.decode_string(b"\x7f", 0)
    with pytest.raises(HPACKError, match="padding"):
        coding.decode_string(b"\x81\x00", 0)  # Huffman "00000000": '0' then 3 zero bits


def test_cached_encode_and_decode_agree_with_uncached() -> None:
    value = b"text/html,application/xhtml+xml"
    literal = coding.encode_string(value)
    assert coding.encode_string_cached(value) == literal
    assert coding.encode_string_cached(value) is coding.encode_string_cached(value)
    raw = literal[1:]
    assert coding.decode_huffman_cached(raw) == value == huffman.decode(raw)
    assert coding.decode_huffman_cached(raw) is coding.decode_huffman_cached(raw)


def test_caches_stay_bounded() -> None:
    for n in range(coding.CACHE_SIZE + 10):
        coding.encode_string_cached(b"v%d" % n)
        coding.decode_huffman_cached(huffman.encode(b"value %d" % n))
    assert len(coding._encode_cache) <= coding.CACHE_SIZE
    assert len(coding._decode_cache) <= coding.CACHE_SIZE
    big = b"x" * (coding.CACHE_MAX_LENGTH + 1)
    coding.encode_string_cached(big)
    assert big not in coding._encode_cache


def test_secrets_never_enter_the_shared_caches() -> None:
    from sockit.proto.hpack import Decoder, Encoder

    coding.clear_caches()
    secret = b"session=0123456789abcdef0123456789abcdef"
    plain = b"text/html,application/xhtml+xml"
    fields = [(b"cookie", secret), (b"x-token", secret + b"2"), (b"accept", plain)]
    # sent never-indexed (cookie by default, x-token marked), and cookie sent
    # *indexed* by an encoder told not to protect it
    blocks = [
        Encoder().encode(fields, sensitive={b"x-token"}),
        Encoder(never_index=()).encode(fields[:1]),
    ]
    for block in blocks:
        Decoder().decode(block)
    cached_values = set(coding._encode_cache) | set(coding._decode_cache.values())
    assert plain in cached_values
    assert secret not in cached_values
    assert secret + b"2" not in cached_values
    raw = huffman.encode(secret)
    assert raw not in coding._decode_cache
