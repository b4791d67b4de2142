"""Graceful drain over HTTP/2 (GOAWAY, seen by the ``h2`` library) and WebSocket (close 1001)."""

from __future__ import annotations

import threading
import time

import hpack
import pytest
from hyperframe.frame import DataFrame, Frame, GoAwayFrame, HeadersFrame
from websockets.exceptions import ConnectionClosed as WSClosed
from websockets.sync.client import connect

from sockit.server import HTTPServer, Response, ServerRequest, make_app, run
from tests.server.rawclient import wait_until
from tests.server.test_server_h2 import H2Peer

TEXT = [("Content-Type", "text/plain")]


def read_frames(peer: H2Peer, until_closed: float = 10.0) -> list[Frame]:
    """Every frame the server sends until it closes, parsed here (not by h2).

    The ``h2`` library treats a received GOAWAY as the end of the connection and
    refuses the frames of streams that legitimately finish after it, so the
    responses after a GOAWAY are read with hyperframe directly.
    """
    peer.sock.settimeout(until_closed)
    data = b""
    while True:
        chunk = peer.sock.recv(65536)
        if not chunk:
            break
        data += chunk
    frames: list[Frame] = []
    while len(data) >= 9:
        frame, length = Frame.parse_frame_header(memoryview(data[:9]))
        frame.parse_body(memoryview(data[9 : 9 + length]))
        frames.append(frame)
        data = data[9 + length :]
    assert data == b""
    return frames


def test_h2_drain_sends_goaway_and_open_streams_finish() -> None:
    gate = threading.Event()
    seen: list[str] = []

    def app(request: ServerRequest) -> Response:
        seen.append(request.path)
        gate.wait(10)
        return Response(200, TEXT, request.path.encode() * 1000)

    server = HTTPServer("127.0.0.1", 0, grace=10.0)
    thread = threading.Thread(target=run, args=(server, app), kwargs={"workers": 4})
    thread.start()
    peer = H2Peer(server.port)
    try:
        first = peer.request("/one")
        second = peer.request("/two")
        assert wait_until(lambda: len(seen) == 2)
        server.drain()
        time.sleep(0.1)
        assert server.draining and server.drain_status().in_flight == 2
        gate.set()
        frames = read_frames(peer)
        goaways = [f for f in frames if isinstance(f, GoAwayFrame)]
        assert len(goaways) == 1
        assert goaways[0].error_code == 0 and goaways[0].last_stream_id == second
        decoder = hpack.Decoder()
        statuses: dict[int, bytes] = {}
        bodies: dict[int, bytes] = {first: b"", second: b""}
        ended: set[int] = set()
        for frame in frames:
            if isinstance(frame, HeadersFrame):
                statuses[frame.stream_id] = dict(decoder.decode(frame.data, raw=True))[b":status"]
            elif isinstance(frame, DataFrame):
                bodies[frame.stream_id] += frame.data
            if "END_STREAM" in frame.flags:
                ended.add(frame.stream_id)
        # the GOAWAY came before the answers: the streams below it finished after it
        assert frames.index(goaways[0]) < min(
            i for i, f in enumerate(frames) if isinstance(f, HeadersFrame)
        )
        assert statuses == {first: b"200", second: b"200"}
        assert bodies == {first: b"/one" * 1000, second: b"/two" * 1000}
        assert ended == {first, second}
        thread.join(10)
        assert not thread.is_alive()
        assert server.drain_status().forced == 0
    finally:
        gate.set()
        peer.close()
        server.stop()
        thread.join(10)
        server.close()


def test_websocket_drain_closes_with_1001() -> None:
    server = HTTPServer("127.0.0.1", 0, grace=5.0)
    thread = threading.Thread(target=run, args=(server, make_app()))
    thread.start()
    try:
        with connect(f"ws://127.0.0.1:{server.port}/ws/echo") as ws:
            ws.send("before")
            assert ws.recv(timeout=10) == "before"
            started = time.monotonic()
            server.drain()
            with pytest.raises(WSClosed) as info:
                ws.recv(timeout=10)
            assert time.monotonic() - started < 5
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001
        thread.join(10)
        assert not thread.is_alive()
        assert server.drain_status().forced == 0
    finally:
        server.stop()
        thread.join(10)
        server.close()
