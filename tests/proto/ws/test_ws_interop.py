"""Interop in memory with wsproto and websockets' sans-I/O layer, both roles, with compression.

Each peer is wrapped in a small adapter that speaks normalized events:
``("text", str)``, ``("bytes", bytes)``, ``("ping", payload)``, ``("pong",
payload)``, ``("close", code, reason)``. The permessage-deflate extension of
each peer is built directly with the same parameters our side uses (no
handshake). Both peers refuse 8-bit windows for compressing, so the
parameter sets stay within 9..15.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from sockit.proto.events import Event, Role
from sockit.proto.ws import (
    BytesMessage,
    CloseConnection,
    Connection,
    ConnectionState,
    MessageFragment,
    Ping,
    Pong,
    TextMessage,
)
from sockit.proto.ws.extensions import DeflateParams
from tests.proto.ws.ws_helpers import masks

wsproto = pytest.importorskip("wsproto")
websockets = pytest.importorskip("websockets")

from websockets.extensions.permessage_deflate import (  # noqa: E402
    PerMessageDeflate as WebsocketsDeflate,
)
from websockets.frames import Opcode as WsOpcode  # noqa: E402
from websockets.protocol import Protocol, Side  # noqa: E402
from wsproto import events as wev  # noqa: E402
from wsproto.connection import Connection as WsprotoConnection  # noqa: E402
from wsproto.connection import ConnectionType  # noqa: E402
from wsproto.extensions import PerMessageDeflate as WsprotoDeflate  # noqa: E402

Norm = tuple[Any, ...]
RNG = random.Random(2024)
SIZES = [0, 1, 125, 126, 1000, 65535, 65536, 300_000]
PARAMS: list[DeflateParams | None] = [
    None,
    DeflateParams(),
    DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True),
    DeflateParams(server_max_window_bits=10, client_max_window_bits=12),
    DeflateParams(client_no_context_takeover=True, server_max_window_bits=9),
]


def messages() -> list[Norm]:
    out: list[Norm] = []
    for i, size in enumerate(SIZES):
        if i % 2:
            out.append(("bytes", RNG.randbytes(size)))
        else:
            out.append(("text", "".join(RNG.choice("aé€😀 ") for _ in range(size // 3))))
    return out


class WsprotoPeer:
    """wsproto in the role opposite ours."""

    def __init__(self, role: Role, params: DeflateParams | None) -> None:
        extensions = []
        if params is not None:
            ext = WsprotoDeflate(
                client_no_context_takeover=params.client_no_context_takeover,
                client_max_window_bits=params.client_max_window_bits,
                server_no_context_takeover=params.server_no_context_takeover,
                server_max_window_bits=params.server_max_window_bits,
            )
            ext.finalize("permessage-deflate")
            extensions.append(ext)
        kind = ConnectionType.CLIENT if role is Role.CLIENT else ConnectionType.SERVER
        self.conn = WsprotoConnection(kind, extensions=extensions)
        self.out = b""
        self.parts: list[Any] = []

    def send_message(self, msg: Norm, pieces: int = 1) -> None:
        kind, data = msg
        cls = wev.TextMessage if kind == "text" else wev.BytesMessage
        step = max(1, -(-len(data) // pieces))
        chunks = [data[i : i + step] for i in range(0, len(data), step)] or [data]
        for i, chunk in enumerate(chunks):
            self.out += self.conn.send(cls(data=chunk, message_finished=i == len(chunks) - 1))

    def ping(self, payload: bytes) -> None:
        self.out += self.conn.send(wev.Ping(payload=payload))

    def close(self, code: int, reason: str) -> None:
        self.out += self.conn.send(wev.CloseConnection(code=code, reason=reason))

    def take(self) -> bytes:
        out, self.out = self.out, b""
        return out

    def feed(self, data: bytes) -> list[Norm]:
        self.conn.receive_data(data)
        got: list[Norm] = []
        for ev in self.conn.events():
            if isinstance(ev, wev.Message):
                self.parts.append(ev.data)
                if ev.message_finished:
                    kind = "text" if isinstance(ev, wev.TextMessage) else "bytes"
                    joined = "".join(self.parts) if kind == "text" else b"".join(self.parts)
                    got.append((kind, joined))
                    self.parts = []
            elif isinstance(ev, wev.Ping):
                got.append(("ping", ev.payload))
                self.out += self.conn.send(ev.response())
            elif isinstance(ev, wev.Pong):
                got.append(("pong", ev.payload))
            elif isinstance(ev, wev.CloseConnection):
                got.append(("close", ev.code, ev.reason or ""))
                if self.conn.state.name == "REMOTE_CLOSING":
                    self.out += self.conn.send(ev.response())
        return got


class WebsocketsPeer:
    """websockets' sans-I/O Protocol in the role opposite ours."""

    def __init__(self, role: Role, params: DeflateParams | None) -> None:
        side = Side.CLIENT if role is Role.CLIENT else Side.SERVER
        self.proto = Protocol(side, max_size=None)
        if params is not None:
            p = params
            if role is Role.SERVER:
                ext = WebsocketsDeflate(p.client_no_context_takeover, p.server_no_context_takeover,
                                        p.client_max_window_bits, p.server_max_window_bits)
            else:
                ext = WebsocketsDeflate(p.server_no_context_takeover, p.client_no_context_takeover,
                                        p.server_max_window_bits, p.client_max_window_bits)
            self.proto.extensions = [ext]
        self.kind = ""
        self.parts: list[bytes] = []

    def send_message(self, msg: Norm, pieces: int = 1) -> None:
        kind, data = msg
        raw = data.encode() if kind == "text" else data
        step = max(1, -(-len(raw) // pieces))
        chunks = [raw[i : i + step] for i in range(0, len(raw), step)] or [raw]
        for i, chunk in enumerate(chunks):
            fin = i == len(chunks) - 1
            if i:
                self.proto.send_continuation(chunk, fin)
            elif kind == "text":
                self.proto.send_text(chunk, fin)
            else:
                self.proto.send_binary(chunk, fin)

    def ping(self, payload: bytes) -> None:
        self.proto.send_ping(payload)

    def close(self, code: int, reason: str) -> None:
        self.proto.send_close(code, reason)

    def take(self) -> bytes:
        return b"".join(self.proto.data_to_send())

    def feed(self, data: bytes) -> list[Norm]:
        self.proto.receive_data(data)
        got: list[Norm] = []
        for frame in self.proto.events_received():
            op = frame.opcode
            if op in (WsOpcode.TEXT, WsOpcode.BINARY, WsOpcode.CONT):
                if op != WsOpcode.CONT:
                    self.kind = "text" if op == WsOpcode.TEXT else "bytes"
                self.parts.append(bytes(frame.data))
                if frame.fin:
                    raw = b"".join(self.parts)
                    got.append((self.kind, raw.decode() if self.kind == "text" else raw))
                    self.parts = []
            elif op == WsOpcode.PING:
                got.append(("ping", bytes(frame.data)))
            elif op == WsOpcode.PONG:
                got.append(("pong", bytes(frame.data)))
            elif op == WsOpcode.CLOSE:
                close = self.proto.close_rcvd
                assert close is not None
                got.append(("close", close.code, close.reason))
        return got


PEERS = {"wsproto": WsprotoPeer, "websockets": WebsocketsPeer}


def ours(role: Role, params: DeflateParams | None) -> Connection:
    return Connection(role, deflate=params, mask_source=masks())


def normalize(events: list[Event]) -> list[Norm]:
    out: list[Norm] = []
    for ev in events:
        if isinstance(ev, TextMessage):
            out.append(("text", ev.data))
        elif isinstance(ev, BytesMessage):
            out.append(("bytes", ev.data))
        elif isinstance(ev, Ping):
            out.append(("ping", ev.payload))
        elif isinstance(ev, Pong):
            out.append(("pong", ev.payload))
        elif isinstance(ev, CloseConnection):
            out.append(("close", ev.code, ev.reason))
        else:
            raise AssertionError(f"unexpected {ev!r}")
    return out


def feed_in_pieces(conn: Connection, data: bytes, seed: int) -> list[Event]:
    rng = random.Random(seed)
    events: list[Event] = []
    pos = 0
    while pos < len(data):
        step = rng.choice([1, 7, 100, 4096, 70000, len(data)])
        events += conn.receive_data(data[pos : pos + step])
        pos += step
    return events


ROLES = [Role.SERVER, Role.CLIENT]
ids = ["plain", "deflate", "no-context", "windows", "mixed"]


@pytest.mark.parametrize("peer_name", PEERS)
@pytest.mark.parametrize("role", ROLES, ids=["we-serve", "we-connect"])
@pytest.mark.parametrize("params", PARAMS, ids=ids)
def test_messages_both_directions(peer_name: str, role: Role, params: DeflateParams | None) -> None:
    us = ours(role, params)
    peer = PEERS[peer_name](role.peer, params)
    batch = messages()
    for i, msg in enumerate(batch):
        peer.send_message(msg, pieces=1 + i % 3)
    assert normalize(feed_in_pieces(us, peer.take(), seed=len(batch))) == batch
    for i, (kind, data) in enumerate(batch):
        if i % 2:
            us.send(TextMessage(data) if kind == "text" else BytesMessage(data))
        else:
            half = len(data) // 2
            us.send(MessageFragment(data[:half], kind == "text", False))
            us.send(MessageFragment(data[half:], kind == "text", True))
    assert peer.feed(us.data_to_send()) == batch


@pytest.mark.parametrize("peer_name", PEERS)
@pytest.mark.parametrize("role", ROLES, ids=["we-serve", "we-connect"])
def test_ping_pong_both_ways(peer_name: str, role: Role) -> None:
    us = ours(role, None)
    peer = PEERS[peer_name](role.peer, None)
    peer.ping(b"from peer")
    assert normalize(us.receive_data(peer.take())) == [("ping", b"from peer")]
    assert peer.feed(us.data_to_send()) == [("pong", b"from peer")]
    us.ping(b"\x00from us", now=1.0)
    assert peer.feed(us.data_to_send()) == [("ping", b"\x00from us")]
    assert us.next_deadline() is not None
    assert normalize(us.receive_data(peer.take())) == [("pong", b"\x00from us")]
    assert us.next_deadline() is None


@pytest.mark.parametrize("peer_name", PEERS)
@pytest.mark.parametrize("role", ROLES, ids=["we-serve", "we-connect"])
@pytest.mark.parametrize("params", [None, DeflateParams()], ids=["plain", "deflate"])
def test_peer_closes(peer_name: str, role: Role, params: DeflateParams | None) -> None:
    us = ours(role, params)
    peer = PEERS[peer_name](role.peer, params)
    peer.send_message(("text", "last words"))
    peer.close(4001, "done")
    assert normalize(us.receive_data(peer.take())) == [("text", "last words"),
                                                         ("close", 4001, "done")]
    assert us.state is ConnectionState.CLOSED
    assert peer.feed(us.data_to_send()) == [("close", 4001, "")]


@pytest.mark.parametrize("peer_name", PEERS)
@pytest.mark.parametrize("role", ROLES, ids=["we-serve", "we-connect"])
def test_we_close(peer_name: str, role: Role) -> None:
    us = ours(role, None)
    peer = PEERS[peer_name](role.peer, None)
    us.send(BytesMessage(b"bye"))
    us.send(CloseConnection(1001, "going away"))
    assert us.state is ConnectionState.LOCAL_CLOSING
    assert peer.feed(us.data_to_send()) == [("bytes", b"bye"), ("close", 1001, "going away")]
    # both peers echo the code and the reason
    assert normalize(us.receive_data(peer.take())) == [("close", 1001, "going away")]
    assert us.data_to_send() == b""
    assert us.state is ConnectionState.CLOSED
