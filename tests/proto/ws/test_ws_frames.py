"""Frames (RFC 6455 §5): header encoding, the RFC's examples, per-frame rules, close bodies."""

from __future__ import annotations

import random

import pytest

from sockit.errors import LimitExceeded, LocalProtocolError
from sockit.proto.ws import (
    CloseCode,
    Frame,
    FrameParser,
    Opcode,
    WebSocketError,
    WebSocketLimitExceeded,
    is_valid_close_code,
    serialize_frame,
)
from sockit.proto.ws.frames import check_header, close_payload, parse_close, read_header

# --- RFC 6455 §5.7 examples ------------------------------------------------------------


def test_rfc_examples_serialize_exactly() -> None:
    assert serialize_frame(Opcode.TEXT, b"Hello") == bytes.fromhex("810548656c6c6f")
    assert serialize_frame(Opcode.TEXT, b"Hello", mask_key=bytes.fromhex("37fa213d")) == (
        bytes.fromhex("818537fa213d7f9f4d5158")
    )
    assert serialize_frame(Opcode.TEXT, b"Hel", fin=False) == bytes.fromhex("010348656c")
    assert serialize_frame(Opcode.CONTINUATION, b"lo") == bytes.fromhex("80026c6f")
    assert serialize_frame(Opcode.PING, b"Hello") == bytes.fromhex("890548656c6c6f")
    assert serialize_frame(Opcode.PONG, b"Hello", mask_key=bytes.fromhex("37fa213d")) == (
        bytes.fromhex("8a8537fa213d7f9f4d5158")
    )
    assert serialize_frame(Opcode.BINARY, bytes(256))[:4] == bytes.fromhex("827e0100")
    assert serialize_frame(Opcode.BINARY, bytes(65536))[:10] == bytes.fromhex(
        "827f0000000000010000"
    )


def test_rfc_examples_parse() -> None:
    parser = FrameParser()
    frames = parser.feed(
        bytes.fromhex("810548656c6c6f" "818537fa213d7f9f4d5158" "010348656c" "80026c6f")
    )
    assert frames == [
        Frame(Opcode.TEXT, b"Hello"),
        Frame(Opcode.TEXT, b"Hello"),
        Frame(Opcode.TEXT, b"Hel", fin=False),
        Frame(Opcode.CONTINUATION, b"lo"),
    ]


# --- length encodings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "hlen"),
    [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (70000, 10)],
)
@pytest.mark.parametrize("masked", [False, True])
def test_length_encoding_boundaries(size: int, hlen: int, masked: bool) -> None:
    key = b"\x01\x02\x03\x04" if masked else None
    payload = random.Random(size).randbytes(size)
    wire = serialize_frame(Opcode.BINARY, payload, mask_key=key)
    header = read_header(wire)
    assert header is not None
    b0, length, header_len, got_key = header
    assert (b0, length, got_key) == (0x82, size, key)
    assert header_len == hlen + (4 if masked else 0)
    assert len(wire) == header_len + size
    assert FrameParser().feed(wire) == [Frame(Opcode.BINARY, payload)]


def test_read_header_waits_for_every_header_byte() -> None:
    wire = serialize_frame(Opcode.BINARY, bytes(70000), mask_key=b"abcd")
    for cut in range(14):
        assert read_header(wire[:cut]) is None
    assert read_header(wire[:14]) == (0x82, 70000, 14, b"abcd")
    assert read_header(b"xx" + wire[:14], 2) == (0x82, 70000, 14, b"abcd")


@pytest.mark.parametrize(
    "head",
    [
        bytes.fromhex("827e007d"),  # 125 in the 16-bit form
        bytes.fromhex("827e0000"),
        bytes.fromhex("827f000000000000ffff"),  # 65535 in the 64-bit form
        bytes.fromhex("827f000000000000007d"),
    ],
)
def test_non_minimal_lengths_are_refused(head: bytes) -> None:
    with pytest.raises(WebSocketError) as info:
        read_header(head)
    assert info.value.error_code == CloseCode.PROTOCOL_ERROR


def test_length_with_top_bit_is_refused() -> None:
    with pytest.raises(WebSocketError, match="most significant bit"):
        read_header(bytes.fromhex("827f8000000000000000"))


def test_serialize_frame_flags() -> None:
    assert serialize_frame(Opcode.TEXT, b"", rsv1=True)[0] == 0xC1
    assert serialize_frame(Opcode.TEXT, b"", fin=False, rsv1=True)[0] == 0x41
    assert serialize_frame(Opcode.CLOSE, b"")[:2] == b"\x88\x00"
    with pytest.raises(LocalProtocolError):
        serialize_frame(Opcode.TEXT, b"x", mask_key=b"abc")


# --- per-frame rules -------------------------------------------------------------------


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcodes(opcode: int) -> None:
    with pytest.raises(WebSocketError, match="reserved opcode"):
        check_header(0x80 | opcode, 0, False, expect_masked=False)


@pytest.mark.parametrize("rsv", [0x10, 0x20, 0x30, 0x40, 0x50, 0x70])
def test_rsv_bits_without_extension(rsv: int) -> None:
    with pytest.raises(WebSocketError, match="reserved bits"):
        check_header(0x81 | rsv, 0, False, expect_masked=False)


def test_rsv1_with_extension_only_on_data_frames() -> None:
    check_header(0xC1, 10, False, expect_masked=False, allow_rsv1=True)
    with pytest.raises(WebSocketError):
        check_header(0xE1, 10, False, expect_masked=False, allow_rsv1=True)  # RSV2 too
    with pytest.raises(WebSocketError):
        check_header(0xC9, 0, False, expect_masked=False, allow_rsv1=True)  # ping


def test_control_frame_shape() -> None:
    check_header(0x89, 125, True, expect_masked=True)
    with pytest.raises(WebSocketError, match="longer than 125"):
        check_header(0x89, 126, True, expect_masked=True)
    with pytest.raises(WebSocketError, match="fragmented control"):
        check_header(0x09, 0, True, expect_masked=True)


def test_masking_direction() -> None:
    check_header(0x82, 1, True, expect_masked=True)
    check_header(0x82, 1, False, expect_masked=False)
    check_header(0x82, 1, True, expect_masked=None)
    with pytest.raises(WebSocketError, match="unmasked frame from a client"):
        check_header(0x82, 1, False, expect_masked=True)
    with pytest.raises(WebSocketError, match="masked frame from a server"):
        check_header(0x82, 1, True, expect_masked=False)


def test_frame_size_limit_at_n_and_n_plus_1() -> None:
    check_header(0x82, 100, False, expect_masked=False, max_frame_size=100)
    with pytest.raises(WebSocketLimitExceeded) as info:
        check_header(0x82, 101, False, expect_masked=False, max_frame_size=100)
    assert isinstance(info.value, LimitExceeded)
    assert info.value.limit == "max_frame_size"
    assert info.value.value == 100
    assert info.value.error_code == CloseCode.MESSAGE_TOO_BIG


def test_frame_parser_split_feed_gives_same_frames() -> None:
    rng = random.Random(5)
    frames = [Frame(Opcode.BINARY, rng.randbytes(n), fin=bool(n % 2)) for n in (0, 5, 300, 70000)]
    frames.append(Frame(Opcode.PING, b"p"))
    wire = b"".join(serialize_frame(f.opcode, f.payload, fin=f.fin, mask_key=rng.randbytes(4))
                    for f in frames)
    parser = FrameParser(expect_masked=True)
    got = []
    pos = 0
    while pos < len(wire):
        step = rng.randint(1, 5000)
        got += parser.feed(wire[pos : pos + step])
        pos += step
    assert got == frames
    assert parser.buffered == 0


# --- close bodies ----------------------------------------------------------------------


VALID = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
         3000, 3999, 4000, 4999]
INVALID = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


@pytest.mark.parametrize("code", VALID)
def test_valid_close_codes(code: int) -> None:
    assert is_valid_close_code(code)
    assert parse_close(close_payload(code, "bye")) == (code, "bye")


@pytest.mark.parametrize("code", INVALID)
def test_invalid_close_codes(code: int) -> None:
    assert not is_valid_close_code(code)
    with pytest.raises(WebSocketError) as info:
        parse_close(code.to_bytes(2, "big"))
    assert info.value.error_code == CloseCode.PROTOCOL_ERROR


def test_close_body_edge_cases() -> None:
    assert parse_close(b"") == (1005, "")
    assert close_payload(1005, "ignored") == b""
    with pytest.raises(WebSocketError) as info:
        parse_close(b"\x03")
    assert info.value.error_code == 1002
    with pytest.raises(WebSocketError) as info:
        parse_close(b"\x03\xe8\xce\xba\xe1\xbd")  # reason cut mid-character
    assert info.value.error_code == 1007
    assert parse_close(b"\x03\xe8" + "κόσμε".encode()) == (1000, "κόσμε")
