"""The encoder's choices: what it indexes, what it never indexes, Huffman, size updates."""

from __future__ import annotations

import pytest

from sockit.errors import LocalProtocolError
from sockit.limits import HPACKLimits
from sockit.proto.hpack import DEFAULT_NEVER_INDEX, Decoder, Encoder, coding, huffman
from sockit.proto.hpack.coding import encode_integer
from sockit.proto.hpack.encoder import UNINDEXED_NAMES

REQUEST = [
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":authority", b"example.org"),
    (b":path", b"/search?q=hpack"),
    (b"user-agent", b"sockit-test/1.0"),
    (b"accept", b"*/*"),
]


def kinds(block: bytes) -> list[str]:
    """The representation of each field in ``block``, in order (§6)."""
    out = []
    pos = 0
    while pos < len(block):
        first = block[pos]
        if first & 0x80:
            out.append("indexed")
            index = first & 0x7F
            pos += 1
            if index == 0x7F:
                _, pos = coding.decode_integer(block, pos, 0x7F)
            continue
        if first & 0xE0 == 0x20:
            out.append("update")
            pos += 1
            if first & 0x1F == 0x1F:
                _, pos = coding.decode_integer(block, pos, 0x1F)
            continue
        if first & 0x40:
            out.append("incremental")
            prefix = 0x3F
        elif first & 0x10:
            out.append("never")
            prefix = 0x0F
        else:
            out.append("without")
            prefix = 0x0F
        index = first & prefix
        pos += 1
        if index == prefix:
            index, pos = coding.decode_integer(block, pos, prefix)
        if not index:
            _, pos = coding.decode_string(block, pos)
        _, pos = coding.decode_string(block, pos)
    return out


def test_first_request_indexes_new_fields_then_repeats_are_one_octet_each() -> None:
    encoder, decoder = Encoder(), Decoder()
    first = encoder.encode(REQUEST)
    assert kinds(first) == ["indexed", "indexed"] + ["incremental"] * 4
    assert decoder.decode(first) == REQUEST
    again = encoder.encode(REQUEST)
    assert len(again) == len(REQUEST)
    assert kinds(again) == ["indexed"] * 6
    assert decoder.decode(again) == REQUEST
    assert encoder.dynamic_fields() == decoder.dynamic_fields()


@pytest.mark.parametrize("name", sorted(DEFAULT_NEVER_INDEX))
def test_sensitive_names_are_never_indexed(name: bytes) -> None:
    encoder, decoder = Encoder(), Decoder()
    field = (name, b"secret-token-value")
    for _ in range(3):  # every time: no table entry to refer to
        block = encoder.encode([field])
        assert kinds(block) == ["never"]
        assert decoder.decode_with_flags(block) == [(*field, True)]
    assert encoder.table_size == decoder.table_size == 0


def test_caller_marked_sensitive_names() -> None:
    encoder, decoder = Encoder(), Decoder()
    field = (b"x-api-key", b"k-123")
    block = encoder.encode([field, (b"x-other", b"1")], sensitive={b"x-api-key"})
    assert kinds(block) == ["never", "incremental"]
    assert decoder.decode_with_flags(block) == [(*field, True), (b"x-other", b"1", False)]
    # str names are accepted in ``sensitive`` too
    assert kinds(encoder.encode([field], sensitive=["x-api-key"])) == ["never"]
    # unmarked, it is indexed; marked again later, it is not sent as that index
    assert kinds(encoder.encode([field])) == ["incremental"]
    assert kinds(encoder.encode([field])) == ["indexed"]
    assert kinds(encoder.encode([field], sensitive={b"x-api-key"})) == ["never"]


def test_never_index_can_be_configured() -> None:
    encoder = Encoder(never_index=())
    cookie = (b"cookie", b"a=b")
    assert kinds(encoder.encode([cookie])) == ["incremental"]
    assert kinds(encoder.encode([cookie])) == ["indexed"]
    assert kinds(Encoder(never_index=["x-secret"]).encode([(b"x-secret", b"1")])) == ["never"]


def test_volatile_and_huge_fields_are_not_indexed() -> None:
    encoder, decoder = Encoder(), Decoder()
    for name in sorted(UNINDEXED_NAMES):
        block = encoder.encode([(name, b"12345")])
        assert kinds(block) == ["without"]
        decoder.decode(block)
    # larger than half the table: not indexed; exactly half: indexed
    half = 4096 // 2 - 32 - len(b"x-big")
    assert kinds(encoder.encode([(b"x-big", b"v" * (half + 1))])) == ["without"]
    assert kinds(encoder.encode([(b"x-big", b"v" * half)])) == ["incremental"]
    assert encoder.table_size == 4096 // 2


def test_exact_static_match_is_used_even_for_sensitive_names() -> None:
    assert Encoder().encode([(b"authorization", b"")]) == bytes([0x80 | 23])


def test_name_index_comes_from_the_table() -> None:
    encoder = Encoder()
    block = encoder.encode([(b"x-custom", b"1")])
    assert block[0] == 0x40  # literal name
    block = encoder.encode([(b"x-custom", b"2")])
    assert block[0] == 0x40 | 62  # name from the dynamic table
    assert Encoder().encode([(b"cookie", b"z")])[0] == 0x10 | 0x0F  # 32 = 15 + 17
    assert Encoder().encode([(b"cookie", b"z")])[1] == 32 - 15


def test_huffman_only_when_shorter() -> None:
    block = Encoder().encode([(b"x-a", b"www.example.com")])
    value = huffman.encode(b"www.example.com")
    assert block.endswith(bytes([0x80 | len(value)]) + value)
    binary = b"\x00\x01\x02\x03"
    assert Encoder().encode([(b"x-a", binary)]).endswith(b"\x04" + binary)
    plain = Encoder().encode([(b"x-a", b"www.example.com")], huffman=False)
    assert plain.endswith(b"\x0fwww.example.com")
    assert plain[1:5] == b"\x03x-a"


def test_str_and_list_input() -> None:
    decoder = Decoder()
    block = Encoder().encode([(":method", "GET"), ("x-caf\u00e9", "d\u00e9j\u00e0")])
    assert decoder.decode(block) == [(b":method", b"GET"), (b"x-caf\xe9", b"d\xe9j\xe0")]
    assert Encoder().encode([[b"x-l", b"1"]]) == Encoder().encode([(b"x-l", b"1")])
    encoder = Encoder()
    encoder.encode([(b"x-l", b"1")])
    assert encoder.encode([["x-l", "1"]]) == b"\xbe"  # a str list still finds the entry
    with pytest.raises(LocalProtocolError):
        Encoder().encode([("x-a", "\u20ac")])
    with pytest.raises(LocalProtocolError):
        Encoder().encode([(b"x-a", 1)])  # type: ignore[list-item]


def test_large_indices_take_several_octets() -> None:
    encoder, decoder = Encoder(), Decoder()
    fields = [(b"x-%03d" % i, b"v") for i in range(100)]  # 38 octets each: all fit
    decoder.decode(encoder.encode(fields))
    block = encoder.encode([fields[0]])  # the oldest: index 61 + 100
    assert block == encode_integer(161, 7, 0x80)
    assert len(block) == 2
    assert decoder.decode(block) == [fields[0]]


# --- table size changes -------------------------------------------------------------


def updates(block: bytes) -> list[int]:
    sizes = []
    pos = 0
    while pos < len(block) and block[pos] & 0xE0 == 0x20:
        size = block[pos] & 0x1F
        pos += 1
        if size == 0x1F:
            size, pos = coding.decode_integer(block, pos, 0x1F)
        sizes.append(size)
    return sizes


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ([1024], [1024]),
        ([8192], [8192]),
        ([4096], []),
        ([0, 4096], [0, 4096]),
        ([1024, 2048], [1024, 2048]),
        ([8192, 2048], [2048]),
        ([2048, 8192, 1024, 4096], [1024, 4096]),
        ([100, 50, 100], [50, 100]),
    ],
)
def test_size_updates(settings: list[int], expected: list[int]) -> None:
    encoder = Encoder()
    decoder = Decoder(HPACKLimits(max_header_table_size=1 << 16))
    decoder.decode(encoder.encode(REQUEST))
    for size in settings:
        encoder.set_max_table_size(size)
        decoder.max_table_size = size
    block = encoder.encode(REQUEST)
    assert updates(block) == expected
    assert decoder.decode(block) == REQUEST
    assert encoder.table_capacity == decoder.table_capacity == settings[-1]
    assert encoder.dynamic_fields() == decoder.dynamic_fields()
    follow = encoder.encode(REQUEST)
    assert updates(follow) == []
    assert decoder.decode(follow) == REQUEST


def test_shrinking_evicts_on_both_sides() -> None:
    encoder, decoder = Encoder(), Decoder()
    decoder.decode(encoder.encode(REQUEST))
    assert len(encoder.dynamic_fields()) == 4
    encoder.set_max_table_size(0)
    decoder.max_table_size = 0
    block = encoder.encode(REQUEST)
    assert updates(block) == [0]
    assert decoder.decode(block) == REQUEST
    assert encoder.dynamic_fields() == decoder.dynamic_fields() == []
    assert "incremental" not in kinds(encoder.encode(REQUEST))  # nothing fits in 0


def test_table_size_limit_caps_what_the_peer_allows() -> None:
    encoder = Encoder(table_size_limit=4096)
    encoder.set_max_table_size(65536)
    assert updates(encoder.encode(REQUEST)) == []
    assert encoder.table_capacity == 4096
    encoder = Encoder(table_size_limit=8192)
    encoder.set_max_table_size(65536)
    assert updates(encoder.encode(REQUEST)) == [8192]


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(LocalProtocolError):
        Encoder().set_max_table_size(-1)
    with pytest.raises(LocalProtocolError):
        Encoder(-1)
