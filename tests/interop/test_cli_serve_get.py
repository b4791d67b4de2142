"""``python -m sockit serve`` and ``get`` as a user runs them, checked with curl."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.peers import PeerProcess, free_port, require_program, run_peer

pytestmark = pytest.mark.interop


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[PeerProcess, Path]]:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_bytes(b"<h1>sockit</h1>\n")
    (root / "data.bin").write_bytes(bytes(range(256)) * 4096)
    (tmp_path / "secret.txt").write_bytes(b"outside the root\n")
    port = free_port()
    argv = [sys.executable, "-m", "sockit", "serve", str(root), "--port", str(port)]
    with run_peer(argv, port=port) as peer:
        yield peer, root


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([require_program("curl"), "-sS", *args], capture_output=True,
                          timeout=30, check=False)


def sockit_get(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sockit", "get", *args], capture_output=True,
                          timeout=30, check=False)


def test_serve_answers_curl(served: tuple[PeerProcess, Path]) -> None:
    peer, root = served
    base = f"http://127.0.0.1:{peer.port}"
    assert curl(f"{base}/hello").stdout == b"hello world\n"
    assert curl(f"{base}/healthz").stdout == b"ok\n"
    assert curl(f"{base}/").stdout == b"<h1>sockit</h1>\n"
    big = curl(f"{base}/data.bin")
    assert big.stdout == (root / "data.bin").read_bytes()
    head = curl("-I", f"{base}/data.bin").stdout.decode()
    assert head.startswith("HTTP/1.1 200")
    assert f"Content-Length: {256 * 4096}" in head
    for attack in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"):
        out = curl("--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", base + attack)
        assert out.stdout == b"404", attack


def test_get_prints_body_and_headers(served: tuple[PeerProcess, Path]) -> None:
    peer, _ = served
    base = f"http://127.0.0.1:{peer.port}"
    out = sockit_get(f"{base}/hello")
    assert (out.returncode, out.stdout) == (0, b"hello world\n")
    out = sockit_get("-i", f"{base}/hello")
    assert out.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
    assert out.stdout.endswith(b"\r\n\r\nhello world\n")


def test_serve_speaks_h2c_to_curl_nghttp_and_sockit_get(served: tuple[PeerProcess, Path]) -> None:
    peer, root = served
    base = f"http://127.0.0.1:{peer.port}"
    prior = curl("--http2-prior-knowledge", "-w", " %{http_version}", f"{base}/hello")
    assert prior.stdout == b"hello world\n 2"
    upgraded = curl("--http2", "-w", " %{http_version}", f"{base}/healthz")
    assert upgraded.stdout == b"ok\n 2"
    big = curl("--http2-prior-knowledge", f"{base}/data.bin")
    assert big.stdout == (root / "data.bin").read_bytes()
    nghttp = subprocess.run([require_program("nghttp"), "-n", "-s", f"{base}/hello", f"{base}/"],
                            capture_output=True, timeout=30, check=False, text=True)
    assert nghttp.returncode == 0 and nghttp.stdout.count(" 200 ") == 2, nghttp.stdout
    out = sockit_get("--http2-prior-knowledge", "-i", f"{base}/hello")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(b"HTTP/2 200 ")
    assert out.stdout.endswith(b"\r\n\r\nhello world\n")


def test_get_writes_file_and_sends_data(served: tuple[PeerProcess, Path], tmp_path: Path) -> None:
    peer, root = served
    target = tmp_path / "copy.bin"
    out = sockit_get("-o", str(target), f"http://127.0.0.1:{peer.port}/data.bin")
    assert out.returncode == 0, out.stderr
    assert target.read_bytes() == (root / "data.bin").read_bytes()
    out = sockit_get("-v", "-d", "a=1", f"http://127.0.0.1:{peer.port}/hello")
    assert out.returncode == 0
    assert b"> POST" in out.stderr


def test_get_exit_codes(served: tuple[PeerProcess, Path]) -> None:
    peer, _ = served
    missing = sockit_get("--fail", f"http://127.0.0.1:{peer.port}/missing")
    assert missing.returncode == 22
    assert sockit_get(f"http://127.0.0.1:{peer.port}/missing").returncode == 0
    refused = sockit_get(f"http://127.0.0.1:{free_port()}/")
    assert refused.returncode == 7
    assert b"cannot connect" in refused.stderr
    assert sockit_get("-H", "no-colon", f"http://127.0.0.1:{peer.port}/").returncode == 2


def test_ws_command_and_websocat_against_serve(served: tuple[PeerProcess, Path]) -> None:
    peer, _ = served
    url = f"ws://127.0.0.1:{peer.port}/ws/echo"
    out = subprocess.run([sys.executable, "-m", "sockit", "ws", "-1", url],
                         input=b"first line\nsecond \xc3\xa9\n", capture_output=True,
                         timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "first line\nsecond é\n".encode()
    websocat = subprocess.run([require_program("websocat"), "-1", url], input=b"via websocat\n",
                              capture_output=True, timeout=30, check=False)
    assert websocat.returncode == 0, websocat.stderr
    assert websocat.stdout == b"via websocat\n"
    argv = [sys.executable, "-m", "sockit", "ws", f"ws://127.0.0.1:{peer.port}/hello"]
    refused = subprocess.run(argv, input=b"", capture_output=True, timeout=30, check=False)
    assert refused.returncode == 1 and b"200" in refused.stderr
