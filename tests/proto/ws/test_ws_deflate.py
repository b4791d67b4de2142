"""permessage-deflate (RFC 7692): the codec, its parameters, bombs, and the connection using it."""

from __future__ import annotations

import random
import zlib
from typing import Any

import pytest

from sockit.proto.events import Role
from sockit.proto.ws import (
    BytesMessage,
    ConnectionFailed,
    MessageFragment,
    Opcode,
    PerMessageDeflate,
    TextMessage,
    WebSocketError,
    WebSocketLimitExceeded,
)
from sockit.proto.ws.extensions import DeflateConfig, DeflateParams
from tests.proto.ws.ws_helpers import all_splits, cframe, client, limits, sent_frames, server

RNG = random.Random(11)
TEXTY = b" ".join(RNG.choice([b"alpha", b"beta", b"gamma", b"delta", b"\xce\xba"])
                  for _ in range(3000))


def deflated(data: bytes, wbits: int = 15, *, final_block: bool = False) -> bytes:
    """``data`` as a permessage-deflate payload (tail removed)."""
    c = zlib.compressobj(6, zlib.DEFLATED, -wbits)
    if final_block:
        return c.compress(data) + c.flush(zlib.Z_FINISH)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def codec(role: Role, max_message_size: int = 1 << 26, **params: Any) -> PerMessageDeflate:
    return PerMessageDeflate(DeflateParams(**params), role, max_message_size=max_message_size)


# --- the codec ----------------------------------------------------------------------------


def test_round_trip_and_context_takeover() -> None:
    tx, rx = codec(Role.SERVER), codec(Role.CLIENT)
    noise = RNG.randbytes(10000)
    first = tx.compress(noise)
    second = tx.compress(noise)
    assert len(first) > 10000
    assert len(second) < 200  # refers back to the first message
    assert not first.endswith(b"\x00\x00\xff\xff")
    assert rx.decompress(first, True) == noise
    assert rx.decompress(second, True) == noise


@pytest.mark.parametrize("side", ["server", "client"])
def test_our_no_context_takeover_compresses_each_message_alone(side: str) -> None:
    role = Role.SERVER if side == "server" else Role.CLIENT
    tx = codec(role, **{f"{side}_no_context_takeover": True})
    first = tx.compress(TEXTY)
    assert tx.compress(TEXTY) == first
    assert tx.compress(TEXTY) == first
    # a receiver keeping its context inflates them all the same
    rx = codec(role.peer)
    assert rx.decompress(first, True) == TEXTY
    assert rx.decompress(first, True) == TEXTY


def test_their_no_context_takeover_is_enforced() -> None:
    liar = codec(Role.CLIENT)  # compresses with context takeover anyway
    rx = codec(Role.SERVER, client_no_context_takeover=True)
    noise = RNG.randbytes(5000)
    first, second = liar.compress(noise), liar.compress(noise)
    assert rx.decompress(first, True) == noise
    with pytest.raises(WebSocketError) as info:
        rx.decompress(second, True)
    assert info.value.error_code == 1007


def test_window_bits_are_honoured_when_compressing() -> None:
    block = RNG.randbytes(2000)
    data = block + block  # the repeat is 2000 bytes back
    small = codec(Role.SERVER, server_max_window_bits=10).compress(data)  # 1 KiB window
    large = codec(Role.SERVER, server_max_window_bits=15).compress(data)
    assert len(small) > 3900
    assert len(large) < 2100
    assert codec(Role.CLIENT, server_max_window_bits=10).decompress(small, True) == data


def test_window_of_8_bits_compresses_with_9() -> None:
    tx = codec(Role.CLIENT, client_max_window_bits=8)
    rx = codec(Role.SERVER, client_max_window_bits=8)
    for _ in range(3):
        assert rx.decompress(tx.compress(TEXTY), True) == TEXTY


def test_incremental_decompression_in_any_pieces() -> None:
    payload = codec(Role.SERVER).compress(TEXTY)
    for step in (1, 7, 100, len(payload)):
        rx = codec(Role.CLIENT)
        out = b"".join(rx.decompress(payload[i : i + step], False)
                       for i in range(0, len(payload), step))
        assert out + rx.decompress(b"", True) == TEXTY
        assert rx.inflated == 0  # reset after the message


def test_fragments_compress_and_inflate_as_they_come() -> None:
    tx, rx = codec(Role.CLIENT), codec(Role.SERVER)
    parts = [TEXTY[:1000], TEXTY[1000:5000], b"", TEXTY[5000:]]
    got = b""
    for i, part in enumerate(parts):
        final = i == len(parts) - 1
        payload = tx.compress_fragment(part, final)
        got += rx.decompress(payload, final)
        if not final:
            assert got == TEXTY[: len(got)] and len(got) >= sum(map(len, parts[:i + 1]))
    assert got == TEXTY


class Recorder:
    """Wraps a zlib inflater and records how much each call produced."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.produced: list[int] = []

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        out: bytes = self.inner.decompress(data, max_length)
        self.produced.append(len(out))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("cap", [1, 1000, 65536])
def test_compression_bomb_stops_at_the_cap(cap: int) -> None:
    bomb = deflated(bytes(16 << 20))  # 16 MiB of zeros in about 16 KiB
    assert len(bomb) < 20000
    rx = codec(Role.SERVER, max_message_size=cap)
    recorder = Recorder(rx._inflater)
    rx._inflater = recorder  # type: ignore[assignment]
    with pytest.raises(WebSocketLimitExceeded) as info:
        for i in range(0, len(bomb), 4096):
            rx.decompress(bomb[i : i + 4096], False)
    assert info.value.limit == "max_message_size"
    assert info.value.error_code == 1009
    assert sum(recorder.produced) <= cap + 1


def test_bad_compressed_data_fails_with_1007() -> None:
    with pytest.raises(WebSocketError) as info:
        codec(Role.SERVER).decompress(b"\xff\xff\xff\xff", True)
    assert info.value.error_code == 1007


def test_final_block_then_next_message() -> None:
    rx = codec(Role.SERVER)
    assert rx.decompress(deflated(b"one", final_block=True), True) == b"one"
    assert rx.decompress(deflated(b"two"), True) == b"two"
    rx2 = codec(Role.SERVER)
    with pytest.raises(WebSocketError, match="after the end"):
        rx2.decompress(deflated(b"one", final_block=True) + b"\x00junk", True)


# --- the connection with compression ----------------------------------------------------


def pair(**server_params: Any) -> tuple[Any, Any]:
    params = DeflateParams(**server_params)
    return client(deflate=params), server(deflate=params)


@pytest.mark.parametrize(
    "params",
    [{}, {"server_no_context_takeover": True}, {"client_no_context_takeover": True},
     {"server_max_window_bits": 9, "client_max_window_bits": 8},
     {"server_no_context_takeover": True, "client_no_context_takeover": True,
      "server_max_window_bits": 12}],
)
def test_messages_both_ways(params: dict[str, Any]) -> None:
    a, b = pair(**params)
    msgs = [TextMessage(TEXTY.decode()), BytesMessage(RNG.randbytes(3000)), TextMessage(""),
            BytesMessage(TEXTY * 3), TextMessage("é" * 70000)]
    for _ in range(2):
        for m in msgs:
            a.send(m)
            b.send(m)
        wire_a, wire_b = a.data_to_send(), b.data_to_send()
        assert wire_a[0] & 0x40 and wire_b[0] & 0x40  # RSV1: compressed
        assert b.receive_data(wire_a) == msgs
        assert a.receive_data(wire_b) == msgs


def test_min_size_sends_small_messages_plain() -> None:
    conn = server(deflate=DeflateParams(), deflate_config=DeflateConfig(min_size=100))
    conn.send(BytesMessage(b"x" * 99))
    conn.send(BytesMessage(b"x" * 100))
    small, big = sent_frames(conn)
    assert (small.rsv1, big.rsv1) == (False, True)
    assert small.payload == b"x" * 99
    assert zlib.decompressobj(-15).decompress(big.payload + b"\x00\x00\xff\xff") == b"x" * 100


def test_compressed_fragments_are_sent_with_rsv1_first_only() -> None:
    a, b = pair()
    a.send(MessageFragment("κόσ", True, False))
    a.send(MessageFragment("με", True, False))
    a.send(MessageFragment("", True, True))
    wire = a.data_to_send()
    frames = sent_frames_from(wire)
    assert [f.rsv1 for f in frames] == [True, False, False]
    assert [f.opcode for f in frames] == [Opcode.TEXT, Opcode.CONTINUATION, Opcode.CONTINUATION]
    assert b.receive_data(wire) == [TextMessage("κόσμε")]


def sent_frames_from(wire: bytes) -> list[Any]:
    from sockit.proto.ws import FrameParser
    return FrameParser(expect_masked=True, allow_rsv1=True).feed(wire)


def test_compressed_message_split_any_way_and_streamed() -> None:
    payload = deflated(TEXTY)
    data = (cframe(1, payload[:500], fin=False, rsv1=True) + cframe(9, b"p")
            + cframe(0, payload[500:]))
    whole = all_splits(lambda: server(deflate=DeflateParams()), data, seed=3)
    assert whole.events[1] == TextMessage(TEXTY.decode())
    streamed = all_splits(lambda: server(deflate=DeflateParams(), stream_messages=True), data)
    texts = [e for e in streamed.events if isinstance(e, MessageFragment)]
    assert [t.final for t in texts] == [False, True]
    assert "".join(str(t.data) for t in texts) == TEXTY.decode()


def test_rsv1_rules_with_deflate() -> None:
    make = lambda: server(deflate=DeflateParams())  # noqa: E731
    assert all_splits(make, cframe(1, b"ok", fin=False) + cframe(0, b"x", rsv1=True)).events == (
        ConnectionFailed(1002, "reserved bits set on a continuation frame"),
    )
    assert all_splits(make, cframe(9, b"", rsv1=True)).events == (
        ConnectionFailed(1002, "reserved bits set on a control frame"),
    )
    plain = all_splits(server, cframe(1, deflated(b"x"), rsv1=True)).events
    assert plain == (ConnectionFailed(1002, "reserved bits 0b100 set without an extension"),)


def test_uncompressed_messages_are_accepted_with_deflate() -> None:
    events = all_splits(lambda: server(deflate=DeflateParams()), cframe(1, b"plain")).events
    assert events == (TextMessage("plain"),)


def test_inflated_size_limit_at_n_and_n_plus_1() -> None:
    lim = limits(max_message_size=5000)
    for size, ok in ((5000, True), (5001, False)):
        data = cframe(2, deflated(bytes(size)), rsv1=True)
        events = all_splits(lambda: server(deflate=DeflateParams(), limits=lim), data).events
        if ok:
            assert events == (BytesMessage(bytes(size)),)
        else:
            assert events == (
                ConnectionFailed(1009, "message inflates past max_message_size 5000"),
            )


def test_bomb_through_the_connection_queues_1009() -> None:
    conn = server(deflate=DeflateParams(), limits=limits(max_message_size=1 << 20))
    events = conn.receive_data(cframe(2, deflated(bytes(64 << 20)), rsv1=True))
    assert events == [ConnectionFailed(1009, "message inflates past max_message_size 1048576")]
    (close,) = sent_frames(conn)
    assert close.payload[:2] == (1009).to_bytes(2, "big")


def test_invalid_utf8_after_inflation_fails_fast() -> None:
    payload = deflated(b"valid start " * 100 + b"\xff" + b"x" * 10000)
    conn = server(deflate=DeflateParams())
    events = conn.receive_data(cframe(1, payload, fin=False, rsv1=True))
    assert events == [ConnectionFailed(1007, "invalid UTF-8 in a text message")]


def test_corrupt_compressed_frame_fails_with_1007() -> None:
    events = server(deflate=DeflateParams()).receive_data(cframe(2, b"\xff\xfe\xfd", rsv1=True))
    assert len(events) == 1 and isinstance(events[0], ConnectionFailed)
    assert events[0].code == 1007
