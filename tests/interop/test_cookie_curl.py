"""Cookie files shared with curl: what ``curl -c`` writes loads into our jar,
and what our jar saves, ``curl -b`` reads and sends.

A tiny stdlib HTTP server on loopback sets cookies on ``/set`` and records the
``Cookie`` header of every request; ``--resolve`` gives it a host name so
domain cookies (which never apply to IP addresses) are exercised too.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sockit.client.cookies import CookieJar
from tests.support.peers import require_program

pytestmark = pytest.mark.interop

HOST = "www.cookies.test"
SET_COOKIES = (
    "persist=p1; Path=/; Max-Age=3600",
    "session=s1; Path=/",
    "dom=d1; Domain=cookies.test; Path=/; Max-Age=3600",
    "http=h1; Path=/; HttpOnly; Max-Age=3600",
    "deep=x1; Path=/app; Max-Age=3600",
)


class _Server(ThreadingHTTPServer):
    seen: list[tuple[str, str | None]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Cookie")))
        self.send_response(200)
        if self.path == "/set":
            for value in SET_COOKIES:
                self.send_header("Set-Cookie", value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # stdlib signature
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.seen = []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _curl(server: _Server, path: str, *args: str) -> None:
    curl = require_program("curl")
    port = server.server_address[1]
    url = f"http://{HOST}:{port}{path}"
    subprocess.run(
        [curl, "-sS", "--max-time", "10", "--resolve", f"{HOST}:{port}:127.0.0.1", *args, url],
        check=True,
        capture_output=True,
        timeout=15,
    )


def _url(server: _Server, path: str) -> str:
    return f"http://{HOST}:{server.server_address[1]}{path}"


def _pairs(header: str | None) -> set[str]:
    return set() if header is None else set(header.split("; "))


def test_curl_jar_loads_into_ours(server: _Server, tmp_path: Path) -> None:
    jar_file = tmp_path / "curl.txt"
    _curl(server, "/set", "-c", str(jar_file))
    text = jar_file.read_text("latin-1")
    assert "#HttpOnly_" in text and ".cookies.test" in text
    jar = CookieJar.load(jar_file)
    assert sorted(c.name for c in jar) == ["deep", "dom", "http", "persist", "session"]
    header = jar.header_for(_url(server, "/app/page"))
    assert header is not None and header.startswith("deep=x1; ")
    assert _pairs(header) == {"persist=p1", "session=s1", "dom=d1", "http=h1", "deep=x1"}
    assert _pairs(jar.header_for("http://api.cookies.test/")) == {"dom=d1"}
    (http_only,) = (c for c in jar if c.name == "http")
    assert http_only.http_only and http_only.expires is not None
    assert http_only.expires == pytest.approx(time.time() + 3600, abs=60)


def test_our_jar_is_sent_by_curl(server: _Server, tmp_path: Path) -> None:
    jar = CookieJar()
    url = _url(server, "/set")
    assert jar.extract(url, [("Set-Cookie", v) for v in SET_COOKIES]) == len(SET_COOKIES)
    jar.extract("http://other.example/", [("Set-Cookie", "foreign=no; Max-Age=3600")])
    jar_file = tmp_path / "ours.txt"
    assert jar.save(jar_file, include_session=True) == len(SET_COOKIES) + 1
    _curl(server, "/app/x", "-b", str(jar_file))
    _curl(server, "/", "-b", str(jar_file))
    (path1, sent1), (path2, sent2) = server.seen
    assert (path1, path2) == ("/app/x", "/")
    assert _pairs(sent1) == {"persist=p1", "session=s1", "dom=d1", "http=h1", "deep=x1"}
    assert sent1 is not None and sent1.startswith("deep=x1; ")  # longest path first, as ours
    assert _pairs(jar.header_for(_url(server, "/app/x"))) == _pairs(sent1)
    assert _pairs(sent2) == {"persist=p1", "session=s1", "dom=d1", "http=h1"}


def test_round_trip_through_curl(server: _Server, tmp_path: Path) -> None:
    jar = CookieJar()
    jar.extract(_url(server, "/set"), [("Set-Cookie", v) for v in SET_COOKIES])
    ours, theirs = tmp_path / "ours.txt", tmp_path / "theirs.txt"
    jar.save(ours)  # persistent cookies only
    _curl(server, "/", "-b", str(ours), "-c", str(theirs))
    again = CookieJar.load(theirs)
    snapshot = {(c.name, c.value, c.domain, c.path, c.host_only, c.http_only) for c in jar}
    snapshot = {s for s in snapshot if s[0] != "session"}
    assert {(c.name, c.value, c.domain, c.path, c.host_only, c.http_only) for c in again} == (
        snapshot
    )
    expires = {c.name: c.expires for c in jar}
    assert all(c.expires == int(expires[c.name] or 0) for c in again)
