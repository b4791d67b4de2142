"""The Huffman code: the table, round trips, the RFC's strings, and every way to be malformed.

Both decoding paths are checked against each other: the byte-driven state
machine (:func:`huffman.decode_fsm`) is the reference, :func:`huffman.decode`
tries zlib first for strings of ``ZLIB_MIN_LENGTH`` octets or more.
"""

from __future__ import annotations

import hpack.huffman_constants as peer
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.proto.hpack import HPACKError, huffman
from sockit.proto.hpack._huffman_table import CODE_LENGTHS, EOS, canonical_codes

# (symbol, code, length) rows copied from RFC 7541 Appendix B.
RFC_ROWS = [
    (0, 0x1FF8, 13), (1, 0x7FFFD8, 23), (10, 0x3FFFFFFC, 30), (32, 0x14, 6),
    (47, 0x18, 6), (48, 0x0, 5), (97, 0x3, 5), (92, 0x7FFF0, 19), (123, 0x7FFE, 15),
    (127, 0xFFFFFFC, 28), (195, 0x7FFF1, 19), (255, 0x3FFFFEE, 26), (EOS, 0x3FFFFFFF, 30),
]
# Strings and their Huffman encodings from RFC 7541 C.4 and C.6.
RFC_STRINGS = [
    (b"www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"),
    (b"no-cache", "a8eb10649cbf"),
    (b"custom-key", "25a849e95ba97d7f"),
    (b"custom-value", "25a849e95bb8e8b4bf"),
    (b"302", "6402"),
    (b"307", "640eff"),
    (b"private", "aec3771a4b"),
    (b"gzip", "9bd9ab"),
    (b"Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff"),
    (b"https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3"),
    (b"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
     "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007"),
]
LONG = huffman.ZLIB_MIN_LENGTH * 2  # plenty of octets for the zlib path


def both(data: bytes) -> bytes:
    """Decode with both paths, insisting they agree."""
    reference = huffman.decode_fsm(data)
    assert huffman.decode(data) == reference
    return reference


def refusal(data: bytes) -> str:
    """Both paths must refuse ``data`` with the same HPACKError message."""
    with pytest.raises(HPACKError) as fsm:
        huffman.decode_fsm(data)
    with pytest.raises(HPACKError) as best:
        huffman.decode(data)
    assert str(fsm.value) == str(best.value)
    assert fsm.value.error_code == 9
    return str(fsm.value)


def test_codes_match_the_rfc_rows() -> None:
    codes = canonical_codes()
    for sym, code, length in RFC_ROWS:
        assert (codes[sym], CODE_LENGTHS[sym]) == (code, length), sym


def test_codes_match_the_hpack_library_table() -> None:
    assert canonical_codes() == list(peer.REQUEST_CODES)
    assert list(CODE_LENGTHS) == list(peer.REQUEST_CODES_LENGTH)


@pytest.mark.parametrize(("text", "hexed"), RFC_STRINGS)
def test_rfc_strings(text: bytes, hexed: str) -> None:
    assert huffman.encode(text) == bytes.fromhex(hexed)
    assert huffman.encoded_length(text) == len(hexed) // 2
    assert both(bytes.fromhex(hexed)) == text


def test_all_256_octets_round_trip() -> None:
    every = bytes(range(256))
    assert both(huffman.encode(every)) == every
    assert both(huffman.encode(every[::-1] * 3)) == every[::-1] * 3
    for octet in range(256):
        one = bytes((octet,))
        coded = huffman.encode(one)
        assert len(coded) == huffman.encoded_length(one) == (CODE_LENGTHS[octet] + 7) // 8
        assert both(coded) == one
        assert both(huffman.encode(one * LONG)) == one * LONG


def test_empty_string() -> None:
    assert huffman.encode(b"") == b""
    assert both(b"") == b""


def test_encode_if_shorter() -> None:
    assert huffman.encode_if_shorter(b"www.example.com") == huffman.encode(b"www.example.com")
    assert huffman.encode_if_shorter(b"307") is None  # 3 octets either way
    assert huffman.encode_if_shorter(b"\x00\x01") is None  # longer


def pack(symbols: list[int], padding: str | None = None) -> bytes:
    """Symbols' codes back to back, then ``padding`` (default: ones to a whole octet)."""
    codes = canonical_codes()
    bits = "".join(f"{codes[s]:0{CODE_LENGTHS[s]}b}" for s in symbols)
    bits += "1" * (-len(bits) % 8) if padding is None else padding
    assert len(bits) % 8 == 0
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def test_pack_agrees_with_encode() -> None:
    assert pack(list(b"www.example.com")) == huffman.encode(b"www.example.com")


@pytest.mark.parametrize("length", [1, LONG])
def test_eos_inside_the_string_is_refused(length: int) -> None:
    assert "EOS" in refusal(pack([*b"ab" * length, EOS, *b"a"]))


@pytest.mark.parametrize("length", [1, LONG])
def test_eos_at_the_end_is_refused(length: int) -> None:
    assert "EOS" in refusal(pack([*b"x" * length, EOS]))


@pytest.mark.parametrize("length", [1, 4, LONG])
def test_padding_of_eight_bits_or_more_is_refused(length: int) -> None:
    good = huffman.encode(b"0" * length)
    assert both(good) == b"0" * length
    assert "padding" in refusal(good + b"\xff")
    # "0" is 00000: eight of them fill five octets exactly; an 0xff after is 8 bits of padding
    assert "padding" in refusal(huffman.encode(b"0" * 8 * length) + b"\xff")


@pytest.mark.parametrize("length", [1, 3, LONG + 1])
def test_padding_not_all_ones_is_refused(length: int) -> None:
    good = huffman.encode(b"a" * length)  # 5 bits per 'a'
    pad = (-5 * length) % 8
    assert pad, "the string must end with padding"
    assert both(good) == b"a" * length
    for flip in range(pad):  # clear one padding bit at a time
        bad = good[:-1] + bytes((good[-1] & ~(1 << flip),))
        assert "padding" in refusal(bad)


def test_padding_of_up_to_seven_ones_is_accepted() -> None:
    for length in range(1, 9):  # 5 * length bits: every padding length 0..7 appears
        text = b"0" * length
        assert both(huffman.encode(text)) == text
    for length in range(1, 9):
        text = b"0" * (LONG + length)
        assert both(huffman.encode(text)) == text


def test_zlib_path_is_taken_for_long_ascii_and_declines_long_codes() -> None:
    assert huffman._INFLATER is not None
    text = b"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
    assert huffman._inflate(huffman._INFLATER, huffman.encode(text)) == text
    # '\\' has a 19-bit code: zlib stops there and the state machine takes over
    with_long = text + b"\\" + text
    assert huffman._inflate(huffman._INFLATER, huffman.encode(with_long)) is None
    assert huffman.decode(huffman.encode(with_long)) == with_long


@given(st.binary(max_size=300))
def test_round_trip(data: bytes) -> None:
    coded = huffman.encode(data)
    assert len(coded) == huffman.encoded_length(data)
    assert both(coded) == data


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300))
def test_round_trip_ascii(text: str) -> None:
    data = text.encode()
    assert both(huffman.encode(data)) == data


@given(st.binary(max_size=80))
def test_arbitrary_bytes_decode_alike_or_are_refused_alike(data: bytes) -> None:
    try:
        expected = huffman.decode_fsm(data)
    except HPACKError as exc:
        with pytest.raises(HPACKError) as again:
            huffman.decode(data)
        assert str(again.value) == str(exc)
    else:
        assert huffman.decode(data) == expected
        assert huffman.encode(expected) == data  # a valid string has one encoding
