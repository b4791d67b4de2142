"""The client side of the opening handshake: the request, the checks of the 101, refusals.

The RFC 6455 §1.3 key (``key_source`` returning "the sample nonce"), every
validation failure, refusals with their bounded bodies (N and N + 1),
frames after the 101 kept as trailing_data, split feeding, our client
against websockets' ServerProtocol and wsproto's server (permessage-deflate
included), and arbitrary bytes.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError, SockitError
from sockit.limits import HTTP1Limits
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import HTTP1Config
from sockit.proto.ws.errors import HandshakeError
from sockit.proto.ws.extensions import DeflateConfig, DeflateParams
from sockit.proto.ws.handshake import (
    HandshakeAccepted,
    HandshakeClosed,
    HandshakeRejected,
    HandshakeState,
)
from sockit.proto.ws.handshake_client import ClientHandshake
from tests.support.feeding import split_feed

NONCE = b"the sample nonce"
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
S = HandshakeState
OK_101 = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Accept", ACCEPT),
]
# an unmasked text frame "Hello" (RFC 6455 §5.7), sent right after the 101
FRAME = bytes.fromhex("810548656c6c6f")


def make(**kwargs: object) -> ClientHandshake:
    kwargs.setdefault("key_source", lambda n: NONCE)
    kwargs.setdefault("subprotocols", ("chat", "superchat"))
    return ClientHandshake("server.example.com", "/chat", **kwargs)  # type: ignore[arg-type]


def response(
    fields: list[tuple[str, str]] | None = None,
    *,
    status: int = 101,
    version: str = "1.1",
    drop: tuple[str, ...] = (),
    body: bytes = b"",
) -> bytes:
    fields = [f for f in (OK_101 if fields is None else fields) if f[0] not in drop]
    lines = [f"HTTP/{version} {status} X", *(f"{n}: {v}" for n, v in fields)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def ok_with(*extra: tuple[str, str], drop: tuple[str, ...] = ()) -> bytes:
    names = {n.lower() for n, _ in extra} | {d.lower() for d in drop}
    return response([f for f in OK_101 if f[0].lower() not in names] + list(extra))


# -- the request ------------------------------------------------------------------------


def test_request_rfc6455_example() -> None:
    shake = make(origin="http://example.com")
    assert shake.key == KEY
    assert shake.state is S.CONNECTING
    assert shake.data_to_send() == (
        b"GET /chat HTTP/1.1\r\n"
        b"Host: server.example.com\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Protocol: chat, superchat\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        b"Origin: http://example.com\r\n"
        b"\r\n"
    )
    assert shake.data_to_send() == b""
    assert shake.next_deadline() is None
    assert shake.handle_timeout(1.0) == []
    assert shake.trailing_data == b""


@pytest.mark.parametrize(
    ("kwargs", "present", "absent"),
    [
        ({"deflate": None, "subprotocols": ()}, [],
         [b"Sec-WebSocket-Extensions", b"Sec-WebSocket-Protocol", b"Origin"]),
        ({"deflate": DeflateConfig(enabled=False)}, [], [b"Sec-WebSocket-Extensions"]),
        ({"deflate": DeflateConfig(server_no_context_takeover=True, server_max_window_bits=10)},
         [b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover;"
          b" server_max_window_bits=10; client_max_window_bits\r\n"], []),
        ({"extra_headers": {"Authorization": "Bearer x", "User-Agent": "t"}},
         [b"Authorization: Bearer x\r\n", b"User-Agent: t\r\n"], []),
        ({"subprotocols": ["only"]}, [b"Sec-WebSocket-Protocol: only\r\n"], []),
    ],
)
def test_request_options(
    kwargs: dict[str, object], present: list[bytes], absent: list[bytes]
) -> None:
    wire = make(**kwargs).data_to_send()
    for part in present:
        assert part in wire
    for part in absent:
        assert part not in wire


def test_random_keys_differ() -> None:
    keys = {ClientHandshake("a", "/").key for _ in range(8)}
    assert len(keys) == 8
    assert all(len(key) == 24 for key in keys)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": ""},
        {"path": "chat"},
        {"path": ""},
        {"path": "/a b"},
        {"subprotocols": ["a b"]},
        {"subprotocols": [""]},
        {"subprotocols": ["x,y"]},
        {"key_source": lambda n: b"short"},
        {"extra_headers": {"Sec-WebSocket-Key": "x"}},
        {"extra_headers": {"host": "x"}},
        {"extra_headers": {"Connection": "close"}},
        {"extra_headers": {"Bad Name": "x"}},
        {"origin": "a\r\nb"},
        {"max_refusal_body": -1},
    ],
)
def test_constructor_refuses_bad_arguments(kwargs: dict[str, object]) -> None:
    host = kwargs.pop("host", "example.com")
    path = kwargs.pop("path", "/")
    with pytest.raises(LocalProtocolError):
        ClientHandshake(host, path, **kwargs)  # type: ignore[arg-type]


def test_send_is_refused() -> None:
    with pytest.raises(LocalProtocolError):
        make().send(HandshakeClosed())


# -- the 101 ---------------------------------------------------------------------------------


def test_valid_101_and_trailing_frames() -> None:
    shake = make()
    shake.data_to_send()
    wire = ok_with(("Sec-WebSocket-Protocol", "superchat"),
                   ("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover"))
    events = shake.receive_data(wire + FRAME)
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, HandshakeAccepted)
    assert event.subprotocol == "superchat"
    assert event.deflate == DeflateParams(server_no_context_takeover=True)
    assert event.headers["sec-websocket-accept"] == ACCEPT
    assert shake.state is S.OPEN
    assert shake.subprotocol == "superchat"
    assert shake.deflate == event.deflate
    assert shake.trailing_data == FRAME
    assert shake.receive_data(b"\x88\x00") == []
    assert shake.trailing_data == FRAME + b"\x88\x00"
    assert shake.receive_eof() == []


@pytest.mark.parametrize(
    "wire",
    [
        response(),
        ok_with(("Upgrade", "WebSocket")),
        ok_with(("Connection", "keep-alive, upgrade")),
        ok_with(("Sec-WebSocket-Extensions", "")),
        response([*OK_101, ("Date", "x")]),
        response([], status=100) + response(),
    ],
)
def test_accepted_variants(wire: bytes) -> None:
    [event] = make().receive_data(wire)
    assert isinstance(event, HandshakeAccepted)
    assert event.subprotocol is None
    assert event.deflate is None


FAILURES = [
    ("HTTP/1.0", response(version="1.0")),
    ("no Upgrade", ok_with(drop=("Upgrade",))),
    ("Upgrade h2c", ok_with(("Upgrade", "h2c"))),
    ("Upgrade list", ok_with(("Upgrade", "websocket, h2c"))),
    ("two Upgrade", response([*OK_101, ("Upgrade", "websocket")])),
    ("no Connection", ok_with(drop=("Connection",))),
    ("Connection close", ok_with(("Connection", "close"))),
    ("no Accept", ok_with(drop=("Sec-WebSocket-Accept",))),
    ("wrong Accept", ok_with(("Sec-WebSocket-Accept", "x3JJHMbDL1EzLkh9GBhXDw=="))),
    ("two Accept", response([*OK_101, ("Sec-WebSocket-Accept", ACCEPT)])),
    ("Accept case", ok_with(("Sec-WebSocket-Accept", ACCEPT.lower()))),
    ("protocol not offered", ok_with(("Sec-WebSocket-Protocol", "other"))),
    ("two protocols", ok_with(("Sec-WebSocket-Protocol", "chat, superchat"))),
    ("protocol lines", response([*OK_101, ("Sec-WebSocket-Protocol", "chat"),
                                ("Sec-WebSocket-Protocol", "chat")])),
    ("protocol non-token", ok_with(("Sec-WebSocket-Protocol", "a b"))),
    ("extension not offered", ok_with(("Sec-WebSocket-Extensions", "x-webkit-deflate-frame"))),
    ("extension twice", ok_with(("Sec-WebSocket-Extensions",
                                 "permessage-deflate, permessage-deflate"))),
    ("bad deflate param", ok_with(("Sec-WebSocket-Extensions", "permessage-deflate; x"))),
    ("bad window", ok_with(("Sec-WebSocket-Extensions",
                            "permessage-deflate; server_max_window_bits=7"))),
    ("bare client window", ok_with(("Sec-WebSocket-Extensions",
                                    "permessage-deflate; client_max_window_bits"))),
    ("malformed extensions", ok_with(("Sec-WebSocket-Extensions", "permessage-deflate;"))),
]


@pytest.mark.parametrize(("why", "wire"), FAILURES, ids=[f[0] for f in FAILURES])
def test_invalid_101_fails(why: str, wire: bytes) -> None:
    shake = make()
    with pytest.raises(HandshakeError) as info:
        shake.receive_data(wire + FRAME)
    assert info.value.http_status is None
    assert shake.state is S.FAILED
    assert shake.trailing_data == b""
    with pytest.raises(HandshakeError):
        shake.receive_data(b"")
    with pytest.raises(HandshakeError):
        shake.receive_eof()


@pytest.mark.parametrize(("why", "wire"), FAILURES, ids=[f[0] for f in FAILURES])
def test_invalid_101_fails_however_split(why: str, wire: bytes) -> None:
    result = split_feed(make, wire + FRAME)
    assert result.events == ()
    assert result.error is not None
    assert result.error[0] is HandshakeError


def test_no_subprotocol_offered_none_accepted() -> None:
    shake = make(subprotocols=())
    with pytest.raises(HandshakeError):
        shake.receive_data(ok_with(("Sec-WebSocket-Protocol", "chat")))


def test_extension_when_deflate_not_offered() -> None:
    for deflate in (None, DeflateConfig(enabled=False)):
        shake = make(deflate=deflate)
        with pytest.raises(HandshakeError):
            shake.receive_data(ok_with(("Sec-WebSocket-Extensions", "permessage-deflate")))


def test_deflate_response_checked_against_our_offer() -> None:
    config = DeflateConfig(server_max_window_bits=10, client_max_window_bits=12)
    [event] = make(deflate=config).receive_data(
        ok_with(("Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=9"))
    )
    assert isinstance(event, HandshakeAccepted)
    assert event.deflate == DeflateParams(server_max_window_bits=9, client_max_window_bits=12)
    with pytest.raises(HandshakeError):
        make(deflate=config).receive_data(
            ok_with(("Sec-WebSocket-Extensions", "permessage-deflate"))
        )


def test_split_feeding_gives_the_same_acceptance() -> None:
    wire = ok_with(("Sec-WebSocket-Protocol", "chat"),
                   ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits=9"))
    data = wire + FRAME * 2
    result = split_feed(make, data)
    assert result.error is None
    [event] = result.events
    assert isinstance(event, HandshakeAccepted)
    for cut in range(len(data) + 1):
        shake = make()
        shake.receive_data(data[:cut])
        shake.receive_data(data[cut:])
        assert shake.trailing_data == FRAME * 2


def test_response_head_limit() -> None:
    wire = response()

    def config(size: int) -> HTTP1Config:
        return HTTP1Config(limits=HTTP1Limits(max_header_block_size=size, max_header_name_size=64))

    [event] = make(config=config(len(wire))).receive_data(wire)
    assert isinstance(event, HandshakeAccepted)
    shake = make(config=config(len(wire) - 1))
    with pytest.raises(LimitExceeded):
        shake.receive_data(wire)
    assert shake.state is S.FAILED


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "status", "body"),
    [
        (response([("Content-Length", "6")], status=403, body=b"denied"), 403, b"denied"),
        (response([("Transfer-Encoding", "chunked")], status=400,
                  body=b"3\r\nbad\r\n4\r\n req\r\n0\r\n\r\n"), 400, b"bad req"),
        (response([("Content-Length", "0")], status=426), 426, b""),
        (response([], status=204), 204, b""),
        (response([], status=100) + response(
            [("Content-Length", "2")], status=401, body=b"no"), 401, b"no"),
        (response([("Content-Length", "2")], status=302, version="1.0", body=b"go"), 302, b"go"),
    ],
)
def test_refusal_with_body(wire: bytes, status: int, body: bytes) -> None:
    result = split_feed(make, wire)
    assert result.error is None
    [event] = result.events
    assert isinstance(event, HandshakeRejected)
    assert (event.status_code, event.body) == (status, body)
    shake = make()
    shake.receive_data(wire)
    assert shake.state is S.REJECTED
    assert shake.receive_data(FRAME) == []
    assert shake.receive_eof() == []
    assert shake.trailing_data == b""


def test_refusal_body_read_until_close() -> None:
    shake = make()
    assert shake.receive_data(response([], status=503, body=b"busy")) == []
    assert shake.state is S.READING_REFUSAL
    assert shake.receive_data(b" now") == []
    [event] = shake.receive_eof()
    assert isinstance(event, HandshakeRejected)
    assert event.body == b"busy now"
    assert shake.state is S.REJECTED


def test_refusal_cut_short_still_stands() -> None:
    shake = make()
    assert shake.receive_data(response([("Content-Length", "10")], status=403, body=b"abc")) == []
    [event] = shake.receive_eof()
    assert isinstance(event, HandshakeRejected)
    assert (event.status_code, event.body) == (403, b"abc")


def test_refusal_with_a_broken_chunked_body() -> None:
    wire = response([("Transfer-Encoding", "chunked")], status=400, body=b"2\r\nab\r\nzz\r\n")
    result = split_feed(make, wire)
    assert result.error is None
    [event] = result.events
    assert isinstance(event, HandshakeRejected)
    assert (event.status_code, event.body) == (400, b"ab")


@pytest.mark.parametrize("bound", [0, 1, 10])
def test_refusal_body_bound(bound: int) -> None:
    body = b"x" * bound
    at = response([("Content-Length", str(bound))], status=403, body=body)
    [event] = make(max_refusal_body=bound).receive_data(at)
    assert isinstance(event, HandshakeRejected)
    assert event.body == body
    # one byte more: the first ``bound`` bytes, reported as soon as they are exceeded
    over = response([("Content-Length", str(bound + 1))], status=403, body=body + b"y")
    result = split_feed(lambda: make(max_refusal_body=bound), over)
    [event] = result.events
    assert isinstance(event, HandshakeRejected)
    assert event.body == body


def test_eof() -> None:
    shake = make()
    assert shake.receive_eof() == [HandshakeClosed()]
    assert shake.state is S.CLOSED
    assert shake.receive_data(response()) == []
    shake = make()
    shake.receive_data(response()[:10])
    with pytest.raises(HandshakeError):
        shake.receive_eof()
    assert shake.state is S.FAILED


def test_garbage_response_fails() -> None:
    shake = make()
    with pytest.raises(RemoteProtocolError):
        shake.receive_data(b"SSH-2.0-OpenSSH\r\n\r\n")
    assert shake.state is S.FAILED


# -- interop: our client against their servers ------------------------------------------------

DEFLATES = [
    (DeflateConfig(), {}),
    (DeflateConfig(), {"server_no_context_takeover": True, "client_no_context_takeover": True}),
    (DeflateConfig(), {"server_max_window_bits": 10, "client_max_window_bits": 11}),
    (DeflateConfig(server_no_context_takeover=True, server_max_window_bits=12), {}),
    (DeflateConfig(client_max_window_bits=10, client_no_context_takeover=True), {}),
    (None, {}),
]


@pytest.mark.parametrize(("config", "server_kwargs"), DEFLATES)
def test_against_websockets_server(
    config: DeflateConfig | None, server_kwargs: dict[str, object]
) -> None:
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
    from websockets.protocol import State
    from websockets.server import ServerProtocol

    server = ServerProtocol(
        extensions=[ServerPerMessageDeflateFactory(**server_kwargs)],  # type: ignore[arg-type]
        subprotocols=["superchat"],  # type: ignore[list-item]
    )
    shake = make(deflate=config)
    server.receive_data(shake.data_to_send())
    [request] = server.events_received()
    server.send_response(server.accept(request))  # type: ignore[arg-type]
    assert server.state is State.OPEN
    server.send_text(b"Hello")
    [event] = shake.receive_data(b"".join(server.data_to_send()))
    assert isinstance(event, HandshakeAccepted)
    assert event.subprotocol == "superchat"
    if config is None:
        assert event.deflate is None
        assert server.extensions == []
        assert shake.trailing_data == FRAME
    else:
        [ext] = server.extensions
        params = event.deflate
        assert params is not None
        assert ext.local_max_window_bits == params.server_max_window_bits  # type: ignore[attr-defined]
        assert ext.remote_max_window_bits <= params.client_max_window_bits  # type: ignore[attr-defined]
        assert ext.local_no_context_takeover == params.server_no_context_takeover  # type: ignore[attr-defined]
        trailing = shake.trailing_data
        assert trailing[0] == 0xC1  # FIN + RSV1 + text: a compressed early frame
        assert len(trailing) == 2 + trailing[1]


def test_websockets_server_refusal() -> None:
    from websockets.server import ServerProtocol

    server = ServerProtocol()
    shake = make()
    server.receive_data(shake.data_to_send())
    server.events_received()
    server.send_response(server.reject(403, "go away\n"))
    events = shake.receive_data(b"".join(server.data_to_send()))
    events += shake.receive_eof()
    [event] = events
    assert isinstance(event, HandshakeRejected)
    assert (event.status_code, event.body) == (403, b"go away\n")


@pytest.mark.parametrize(("config", "server_kwargs"), DEFLATES)
def test_against_wsproto_server(
    config: DeflateConfig | None, server_kwargs: dict[str, object]
) -> None:
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request, TextMessage
    from wsproto.extensions import PerMessageDeflate

    server = WSConnection(ConnectionType.SERVER)
    shake = make(deflate=config)
    server.receive_data(shake.data_to_send())
    [request] = list(server.events())
    assert isinstance(request, Request)
    assert request.subprotocols == ["chat", "superchat"]
    ext = PerMessageDeflate(**server_kwargs)  # type: ignore[arg-type]
    wire = server.send(AcceptConnection(subprotocol="chat", extensions=[ext]))
    wire += server.send(TextMessage("Hello"))
    [event] = shake.receive_data(wire)
    assert isinstance(event, HandshakeAccepted)
    assert event.subprotocol == "chat"
    if config is None:
        assert event.deflate is None
        assert not ext.enabled()
        assert shake.trailing_data == FRAME
    else:
        params = event.deflate
        assert params is not None
        assert ext.enabled()
        # (wsproto compresses with its configured window even when it does not say so)
        assert ext.server_max_window_bits <= params.server_max_window_bits
        assert ext.server_no_context_takeover == params.server_no_context_takeover
        assert shake.trailing_data[0] == 0xC1


def test_wsproto_server_refusal() -> None:
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import RejectConnection, RejectData

    server = WSConnection(ConnectionType.SERVER)
    shake = make()
    server.receive_data(shake.data_to_send())
    list(server.events())
    wire = server.send(RejectConnection(status_code=401, headers=[(b"content-length", b"4")],
                                        has_body=True))
    wire += server.send(RejectData(data=b"auth"))
    [event] = shake.receive_data(wire)
    assert isinstance(event, HandshakeRejected)
    assert (event.status_code, event.body) == (401, b"auth")
    assert isinstance(event.headers, Headers)


# -- arbitrary input -------------------------------------------------------------------------------


@given(st.binary(max_size=300), st.booleans())
def test_arbitrary_bytes_only_raise_sockit_errors(data: bytes, eof: bool) -> None:
    shake = make()
    try:
        shake.receive_data(data)
        if eof:
            shake.receive_eof()
    except SockitError as exc:
        assert isinstance(exc, RemoteProtocolError)
        assert shake.state is S.FAILED


_PIECES = st.sampled_from(
    [b"\r\n", b": ", b",", b";", b" ", b"HTTP/1.1 101 OK", b"HTTP/1.1 403 No", b"HTTP/1.1 100 C",
     b"Upgrade: websocket", b"Connection: upgrade", b"Sec-WebSocket-Accept: " + ACCEPT.encode(),
     b"Sec-WebSocket-Extensions: ", b"permessage-deflate", b"client_max_window_bits=",
     b"Sec-WebSocket-Protocol: ", b"chat", b"Content-Length: 3", b"Transfer-Encoding: chunked",
     b"9", b"abc", b"\x81\x05Hello", b"="]
)


@given(st.lists(_PIECES, max_size=40).map(b"".join), st.integers(0, 400))
def test_response_like_bytes_split_anywhere(data: bytes, cut: int) -> None:
    outcomes = []
    for chunks in ([data], [data[:cut], data[cut:]]):
        shake = make()
        events: list[object] = []
        error: tuple[type, str] | None = None
        try:
            for chunk in chunks:
                events.extend(shake.receive_data(chunk))
            events.extend(shake.receive_eof())
        except SockitError as exc:
            assert isinstance(exc, RemoteProtocolError)
            error = (type(exc), str(exc))
        outcomes.append((events, error, shake.state, shake.trailing_data))
    assert outcomes[0] == outcomes[1]
