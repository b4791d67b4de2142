"""The Connection: states, keep-alive, pipelining, switches, EOF, errors, determinism."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError, SockitError
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
from sockit.proto.http1.state import EVENT_TRANSITIONS, ConnectionStates, Kind
from tests.support.feeding import split_feed

S = ConnectionState
GET = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def types(events: Sequence[Event]) -> list[type]:
    return [type(e) for e in events]


def respond(conn: Connection, body: bytes = b"ok", **fields: str) -> None:
    headers = Headers([("Content-Length", str(len(body))), *fields.items()])
    conn.send(Response(200, headers))
    conn.send(Data(body))
    conn.send(EndOfMessage())


def client(method: bytes = b"GET", *fields: tuple[str, str]) -> Connection:
    conn = Connection(Role.CLIENT)
    target = b"h:443" if method == b"CONNECT" else b"/"
    conn.send(Request(method, target, Headers([("Host", "a"), *fields])))
    conn.send(EndOfMessage())
    conn.data_to_send()
    return conn


# -- the state table ----------------------------------------------------------------


def test_table_rows_are_reachable_and_consistent() -> None:
    for (role, state, kind), new in EVENT_TRANSITIONS.items():
        assert isinstance(role, Role)
        assert isinstance(state, ConnectionState)
        assert isinstance(kind, Kind)
        assert isinstance(new, ConnectionState)


def test_state_machine_basics() -> None:
    states = ConnectionStates()
    states.process_event(Role.CLIENT, Kind.REQUEST)
    assert (states.client, states.server) == (S.SEND_BODY, S.SEND_RESPONSE)
    states.process_event(Role.CLIENT, Kind.END)
    states.process_event(Role.SERVER, Kind.RESPONSE)
    states.process_event(Role.SERVER, Kind.END)
    assert (states.client, states.server) == (S.DONE, S.DONE)
    states.start_next_cycle()
    assert (states.client, states.server) == (S.IDLE, S.IDLE)
    with pytest.raises(LocalProtocolError):
        states.process_event(Role.SERVER, Kind.DATA)
    with pytest.raises(LocalProtocolError):
        states.process_event(Role.SERVER, Kind.SWITCH_UPGRADE)


def test_keep_alive_off_means_must_close() -> None:
    states = ConnectionStates()
    states.process_event(Role.CLIENT, Kind.REQUEST)
    states.disable_keep_alive()
    states.process_event(Role.CLIENT, Kind.END)
    assert states.client is S.MUST_CLOSE
    with pytest.raises(LocalProtocolError):
        states.start_next_cycle()


def test_server_states_through_an_exchange() -> None:
    conn = Connection(Role.SERVER)
    assert (conn.our_state, conn.their_state) == (S.IDLE, S.IDLE)
    events = conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n")
    assert types(events) == [Request]
    assert (conn.our_state, conn.their_state) == (S.SEND_RESPONSE, S.SEND_BODY)
    assert types(conn.receive_data(b"hi")) == [Data, EndOfMessage]
    assert conn.their_state is S.DONE
    conn.send(Response(200, Headers([("Content-Length", "0")])))
    assert conn.our_state is S.SEND_BODY
    conn.send(EndOfMessage())
    assert (conn.our_state, conn.their_state, conn.state) == (S.DONE, S.DONE, S.DONE)
    assert conn.keep_alive
    assert conn.their_http_version == b"1.1"
    assert conn.next_deadline() is None
    assert conn.handle_timeout(123.0) == []


# -- keep-alive and pipelining -------------------------------------------------------


def test_pipelined_requests_wait_for_the_next_cycle() -> None:
    conn = Connection(Role.SERVER)
    events = conn.receive_data(GET + GET.replace(b"/", b"/2", 1) + b"GET /3")
    assert types(events) == [Request, EndOfMessage]
    assert conn.receive_data(b"") == []
    with pytest.raises(LocalProtocolError):
        conn.start_next_cycle()  # our response is not done
    respond(conn)
    conn.start_next_cycle()
    events = conn.receive_data(b"")
    assert types(events) == [Request, EndOfMessage]
    assert isinstance(events[0], Request)
    assert events[0].target == b"/2"
    respond(conn)
    conn.start_next_cycle()
    assert conn.receive_data(b" HTTP/1.1\r\nHost: a\r\n\r\n")[0].target == b"/3"  # type: ignore[attr-defined]


def test_eof_with_pipelined_request_held() -> None:
    conn = Connection(Role.SERVER)
    conn.receive_data(GET + GET)
    assert conn.receive_eof() == []  # the second request is still to come
    respond(conn)
    conn.start_next_cycle()
    assert types(conn.receive_data(b"")) == [Request, EndOfMessage, ConnectionClosed]
    assert conn.their_state is S.CLOSED


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ],
)
def test_no_keep_alive(request_bytes: bytes) -> None:
    conn = Connection(Role.SERVER)
    conn.receive_data(request_bytes)
    assert not conn.keep_alive
    assert conn.their_state is S.MUST_CLOSE
    respond(conn)
    assert conn.our_state is S.MUST_CLOSE
    assert b"Connection: close\r\n" in conn.data_to_send()
    with pytest.raises(LocalProtocolError):
        conn.start_next_cycle()


def test_our_connection_close_header() -> None:
    conn = Connection(Role.SERVER)
    conn.receive_data(GET)
    respond(conn, connection="close")
    assert (conn.our_state, conn.their_state) == (S.MUST_CLOSE, S.MUST_CLOSE)


def test_held_input_is_bounded() -> None:
    conn = Connection(Role.SERVER, HTTP1Config(max_incomplete_event_size=100))
    conn.receive_data(GET + b"x" * 100)
    with pytest.raises(LimitExceeded) as info:
        conn.receive_data(b"x")
    assert info.value.limit == "max_incomplete_event_size"


# -- 100-continue ----------------------------------------------------------------------


def test_expect_100_continue() -> None:
    conn = Connection(Role.SERVER)
    head = b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
    assert types(conn.receive_data(head)) == [Request]
    assert conn.they_are_waiting_for_100_continue
    conn.send(InformationalResponse(100, reason=b"Continue"))
    assert conn.data_to_send() == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert not conn.they_are_waiting_for_100_continue
    assert types(conn.receive_data(b"abc")) == [Data, EndOfMessage]


def test_client_sees_100_then_the_response() -> None:
    conn = client()
    events = conn.receive_data(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    )
    assert types(events) == [InformationalResponse, InformationalResponse, Response, EndOfMessage]
    assert (conn.our_state, conn.their_state) == (S.DONE, S.DONE)


# -- responses without bodies ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "head"),
    [
        (b"HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"),
        (b"HEAD", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
        (b"GET", b"HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n"),
        (b"GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"),
    ],
)
def test_responses_without_body(method: bytes, head: bytes) -> None:
    conn = client(method)
    assert types(conn.receive_data(head)) == [Response, EndOfMessage]
    assert conn.their_state is S.DONE


def test_close_delimited_response() -> None:
    conn = client()
    assert types(conn.receive_data(b"HTTP/1.1 200 OK\r\n\r\nabc")) == [Response, Data]
    assert not conn.keep_alive
    assert types(conn.receive_data(b"def")) == [Data]
    assert types(conn.receive_eof()) == [EndOfMessage, ConnectionClosed]


def test_response_te_not_ending_in_chunked_reads_until_close() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz"
    conn = client()
    assert types(conn.receive_data(head)) == [Response, Data]
    strict = Connection(Role.CLIENT, HTTP1Config(strict_transfer_encoding=True))
    strict.send(Request(b"GET", b"/", Headers([("Host", "a")])))
    with pytest.raises(RemoteProtocolError):
        strict.receive_data(head)


# -- protocol switches -----------------------------------------------------------------


def test_connect_switches_and_keeps_trailing_data() -> None:
    server = Connection(Role.SERVER)
    events = server.receive_data(b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n\x16\x03\x01")
    assert types(events) == [Request, EndOfMessage]
    assert server.their_state is S.MIGHT_SWITCH_PROTOCOL
    assert server.trailing_data == b""
    server.send(Response(200))
    assert (server.our_state, server.their_state) == (S.SWITCHED_PROTOCOL, S.SWITCHED_PROTOCOL)
    assert server.trailing_data == b"\x16\x03\x01"
    assert server.receive_data(b"more") == []
    assert server.trailing_data == b"\x16\x03\x01more"

    conn = client(b"CONNECT")
    assert conn.our_state is S.MIGHT_SWITCH_PROTOCOL
    events = conn.receive_data(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03")
    assert types(events) == [Response]
    assert conn.our_state is S.SWITCHED_PROTOCOL
    assert conn.trailing_data == b"\x16\x03\x03"
    assert conn.receive_eof() == []


def test_connect_refused_is_a_normal_response() -> None:
    conn = client(b"CONNECT")
    events = conn.receive_data(b"HTTP/1.1 407 Auth\r\nContent-Length: 1\r\n\r\nx")
    assert types(events) == [Response, Data, EndOfMessage]
    assert (conn.our_state, conn.their_state) == (S.DONE, S.DONE)


def test_upgrade_accepted_and_declined() -> None:
    head = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"
    server = Connection(Role.SERVER)
    server.receive_data(head + b"\x81\x00")
    server.send(InformationalResponse(101, Headers([("Upgrade", "websocket")])))
    assert server.trailing_data == b"\x81\x00"
    assert server.our_state is S.SWITCHED_PROTOCOL

    server = Connection(Role.SERVER)
    server.receive_data(head)
    respond(server)
    assert (server.our_state, server.their_state) == (S.DONE, S.DONE)

    conn = client(b"GET", ("Upgrade", "websocket"))
    events = conn.receive_data(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nWS")
    assert types(events) == [InformationalResponse]
    assert conn.trailing_data == b"WS"


def test_switch_without_proposal_is_refused() -> None:
    server = Connection(Role.SERVER)
    server.receive_data(GET)
    with pytest.raises(LocalProtocolError):
        server.send(InformationalResponse(101))
    assert server.our_state is S.ERROR
    with pytest.raises(RemoteProtocolError):
        client().receive_data(b"HTTP/1.1 101 Switching\r\n\r\n")


# -- EOF -------------------------------------------------------------------------------


def test_eof_between_messages() -> None:
    conn = Connection(Role.SERVER)
    assert types(conn.receive_eof()) == [ConnectionClosed]
    assert conn.their_state is S.CLOSED
    assert conn.receive_eof() == []
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"x")
    conn = Connection(Role.SERVER)
    conn.receive_data(b"\r\n")
    assert types(conn.receive_eof()) == [ConnectionClosed]


def test_eof_after_a_request_lets_the_server_answer() -> None:
    conn = Connection(Role.SERVER)
    assert types(conn.receive_data(GET)) == [Request, EndOfMessage]
    assert types(conn.receive_eof()) == [ConnectionClosed]
    respond(conn)
    assert conn.our_state is S.MUST_CLOSE


@pytest.mark.parametrize(
    "data", [b"GET / HT", GET[:-1], b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab"]
)
def test_eof_mid_message(data: bytes) -> None:
    conn = Connection(Role.SERVER)
    conn.receive_data(data)
    with pytest.raises(RemoteProtocolError):
        conn.receive_eof()


def test_client_eof_before_the_response() -> None:
    with pytest.raises(RemoteProtocolError):
        client().receive_eof()
    idle = Connection(Role.CLIENT)
    assert types(idle.receive_eof()) == [ConnectionClosed]


# -- errors ----------------------------------------------------------------------------


def test_errors_are_sticky() -> None:
    conn = Connection(Role.SERVER)
    with pytest.raises(RemoteProtocolError) as first:
        conn.receive_data(b"GET / HTTP/9.9\r\nHost: a\r\n\r\n")
    assert first.value.http_status == 505
    assert conn.their_state is S.ERROR
    for call in (lambda: conn.receive_data(GET), conn.receive_eof):
        with pytest.raises(RemoteProtocolError) as again:
            call()
        assert again.value.http_status == 505
    # the server can still answer the bad request, and must then close
    conn.send(Response(505, Headers([("Content-Length", "0")])))
    conn.send(EndOfMessage())
    assert conn.our_state is S.MUST_CLOSE
    assert b"Connection: close" in conn.data_to_send()


def test_error_after_events_is_raised_by_the_next_call() -> None:
    conn = Connection(Role.SERVER)
    data = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiXX"
    assert types(conn.receive_data(data)) == [Request, Data]
    assert conn.their_state is S.ERROR
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"")


def test_failed_send_puts_us_in_error() -> None:
    conn = Connection(Role.SERVER)
    with pytest.raises(LocalProtocolError):
        conn.send(Data(b"x"))
    assert conn.our_state is S.ERROR
    conn = Connection(Role.SERVER)
    conn.receive_data(GET)
    conn.send_failed()
    assert conn.our_state is S.ERROR
    with pytest.raises(LocalProtocolError):
        Connection(Role.CLIENT).send(Response(200))
    with pytest.raises(LocalProtocolError):
        Connection(Role.SERVER).send(Request(b"GET", b"/", Headers([("Host", "a")])))
    with pytest.raises(LocalProtocolError):
        Connection(Role.SERVER).send(Event())


@pytest.mark.parametrize(
    "event",
    [
        Request(b"GET", b"/"),
        Request(b"GET", b"/", Headers([("Host", "a"), ("Host", "b")])),
        Request(b"G ET", b"/", Headers([("Host", "a")])),
        Request(b"GET", b"/ x", Headers([("Host", "a")])),
        Request(b"GET", b"/", Headers([("Host", "a")]), http_version=b"1.0"),
        Request(b"GET", b"/", Headers([("Host", "a"), ("Transfer-Encoding", "gzip")])),
        Request(b"GET", b"/", Headers([("Host", "a"), ("Content-Length", "x")])),
    ],
)
def test_bad_requests_are_not_sent(event: Request) -> None:
    conn = Connection(Role.CLIENT)
    with pytest.raises(LocalProtocolError):
        conn.send(event)
    assert conn.data_to_send() == b""


def test_client_request_bodies() -> None:
    conn = Connection(Role.CLIENT)
    conn.send(Request(b"POST", b"/", Headers([("Host", "a"), ("Transfer-Encoding", "chunked")])))
    conn.send(Data(b"abc"))
    conn.send(EndOfMessage())
    assert conn.data_to_send().endswith(b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    conn = Connection(Role.CLIENT)
    conn.send(Request(b"POST", b"/", Headers([("Host", "a")])))
    with pytest.raises(LocalProtocolError):
        conn.send(Data(b"no framing, no body"))


def test_str_fields_and_header_lists_are_accepted() -> None:
    conn = Connection(Role.CLIENT)
    conn.send(Request("GET", "/x", [("Host", "a")]))  # type: ignore[arg-type]
    assert conn.data_to_send() == b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"


def test_connection_closed_can_be_sent() -> None:
    conn = Connection(Role.SERVER)
    conn.send(ConnectionClosed())
    assert conn.our_state is S.CLOSED


# -- determinism -------------------------------------------------------------------------


def drain(conn: Connection) -> list[Event]:
    """Answer every finished request and collect what the held input yields.

    An error stops the collection but is not raised here: errors are sticky,
    so the next call (``receive_eof`` in split_feed) raises it, and no event
    collected before it is lost.
    """
    out: list[Event] = []
    try:
        out.extend(conn.receive_data(b""))
        while conn.their_state is S.DONE and conn.our_state is S.SEND_RESPONSE:
            respond(conn)
            conn.start_next_cycle()
            out.extend(conn.receive_data(b""))
    except RemoteProtocolError:
        pass
    return out


CORPUS = [
    GET,
    GET + GET + GET,
    b"\r\n" + GET,
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world" + GET,
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n" + GET,
    b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * 300 + b"\r\n\r\n",
    GET + b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    GET + b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX",
    b"GET / HTTP/1.1\r\nHost: a\r\n X: y\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffff\r\n",
]


@pytest.mark.parametrize("data", CORPUS)
def test_same_events_however_split(data: bytes) -> None:
    # An error found after events in the same call is raised by the next
    # call: with EOF last, every split ends with the same events and error.
    split_feed(lambda: Connection(Role.SERVER), data, drain=drain, eof=True, data_type=Data)


def test_valid_streams_need_no_eof() -> None:
    for data in CORPUS[:6]:
        result = split_feed(lambda: Connection(Role.SERVER), data, drain=drain, data_type=Data)
        assert result.error is None


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\nabc def",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
    ],
)
def test_client_side_split_determinism(data: bytes) -> None:
    split_feed(client, data, eof=True, data_type=Data)


@given(st.binary(max_size=300), st.sampled_from([Role.SERVER, Role.CLIENT]))
def test_only_sockit_errors_escape(data: bytes, role: Role) -> None:
    conn = client() if role is Role.CLIENT else Connection(Role.SERVER)
    try:
        conn.receive_data(data)
        conn.receive_eof()
    except SockitError:
        pass


FRAGMENTS = [
    GET,
    b"\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n",
    b"x",
    b"GET",
    b" HTTP/1.1\r\n",
    b"Host: a\r\n",
    b"\r\n\r\n",
]


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=8))
def test_fragments_split_proof(parts: list[bytes]) -> None:
    data = b"".join(parts)
    split_feed(lambda: Connection(Role.SERVER), data, drain=drain, eof=True, data_type=Data)


# -- the shortcuts agree with the general rules ---------------------------------------


def test_state_shortcut_table_agrees_with_the_general_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sockit.proto.http1.state as state_module

    def outcome(role: Role, client: S, server: S, kind: Kind) -> object:
        states = ConnectionStates()
        states.client = client
        states.server = server
        try:
            states.process_event(role, kind)
        except LocalProtocolError as exc:
            return str(exc)
        return states.client, states.server, states.keep_alive, states.proposals

    combos = [(r, c, s, k) for r in Role for c in S for s in S for k in Kind]
    fast = [outcome(*combo) for combo in combos]
    monkeypatch.setattr(state_module, "_CLIENT_STEPS", {})
    monkeypatch.setattr(state_module, "_SERVER_STEPS", {})
    assert [outcome(*combo) for combo in combos] == fast


def observe(data: bytes, cuts: int) -> tuple[object, ...]:
    """Events and every state after feeding ``data`` in ``cuts``-byte pieces."""
    conn = Connection(Role.SERVER)
    events: list[Event] = []
    for i in range(0, len(data), cuts):
        events.extend(conn.receive_data(data[i : i + cuts]))
    return (
        events,
        conn.our_state,
        conn.their_state,
        conn.keep_alive,
        conn.they_are_waiting_for_100_continue,
        conn.their_http_version,
    )


@pytest.mark.parametrize(
    "data",
    [
        GET,
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
        b"CONNECT a:443 HTTP/1.0\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        b"GET / HTTP/1.1\r\nhOsT: a\r\nCONNECTION: close\r\n\r\n",
    ],
)
def test_requests_taken_whole_match_requests_taken_byte_by_byte(data: bytes) -> None:
    whole = observe(data, len(data))
    assert whole == observe(data, 1)
    assert whole == observe(data, 7)


def test_pipelined_heads_in_one_small_buffer() -> None:
    # the buffer ends in CRLF CRLF but holds two heads: never taken as one
    conn = Connection(Role.SERVER)
    second = b"GET /2 HTTP/1.1\r\nHost: b\r\n\r\n"
    events = conn.receive_data(GET + second)
    assert types(events) == [Request, EndOfMessage]
    assert events[0].target == b"/"  # type: ignore[attr-defined]
    respond(conn)
    conn.start_next_cycle()
    events = conn.receive_data(b"")
    assert types(events) == [Request, EndOfMessage]
    assert events[0].headers.get("host") == "b"  # type: ignore[attr-defined]


def test_parsed_events_are_ordinary_frozen_events() -> None:
    import copy
    import dataclasses
    import pickle

    conn = Connection(Role.SERVER)
    request, end = conn.receive_data(b"GET /x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n")
    assert request == Request(b"GET", b"/x", Headers([("Host", "a"), ("X-A", "1"), ("x-a", "2")]))
    assert isinstance(request, Request)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.method = b"POST"  # type: ignore[misc]
    assert end == EndOfMessage()
    assert isinstance(end, EndOfMessage)
    assert end.trailers == Headers() and end.trailers is end.trailers
    assert pickle.loads(pickle.dumps(end)) == end
    assert copy.copy(end) == end
    with pytest.raises(AttributeError):
        end.missing  # type: ignore[attr-defined]  # noqa: B018
    # headers from the parser: index built on first use, original case kept
    headers = request.headers
    assert not headers.validated
    assert headers.get_all("x-a") == ["1", "2"]
    assert headers.lookup_raw(b"x-a") == [b"1", b"2"]
    assert "HOST" in headers and len(headers) == 3
    assert headers.raw_items()[1] == (b"X-A", b"1")
    assert headers.copy() == headers


# -- bodies sent around the machine (sendfile) ------------------------------------


def _server_sending(status_headers: list[tuple[str, str]], request: bytes = GET) -> Connection:
    conn = Connection(Role.SERVER)
    conn.receive_data(request)
    conn.send(Response(200, Headers(status_headers), reason=b"OK"))
    conn.data_to_send()  # the head goes out before the file
    return conn


def test_account_body_counts_toward_content_length_without_output() -> None:
    conn = _server_sending([("Content-Length", "10")])
    conn.account_body(6)
    conn.send(Data(b"abcd"))
    assert conn.data_to_send() == b"abcd"  # the 6 accounted bytes were never queued
    conn.send(EndOfMessage())
    assert conn.our_state is ConnectionState.DONE


def test_account_body_refuses_more_than_declared() -> None:
    conn = _server_sending([("Content-Length", "5")])
    with pytest.raises(LocalProtocolError, match="more than the 5"):
        conn.account_body(6)
    assert conn.our_state is ConnectionState.ERROR


def test_account_body_short_count_fails_at_the_end() -> None:
    conn = _server_sending([("Content-Length", "5")])
    conn.account_body(4)
    with pytest.raises(LocalProtocolError, match="1 bytes short"):
        conn.send(EndOfMessage())


def test_account_body_needs_a_content_length_body() -> None:
    conn = _server_sending([])  # no length: the body goes out chunked
    with pytest.raises(LocalProtocolError, match="only a Content-Length body"):
        conn.account_body(3)


def test_account_body_outside_a_body_or_with_a_bad_count() -> None:
    conn = Connection(Role.SERVER)
    conn.receive_data(GET)
    with pytest.raises(LocalProtocolError, match="no body is being sent"):
        conn.account_body(1)
    conn = _server_sending([("Content-Length", "5")])
    with pytest.raises(LocalProtocolError, match="int >= 0"):
        conn.account_body(-1)


def test_account_body_for_a_head_response_is_ignored() -> None:
    head = b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
    conn = _server_sending([("Content-Length", "100")], request=head)
    conn.account_body(100)
    conn.send(EndOfMessage())
    assert conn.data_to_send() == b""
    assert conn.our_state is ConnectionState.DONE


def test_buffered_input_counts_bytes_not_yet_turned_into_events() -> None:
    conn = Connection(Role.CLIENT)
    conn.send(Request(b"GET", b"/", Headers([("Host", "a")])))
    conn.send(EndOfMessage())
    assert conn.buffered_input == 0
    events = conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK")
    assert types(events) == [Response, Data, EndOfMessage]
    assert conn.buffered_input == 4  # bytes after a complete response: held, not parsed
    conn = Connection(Role.SERVER)
    conn.receive_data(b"GET / HTTP/1.1\r\nHo")
    assert conn.buffered_input == len(b"GET / HTTP/1.1\r\nHo")
