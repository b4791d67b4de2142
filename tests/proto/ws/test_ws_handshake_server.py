"""The server side of the opening handshake: validate_request, accept_headers, ServerHandshake.

Every refusal with its status (400, 426 with Sec-WebSocket-Version: 13,
HTTP/1.1 limits), the 101's fields, subprotocol and permessage-deflate
choices, early frames kept as trailing_data, the same events however the
bytes are split, limits at N and N + 1, websockets' and wsproto's clients
against our server, and arbitrary bytes.
"""

from __future__ import annotations

import base64

import h11
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError, SockitError
from sockit.limits import HTTP1Limits
from sockit.proto.events import Role
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import Connection, HTTP1Config, Request
from sockit.proto.ws.errors import HandshakeError
from sockit.proto.ws.extensions import DeflateConfig, DeflateParams
from sockit.proto.ws.handshake import (
    TRANSITIONS,
    AcceptConnection,
    HandshakeClosed,
    HandshakeRequest,
    HandshakeState,
    RejectConnection,
    WebSocketRequest,
    accept_key,
    is_valid_key,
)
from sockit.proto.ws.handshake_server import (
    ServerHandshake,
    accept_headers,
    reject_response,
    validate_request,
)
from tests.support.feeding import split_feed

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
S = HandshakeState
BASE = [
    ("Host", "server.example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", KEY),
    ("Origin", "http://example.com"),
    ("Sec-WebSocket-Protocol", "chat, superchat"),
    ("Sec-WebSocket-Version", "13"),
]
# a masked text frame "Hello" (RFC 6455 §5.7), sent before the 101 arrived
EARLY = bytes.fromhex("818537fa213d7f9f4d5158")


def head(
    fields: list[tuple[str, str]] | None = None,
    *,
    method: str = "GET",
    target: str = "/chat",
    version: str = "1.1",
    drop: tuple[str, ...] = (),
    body: bytes = b"",
) -> bytes:
    fields = [f for f in (BASE if fields is None else fields) if f[0] not in drop]
    lines = [f"{method} {target} HTTP/{version}", *(f"{n}: {v}" for n, v in fields)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parsed(data: bytes) -> Request:
    conn = Connection(Role.SERVER)
    event = conn.receive_data(data)[0]
    assert isinstance(event, Request)
    return event


def with_fields(*extra: tuple[str, str], drop: tuple[str, ...] = ()) -> bytes:
    names = {n.lower() for n, _ in extra} | {d.lower() for d in drop}
    return head([f for f in BASE if f[0].lower() not in names] + list(extra))


def status_of(wire: bytes) -> int:
    conn = h11.Connection(h11.CLIENT)
    fields = [("Host", "a"), ("Upgrade", "websocket"), ("Connection", "Upgrade")]
    conn.send(h11.Request(method="GET", target="/", headers=fields))
    conn.send(h11.EndOfMessage())
    conn.receive_data(wire)
    event = conn.next_event()
    assert isinstance(event, (h11.Response, h11.InformationalResponse))
    return event.status_code


# -- key and accept ----------------------------------------------------------------------


def test_accept_key_rfc6455_example() -> None:
    assert accept_key(KEY) == ACCEPT
    assert accept_key(KEY.encode()) == ACCEPT


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        (KEY.encode(), True),
        (base64.b64encode(bytes(16)), True),
        (base64.b64encode(bytes(15)), False),
        (base64.b64encode(bytes(17)), False),
        (KEY.encode().rstrip(b"="), False),
        (b"dGhlIHNhbXBsZSBub25jZQ=", False),
        (b"dGhlIHNhbXBsZSBub25jZ!==", False),
        (b"dGhlIHNhbXBsZSBub25j ZQ==", False),
        (b"", False),
    ],
)
def test_is_valid_key(key: bytes, ok: bool) -> None:
    assert is_valid_key(key) is ok


# -- validate_request ----------------------------------------------------------------------


def test_validate_request_fields() -> None:
    ws = validate_request(parsed(head(body=b"")))
    assert ws == WebSocketRequest(
        key=KEY,
        subprotocols=("chat", "superchat"),
        extensions=(),
        origin="http://example.com",
        host="server.example.com",
        path="/chat",
        headers=ws.headers,
    )
    assert ws.headers["sec-websocket-key"] == KEY


@pytest.mark.parametrize(
    "data",
    [
        with_fields(("Upgrade", "WebSocket")),
        with_fields(("Upgrade", "h2c, websocket")),
        with_fields(("Connection", "keep-alive, Upgrade")),
        with_fields(("Connection", "UPGRADE")),
        with_fields(("Sec-WebSocket-Version", " 13")),
        with_fields(("Content-Length", "0")),
        with_fields(drop=("Origin", "Sec-WebSocket-Protocol")),
        head(target="http://server.example.com/chat"),
        head(target="/chat?x=1"),
    ],
)
def test_validate_request_accepts(data: bytes) -> None:
    ws = validate_request(parsed(data))
    assert ws.key == KEY


REFUSALS = [
    ("POST", head(method="POST"), 400),
    ("HTTP/1.0", head(version="1.0"), 400),
    ("no Upgrade", with_fields(drop=("Upgrade",)), 400),
    ("Upgrade h2c", with_fields(("Upgrade", "h2c")), 400),
    ("no Connection", with_fields(drop=("Connection",)), 400),
    ("Connection keep-alive", with_fields(("Connection", "keep-alive")), 400),
    ("no key", with_fields(drop=("Sec-WebSocket-Key",)), 400),
    ("short key", with_fields(("Sec-WebSocket-Key", base64.b64encode(bytes(15)).decode())), 400),
    ("long key", with_fields(("Sec-WebSocket-Key", base64.b64encode(bytes(17)).decode())), 400),
    ("non-base64 key", with_fields(("Sec-WebSocket-Key", "!" * 22 + "==")), 400),
    (
        "two keys",
        head([*BASE, ("Sec-WebSocket-Key", KEY)]),
        400,
    ),
    ("no version", with_fields(drop=("Sec-WebSocket-Version",)), 426),
    ("version 8", with_fields(("Sec-WebSocket-Version", "8")), 426),
    ("version list", with_fields(("Sec-WebSocket-Version", "13, 8")), 426),
    ("version 14", with_fields(("Sec-WebSocket-Version", "14")), 426),
    ("body", head([*BASE, ("Content-Length", "5")], body=b"hello"), 400),
    ("chunked", head([*BASE, ("Transfer-Encoding", "chunked")], body=b"0\r\n\r\n"), 400),
    ("bad protocol", with_fields(("Sec-WebSocket-Protocol", "a b")), 400),
    ("bad extension", with_fields(("Sec-WebSocket-Extensions", "permessage-deflate;")), 400),
    ("two origins", head([*BASE, ("Origin", "http://evil.example")]), 400),
]


@pytest.mark.parametrize(("why", "data", "status"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_validate_request_refusals(why: str, data: bytes, status: int) -> None:
    with pytest.raises(HandshakeError) as info:
        validate_request(parsed(data))
    assert info.value.http_status == status
    if status == 426:
        assert info.value.headers == ((b"Sec-WebSocket-Version", b"13"),)


@pytest.mark.parametrize(("why", "data", "status"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_server_handshake_answers_refusals(why: str, data: bytes, status: int) -> None:
    shake = ServerHandshake()
    with pytest.raises(HandshakeError) as info:
        shake.receive_data(data)
    assert info.value.http_status == status
    assert shake.state is S.FAILED
    wire = shake.data_to_send()
    assert status_of(wire) == status
    assert b"\r\nConnection: close\r\n" in wire
    if status == 426:
        assert b"\r\nSec-WebSocket-Version: 13\r\n" in wire
        assert b"\r\nUpgrade: websocket\r\n" in wire
    # the error is sticky
    with pytest.raises(HandshakeError):
        shake.receive_data(b"")
    with pytest.raises(HandshakeError):
        shake.receive_eof()


# -- accept_headers and reject_response ------------------------------------------------------


def request_with(*extra: tuple[str, str]) -> WebSocketRequest:
    return validate_request(parsed(with_fields(*extra)))


def test_accept_headers_rfc_example() -> None:
    headers, params = accept_headers(request_with(), subprotocol="chat")
    assert headers.raw_items() == [
        (b"Upgrade", b"websocket"),
        (b"Connection", b"Upgrade"),
        (b"Sec-WebSocket-Accept", ACCEPT.encode()),
        (b"Sec-WebSocket-Protocol", b"chat"),
    ]
    assert params is None


def test_accept_headers_subprotocol_must_be_offered() -> None:
    with pytest.raises(LocalProtocolError):
        accept_headers(request_with(), subprotocol="other")
    headers, _ = accept_headers(request_with(), subprotocol="superchat")
    assert headers["sec-websocket-protocol"] == "superchat"
    headers, _ = accept_headers(request_with())
    assert "sec-websocket-protocol" not in headers


@pytest.mark.parametrize(
    ("offer", "config", "params", "response"),
    [
        ("permessage-deflate; client_max_window_bits", DeflateConfig(), DeflateParams(),
         "permessage-deflate"),
        ("permessage-deflate; client_max_window_bits", None, None, None),
        ("permessage-deflate", DeflateConfig(enabled=False), None, None),
        ("x-webkit-deflate-frame", DeflateConfig(), None, None),
        ("permessage-deflate; server_max_window_bits=10", DeflateConfig(),
         DeflateParams(server_max_window_bits=10), "permessage-deflate; server_max_window_bits=10"),
        ("permessage-deflate; bogus, permessage-deflate; client_no_context_takeover",
         DeflateConfig(client_no_context_takeover=True),
         DeflateParams(client_no_context_takeover=True),
         "permessage-deflate; client_no_context_takeover"),
    ],
)
def test_accept_headers_deflate(
    offer: str, config: DeflateConfig | None, params: DeflateParams | None, response: str | None
) -> None:
    headers, got = accept_headers(
        request_with(("Sec-WebSocket-Extensions", offer)), deflate=config
    )
    assert got == params
    assert headers.get("sec-websocket-extensions") == response


def test_accept_headers_extra_fields() -> None:
    headers, _ = accept_headers(request_with(), extra_headers=[("Set-Cookie", "a=b")])
    assert headers.raw_items()[-1] == (b"Set-Cookie", b"a=b")
    for name in ("Sec-WebSocket-Accept", "upgrade", "Sec-WebSocket-Extensions", "Content-Length"):
        with pytest.raises(LocalProtocolError):
            accept_headers(request_with(), extra_headers=[(name, "x")])


def test_reject_response_forms() -> None:
    status, fields, body = reject_response(403)
    assert status == 403
    assert body == b"403 Forbidden\n"
    assert (b"Content-Type", b"text/plain; charset=utf-8") in fields
    status, fields, body = reject_response(
        HandshakeError("nope", http_status=426, headers=((b"Sec-WebSocket-Version", b"13"),))
    )
    assert status == 426
    assert fields.count((b"Sec-WebSocket-Version", b"13")) == 1
    assert (b"Upgrade", b"websocket") in fields
    assert body == b"426 Upgrade Required: nope\n"
    status, fields, body = reject_response(401, headers={"WWW-Authenticate": "Basic"}, body=b"x")
    assert (status, fields, body) == (401, [(b"WWW-Authenticate", b"Basic")], b"x")
    assert reject_response(HandshakeError("x", http_status=None))[0] == 400
    for bad in (101, 199, 600, True):
        with pytest.raises(LocalProtocolError):
            reject_response(bad)


# -- the machine ------------------------------------------------------------------------------


def test_server_handshake_accepts_and_keeps_early_frames() -> None:
    shake = ServerHandshake()
    assert shake.state is S.CONNECTING
    assert shake.next_deadline() is None
    assert shake.handle_timeout(0.0) == []
    events = shake.receive_data(head() + EARLY)
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, HandshakeRequest)
    assert event.request.origin == "http://example.com"
    assert shake.state is S.REQUEST_RECEIVED
    assert shake.trailing_data == b""  # not before the switch
    assert shake.receive_data(b"\x81") == []  # more early bytes wait too
    shake.accept(subprotocol="chat", deflate=DeflateConfig(), extra_headers={"X-A": "1"})
    assert shake.state is S.OPEN
    wire = shake.data_to_send()
    assert wire.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert f"\r\nSec-WebSocket-Accept: {ACCEPT}\r\n".encode() in wire
    assert b"\r\nX-A: 1\r\n" in wire
    assert status_of(wire) == 101
    assert shake.subprotocol == "chat"
    assert shake.deflate is None  # not offered
    assert shake.trailing_data == EARLY + b"\x81"
    assert shake.receive_data(b"\x02") == []  # later bytes join the trailing data
    assert shake.trailing_data == EARLY + b"\x81\x02"
    assert shake.receive_eof() == []  # framing's business now
    with pytest.raises(LocalProtocolError):
        shake.accept()
    with pytest.raises(LocalProtocolError):
        shake.reject()


def test_server_handshake_send_events() -> None:
    shake = ServerHandshake()
    shake.receive_data(with_fields(("Sec-WebSocket-Extensions", "permessage-deflate")))
    shake.send(AcceptConnection(deflate=DeflateConfig(server_no_context_takeover=True)))
    assert shake.deflate == DeflateParams(server_no_context_takeover=True)
    assert b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" in (
        shake.data_to_send()
    )
    shake = ServerHandshake()
    shake.receive_data(head())
    shake.send(RejectConnection(401, headers=Headers([("WWW-Authenticate", "Basic")])))
    wire = shake.data_to_send()
    assert status_of(wire) == 401
    assert b"\r\nWWW-Authenticate: Basic\r\n" in wire
    assert shake.state is S.REJECTED
    assert shake.receive_data(EARLY) == []
    assert shake.trailing_data == b""
    with pytest.raises(LocalProtocolError):
        shake.send(HandshakeClosed())


def test_server_handshake_reject_with_body() -> None:
    shake = ServerHandshake()
    shake.receive_data(head())
    shake.reject(403, body=b"no")
    wire = shake.data_to_send()
    assert wire.startswith(b"HTTP/1.1 403 ")
    assert wire.endswith(b"\r\n\r\nno")
    assert b"Content-Length: 2\r\n" in wire


def test_server_handshake_order_of_calls() -> None:
    shake = ServerHandshake()
    with pytest.raises(LocalProtocolError):
        shake.accept()
    with pytest.raises(LocalProtocolError):
        shake.reject(400)
    shake.receive_data(head())
    with pytest.raises(LocalProtocolError):
        shake.accept(subprotocol="not-offered")
    assert shake.state is S.REQUEST_RECEIVED  # a refused accept changes nothing


def test_server_handshake_eof() -> None:
    shake = ServerHandshake()
    assert shake.receive_eof() == [HandshakeClosed()]
    assert shake.state is S.CLOSED
    assert shake.receive_data(head()) == []

    shake = ServerHandshake()
    shake.receive_data(head())
    assert shake.receive_eof() == [HandshakeClosed()]
    assert shake.state is S.CLOSED
    with pytest.raises(LocalProtocolError):
        shake.accept()

    shake = ServerHandshake()
    shake.receive_data(head()[:20])
    with pytest.raises(RemoteProtocolError) as info:
        shake.receive_eof()
    assert info.value.http_status == 400
    assert shake.state is S.FAILED
    assert status_of(shake.data_to_send()) == 400


def test_server_handshake_bad_http_is_answered() -> None:
    shake = ServerHandshake()
    with pytest.raises(RemoteProtocolError) as info:
        shake.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n")
    assert not isinstance(info.value, LocalProtocolError)
    wire = shake.data_to_send()
    assert status_of(wire) == 400
    assert b"Connection: close\r\n" in wire


def _same_events(data: bytes) -> None:
    result = split_feed(ServerHandshake, data)
    assert result.error is None
    [event] = result.events
    assert isinstance(event, HandshakeRequest)


def test_split_feeding_gives_the_same_request() -> None:
    _same_events(head())
    _same_events(head() + EARLY)
    _same_events(with_fields(("Sec-WebSocket-Extensions", "permessage-deflate; a=\"1\"")))


def test_split_feeding_gives_the_same_refusal() -> None:
    for _, data, status in REFUSALS:
        result = split_feed(ServerHandshake, data)
        assert result.events == ()
        assert result.error is not None
        assert result.error[2] == status


def test_split_feeding_keeps_every_early_byte() -> None:
    data = head() + EARLY * 3
    for cut in range(len(data) + 1):
        shake = ServerHandshake()
        shake.receive_data(data[:cut])
        shake.receive_data(data[cut:])
        shake.accept()
        assert shake.trailing_data == EARLY * 3


# -- limits at N and N + 1 ----------------------------------------------------------------------


def test_head_size_limit() -> None:
    data = head()
    def config(size: int) -> HTTP1Config:
        return HTTP1Config(limits=HTTP1Limits(max_header_block_size=size, max_header_name_size=64))

    at = config(len(data))
    assert isinstance(ServerHandshake(config=at).receive_data(data)[0], HandshakeRequest)
    over = config(len(data) - 1)
    shake = ServerHandshake(config=over)
    with pytest.raises(LimitExceeded) as info:
        shake.receive_data(data)
    assert info.value.limit == "max_header_block_size"
    assert status_of(shake.data_to_send()) == 431


def test_early_bytes_limit() -> None:
    bound = 64
    config = HTTP1Config(max_incomplete_event_size=bound)
    shake = ServerHandshake(config=config)
    shake.receive_data(head() + b"x" * bound)
    shake.accept()
    assert shake.trailing_data == b"x" * bound
    for chunks in ([head() + b"x" * (bound + 1)], [head(), b"x" * (bound + 1)]):
        shake = ServerHandshake(config=config)
        # the request comes out first (as it would with the bytes split after it)
        events = [event for chunk in chunks[:-1] for event in shake.receive_data(chunk)]
        try:
            events += shake.receive_data(chunks[-1])
        except LimitExceeded as exc:
            error: LimitExceeded | None = exc
        else:
            error = None
        assert [type(e) for e in events] == [HandshakeRequest]
        assert shake.state is S.FAILED
        with pytest.raises(LocalProtocolError):
            shake.accept()
        if error is None:
            with pytest.raises(LimitExceeded) as info:
                shake.receive_data(b"")
            error = info.value
        assert error.limit == "max_incomplete_event_size"
        assert status_of(shake.data_to_send()) == 400


def test_state_table_is_closed() -> None:
    for (state, _), new in TRANSITIONS.items():
        assert state not in (S.OPEN, S.REJECTED, S.CLOSED, S.FAILED)
        assert isinstance(new, HandshakeState)


# -- interop: their clients against our server --------------------------------------------------


@pytest.mark.parametrize(
    ("client_kwargs", "server_config"),
    [
        ({}, DeflateConfig()),
        ({}, None),
        ({"server_no_context_takeover": True, "client_no_context_takeover": True}, DeflateConfig()),
        ({"server_max_window_bits": 10, "client_max_window_bits": True}, DeflateConfig()),
        ({"client_max_window_bits": True}, DeflateConfig(client_max_window_bits=9)),
        ({"client_max_window_bits": 12}, DeflateConfig(server_max_window_bits=11)),
        ({"client_max_window_bits": None}, DeflateConfig(client_max_window_bits=10)),
    ],
)
def test_websockets_client_against_our_server(
    client_kwargs: dict[str, object], server_config: DeflateConfig | None
) -> None:
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.frames import Opcode
    from websockets.protocol import State
    from websockets.uri import parse_uri

    client = ClientProtocol(
        parse_uri("ws://example.com/chat"),
        extensions=[ClientPerMessageDeflateFactory(**client_kwargs)],  # type: ignore[arg-type]
        subprotocols=["chat", "superchat"],  # type: ignore[list-item]
    )
    client.send_request(client.connect())
    shake = ServerHandshake()
    [event] = shake.receive_data(b"".join(client.data_to_send()))
    assert isinstance(event, HandshakeRequest)
    assert event.request.subprotocols == ("chat", "superchat")
    shake.accept(subprotocol="superchat", deflate=server_config)
    client.receive_data(shake.data_to_send())
    assert client.handshake_exc is None
    assert client.state is State.OPEN
    assert client.subprotocol == "superchat"
    params = shake.deflate
    if params is None:
        assert client.extensions == []
    else:
        [ext] = client.extensions
        assert ext.remote_max_window_bits == params.server_max_window_bits  # type: ignore[attr-defined]
        assert ext.local_max_window_bits == params.client_max_window_bits  # type: ignore[attr-defined]
        assert ext.remote_no_context_takeover == params.server_no_context_takeover  # type: ignore[attr-defined]
    # the client's first frame, fed to the handshake, is the trailing data
    client.send_text(b"hello")
    frame = b"".join(client.data_to_send())
    shake.receive_data(frame)
    assert shake.trailing_data == frame
    assert frame[0] & 0x0F == Opcode.TEXT


def test_websockets_client_sees_our_refusals() -> None:
    from websockets.client import ClientProtocol
    from websockets.exceptions import InvalidStatus
    from websockets.uri import parse_uri

    client = ClientProtocol(parse_uri("ws://example.com/chat"))
    client.send_request(client.connect())
    request = b"".join(client.data_to_send()).replace(b"Version: 13", b"Version: 12")
    shake = ServerHandshake()
    with pytest.raises(HandshakeError):
        shake.receive_data(request)
    client.receive_data(shake.data_to_send())
    assert isinstance(client.handshake_exc, InvalidStatus)
    assert client.handshake_exc.response.status_code == 426


@pytest.mark.parametrize(
    ("ext_kwargs", "server_config"),
    [
        ({}, DeflateConfig()),
        ({"client_no_context_takeover": True, "server_no_context_takeover": True},
         DeflateConfig()),
        ({"client_max_window_bits": 9, "server_max_window_bits": 10},
         DeflateConfig(server_max_window_bits=12)),
        ({}, None),
    ],
)
def test_wsproto_client_against_our_server(
    ext_kwargs: dict[str, object], server_config: DeflateConfig | None
) -> None:
    from wsproto import ConnectionType, WSConnection
    from wsproto.connection import ConnectionState
    from wsproto.events import AcceptConnection as WAccept
    from wsproto.events import Request as WRequest
    from wsproto.events import TextMessage
    from wsproto.extensions import PerMessageDeflate

    ext = PerMessageDeflate(**ext_kwargs)  # type: ignore[arg-type]
    client = WSConnection(ConnectionType.CLIENT)
    wire = client.send(
        WRequest(host="example.com", target="/chat", subprotocols=["chat"], extensions=[ext])
    )
    shake = ServerHandshake()
    [event] = shake.receive_data(wire)
    assert isinstance(event, HandshakeRequest)
    shake.accept(subprotocol="chat", deflate=server_config)
    client.receive_data(shake.data_to_send())
    [accepted] = list(client.events())
    assert isinstance(accepted, WAccept)
    assert client.state is ConnectionState.OPEN
    assert accepted.subprotocol == "chat"
    params = shake.deflate
    if params is None:
        assert not ext.enabled()
    else:
        assert ext.enabled()
        assert ext.server_max_window_bits == params.server_max_window_bits
        assert ext.client_max_window_bits == params.client_max_window_bits
        assert ext.server_no_context_takeover == params.server_no_context_takeover
    frame = client.send(TextMessage("hi"))
    shake.receive_data(frame)
    assert shake.trailing_data == frame


# -- arbitrary input ----------------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_sockit_errors(data: bytes) -> None:
    shake = ServerHandshake()
    try:
        shake.receive_data(data)
        shake.receive_eof()
    except SockitError as exc:
        assert isinstance(exc, RemoteProtocolError)
        assert shake.state is S.FAILED


_PIECES = st.sampled_from(
    [b"\r\n", b": ", b",", b";", b" ", b"GET / HTTP/1.1", b"Host: a", b"Upgrade: websocket",
     b"Connection: upgrade", b"Sec-WebSocket-Key: " + KEY.encode(), b"Sec-WebSocket-Version: 13",
     b"Sec-WebSocket-Extensions: ", b"permessage-deflate", b"server_max_window_bits=",
     b"Sec-WebSocket-Protocol: ", b"chat", b"Origin: x", b"\x00", b"\x81\x85", b"=", b'"']
)


@given(st.lists(_PIECES, max_size=40).map(b"".join), st.integers(0, 400))
def test_request_like_bytes_split_anywhere(data: bytes, cut: int) -> None:
    outcomes = []
    for chunks in ([data], [data[:cut], data[cut:]]):
        shake = ServerHandshake()
        events: list[object] = []
        error: tuple[type, int | None] | None = None
        try:
            for chunk in chunks:
                events.extend(shake.receive_data(chunk))
            if shake.state is S.REQUEST_RECEIVED:
                shake.accept(deflate=DeflateConfig())
        except SockitError as exc:
            assert isinstance(exc, RemoteProtocolError)
            error = (type(exc), exc.http_status)
        outcomes.append((events, error, shake.state, shake.trailing_data))
    assert outcomes[0] == outcomes[1]
