"""HTTPClient against a scripted server: framing, keep-alive, heads, one-liners."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import sockit
from sockit import HTTPClient
from sockit.client import HTTPStatusError, Timeouts
from sockit.errors import LocalProtocolError, SockitError
from tests.client.rawserver import Peer, RawRequest, RawServer, keep_alive

Serve = Callable[[Callable[[Peer], None]], RawServer]


def hello(req: RawRequest, peer: Peer) -> None:
    peer.respond(f"hello {req.target}".encode(), headers=[("Content-Type", "text/plain")])


def test_get_with_content_length(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(hello))
    r = client.get(server.url("/a?b=1"))
    assert r.status_code == 200
    assert r.reason == "OK"
    assert r.http_version == "HTTP/1.1"
    assert r.content == b"hello /a?b=1"
    assert r.text == "hello /a?b=1"
    assert r.headers["content-type"] == "text/plain"
    assert str(r.url) == server.url("/a?b=1")
    assert r.elapsed.total_seconds() >= 0
    assert r.is_closed


def test_request_headers_sent(serve: Serve) -> None:
    seen: list[RawRequest] = []

    def answer(req: RawRequest, peer: Peer) -> None:
        seen.append(req)
        peer.respond(b"")

    server = serve(keep_alive(answer))
    with HTTPClient(headers={"X-Default": "1", "Accept": "text/plain"}) as c:
        c.get(server.url("/"), headers={"X-Mine": "2", "x-default": "override"})
    h = seen[0].headers
    assert seen[0].method == "GET"
    assert h["host"] == f"127.0.0.1:{server.port}"
    assert h["user-agent"] == f"sockit/{sockit.__version__}"
    assert h["accept"] == "text/plain"
    assert "gzip" in h["accept-encoding"]
    assert h["x-default"] == "override"
    assert h["x-mine"] == "2"
    assert "content-length" not in h and "transfer-encoding" not in h


def test_no_user_agent_and_no_accept_encoding(serve: Serve) -> None:
    seen: list[RawRequest] = []

    def answer(req: RawRequest, peer: Peer) -> None:
        seen.append(req)
        peer.respond(b"")

    server = serve(keep_alive(answer))
    with HTTPClient(user_agent=None, decode_content=False) as c:
        c.get(server.url())
    assert "user-agent" not in seen[0].headers
    assert "accept-encoding" not in seen[0].headers


def test_keep_alive_reuses_one_connection(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(hello))
    bodies = [client.get(server.url(f"/{i}")).content for i in range(10)]
    assert bodies == [f"hello /{i}".encode() for i in range(10)]
    assert server.accepted == 1
    assert client.pool_stats().idle == 1


def test_chunked_response(serve: Serve, client: HTTPClient) -> None:
    def answer(req: RawRequest, peer: Peer) -> None:
        peer.send(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
        )

    server = serve(keep_alive(answer))
    assert client.get(server.url()).content == b"hello, world"
    assert client.get(server.url()).content == b"hello, world"
    assert server.accepted == 1


def test_read_until_close_response(serve: Serve, client: HTTPClient) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ")
        peer.send(b"the end")
        peer.sock.close()

    server = serve(handler)
    assert client.get(server.url()).content == b"until the end"
    assert client.get(server.url()).content == b"until the end"
    assert server.accepted == 2  # a close-delimited body ends the connection
    assert client.pool_stats().connections == 0


def test_http10_response_is_not_reused(serve: Serve, client: HTTPClient) -> None:
    def answer(req: RawRequest, peer: Peer) -> None:
        peer.send(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")

    server = serve(keep_alive(answer))
    r = client.get(server.url())
    assert (r.http_version, r.content) == ("HTTP/1.0", b"ok")
    client.get(server.url())
    assert server.accepted == 2


def test_connection_close_header_is_honoured(serve: Serve, client: HTTPClient) -> None:
    server = serve(
        keep_alive(lambda req, peer: peer.respond(b"bye", headers=[("Connection", "close")]))
    )
    assert client.get(server.url()).content == b"bye"
    assert client.get(server.url()).content == b"bye"
    assert server.accepted == 2


def test_head_has_no_body_and_keeps_the_connection(serve: Serve, client: HTTPClient) -> None:
    def answer(req: RawRequest, peer: Peer) -> None:
        if req.method == "HEAD":
            peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        else:
            peer.respond(b"after head")

    server = serve(keep_alive(answer))
    r = client.head(server.url())
    assert r.headers["content-length"] == "1000"
    assert r.content == b""
    assert client.get(server.url()).content == b"after head"
    assert server.accepted == 1


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_bodiless_statuses(serve: Serve, client: HTTPClient, status: str) -> None:
    def answer(req: RawRequest, peer: Peer) -> None:
        if req.target == "/empty":
            peer.send(f"HTTP/1.1 {status}\r\nETag: \"x\"\r\n\r\n".encode())
        else:
            peer.respond(b"next")

    server = serve(keep_alive(answer))
    r = client.get(server.url("/empty"))
    assert r.status_code == int(status[:3])
    assert r.content == b""
    assert client.get(server.url("/next")).content == b"next"
    assert server.accepted == 1


def test_informational_responses_are_skipped(serve: Serve, client: HTTPClient) -> None:
    def answer(req: RawRequest, peer: Peer) -> None:
        peer.send(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
            b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone"
        )

    server = serve(keep_alive(answer))
    r = client.post(server.url(), b"x")
    assert (r.status_code, r.content) == (201, b"done")
    assert "link" not in r.headers


def test_text_json_and_status(serve: Serve, client: HTTPClient) -> None:
    def answer(req: RawRequest, peer: Peer) -> None:
        if req.target == "/latin1":
            peer.respond("caf\u00e9".encode("latin-1"),
                         headers=[("Content-Type", "text/plain; charset=ISO-8859-1")])
        elif req.target == "/json":
            peer.respond(json.dumps({"a": [1, 2]}).encode(),
                         headers=[("Content-Type", "application/json")])
        elif req.target == "/bad-utf8":
            peer.respond(b"ok \xff")
        else:
            peer.respond(b"missing", status="404 Not Found")

    server = serve(keep_alive(answer))
    assert client.get(server.url("/latin1")).text == "caf\u00e9"
    assert client.get(server.url("/json")).json() == {"a": [1, 2]}
    assert client.get(server.url("/bad-utf8")).text == "ok \ufffd"
    r = client.get(server.url("/nope"))
    assert not r.is_success
    with pytest.raises(HTTPStatusError) as info:
        r.raise_for_status()
    assert info.value.status_code == 404
    assert info.value.response is r
    assert isinstance(info.value, SockitError)
    assert "404 Not Found" in str(info.value)
    assert client.get(server.url("/json")).raise_for_status().status_code == 200


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://127.0.0.1/", "scheme"),
        ("http://user:pw@127.0.0.1/", "credentials"),
        ("http:///path", "host"),
        ("http://exa mple.com/", "invalid URL"),
        ("/relative", "scheme"),
    ],
)
def test_urls_we_cannot_send(client: HTTPClient, url: str, words: str) -> None:
    with pytest.raises(LocalProtocolError, match=words):
        client.get(url)


def test_bad_method_and_headers(client: HTTPClient, serve: Serve) -> None:
    server = serve(keep_alive(hello))
    with pytest.raises(LocalProtocolError):
        client.request("GE T", server.url())
    with pytest.raises(LocalProtocolError):
        client.get(server.url(), headers={"X-Bad": "a\r\nInjected: 1"})
    # the connection used for the refused request was not poisoned
    assert client.get(server.url("/ok")).content == b"hello /ok"


def test_closed_client_refuses_requests(serve: Serve) -> None:
    server = serve(keep_alive(hello))
    c = HTTPClient()
    assert c.get(server.url()).status_code == 200
    c.close()
    assert c.closed
    with pytest.raises(LocalProtocolError, match="closed"):
        c.get(server.url())


def test_one_liners_share_a_default_client(serve: Serve) -> None:
    server = serve(keep_alive(hello))
    assert sockit.get(server.url("/1")).content == b"hello /1"
    assert sockit.post(server.url("/2"), b"x").content == b"hello /2"
    assert sockit.request("DELETE", server.url("/3")).content == b"hello /3"
    assert server.accepted == 1
    assert sockit.client.default_client() is sockit.client.default_client()


def test_one_liners_from_racing_threads_share_one_client() -> None:
    import sockit.client.api as api

    clients: list[HTTPClient] = []
    old = api._client
    api._client = None
    try:
        threads = [
            threading.Thread(target=lambda: clients.append(api.default_client()))
            for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert len(clients) == 8
        assert len({id(c) for c in clients}) == 1
    finally:
        for made in clients:
            made.close()
        api._client = old


def test_unix_socket_url(tmp_path: Path, client: HTTPClient) -> None:
    (tmp_path / "Mixed Case").mkdir()
    path = tmp_path / "Mixed Case" / "S.sock"  # socket paths are case-sensitive
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(1)
    listener.settimeout(10)
    got: list[bytes] = []

    def run() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            peer = Peer(conn, 0)
            for _ in range(2):
                req = peer.read_request()
                assert req is not None
                got.append(req.head)
                peer.respond(b"unix " + req.target.encode())

    t = threading.Thread(target=run)
    t.start()
    try:
        encoded = str(path).replace("/", "%2F").replace(" ", "%20")
        assert client.get(f"http+unix://{encoded}/one").content == b"unix /one"
        assert client.get(f"http+unix://{encoded}/two").content == b"unix /two"
    finally:
        t.join(10)
        listener.close()
    assert len(got) == 2  # both on one connection
    assert b"Host: localhost" in got[0]


def test_timeouts_validation() -> None:
    with pytest.raises(LocalProtocolError):
        Timeouts(read=-1)
    with pytest.raises(LocalProtocolError):
        Timeouts(connect="1")  # type: ignore[arg-type]
    assert Timeouts(total=float("inf")).total == float("inf")


def test_head_with_length_over_the_cap(serve: Serve) -> None:
    def answer(req: RawRequest, peer: Peer) -> None:
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n")

    server = serve(keep_alive(answer))
    with HTTPClient(limits=sockit.limits.ClientLimits(max_response_size=10)) as c:
        r = c.head(server.url())
        assert (r.status_code, r.content) == (200, b"")
        assert c.pool_stats().idle == 1


def test_localhost_name_is_resolved(serve: Serve, client: HTTPClient) -> None:
    """localhost may resolve to ::1 first; the server is on 127.0.0.1 only."""
    server = serve(keep_alive(hello))
    assert client.get(f"http://localhost:{server.port}/n").content == b"hello /n"


@pytest.mark.parametrize(
    "first",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",  # answered to HEAD: body follows
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",  # junk follows
    ],
)
def test_bytes_after_a_response_retire_the_connection(
    serve: Serve, client: HTTPClient, first: bytes
) -> None:
    """Extra bytes after a complete response would be parsed as the next response."""

    def answer(req: RawRequest, peer: Peer) -> None:
        if req.target == "/first":
            peer.send(first + b"hello")  # one send: the client reads it all at once
        else:
            peer.respond(b"second")

    server = serve(keep_alive(answer))
    method = "HEAD" if b"Length: 5" in first else "GET"
    r = client.request(method, server.url("/first"))
    assert r.status_code == 200
    assert client.get(server.url("/second")).content == b"second"
    assert server.accepted == 2


def test_method_is_upper_cased(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(lambda req, peer: peer.respond(req.method.encode() + req.body)))
    r = client.request("post", server.url(), body=b"!")
    assert (r.content, r.method) == (b"POST!", "POST")
