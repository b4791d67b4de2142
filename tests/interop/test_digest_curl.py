"""curl (a client nobody here wrote) against tests/support/digest_app.py on sockit's server.

This checks the server-side Digest arithmetic the flow tests rely on, and
so, indirectly, that sockit's own client agrees with curl.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from sockit.server import HTTPServer
from tests.server.harness import running
from tests.support.digest_app import DigestApp
from tests.support.peers import require_program

pytestmark = pytest.mark.interop


@pytest.fixture
def curl() -> str:
    return require_program("curl")


@pytest.fixture
def app() -> DigestApp:
    return DigestApp({"user": "pass", "J\u00e4s\u00f8n": "p\u00e4ss w:rd"})


@pytest.fixture
def srv(app: DigestApp) -> Iterator[HTTPServer]:
    with running(app) as server:
        yield server


def run_curl(curl: str, *args: str) -> tuple[str, list[str]]:
    """curl's body plus status line, and the Authorization lines it sent."""
    proc = subprocess.run(
        [curl, "-sS", "-v", "--max-time", "20", "-w", "%{http_code}", *args],
        capture_output=True,
        timeout=40,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    sent = [line for line in proc.stderr.decode("latin-1").splitlines()
            if line.startswith("> Authorization:")]
    return proc.stdout.decode("utf-8"), sent


@pytest.mark.parametrize(
    ("path", "algorithm"),
    [
        ("/protected", "SHA-256"),  # both offered, SHA-256 first
        ("/protected/md5", "MD5"),
        ("/protected/sha256", "SHA-256"),
        ("/protected/md5-sess", "MD5-sess"),
        ("/protected/sha256-sess", "SHA-256-sess"),
    ],
)
def test_curl_digest(curl: str, srv: HTTPServer, app: DigestApp, path: str, algorithm: str) -> None:
    out, sent = run_curl(curl, "--digest", "-u", "user:pass", f"{srv.url}{path}?x=1")
    assert out == "hello user\n200"
    assert len(sent) == 1 and f"algorithm={algorithm}" in sent[0]
    assert app.stats[f"ok {algorithm}"] == 1 and app.stats["digest_challenges"] == 1


def test_curl_digest_wrong_password(curl: str, srv: HTTPServer, app: DigestApp) -> None:
    out, sent = run_curl(curl, "--digest", "-u", "user:nope", f"{srv.url}/protected")
    assert out.endswith("401") and len(sent) == 1
    assert app.stats["digest_failures"] == 1 and app.stats["digest_ok"] == 0


def test_curl_digest_non_ascii_credentials(curl: str, srv: HTTPServer, app: DigestApp) -> None:
    out, _ = run_curl(curl, "--digest", "-u", "J\u00e4s\u00f8n:p\u00e4ss w:rd",
                      f"{srv.url}/protected/md5")
    assert out == "hello J\u00e4s\u00f8n\n200"


def test_curl_digest_several_urls(curl: str, srv: HTTPServer, app: DigestApp) -> None:
    urls = [f"{srv.url}/protected/sha256"] * 3
    out, sent = run_curl(curl, "--digest", "-u", "user:pass", *urls)
    assert out == "hello user\n200" * 3
    assert app.stats["digest_ok"] == 3 and len(sent) == 3


def test_curl_basic(curl: str, srv: HTTPServer, app: DigestApp) -> None:
    out, sent = run_curl(curl, "--basic", "-u", "user:pass", f"{srv.url}/basic")
    assert out == "hello user\n200"
    assert sent == ["> Authorization: Basic dXNlcjpwYXNz"]
    out, _ = run_curl(curl, "--basic", "-u", "J\u00e4s\u00f8n:p\u00e4ss w:rd", f"{srv.url}/basic")
    assert out == "hello J\u00e4s\u00f8n\n200"
    out, _ = run_curl(curl, "--basic", "-u", "user:wrong", f"{srv.url}/basic")
    assert out == "unauthorized\n401"
    assert app.stats["basic_ok"] == 2


def test_curl_without_credentials_is_challenged(curl: str, srv: HTTPServer) -> None:
    proc = subprocess.run(
        [curl, "-sS", "-D", "-", "-o", "/dev/null", f"{srv.url}/protected"],
        capture_output=True, text=True, timeout=40, check=False,
    )
    lines = [line for line in proc.stdout.splitlines()
             if line.lower().startswith("www-authenticate:")]
    assert proc.stdout.startswith("HTTP/1.1 401")
    assert len(lines) == 2
    assert "algorithm=SHA-256" in lines[0] and "algorithm=MD5" in lines[1]
    assert 'qop="auth"' in lines[0]


def test_curl_digest_stale_nonce_retry(curl: str) -> None:
    app = DigestApp(stale_first=True)
    with running(app) as server:
        out, sent = run_curl(curl, "--digest", "-u", "user:pass", f"{server.url}/protected/md5")
    assert out == "hello user\n200"
    assert len(sent) == 2  # the stale answer, then the one with the new nonce
    assert app.stats["stale"] == 1 and app.stats["digest_ok"] == 1
    assert app.stats["digest_failures"] == 0


def test_curl_digest_userhash(curl: str) -> None:
    app = DigestApp(userhash=True)
    with running(app) as server:
        out, sent = run_curl(curl, "--digest", "-u", "user:pass", f"{server.url}/protected/sha256")
    assert out == "hello user\n200"
    assert "userhash=true" in sent[0] and 'username="user"' not in sent[0]
