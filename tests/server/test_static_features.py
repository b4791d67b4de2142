"""StaticFiles: precompressed variants, mounts, Cache-Control, MIME types, methods."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from sockit.proto.http import Headers
from sockit.proto.http1 import Request
from sockit.server import HTTPServer, Response, ServerRequest, StaticFiles
from sockit.server.request import RequestOwner
from sockit.server.static import Mounts
from tests.server.harness import fd_count, running
from tests.server.rawclient import RawClient

JS = b"console.log('hello');\n" * 50
GZ = gzip.compress(JS)
BR = b"not really brotli, but the bytes of app.js.br"
MTIME = 1_700_000_000


def clock() -> float:
    return MTIME + 3600.0


def call(
    app: StaticFiles | Mounts,
    target: str,
    headers: list[tuple[str, str]] | None = None,
    method: bytes = b"GET",
) -> tuple[Response, bytes]:
    event = Request(method, target.encode(), Headers([("Host", "t"), *(headers or [])]))
    request = ServerRequest(cast(RequestOwner, None), event, b"", None, ("127.0.0.1", 1))
    response = app(request)
    assert response is not None
    body = response.body
    if isinstance(body, bytes):
        return response, body
    read = getattr(body, "read", None)
    if read is not None:
        try:
            return response, cast(bytes, read())
        finally:
            body.close()  # type: ignore[union-attr]
    return response, b"".join(cast(Iterator[bytes], body))


def header(response: Response, name: str) -> str | None:
    return Headers(response.headers).get(name)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (tmp_path / "secret.js.gz").write_bytes(b"SECRET")
    files = {
        "app.js": JS,
        "app.js.gz": GZ,
        "app.js.br": BR,
        "only.css": b"body{}\n",
        "only.css.gz": gzip.compress(b"body{}\n"),
        "plain.txt": b"plain\n",
        "archive.tar.gz": b"\x1f\x8b archive",
        "leak.js": b"leak\n",
        "dirvariant.js": b"dir\n",
        "index.html": b"<h1>site</h1>\n",
    }
    for name, data in files.items():
        (site / name).write_bytes(data)
    (site / "leak.js.gz").symlink_to(tmp_path / "secret.js.gz")  # a variant leading out
    (site / "dirvariant.js.gz").mkdir()  # a variant that is not a file
    (site / "docs").mkdir()
    (site / "docs" / "index.html").write_bytes(b"<h1>docs</h1>\n")
    for path in site.rglob("*"):
        os.utime(path, (MTIME, MTIME), follow_symlinks=False)
    return site


@pytest.fixture
def app(root: Path) -> StaticFiles:
    return StaticFiles(root, clock=clock)


ENCODINGS = [
    (None, "identity"),
    ("gzip", "gzip"),
    ("br", "br"),
    ("gzip, br", "br"),  # equal weights: the server's preference (br)
    ("gzip, deflate, br, zstd", "br"),
    ("br;q=0.5, gzip", "gzip"),
    ("br;q=0.5, gzip;q=0.4", "br"),
    ("br;q=0, gzip;q=0", "identity"),
    ("identity", "identity"),
    ("deflate", "identity"),
    ("*", "br"),
    ("br;q=0, *", "gzip"),
    ("x-gzip", "gzip"),
    ("GZIP", "gzip"),
    ("", "identity"),
    ("gzip;q=2", "identity"),  # malformed: ignored
    ("gzip;level=9", "identity"),  # malformed: ignored
]


@pytest.mark.parametrize(("accept", "coding"), ENCODINGS, ids=[str(a) for a, _ in ENCODINGS])
def test_precompressed_selection(app: StaticFiles, accept: str | None, coding: str) -> None:
    before = fd_count()
    fields = [] if accept is None else [("Accept-Encoding", accept)]
    response, body = call(app, "/app.js", fields)
    assert response.status == 200
    assert header(response, "vary") == "Accept-Encoding"
    assert header(response, "content-type") == "text/javascript; charset=utf-8"
    expected = {"identity": JS, "gzip": GZ, "br": BR}[coding]
    assert body == expected
    if coding == "identity":
        assert header(response, "content-encoding") is None
        assert header(response, "accept-ranges") == "bytes"
    else:
        assert header(response, "content-encoding") == coding
        assert header(response, "accept-ranges") is None  # ranges only ever mean identity
    assert fd_count() == before


def test_each_variant_has_its_own_etag(app: StaticFiles) -> None:
    tags = {
        header(call(app, "/app.js", [("Accept-Encoding", ae)])[0], "etag")
        for ae in ("identity", "gzip", "br")
    }
    assert len(tags) == 3
    identity = header(call(app, "/app.js")[0], "etag")
    assert identity is not None
    # the gzip representation does not match the identity tag: full answer
    response, body = call(
        app, "/app.js", [("Accept-Encoding", "gzip"), ("If-None-Match", identity)]
    )
    assert (response.status, body) == (200, GZ)
    response, _ = call(app, "/app.js", [("If-None-Match", identity)])
    assert response.status == 304
    assert header(response, "vary") == "Accept-Encoding"


def test_range_requests_get_the_identity_file(app: StaticFiles) -> None:
    response, body = call(app, "/app.js", [("Accept-Encoding", "gzip, br"), ("Range", "bytes=0-9")])
    assert (response.status, body) == (206, JS[:10])
    assert header(response, "content-encoding") is None
    assert header(response, "vary") == "Accept-Encoding"
    head, _ = call(app, "/app.js", [("Accept-Encoding", "gzip"), ("Range", "bytes=0-9")], b"HEAD")
    assert head.status == 200  # HEAD ignores Range, so it may use the variant
    assert header(head, "content-encoding") == "gzip"


def test_only_existing_variants_are_offered(app: StaticFiles) -> None:
    response, body = call(app, "/only.css", [("Accept-Encoding", "br")])
    assert body == b"body{}\n"
    assert header(response, "vary") == "Accept-Encoding"  # a gzip variant exists
    response, body = call(app, "/only.css", [("Accept-Encoding", "br, gzip")])
    assert header(response, "content-encoding") == "gzip"
    assert gzip.decompress(body) == b"body{}\n"
    response, _ = call(app, "/plain.txt", [("Accept-Encoding", "gzip")])
    assert header(response, "vary") is None  # no variant: nothing varies


def test_variants_pass_the_same_checks(app: StaticFiles) -> None:
    response, body = call(app, "/leak.js", [("Accept-Encoding", "gzip")])
    assert (body, header(response, "content-encoding")) == (b"leak\n", None)
    response, body = call(app, "/dirvariant.js", [("Accept-Encoding", "gzip")])
    assert (body, header(response, "content-encoding")) == (b"dir\n", None)


def test_compressed_files_are_served_as_they_are(app: StaticFiles) -> None:
    response, body = call(app, "/archive.tar.gz", [("Accept-Encoding", "gzip")])
    assert body == b"\x1f\x8b archive"
    assert header(response, "content-type") == "application/octet-stream"
    assert header(response, "content-encoding") is None
    response, body = call(app, "/app.js.gz")
    assert body == GZ and header(response, "content-encoding") is None


def test_precompressed_can_be_turned_off(root: Path) -> None:
    app = StaticFiles(root, precompressed=(), clock=clock)
    response, body = call(app, "/app.js", [("Accept-Encoding", "gzip, br")])
    assert body == JS
    assert header(response, "vary") is None
    gzip_only = StaticFiles(root, precompressed=("gzip",), clock=clock)
    assert call(gzip_only, "/app.js", [("Accept-Encoding", "br, gzip")])[1] == GZ
    with pytest.raises(ValueError, match="precompressed"):
        StaticFiles(root, precompressed=("deflate",))


def test_the_index_has_variants_too(root: Path) -> None:
    (root / "docs" / "index.html.gz").write_bytes(gzip.compress(b"<h1>docs</h1>\n"))
    app = StaticFiles(root, clock=clock)
    response, body = call(app, "/docs/", [("Accept-Encoding", "gzip")])
    assert header(response, "content-encoding") == "gzip"
    assert header(response, "content-type") == "text/html; charset=utf-8"
    assert gzip.decompress(body) == b"<h1>docs</h1>\n"


# -- Cache-Control, MIME types, methods ---------------------------------------------------------


def test_cache_control(root: Path) -> None:
    app = StaticFiles(root, max_age=3600, clock=clock)
    for fields in (
        [],
        [("Range", "bytes=0-1")],
        [("If-Modified-Since", "Tue, 14 Nov 2023 22:13:20 GMT")],
    ):
        response, _ = call(app, "/plain.txt", fields)
        assert header(response, "cache-control") == "max-age=3600", response.status
    custom = StaticFiles(root, cache_control="public, max-age=31536000, immutable", clock=clock)
    assert header(call(custom, "/plain.txt")[0], "cache-control") == (
        "public, max-age=31536000, immutable"
    )
    assert header(call(StaticFiles(root), "/plain.txt")[0], "cache-control") is None
    with pytest.raises(ValueError, match="not both"):
        StaticFiles(root, max_age=1, cache_control="no-cache")
    with pytest.raises(ValueError, match="max_age"):
        StaticFiles(root, max_age=-1)


@pytest.mark.parametrize(
    ("name", "ctype"),
    [
        ("a.html", "text/html; charset=utf-8"),
        ("a.css", "text/css; charset=utf-8"),
        ("a.txt", "text/plain; charset=utf-8"),
        ("a.json", "application/json; charset=utf-8"),
        ("a.svg", "image/svg+xml; charset=utf-8"),
        ("a.png", "image/png"),
        ("a.pdf", "application/pdf"),
        ("a.unknownext", "application/octet-stream"),
        ("noext", "application/octet-stream"),
        ("a.tar.bz2", "application/octet-stream"),
    ],
)
def test_mime_types(root: Path, name: str, ctype: str) -> None:
    (root / name).write_bytes(b"x")
    assert header(call(StaticFiles(root), "/" + name)[0], "content-type") == ctype


@pytest.mark.parametrize("method", [b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"get"])
def test_other_methods_are_405(app: StaticFiles, method: bytes) -> None:
    response, _ = call(app, "/plain.txt", method=method)
    assert response.status == 405
    assert header(response, "allow") == "GET, HEAD"


def test_head_matches_get(app: StaticFiles) -> None:
    get, body = call(app, "/app.js", [("Accept-Encoding", "gzip")])
    head, _ = call(app, "/app.js", [("Accept-Encoding", "gzip")], b"HEAD")
    assert get.headers == head.headers
    assert body == GZ


# -- Mounts -------------------------------------------------------------------------------------


@pytest.fixture
def mounts(tmp_path: Path, root: Path) -> Mounts:
    assets = tmp_path / "assets"
    (assets / "img").mkdir(parents=True)
    (assets / "app.js").write_bytes(b"assets app\n")
    (assets / "img" / "index.html").write_bytes(b"img index\n")
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "app.js").write_bytes(b"deep app\n")
    return Mounts(
        {
            "/": StaticFiles(root),
            "/static": StaticFiles(assets),
            "/static/v2/": StaticFiles(deep),
        }
    )


MOUNTED = [
    ("/app.js", 200, JS),
    ("/static/app.js", 200, b"assets app\n"),
    ("/static/v2/app.js", 200, b"deep app\n"),  # longest prefix wins
    ("/static/v2", 301, b""),
    ("/static/v3/app.js", 404, b""),
    ("/static/img/", 200, b"img index\n"),
    ("/staticfoo/app.js", 404, b""),  # a prefix matches whole segments only
    ("/static/../app.js", 404, b""),
    ("/static/%2e%2e/app.js", 404, b""),
    ("/static/..%2fapp.js", 404, b""),
    ("/docs/", 200, b"<h1>docs</h1>\n"),
]


@pytest.mark.parametrize(("target", "status", "body"), MOUNTED, ids=[t for t, _, _ in MOUNTED])
def test_mounts(mounts: Mounts, target: str, status: int, body: bytes) -> None:
    response, got = call(mounts, target)
    assert response.status == status
    if status == 200:
        assert got == body


def test_mount_points_and_directories_redirect_with_their_prefix(mounts: Mounts) -> None:
    assert header(call(mounts, "/static")[0], "location") == "/static/"
    assert header(call(mounts, "/static/img?x=1")[0], "location") == "/static/img/?x=1"
    assert header(call(mounts, "/docs")[0], "location") == "/docs/"


def test_mounts_fallback_and_errors(tmp_path: Path, root: Path) -> None:
    def fallback(request: ServerRequest) -> Response:
        return Response(200, [("Content-Type", "text/plain")], b"fallback " + request.raw_path)

    only = Mounts({"/files": StaticFiles(root)}, fallback=fallback)
    assert call(only, "/other")[1] == b"fallback /other"
    assert call(only, "/files/plain.txt")[1] == b"plain\n"
    bare = Mounts({"/files": StaticFiles(root)})
    assert call(bare, "/other")[0].status == 404
    with pytest.raises(ValueError, match="twice"):
        Mounts({"/a": StaticFiles(root), "/a/": StaticFiles(root)})
    for bad in ("a", "", "/a?b", "/a#b"):
        with pytest.raises(ValueError, match="prefix"):
            Mounts({bad: StaticFiles(root)})


def test_mounts_over_the_wire(mounts: Mounts) -> None:
    with running(mounts) as srv, RawClient(srv.port) as client:
        one = client.get("/static/app.js", extra="Range: bytes=0-5\r\n")
        two = client.get("/app.js", extra="Accept-Encoding: gzip\r\n")
        three = client.get("/static")
    assert (one.status, one.body) == (206, b"assets")
    assert (two.status, two.body, two.header("content-encoding")) == (200, GZ, "gzip")
    assert (three.status, three.header("location")) == (301, "/static/")


@pytest.fixture
def server(app: StaticFiles) -> Iterator[HTTPServer]:
    with running(app) as srv:
        yield srv


def test_precompressed_over_the_wire(server: HTTPServer) -> None:
    with RawClient(server.port) as client:
        br = client.get("/app.js", extra="Accept-Encoding: br;q=1, gzip;q=0.5\r\n")
        plain = client.get("/app.js")
        client.send(b"HEAD /app.js HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
        head = client.response(method="HEAD")
    assert (br.body, br.header("content-encoding"), br.header("vary")) == (
        BR,
        "br",
        "Accept-Encoding",
    )
    assert (plain.body, plain.header("content-encoding")) == (JS, None)
    assert head.header("content-length") == str(len(GZ))
    assert head.header("content-encoding") == "gzip"


def test_stale_variants_are_never_served(root: Path) -> None:
    os.utime(root / "app.js.gz", (MTIME - 1, MTIME - 1))  # app.js was edited after it
    app = StaticFiles(root, clock=clock)
    response, body = call(app, "/app.js", [("Accept-Encoding", "gzip")])
    assert (body, header(response, "content-encoding")) == (JS, None)
    assert header(response, "vary") == "Accept-Encoding"  # br is still a variant
    assert call(app, "/app.js", [("Accept-Encoding", "gzip, br")])[1] == BR
    os.utime(root / "app.js.br", (MTIME - 1, MTIME - 1))
    response, body = call(app, "/app.js", [("Accept-Encoding", "gzip, br")])
    assert (body, header(response, "vary")) == (JS, None)
