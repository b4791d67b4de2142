"""Custom pages for the errors the server answers by itself: HTTPServer(error_pages=...).

The connection-level refusals (431 for a head over its bounds, 413 for a body
over ``max_body_size``, 400 for bytes that are not HTTP, 503 while closing) are
answered before any application code runs; ``error_pages`` chooses their
fields and body, over HTTP/1.1 and HTTP/2, and a broken page falls back to
the plain text.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import h2.config
import h2.connection
import h2.events
import pytest

from sockit.limits import ServerLimits
from sockit.server import ErrorHandlers, HTTPError, HTTPServer, Response, ServerRequest, serve
from tests.server.harness import running
from tests.server.rawclient import RawClient

Page = tuple[list[tuple[bytes, bytes]], bytes]


def html_page(status: int) -> Page:
    body = b"<h1>custom %d</h1>" % status
    return [(b"Content-Type", b"text/html"), (b"X-Page", b"custom")], body


def app(request: ServerRequest) -> Response:
    return Response(200, None, b"app ran: " + request.body)


def big_header_request() -> bytes:
    return b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"v" * 9000 + b"\r\n\r\n"


def post(size: int) -> bytes:
    return b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % size + b"b" * size


def exchange(server: HTTPServer, data: bytes) -> tuple[int, dict[str, str], bytes]:
    with RawClient(server.port) as client:
        client.send(data)
        resp = client.response()
        return resp.status, resp.headers, resp.body


# -- HTTP/1.1 ------------------------------------------------------------------------------


def test_431_gets_the_custom_page() -> None:
    with running(app, error_pages=html_page) as server:
        status, headers, body = exchange(server, big_header_request())
    assert status == 431
    assert body == b"<h1>custom 431</h1>"
    assert headers["content-type"] == "text/html" and headers["x-page"] == "custom"
    assert headers["content-length"] == str(len(body))
    assert headers["connection"] == "close" and "date" in headers


def test_413_at_the_limit_and_one_over() -> None:
    limits = ServerLimits(max_body_size=1000)
    with running(app, limits=limits, error_pages=html_page) as server:
        ok = exchange(server, post(1000))
        refused = exchange(server, post(1001))
    assert ok[0] == 200 and ok[2] == b"app ran: " + b"b" * 1000
    assert refused[0] == 413 and refused[2] == b"<h1>custom 413</h1>"
    assert refused[1]["x-page"] == "custom"


def test_400_for_garbage_gets_the_custom_page() -> None:
    with running(app, error_pages=html_page) as server:
        status, headers, body = exchange(server, b"NOT HTTP AT ALL\r\n\r\n")
    assert status == 400 and body == b"<h1>custom 400</h1>" and headers["x-page"] == "custom"


def test_without_error_pages_the_plain_text_stays() -> None:
    with running(app) as server:
        status, headers, body = exchange(server, big_header_request())
    assert status == 431 and body == b"431 Request Header Fields Too Large\n"
    assert headers["content-type"] == "text/plain; charset=utf-8"


def test_error_handlers_page_is_an_error_pages_source() -> None:
    seen: list[ServerRequest | None] = []

    def too_large(request: ServerRequest | None, error: HTTPError) -> Response:
        seen.append(request)
        return Response(error.status, [("Content-Type", "application/json")],
                        b'{"error": %d}' % error.status)

    handlers = ErrorHandlers({431: too_large})
    with running(app, error_pages=handlers.page) as server:
        status, headers, body = exchange(server, big_header_request())
        other = exchange(server, b"NOT HTTP AT ALL\r\n\r\n")  # no handler: ErrorHandlers' plain
    assert (status, body) == (431, b'{"error": 431}')
    assert headers["content-type"] == "application/json"
    assert seen == [None]
    assert other[0] == 400 and other[2] == b"400 Bad Request\n"


def raises(status: int) -> Page:
    raise RuntimeError("the page renderer is broken")


def not_bytes(status: int) -> Page:
    return [], "text, not bytes"  # type: ignore[return-value]


def bad_field(status: int) -> Page:
    return [(b"X-Evil", b"a\r\nSet-Cookie: x=1")], b"smuggled"


def too_big(status: int) -> Page:
    return [], b"x" * (64 * 1024 + 1)


@pytest.mark.parametrize("pages", [raises, not_bytes, bad_field, too_big],
                         ids=["raises", "not-bytes", "bad-field", "too-big"])
def test_a_broken_page_falls_back_to_the_plain_text(pages: Callable[[int], Page]) -> None:
    with running(app, error_pages=pages) as server:
        status, headers, body = exchange(server, big_header_request())
        after = exchange(server, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert status == 431 and body == b"431 Request Header Fields Too Large\n"
    assert "x-evil" not in headers and "set-cookie" not in headers
    assert after[0] == 200  # the server goes on


def test_a_page_cannot_set_the_framing() -> None:
    def liar(status: int) -> Page:
        return [(b"Content-Length", b"999"), (b"Connection", b"keep-alive"),
                (b"Transfer-Encoding", b"chunked"), (b"X-Ok", b"1")], b"short"

    with running(app, error_pages=liar) as server, RawClient(server.port) as client:
        client.send(big_header_request())
        resp = client.response()
        assert client.wait_closed() == "eof"  # the refusal still closes
    assert resp.status == 431 and resp.body == b"short"
    assert resp.headers["content-length"] == "5" and resp.headers["connection"] == "close"
    assert "transfer-encoding" not in resp.headers and resp.headers["x-ok"] == "1"


def test_serve_passes_error_pages_through() -> None:
    ready: list[HTTPServer] = []
    started = threading.Event()

    def on_ready(server: HTTPServer) -> None:
        ready.append(server)
        started.set()

    thread = threading.Thread(
        target=serve, args=(app,),
        kwargs={"port": 0, "handle_signals": False, "on_ready": on_ready, "grace": 0.5,
                "error_pages": html_page},
    )
    thread.start()
    try:
        assert started.wait(5)
        status, _, body = exchange(ready[0], big_header_request())
    finally:
        if ready:
            ready[0].stop()
        thread.join(10)
    assert not thread.is_alive()
    assert (status, body) == (431, b"<h1>custom 431</h1>")


# -- HTTP/2 --------------------------------------------------------------------------------


def h2_post(port: int, body: bytes) -> tuple[dict[bytes, bytes], bytes]:
    """POST ``body`` on stream 1 (within the initial windows); the answer's head and body."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "POST"), (":path", "/"), (":scheme", "http"),
                          (":authority", "t")])
    conn.send_data(1, body, end_stream=True)
    sock.sendall(conn.data_to_send())
    head: dict[bytes, bytes] = {}
    got = b""
    try:
        while True:
            data = sock.recv(65536)
            assert data, "closed before the answer ended"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    head = dict(event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    got += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, 1)
                elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                    return head, got
            sock.sendall(conn.data_to_send())
    finally:
        sock.close()


def test_http2_413_gets_the_custom_page() -> None:
    limits = ServerLimits(max_body_size=1000)
    with running(app, limits=limits, error_pages=html_page) as server:
        ok_head, ok_body = h2_post(server.port, b"b" * 1000)
        head, body = h2_post(server.port, b"b" * 1001)
    assert ok_head[b":status"] == b"200" and ok_body == b"app ran: " + b"b" * 1000
    assert head[b":status"] == b"413" and body == b"<h1>custom 413</h1>"
    assert head[b"content-type"] == b"text/html" and head[b"x-page"] == b"custom"
    assert head[b"content-length"] == b"%d" % len(body)


def test_http2_broken_page_falls_back() -> None:
    limits = ServerLimits(max_body_size=10)
    with running(app, limits=limits, error_pages=raises) as server:
        head, body = h2_post(server.port, b"b" * 11)
    assert head[b":status"] == b"413" and body == b"413\n"


def test_503_over_max_connections_gets_the_custom_page() -> None:
    limits = ServerLimits(max_connections=1, max_connections_per_client=1)
    with running(app, limits=limits, error_pages=html_page) as server, \
            RawClient(server.port) as first:
        assert first.get("/").status == 200  # holds the only slot (keep-alive)
        with RawClient(server.port) as second:
            resp = second.response()  # refused without a request
        assert resp.status == 503 and resp.body == b"<h1>custom 503</h1>"
