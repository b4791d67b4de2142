"""sockit's server over HTTP/2 (h2c) against curl, nghttp and h2load.

curl covers prior knowledge (``--http2-prior-knowledge``) and the HTTP/1.1
``Upgrade: h2c`` dance (``--http2``); nghttp checks frames as nghttp2 sees
them and multiplexes; h2load opens many concurrent streams and must see
every one succeed.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit.server import HTTPServer, Response, ServerRequest, StaticFiles
from tests.server.harness import running
from tests.support.peers import require_program

pytestmark = pytest.mark.interop

BIG = 3 * 1024 * 1024 + 17  # several windows' worth


def app(request: ServerRequest) -> Response:
    """Routes for the HTTP/2 peers."""
    if request.path == "/hello":
        return Response(200, [("Content-Type", "text/plain")], b"hello world\n")
    if request.path == "/stream":
        return Response(200, [("Content-Type", "text/plain")], (b"%d\n" % i for i in range(2000)))
    if request.path == "/big":
        return Response(200, None, bytes(range(256)) * (BIG // 256) + b"x" * (BIG % 256))
    if request.path == "/version":
        return Response(200, None, request.http_version.encode())
    digest = hashlib.sha256(request.body).hexdigest()
    host = request.headers.get("host", "-")
    text = f"{request.method} {request.target} {len(request.body)} {digest} host={host}"
    return Response(200, [("Content-Type", "text/plain"), ("Connection", "keep-alive")],
                    text.encode())


@pytest.fixture
def srv() -> Iterator[HTTPServer]:
    with running(app) as server:
        yield server


def run_tool(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return run_tool([require_program("curl"), "-sS", "--max-time", "30", *args])


def test_curl_prior_knowledge_get(srv: HTTPServer) -> None:
    proc = curl("--http2-prior-knowledge", "-w", "\n%{http_code} %{http_version}",
                f"{srv.url}/hello")
    assert proc.stdout == "hello world\n\n200 2"


def test_curl_prior_knowledge_post_body(srv: HTTPServer, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB: more than one stream window
    upload = tmp_path / "up.bin"
    upload.write_bytes(payload)
    proc = curl("--http2-prior-knowledge", "--data-binary", f"@{upload}", f"{srv.url}/upload")
    digest = hashlib.sha256(payload).hexdigest()
    assert proc.stdout.startswith(f"POST /upload {len(payload)} {digest} host=127.0.0.1:")


def test_curl_prior_knowledge_large_and_streamed(srv: HTTPServer, tmp_path: Path) -> None:
    out = tmp_path / "big"
    curl("--http2-prior-knowledge", "-o", str(out), f"{srv.url}/big")
    expected = bytes(range(256)) * (BIG // 256) + b"x" * (BIG % 256)
    assert out.read_bytes() == expected
    proc = curl("--http2-prior-knowledge", f"{srv.url}/stream")
    assert proc.stdout == "".join(f"{i}\n" for i in range(2000))


def test_curl_upgrade_h2c(srv: HTTPServer) -> None:
    proc = curl("--http2", "-v", "-w", "\n%{http_code} %{http_version}", f"{srv.url}/version")
    assert proc.stdout == "2\n200 2"
    assert "101" in proc.stderr  # curl saw Switching Protocols


def test_curl_upgrade_then_more_streams_on_one_connection(srv: HTTPServer) -> None:
    proc = curl("--http2", "-v", f"{srv.url}/hello", f"{srv.url}/hello", f"{srv.url}/version")
    assert proc.stdout == "hello world\nhello world\n2"
    assert proc.stderr.count("Connected to") == 1
    assert re.search(r"[Rr]e-?using", proc.stderr)


def test_curl_http11_still_works(srv: HTTPServer) -> None:
    proc = curl("--http1.1", "-w", " %{http_version}", f"{srv.url}/version")
    assert proc.stdout == "1.1 1.1"


def test_nghttp_multiplexed_gets(srv: HTTPServer) -> None:
    nghttp = require_program("nghttp")
    urls = [f"{srv.url}/hello?n={i}" for i in range(5)] + [f"{srv.url}/stream"]
    proc = run_tool([nghttp, "-n", "-s", "-v", *urls])
    assert proc.stdout.count(":status: 200") == 6
    assert "recv SETTINGS frame" in proc.stdout
    assert "GOAWAY" not in proc.stdout.split("recv SETTINGS frame", 1)[0]


def test_nghttp_data_with_small_window(srv: HTTPServer) -> None:
    """nghttp with a 1 KiB stream window: the server must honour flow control."""
    nghttp = require_program("nghttp")
    proc = run_tool([nghttp, "-n", "-s", "-W", "10", "-w", "10", f"{srv.url}/big"])
    assert re.search(r"\b200\b", proc.stdout)


def test_h2load_many_concurrent_streams(srv: HTTPServer) -> None:
    h2load = require_program("h2load")
    proc = run_tool([h2load, "-n", "2000", "-c", "4", "-m", "20", f"{srv.url}/hello"], timeout=120)
    match = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, "
                      r"(\d+) failed, (\d+) errored", proc.stdout)
    assert match, proc.stdout
    total, done, ok, failed, errored = map(int, match.groups())
    assert (total, done, ok, failed, errored) == (2000, 2000, 2000, 0, 0)


def test_static_files_over_h2(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"file body\n" * 10000)
    with running(StaticFiles(str(tmp_path))) as server:
        proc = curl("--http2-prior-knowledge", f"{server.url}/f.txt")
    assert proc.stdout == "file body\n" * 10000
