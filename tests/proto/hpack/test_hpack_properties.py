"""Hypothesis properties.

* Arbitrary bytes, decoded cold or after a real block filled the table,
  either decode or raise a :class:`~sockit.errors.SockitError` subclass
  (never IndexError, ValueError, ...), with default and with tiny limits.
* Arbitrary header-list sequences, with arbitrary sensitive names, Huffman
  on or off and table size changes in between, round-trip through our
  encoder and decoder (never-indexed flags included), decode identically in
  the ``hpack`` library's decoder, and leave both dynamic tables equal.
"""

from __future__ import annotations

import hpack
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import SockitError
from sockit.limits import HPACKLimits
from sockit.proto.hpack import (
    DEFAULT_NEVER_INDEX,
    STATIC_TABLE,
    Decoder,
    Encoder,
    HeaderListTooLarge,
    HPACKError,
)

TINY = HPACKLimits(
    header_table_size=64,
    max_header_list_size=200,
    max_headers=4,
    max_header_size=50,
    max_table_size_updates=1,
    max_decoded_size_cap=300,
)
BIG = HPACKLimits(
    max_header_table_size=1 << 16,
    max_header_list_size=1 << 22,
    max_headers=10_000,
    max_header_size=1 << 22,
    max_decoded_size_cap=1 << 24,
)
PRIMER = Encoder().encode(
    [(b":method", b"GET"), (b":authority", b"example.org"), (b"x-a", b"b" * 20)]
)

names = st.one_of(
    st.sampled_from(sorted({n for n, _ in STATIC_TABLE} | set(DEFAULT_NEVER_INDEX))),
    st.binary(max_size=12),
)
values = st.one_of(
    st.sampled_from([v for _, v in STATIC_TABLE]),
    st.binary(max_size=40),
    st.text(alphabet="abcdefghij/.:;=-_ ", max_size=200).map(str.encode),
)
fields = st.tuples(names, values)
header_list = st.lists(fields, max_size=10)
step = st.tuples(
    header_list,
    st.frozensets(names, max_size=2),  # sensitive names for this block
    st.booleans(),  # Huffman
    st.one_of(st.none(), st.lists(st.integers(0, 5000), min_size=1, max_size=3)),
)


def check_refusal(decoder: Decoder, data: bytes) -> None:
    try:
        out = decoder.decode(data)
    except (HPACKError, HeaderListTooLarge) as exc:
        assert isinstance(exc, SockitError)
        assert exc.http_status == 431 or exc.error_code == 9
    else:
        assert all(type(n) is bytes and type(v) is bytes for n, v in out)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_cold(data: bytes) -> None:
    check_refusal(Decoder(), data)
    check_refusal(Decoder(TINY), data)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_after_a_real_block(data: bytes) -> None:
    decoder = Decoder()
    decoder.decode(PRIMER)
    check_refusal(decoder, data)
    small = Decoder(TINY, max_table_size=4096)
    small.decode(PRIMER)
    check_refusal(small, data)


@given(st.binary(max_size=60), st.binary(max_size=60))
def test_arbitrary_bytes_appended_to_valid_ones(head: bytes, tail: bytes) -> None:
    check_refusal(Decoder(), PRIMER + tail)
    check_refusal(Decoder(), head + PRIMER)


@given(st.lists(step, min_size=1, max_size=6))
def test_round_trip(steps: list[tuple[list[tuple[bytes, bytes]], frozenset[bytes], bool,
                                      list[int] | None]]) -> None:
    encoder = Encoder(table_size_limit=1 << 16)
    ours = Decoder(BIG)
    theirs = hpack.Decoder(max_header_list_size=1 << 22)
    theirs.max_allowed_table_size = 1 << 16
    for headers, sensitive, use_huffman, sizes in steps:
        for size in sizes or ():
            encoder.set_max_table_size(size)
            ours.max_table_size = size
        block = encoder.encode(headers, sensitive=sensitive, huffman=use_huffman)
        decoded = ours.decode_with_flags(block)
        assert [(n, v) for n, v, _ in decoded] == headers
        for name, value, never in decoded:
            marked = name in sensitive
            default = name in DEFAULT_NEVER_INDEX and (name, value) not in STATIC_TABLE
            assert never == (marked or default)
        assert [(bytes(n), bytes(v)) for n, v in theirs.decode(block, raw=True)] == headers
        assert ours.dynamic_fields() == encoder.dynamic_fields()
        assert ours.table_size == encoder.table_size
