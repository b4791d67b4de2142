"""sockit's HTTP server against curl (a client nobody here wrote)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit.server import HTTPServer, Response, ServerRequest, StaticFiles
from tests.server.harness import running
from tests.server.rawclient import RawClient
from tests.support.peers import require_program

pytestmark = pytest.mark.interop


def app(request: ServerRequest) -> Response:
    """Echo what arrived, so curl's side can check it."""
    if request.path == "/hello":
        return Response(200, [("Content-Type", "text/plain")], b"hello world\n")
    if request.path == "/stream":
        return Response(200, None, (b"%d\n" % i for i in range(1000)))
    digest = hashlib.sha256(request.body).hexdigest()
    te = request.headers.get("transfer-encoding", "-")
    expect = request.headers.get("expect", "-")
    text = f"{request.method} {request.target} {len(request.body)} {digest} te={te} expect={expect}"
    return Response(200, [("Content-Type", "text/plain")], text.encode())


@pytest.fixture
def curl() -> str:
    return require_program("curl")


@pytest.fixture
def srv() -> Iterator[HTTPServer]:
    with running(app) as server:
        yield server


def run_curl(curl: str, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [curl, "-sS", "--max-time", "30", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_get(curl: str, srv: HTTPServer) -> None:
    proc = run_curl(curl, "-w", "\n%{http_code} %{http_version}", f"{srv.url}/hello")
    assert proc.stdout == "hello world\n\n200 1.1"


def test_head(curl: str, srv: HTTPServer) -> None:
    proc = run_curl(curl, "-I", f"{srv.url}/hello")
    lines = proc.stdout.lower().splitlines()
    assert lines[0].startswith("http/1.1 200")
    assert "content-length: 12" in lines


def test_post_with_body(curl: str, srv: HTTPServer) -> None:
    proc = run_curl(curl, "-d", "name=sockit&x=1", f"{srv.url}/form")
    digest = hashlib.sha256(b"name=sockit&x=1").hexdigest()
    assert proc.stdout == f"POST /form 15 {digest} te=- expect=-"


def test_chunked_upload(curl: str, srv: HTTPServer, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "up.bin"
    path.write_bytes(data)
    proc = run_curl(
        curl, "-H", "Transfer-Encoding: chunked", "--data-binary", f"@{path}", f"{srv.url}/up"
    )
    digest = hashlib.sha256(data).hexdigest()
    assert proc.stdout == f"POST /up {len(data)} {digest} te=chunked expect=-"


def test_http10(curl: str, srv: HTTPServer) -> None:
    proc = run_curl(curl, "--http1.0", "-i", f"{srv.url}/stream")
    head, _, body = proc.stdout.partition("\n\n")  # text mode turned CRLF into LF
    assert head.startswith("HTTP/1.1 200")
    assert "transfer-encoding" not in head.lower()  # close-delimited for a 1.0 client
    assert body == "".join(f"{i}\n" for i in range(1000))


def test_several_urls_reuse_one_connection(curl: str, srv: HTTPServer) -> None:
    urls = [f"{srv.url}/hello", f"{srv.url}/a", f"{srv.url}/stream", f"{srv.url}/hello"]
    outputs = [arg for _ in urls for arg in ("-o", "/dev/null")]
    proc = run_curl(curl, *outputs, "-w", "%{num_connects}\n", *urls)
    assert proc.stdout.split() == ["1", "0", "0", "0"]


def test_expect_100_continue_on_request(curl: str, srv: HTTPServer, tmp_path: Path) -> None:
    data = os.urandom(50_000)
    path = tmp_path / "small.bin"
    path.write_bytes(data)
    proc = run_curl(
        curl, "-v", "-H", "Expect: 100-continue", "--data-binary", f"@{path}", f"{srv.url}/e"
    )
    assert "HTTP/1.1 100 Continue" in proc.stderr
    assert proc.stdout.startswith(f"POST /e {len(data)} {hashlib.sha256(data).hexdigest()}")
    assert proc.stdout.endswith("expect=100-continue")


def test_expect_100_continue_for_a_large_body(curl: str, srv: HTTPServer, tmp_path: Path) -> None:
    data = os.urandom(2 * 1024 * 1024)  # curl asks by itself above 1 MiB
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    proc = run_curl(curl, "-v", "--data-binary", f"@{path}", f"{srv.url}/big")
    assert "HTTP/1.1 100 Continue" in proc.stderr
    assert proc.stdout.startswith(f"POST /big {len(data)} {hashlib.sha256(data).hexdigest()}")


def test_body_over_the_limit_with_expect_gets_413(curl: str, tmp_path: Path) -> None:
    from sockit.limits import ServerLimits

    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (2 * 1024 * 1024))
    with running(app, limits=ServerLimits(max_body_size=1024 * 1024)) as server:
        proc = run_curl(
            curl,
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--data-binary",
            f"@{path}",
            f"{server.url}/big",
        )
    assert proc.stdout == "413"


def test_pipelined_raw_requests_over_one_socket(srv: HTTPServer) -> None:
    with RawClient(srv.port) as client:
        client.send(b"".join(f"GET /p{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for i in range(20)))
        bodies = [client.response().body for _ in range(20)]
    assert [b.split()[1] for b in bodies] == [f"/p{i}".encode() for i in range(20)]


def test_static_file_download(curl: str, tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    data = os.urandom(5 * 1024 * 1024 + 3)
    (root / "big.bin").write_bytes(data)
    out = tmp_path / "out.bin"
    with running(StaticFiles(root)) as server:
        run_curl(curl, "-o", str(out), f"{server.url}/big.bin")
        proc = run_curl(curl, "-o", "/dev/null", "-w", "%{http_code}", f"{server.url}/../x")
    assert out.read_bytes() == data
    assert proc.stdout in ("404", "400")  # curl itself squashes ".." in most cases
