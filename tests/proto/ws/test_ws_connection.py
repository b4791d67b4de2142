"""The WebSocket Connection: messages, masking, ping/pong, deadlines, sending rules."""

from __future__ import annotations

import random

import pytest

from sockit.errors import LocalProtocolError
from sockit.proto.events import ConnectionTerminated, DataReceived, Role
from sockit.proto.ws import (
    BytesMessage,
    CloseConnection,
    Connection,
    ConnectionFailed,
    ConnectionState,
    Frame,
    MessageFragment,
    Opcode,
    Ping,
    Pong,
    TextMessage,
    serialize_frame,
)
from sockit.proto.ws.frames import parse_close
from tests.proto.ws.ws_helpers import (
    all_splits,
    cframe,
    client,
    close_body,
    sent_frames,
    server,
    sframe,
)

# --- receiving ---------------------------------------------------------------------------


def test_server_receives_masked_messages() -> None:
    conn = server()
    data = cframe(1, "héllo".encode()) + cframe(2, b"\x00\xff") + cframe(1, b"") + cframe(2, b"")
    assert conn.receive_data(data) == [
        TextMessage("héllo"), BytesMessage(b"\x00\xff"), TextMessage(""), BytesMessage(b"")
    ]
    assert conn.state is ConnectionState.OPEN
    assert conn.data_to_send() == b""


def test_client_receives_unmasked_messages() -> None:
    conn = client()
    assert conn.receive_data(sframe(1, b"hi") + sframe(2, b"yo")) == [
        TextMessage("hi"), BytesMessage(b"yo")
    ]


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_any_buffer_type_is_accepted(kind: type) -> None:
    payload = random.Random(3).randbytes(20000)
    data = cframe(2, payload) + cframe(1, b"x" * 500) + cframe(9, b"p")
    events = server().receive_data(kind(data))
    assert events == [BytesMessage(payload), TextMessage("x" * 500), Ping(b"p")]
    assert type(events[0].data) is bytes  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [0, 1, 125, 126, 399, 400, 65535, 65536, 1 << 20])
def test_sizes_split_any_way(size: int) -> None:
    payload = random.Random(size).randbytes(size)
    data = cframe(2, payload) + cframe(1, b"a" * (size % 1000))
    outcome = all_splits(server, data) if size < 70000 else None
    if outcome is not None:
        assert outcome.events == (BytesMessage(payload), TextMessage("a" * (size % 1000)))
    else:  # too big to feed byte by byte: whole and in 1000-byte steps
        conn = server()
        got = []
        for i in range(0, len(data), 99_991):
            got += conn.receive_data(data[i : i + 99_991])
        assert got == [BytesMessage(payload), TextMessage("a" * (size % 1000))]


def test_unmasked_client_frame_fails_with_1002_after_earlier_events() -> None:
    conn = server()
    events = conn.receive_data(cframe(1, b"ok") + sframe(1, b"bad") + cframe(1, b"later"))
    assert events == [TextMessage("ok"), ConnectionFailed(1002, "unmasked frame from a client")]
    assert conn.state is ConnectionState.CLOSED
    (close,) = sent_frames(conn)
    assert close.opcode == Opcode.CLOSE
    assert parse_close(close.payload) == (1002, "unmasked frame from a client")
    assert conn.receive_data(cframe(1, b"ignored")) == []
    assert conn.receive_eof() == []


def test_masked_server_frame_fails_the_client() -> None:
    conn = client()
    events = conn.receive_data(cframe(2, b"x"))
    assert events == [ConnectionFailed(1002, "masked frame from a server")]
    (close,) = sent_frames(conn)
    assert close.payload[:2] == b"\x03\xea"


@pytest.mark.parametrize("b0", [0x91, 0xA1, 0xB1, 0xC1, 0xD1, 0xE1, 0xF1, 0xC2, 0xC9])
def test_reserved_bits_without_extension(b0: int) -> None:
    conn = server()
    bad = bytes([b0]) + cframe(1, b"x")[1:]
    events = conn.receive_data(cframe(1, b"first") + bad + cframe(9, b""))
    assert events[0] == TextMessage("first")
    assert isinstance(events[1], ConnectionFailed)
    assert events[1].code == 1002
    assert len(events) == 2


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcodes_fail(opcode: int) -> None:
    events = server().receive_data(cframe(opcode, b"x"))
    assert events == [ConnectionFailed(1002, events[0].reason)]  # type: ignore[attr-defined]
    assert "reserved" in events[0].reason  # type: ignore[attr-defined]


def test_non_minimal_length_fails() -> None:
    frame = bytes.fromhex("81fe0005") + b"\0\0\0\0" + b"hello"
    events = server().receive_data(frame)
    assert events == [ConnectionFailed(1002, "frame length not in its minimal encoding")]


def test_invalid_utf8_text_fails_with_1007() -> None:
    conn = server()
    events = conn.receive_data(cframe(1, b"ok") + cframe(1, b"\xff"))
    assert events == [TextMessage("ok"), ConnectionFailed(1007, "invalid UTF-8 in a text message")]
    (close,) = sent_frames(conn)
    assert close.payload[:2] == (1007).to_bytes(2, "big")


# --- ping / pong -----------------------------------------------------------------------


def test_ping_is_reported_and_answered() -> None:
    conn = server()
    assert conn.receive_data(cframe(9, b"\x00\x01payload")) == [Ping(b"\x00\x01payload")]
    assert sent_frames(conn) == [Frame(Opcode.PONG, b"\x00\x01payload")]


def test_ping_of_125_bytes_is_answered_and_126_fails() -> None:
    conn = server()
    assert conn.receive_data(cframe(9, b"x" * 125)) == [Ping(b"x" * 125)]
    assert sent_frames(conn) == [Frame(Opcode.PONG, b"x" * 125)]
    bad = b"\x89\xfe\x00\x7e" + b"\0\0\0\0" + b"x" * 126
    events = conn.receive_data(bad)
    assert events == [ConnectionFailed(1002, "control frame payload longer than 125 bytes")]


def test_auto_pong_off_reports_only() -> None:
    conn = server(auto_pong=False)
    assert conn.receive_data(cframe(9, b"p")) == [Ping(b"p")]
    assert conn.data_to_send() == b""
    conn.send(Pong(b"p"))
    assert sent_frames(conn) == [Frame(Opcode.PONG, b"p")]


def test_pong_is_reported() -> None:
    assert client().receive_data(sframe(10, b"beat")) == [Pong(b"beat")]


# --- sending ---------------------------------------------------------------------------


def test_client_masks_with_its_mask_source() -> None:
    conn = client()
    conn.send(TextMessage("Hello"))
    conn.send(BytesMessage(b"\x01\x02"))
    assert conn.data_to_send() == (
        serialize_frame(1, b"Hello", mask_key=b"\0\0\0\1")
        + serialize_frame(2, b"\x01\x02", mask_key=b"\0\0\0\2")
    )


def test_client_default_keys_are_fresh() -> None:
    conn = Connection(Role.CLIENT)
    keys = set()
    for _ in range(20):
        conn.send(BytesMessage(b"x"))
        keys.add(conn.data_to_send()[2:6])
    assert len(keys) > 15


def test_server_sends_unmasked_and_large_frames() -> None:
    conn = server()
    big = random.Random(9).randbytes(70000)
    conn.send(BytesMessage(big))
    conn.send(TextMessage("ok"))
    conn.send(Ping(b"p"))
    conn.send(Pong(b"q"))
    assert sent_frames(conn) == [
        Frame(Opcode.BINARY, big), Frame(Opcode.TEXT, b"ok"), Frame(Opcode.PING, b"p"),
        Frame(Opcode.PONG, b"q"),
    ]
    assert conn.data_to_send() == b""


def test_send_refusals_leave_nothing_queued() -> None:
    conn = client()
    with pytest.raises(LocalProtocolError):
        conn.send(Ping(b"x" * 126))
    with pytest.raises(LocalProtocolError):
        conn.send(Pong(b"x" * 126))
    with pytest.raises(LocalProtocolError):
        conn.send(TextMessage("\ud800"))
    with pytest.raises(LocalProtocolError):
        conn.send(DataReceived(b"x"))
    assert conn.data_to_send() == b""
    assert conn.state is ConnectionState.OPEN


def test_round_trip_between_our_two_roles() -> None:
    a, b = client(), server()
    msgs = [TextMessage("a" * n) for n in (0, 1, 200, 70000)]
    msgs += [BytesMessage(bytes(range(256)) * n) for n in (0, 1, 300)]
    for m in msgs:
        a.send(m)
        b.send(m)
    assert b.receive_data(a.data_to_send()) == msgs
    assert a.receive_data(b.data_to_send()) == msgs


# --- events ---------------------------------------------------------------------------


def test_event_classes() -> None:
    assert isinstance(BytesMessage(b"x"), DataReceived)
    assert isinstance(CloseConnection(), ConnectionTerminated)
    assert isinstance(ConnectionFailed(1009, "big"), ConnectionTerminated)
    assert CloseConnection().code == 1000
    assert CloseConnection(1001, "bye") == CloseConnection(error_code=1001, reason="bye")
    assert ConnectionFailed(1009, "big").code == 1009
    assert MessageFragment("x", True, False).text
    with pytest.raises(AttributeError):
        TextMessage("x").data = "y"  # type: ignore[misc]


def test_contract_members() -> None:
    conn = server()
    assert conn.trailing_data == b""
    assert conn.receive_data(b"") == []
    assert conn.next_deadline() is None
    assert conn.handle_timeout(123.0) == []
    assert conn.role is Role.SERVER
    assert not conn.compressed


def test_eof_without_close_is_abnormal() -> None:
    conn = server()
    conn.receive_data(cframe(1, b"partial", fin=False)[:5])
    assert conn.receive_eof() == [
        CloseConnection(1006, "the connection ended without a close frame")
    ]
    assert conn.state is ConnectionState.CLOSED
    assert conn.data_to_send() == b""
    assert conn.receive_eof() == []
    with pytest.raises(LocalProtocolError):
        conn.send(TextMessage("late"))


# --- deadlines -------------------------------------------------------------------------


def ping_payloads(conn: Connection) -> list[bytes]:
    return [f.payload for f in sent_frames(conn) if f.opcode == Opcode.PING]


def test_auto_ping_schedule_and_pong() -> None:
    conn = server(ping_interval=10.0, ping_timeout=3.0)
    assert conn.next_deadline() is None  # no time known yet
    conn.receive_data(b"", now=100.0)
    assert conn.next_deadline() == 110.0
    assert conn.handle_timeout(105.0) == []
    assert conn.data_to_send() == b""
    assert conn.handle_timeout(110.0) == []
    (payload,) = ping_payloads(conn)
    assert conn.next_deadline() == 113.0  # the pong is due first
    assert conn.receive_data(cframe(10, payload), now=111.0) == [Pong(payload)]
    assert conn.next_deadline() == 120.0
    conn.handle_timeout(120.0)
    assert len(ping_payloads(conn)) == 1
    assert conn.next_deadline() == 123.0


def test_missing_pong_fails_with_1011() -> None:
    conn = server(ping_interval=10.0, ping_timeout=3.0, now=0.0)
    conn.handle_timeout(10.0)
    conn.data_to_send()
    assert conn.handle_timeout(12.9) == []
    assert conn.handle_timeout(13.0) == [ConnectionFailed(1011, "ping timeout")]
    (close,) = sent_frames(conn)
    assert parse_close(close.payload) == (1011, "ping timeout")
    assert conn.state is ConnectionState.CLOSED
    assert conn.next_deadline() is None
    assert conn.handle_timeout(50.0) == []


def test_application_ping_uses_the_default_timeout() -> None:
    conn = client()
    conn.ping(b"a", now=5.0)
    assert conn.next_deadline() == 35.0  # WSLimits.ping_timeout
    conn.ping(b"b")
    conn.ping(b"c")
    assert conn.receive_data(sframe(10, b"zzz")) == [Pong(b"zzz")]  # unsolicited: no effect
    assert conn.next_deadline() == 35.0
    conn.receive_data(sframe(10, b"b"))  # answers a and b
    assert conn.next_deadline() == 35.0  # c was sent at 5.0 too
    conn.receive_data(sframe(10, b"c"))
    assert conn.next_deadline() is None


def test_ping_without_known_time_has_no_deadline() -> None:
    conn = client()
    conn.send(Ping(b"x"))
    assert conn.next_deadline() is None
    assert len(ping_payloads(conn)) == 1


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), True, "5"])
def test_invalid_ping_settings(bad: object) -> None:
    with pytest.raises(LocalProtocolError):
        server(ping_interval=bad)
    with pytest.raises(LocalProtocolError):
        server(ping_timeout=bad)


def test_no_deadline_once_closing() -> None:
    conn = server(ping_interval=1.0, now=0.0)
    conn.send(CloseConnection())
    assert conn.next_deadline() is None
    assert conn.handle_timeout(5.0) == []
    assert [f.opcode for f in sent_frames(conn)] == [Opcode.CLOSE]


def test_close_body_helper() -> None:
    assert close_body(1000, b"x") == b"\x03\xe8x"
