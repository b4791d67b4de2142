"""Fail-fast incremental UTF-8: checked against an independent reference.

The reference is a byte-at-a-time automaton written from the Unicode
standard's table of well-formed byte sequences (Table 3-7), deliberately
sharing no code with the implementation. The decoder must agree with it on
the exact fail offset however the stream is split, and with Python's own
decoder on validity and on the decoded text.
"""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import RemoteProtocolError
from sockit.utf8 import InvalidUTF8, UTF8Decoder, decode_utf8, utf8_fail_offset

# (lead byte range, allowed range of the second byte, number of continuation bytes)
_TABLE = [
    (0xC2, 0xDF, (0x80, 0xBF), 1),
    (0xE0, 0xE0, (0xA0, 0xBF), 2),
    (0xE1, 0xEC, (0x80, 0xBF), 2),
    (0xED, 0xED, (0x80, 0x9F), 2),
    (0xEE, 0xEF, (0x80, 0xBF), 2),
    (0xF0, 0xF0, (0x90, 0xBF), 3),
    (0xF1, 0xF3, (0x80, 0xBF), 3),
    (0xF4, 0xF4, (0x80, 0x8F), 3),
]


def ref_fail_offset(data: bytes, final: bool = True) -> int | None:
    need = 0  # continuation bytes still expected
    second: tuple[int, int] | None = None  # special range for the next byte
    for i, b in enumerate(data):
        if need == 0:
            if b < 0x80:
                continue
            for lo, hi, rng, n in _TABLE:
                if lo <= b <= hi:
                    need, second = n, rng
                    break
            else:
                return i
        else:
            lo, hi = second if second is not None else (0x80, 0xBF)
            if not lo <= b <= hi:
                return i
            second = None
            need -= 1
    if final and need:
        return len(data)
    return None


def decode_in_chunks(chunks: list[bytes], final: bool = True) -> tuple[str, int | None]:
    dec = UTF8Decoder()
    out = []
    try:
        for c in chunks:
            out.append(dec.decode(c))
        out.append(dec.decode(b"", final=final))
    except InvalidUTF8 as exc:
        return "".join(out), exc.offset
    return "".join(out), None


# interesting bytes: every lead/continuation class boundary
_EDGE = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
         0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF, 0x41]


def adversarial() -> st.SearchStrategy[bytes]:
    valid_piece = st.text(max_size=4).map(lambda t: t.encode("utf-8", "surrogatepass"))
    edge_piece = st.lists(st.sampled_from(_EDGE), min_size=1, max_size=4).map(bytes)
    return st.lists(st.one_of(valid_piece, edge_piece, st.binary(max_size=3)), max_size=8).map(
        b"".join
    )


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"hello", None),
        ("κόσμε".encode(), None),
        (b"\xed\xa0\x80", 1),  # surrogate: second byte is already impossible
        (b"ab\xed\xbf\xbf", 3),
        (b"\xf4\x90\x80\x80", 1),  # above U+10FFFF
        (b"\xe0\x80\x80", 1),  # overlong
        (b"\xc0\xaf", 0),
        (b"\xf5", 0),
        (b"\xff", 0),
        (b"\xe2\x82", 2),  # truncated at the end of the stream
        (b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", 12),
        (b"\xf0\x9f\x98\x80", None),
        (b"\xf0\x9f\x98", 3),
    ],
)
def test_known_offsets(data: bytes, offset: int | None) -> None:
    assert ref_fail_offset(data) == offset
    assert utf8_fail_offset(data) == offset
    # the same offset whichever single cut the stream has
    for cut in range(len(data) + 1):
        assert decode_in_chunks([data[:cut], data[cut:]])[1] == offset


def test_surrogate_fails_on_its_second_byte_when_fed_bytewise() -> None:
    dec = UTF8Decoder()
    assert dec.decode(b"a") == "a"
    assert dec.decode(b"\xed") == ""
    with pytest.raises(InvalidUTF8) as info:
        dec.decode(b"\xa0")
    assert info.value.offset == 2
    assert isinstance(info.value, RemoteProtocolError)


def test_decoder_refuses_reuse_after_error_until_reset() -> None:
    dec = UTF8Decoder()
    with pytest.raises(InvalidUTF8):
        dec.decode(b"\xff")
    with pytest.raises(InvalidUTF8):
        dec.decode(b"ok")
    dec.reset()
    assert dec.decode(b"ok", final=True) == "ok"
    assert dec.position == 2


def test_pending_holds_incomplete_sequence() -> None:
    dec = UTF8Decoder()
    assert dec.decode(b"x\xf0\x9f") == "x"
    assert dec.pending == b"\xf0\x9f"
    assert dec.decode(b"\x98\x80", final=True) == "\U0001f600"
    assert dec.pending == b""


def test_non_final_prefix_is_not_an_error() -> None:
    assert utf8_fail_offset(b"\xe2\x82", final=False) is None
    assert utf8_fail_offset(b"\xe2\x82", final=True) == 2


def test_decode_utf8_whole() -> None:
    assert decode_utf8(memoryview("żółw".encode())) == "żółw"
    with pytest.raises(InvalidUTF8) as info:
        decode_utf8(b"abc\xed\xa0\x80")
    assert info.value.offset == 4


@given(st.binary(max_size=64))
def test_random_bytes_match_reference_and_stdlib(data: bytes) -> None:
    expected = ref_fail_offset(data)
    assert utf8_fail_offset(data) == expected
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        assert expected is not None
    else:
        assert expected is None
        assert decode_in_chunks([data]) == (text, None)


@given(adversarial())
def test_adversarial_split_at_every_position(data: bytes) -> None:
    expected = ref_fail_offset(data)
    for cut in range(len(data) + 1):
        text, offset = decode_in_chunks([data[:cut], data[cut:]])
        assert offset == expected, (data, cut)
        if expected is None:
            assert text == data.decode("utf-8")
        else:
            # everything decoded before the failure is a valid prefix's text
            assert data[:expected].decode("utf-8", "ignore").startswith(text)


@given(adversarial(), st.randoms(use_true_random=False))
def test_adversarial_random_cuts_and_bytewise(data: bytes, rnd: random.Random) -> None:
    expected = ref_fail_offset(data)
    bytewise = [data[i : i + 1] for i in range(len(data))]
    assert decode_in_chunks(bytewise)[1] == expected
    cuts = sorted(rnd.sample(range(len(data) + 1), min(len(data) + 1, 4)))
    bounds = [0, *cuts, len(data)]
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    assert decode_in_chunks(chunks)[1] == expected


@given(st.text())
def test_valid_text_roundtrips_in_any_split(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    expected = ref_fail_offset(data)
    got, offset = decode_in_chunks([data[i : i + 1] for i in range(len(data))])
    assert offset == expected
    if expected is None:
        assert got == text
