"""Request bodies (bytes, str, iterators, files) and response content codings."""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sockit import HTTPClient
from sockit.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from sockit.limits import HTTP1Limits
from sockit.proto.http1 import HTTP1Config
from sockit.proto.http1.coding import supported_codings
from tests.client.rawserver import Peer, RawRequest, RawServer, keep_alive

Serve = Callable[[Callable[[Peer], None]], RawServer]


def echo(req: RawRequest, peer: Peer) -> None:
    framing = "chunked" if req.chunked else req.headers.get("content-length", "none")
    peer.respond(req.body, headers=[("X-Framing", framing), ("X-Method", req.method)])


def test_bytes_body(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(echo))
    r = client.post(server.url(), b"\x00binary\xff")
    assert r.content == b"\x00binary\xff"
    assert r.headers["x-framing"] == "8"
    assert client.put(server.url(), bytearray(b"ba")).content == b"ba"
    assert client.request("PATCH", server.url(), body=memoryview(b"mv")).content == b"mv"


def test_str_body_is_utf8(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(echo))
    r = client.post(server.url(), "gr\u00fc\u00dfe \u2603")
    assert r.content == "gr\u00fc\u00dfe \u2603".encode()
    assert r.headers["x-framing"] == str(len("gr\u00fc\u00dfe \u2603".encode()))


def test_empty_post_sends_content_length_zero(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(echo))
    assert client.post(server.url()).headers["x-framing"] == "0"
    assert client.delete(server.url()).headers["x-framing"] == "none"


def test_iterator_body_is_chunked(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(echo))

    def parts() -> Iterator[bytes]:
        yield b"first,"
        yield b""  # empty pieces are skipped, never sent as the last chunk
        yield b"second,"
        yield bytes(200_000)

    r = client.post(server.url(), parts())
    assert r.headers["x-framing"] == "chunked"
    assert r.content == b"first,second," + bytes(200_000)
    # a list is an iterable of bytes too, and the connection was kept
    assert client.post(server.url(), [b"a", b"b"]).content == b"ab"
    assert server.accepted == 1


def test_iterator_with_declared_length(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(echo))
    r = client.post(server.url(), iter([b"abc", b"de"]), headers={"Content-Length": "5"})
    assert (r.headers["x-framing"], r.content) == ("5", b"abcde")


def test_iterator_yielding_text_is_refused(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(echo))
    with pytest.raises(LocalProtocolError, match="bytes"):
        client.post(server.url(), iter(["text"]))  # type: ignore[arg-type]
    assert client.get(server.url()).status_code == 200


def test_file_body_has_content_length(serve: Serve, client: HTTPClient, tmp_path: Path) -> None:
    server = serve(keep_alive(echo))
    path = tmp_path / "upload.bin"
    data = os.urandom(300_000)
    path.write_bytes(data)
    with path.open("rb") as f:
        f.seek(1000)  # sent from where it stands
        r = client.put(server.url(), f)
    assert r.headers["x-framing"] == str(len(data) - 1000)
    assert r.content == data[1000:]
    r = client.post(server.url(), io.BytesIO(b"in memory"))
    assert (r.headers["x-framing"], r.content) == ("9", b"in memory")


def test_unsized_file_is_chunked(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(echo))
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"from a pipe")
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        r = client.post(server.url(), pipe)
    assert (r.headers["x-framing"], r.content) == ("chunked", b"from a pipe")


def test_text_file_is_refused(serve: Serve, client: HTTPClient, tmp_path: Path) -> None:
    server = serve(keep_alive(echo))
    path = tmp_path / "t.txt"
    path.write_text("text")
    with path.open("r") as f, pytest.raises(LocalProtocolError, match="binary"):
        client.post(server.url(), f)  # type: ignore[arg-type]


def test_unsupported_body_type(client: HTTPClient) -> None:
    with pytest.raises(LocalProtocolError, match="body must be"):
        client.post("http://127.0.0.1:9/", 12)  # type: ignore[arg-type]


def test_response_to_an_upload_that_is_refused_early(serve: Serve, client: HTTPClient) -> None:
    """The server answers 413 from the head alone, then drains and closes."""

    def handler(peer: Peer) -> None:
        req = peer.read_head()
        assert req is not None
        peer.respond(b"too big", status="413 Content Too Large",
                     headers=[("Connection", "close")])
        peer.sock.shutdown(1)
        peer.wait_closed()

    server = serve(handler)
    r = client.post(server.url(), bytes(3_000_000))
    assert (r.status_code, r.content) == (413, b"too big")
    assert client.pool_stats().connections == 0


def test_early_response_then_abrupt_close(serve: Serve, client: HTTPClient) -> None:
    """The server answers 413 and closes without reading: the upload fails, the answer stands.

    The close with unread data makes the server's kernel reset the
    connection, so sending the rest fails (EPIPE/ECONNRESET); the 413 is
    still in the client's receive queue (Linux keeps it readable) and is
    what the caller gets.
    """

    def handler(peer: Peer) -> None:
        assert peer.read_head() is not None
        peer.respond(b"no", status="413 Content Too Large", headers=[("Connection", "close")])
        peer.sock.close()

    server = serve(handler)
    r = client.post(server.url(), bytes(16_000_000))
    assert (r.status_code, r.content) == (413, b"no")
    assert client.pool_stats().connections == 0


# -- content codings ---------------------------------------------------------------


def coded(coding: str, data: bytes) -> bytes:
    if coding == "gzip":
        return gzip.compress(data)
    if coding == "deflate":
        return zlib.compress(data)
    if coding == "raw-deflate":
        c = zlib.compressobj(wbits=-15)
        return c.compress(data) + c.flush()
    import brotli  # type: ignore[import-untyped]

    return bytes(brotli.compress(data))


CODINGS = ["gzip", "deflate", "raw-deflate"] + (["br"] if "br" in supported_codings() else [])


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("chunked", [False, True])
def test_content_decoding(serve: Serve, client: HTTPClient, coding: str, chunked: bool) -> None:
    plain = b"the quick brown fox " * 5000
    body = coded(coding, plain)
    name = "deflate" if coding == "raw-deflate" else coding

    def answer(req: RawRequest, peer: Peer) -> None:
        server.record(req)
        if chunked:
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Encoding: {name}\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            )
            pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]
            wire = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
            peer.send(head.encode() + wire)
        else:
            peer.respond(body, headers=[("Content-Encoding", name)])

    server = serve(keep_alive(answer))
    assert client.get(server.url()).content == plain
    with client.get(server.url(), stream=True) as r:
        assert b"".join(r.iter_bytes(4096)) == plain
    raw = client.request("GET", server.url(), decode_content=False)
    assert raw.content == body
    assert raw.headers["content-encoding"] == name
    assert name in server.requests[0].headers["accept-encoding"]
    assert "accept-encoding" not in server.requests[2].headers


def test_unknown_coding_is_passed_through(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(lambda req, peer: peer.respond(
        b"zstd-bytes", headers=[("Content-Encoding", "zstd")])))
    assert client.get(server.url()).content == b"zstd-bytes"


def test_corrupt_gzip_is_a_protocol_error(serve: Serve, client: HTTPClient) -> None:
    server = serve(keep_alive(lambda req, peer: peer.respond(
        b"\x1f\x8b\x08\x00garbage-garbage", headers=[("Content-Encoding", "gzip")])))
    with pytest.raises(RemoteProtocolError):
        client.get(server.url())
    assert client.pool_stats().connections == 0


def test_gzip_bomb_is_capped(serve: Serve) -> None:
    bomb = gzip.compress(bytes(8 * 1024 * 1024))  # ~8 KiB on the wire
    server = serve(keep_alive(lambda req, peer: peer.respond(
        bomb, headers=[("Content-Encoding", "gzip")])))
    config = HTTP1Config(limits=HTTP1Limits(max_decompressed_size=1024 * 1024))
    with HTTPClient(http1=config) as c:
        with pytest.raises(LimitExceeded) as info:
            c.get(server.url())
        assert info.value.limit == "max_decompressed_size"
        with c.get(server.url(), stream=True) as r, pytest.raises(LimitExceeded):
            for _ in r.iter_bytes():
                pass
        assert c.pool_stats().connections == 0
