"""HTTPClient against a real nginx: keep-alive, chunked + gzip, a large streamed file.

nginx runs in the foreground under a temp directory on a free loopback port
(``tests/support/nginx.py``). Keep-alive reuse is visible through nginx's
``$connection`` (its serial number of the connection) echoed in a header.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit import HTTPClient
from sockit.client import HTTPStatusError, Timeouts
from sockit.limits import ClientLimits
from tests.support.nginx import run_nginx

pytestmark = pytest.mark.interop

EXTRA = r"""
    types { text/plain txt; application/octet-stream bin; }
    keepalive_requests 10000;
    chunked_transfer_encoding on;
    gzip on;
    gzip_min_length 1;
    gzip_types text/plain;
    add_header X-Conn $connection always;
    location = /conn { return 200 "$connection"; }
    location = /echo-length { return 200 "$content_length|$http_transfer_encoding"; }
"""

BIG = 20 * 1024 * 1024


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("nginx")
    with run_nginx(tmp, EXTRA) as (peer, root):
        (root / "hello.txt").write_bytes(b"hello from nginx\n")
        story = b"".join(b"line %d of the story\n" % i for i in range(20000))
        (root / "story.txt").write_bytes(story)
        with (root / "big.bin").open("wb") as f:
            for _ in range(BIG // (1 << 20)):
                f.write(os.urandom(1 << 20))
        yield f"http://{peer.host}:{peer.port}", root


def test_keep_alive_reuses_connection(nginx: tuple[str, Path]) -> None:
    base, _ = nginx
    with HTTPClient() as c:
        conns = {c.get(base + "/conn").text for _ in range(20)}
        headers = {c.get(base + "/hello.txt").headers["x-conn"] for _ in range(5)}
    assert len(conns) == 1
    assert headers == conns


def test_separate_clients_use_separate_connections(nginx: tuple[str, Path]) -> None:
    base, _ = nginx
    with HTTPClient() as a, HTTPClient() as b:
        assert a.get(base + "/conn").text != b.get(base + "/conn").text


def test_static_file_and_head(nginx: tuple[str, Path]) -> None:
    base, _ = nginx
    with HTTPClient() as c:
        r = c.get(base + "/hello.txt", headers={"Accept-Encoding": "identity"})
        assert r.content == b"hello from nginx\n"
        assert r.headers["content-length"] == "17"
        h = c.head(base + "/hello.txt", headers={"Accept-Encoding": "identity"})
        assert (h.status_code, h.content, h.headers["content-length"]) == (200, b"", "17")
        gz = c.head(base + "/hello.txt")  # gzip: no length known, still no body
        assert (gz.headers["content-encoding"], gz.content) == ("gzip", b"")
        assert c.get(base + "/conn").headers["x-conn"] == r.headers["x-conn"]


def test_gzip_chunked_response_is_decoded(nginx: tuple[str, Path]) -> None:
    base, root = nginx
    expected = (root / "story.txt").read_bytes()
    with HTTPClient() as c:
        r = c.get(base + "/story.txt")
        assert r.headers["content-encoding"] == "gzip"
        assert r.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in r.headers
        assert r.content == expected
        raw = c.request("GET", base + "/story.txt", decode_content=False,
                        headers={"Accept-Encoding": "gzip"})
        assert gzip.decompress(raw.content) == expected
        assert len(raw.content) < len(expected) // 5
        # the chunked response kept the connection alive
        assert r.headers["x-conn"] == raw.headers["x-conn"]


def test_large_file_streamed_with_sha256(nginx: tuple[str, Path]) -> None:
    base, root = nginx
    expected = hashlib.sha256((root / "big.bin").read_bytes()).hexdigest()
    with HTTPClient() as c:
        digest = hashlib.sha256()
        total = 0
        with c.get(base + "/big.bin", stream=True, timeout=Timeouts(read=30)) as r:
            assert r.headers["content-length"] == str(BIG)
            for chunk in r.iter_bytes(1 << 16):
                digest.update(chunk)
                total += len(chunk)
        assert total == BIG
        assert digest.hexdigest() == expected
        assert c.pool_stats().idle == 1  # fully read: back in the pool


def test_large_file_over_the_cap_needs_streaming(nginx: tuple[str, Path]) -> None:
    from sockit.errors import LimitExceeded

    base, _ = nginx
    with HTTPClient() as c, pytest.raises(LimitExceeded):
        c.get(base + "/big.bin")
    with HTTPClient(limits=ClientLimits(max_response_size=BIG)) as c:
        assert len(c.get(base + "/big.bin").content) == BIG


def test_uploads(nginx: tuple[str, Path]) -> None:
    base, _ = nginx
    with HTTPClient() as c:
        r = c.post(base + "/echo-length", b"x" * 1000)
        assert r.text == "1000|"
        r = c.post(base + "/echo-length", iter([b"a" * 100, b"b" * 200]))
        assert r.text.endswith("|chunked")
        # nginx discarded both bodies by their framing: the connection still works
        after = c.get(base + "/conn")
        assert after.text == r.headers["x-conn"]


def test_not_found_raises_for_status(nginx: tuple[str, Path]) -> None:
    base, _ = nginx
    with HTTPClient() as c:
        r = c.get(base + "/missing")
        assert r.status_code == 404
        with pytest.raises(HTTPStatusError):
            r.raise_for_status()


def test_threads_against_nginx(nginx: tuple[str, Path]) -> None:
    base, _ = nginx
    errors: list[BaseException] = []
    conns: set[str] = set()
    lock = threading.Lock()
    with HTTPClient() as c:

        def work() -> None:
            try:
                for _ in range(20):
                    r = c.get(base + "/hello.txt")
                    assert r.content == b"hello from nginx\n"
                    with lock:
                        conns.add(r.headers["x-conn"])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors, errors
    assert 1 <= len(conns) <= 6
