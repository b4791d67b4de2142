"""Every decoder bound at N (accepted) and N + 1 (refused), the bomb guard,
table size updates, and every kind of malformed block.

What each bound measures (as the decoder documents):

* ``max_headers``: fields in one block;
* ``max_header_size``: one field's name + value octets;
* ``max_header_list_size``: the RFC 9113 list size, name + value + 32 per field;
* ``max_decoded_size``: name + value octets the block decodes to, checked
  before each field is stored or appended (literals first by their declared
  length);
* ``max_table_size_updates``: size updates at the start of one block.

The first three are reported after the whole block was decoded
(:class:`HeaderListTooLarge`, table still in step); the guard and the update
count stop decoding (:class:`HPACKLimitExceeded`, an :class:`HPACKError`).
"""

from __future__ import annotations

import pytest

from sockit.errors import LimitExceeded, LocalProtocolError
from sockit.limits import HPACKLimits
from sockit.proto.hpack import Decoder, HeaderListTooLarge, HPACKError, HPACKLimitExceeded
from sockit.proto.hpack.coding import encode_integer, encode_string

BIG = HPACKLimits(
    max_header_list_size=1 << 20,
    max_headers=10_000,
    max_header_size=1 << 20,
    max_decoded_size_cap=1 << 24,
)


def literal(name: bytes, value: bytes, kind: int = 0x40) -> bytes:
    """A literal field with a literal name: 0x40 indexing, 0x00 without, 0x10 never."""
    return bytes((kind,)) + encode_string(name, False) + encode_string(value, False)


def indexed(index: int) -> bytes:
    return encode_integer(index, 7, 0x80)


def update(size: int) -> bytes:
    return encode_integer(size, 5, 0x20)


# --- header count, field size, list size -------------------------------------------


@pytest.mark.parametrize("n", [1, 5, 128])
def test_max_headers(n: int) -> None:
    limits = BIG.replace(max_headers=n)
    assert len(Decoder(limits).decode(indexed(2) * n)) == n
    with pytest.raises(HeaderListTooLarge) as info:
        Decoder(limits).decode(indexed(2) * (n + 1))
    assert info.value.limit == "max_headers"
    assert info.value.value == n
    assert info.value.http_status == 431
    assert info.value.error_code is None
    assert not isinstance(info.value, HPACKError)


@pytest.mark.parametrize("n", [10, 100, 8192])
def test_max_header_size_literal(n: int) -> None:
    limits = BIG.replace(max_header_size=n)
    ok = literal(b"x-a", b"v" * (n - 3), kind=0x00)
    assert Decoder(limits).decode(ok) == [(b"x-a", b"v" * (n - 3))]
    with pytest.raises(HeaderListTooLarge) as info:
        Decoder(limits).decode(literal(b"x-a", b"v" * (n - 2), kind=0x00))
    assert info.value.limit == "max_header_size"


def test_max_header_size_indexed_reference() -> None:
    limits = BIG.replace(max_header_size=50)
    decoder = Decoder(limits)
    small, large = (b"x-s", b"v" * 47), (b"x-l", b"v" * 48)  # 50 and 51 octets
    assert decoder.decode(literal(*small)) == [small]
    assert decoder.decode(indexed(62)) == [small]
    with pytest.raises(HeaderListTooLarge):
        decoder.decode(literal(*large))
    # the refused block was still decoded to the end: the entry is in the table
    assert decoder.dynamic_fields() == [large, small]
    with pytest.raises(HeaderListTooLarge) as info:
        decoder.decode(indexed(62))
    assert info.value.limit == "max_header_size"
    assert decoder.decode(indexed(63)) == [small]


def fields_of_list_size(n: int, extra: int = 0) -> list[tuple[bytes, bytes]]:
    """Fields whose list size (name + value + 32 each) is exactly ``n + extra``."""
    count = n // 100
    fields = [(b"x-%d" % (i % 10), b"v" * 65) for i in range(count - 1)]  # 100 each
    fields.append((b"x-z", b"v" * (n - 100 * (count - 1) - 35 + extra)))
    assert sum(len(a) + len(b) + 32 for a, b in fields) == n + extra
    return fields


@pytest.mark.parametrize("n", [100, 1000, 16384])
def test_max_header_list_size(n: int) -> None:
    limits = BIG.replace(max_header_list_size=n)
    fields = fields_of_list_size(n)
    assert Decoder(limits).decode(b"".join(literal(a, b, 0x00) for a, b in fields)) == fields
    over = fields_of_list_size(n, 1)
    with pytest.raises(HeaderListTooLarge) as info:
        Decoder(limits).decode(b"".join(literal(a, b, 0x00) for a, b in over))
    assert info.value.limit == "max_header_list_size"
    assert info.value.value == n
    # one more empty field adds 32 octets of list size and nothing decoded
    with pytest.raises(HeaderListTooLarge):
        Decoder(limits).decode(
            b"".join(literal(a, b, 0x00) for a, b in fields) + literal(b"", b"", 0x00)
        )


def test_refused_list_keeps_the_table_in_step() -> None:
    decoder = Decoder(BIG.replace(max_headers=2))
    fields = [(b"x-%d" % i, b"value") for i in range(3)]
    with pytest.raises(HeaderListTooLarge):
        decoder.decode(b"".join(literal(n, v) for n, v in fields))
    assert decoder.decode(indexed(62) + indexed(64)) == [fields[2], fields[0]]


def test_default_limits() -> None:
    defaults = HPACKLimits()
    decoder = Decoder()
    assert decoder.limits == defaults
    assert decoder.max_table_size == defaults.header_table_size == 4096
    assert defaults.max_decoded_size == min(10 * defaults.max_header_list_size, 1 << 20)


# --- the decoded-size guard ---------------------------------------------------------


def guard_limits(guard: int) -> HPACKLimits:
    limits = BIG.replace(max_decoded_size_cap=guard)
    assert limits.max_decoded_size == guard
    return limits


@pytest.mark.parametrize("guard", [100, 4096, 100_000])
def test_guard_on_literals(guard: int) -> None:
    limits = guard_limits(guard)
    assert len(Decoder(limits).decode(literal(b"x", b"v" * (guard - 1), 0x00))[0][1]) == guard - 1
    with pytest.raises(HPACKLimitExceeded) as info:
        Decoder(limits).decode(literal(b"x", b"v" * guard, 0x00))
    assert info.value.limit == "max_decoded_size"
    assert info.value.value == guard
    assert info.value.error_code == 9
    assert isinstance(info.value, HPACKError)
    assert isinstance(info.value, LimitExceeded)


def test_guard_on_indexed_references() -> None:
    limits = guard_limits(1000)
    field = (b"x-a", b"v" * 97)  # 100 octets
    block = literal(*field) + indexed(62) * 9  # exactly 1000
    assert Decoder(limits).decode(block) == [field] * 10
    with pytest.raises(HPACKLimitExceeded):
        Decoder(limits).decode(block + indexed(2))  # ":method GET": 10 more octets


def test_guard_checks_the_declared_length_before_decoding() -> None:
    limits = guard_limits(1000)
    # a literal announcing a 2000-octet value, then nothing: the guard fires,
    # not the truncation check, so the value was never read
    block = b"\x00" + encode_string(b"x", False) + encode_integer(2000, 7)
    with pytest.raises(HPACKLimitExceeded):
        Decoder(limits).decode(block)
    name_block = b"\x00" + encode_integer(2000, 7)  # a 2000-octet literal *name*
    with pytest.raises(HPACKLimitExceeded):
        Decoder(limits).decode(name_block)
    with pytest.raises(HPACKError, match="truncated"):  # below the guard: just truncated
        Decoder(limits).decode(b"\x00" + encode_integer(500, 7))


def test_guard_stops_before_storing() -> None:
    limits = guard_limits(1000)
    decoder = Decoder(limits)
    first = (b"x-a", b"v" * 597)  # 600
    block = literal(*first) + literal(b"x-b", b"w" * 398)  # 600 + 401
    with pytest.raises(HPACKLimitExceeded):
        decoder.decode(block)
    assert decoder.dynamic_fields() == [first]  # the second one was never stored


def test_bomb_one_large_entry_referenced_a_thousand_times() -> None:
    # a 4 KiB value inserted once, then indexed 1000 times, with default bounds
    limits = HPACKLimits(header_table_size=8192)
    guard = limits.max_decoded_size  # 160 KiB
    field = (b"x-bomb", b"a" * 4096)
    size = len(field[0]) + len(field[1])
    fits = guard // size  # fields that fit under the guard
    assert fits == 39
    head = literal(*field)
    # 39 fields: under the guard, but far over the list size: refused, table intact
    decoder = Decoder(limits)
    with pytest.raises(HeaderListTooLarge):
        decoder.decode(head + indexed(62) * (fits - 1))
    assert decoder.dynamic_fields() == [field]
    # one more reference passes the guard: refused on the spot
    with pytest.raises(HPACKLimitExceeded) as info:
        Decoder(limits).decode(head + indexed(62) * fits)
    assert info.value.limit == "max_decoded_size"
    with pytest.raises(HPACKLimitExceeded):
        Decoder(limits).decode(head + indexed(62) * 1000)


def test_guard_applies_per_block() -> None:
    decoder = Decoder(guard_limits(1000))
    field = (b"x-a", b"v" * 497)  # 500
    assert decoder.decode(literal(*field) + indexed(62)) == [field, field]
    for _ in range(5):
        assert decoder.decode(indexed(62) * 2) == [field, field]


# --- table size updates -------------------------------------------------------------


def test_two_updates_at_the_start_are_accepted_three_are_not() -> None:
    decoder = Decoder()
    assert decoder.decode(update(0) + update(4096) + indexed(2)) == [(b":method", b"GET")]
    assert decoder.table_capacity == 4096
    with pytest.raises(HPACKLimitExceeded) as info:
        Decoder().decode(update(0) + update(100) + update(4096) + indexed(2))
    assert info.value.limit == "max_table_size_updates"
    assert info.value.value == 2


@pytest.mark.parametrize("allowed", [0, 1, 3])
def test_update_count_follows_the_limit(allowed: int) -> None:
    limits = HPACKLimits(max_table_size_updates=allowed)
    assert Decoder(limits).decode(update(10) * allowed) == []
    with pytest.raises(HPACKLimitExceeded):
        Decoder(limits).decode(update(10) * (allowed + 1))


def test_update_after_a_field_is_refused() -> None:
    with pytest.raises(HPACKError, match="after the first field"):
        Decoder().decode(indexed(2) + update(100))
    with pytest.raises(HPACKError, match="after the first field"):
        Decoder().decode(update(100) + indexed(2) + update(100) + indexed(2))


@pytest.mark.parametrize("maximum", [0, 100, 4096, 65536])
def test_update_up_to_the_advertised_maximum(maximum: int) -> None:
    decoder = Decoder(max_table_size=maximum)
    assert decoder.decode(update(maximum)) == []
    assert decoder.table_capacity == maximum
    with pytest.raises(HPACKError, match="above the maximum"):
        Decoder(max_table_size=maximum).decode(update(maximum + 1))


def test_lowered_maximum_requires_an_update() -> None:
    decoder = Decoder()
    field = (b"x-a", b"v" * 100)
    decoder.decode(literal(*field))
    decoder.max_table_size = 100  # our SETTINGS, now acknowledged
    with pytest.raises(HPACKError, match="required"):
        decoder.decode(indexed(62))
    decoder2 = Decoder()
    decoder2.decode(literal(*field))
    decoder2.max_table_size = 100
    with pytest.raises(HPACKError, match="required"):
        decoder2.decode(b"")
    decoder3 = Decoder()
    decoder3.decode(literal(*field))
    decoder3.max_table_size = 100
    assert decoder3.decode(update(100) + indexed(2)) == [(b":method", b"GET")]
    assert decoder3.dynamic_fields() == []  # the entry (136 octets) was evicted
    assert decoder3.decode(indexed(2)) == [(b":method", b"GET")]


def test_maximum_lowered_and_raised_again_needs_no_update() -> None:
    decoder = Decoder()
    decoder.max_table_size = 0
    decoder.max_table_size = 4096
    assert decoder.decode(indexed(2)) == [(b":method", b"GET")]
    # (an update to the low point is welcome too)
    assert decoder.decode(update(0) + update(4096)) == []


def test_max_table_size_setter_range() -> None:
    limits = HPACKLimits()
    decoder = Decoder(limits)
    decoder.max_table_size = limits.max_header_table_size
    with pytest.raises(LocalProtocolError):
        decoder.max_table_size = limits.max_header_table_size + 1
    with pytest.raises(LocalProtocolError):
        decoder.max_table_size = -1
    with pytest.raises(LocalProtocolError):
        Decoder(max_table_size=limits.max_header_table_size + 1)


def test_update_evicts_and_grows() -> None:
    decoder = Decoder()
    fields = [(b"x-%d" % i, b"v" * 60) for i in range(3)]  # 95 octets each
    decoder.decode(b"".join(literal(n, v) for n, v in fields))
    assert decoder.table_size == 3 * 95
    decoder.decode(update(200))
    assert decoder.dynamic_fields() == [fields[2], fields[1]]
    decoder.decode(update(4096) + literal(b"x-3", b"v" * 60))
    assert len(decoder.dynamic_fields()) == 3


# --- malformed blocks ---------------------------------------------------------------

MALFORMED = {
    "index 0": (b"\x80", "index 0"),
    "index past static table": (b"\xbe", "past the table"),
    "index past dynamic table": (b"\xff\x80\x01", "past the table"),
    "name index past table": (b"\x7e\x01a", "past the table"),
    "name index 0x0f past table": (b"\x0f\x40\x01a", "past the table"),
    "truncated integer": (b"\xff", "truncated"),
    "truncated long integer": (b"\xff\x80\x80", "truncated"),
    "integer overflow": (b"\xff\xff\xff\xff\xff\x0f", "exceeds"),
    "integer too many octets": (b"\xff\x80\x80\x80\x80\x80\x00", "continuation"),
    "truncated name length": (b"\x00", "truncated"),
    "truncated name": (b"\x00\x05ab", "truncated"),
    "missing value": (b"\x04", "truncated"),
    "truncated value": (b"\x04\x05ab", "truncated"),
    "truncated value length integer": (b"\x04\x7f", "truncated"),
    "huffman padding not ones": (b"\x04\x81\x00", "padding"),
    "huffman padding too long": (b"\x04\x82\x07\xff", "padding"),
    "huffman EOS": (b"\x04\x84\xff\xff\xff\xff", "EOS"),
    "huffman name bad": (b"\x00\x81\x00\x00", "padding"),
    "update too large": (update(4097), "above the maximum"),
    "update late": (b"\x82" + update(10), "after the first field"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed(name: str) -> None:
    block, match = MALFORMED[name]
    with pytest.raises(HPACKError, match=match) as info:
        Decoder().decode(block)
    assert info.value.error_code == 9


def test_decoding_accepts_bytearray_and_memoryview() -> None:
    block = literal(b"x-a", b"b") + indexed(2)
    expected = [(b"x-a", b"b"), (b":method", b"GET")]
    assert Decoder().decode(bytearray(block)) == expected
    assert Decoder().decode(memoryview(block)) == expected
    assert Decoder().decode(memoryview(b"zz" + block)[2:]) == expected
