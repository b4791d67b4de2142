"""StaticFiles: what is served, and every way out of the root refused with 404."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit.proto.http import format_http_date
from sockit.server import HTTPServer, StaticFiles, make_app
from tests.server.harness import running
from tests.server.rawclient import RawClient

SECRET = b"top secret, outside the root\n"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """root/ with files, a subdirectory, hidden files and symlinks; secret.txt beside it."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(SECRET)
    root = tmp_path / "root"
    root.mkdir()
    (root / "index.html").write_bytes(b"<h1>home</h1>\n")
    (root / "data.json").write_bytes(b'{"a": 1}\n')
    (root / "blob.bin").write_bytes(os.urandom(100_000))
    (root / "archive.tar.gz").write_bytes(b"\x1f\x8b not really")
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_bytes(b"<h1>sub</h1>\n")
    (root / "sub" / "page.txt").write_bytes(b"a page\n")
    (root / "sub" / ".git").mkdir()
    (root / "sub" / ".git" / "config").write_bytes(b"[core]\n")
    (root / ".env").write_bytes(b"PASSWORD=x\n")
    (root / "empty").mkdir()
    (root / "link_in").symlink_to(root / "sub" / "page.txt")
    (root / "link_file").symlink_to(tmp_path / "secret.txt")
    (root / "link_dir").symlink_to(tmp_path / "outside")
    (root / "link_rel").symlink_to(Path("..") / "secret.txt")
    os.mkfifo(root / "fifo")
    return root


@pytest.fixture
def static_server(site: Path) -> Iterator[HTTPServer]:
    with running(StaticFiles(site)) as srv:
        yield srv


ESCAPES = [
    ("/../secret.txt", 404),
    ("/%2e%2e/secret.txt", 404),
    ("/%2E%2E/secret.txt", 404),
    ("/sub/../../secret.txt", 404),
    ("/sub/%2e%2e/%2e%2e/secret.txt", 404),
    ("/..%2fsecret.txt", 404),
    ("/%2e%2e%2fsecret.txt", 404),
    ("/..%2Fsecret.txt", 404),
    ("/..%5csecret.txt", 404),
    ("/..\\secret.txt", 404),
    ("/sub\\..\\..\\secret.txt", 404),
    ("/index.html%00.txt", 404),
    ("/%00", 404),
    ("/sub/..%00/", 404),
    ("/%252e%252e/secret.txt", 404),  # double-encoded: a literal "%2e%2e" name, not ".."
    ("/%c0%ae%c0%ae/secret.txt", 404),  # overlong UTF-8 dots
    ("//secret.txt", 404),
    ("/sub//page.txt", 404),
    ("/./index.html", 404),
    ("/link_file", 404),
    ("/link_dir/secret.txt", 404),
    ("/link_rel", 404),
    ("/.env", 404),
    ("/sub/.git/config", 404),
    ("/%2eenv", 404),
    ("/fifo", 404),
    ("http://t/../secret.txt", 404),  # absolute-form target
    ("/%zz", 404),
    ("/empty/", 404),  # a directory without an index: no listing
]


@pytest.mark.parametrize(("target", "status"), ESCAPES, ids=[t for t, _ in ESCAPES])
def test_escape_attempts_are_refused(static_server: HTTPServer, target: str, status: int) -> None:
    with RawClient(static_server.port) as client:
        client.send(f"GET {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        resp = client.response()
        assert resp.status == status
        assert SECRET not in resp.body
        assert client.get("/index.html").status == 200  # and the connection goes on


def test_resolve_refuses_every_escape_directly(site: Path) -> None:
    static = StaticFiles(site)
    for target, _ in ESCAPES:
        raw = target.encode()
        if raw.startswith(b"http://"):
            raw = raw[len(b"http://t") :]
        segments = static.resolve(raw)
        if segments is not None:  # passes the syntax rules: must then fail at open
            assert target in {"/link_file", "/link_dir/secret.txt", "/link_rel", "/fifo"} or (
                target in {"/%252e%252e/secret.txt", "/empty/"}
            )


@pytest.mark.parametrize(
    ("target", "body", "ctype"),
    [
        ("/", b"<h1>home</h1>\n", "text/html; charset=utf-8"),
        ("/index.html", b"<h1>home</h1>\n", "text/html; charset=utf-8"),
        ("/sub/", b"<h1>sub</h1>\n", "text/html; charset=utf-8"),
        ("/sub/page.txt", b"a page\n", "text/plain; charset=utf-8"),
        ("/data.json", b'{"a": 1}\n', "application/json; charset=utf-8"),
        ("/link_in", b"a page\n", "application/octet-stream"),
        ("/archive.tar.gz", b"\x1f\x8b not really", "application/octet-stream"),
        ("/sub/%70age.txt", b"a page\n", "text/plain; charset=utf-8"),
    ],
)
def test_files_are_served(static_server: HTTPServer, target: str, body: bytes, ctype: str) -> None:
    with RawClient(static_server.port) as client:
        resp = client.get(target)
    assert resp.status == 200
    assert resp.body == body
    assert resp.header("content-type") == ctype
    assert resp.header("content-length") == str(len(body))
    assert resp.header("last-modified") is not None


def test_large_file_and_head(static_server: HTTPServer, site: Path) -> None:
    data = (site / "blob.bin").read_bytes()
    with RawClient(static_server.port) as client:
        assert client.get("/blob.bin").body == data
        client.send(b"HEAD /blob.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        head = client.response(method="HEAD")
        assert head.header("content-length") == str(len(data))
        assert client.get("/data.json").body == b'{"a": 1}\n'


def test_directory_without_slash_redirects(static_server: HTTPServer) -> None:
    with RawClient(static_server.port) as client:
        resp = client.get("/sub?x=1")
    assert resp.status == 301
    assert resp.header("location") == "/sub/?x=1"


def test_other_methods_get_405_with_allow(static_server: HTTPServer) -> None:
    with RawClient(static_server.port) as client:
        client.send(b"POST /index.html HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi")
        resp = client.response()
    assert resp.status == 405
    assert resp.header("allow") == "GET, HEAD"


def test_if_modified_since_gives_304(static_server: HTTPServer, site: Path) -> None:
    mtime = (site / "index.html").stat().st_mtime
    with RawClient(static_server.port) as client:
        fresh = client.get("/index.html", extra=f"If-Modified-Since: {format_http_date(mtime)}\r\n")
        stale = client.get(
            "/index.html", extra=f"If-Modified-Since: {format_http_date(mtime - 10)}\r\n"
        )
    assert fresh.status == 304
    assert fresh.body == b""
    assert stale.status == 200


def test_make_app_serves_hello_healthz_and_files(site: Path) -> None:
    with running(make_app(str(site))) as srv, RawClient(srv.port) as client:
        hello = client.get("/hello")
        health = client.get("/healthz")
        index = client.get("/")
    assert (hello.status, hello.body) == (200, b"hello world\n")
    assert hello.header("content-type") == "text/plain; charset=utf-8"
    assert (health.status, health.body) == (200, b"ok\n")
    assert index.body == b"<h1>home</h1>\n"


def test_root_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        StaticFiles(tmp_path / "missing")
