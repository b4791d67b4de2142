"""Interoperation with the ``hpack`` library, both ways.

Their encoder's blocks must decode in our decoder and ours in theirs, across
many blocks on one connection, with small tables that force evictions, with
table size changes (shrink, grow, shrink-then-grow) and with never-indexed
fields, which must survive as never-indexed.
"""

from __future__ import annotations

import random

import hpack
import pytest

from sockit.limits import HPACKLimits
from sockit.proto.hpack import Decoder, Encoder

LIMITS = HPACKLimits(max_header_table_size=1 << 16)
NAMES = [b":method", b":path", b":authority", b"accept", b"user-agent", b"x-trace",
         b"content-type", b"x-custom-%d", b"etag", b"date", b"accept-language"]


def traffic(seed: int, blocks: int = 60) -> list[list[tuple[bytes, bytes]]]:
    """Header lists with repeats, near-repeats and fresh values."""
    rng = random.Random(seed)
    out = []
    for _ in range(blocks):
        fields = []
        for _ in range(rng.randint(1, 12)):
            name = rng.choice(NAMES)
            if b"%d" in name:
                name = name % rng.randint(0, 30)
            value = rng.choice([
                b"GET", b"/", b"text/html", b"x" * rng.randint(0, 300),
                b"v%d" % rng.randint(0, 40), rng.randbytes(rng.randint(0, 20)),
            ])
            fields.append((name, value))
        out.append(fields)
    return out


def theirs_decoded(decoder: hpack.Decoder, block: bytes) -> list[tuple[bytes, bytes]]:
    return [(bytes(n), bytes(v)) for n, v in decoder.decode(block, raw=True)]


def their_entries(table: hpack.table.HeaderTable) -> list[tuple[bytes, bytes]]:
    """The dynamic entries of an ``hpack`` table, newest first."""
    return [(bytes(n), bytes(v)) for n, v in table.dynamic_entries]


def their_decoder() -> hpack.Decoder:
    decoder = hpack.Decoder(max_header_list_size=1 << 20)
    decoder.max_allowed_table_size = 1 << 16
    return decoder


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("table_size", [0, 256, 4096])
def test_their_encoder_our_decoder(seed: int, table_size: int) -> None:
    encoder, decoder = hpack.Encoder(), Decoder(LIMITS)
    encoder.header_table_size = table_size
    decoder.max_table_size = table_size
    for fields in traffic(seed):
        block = encoder.encode(fields)
        assert decoder.decode(block) == fields
    assert decoder.dynamic_fields() == their_entries(encoder.header_table)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("table_size", [0, 256, 4096])
def test_our_encoder_their_decoder(seed: int, table_size: int) -> None:
    encoder, decoder = Encoder(table_size=4096), their_decoder()
    encoder.set_max_table_size(table_size)
    for fields in traffic(seed):
        block = encoder.encode(fields)
        assert theirs_decoded(decoder, block) == fields
    assert their_entries(decoder.header_table) == encoder.dynamic_fields()


@pytest.mark.parametrize("sizes", [[256, 4096], [0, 8192], [1024, 100, 2048], [65536, 512]])
def test_table_size_changes_their_encoder(sizes: list[int]) -> None:
    encoder, decoder = hpack.Encoder(), Decoder(LIMITS)
    lists = traffic(99, blocks=40)
    for i, fields in enumerate(lists):
        if i % 10 == 5:
            size = sizes[(i // 10) % len(sizes)]
            encoder.header_table_size = size  # the peer saw our acknowledged SETTINGS
            decoder.max_table_size = size
        assert decoder.decode(encoder.encode(fields)) == fields


@pytest.mark.parametrize("sizes", [[256, 4096], [0, 8192], [1024, 100, 2048], [65536, 512]])
def test_table_size_changes_our_encoder(sizes: list[int]) -> None:
    encoder, decoder = Encoder(), their_decoder()
    lists = traffic(98, blocks=40)
    for i, fields in enumerate(lists):
        if i % 10 == 5:
            for size in sizes:  # several SETTINGS between two blocks
                encoder.set_max_table_size(size)
        assert theirs_decoded(decoder, encoder.encode(fields)) == fields
        assert decoder.header_table.maxsize == encoder.table_capacity


def test_never_indexed_survives_both_ways() -> None:
    # theirs -> ours
    encoder = hpack.Encoder()
    block = encoder.encode([hpack.NeverIndexedHeaderTuple(b"x-secret", b"s3cr3t"),
                            (b"x-plain", b"p")])
    got = Decoder().decode_with_flags(block)
    assert got == [(b"x-secret", b"s3cr3t", True), (b"x-plain", b"p", False)]
    # ours -> theirs
    ours = Encoder().encode([(b"cookie", b"id=1"), (b"x-plain", b"p")],
                            sensitive={b"x-plain"})
    decoded = hpack.Decoder().decode(ours, raw=True)
    assert [type(f) for f in decoded] == [hpack.NeverIndexedHeaderTuple] * 2
    assert [tuple(f) for f in decoded] == [(b"cookie", b"id=1"), (b"x-plain", b"p")]


def test_huffman_off_both_ways() -> None:
    fields = traffic(7, blocks=1)[0]
    assert Decoder().decode(hpack.Encoder().encode(fields, huffman=False)) == fields
    assert theirs_decoded(hpack.Decoder(), Encoder().encode(fields, huffman=False)) == fields
