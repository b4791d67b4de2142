"""``sockit get`` with -u/--digest, -L/--max-redirs, --retry, --raw, against sockit's server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit.server import HTTPServer, Response, ServerRequest
from tests.server.harness import running
from tests.support.digest_app import DigestApp

pytestmark = pytest.mark.interop


class Flaky:
    """/flaky answers 503 twice, then 200; /hop/N redirects down to /hop/0."""

    def __init__(self) -> None:
        self.left = 2

    def __call__(self, req: ServerRequest) -> Response:
        if req.path == "/flaky":
            self.left -= 1
            if self.left >= 0:
                return Response(503, [("Retry-After", "0")], b"busy")
            return Response(200, [], b"recovered\n")
        if req.path.startswith("/hop/"):
            n = int(req.path.rsplit("/", 1)[1])
            if n == 0:
                return Response(200, [], b"landed\n")
            return Response(302, [("Location", f"/hop/{n - 1}")])
        return Response(404)


def get(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sockit", "get", *args],
                          capture_output=True, timeout=60, check=False)


@pytest.fixture
def digest() -> Iterator[HTTPServer]:
    with running(DigestApp({"user": "pass"})) as server:
        yield server


def test_digest_and_basic_credentials(digest: HTTPServer) -> None:
    ok = get("--digest", "-u", "user:pass", "--fail", digest.url + "/protected")
    assert ok.returncode == 0, ok.stderr
    wrong = get("--digest", "-u", "user:nope", "--fail", digest.url + "/protected")
    assert wrong.returncode == 22
    basic = get("-u", "user:pass", "--fail", digest.url + "/basic")
    assert basic.returncode == 0, basic.stderr
    assert get("-u", "nocolon", digest.url + "/basic").returncode == 2


def test_location_and_max_redirs() -> None:
    with running(Flaky()) as server:
        plain = get("-i", server.url + "/hop/3")
        assert plain.stdout.startswith(b"HTTP/1.1 302")  # like curl: no -L, no following
        followed = get("-L", server.url + "/hop/3")
        assert followed.stdout == b"landed\n"
        capped = get("-L", "--max-redirs", "2", server.url + "/hop/3")
        assert capped.returncode == 47, capped.stderr


def test_retry_rides_out_503s() -> None:
    with running(Flaky()) as server:
        assert get("--fail", server.url + "/flaky").returncode == 22
    with running(Flaky()) as server:
        out = get("--retry", "3", "--fail", server.url + "/flaky")
        assert out.returncode == 0, out.stderr
        assert out.stdout == b"recovered\n"


class CookieApp:
    """/login sets a cookie; /whoami answers with the Cookie header it got."""

    def __call__(self, req: ServerRequest) -> Response:
        if req.path == "/login":
            return Response(200, [("Set-Cookie", "sid=s3cr3t; Path=/; Max-Age=3600")], b"in\n")
        return Response(200, [], (req.headers.get("cookie") or "-").encode())


def test_cookie_jar_round_trip_like_curl(tmp_path: Path) -> None:
    jar = tmp_path / "cookies.txt"
    with running(CookieApp()) as server:
        assert get("-c", str(jar), server.url + "/login").returncode == 0
        text = jar.read_text()
        assert "sid\ts3cr3t" in text  # the Netscape cookies.txt format curl reads
        assert get("-b", str(jar), server.url + "/whoami").stdout == b"sid=s3cr3t"
        assert get("-b", "a=1; b=2", server.url + "/whoami").stdout == b"a=1; b=2"
        assert get(server.url + "/whoami").stdout == b"-"
