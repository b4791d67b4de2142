"""websocket_connect against the ``websockets`` library's server (an independent peer)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from websockets.sync.server import ServerConnection, serve

from sockit import websocket_connect
from sockit.errors import ConnectError, ConnectionClosed, LocalProtocolError, Timeout
from sockit.proto.ws import HandshakeError


def handler(conn: ServerConnection) -> None:
    path = conn.request.path if conn.request is not None else "/"
    if path == "/close":
        conn.close(4001, "as you wish")
        return
    if path == "/silent":
        conn.recv()  # never answers
        return
    for message in conn:
        conn.send(message)


@pytest.fixture(params=["deflate", None])
def peer(request: pytest.FixtureRequest) -> Iterator[str]:
    server = serve(handler, "127.0.0.1", 0, compression=request.param, max_size=None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
    finally:
        server.shutdown()
        thread.join(10)


def test_echo_text_binary_large_and_json(peer: str) -> None:
    with websocket_connect(f"{peer}/echo", timeout=10) as ws:
        ws.send("hello")
        assert ws.recv() == "hello"
        ws.send(b"\x00\x01\xff")
        assert ws.recv() == b"\x00\x01\xff"
        big = bytes(range(256)) * 40_000  # 10 MB
        ws.send(big)
        assert ws.recv(timeout=30) == big
        ws.send_json({"a": [1, 2, "✓"]})
        assert ws.recv_json() == {"a": [1, 2, "✓"]}
        ws.ping(b"x")
        ws.send("after ping")
        assert ws.recv() == "after ping"
    assert ws.close_code == 1000


def test_compression_follows_the_server(peer: str) -> None:
    with websocket_connect(f"{peer}/echo", timeout=10) as ws:
        compressed = ws.compressed
        ws.send("z" * 100_000)
        assert ws.recv() == "z" * 100_000
    with websocket_connect(f"{peer}/echo", compression=False, timeout=10) as plain:
        assert not plain.compressed
    assert isinstance(compressed, bool)


def test_server_close_is_reported(peer: str) -> None:
    with websocket_connect(f"{peer}/close", timeout=10) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv()
        assert (ws.close_code, ws.close_reason) == (4001, "as you wish")
        with pytest.raises(ConnectionClosed):
            ws.send("too late")


def test_recv_timeout(peer: str) -> None:
    with websocket_connect(f"{peer}/silent", timeout=10) as ws, pytest.raises(Timeout):
        ws.recv(timeout=0.2)


def test_iteration_and_threads(peer: str) -> None:
    with websocket_connect(f"{peer}/echo", timeout=10) as ws:
        got: list[str | bytes] = []

        def reader() -> None:
            for message in ws:
                got.append(message)
                if len(got) == 50:
                    return

        t = threading.Thread(target=reader)
        t.start()
        for i in range(50):
            ws.send(f"m{i}")
        t.join(20)
        assert got == [f"m{i}" for i in range(50)]


def test_subprotocol_chosen_by_the_server() -> None:
    server = serve(handler, "127.0.0.1", 0, subprotocols=["beta", "alpha"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.socket.getsockname()[1]
        with websocket_connect(f"ws://127.0.0.1:{port}/", subprotocols=["alpha", "beta"],
                               timeout=10) as ws:
            assert ws.subprotocol in ("alpha", "beta")
            ws.send("x")
            assert ws.recv() == "x"
    finally:
        server.shutdown()
        thread.join(10)


def test_errors() -> None:
    with pytest.raises(LocalProtocolError):
        websocket_connect("http://127.0.0.1:1/")
    with pytest.raises(ConnectError):
        websocket_connect("ws://127.0.0.1:1/", timeout=5)


def test_refusal_has_the_status() -> None:
    def reject(conn: ServerConnection, request: object) -> object:
        return conn.respond(403, "no\n")

    server = serve(handler, "127.0.0.1", 0, process_request=reject)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.socket.getsockname()[1]
        with pytest.raises(HandshakeError) as info:
            websocket_connect(f"ws://127.0.0.1:{port}/", timeout=10)
        assert info.value.http_status == 403
    finally:
        server.shutdown()
        thread.join(10)
