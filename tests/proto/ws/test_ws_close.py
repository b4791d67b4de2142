"""The close handshake (RFC 6455 §5.5.1, §7): codes, reasons, who closes, what follows."""

from __future__ import annotations

import pytest

from sockit.errors import LocalProtocolError
from sockit.proto.ws import (
    BytesMessage,
    CloseConnection,
    ConnectionFailed,
    ConnectionState,
    Frame,
    MessageFragment,
    Opcode,
    Ping,
    Pong,
    TextMessage,
)
from sockit.proto.ws.frames import parse_close
from tests.proto.ws.ws_helpers import (
    all_splits,
    cframe,
    client,
    close_body,
    limits,
    sent_frames,
    server,
    sframe,
)

VALID = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
         3000, 3999, 4000, 4999]
INVALID = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


@pytest.mark.parametrize("code", VALID)
def test_peer_close_is_answered_with_the_same_code(code: int) -> None:
    outcome = all_splits(server, cframe(8, close_body(code, b"bye")) + cframe(1, b"after"))
    assert outcome.events == (CloseConnection(code, "bye"),)
    assert outcome.state is ConnectionState.CLOSED
    assert outcome.output == sframe(8, close_body(code))


@pytest.mark.parametrize("code", INVALID)
def test_invalid_close_code_fails_with_1002(code: int) -> None:
    conn = server()
    events = conn.receive_data(cframe(8, code.to_bytes(2, "big")))
    assert events == [ConnectionFailed(1002, f"invalid close code {code}")]
    (frame,) = sent_frames(conn)
    assert parse_close(frame.payload)[0] == 1002
    assert conn.state is ConnectionState.CLOSED


def test_empty_close_is_answered_with_an_empty_close() -> None:
    conn = client()
    assert conn.receive_data(sframe(8)) == [CloseConnection(1005, "")]
    assert sent_frames(conn) == [Frame(Opcode.CLOSE, b"")]
    assert conn.state is ConnectionState.CLOSED


def test_one_byte_close_payload_fails() -> None:
    conn = server()
    assert conn.receive_data(cframe(8, b"\x03")) == [
        ConnectionFailed(1002, "close frame payload of one byte")
    ]


def test_close_reason_invalid_utf8_fails_with_1007() -> None:
    conn = server()
    events = conn.receive_data(cframe(8, close_body(1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xff")))
    assert events == [ConnectionFailed(1007, "close reason is not valid UTF-8")]
    (frame,) = sent_frames(conn)
    assert parse_close(frame.payload)[0] == 1007


def test_close_reason_of_123_bytes_is_fine_and_long_close_fails() -> None:
    conn = server()
    assert conn.receive_data(cframe(8, close_body(1000, b"r" * 123))) == [
        CloseConnection(1000, "r" * 123)
    ]
    conn = server()
    bad = b"\x88\xfe\x00\x7e" + b"\0\0\0\0" + close_body(1000, b"r" * 124)
    assert conn.receive_data(bad) == [
        ConnectionFailed(1002, "control frame payload longer than 125 bytes")
    ]


def test_we_close_first_then_peer_answers() -> None:
    conn = server()
    conn.send(CloseConnection(1001, "going away"))
    assert conn.state is ConnectionState.LOCAL_CLOSING
    assert sent_frames(conn) == [Frame(Opcode.CLOSE, close_body(1001, b"going away"))]
    # the peer may still send messages before its close: they are delivered
    events = conn.receive_data(cframe(1, b"late") + cframe(9, b"p") + cframe(8, close_body(1001)))
    assert events == [TextMessage("late"), Ping(b"p"), CloseConnection(1001, "")]
    assert conn.state is ConnectionState.CLOSED
    assert conn.data_to_send() == b""  # no pong, no second close


def test_nothing_is_sent_after_our_close() -> None:
    conn = client()
    conn.send(MessageFragment("part", True, False))
    conn.send(CloseConnection())
    for event in (TextMessage("x"), BytesMessage(b"x"), Ping(), Pong(),
                  MessageFragment("rest", True, True), CloseConnection()):
        with pytest.raises(LocalProtocolError):
            conn.send(event)
    assert [f.opcode for f in sent_frames(conn)] == [Opcode.TEXT, Opcode.CLOSE]


def test_nothing_is_sent_after_the_peers_close() -> None:
    conn = server()
    conn.receive_data(cframe(8, close_body(1000)))
    with pytest.raises(LocalProtocolError):
        conn.send(TextMessage("x"))
    with pytest.raises(LocalProtocolError):
        conn.send(CloseConnection())


def test_failure_while_closing_sends_no_second_close() -> None:
    conn = server()
    conn.send(CloseConnection())
    conn.data_to_send()
    assert conn.receive_data(cframe(1, b"\xff")) == [
        ConnectionFailed(1007, "invalid UTF-8 in a text message")
    ]
    assert conn.data_to_send() == b""
    assert conn.state is ConnectionState.CLOSED


def test_frames_after_the_close_are_ignored() -> None:
    data = cframe(8, close_body(1000)) + cframe(9, b"ping after close") + b"\xff\xff\xff"
    outcome = all_splits(server, data)
    assert outcome.events == (CloseConnection(1000, ""),)
    assert outcome.output == sframe(8, close_body(1000))


def test_close_in_the_middle_of_a_fragmented_message() -> None:
    data = cframe(1, b"frag", fin=False) + cframe(8, close_body(1000)) + cframe(0, b"ment")
    outcome = all_splits(server, data)
    assert outcome.events == (CloseConnection(1000, ""),)


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000])
def test_sending_an_invalid_code_is_refused(code: int) -> None:
    conn = server()
    if code == 1005:
        conn.send(CloseConnection(1005))  # "no status code": an empty close
        assert sent_frames(conn) == [Frame(Opcode.CLOSE, b"")]
        return
    with pytest.raises(LocalProtocolError):
        conn.send(CloseConnection(code))
    assert conn.state is ConnectionState.OPEN


def test_close_reason_sending_rules() -> None:
    conn = server()
    with pytest.raises(LocalProtocolError):
        conn.send(CloseConnection(1000, "é" * 62))  # 124 bytes
    with pytest.raises(LocalProtocolError):
        conn.send(CloseConnection(1005, "reason without a code"))
    with pytest.raises(LocalProtocolError):
        conn.send(CloseConnection(1000, "\udc80"))
    conn.send(CloseConnection(4000, "é" * 61 + "x"))  # 123 bytes
    (frame,) = sent_frames(conn)
    assert parse_close(frame.payload) == (4000, "é" * 61 + "x")


def test_failure_reason_is_cut_to_fit_a_close_frame() -> None:
    conn = server(limits=limits(max_control_payload=10))
    events = conn.receive_data(cframe(9, b"x" * 11))
    assert isinstance(events[0], ConnectionFailed)
    assert events[0].code == 1009
    (frame,) = sent_frames(conn)
    assert len(frame.payload) <= 125
    assert parse_close(frame.payload)[0] == 1009


def test_close_reason_limit_at_n_and_n_plus_1() -> None:
    lim = limits(max_close_reason=10)
    ok = all_splits(lambda: server(limits=lim), cframe(8, close_body(1000, b"r" * 10)))
    assert ok.events == (CloseConnection(1000, "r" * 10),)
    bad = all_splits(lambda: server(limits=lim), cframe(8, close_body(1000, b"r" * 11)))
    assert bad.events == (
        ConnectionFailed(1009, "close reason of 11 bytes exceeds max_close_reason 10"),
    )
