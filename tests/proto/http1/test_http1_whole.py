"""Connection.send_response: one step, the same bytes and states as Response + Data + End."""

from __future__ import annotations

import pytest

from sockit.errors import LocalProtocolError
from sockit.proto.events import Role
from sockit.proto.http import Headers
from sockit.proto.http1 import Connection, ConnectionState, Data, EndOfMessage, Response

DATE = b"Sun, 22 Nov 2026 02:00:00 GMT"


def _server(request: bytes) -> Connection:
    conn = Connection(Role.SERVER)
    conn.receive_data(request)
    assert conn.our_state is ConnectionState.SEND_RESPONSE
    return conn


def _three_step(request: bytes, status: int, fields: list[tuple[bytes, bytes]], body: bytes,
                *, add_length: bool) -> tuple[bytes, Connection]:
    conn = _server(request)
    pairs = list(fields)
    if add_length:
        pairs.append((b"Content-Length", b"%d" % len(body)))
    conn.send(Response(status, Headers.from_raw(pairs), reason=b"OK"))
    if body:
        conn.send(Data(body))
    conn.send(EndOfMessage())
    return conn.data_to_send(), conn


GET11 = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
HEAD11 = b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
GET10 = b"GET / HTTP/1.0\r\n\r\n"
GET_CLOSE = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "status", "fields", "body"),
    [
        (GET11, 200, [(b"Content-Type", b"text/plain")], b"hello\n"),
        (GET11, 200, [], b""),
        (GET11, 404, [(b"X-A", b"1"), (b"X-B", b"")], b"missing"),
        (GET10, 200, [(b"Content-Type", b"text/plain")], b"old peer"),
        (GET_CLOSE, 200, [], b"bye"),
        (GET11, 200, [(b"Connection", b"close")], b"last"),
    ],
)
def test_same_bytes_and_states_as_three_sends(
    request_bytes: bytes, status: int, fields: list[tuple[bytes, bytes]], body: bytes
) -> None:
    expected, reference = _three_step(request_bytes, status, fields, body, add_length=True)
    conn = _server(request_bytes)
    conn.send_response(status, list(fields), body, reason=b"OK")
    assert conn.data_to_send() == expected
    assert conn.our_state is reference.our_state
    assert conn.their_state is reference.their_state
    assert conn.keep_alive is reference.keep_alive


def test_head_sends_the_head_only_with_the_get_length() -> None:
    conn = _server(HEAD11)
    conn.send_response(200, [(b"Content-Length", b"1000")], b"", reason=b"OK")
    wire = conn.data_to_send()
    assert wire == b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    conn = _server(HEAD11)
    conn.send_response(200, [], b"body", reason=b"OK")
    assert conn.data_to_send() == b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
    assert conn.our_state is ConnectionState.DONE


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_get_no_length(status: int) -> None:
    conn = _server(GET11)
    conn.send_response(status, [], b"", reason=b"X")
    assert conn.data_to_send() == b"HTTP/1.1 %d X\r\n\r\n" % status
    conn = _server(GET11)
    with pytest.raises(LocalProtocolError):
        conn.send_response(status, [], b"body")


def test_close_and_date_are_added_once() -> None:
    conn = _server(GET11)
    conn.send_response(200, [], b"x", reason=b"OK", close=True, date=DATE)
    wire = conn.data_to_send()
    assert wire == (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n"
                    b"Date: " + DATE + b"\r\n\r\nx")
    assert not conn.keep_alive
    assert conn.our_state is ConnectionState.MUST_CLOSE
    conn = _server(GET11)
    conn.send_response(200, [(b"date", b"then"), (b"Connection", b"close")], b"", close=True,
                       date=DATE)
    wire = conn.data_to_send()
    assert wire.count(b"ate: ") == 1 and wire.lower().count(b"connection") == 1


def test_keep_alive_cycle_continues() -> None:
    conn = _server(GET11 + GET11)
    conn.send_response(200, [], b"one")
    conn.data_to_send()
    conn.start_next_cycle()
    events = conn.receive_data(b"")
    assert any(type(e).__name__ == "Request" for e in events)
    conn.send_response(200, [], b"two")
    assert conn.data_to_send().endswith(b"two")


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        ([(b"Content-Length", b"5")], b"four"),
        ([(b"Content-Length", b"x")], b"four"),
        ([(b"Transfer-Encoding", b"chunked")], b"four"),
        ([(b"Bad Name", b"v")], b""),
        ([(b"X", b"a\r\nInjected: 1")], b""),
        (["not a pair"], b""),
        ([("str", "fields")], b""),
    ],
)
def test_refused_responses_queue_nothing(fields: list[tuple[bytes, bytes]], body: bytes) -> None:
    conn = _server(GET11)
    with pytest.raises(LocalProtocolError):
        conn.send_response(200, fields, body)
    assert conn.data_to_send() == b""
    assert conn.our_state is ConnectionState.ERROR


@pytest.mark.parametrize("status", [100, 101, 199, 600, -1])
def test_only_final_statuses(status: int) -> None:
    conn = _server(GET11)
    with pytest.raises(LocalProtocolError):
        conn.send_response(status, [], b"")


def test_bad_reason_and_body_types_are_refused() -> None:
    conn = _server(GET11)
    with pytest.raises(LocalProtocolError):
        conn.send_response(200, [], b"", reason=b"O\r\nK")
    conn = _server(GET11)
    with pytest.raises(LocalProtocolError):
        conn.send_response(200, [], "text")  # type: ignore[arg-type]


def test_not_our_turn() -> None:
    conn = Connection(Role.SERVER)
    with pytest.raises(LocalProtocolError):
        conn.send_response(200, [], b"")  # no request yet
    client = Connection(Role.CLIENT)
    with pytest.raises(LocalProtocolError):
        client.send_response(200, [], b"")


def test_connect_switch_is_refused() -> None:
    conn = _server(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n")
    with pytest.raises(LocalProtocolError):
        conn.send_response(200, [], b"")
