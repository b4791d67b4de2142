"""HTTP/1.1 events <-> exact bytes, for both roles.

Parse tables feed wire bytes to a fresh connection whole, byte by byte and in
random cuts and compare the events; serialize tables send events and compare
``data_to_send()`` with the exact bytes. Hypothesis round-trips generated
messages through a client and a server connection.

Serialize tables always give the framing headers themselves (Content-Length
or Transfer-Encoding, Connection: close to an HTTP/1.0 peer) and a reason
phrase, so the expected bytes do not depend on defaults the serializer may
choose when they are missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.limits import HTTP1Limits
from sockit.proto.events import Event, Role
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import (
    Connection,
    ConnectionClosed,
    ConnectionState,
    Data,
    EndOfMessage,
    HTTP1Config,
    InformationalResponse,
    Request,
    Response,
)
from tests.support.feeding import merge_data, split_feed

S = ConnectionState


def h(*pairs: tuple[bytes, bytes]) -> Headers:
    return Headers(list(pairs))


def new(role: Role) -> Connection:
    return Connection(role, config=HTTP1Config(limits=HTTP1Limits()))


def server() -> Connection:
    return new(Role.SERVER)


def respond_and_cycle(conn: Connection) -> list[Event]:
    """Drain for split_feed: answer every finished request, then start the next cycle."""
    out: list[Event] = []
    while conn.their_state is S.DONE and conn.our_state is S.SEND_RESPONSE:
        conn.send(Response(status_code=200, headers=h((b"Content-Length", b"0")), reason=b"OK"))
        conn.send(EndOfMessage())
        conn.data_to_send()
        if conn.our_state is not S.DONE or conn.their_state is not S.DONE:
            break
        conn.start_next_cycle()
        out.extend(conn.receive_data(b""))
    return out


GET_HEAD = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
REQ_GET = Request(method=b"GET", target=b"/", headers=h((b"Host", b"a")))

# (name, wire bytes, events the server must produce)
SERVER_PARSE: list[tuple[str, bytes, list[Event]]] = [
    ("get_minimal", GET_HEAD, [REQ_GET, EndOfMessage()]),
    (
        "post_content_length",
        b"POST /submit?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        [
            Request(method=b"POST", target=b"/submit?x=1",
                    headers=h((b"Host", b"a"), (b"Content-Length", b"5"))),
            Data(data=b"hello"),
            EndOfMessage(),
        ],
    ),
    (
        "post_content_length_zero",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        [
            Request(method=b"POST", target=b"/",
                    headers=h((b"Host", b"a"), (b"Content-Length", b"0"))),
            EndOfMessage(),
        ],
    ),
    (
        "post_chunked_with_trailers",
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n10;ext=1\r\n0123456789abcdef\r\n0\r\nX-Sum: 1\r\nX-Other: two\r\n\r\n",
        [
            Request(method=b"POST", target=b"/up",
                    headers=h((b"Host", b"a"), (b"Transfer-Encoding", b"chunked"))),
            Data(data=b"hello0123456789abcdef"),
            EndOfMessage(trailers=h((b"X-Sum", b"1"), (b"X-Other", b"two"))),
        ],
    ),
    (
        "chunked_empty_body",
        b"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        [
            Request(method=b"PUT", target=b"/x",
                    headers=h((b"Host", b"a"), (b"Transfer-Encoding", b"chunked"))),
            EndOfMessage(),
        ],
    ),
    (
        "http10_get",
        b"GET /old HTTP/1.0\r\nUser-Agent: t\r\n\r\n",
        [
            Request(method=b"GET", target=b"/old", headers=h((b"User-Agent", b"t")),
                    http_version=b"1.0"),
            EndOfMessage(),
        ],
    ),
    (
        "ows_stripped_and_duplicates_kept",
        b"GET / HTTP/1.1\r\nHost: a\r\nAccept:  text/html \t\r\nAccept:\t*/*\r\n\r\n",
        [
            Request(method=b"GET", target=b"/",
                    headers=h((b"Host", b"a"), (b"Accept", b"text/html"), (b"Accept", b"*/*"))),
            EndOfMessage(),
        ],
    ),
    (
        "pipelined_three",
        GET_HEAD
        + b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        + b"GET /last HTTP/1.1\r\nHost: a\r\n\r\n",
        [
            REQ_GET,
            EndOfMessage(),
            Request(method=b"POST", target=b"/p",
                    headers=h((b"Host", b"a"), (b"Content-Length", b"3"))),
            Data(data=b"abc"),
            EndOfMessage(),
            Request(method=b"GET", target=b"/last", headers=h((b"Host", b"a"))),
            EndOfMessage(),
        ],
    ),
    (
        "connection_close_stops_the_cycle",
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        [
            Request(method=b"GET", target=b"/",
                    headers=h((b"Host", b"a"), (b"Connection", b"close"))),
            EndOfMessage(),
        ],
    ),
]


@pytest.mark.parametrize(("name", "raw", "expected"), SERVER_PARSE,
                         ids=[v[0] for v in SERVER_PARSE])
def test_server_parse_table(name: str, raw: bytes, expected: list[Event]) -> None:
    result = split_feed(server, raw, drain=respond_and_cycle, data_type=Data, seed=len(raw))
    assert result.error is None, result.error
    assert list(result.events) == expected


def test_server_parse_keeps_field_name_case() -> None:
    conn = server()
    events = conn.receive_data(b"GET / HTTP/1.1\r\nhOsT: a\r\nX-MiXeD-Case: v\r\n\r\n")
    req = events[0]
    assert isinstance(req, Request)
    assert req.headers.raw_items() == [(b"hOsT", b"a"), (b"X-MiXeD-Case", b"v")]


def test_server_reads_reused_bytearray_and_memoryview() -> None:
    # a driver reads into one reusable buffer: the parser must copy what it keeps
    raw = (b"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    expected = split_feed(server, raw, data_type=Data).events
    for step in (1, 3, 7, 64):
        conn = server()
        buf = bytearray(step)
        events: list[Event] = []
        for i in range(0, len(raw), step):
            piece = raw[i : i + step]
            buf[: len(piece)] = piece
            view = memoryview(buf)[: len(piece)]
            events.extend(conn.receive_data(view if step % 2 else bytearray(view)))
            view.release()
            buf[:] = b"\xff" * step  # scribble over the buffer before the next read
        assert tuple(merge_data(events, Data)) == expected
        assert all(type(ev.data) is bytes for ev in events if isinstance(ev, Data))


def test_server_pipelined_input_is_held_until_next_cycle() -> None:
    conn = server()
    events = conn.receive_data(GET_HEAD + b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    assert events == [REQ_GET, EndOfMessage()]
    assert conn.receive_data(b"") == []
    assert conn.their_state is S.DONE
    conn.send(Response(status_code=200, headers=h((b"Content-Length", b"0")), reason=b"OK"))
    conn.send(EndOfMessage())
    assert (conn.our_state, conn.their_state) == (S.DONE, S.DONE)
    conn.start_next_cycle()
    assert (conn.our_state, conn.their_state) == (S.IDLE, S.IDLE)
    events = conn.receive_data(b"")
    assert events == [Request(method=b"GET", target=b"/2", headers=h((b"Host", b"a"))),
                      EndOfMessage()]


def test_server_http10_and_close_end_in_must_close() -> None:
    close = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    for raw in (b"GET / HTTP/1.0\r\n\r\n", close):
        conn = server()
        conn.receive_data(raw)
        conn.send(Response(status_code=200, reason=b"OK",
                           headers=h((b"Content-Length", b"0"), (b"Connection", b"close"))))
        conn.send(EndOfMessage())
        assert conn.our_state is S.MUST_CLOSE
        assert conn.receive_eof() == [ConnectionClosed()]


def test_server_eof_between_requests_is_connection_closed() -> None:
    conn = server()
    assert conn.receive_eof() == [ConnectionClosed()]
    assert conn.their_state is S.CLOSED


# (name, request method, wire bytes of the response, events the client must produce)
CLIENT_PARSE: list[tuple[str, bytes, bytes, list[Event]]] = [
    (
        "content_length",
        b"GET",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        [Response(status_code=200, headers=h((b"Content-Length", b"5")), reason=b"OK"),
         Data(data=b"hello"), EndOfMessage()],
    ),
    (
        "chunked_with_trailers",
        b"GET",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nServer-Timing: db;dur=5\r\n\r\n",
        [Response(status_code=200, headers=h((b"Transfer-Encoding", b"chunked")), reason=b"OK"),
         Data(data=b"abcabcdefghijklmnopqrstuvwxyz"),
         EndOfMessage(trailers=h((b"Server-Timing", b"db;dur=5")))],
    ),
    (
        "head_has_no_body",
        b"HEAD",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        [Response(status_code=200, headers=h((b"Content-Length", b"5")), reason=b"OK"),
         EndOfMessage()],
    ),
    (
        "head_chunked_has_no_body",
        b"HEAD",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        [Response(status_code=200, headers=h((b"Transfer-Encoding", b"chunked")), reason=b"OK"),
         EndOfMessage()],
    ),
    (
        "204_has_no_body",
        b"DELETE",
        b"HTTP/1.1 204 No Content\r\nX-Id: 7\r\n\r\n",
        [Response(status_code=204, headers=h((b"X-Id", b"7")), reason=b"No Content"),
         EndOfMessage()],
    ),
    (
        "304_ignores_content_length",
        b"GET",
        b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 10\r\n\r\n",
        [Response(status_code=304, headers=h((b"ETag", b'"x"'), (b"Content-Length", b"10")),
                  reason=b"Not Modified"),
         EndOfMessage()],
    ),
    (
        "100_then_200",
        b"POST",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        [InformationalResponse(status_code=100, reason=b"Continue"),
         Response(status_code=201, headers=h((b"Content-Length", b"2")), reason=b"Created"),
         Data(data=b"ok"), EndOfMessage()],
    ),
    (
        "103_early_hints_twice",
        b"GET",
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </b.js>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        [InformationalResponse(status_code=103, headers=h((b"Link", b"</a.css>; rel=preload")),
                               reason=b"Early Hints"),
         InformationalResponse(status_code=103, headers=h((b"Link", b"</b.js>; rel=preload")),
                               reason=b"Early Hints"),
         Response(status_code=200, headers=h((b"Content-Length", b"0")), reason=b"OK"),
         EndOfMessage()],
    ),
    (
        "http10_response",
        b"GET",
        b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold",
        [Response(status_code=200, headers=h((b"Content-Length", b"3")), reason=b"OK",
                  http_version=b"1.0"),
         Data(data=b"old"), EndOfMessage()],
    ),
    (
        "reason_with_spaces_and_empty_reason",
        b"GET",
        b"HTTP/1.1 404 Not  Found Here\r\nContent-Length: 0\r\n\r\n",
        [Response(status_code=404, headers=h((b"Content-Length", b"0")),
                  reason=b"Not  Found Here"),
         EndOfMessage()],
    ),
    (
        "empty_reason",
        b"GET",
        b"HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n",
        [Response(status_code=500, headers=h((b"Content-Length", b"0")), reason=b""),
         EndOfMessage()],
    ),
]


def client_after(method: bytes, target: bytes = b"/", *extra: tuple[bytes, bytes]) -> Connection:
    conn = new(Role.CLIENT)
    conn.send(Request(method=method, target=target, headers=h((b"Host", b"a"), *extra)))
    if conn.our_state is S.SEND_BODY:
        conn.send(EndOfMessage())
    conn.data_to_send()
    return conn


@pytest.mark.parametrize(("name", "method", "raw", "expected"), CLIENT_PARSE,
                         ids=[v[0] for v in CLIENT_PARSE])
def test_client_parse_table(name: str, method: bytes, raw: bytes, expected: list[Event]) -> None:
    result = split_feed(lambda: client_after(method), raw, data_type=Data, seed=len(raw))
    assert result.error is None, result.error
    assert list(result.events) == expected


def test_client_read_until_close_body() -> None:
    raw = b"HTTP/1.1 200 OK\r\n\r\nall of this until EOF"
    result = split_feed(lambda: client_after(b"GET"), raw, data_type=Data, eof=True)
    assert result.error is None, result.error
    events = list(result.events)
    assert events[:3] == [Response(status_code=200, reason=b"OK"),
                          Data(data=b"all of this until EOF"), EndOfMessage()]
    assert all(isinstance(ev, ConnectionClosed) for ev in events[3:])
    assert len(events) <= 4


# --- serialization --------------------------------------------------------------------

# (name, events a client sends, exact bytes)
CLIENT_SEND: list[tuple[str, list[Event], bytes]] = [
    (
        "get",
        [Request(method=b"GET", target=b"/index.html", headers=h((b"Host", b"example.com"))),
         EndOfMessage()],
        b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n",
    ),
    (
        "post_content_length_in_pieces",
        [Request(method=b"POST", target=b"/submit",
                 headers=h((b"Host", b"a"), (b"Content-Length", b"5"))),
         Data(data=b"hel"), Data(data=b"lo"), EndOfMessage()],
        b"POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    ),
    (
        "post_chunked_with_trailers_and_empty_data",
        [Request(method=b"POST", target=b"/up",
                 headers=h((b"Host", b"a"), (b"Transfer-Encoding", b"chunked"))),
         Data(data=b"hello"), Data(data=b""), Data(data=b"0123456789abcdef"),
         EndOfMessage(trailers=h((b"X-Sum", b"1")))],
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX-Sum: 1\r\n\r\n",
    ),
    (
        "field_case_and_order_kept",
        [Request(method=b"OPTIONS", target=b"*",
                 headers=h((b"host", b"a"), (b"X-MiXeD", b"v 1"), (b"accept", b"*/*"),
                           (b"X-MiXeD", b"v2"))),
         EndOfMessage()],
        b"OPTIONS * HTTP/1.1\r\nhost: a\r\nX-MiXeD: v 1\r\naccept: */*\r\nX-MiXeD: v2\r\n\r\n",
    ),
    (
        "connect",
        [Request(method=b"CONNECT", target=b"example.com:443",
                 headers=h((b"Host", b"example.com:443"))),
         EndOfMessage()],
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    ),
]


def send_all(conn: Connection, events: Sequence[Event]) -> bytes:
    out = b""
    for ev in events:
        conn.send(ev)
        out += conn.data_to_send()
    return out


@pytest.mark.parametrize(("name", "events", "wire"), CLIENT_SEND, ids=[v[0] for v in CLIENT_SEND])
def test_client_serialize_table(name: str, events: list[Event], wire: bytes) -> None:
    assert send_all(new(Role.CLIENT), events) == wire
    # and our own server reads back exactly what was sent
    parsed = merge_data(server().receive_data(wire), Data)
    sent = [ev for ev in events if not (isinstance(ev, Data) and not ev.data)]
    assert parsed == merge_data(sent, Data)


OK0 = Response(status_code=200, headers=h((b"Content-Length", b"0")), reason=b"OK")

# (name, request the server received, events it sends, exact bytes, our state after)
SERVER_SEND: list[tuple[str, bytes, list[Event], bytes, ConnectionState]] = [
    (
        "content_length",
        GET_HEAD,
        [Response(status_code=200, headers=h((b"Content-Length", b"5")), reason=b"OK"),
         Data(data=b"hello"), EndOfMessage()],
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        S.DONE,
    ),
    (
        "chunked_with_trailers",
        GET_HEAD,
        [Response(status_code=200, headers=h((b"Transfer-Encoding", b"chunked")), reason=b"OK"),
         Data(data=b"abc"), Data(data=b"x" * 26), EndOfMessage(trailers=h((b"X-T", b"done")))],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1a\r\n"
        + b"x" * 26 + b"\r\n0\r\nX-T: done\r\n\r\n",
        S.DONE,
    ),
    (
        "head_response_has_no_body",
        b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
        [Response(status_code=200, headers=h((b"Content-Length", b"1234")), reason=b"OK"),
         EndOfMessage()],
        b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
        S.DONE,
    ),
    (
        "204",
        b"DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n",
        [Response(status_code=204, reason=b"No Content"), EndOfMessage()],
        b"HTTP/1.1 204 No Content\r\n\r\n",
        S.DONE,
    ),
    (
        "304",
        GET_HEAD,
        [Response(status_code=304, headers=h((b"ETag", b'"v1"')), reason=b"Not Modified"),
         EndOfMessage()],
        b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n',
        S.DONE,
    ),
    (
        "100_continue_then_201",
        b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
        [InformationalResponse(status_code=100, reason=b"Continue"),
         Response(status_code=201, headers=h((b"Content-Length", b"0")), reason=b"Created"),
         EndOfMessage()],
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        S.DONE,
    ),
    (
        "103_then_200",
        GET_HEAD,
        [InformationalResponse(status_code=103, headers=h((b"Link", b"</s.css>; rel=preload")),
                               reason=b"Early Hints"),
         OK0, EndOfMessage()],
        b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        S.DONE,
    ),
    (
        "http10_peer",
        b"GET / HTTP/1.0\r\n\r\n",
        [Response(status_code=200, reason=b"OK",
                  headers=h((b"Content-Length", b"2"), (b"Connection", b"close"))),
         Data(data=b"ok"), EndOfMessage()],
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        S.MUST_CLOSE,
    ),
    (
        "connection_close_request",
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        [Response(status_code=200, reason=b"OK",
                  headers=h((b"Content-Length", b"0"), (b"Connection", b"close"))),
         EndOfMessage()],
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        S.MUST_CLOSE,
    ),
    (
        "we_close_a_keepalive_connection",
        GET_HEAD,
        [Response(status_code=503, reason=b"Busy",
                  headers=h((b"Connection", b"close"), (b"Content-Length", b"0"))),
         EndOfMessage()],
        b"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        S.MUST_CLOSE,
    ),
]


@pytest.mark.parametrize(("name", "request_bytes", "events", "wire", "after"), SERVER_SEND,
                         ids=[v[0] for v in SERVER_SEND])
def test_server_serialize_table(
    name: str, request_bytes: bytes, events: list[Event], wire: bytes, after: ConnectionState
) -> None:
    conn = server()
    conn.receive_data(request_bytes)
    # an HTTP/1.0 or "Connection: close" request ends in MUST_CLOSE
    assert conn.their_state in (S.DONE, S.MUST_CLOSE)
    assert send_all(conn, events) == wire
    assert conn.our_state is after
    # a client that sent the same request reads back the events that were sent
    method = request_bytes.split(b" ", 1)[0]
    client = client_after(method)
    parsed = merge_data(client.receive_data(wire), Data)
    assert parsed == merge_data(events, Data)


def test_server_keepalive_cycles_with_pipelining() -> None:
    conn = server()
    second = b"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz"
    third = b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"
    out = b""
    events = conn.receive_data(GET_HEAD + second + third)
    assert events == [REQ_GET, EndOfMessage()]
    targets = [b"/"]
    for _ in range(2):
        out += send_all(conn, [OK0, EndOfMessage()])
        conn.start_next_cycle()
        events = conn.receive_data(b"")
        assert isinstance(events[0], Request)
        assert isinstance(events[-1], EndOfMessage)
        targets.append(events[0].target)
    out += send_all(conn, [Response(status_code=200, reason=b"OK",
                                    headers=h((b"Content-Length", b"1"))),
                           Data(data=b"!"), EndOfMessage()])
    assert targets == [b"/", b"/2", b"/3"]
    one = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    assert out == one + one + b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!"
    assert (conn.our_state, conn.their_state) == (S.DONE, S.DONE)


def test_client_keepalive_cycle_bytes() -> None:
    conn = new(Role.CLIENT)
    out = send_all(conn, [Request(method=b"GET", target=b"/1", headers=h((b"Host", b"a"))),
                          EndOfMessage()])
    events = conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA")
    assert events[-1] == EndOfMessage()
    assert (conn.our_state, conn.their_state) == (S.DONE, S.DONE)
    conn.start_next_cycle()
    out += send_all(conn, [Request(method=b"GET", target=b"/2", headers=h((b"Host", b"a"))),
                           EndOfMessage()])
    assert out == (b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")


# --- CONNECT and Upgrade: leftover bytes become trailing_data -------------------

TUNNEL = b"\x16\x03\x01\x00\x05hello"


@pytest.mark.parametrize("cuts", [1, 7, 10_000])
def test_server_connect_trailing_data(cuts: int) -> None:
    raw = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" + TUNNEL
    conn = server()
    events: list[Event] = []
    for i in range(0, len(raw), cuts):
        events.extend(conn.receive_data(raw[i : i + cuts]))
    assert events == [Request(method=b"CONNECT", target=b"example.com:443",
                              headers=h((b"Host", b"example.com:443"))), EndOfMessage()]
    assert conn.their_state is S.MIGHT_SWITCH_PROTOCOL
    out = send_all(conn, [Response(status_code=200, reason=b"Connection Established")])
    assert out == b"HTTP/1.1 200 Connection Established\r\n\r\n"
    assert (conn.our_state, conn.their_state) == (S.SWITCHED_PROTOCOL, S.SWITCHED_PROTOCOL)
    assert conn.trailing_data == TUNNEL


UPGRADE_REQ = (b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
               b"Upgrade: websocket\r\n\r\n")


@pytest.mark.parametrize("cuts", [1, 5, 10_000])
def test_server_upgrade_accepted_trailing_data(cuts: int) -> None:
    raw = UPGRADE_REQ + b"\x81\x05hello"
    conn = server()
    events: list[Event] = []
    for i in range(0, len(raw), cuts):
        events.extend(conn.receive_data(raw[i : i + cuts]))
    assert [type(ev) for ev in events] == [Request, EndOfMessage]
    assert conn.their_state is S.MIGHT_SWITCH_PROTOCOL
    out = send_all(conn, [InformationalResponse(
        status_code=101, reason=b"Switching Protocols",
        headers=h((b"Upgrade", b"websocket"), (b"Connection", b"Upgrade")))])
    assert out == (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   b"Connection: Upgrade\r\n\r\n")
    assert (conn.our_state, conn.their_state) == (S.SWITCHED_PROTOCOL, S.SWITCHED_PROTOCOL)
    assert conn.trailing_data == b"\x81\x05hello"


def test_server_upgrade_declined_goes_on_as_http() -> None:
    conn = server()
    events = conn.receive_data(UPGRADE_REQ + GET_HEAD)
    assert [type(ev) for ev in events] == [Request, EndOfMessage]
    send_all(conn, [OK0, EndOfMessage()])
    assert (conn.our_state, conn.their_state) == (S.DONE, S.DONE)
    assert conn.trailing_data == b""
    conn.start_next_cycle()
    assert conn.receive_data(b"") == [REQ_GET, EndOfMessage()]


def test_client_connect_trailing_data() -> None:
    conn = client_after(b"CONNECT", b"example.com:443")
    assert conn.our_state is S.MIGHT_SWITCH_PROTOCOL
    raw = b"HTTP/1.1 200 Connection established\r\n\r\n" + TUNNEL
    events = conn.receive_data(raw)
    assert events == [Response(status_code=200, reason=b"Connection established")]
    assert (conn.our_state, conn.their_state) == (S.SWITCHED_PROTOCOL, S.SWITCHED_PROTOCOL)
    assert conn.trailing_data == TUNNEL


def test_client_connect_refused_is_plain_http() -> None:
    conn = client_after(b"CONNECT", b"example.com:443")
    events = conn.receive_data(b"HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\nno")
    assert events[1:] == [Data(data=b"no"), EndOfMessage()]
    assert conn.their_state is S.DONE
    assert conn.trailing_data == b""


def test_client_upgrade_101_trailing_data() -> None:
    conn = client_after(b"GET", b"/chat", (b"Connection", b"Upgrade"), (b"Upgrade", b"websocket"))
    assert conn.our_state is S.MIGHT_SWITCH_PROTOCOL
    raw = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\n\r\n\x81\x02hi")
    result = split_feed(
        lambda: client_after(b"GET", b"/chat", (b"Connection", b"Upgrade"),
                             (b"Upgrade", b"websocket")),
        raw,
    )
    assert result.events == (InformationalResponse(
        status_code=101, reason=b"Switching Protocols",
        headers=h((b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"))),)
    conn.receive_data(raw)
    assert conn.their_state is S.SWITCHED_PROTOCOL
    assert conn.trailing_data == b"\x81\x02hi"


# --- hypothesis round-trips ------------------------------------------------------

TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PCHARS = "abcXYZ0189-._~!$&'()*+,;=:@%/?"
RESERVED = {
    b"host", b"content-length", b"transfer-encoding", b"connection", b"upgrade", b"expect",
    b"te", b"trailer", b"keep-alive", b"proxy-connection",
}
VALUE_CHARS = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))

tokens = st.text(alphabet=TCHARS, min_size=1, max_size=12).map(str.encode)
names = tokens.filter(lambda n: n.lower() not in RESERVED)
value_words = st.binary(min_size=1, max_size=8).map(
    lambda b: bytes(VALUE_CHARS[x % len(VALUE_CHARS)] for x in b)
)
values = st.lists(value_words, max_size=4).flatmap(
    lambda words: st.sampled_from([b" ", b"\t", b"  "]).map(lambda sep: sep.join(words))
)
fields = st.lists(st.tuples(names, values), max_size=8)
methods = st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS"]) | (
    tokens.filter(lambda m: m not in (b"HEAD", b"CONNECT"))
)
targets = st.text(alphabet=PCHARS, max_size=40).map(lambda t: b"/" + t.replace("%", "%25").encode())
trailer_fields = st.lists(st.tuples(tokens.map(lambda t: b"X-T-" + t), values), max_size=3)
pieces = st.lists(st.binary(min_size=1, max_size=64), max_size=5)
framings = st.sampled_from(["none", "length", "chunked"])


def framed(
    framing: str, base: list[tuple[bytes, bytes]], body: list[bytes]
) -> list[tuple[bytes, bytes]]:
    if framing == "length":
        return [*base, (b"Content-Length", str(sum(map(len, body))).encode())]
    if framing == "chunked":
        return [*base, (b"Transfer-Encoding", b"chunked")]
    return base


def lowered(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(n.lower(), v) for n, v in headers.raw_items()]


def body_events(framing: str, body: list[bytes],
                trailers: list[tuple[bytes, bytes]]) -> list[Event]:
    if framing == "none":
        return [EndOfMessage()]
    out: list[Event] = [Data(data=p) for p in body]
    out.append(EndOfMessage(trailers=h(*trailers) if framing == "chunked" else Headers()))
    return out


def check_same(parsed: Sequence[Event], sent: Sequence[Event]) -> None:
    assert all(ev.data for ev in parsed if isinstance(ev, Data)), "empty Data event"
    got = merge_data(parsed, Data)
    want = merge_data([ev for ev in sent if not (isinstance(ev, Data) and not ev.data)], Data)
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want, strict=True):
        assert type(g) is type(w)
        if isinstance(g, (Request, Response, InformationalResponse)):
            assert lowered(g.headers) == lowered(w.headers)  # type: ignore[union-attr]
        if isinstance(g, EndOfMessage):
            assert lowered(g.trailers) == lowered(w.trailers)  # type: ignore[union-attr]
        assert g == w


@given(methods, targets, fields, framings, pieces, trailer_fields, st.integers(1, 50))
def test_roundtrip_request(
    method: bytes, target: bytes, extra: list[tuple[bytes, bytes]], framing: str,
    body: list[bytes], trailers: list[tuple[bytes, bytes]], cut: int,
) -> None:
    if framing == "none":
        body = []
    headers = framed(framing, [(b"Host", b"example.com"), *extra], body)
    sent: list[Event] = [Request(method=method, target=target, headers=h(*headers))]
    sent += body_events(framing, body, trailers)
    wire = send_all(new(Role.CLIENT), sent)
    srv = server()
    parsed: list[Event] = []
    for i in range(0, len(wire), cut):
        parsed.extend(srv.receive_data(wire[i : i + cut]))
    check_same(parsed, sent)
    assert srv.their_state is S.DONE


statuses = st.integers(200, 599).filter(lambda s: s not in (204, 304))
reasons = st.lists(st.text(alphabet=TCHARS, min_size=1, max_size=8), max_size=3).map(
    lambda ws: " ".join(ws).encode()
)


@given(statuses, reasons, fields, st.sampled_from(["length", "chunked"]), pieces, trailer_fields,
       st.lists(st.tuples(st.sampled_from([100, 102, 103]), fields), max_size=2),
       st.integers(1, 50))
def test_roundtrip_response(
    status: int, reason: bytes, extra: list[tuple[bytes, bytes]], framing: str,
    body: list[bytes], trailers: list[tuple[bytes, bytes]],
    informational: list[tuple[int, list[tuple[bytes, bytes]]]], cut: int,
) -> None:
    srv = server()
    srv.receive_data(GET_HEAD)
    sent: list[Event] = [InformationalResponse(status_code=code, headers=h(*f), reason=b"Info")
                         for code, f in informational]
    sent.append(Response(status_code=status, reason=reason,
                         headers=h(*framed(framing, extra, body))))
    sent += [Data(data=p) for p in body]
    sent.append(EndOfMessage(trailers=h(*trailers) if framing == "chunked" else Headers()))
    wire = send_all(srv, sent)
    cli = client_after(b"GET")
    parsed: list[Event] = []
    for i in range(0, len(wire), cut):
        parsed.extend(cli.receive_data(wire[i : i + cut]))
    check_same(parsed, sent)
    assert cli.their_state is S.DONE
