"""Graceful drain over HTTP/1.1: no request sent before the drain is lost."""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest

from sockit.observe import REGISTRY
from sockit.server import HTTPServer, Response, ServerRequest, make_app, run
from sockit.server.ops import health_app
from tests.server.rawclient import RawClient, wait_until

TEXT = [("Content-Type", "text/plain")]
BODY = b"x" * 20_000


def slow_app(request: ServerRequest) -> Response:
    """Each answer takes a few ms (so requests are in flight when the drain starts)."""
    if request.path == "/healthz":
        return health_app()(request)
    time.sleep(0.005)
    return Response(200, TEXT, BODY + request.path.encode())


def _serve(server: HTTPServer, app=slow_app, workers: int = 4) -> threading.Thread:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=run, args=(server, app), kwargs={"workers": workers})
    thread.start()
    return thread


def _forced() -> float:
    return REGISTRY.get("sockit_server_drain_forced_total").value  # type: ignore[union-attr]


def test_drain_under_load_loses_no_request_sent_before_it() -> None:
    server = HTTPServer("127.0.0.1", 0, grace=10.0)
    port = server.port
    thread = _serve(server)
    drain_at = [float("inf")]
    results: list[tuple[float, bool, str, float]] = []  # (sent at, full answer?, why not, done)
    lock = threading.Lock()
    stop = threading.Event()
    forced_before = _forced()

    def client(n: int) -> None:
        conn: http.client.HTTPConnection | None = None
        i = 0
        while not stop.is_set() and i < 400:
            i += 1
            path = f"/c{n}/r{i}"
            sent = float("inf")
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", path)
                sent = time.monotonic()
                resp = conn.getresponse()
                body = resp.read()
                ok = resp.status == 200 and body == BODY + path.encode()
                why = "" if ok else f"status {resp.status}, {len(body)} bytes"
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                ok, why = False, repr(exc)
                if conn is not None:
                    conn.close()
                conn = None
                if sent == float("inf") and time.monotonic() > drain_at[0]:
                    break  # refused after the drain: this client is done
            with lock:
                results.append((sent, ok, why, time.monotonic()))
        if conn is not None:
            conn.close()

    clients = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for c in clients:
        c.start()
    assert wait_until(lambda: len(results) >= 200, timeout=20)
    drain_at[0] = time.monotonic()
    server.drain()
    thread.join(15)
    stop.set()
    for c in clients:
        c.join(15)
    assert not thread.is_alive()
    status = server.drain_status()
    server.close()
    before = [r for r in results if r[0] < drain_at[0]]
    lost = [r for r in before if not r[1]]
    assert len(before) >= 200
    assert not lost, lost[:5]
    in_flight = [r for r in before if r[3] > drain_at[0]]
    assert in_flight  # the drain did start with requests in flight, and they were answered
    print(f"{len(before)} requests before the drain, {len(in_flight)} of them in flight")
    assert status.done and status.forced == 0 and status.connections == 0
    assert _forced() == forced_before
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_idle_keepalive_connections_close_at_once_and_busy_ones_get_connection_close() -> None:
    gate = threading.Event()

    def app(request: ServerRequest) -> Response:
        if request.path == "/wait":
            gate.wait(10)
        return Response(200, TEXT, b"done")

    server = HTTPServer("127.0.0.1", 0, grace=10.0)
    thread = _serve(server, app)
    try:
        with RawClient(server.port) as idle, RawClient(server.port) as busy:
            assert idle.get("/").status == 200  # now idle, kept alive
            busy.send(b"GET /wait HTTP/1.1\r\nHost: t\r\n\r\n")
            assert wait_until(lambda: server.connection_count == 2)
            time.sleep(0.05)  # the request reaches the app
            started = time.monotonic()
            server.drain()
            assert idle.wait_closed() == "eof"  # closed at once, not after the grace
            assert time.monotonic() - started < 2
            assert server.draining
            gate.set()
            resp = busy.response()
            assert resp.status == 200 and resp.body == b"done"
            assert resp.header("connection") == "close"
            assert busy.wait_closed() == "eof"
        thread.join(10)
        assert not thread.is_alive()
    finally:
        gate.set()
        server.stop()
        thread.join(10)
        server.close()


def test_drain_deadline_force_closes_a_stuck_request() -> None:
    gate = threading.Event()

    def app(request: ServerRequest) -> Response:
        gate.wait(10)
        return Response(200, TEXT, b"late")

    server = HTTPServer("127.0.0.1", 0)
    thread = _serve(server, app)
    forced_before = _forced()
    try:
        with RawClient(server.port) as client:
            client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert wait_until(lambda: server.connection_count == 1)
            time.sleep(0.05)
            started = time.monotonic()
            server.drain(0.3)
            assert client.wait_closed() in ("eof", "reset")  # cut at the deadline
            took = time.monotonic() - started
            assert 0.25 <= took < 3
            gate.set()  # the pool's thread is the app's: run() waits for it to return
            thread.join(5)
            assert not thread.is_alive()
        status = server.drain_status()
        assert status.done and status.forced == 1
        assert _forced() == forced_before + 1
    finally:
        gate.set()
        server.stop()
        thread.join(10)
        server.close()


def test_a_request_read_halfway_when_the_drain_starts_is_finished() -> None:
    server = HTTPServer("127.0.0.1", 0, grace=10.0)
    thread = _serve(server, make_app(), workers=0)
    try:
        with RawClient(server.port) as client:
            client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n")  # the head is not complete
            assert wait_until(lambda: server.connection_count == 1)
            time.sleep(0.05)
            server.drain()
            time.sleep(0.1)
            assert server.drain_status().in_flight == 1
            client.send(b"\r\n")
            resp = client.response()
            assert resp.status == 200 and resp.body == b"hello world\n"
            assert resp.header("connection") == "close"
        thread.join(10)
        assert not thread.is_alive()
    finally:
        server.stop()
        thread.join(10)
        server.close()


def test_healthz_turns_503_during_the_drain_notice_while_still_serving() -> None:
    server = HTTPServer("127.0.0.1", 0, grace=5.0)
    thread = _serve(server, make_app(), workers=0)
    port = server.port
    try:
        with RawClient(port) as client:
            assert client.get("/healthz").body == b"ok\n"
        server.drain(notice=0.4)
        assert wait_until(lambda: server.draining)
        with RawClient(port) as client:  # still accepted during the notice
            resp = client.get("/healthz")
            assert resp.status == 503 and resp.body == b"draining\n"
            assert resp.header("connection") == "close"
            assert resp.header("retry-after") == "1"
        with RawClient(port) as client:
            resp = client.get("/hello")
            assert resp.status == 200 and resp.header("connection") == "close"
        thread.join(5)
        assert not thread.is_alive()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        server.stop()
        thread.join(10)
        server.close()


def test_close_after_drain_and_drain_after_close_are_harmless() -> None:
    server = HTTPServer("127.0.0.1", 0)
    assert server.drain_status().draining is False
    server.drain(0.0)
    assert server.drain_status().done
    server.close()
    server.drain(1.0)  # nothing to do
    assert server.closed
