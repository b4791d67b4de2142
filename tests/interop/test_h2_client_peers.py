"""sockit's HTTP/2 client against nghttpd and nginx's h2c port (prior knowledge)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit import HTTPClient
from tests.support.nginx import nginx_config
from tests.support.peers import free_port, require_program, run_peer

pytestmark = pytest.mark.interop

BIG = 5 * 1024 * 1024 + 3


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "htdocs"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello from the peer\n")
    (root / "big.bin").write_bytes(bytes(range(256)) * (BIG // 256) + b"z" * (BIG % 256))
    return root


@pytest.fixture
def nghttpd(docroot: Path) -> Iterator[str]:
    binary = require_program("nghttpd")
    port = free_port()
    argv = [binary, "--no-tls", "-d", str(docroot), "--address=127.0.0.1", str(port)]
    with run_peer(argv, port=port):
        yield f"http://127.0.0.1:{port}"


def test_nghttpd_get_and_big_body(nghttpd: str, docroot: Path) -> None:
    with HTTPClient(http2_prior_knowledge=True) as client:
        r = client.get(f"{nghttpd}/hello.txt", timeout=30)
        assert (r.status_code, r.http_version) == (200, "HTTP/2")
        assert r.content == b"hello from the peer\n"
        big = client.get(f"{nghttpd}/big.bin", timeout=60)
        expected = (docroot / "big.bin").read_bytes()
        assert hashlib.sha256(big.content).digest() == hashlib.sha256(expected).digest()
        missing = client.get(f"{nghttpd}/nope", timeout=30)
        assert missing.status_code == 404


def test_nghttpd_streamed_body_over_one_connection(nghttpd: str, docroot: Path) -> None:
    expected = (docroot / "big.bin").read_bytes()
    with HTTPClient(http2_prior_knowledge=True) as client:
        with client.get(f"{nghttpd}/big.bin", stream=True, timeout=60) as r:
            got = b"".join(r.iter_bytes())
        assert got == expected
        assert client.get(f"{nghttpd}/hello.txt", timeout=30).status_code == 200
        assert client._h2_conns and all(c.streams_opened == 2 for c in client._h2_conns.values())


def test_nghttpd_many_threads_share_one_connection(nghttpd: str) -> None:
    results: list[bytes] = []
    errors: list[BaseException] = []
    with HTTPClient(http2_prior_knowledge=True) as client:
        client.get(f"{nghttpd}/hello.txt", timeout=30)  # the connection exists first

        def worker() -> None:
            try:
                for _ in range(20):
                    results.append(client.get(f"{nghttpd}/hello.txt", timeout=30).content)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert results == [b"hello from the peer\n"] * 200
        conns = list(client._h2_conns.values())
        assert len(conns) == 1 and conns[0].streams_opened == 201


def test_nginx_h2c_port(tmp_path: Path) -> None:
    binary = require_program("nginx")
    root = tmp_path / "www"
    root.mkdir()
    (root / "a.txt").write_bytes(b"nginx over h2c\n")
    port = free_port()
    conf = tmp_path / "nginx.conf"
    echo = 'location = /echo { return 200 "$request_method $server_protocol"; }'
    text = nginx_config(root, port, echo)
    conf.write_text(text.replace(f"listen 127.0.0.1:{port};", f"listen 127.0.0.1:{port} http2;"))
    argv = [binary, "-p", str(tmp_path), "-c", str(conf)]
    with run_peer(argv, port=port), HTTPClient(http2_prior_knowledge=True) as client:
        r = client.get(f"http://127.0.0.1:{port}/a.txt", timeout=30)
        assert (r.status_code, r.http_version, r.content) == (200, "HTTP/2", b"nginx over h2c\n")
        posted = client.post(f"http://127.0.0.1:{port}/echo", body=b"x" * 100_000, timeout=30)
        assert posted.content == b"POST HTTP/2.0"
