"""HTTPServer limits: refusals with the right status and a clean close, timeouts, counts."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest

from sockit.limits import ServerLimits
from sockit.observe import REGISTRY
from sockit.server import HTTPServer, Response, ServerRequest
from tests.server.harness import fd_count, running
from tests.server.rawclient import RawClient, wait_until


def limits(**changes: object) -> ServerLimits:
    return ServerLimits().replace(**changes)


def refusals(reason: str) -> float:
    family = REGISTRY.get("sockit_server_refusals_total")
    return 0.0 if family is None else float(family.labels(reason).value)  # type: ignore[attr-defined]


def test_content_length_over_the_limit_is_413_without_reading_the_body() -> None:
    before = refusals("max_body_size")
    with running(limits=limits(max_body_size=1000)) as srv, RawClient(srv.port) as client:
        client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n")
        resp = client.response()  # answered although no body byte was sent
        assert resp.status == 413
        assert resp.header("connection") == "close"
        assert client.wait_closed() == "eof"
    assert refusals("max_body_size") == before + 1


def test_413_reaches_a_client_that_keeps_uploading() -> None:
    # the server answers early and drains what follows, so no RST destroys the 413
    with running(limits=limits(max_body_size=1000)) as srv, RawClient(srv.port) as client:
        client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\n\r\n")
        client.send(b"x" * 200_000)
        resp = client.response()
        assert resp.status == 413
        assert client.wait_closed() == "eof"


def test_chunked_body_over_the_limit_is_counted_and_refused() -> None:
    with running(limits=limits(max_body_size=10)) as srv, RawClient(srv.port) as client:
        client.send(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n"
        )
        resp = client.response()
        assert resp.status == 413
        assert client.wait_closed() == "eof"


def test_body_at_the_limit_is_accepted() -> None:
    with running(limits=limits(max_body_size=10)) as srv, RawClient(srv.port) as client:
        client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789")
        assert client.response().body == b"0123456789"


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"v" * 9000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X-" + b"n" * 300 + b": 1\r\n\r\n", 431),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: t\r\nBad Header Line\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\r\n\r\n", 400),  # TLS hello
    ],
    ids=[
        "value-too-long",
        "too-many",
        "name-too-long",
        "uri-too-long",
        "no-colon",
        "no-host",
        "double-space",
        "two-lengths",
        "gzip-te",
        "http2",
        "obs-fold",
        "tls",
    ],
)
def test_refused_heads_get_their_status_and_a_clean_close(
    server: HTTPServer, head: bytes, status: int
) -> None:
    with RawClient(server.port) as client:
        client.send(head)
        resp = client.response()
        assert resp.status == status
        assert resp.header("connection") == "close"
        assert client.wait_closed() == "eof"


def test_a_refusal_after_a_good_request_on_the_same_connection(server: HTTPServer) -> None:
    with RawClient(server.port) as client:
        client.send(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\nGARBAGE\r\n\r\n")
        assert client.response().body == b"GET /ok"
        assert client.response().status == 400
        assert client.wait_closed() == "eof"


def test_client_disconnect_mid_request_leaves_no_state() -> None:
    with running() as srv:
        assert wait_until(lambda: srv.connection_count == 0)
        base = fd_count()
        partials = [
            b"GET / HTT",
            b"GET / HTTP/1.1\r\nHost: t\r\nX-A: 1",
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part",
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            b"",
        ]
        for _ in range(5):
            clients = [RawClient(srv.port) for _ in partials]
            for client, data in zip(clients, partials, strict=True):
                if data:
                    client.send(data)
            assert wait_until(lambda: srv.connection_count == len(partials))
            for client in clients:
                client.close()
            assert wait_until(lambda: srv.connection_count == 0)
        assert wait_until(lambda: fd_count() == base)
        with RawClient(srv.port) as client:  # and the server still serves
            assert client.get("/after").status == 200


def test_slow_header_sender_is_cut_off_by_the_read_timeout() -> None:
    head = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
    with running(limits=limits(request_read_timeout=0.5)) as srv, RawClient(srv.port) as client:
        sent = 0
        for byte in head:  # one byte per second, until the server gives up
            try:
                client.send(bytes([byte]))
            except OSError:
                break
            sent += 1
            client.sock.settimeout(1.0)
            try:
                if client._fill():
                    break
            except TimeoutError:
                continue
        assert sent < len(head)
        client.sock.settimeout(10)
        resp = client.response()
        assert resp.status == 408
        assert client.wait_closed() in ("eof", "reset")
        assert wait_until(lambda: srv.connection_count == 0)


def test_a_connection_that_sends_nothing_is_closed_silently() -> None:
    with running(limits=limits(request_read_timeout=0.3)) as srv, RawClient(srv.port) as client:
        assert client.wait_closed() == "eof"
        assert client.buf == b""


def test_keep_alive_idle_timeout_closes_silently() -> None:
    with running(limits=limits(keepalive_idle_timeout=0.3)) as srv, RawClient(srv.port) as client:
        assert client.get("/one").status == 200
        assert client.wait_closed() == "eof"
        assert client.buf == b""
        assert wait_until(lambda: srv.connection_count == 0)


def test_connection_lifetime_ends_keep_alive() -> None:
    lim = limits(connection_lifetime=0.4, keepalive_idle_timeout=30.0)
    with running(limits=lim) as srv, RawClient(srv.port) as client:
        assert client.get("/one").status == 200
        assert client.wait_closed() == "eof"  # idle when its lifetime ended: closed
        assert client.buf == b""


def test_max_requests_per_connection() -> None:
    with running(limits=limits(max_requests_per_connection=3)) as srv, RawClient(srv.port) as c:
        first, second = c.get("/1"), c.get("/2")
        third = c.get("/3")
        assert first.header("connection") is None
        assert second.header("connection") is None
        assert third.header("connection") == "close"
        assert third.body == b"GET /3"
        assert c.wait_closed() == "eof"


def test_over_max_connections_gets_503_and_a_close() -> None:
    before = refusals("max_connections")
    lim = limits(max_connections=2, max_connections_per_client=2)
    with running(limits=lim) as srv:
        a, b = RawClient(srv.port), RawClient(srv.port)
        assert a.get("/a").status == 200
        assert b.get("/b").status == 200
        with RawClient(srv.port) as c:
            resp = c.response()  # answered before it asked
            assert resp.status == 503
            assert c.wait_closed() == "eof"
        a.close()
        assert wait_until(lambda: srv.connection_count == 1)
        with RawClient(srv.port) as d:
            assert d.get("/d").status == 200
        b.close()
    assert refusals("max_connections") == before + 1


def test_over_max_connections_per_client_gets_503() -> None:
    before = refusals("max_connections_per_client")
    lim = limits(max_connections=10, max_connections_per_client=1)
    with running(limits=lim) as srv, RawClient(srv.port) as a:
        assert a.get("/a").status == 200
        with RawClient(srv.port) as b:
            assert b.response().status == 503
    assert refusals("max_connections_per_client") == before + 1


def test_write_timeout_resets_a_client_that_stops_reading() -> None:
    def app(request: ServerRequest) -> Response:
        return Response(200, None, iter([b"z" * 65536] * 100_000))  # 6.5 GB, never read

    lim = limits(response_write_timeout=0.3)
    with running(app, limits=lim) as srv:
        sock = socket.create_connection(("127.0.0.1", srv.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert wait_until(lambda: srv.connection_count == 1)
        assert wait_until(lambda: srv.connection_count == 0, timeout=20)
        sock.close()


def test_closing_server_refuses_new_connections() -> None:
    srv = HTTPServer("127.0.0.1", 0)
    port = srv.port
    srv.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_pipelined_flood_is_not_parsed_ahead_of_answers() -> None:
    # a client that pipelines thousands of requests and reads nothing: answers are
    # produced only while they drain, so the server's queue stays bounded
    answered = [0]

    def app(request: ServerRequest) -> Response:
        answered[0] += 1
        return Response(200, None, b"y" * 4096)

    with running(app) as srv, RawClient(srv.port) as client:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        req = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
        client.sock.settimeout(2)
        with contextlib.suppress(TimeoutError):  # the server stops reading: fine
            client.send(req * 20000)
        last = -1
        while last != answered[0]:  # wait until answering stalls
            last = answered[0]
            time.sleep(0.3)
        assert last < 20000  # stalled well short of all: no unbounded queue of answers
        print("answered while the client read nothing:", last)
