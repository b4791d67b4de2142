"""HTTPClient against the standard library's HTTP servers.

* ``python -m http.server`` as a child process: HTTP/1.0 answers with
  Content-Length, one request per connection.
* ``http.server`` handlers in a thread for what the command line cannot
  show: a close-delimited body (no Content-Length), HTTP/1.1 keep-alive with
  ``protocol_version = "HTTP/1.1"``, and an upload echoed back.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sockit import HTTPClient
from sockit.client import HTTPStatusError
from tests.support.peers import free_port, run_peer

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def stdlib_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("www")
    (root / "hello.txt").write_bytes(b"hello from http.server\n")
    (root / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    port = free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
            "--directory", str(root)]
    with run_peer(argv, port=port) as peer:
        yield f"http://127.0.0.1:{peer.port}", root


def test_get_file_http10(stdlib_server: tuple[str, Path]) -> None:
    base, _ = stdlib_server
    with HTTPClient() as c:
        r = c.get(base + "/hello.txt")
        assert r.http_version == "HTTP/1.0"
        assert r.content == b"hello from http.server\n"
        assert r.headers["content-length"] == str(len(r.content))
        assert c.pool_stats().connections == 0  # HTTP/1.0: never kept
        assert c.get(base + "/hello.txt").text == "hello from http.server\n"


def test_directory_listing_and_head(stdlib_server: tuple[str, Path]) -> None:
    base, _ = stdlib_server
    with HTTPClient() as c:
        listing = c.get(base + "/")
        assert "hello.txt" in listing.text
        assert listing.headers["content-type"].startswith("text/html")
        h = c.head(base + "/hello.txt")
        assert (h.status_code, h.content) == (200, b"")
        assert h.headers["content-length"] == "23"


def test_large_file_stream(stdlib_server: tuple[str, Path]) -> None:
    base, root = stdlib_server
    expected = hashlib.sha256((root / "blob.bin").read_bytes()).hexdigest()
    with HTTPClient() as c, c.get(base + "/blob.bin", stream=True) as r:
        digest = hashlib.sha256()
        for chunk in r.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == expected


def test_not_found(stdlib_server: tuple[str, Path]) -> None:
    base, _ = stdlib_server
    with HTTPClient() as c:
        r = c.get(base + "/missing")
        assert r.status_code == 404
        with pytest.raises(HTTPStatusError):
            r.raise_for_status()


class Handler(BaseHTTPRequestHandler):
    """Paths: /close (no length, closes), /keep (HTTP/1.1 keep-alive), /echo (POST)."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/close":
            self.protocol_version = "HTTP/1.0"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"read until ")
            self.wfile.write(b"close")
            self.close_connection = True
            return
        body = f"keep {self.client_address[1]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding") == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            data = b"".join(parts)
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def threaded_server() -> Iterator[str]:
    Handler.protocol_version = "HTTP/1.1"
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        t.join(10)


def test_read_until_close(threaded_server: str) -> None:
    with HTTPClient() as c:
        r = c.get(threaded_server + "/close")
        assert r.http_version == "HTTP/1.0"
        assert "content-length" not in r.headers
        assert r.content == b"read until close"


def test_http11_keep_alive(threaded_server: str) -> None:
    with HTTPClient() as c:
        bodies = {c.get(threaded_server + "/keep").text for _ in range(5)}
    assert len(bodies) == 1  # the same client port every time: one connection


def test_uploads_echoed(threaded_server: str) -> None:
    payload = os.urandom(100_000)
    with HTTPClient() as c:
        assert c.post(threaded_server + "/echo", payload).content == payload
        chunks = [payload[i : i + 7000] for i in range(0, len(payload), 7000)]
        assert c.post(threaded_server + "/echo", iter(chunks)).content == payload
