"""103 Early Hints from sockit's server as curl sees them (HTTP/1.1 and HTTP/2 h2c)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from sockit.server import HTTPServer, Response, ServerRequest
from tests.server.harness import running
from tests.support.peers import require_program

pytestmark = pytest.mark.interop

LINK = "</style.css>; rel=preload; as=style"


def app(request: ServerRequest) -> Response:
    request.send_informational(103, [("Link", LINK)])
    return Response(200, [("Content-Type", "text/plain")], b"after the hint\n")


@pytest.fixture
def srv() -> Iterator[HTTPServer]:
    with running(app) as server:
        yield server


@pytest.mark.parametrize(
    "flag, version", [("--http1.1", "HTTP/1.1"), ("--http2-prior-knowledge", "HTTP/2")]
)
def test_curl_shows_the_hint_before_the_answer(srv: HTTPServer, flag: str, version: str) -> None:
    curl = require_program("curl")
    proc = subprocess.run(
        [curl, "-sS", "-v", "--max-time", "20", flag, f"{srv.url}/page"],
        capture_output=True, text=True, timeout=40, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "after the hint\n"
    received = [line[2:] for line in proc.stderr.splitlines() if line.startswith("< ")]
    hint = next(i for i, line in enumerate(received) if line.startswith(f"{version} 103"))
    final = next(i for i, line in enumerate(received) if line.startswith(f"{version} 200"))
    assert hint < final
    assert any(line.lower() == f"link: {LINK}".lower() for line in received[hint:final])


def test_curl_http10_sees_no_hint(srv: HTTPServer) -> None:
    curl = require_program("curl")
    proc = subprocess.run(
        [curl, "-sS", "-v", "--max-time", "20", "--http1.0", f"{srv.url}/page"],
        capture_output=True, text=True, timeout=40, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "after the hint\n"
    assert not any(line.startswith("< HTTP/1.1 103") for line in proc.stderr.splitlines())
