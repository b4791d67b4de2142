"""The server's WebSocket side, with the ``websockets`` library and websocat as peers."""

from __future__ import annotations

import http.client
import subprocess
import threading
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed as WSClosed
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from sockit.limits import WSLimits
from sockit.server import HTTPServer, Response, ServerRequest, make_app
from tests.server.harness import running
from tests.support.peers import require_program


def chat_app(request: ServerRequest) -> Response | None:
    """/ws/echo from make_app, plus /ws/proto (subprotocols) and /ws/bye (server closes)."""
    if request.path == "/ws/proto":
        offered = request.websocket_subprotocols
        ws = request.accept_websocket("chat.v2" if "chat.v2" in offered else None)
        ws.send(f"proto={ws.subprotocol}")
        ws.close(1000, "done")
        return None
    if request.path == "/ws/bye":
        ws = request.accept_websocket(compression=False)

        def bye() -> None:
            first = ws.recv(timeout=10)
            ws.send(f"bye {first!r}")
            ws.close(4000, "the server is done")

        threading.Thread(target=bye, daemon=True).start()
        return None
    if request.path in ("/ws/proto-less", "/ws/plain-echo"):  # an echo with the server's limits
        ws = request.accept_websocket()
        threading.Thread(target=lambda: [ws.send(m) for m in ws], daemon=True).start()
        return None
    return make_app(None)(request)


@pytest.fixture
def srv() -> Iterator[HTTPServer]:
    with running(chat_app) as server:
        yield server


def ws_url(server: HTTPServer, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


@pytest.mark.parametrize("compression", ["deflate", None])
def test_echo_text_and_binary_with_and_without_compression(
    srv: HTTPServer, compression: str | None
) -> None:
    with connect(ws_url(srv, "/ws/echo"), compression=compression, max_size=None) as ws:
        for message in ["hello", "ünïcödé ✓", "", "x" * 100_000]:
            ws.send(message)
            assert ws.recv(timeout=10) == message
        for blob in [b"", b"\x00\xff" * 10, bytes(range(256)) * 2000]:
            ws.send(blob)
            assert ws.recv(timeout=10) == blob
        ws.send(["frag", "mented ", "text"])  # one message in three frames
        assert ws.recv(timeout=10) == "fragmented text"
        pong = ws.ping(b"are you there")
        assert pong.wait(10)
        negotiated = ws.response.headers.get("Sec-WebSocket-Extensions")
        assert (negotiated is not None) == (compression is not None)


def test_subprotocol_negotiation_and_server_close(srv: HTTPServer) -> None:
    with connect(ws_url(srv, "/ws/proto"), subprotocols=["chat.v1", "chat.v2"]) as ws:
        assert ws.subprotocol == "chat.v2"
        assert ws.recv(timeout=10) == "proto=chat.v2"
        with pytest.raises(WSClosed) as info:
            ws.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1000


def test_server_side_close_code_and_reason(srv: HTTPServer) -> None:
    with connect(ws_url(srv, "/ws/bye")) as ws:
        ws.send("hi")
        assert ws.recv(timeout=10) == "bye 'hi'"
        with pytest.raises(WSClosed) as info:
            ws.recv(timeout=10)
    rcvd = info.value.rcvd
    assert rcvd is not None and (rcvd.code, rcvd.reason) == (4000, "the server is done")


def test_plain_get_on_a_websocket_route_is_426(srv: HTTPServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        conn.request("GET", "/ws/echo")
        response = conn.getresponse()
        assert response.status == 426
        assert response.getheader("Upgrade") == "websocket"
    finally:
        conn.close()


def test_http_server_refuses_a_websocket_to_a_non_websocket_route(srv: HTTPServer) -> None:
    with pytest.raises(InvalidStatus) as info, connect(ws_url(srv, "/hello")):
        pass
    assert info.value.response.status_code == 200  # answered as plain HTTP: no upgrade


def test_message_over_the_limit_closes_1009() -> None:
    limits = WSLimits(max_message_size=1000)
    with running(chat_app, websocket=limits) as server, connect(
        ws_url(server, "/ws/proto-less"), compression=None
    ) as ws:
        ws.send("x" * 1000)
        assert ws.recv(timeout=10) == "x" * 1000
        ws.send("y" * 1001)
        with pytest.raises(WSClosed) as info:
            ws.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


def test_compression_bomb_closes_1009_with_bounded_memory() -> None:
    """16 MB of zeros deflates to about 16 KB: the server must refuse it past its cap."""
    limits = WSLimits(max_message_size=1_000_000)
    with running(chat_app, websocket=limits) as server, connect(
        ws_url(server, "/ws/plain-echo"), compression="deflate", max_size=None
    ) as ws:
        ws.send(bytes(16_000_000))
        with pytest.raises(WSClosed) as info:
            ws.recv(timeout=30)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


def test_many_clients_at_once(srv: HTTPServer) -> None:
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            with connect(ws_url(srv, "/ws/echo")) as ws:
                for i in range(20):
                    ws.send(f"{n}:{i}")
                    assert ws.recv(timeout=10) == f"{n}:{i}"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


def test_server_close_sends_going_away() -> None:
    server = HTTPServer("127.0.0.1", 0)
    from sockit.server import run

    thread = threading.Thread(target=run, args=(server, chat_app))
    thread.start()
    try:
        with connect(ws_url(server, "/ws/echo")) as ws:
            ws.send("before")
            assert ws.recv(timeout=10) == "before"
            server.stop()
            thread.join(10)
            closer = threading.Thread(target=server.close, kwargs={"grace": 2.0})
            closer.start()
            with pytest.raises(WSClosed) as info:
                ws.recv(timeout=10)
            closer.join(10)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    finally:
        server.stop()
        thread.join(10)
        server.close()


def test_websocat_echo(srv: HTTPServer) -> None:
    websocat = require_program("websocat")
    proc = subprocess.run([websocat, "-1", ws_url(srv, "/ws/echo")], input="hello websocat\n",
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello websocat\n"
