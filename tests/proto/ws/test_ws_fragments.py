"""Fragmentation (RFC 6455 §5.4): reassembly, interleaved control frames, streaming, UTF-8."""

from __future__ import annotations

import pytest

from sockit.errors import LocalProtocolError
from sockit.proto.ws import (
    BytesMessage,
    ConnectionFailed,
    Frame,
    MessageFragment,
    Opcode,
    Ping,
    Pong,
    TextMessage,
)
from tests.proto.ws.ws_helpers import all_splits, cframe, client, sent_frames, server

BAD_TEXT = ConnectionFailed(1007, "invalid UTF-8 in a text message")


def test_fragmented_messages_with_control_frames_interleaved() -> None:
    data = (
        cframe(1, b"frag", fin=False) + cframe(9, b"ping") + cframe(0, b"men", fin=False)
        + cframe(10, b"pong") + cframe(0, b"t")
        + cframe(2, b"\x01", fin=False) + cframe(0, b"", fin=False) + cframe(0, b"\x02")
    )
    outcome = all_splits(server, data)
    assert outcome.events == (
        Ping(b"ping"), Pong(b"pong"), TextMessage("fragment"), BytesMessage(b"\x01\x02")
    )
    assert outcome.output == b"\x8a\x04ping"


def test_empty_fragments_make_an_empty_message() -> None:
    data = cframe(1, b"", fin=False) + cframe(0, b"", fin=False) + cframe(0, b"")
    assert all_splits(server, data).events == (TextMessage(""),)


def test_continuation_without_a_message_fails() -> None:
    for fin in (True, False):
        events = all_splits(server, cframe(0, b"x", fin=fin)).events
        assert events == (
            ConnectionFailed(1002, "continuation frame without a message to continue"),
        )


def test_new_message_during_a_fragmented_one_fails() -> None:
    for opcode in (1, 2):
        data = cframe(2, b"a", fin=False) + cframe(opcode, b"b") + cframe(0, b"c")
        assert all_splits(server, data).events == (
            ConnectionFailed(1002, "new message before the fragmented one ended"),
        )


def test_fragmented_control_frame_fails() -> None:
    data = cframe(9, b"pi", fin=False) + cframe(0, b"ng")
    assert all_splits(server, data).events == (ConnectionFailed(1002, "fragmented control frame"),)


def test_messages_complete_before_a_bad_fragment_are_kept() -> None:
    data = cframe(1, b"one") + cframe(1, b"tw", fin=False) + cframe(0, b"o") + cframe(0, b"x")
    assert all_splits(server, data).events == (
        TextMessage("one"), TextMessage("two"),
        ConnectionFailed(1002, "continuation frame without a message to continue"),
    )


# --- UTF-8 ----------------------------------------------------------------------------------

KOSME = "κόσμε".encode()


@pytest.mark.parametrize("cut", range(1, len(KOSME)))
def test_characters_split_across_fragments(cut: int) -> None:
    data = cframe(1, KOSME[:cut], fin=False) + cframe(0, KOSME[cut:])
    assert all_splits(server, data).events == (TextMessage("κόσμε"),)


def test_invalid_utf8_fails_before_the_message_ends() -> None:
    # Autobahn 6.4.1: valid first frame; the second makes it invalid; the third never matters
    part1 = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
    part2 = b"\xf4\x90\x80\x80"
    conn = server()
    assert conn.receive_data(cframe(1, part1, fin=False)) == []
    assert conn.receive_data(cframe(0, part2, fin=False)) == [BAD_TEXT]


def test_invalid_utf8_fails_in_the_middle_of_one_frame() -> None:
    # Autobahn 6.4.3: one frame, delivered in three pieces; fail on the second piece
    part1 = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
    frame = cframe(1, part1 + b"\xf4\x90\x80\x80" + b"edited")
    header = 6
    conn = server()
    assert conn.receive_data(frame[: header + len(part1)]) == []
    assert conn.receive_data(frame[header + len(part1) : header + len(part1) + 2]) == [BAD_TEXT]


def test_surrogate_fails_at_its_second_byte() -> None:
    conn = server()
    frame = cframe(1, b"ab\xed\xa0\x80cd")
    assert conn.receive_data(frame[: 6 + 3]) == []
    assert conn.receive_data(frame[9:10]) == [BAD_TEXT]


def test_truncated_character_at_the_end_of_a_message_fails() -> None:
    data = cframe(1, b"abc\xce", fin=False) + cframe(0, b"")
    assert all_splits(server, data).events == (BAD_TEXT,)
    assert all_splits(server, cframe(1, b"abc\xe1\xbd")).events == (BAD_TEXT,)


# --- streaming ------------------------------------------------------------------------------


def test_stream_messages_reports_every_frame() -> None:
    data = (
        cframe(1, KOSME[:3], fin=False) + cframe(9, b"") + cframe(0, KOSME[3:7], fin=False)
        + cframe(0, KOSME[7:]) + cframe(2, b"ab") + cframe(2, b"c", fin=False) + cframe(0, b"")
    )
    outcome = all_splits(lambda: server(stream_messages=True), data)
    assert outcome.events == (
        MessageFragment("κ", True, False),  # the split ό waits for its second byte
        Ping(b""),
        MessageFragment("όσ", True, False),
        MessageFragment("με", True, True),
        MessageFragment(b"ab", False, True),
        MessageFragment(b"c", False, False),
        MessageFragment(b"", False, True),
    )


def test_stream_messages_fail_fast_after_earlier_fragments() -> None:
    data = cframe(1, b"good", fin=False) + cframe(0, b"\xc0\xaf") + cframe(1, b"never")
    outcome = all_splits(lambda: server(stream_messages=True), data)
    assert outcome.events == (MessageFragment("good", True, False), BAD_TEXT)


# --- sending fragments --------------------------------------------------------------------


def test_sending_a_message_in_fragments() -> None:
    conn = server()
    conn.send(MessageFragment("κό", True, False))
    conn.send(Ping(b"between"))
    conn.send(MessageFragment(b"\xcf", True, False))  # bytes cut mid-character
    conn.send(MessageFragment(b"\x83", True, True))
    conn.send(MessageFragment(b"\x00", False, False))
    conn.send(MessageFragment(b"", False, True))
    frames = sent_frames(conn)
    assert frames == [
        Frame(Opcode.TEXT, "κό".encode(), fin=False),
        Frame(Opcode.PING, b"between"),
        Frame(Opcode.CONTINUATION, b"\xcf", fin=False),
        Frame(Opcode.CONTINUATION, b"\x83"),
        Frame(Opcode.BINARY, b"\x00", fin=False),
        Frame(Opcode.CONTINUATION, b""),
    ]
    peer = client()
    wire = b"".join(
        (bytes([(0x80 if f.fin else 0) | f.opcode, len(f.payload)]) + f.payload) for f in frames
    )
    assert peer.receive_data(wire) == [Ping(b"between"), TextMessage("κόσ"), BytesMessage(b"\x00")]


def test_fragment_sending_rules() -> None:
    conn = client()
    with pytest.raises(LocalProtocolError):
        conn.send(MessageFragment("text", False, False))  # str in a binary message
    conn.send(MessageFragment(b"a", False, False))
    with pytest.raises(LocalProtocolError):
        conn.send(TextMessage("whole message while fragments are open"))
    with pytest.raises(LocalProtocolError):
        conn.send(BytesMessage(b"same"))
    with pytest.raises(LocalProtocolError):
        conn.send(MessageFragment("b", True, True))  # kind differs
    conn.send(MessageFragment(b"b", False, True))
    conn.send(TextMessage("now fine"))
    assert [f.opcode for f in sent_frames(conn)] == [Opcode.BINARY, Opcode.CONTINUATION,
                                                     Opcode.TEXT]


def test_invalid_utf8_in_sent_text_fragments_is_refused() -> None:
    conn = client()
    conn.send(MessageFragment(b"ok\xe2\x82", True, False))
    with pytest.raises(LocalProtocolError):
        conn.send(MessageFragment(b"\x41", True, True))  # breaks the pending € sequence
    conn2 = client()
    with pytest.raises(LocalProtocolError):
        conn2.send(MessageFragment(b"\xe2\x82", True, True))  # truncated at the end
    conn3 = client()
    with pytest.raises(LocalProtocolError):
        conn3.send(MessageFragment("\ud800", True, True))
